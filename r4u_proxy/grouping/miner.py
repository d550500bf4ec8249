"""The online template miner for prompts: texts in, (cluster, variable values) out.

For each text, inside its partition:
1. Known templates first: the templates that could match (found through `TemplateLookup` by the text's
   start and end, a few dict look-ups) are tried as exact glob matches; the most specific one wins. In
   steady state almost every text ends here.
2. Otherwise align the text with the few clusters that share the most of its rarer trigrams
   (`CandidateIndex`), never with every cluster: cost grows with the candidates, not the partition.
   An alignment either *joins* the text to a cluster (the cluster's template is refined, its id stays),
   makes it a *sibling* (ambiguous: it stays a cluster of its own, see below), or is refused.
3. Otherwise the text starts a new cluster.

Ambiguous evidence keeps texts apart and merges them later. Two texts that differ in a few words only
(`French` / `German`; `negative` / `neutral` in the same long instruction), or that share only a few words
(`{claim} Is this true?`), may be one template or two. They stay two clusters, remembered as siblings
under their common template; a third text that fits that template with a value of its own shows it is
one template, and the siblings are merged (the oldest id survives; the owner re-derives the members'
variables from the `merged` events). Two values are a near-twin pair; three are a variable.

Over-merging is undone statistically, as before: at checkpoints (6, 12, 24, ... texts) a cluster looks
at the values of each variable in its recent texts and splits when they fall into a few groups with
constant text of their own; a small early cluster whose texts all fit more specific templates is
dissolved. See `Event` for what the owner must follow up. Log lines use `log_miner.LogMiner`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from r4u_proxy.grouping.candidates import CandidateIndex, trigrams
from r4u_proxy.grouping.clusters import Cluster, Event
from r4u_proxy.grouping.lookup import TemplateLookup
from r4u_proxy.grouping.profile import PROMPTS, Profile
from r4u_proxy.grouping.prompt_align import (
    SURE_ANCHOR,
    Alignment,
    Tokens,
    align,
    template_tokens,
    text_tokens,
)
from r4u_proxy.grouping.splits import NEIGHBOURS, Splits
from r4u_proxy.grouping.template import Template

__all__ = ["Cluster", "Event", "Miner"]

CANDIDATES = 6  # clusters a new text is aligned with
MAX_LITERALS = 1000  # texts seen once that stay candidates, per partition (the oldest are forgotten)
SHORT = 4.0  # words: a difference this short is a value or a near-twin's word; which one, a third text tells
THIN = 6.0  # words: two texts sharing less than this (at their start or end) may share a template by chance
THIN_SHARE = 0.2  # ... and then it must be at least this share of the shorter one


@dataclass
class _Partition:
    lookup: TemplateLookup = field(default_factory=TemplateLookup)
    index: CandidateIndex = field(default_factory=CandidateIndex)
    clusters: list[int] = field(default_factory=list)
    literals: dict[int, None] = field(default_factory=dict)  # insertion-ordered: the oldest first


@dataclass
class _Siblings:
    template: Template  # the common template: every member fits it with a value of its own
    members: set[int]
    slots: tuple[int, ...]  # the slots where the members differ in a few words
    seen: dict[int, tuple[str, ...]]  # each member's values there: a third value makes a slot a variable


class Miner(Splits):
    def __init__(self, profile: Profile = PROMPTS, *, split: bool = True) -> None:
        if profile.one_token_variables:
            raise ValueError("log lines are mined by log_miner.LogMiner")
        self.profile = profile
        self.split_enabled = split and profile.split_slots
        self.clusters: dict[int, Cluster] = {}
        self.events: list[Event] = []
        self._parts: dict[str, _Partition] = {}
        self._siblings: dict[int, _Siblings] = {}
        self._sibling_of: dict[int, set[int]] = {}
        self._next_id = 1
        self._next_group = 1

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
        part.index.add(cluster.id, trigrams(template_tokens(template, self.profile).keys, self.profile))
        if template.variable_count:
            part.literals.pop(cluster.id, None)
            return
        part.literals[cluster.id] = None
        if len(part.literals) > MAX_LITERALS:  # memory stays bounded: old one-offs stop being candidates
            oldest = next(iter(part.literals))
            del part.literals[oldest]
            part.index.remove(oldest)

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
        for group_id in self._sibling_of.pop(cluster.id, set()):
            group = self._siblings.get(group_id)
            if group is not None:
                group.members.discard(cluster.id)
                if len(group.members) < 2:
                    self._drop_group(group_id)

    def _drop_group(self, group_id: int) -> None:
        group = self._siblings.pop(group_id)
        for member in group.members:
            self._sibling_of.get(member, set()).discard(group_id)

    def partition_clusters(self, partition: str) -> list[int]:
        return list(self._part(partition).clusters)

    # --- matching ------------------------------------------------------------------------
    def match(self, partition: str, text: str) -> tuple[int, list[str]] | None:
        """The most specific known template that fits `text` exactly, without learning anything."""
        return self._match_in(self._part(partition), text)

    def _match_in(self, part: _Partition, text: str) -> tuple[int, list[str]] | None:
        best: tuple[int, int, list[str]] | None = None
        for cluster_id in part.lookup.candidates(text):
            template = self.clusters[cluster_id].template
            values = template.match(text)
            if values is None:
                continue
            specificity = sum(len(c) for c in template.constants)
            if best is None or specificity > best[0]:
                best = (specificity, cluster_id, values)
        return None if best is None else (best[1], best[2])

    def add(self, partition: str, text: str) -> tuple[int, list[str]]:
        """Assign `text` to a cluster, learning from it; returns the cluster id and the variable values."""
        part = self._part(partition)
        found = self._match_in(part, text)
        if found is not None:
            self._count(self.clusters[found[0]], text)
            return found
        tokens = text_tokens(text, self.profile)
        candidates = part.index.best(trigrams(tokens.tokens, self.profile), CANDIDATES)
        cluster = self._align_best(partition, candidates, text, tokens)
        values = cluster.template.match(text)
        if values is None:  # the glob's leftmost choice can differ from the alignment's; keep it literal
            cluster = self._new_cluster(partition, Template.literal(text))
            values = []
        self._count(cluster, text)
        return cluster.id, values

    def _align_best(self, partition: str, candidates: list[int], text: str, tokens: Tokens) -> Cluster:
        best: dict[str, tuple[tuple[float, float], Cluster, Alignment]] = {}
        for cluster_id in candidates:
            cluster = self.clusters[cluster_id]
            alignment = align(cluster.template, text, self.profile, tokens)
            verdict = None if alignment is None else self._judge(cluster, alignment)
            if verdict is None:
                continue
            score = (alignment.anchored, alignment.kept)
            if verdict not in best or score > best[verdict][0]:
                best[verdict] = (score, cluster, alignment)
        if "join" in best:  # a cluster the text belongs to beats one it might be a twin of
            _, cluster, alignment = best["join"]
            return self._refine(cluster, alignment.template)
        confirmed = self._confirm_siblings(candidates, text, tokens)
        if confirmed is not None:
            return confirmed
        if "sibling" in best:
            _, cluster, alignment = best["sibling"]
            merged = self._merge_found_apart(cluster, alignment.template, candidates)
            return merged if merged is not None else self._make_siblings(cluster, alignment, text)
        return self._new_cluster(partition, Template.literal(text))

    def _judge(self, cluster: Cluster, alignment: Alignment) -> str | None:
        """"join", "sibling" (ambiguous: keep apart until a third text decides) or None (refused)."""
        min_anchor = self.profile.min_anchor
        if alignment.anchored < min_anchor:
            return None
        if _markers(alignment.template) != _markers(cluster.template):
            return None  # a variable never spans a `[role]` line: the roles are the request's shape
        if any(gap.one_sided for gap in alignment.gaps):
            # Text on one side only, where the template has no variable: a passage added or dropped,
            # which is another template (a label that only one of them has), never a value.
            return None
        new = [g for g in alignment.gaps if not g.template_has_variable]
        if cluster.template.variable_count == 0:
            thin = alignment.anchored < THIN
            if alignment.edge < min_anchor and alignment.anchored < SURE_ANCHOR:
                return None  # a few words in common, in the middle only: chance
            if thin and alignment.anchored < THIN_SHARE * min(alignment.text_content, alignment.template_content):
                return None  # "You are a" in front of two long, different instructions
            if len(alignment.gaps) * min_anchor > alignment.anchored:
                return None  # shared text scattered in bits between many differences
            ambiguous = thin or any(min(g.template_content, g.text_content) <= SHORT for g in new)
            return "sibling" if ambiguous else "join"
        return self._judge_template(alignment)

    def _judge_template(self, alignment: Alignment) -> str | None:
        if alignment.kept < self.profile.min_kept or any(gap.one_sided for gap in alignment.gaps):
            return None
        for gap in alignment.gaps:
            if not gap.slots or gap.template_content < 1:
                continue
            # Constant text a variable would swallow: a few words that matched by chance (the "CREATE
            # TABLE" two schemas began with), never a sentence or a paragraph of its own ("{language}.
            # Keep the formatting" is another prompt version than "{language}. Use a formal register").
            if _APART.search(gap.absorbed) or gap.template_content > 3:
                return None
        new = [g for g in alignment.gaps if not g.template_has_variable]
        # A template that has seen variety already: a constant may turn into a variable only when it
        # is a word or a few, and not more than two at once; even then it is a sibling first.
        if len(new) > 2 or any(g.template_content > 2 or g.text_content > SHORT for g in new):
            return None
        return "sibling" if new else "join"

    # --- siblings --------------------------------------------------------------------------
    def _make_siblings(self, cluster: Cluster, alignment: Alignment, text: str) -> Cluster:
        """Keep the text apart from `cluster`, remembering their common template; both get the common
        template's clear variables (long on both sides), each keeps its own words for the others."""
        common = alignment.template
        values_text = common.match(text)
        values_cluster = common.match(cluster.template.skeleton())
        if values_text is None or values_cluster is None:
            return self._new_cluster(cluster.partition, Template.literal(text))
        keep = set()
        old_slots = cluster.template.variable_count
        for slot, gap in enumerate(alignment.gaps):
            clear = gap.template_has_variable or (
                old_slots == 0 and min(gap.template_content, gap.text_content) > SHORT and alignment.anchored >= THIN
            )
            if not clear:
                keep.add(slot)
        own = _fill(common, values_text, keep)
        if own.variable_count and "\x00" not in "".join(own.constants):
            sibling = self._new_cluster(cluster.partition, own)
        else:
            sibling = self._new_cluster(cluster.partition, Template.literal(text))
        if not old_slots:
            theirs = _fill(common, values_cluster, keep)
            if theirs.variable_count and "\x00" not in "".join(theirs.constants):
                cluster = self._refine(cluster, theirs)
        group_id = self._next_group
        self._next_group += 1
        slots = tuple(sorted(keep))
        seen = {sibling.id: tuple(values_text[s] for s in slots), cluster.id: tuple(values_cluster[s] for s in slots)}
        self._siblings[group_id] = _Siblings(common, {cluster.id, sibling.id}, slots, seen)
        for member in (cluster.id, sibling.id):
            self._sibling_of.setdefault(member, set()).add(group_id)
        return sibling

    def _confirm_siblings(self, candidates: list[int], text: str, tokens: Tokens) -> Cluster | None:
        """A third text that fits the common template of two siblings, with a value of its own, makes
        them one cluster. It fits when it matches that template, or joins it as any template is joined."""
        for cluster_id in candidates:
            for group_id in list(self._sibling_of.get(cluster_id, ())):
                group = self._siblings.get(group_id)
                if group is None:
                    continue
                template = group.template
                values = template.match(text)
                members = sorted(m for m in group.members if m in self.clusters)
                if values is not None and group.slots:
                    # Slots where the text brings a third value are variables; where it has a member's
                    # value, they stay that member's words (a near-twin pair keeps apart).
                    mine = tuple(values[s] for s in group.slots)
                    fixed = [i for i, s in enumerate(group.slots) if mine[i] in {v[i] for v in group.seen.values()}]
                    if len(fixed) == len(group.slots):
                        continue
                    members = [m for m in members if all(group.seen.get(m, ())[i:i + 1] == (mine[i],) for i in fixed)]
                    template = _fill(template, values, {group.slots[i] for i in fixed})
                elif values is None:
                    if len(group.slots) > 1:
                        continue
                    alignment = align(template, text, self.profile, tokens)
                    if alignment is None or self._judge_template(alignment) != "join":
                        continue
                    template = alignment.template
                self._drop_group(group_id)
                if not members:
                    return self._new_cluster(self.clusters[cluster_id].partition, template)
                keeper = self.clusters[members[0]]
                for other_id in members[1:]:
                    self._merge_away(self.clusters[other_id], keeper)
                return self._refine(keeper, template)
        return None

    def _merge_found_apart(self, cluster: Cluster, common: Template, candidates: list[int]) -> Cluster | None:
        """Clusters found separately (before a restart, or before either had variety) that the text's
        common template with `cluster` also fits: with the text that is three values, one template."""
        others = [
            self.clusters[c] for c in candidates
            if c != cluster.id and c in self.clusters and common.match(self.clusters[c].template.skeleton()) is not None
        ]  # fmt: skip
        if not others:
            return None
        members = sorted([cluster, *others], key=lambda c: c.id)
        keeper = members[0]
        for other in members[1:]:
            self._merge_away(other, keeper)
        return self._refine(keeper, common)

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
        """Fold every other cluster of the partition whose template this one now covers; the older
        id survives (with the covering template). Returns the surviving cluster. Only the clusters that
        share the most trigrams with the template are looked at: a covered one shares all of its own."""
        part = self._part(cluster.partition)
        keys = trigrams(template_tokens(cluster.template, self.profile).keys, self.profile)
        for other_id in part.index.best(keys, NEIGHBOURS):
            other = self.clusters.get(other_id)
            if other is None or other is cluster:
                continue
            if cluster.template.match(other.template.skeleton()) is None:
                continue
            keeper, gone = (other, cluster) if other.id < cluster.id else (cluster, other)
            if keeper is other:
                self.events.append(Event("refined", keeper.id, keeper.template))
                keeper.template = cluster.template
                self._reindex(keeper)
            self._merge_away(gone, keeper)
            cluster = keeper
        return cluster


_APART = re.compile(r"[.!?]\s+[A-Z]|\n[ \t]*\n")  # a new sentence, a blank line
_MARKER = re.compile(r"(?:^|\n)\[(?:system|user|developer)\]\n")


def _markers(template: Template) -> int:
    return sum(len(_MARKER.findall(c)) for c in template.constants)


def _fill(template: Template, values: list[str], slots: set[int]) -> Template:
    """The template with the given slots filled in by `values` (they become constant text again)."""
    constants = [template.constants[0]]
    for slot, const in enumerate(template.constants[1:]):
        if slot in slots:
            constants[-1] += values[slot] + const
        else:
            constants.append(const)
    return Template(tuple(constants))
