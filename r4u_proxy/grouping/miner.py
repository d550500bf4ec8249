"""The online template miner: texts in, (cluster, variable values) out.

For each text, inside its partition:
1. Known templates first: a template that matches the text exactly (glob match, linear time) takes
   it; the most specific one wins. In steady state almost every text ends here.
2. Otherwise align the text with each template of the partition (LCS over tokens) and join the one
   that keeps the most anchored constant text, if the profile's rules accept the merge; the template
   is refined (the constants that differ become variables) and its cluster id does not change.
3. Otherwise the text starts a new cluster.

Over-merging is undone statistically: at checkpoints (6, 12, 24, ... texts) a cluster looks at the
values of each of its variables in its recent texts; when they fall into a few groups that share
constant text of their own (two templates behind one slot: a shared boilerplate system prompt, two
prompt versions that differ in a few words), the cluster splits; and a small early cluster whose
texts all fit more specific templates is dissolved. Its owner then re-feeds the members of a split
or dissolved cluster (see `Event`). What only log lines need lives in `log_lines.py`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from r4u_proxy.grouping.align import Alignment, align, initial_template
from r4u_proxy.grouping.log_lines import LogLines
from r4u_proxy.grouping.profile import PROMPTS, Profile
from r4u_proxy.grouping.template import Template

_SAMPLES = 32  # recent texts a cluster keeps for split checks
_FIRST_CHECKPOINT = 6
_STRAY_MAX = 4  # clusters this small are checked for being strays when a neighbour grows


@dataclass
class Cluster:
    id: int
    partition: str
    template: Template
    count: int = 0
    samples: deque[str] = field(default_factory=lambda: deque(maxlen=_SAMPLES))
    next_checkpoint: int = _FIRST_CHECKPOINT
    spans: bool = False  # log lines: a variable may span several words (it left the token-count partition)


@dataclass(frozen=True)
class Event:
    """Something the owner of stored assignments must follow up.

    kind "refined": `cluster` has a new template (members' values must be re-extracted from
    `old_template`). kind "merged": `cluster` was folded into `into`. kind "split": `cluster` was
    split, or dissolved (then it is gone); its members must be fed to `add` again under `partition`
    (`old_template` renders their texts).
    """

    kind: str
    cluster: int
    old_template: Template
    into: int | None = None
    partition: str | None = None


class Miner(LogLines):
    def __init__(self, profile: Profile = PROMPTS, *, split: bool = True) -> None:
        self.profile = profile
        self.split_enabled = split and profile.split_slots
        self.clusters: dict[int, Cluster] = {}
        self._partitions: dict[str, list[int]] = {}
        self._next_id = 1
        self.events: list[Event] = []
        self._siblings: dict[tuple[str, ...], set[int]] = {}
        # Log lines: clusters by first word across all token counts, for lines whose variables span words.
        self._by_first: dict[str, list[int]] = {}
        self._spanning: dict[str, list[int]] = {}  # the subset of those whose variables span words
        self._sibling_keys: dict[int, list[tuple[str, ...]]] = {}

    # --- state ---------------------------------------------------------------------------
    def restore(self, cluster_id: int, partition: str, template: Template, count: int) -> None:
        """Re-create a cluster known from an earlier run (ids stay what they were)."""
        cluster = Cluster(cluster_id, partition, template, count)
        while cluster.next_checkpoint <= count:
            cluster.next_checkpoint *= 2
        self.clusters[cluster_id] = cluster
        self._partitions.setdefault(self._partition_key(partition, template.skeleton()), []).append(cluster_id)
        self._next_id = max(self._next_id, cluster_id + 1)

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    def _partition_key(self, partition: str, text: str, tokens: list[str] | None = None) -> str:
        if not self.profile.one_token_variables:
            return partition
        # Log lines: only lines with the same number of tokens and the same first word can share a
        # template (as in Drain's tree: the first word of a log line is nearly always constant).
        tokens = tokens if tokens is not None else self.profile.tokenize(text)
        first = self.profile.key(tokens[0]) if tokens else ""
        return f"{partition}#{len(tokens)}#{first}"

    def _new_cluster(self, partition: str, key: str, template: Template) -> Cluster:
        cluster = Cluster(self._next_id, partition, template)
        self._next_id += 1
        self.clusters[cluster.id] = cluster
        self._partitions.setdefault(key, []).append(cluster.id)
        return cluster

    def _remove(self, cluster: Cluster) -> None:
        self._unindex_siblings(cluster.id)
        del self.clusters[cluster.id]
        for index in (self._partitions, self._by_first, self._spanning):
            for ids in index.values():
                if cluster.id in ids:
                    ids.remove(cluster.id)

    # --- matching ------------------------------------------------------------------------
    def match(self, partition: str, text: str) -> tuple[int, list[str]] | None:
        """The most specific known template that fits `text` exactly, without learning anything."""
        text = self.profile.normalize(text)
        return self._match_in(self._partition_key(partition, text), text)

    def _match_in(self, key: str, text: str) -> tuple[int, list[str]] | None:
        best: tuple[int, int, list[str]] | None = None
        one_token = self.profile.one_token_variables
        candidates = list(self._partitions.get(key, ()))
        if one_token:
            candidates += self._spanning.get(self._first_key(key), ())
        for cluster_id in candidates:
            cluster = self.clusters[cluster_id]
            template = cluster.template
            values = template.match(text, one_token=one_token and not cluster.spans)
            if values is None:
                continue
            specificity = sum(len(c) for c in template.constants)
            if best is None or specificity > best[0]:
                best = (specificity, cluster_id, values)
        return None if best is None else (best[1], best[2])

    def add(self, partition: str, text: str) -> tuple[int, list[str]]:
        """Assign `text` to a cluster, learning from it; returns the cluster id and the variable values."""
        text = self.profile.normalize(text)
        tokens = self.profile.tokenize(text) if self.profile.one_token_variables else None
        key = self._partition_key(partition, text, tokens)
        found = self._match_in(key, text)
        if found is not None:
            cluster = self.clusters[found[0]]
            self._count(cluster, text)
            return found

        best: tuple[tuple[float, float], Cluster, Alignment] | None = None
        for cluster_id in self._align_candidates(key):
            cluster = self.clusters[cluster_id]
            alignment = align(cluster.template, text, self.profile, tokens)
            if alignment is None or not self._accepts(cluster, alignment):
                continue
            score = (alignment.anchored, alignment.kept)
            if best is None or score > best[0]:
                best = (score, cluster, alignment)

        if best is None and self.profile.one_token_variables:
            best = self._best_across_lengths(key, text, tokens)
        if best is None:
            cluster = self._new_cluster(partition, key, initial_template(text, self.profile))
            if self.profile.one_token_variables:
                self._by_first.setdefault(self._first_key(key), []).append(cluster.id)
        elif best[2].spans and not best[1].spans:
            cluster = best[1]
            cluster.spans = True
            self._spanning.setdefault(self._first_key(key), []).append(cluster.id)
            for ids in self._partitions.values():
                if cluster.id in ids:
                    ids.remove(cluster.id)
            self._unindex_siblings(cluster.id)
            cluster = self._refine(cluster, best[2].template)
        else:
            cluster = self._refine(best[1], best[2].template)
        if self.profile.fold_siblings and not cluster.spans:
            cluster = self._index_siblings(cluster, key)
        values = cluster.template.match(text, one_token=self.profile.one_token_variables and not cluster.spans)
        if values is None:  # the glob's leftmost choice can differ from the alignment's; keep it literal
            cluster = self._new_cluster(partition, key, Template.literal(text))
            values = []
        self._count(cluster, text)
        return cluster.id, values

    def _align_candidates(self, key: str) -> list[int]:
        ids = self._partitions.get(key, [])
        limit = self.profile.max_align
        if limit is None or len(ids) <= limit:
            return list(ids)
        templates = [i for i in ids if self.clusters[i].template.variable_count]
        one_offs = [i for i in ids if not self.clusters[i].template.variable_count]
        return templates[-limit:] + one_offs[-(limit // 4) :]

    def _accepts(self, cluster: Cluster, alignment: Alignment) -> bool:
        profile = self.profile
        if profile.one_token_variables:
            denominator = max(alignment.template_content, alignment.text_content)
            return denominator > 0 and alignment.anchored / denominator >= profile.min_kept
        if alignment.anchored < 2 * profile.min_anchor:
            return False
        if cluster.template.variable_count == 0:
            # Two texts seen once each: whatever differs may be a variable, however long; ask only
            # that the shared text is not scattered (each variable needs real anchors around it).
            return len(alignment.gaps) * profile.min_anchor <= alignment.anchored
        if alignment.kept < profile.min_kept:
            return False
        # A template that has seen variety already: a constant may turn into a variable only when it
        # is a word or two (a name, a number), and not more than two at once.
        new = alignment.new_gaps
        return len(new) <= 2 and all(g.template_content <= 2 and g.text_content <= 4 for g in new)

    def _refine(self, cluster: Cluster, template: Template) -> Cluster:
        """Give the cluster its new template; returns the cluster that survives convergence."""
        if template == cluster.template:
            return cluster
        old = cluster.template
        cluster.template = template
        self.events.append(Event("refined", cluster.id, old))
        return self._merge_converged(cluster)

    def _merge_converged(self, cluster: Cluster) -> Cluster:
        """Fold every other cluster of the partition whose template this one now covers; the older
        id survives (with the covering template). Returns the surviving cluster."""
        one_token = self.profile.one_token_variables
        ids = next((ids for ids in self._partitions.values() if cluster.id in ids), [])
        for other_id in list(ids):
            other = self.clusters.get(other_id)
            if other is None or other is cluster:
                continue
            if cluster.template.match(other.template.skeleton(), one_token=one_token) is None:
                continue
            keeper, gone = (other, cluster) if other.id < cluster.id else (cluster, other)
            if keeper is other:
                self.events.append(Event("refined", keeper.id, keeper.template))
                keeper.template = cluster.template
            keeper.count += gone.count
            keeper.samples.extend(gone.samples)
            self._remove(gone)
            self.events.append(Event("merged", gone.id, gone.template, into=keeper.id))
            cluster = keeper
        return cluster

    def _count(self, cluster: Cluster, text: str) -> None:
        cluster.count += 1
        cluster.samples.append(text)
        if self.split_enabled and cluster.count >= cluster.next_checkpoint:
            cluster.next_checkpoint *= 2
            self._try_split(cluster)
            self._dissolve_strays(cluster)

    def _dissolve_strays(self, grown: Cluster) -> None:
        """A few early texts can meet before their templates are known and make a stray cluster
        (two prompt versions that happened to share a value). Once every text of a small cluster
        fits a more specific template of the partition, the stray is dissolved and its texts re-fed."""
        key = self._partition_key(grown.partition, grown.samples[-1]) if grown.samples else grown.partition
        for stray_id in list(self._partitions.get(key, ())):
            stray = self.clusters[stray_id]
            if stray is grown or stray.count > _STRAY_MAX or stray.count != len(stray.samples):
                continue
            specificity = sum(map(len, stray.template.constants))
            homes = []
            for text in stray.samples:
                others = [
                    c for c in self._partitions[key]
                    if c != stray_id and sum(map(len, self.clusters[c].template.constants)) > specificity
                    and self.clusters[c].template.match(text) is not None
                ]  # fmt: skip
                homes.append(bool(others))
            if all(homes):
                self._remove(stray)
                self.events.append(Event("split", stray_id, stray.template, partition=stray.partition))

    # --- splitting -------------------------------------------------------------------------
    def _try_split(self, cluster: Cluster) -> None:
        template = cluster.template
        if template.variable_count == 0:
            return
        one_token = self.profile.one_token_variables
        rows = [v for v in (template.match(s, one_token=one_token) for s in cluster.samples) if v is not None]
        if len(rows) < _FIRST_CHECKPOINT:
            return
        for slot in range(template.variable_count):
            groups = self._value_groups([row[slot] for row in rows])
            if groups is None:
                continue
            old = template
            key = self._partition_key(cluster.partition, cluster.samples[-1])
            samples = list(cluster.samples)
            templates = [self._fold([samples[i] for i in members]) for members in groups]
            cluster.template = templates[0]
            for other in templates[1:]:
                self._new_cluster(cluster.partition, key, other)
            cluster.count = 0
            cluster.samples.clear()
            self.events.append(Event("split", cluster.id, old))
            return

    def _value_groups(self, values: list[str]) -> list[list[int]] | None:
        """The values of one slot grouped by a miner of their own, when they form a few well-supported
        groups that have constant text of their own; else None. Long values are mined by their
        head and tail only (that is where a second template's text would be)."""
        heads = {v[:24] for v in values}
        tails = {v[-24:] for v in values}
        if min(len(heads), len(tails)) > len(values) // 3:
            return None  # free text (documents, questions): no few groups to find
        sub = Miner(self.profile, split=False)
        members: dict[int, list[int]] = {}
        for index, value in enumerate(values):
            short = value if len(value) <= 600 else value[:300] + value[-300:]
            cluster_id, _ = sub.add("", short)
            members.setdefault(cluster_id, []).append(index)
        for event in sub.take_events():
            if event.kind == "merged" and event.into is not None:
                members.setdefault(event.into, []).extend(members.pop(event.cluster, []))
        need = max(3, len(values) // 8)
        strong = [cid for cid, m in members.items() if len(m) >= need and cid in sub.clusters]
        if len(strong) < 2 or sum(len(members[c]) for c in strong) < 0.9 * len(values):
            return None
        if 2 * sum(self._constant_content(sub.clusters[c].template) for c in strong) < len(strong):
            return None  # mostly short values (a language, a tone) are a variable, not templates
        strong.sort(key=lambda c: -len(members[c]))
        return [members[c] for c in strong]

    def _constant_content(self, template: Template) -> bool:
        weight = sum(self.profile.weight(t) for c in template.constants for t in self.profile.tokenize(c))
        return weight >= self.profile.min_anchor

    def _fold(self, texts: list[str]) -> Template:
        """The common template of some texts, built afresh (constants the group shares stay constant)."""
        template = initial_template(texts[0], self.profile)
        for text in texts[1:]:
            alignment = align(template, text, self.profile)
            if alignment is not None:
                template = alignment.template
        return template
