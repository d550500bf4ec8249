"""The online template miner for prompts: texts in, (cluster, variable values) out.

For each text, inside its partition:
1. Known templates first: the templates that could match (found through `TemplateLookup` by the text's
   start and end, a few dict look-ups) are tried as exact glob matches; the most specific one wins. In
   steady state almost every text ends here.
2. Otherwise align the text with the few clusters that share the most of its rarer trigrams
   (`CandidateIndex`), never with every cluster: cost grows with the candidates, not the partition.
   Each alignment is judged (`verdicts.judge`): the text *joins* the cluster (its template is refined,
   its id stays), is its *sibling* (ambiguous), or belongs elsewhere. The most specific explanation wins:
   the alignment whose common template keeps the most constant text.
3. Otherwise the text starts a new cluster.

Ambiguous evidence keeps texts apart and merges them later. A sibling starts a cluster of its own, with
the variables both texts agree on; but when the common template also covers a third cluster (a third
value where the two differ: `French`, `German`, then `Spanish`), the three are one template and are
merged (the oldest id survives; the owner re-derives the members' variables from the `merged` events).
Since this looks at the clusters themselves, it merges tasks found separately before a restart too.

Over-merging is undone statistically, as before: at checkpoints (6, 12, 24, ... texts) a cluster looks
at the values of each variable in its recent texts and splits when they fall into a few groups with
constant text of their own; a small early cluster whose texts all fit more specific templates is
dissolved. See `Event` for what the owner must follow up. Log lines use `log_miner.LogMiner`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from r4u_proxy.grouping.candidates import CandidateIndex, keyed
from r4u_proxy.grouping.clusters import Cluster, Event, most_specific
from r4u_proxy.grouping.lookup import TemplateLookup, specificity
from r4u_proxy.grouping.pairs import Pairs
from r4u_proxy.grouping.profile import PROMPTS, Profile
from r4u_proxy.grouping.prompt_align import Alignment, align
from r4u_proxy.grouping.prompt_tokens import Tokens, remember_literal, template_tokens, text_tokens
from r4u_proxy.grouping.settle import Settle
from r4u_proxy.grouping.splits import NEIGHBOURS, Splits
from r4u_proxy.grouping.template import Template
from r4u_proxy.grouping.verdicts import ESTABLISHED, SHORT, THIN, THIN_SHARE, plausible, thin, within_reach

__all__ = ["Cluster", "Event", "Miner"]

CANDIDATES = 4  # clusters a new text is aligned with
MIN_VOTES = 2  # ... that share at least two of its trigrams, or one at its start or end
MIDDLE_VOTES = 6  # trigrams a text seen once must share with the text when their starts and ends differ
VOTE_SHARE = 2  # a candidate with less than 1/VOTE_SHARE of the best one's votes shares too little to win
EDGE_CHARS = 16  # characters at the two ends together: "[user]\n" and a word or two
_HOLE = "\x00"  # what a template shows where it varies, when tested against another
MAX_LITERALS = 1000  # texts seen once that stay candidates, per partition (the oldest are forgotten)


@dataclass
class _Partition:
    lookup: TemplateLookup = field(default_factory=TemplateLookup)
    index: CandidateIndex = field(default_factory=CandidateIndex)
    clusters: list[int] = field(default_factory=list)
    literals: dict[int, None] = field(default_factory=dict)  # insertion-ordered: the oldest first
    pairs: Pairs = field(default_factory=Pairs)  # common templates of texts kept apart (`pairs`)


class Miner(Splits, Settle):
    def __init__(self, profile: Profile = PROMPTS, *, split: bool = True) -> None:
        if profile.one_token_variables:
            raise ValueError("log lines are mined by log_miner.LogMiner")
        self.profile = profile
        self.split_enabled = split and profile.split_slots
        self.clusters: dict[int, Cluster] = {}
        self.events: list[Event] = []
        self._parts: dict[str, _Partition] = {}
        self._next_id = 1
        self._apart: dict[int, set[int]] = {}  # clusters a split told apart: never merged back (`_covered`)

    # --- state ---------------------------------------------------------------------------
    def restore(self, cluster_id: int, partition: str, template: Template, count: int) -> None:
        """Re-create a cluster known from an earlier run (ids stay what they were)."""
        cluster = Cluster(cluster_id, partition, template, count)
        while cluster.next_checkpoint <= count:
            cluster.next_checkpoint *= 2
        self._file(cluster)
        self._next_id = max(self._next_id, cluster_id + 1)

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    def _part(self, partition: str) -> _Partition:
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = _Partition()
        return part

    def _file(self, cluster: Cluster) -> None:
        self.clusters[cluster.id] = cluster
        part = self._part(cluster.partition)
        part.clusters.append(cluster.id)
        self._reindex(cluster)

    def _reindex(self, cluster: Cluster) -> None:
        part = self._part(cluster.partition)
        template = cluster.template
        part.lookup.add(cluster.id, template)
        part.index.add(cluster.id, self._index_keys(template))
        if template.variable_count:
            part.literals.pop(cluster.id, None)
            return
        part.literals[cluster.id] = None
        if len(part.literals) > MAX_LITERALS:  # memory stays bounded: old one-offs stop being candidates
            oldest = next(iter(part.literals))
            del part.literals[oldest]
            part.index.remove(oldest)

    def _index_keys(self, template: Template) -> set[int]:
        tt = template_tokens(template, self.profile)
        if tt.index_keys is None:
            tt.index_keys = keyed(tt.tokens.codes)[0]
        return tt.index_keys

    def _new_cluster(self, partition: str, template: Template) -> Cluster:
        cluster = Cluster(self._next_id, partition, template)
        self._next_id += 1
        self._file(cluster)
        return cluster

    def _remove(self, cluster: Cluster) -> None:
        del self.clusters[cluster.id]
        part = self._part(cluster.partition)
        part.clusters.remove(cluster.id)
        part.lookup.remove(cluster.id)
        part.index.remove(cluster.id)
        part.literals.pop(cluster.id, None)
        for other in self._apart.pop(cluster.id, ()):
            self._apart[other].discard(cluster.id)

    def keep_apart(self, clusters: list[Cluster]) -> None:
        """Clusters a split found to be templates of their own: no later settling folds them together."""
        for cluster in clusters:
            self._apart.setdefault(cluster.id, set()).update(c.id for c in clusters if c is not cluster)

    def kept_apart(self, cluster: Cluster, others: list[Cluster]) -> bool:
        apart = self._apart.get(cluster.id)
        return apart is not None and any(o.id in apart for o in others)

    def partition_clusters(self, partition: str) -> list[int]:
        return list(self._part(partition).clusters)

    # --- matching ------------------------------------------------------------------------
    def match(self, partition: str, text: str) -> tuple[int, list[str]] | None:
        """The most specific known template that fits `text` exactly, without learning anything."""
        return self._match_in(self._part(partition), text)

    def _match_in(self, part: _Partition, text: str) -> tuple[int, list[str]] | None:
        found = most_specific(self.clusters, part.lookup.candidates(text, loose=False), text)
        # Templates with two short ends are tried last, and only those more specific than the match
        # found: each costs a search through the text.
        above = -1 if found is None else specificity(self.clusters[found[0]].template)
        for cluster_id in part.lookup.loose(text, above):
            values = self.clusters[cluster_id].template.match(text)
            if values is not None:
                return cluster_id, values
        return found

    def add(self, partition: str, text: str) -> tuple[int, list[str]]:
        """Assign `text` to a cluster, learning from it; returns the cluster id and the variable values."""
        part = self._part(partition)
        found = self._match_in(part, text)
        if found is not None:
            cluster = self.clusters[found[0]]
            if cluster.template.variable_count and cluster.count < ESTABLISHED and not cluster.confirmed:
                # A template two texts made is provisional: the third tells its values from a
                # near-twin's words (see `settle`).
                placed = self._settle(cluster, cluster.template, text, self._thin(cluster.template), [])
                values = placed.template.match(text)
                if values is not None:
                    self._count(placed, text)
                    return placed.id, values
                cluster = self._new_cluster(partition, Template.literal(text))
                found = (cluster.id, [])
            self._count(cluster, text)
            return found
        tokens = text_tokens(text, self.profile)
        keys, edges = keyed(tokens.codes, tokens.trigrams())
        remember_literal(text, tokens, self.profile, keys)
        voted = part.index.voted(keys, CANDIDATES, edges, MIN_VOTES)
        top = voted[0][1] if voted else 0
        candidates = [
            cid for cid, votes in voted
            if votes * VOTE_SHARE >= top and (votes >= MIDDLE_VOTES or self._edges_meet(cid, text))
        ]  # fmt: skip
        placed = self._from_pair(part, text, voted, candidates)
        if placed is not None:
            if (values := placed.template.match(text)) is not None:
                self._count(placed, text)
                return placed.id, values
            candidates = [cid for cid in candidates if cid in self.clusters]  # settling merged some away
        cluster = self._place(partition, candidates, text, tokens)
        values = cluster.template.match(text)
        if values is None:  # the glob's leftmost choice can differ from the alignment's; keep it literal
            cluster = self._new_cluster(partition, Template.literal(text))
            values = []
        self._count(cluster, text)
        return cluster.id, values

    def _from_pair(self, part: _Partition, text: str, voted: list[tuple[int, int]], candidates: list[int]) -> Cluster | None:
        """The text settled with texts kept apart before whose common template it fits (see `pairs`),
        or None when it fits none whose clusters are still as they were, or a template with variables
        that the pair does not hold shares as much with the text (aligning with it may refine it)."""
        for pair_id, pair in part.pairs.fitting(text):
            ours = max((n for cid, n in voted if cid in pair.clusters), default=0)
            if any(n >= ours and cid not in pair.clusters and self.clusters[cid].template.variable_count for cid, n in voted):
                return None
            part.pairs.forget(pair_id)
            clusters = [self.clusters.get(c) for c in pair.clusters]
            if all(c is not None and pair.common.match(c.template.skeleton(_HOLE)) is not None for c in clusters):
                first, *others = clusters
                # The text's other candidates are folded in too, as `_place` would: a template with many
                # texts kept apart gathers them together.
                others += [self.clusters[cid] for cid in candidates if cid not in pair.clusters]
                return self._settle(first, pair.common, text, pair.needs_three, others)  # type: ignore[arg-type]
        return None

    def _place(self, partition: str, candidates: list[int], text: str, tokens: Tokens) -> Cluster:
        """The most specific plausible explanation of the text among its candidates (the alignment that
        keeps the most constant text), settled by the texts (`settle`) together with the other clusters
        the text could share a template with; else a new cluster."""
        found: list[tuple[float, Cluster, Alignment]] = []
        for cluster_id in candidates:
            cluster = self.clusters[cluster_id]
            content = template_tokens(cluster.template, self.profile).tokens.weight[-1]
            if not within_reach(self.profile, cluster.template, content, tokens.weight[-1]):
                continue
            alignment = align(cluster.template, text, self.profile, tokens)
            if plausible(self.profile, cluster.template, cluster.count, alignment):
                found.append((alignment.anchored, cluster, alignment))
        if not found:
            return self._new_cluster(partition, Template.literal(text))
        found.sort(key=lambda f: -f[0])
        _, cluster, alignment = found[0]
        others = [c for _, c, _ in found[1:]]
        return self._settle(cluster, alignment.template, text, thin(self.profile, alignment), others, alignment.anchored)

    def _edges_meet(self, cluster_id: int, text: str) -> bool:
        """Whether a cluster and a text could share a template's start or end, by their first and last
        characters; a text seen once that shares neither (nor a passage: MIDDLE_VOTES) is not aligned."""
        template = self.clusters[cluster_id].template
        if template.variable_count:
            return True
        other = template.constants[0]
        return _shared_chars(text, other) + _shared_chars(text[::-1][:EDGE_CHARS], other[::-1][:EDGE_CHARS]) >= EDGE_CHARS

    def _thin(self, template: Template) -> bool:
        """A template with little constant text of its own, or none at its start and end."""
        weight = template_tokens(template, self.profile).tokens.weight
        if weight[-1] < THIN:
            return True
        edges = [template.constants[0], template.constants[-1]] if template.variable_count else []
        edge = sum(template_tokens(Template((c,)), self.profile).tokens.weight[-1] for c in edges)
        return edge < self.profile.min_anchor

    def _covered(self, common: Template, cluster: Cluster) -> list[Cluster]:
        """The clusters besides `cluster` that `common` covers without taking over much of their own
        constant text: a literal it fits as a text would (`verdicts` rules for thin templates), a
        template whose constants it keeps but for a few words."""
        part = self._part(cluster.partition)
        common_content = template_tokens(common, self.profile).tokens.weight[-1]
        found = []
        for other_id in part.index.best(self._index_keys(common), NEIGHBOURS):
            other = self.clusters.get(other_id)
            if other is None or other is cluster or common.match(other.template.skeleton()) is None:
                continue
            if self.kept_apart(other, [cluster]):
                continue
            content = template_tokens(other.template, self.profile).tokens.weight[-1]
            if other.template.variable_count:
                if other.count >= ESTABLISHED and content - common_content > SHORT:
                    continue  # a template its texts have confirmed (a young one may hold chance words)
            elif common_content < THIN and common_content < THIN_SHARE * content:
                continue
            found.append(other)
        return found

    # --- refinement and merging ------------------------------------------------------------
    def _refine(self, cluster: Cluster, template: Template) -> Cluster:
        """Give the cluster its new template; returns the cluster that survives convergence."""
        if template == cluster.template:
            return cluster
        old = cluster.template
        cluster.template = template
        self._reindex(cluster)
        self.events.append(Event("refined", cluster.id, old))
        return self._merge_converged(cluster)

    def _merge_away(self, gone: Cluster, keeper: Cluster) -> None:
        keeper.count += gone.count
        keeper.samples.extend(gone.samples)
        self._remove(gone)
        self.events.append(Event("merged", gone.id, gone.template, into=keeper.id))

    def _merge_converged(self, cluster: Cluster) -> Cluster:
        """Fold the other clusters whose template this one now covers (see `_covered`); the older id
        survives (with the covering template). Returns the surviving cluster."""
        for other in self._covered(cluster.template, cluster):
            if other.id not in self.clusters:
                continue
            keeper, gone = (other, cluster) if other.id < cluster.id else (cluster, other)
            if keeper is other:
                self.events.append(Event("refined", keeper.id, keeper.template))
                keeper.template = cluster.template
                self._reindex(keeper)
            self._merge_away(gone, keeper)
            cluster = keeper
        return cluster


def _shared_chars(a: str, b: str) -> int:
    """How many leading characters (at most EDGE_CHARS) `a` and `b` share."""
    n = 0
    for x, y in zip(a[:EDGE_CHARS], b[:EDGE_CHARS], strict=False):
        if x != y:
            break
        n += 1
    return n
