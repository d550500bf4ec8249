"""Which slots of a common template are values, and which a near-twin's own words: told by the texts.

When a new text and a cluster could share a template (their alignment is `verdicts.plausible`), their
common template may still cover two templates: `Translate to {v1}: {v2}` is one template with a language
variable, or two near-twins (`French`, `German`) each with its own word. The texts decide, slot by slot:
the cluster's recent texts, those of every other cluster the common template covers (tasks found apart,
earlier siblings), and the new one.

- A slot with three or more different values is a variable (two values are a near-twin pair, three are a
  variable); so is one whose values are long (a document, a question), where a near-twin's few words are not.
- A slot with one value, or two of which one is a few words (or came again word for word), is the texts' own
  words: it stays constant text, and the texts are grouped by those words, one cluster per group.
- A thin common template (a few words in common, or only in the middle) needs a third value everywhere:
  two texts alone may share "Is this true?" by chance.

Each group becomes one cluster (the oldest id of those in it survives; the others are `merged` into it). A
cluster whose texts fall into two groups (near-twins merged before a third text told them apart) is
dissolved and its texts fed again (`split`). So joining, keeping near-twins apart, and merging later are
one rule applied to the evidence at hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from r4u_proxy.grouping.clusters import Cluster, Event
from r4u_proxy.grouping.prompt_align import align
from r4u_proxy.grouping.prompt_tokens import skeleton_tokens, template_tokens
from r4u_proxy.grouping.template import Template
from r4u_proxy.grouping.verdicts import SHORT, plausible

if TYPE_CHECKING:
    from r4u_proxy.grouping.profile import Profile

_HOLE = "\x00"  # what a cluster without texts at hand (restored after a restart) shows where it varies


class Settle:
    """Mixed into `miner.Miner`; works on the miner's state, declared here for the reader."""

    profile: Profile
    clusters: dict[int, Cluster]
    events: list[Event]

    def _settle(
        self, cluster: Cluster, common: Template, text: str, needs_three: bool, others: list[Cluster],
        shared: float | None = None,
    ) -> Cluster:
        """Place `text` (which fits `common`, its common template with `cluster`) with `cluster`, the
        `others` it could also share a template with (folded into `common` while that stays plausible:
        two pairs of texts rarely share the same chance words, so pairwise templates differ) and the
        clusters `common` then covers; returns the cluster the text belongs to. `needs_three`: thin;
        `shared`: the constant text (in words) the text and `cluster` share."""
        involved = [cluster]
        for other in others:
            if other.id not in self.clusters or self.kept_apart(other, involved):  # type: ignore[attr-defined]
                continue
            if not cluster.template.variable_count and shared is not None:
                # Two texts seen once that share far more with each other than with this one: they
                # are one template (or near-twins), and this text is another one.
                skeleton, tokens = skeleton_tokens(other.template, self.profile, _HOLE)
                # (what two texts share is no more than the shorter has: often that settles it unaligned)
                most = min(template_tokens(cluster.template, self.profile).tokens.weight[-1], tokens.weight[-1])
                if most > 2 * shared + SHORT:
                    mutual = align(cluster.template, skeleton, self.profile, tokens).anchored
                    if mutual > 2 * shared + SHORT:
                        return self._new_cluster(cluster.partition, Template.literal(text))  # type: ignore[attr-defined]
            if common.match(other.template.skeleton(_HOLE)) is not None:
                involved.append(other)  # it fits as it is: folding it in would give `common` again
                continue
            skeleton, tokens = skeleton_tokens(other.template, self.profile, _HOLE)
            folded = align(common, skeleton, self.profile, tokens)
            if plausible(self.profile, common, 2, folded) and folded.template.match(text) is not None:
                common = folded.template
                involved.append(other)
        mine = common.match(text)
        if mine is None:  # the glob's leftmost choice differs from the alignment's
            return self._new_cluster(cluster.partition, Template.literal(text))  # type: ignore[attr-defined]
        for other in self._covered(common, cluster):  # type: ignore[attr-defined]
            if other not in involved and not self.kept_apart(other, involved):  # type: ignore[attr-defined]
                involved.append(other)
        rows: list[tuple[int, list[str]]] = [(c.id, values) for c in involved for values in _rows(common, c)]
        rows.append((0, mine))
        groups = self._groups(rows, list(range(common.variable_count)), {}, needs_three)
        spread = {c for c in {r[0] for r in rows} if c and sum(c in ids for _, ids in groups) > 1}
        for cluster_id in sorted(spread):  # near-twins in one cluster: its texts find their own again
            gone = self.clusters[cluster_id]
            self._remove(gone)  # type: ignore[attr-defined]
            self.events.append(Event("split", cluster_id, gone.template, partition=gone.partition))
        placed: Cluster | None = None
        keepers: list[Cluster] = []
        for filled, ids in groups:
            template = _fill(common, filled)
            members = [self.clusters[c] for c in ids if c and c not in spread and c in self.clusters]
            if members:
                keeper = min(members, key=lambda c: c.id)
                for other in members:
                    if other is not keeper:
                        self._merge_away(other, keeper)  # type: ignore[attr-defined]
                keeper = self._refine(keeper, template)  # type: ignore[attr-defined]
            else:
                keeper = self._new_cluster(cluster.partition, template)  # type: ignore[attr-defined]
            keepers.append(keeper)
            if 0 in ids:
                placed = keeper
        if len(groups) > 1 and not needs_three and self._mostly_common(common, keepers):
            # Kept apart for now: a third text that fits `common` is settled with them. (A common
            # template that keeps little of the texts fits texts of other templates too, by chance
            # words in their values: those go the way of alignments, the most specific one winning.)
            self._part(cluster.partition).pairs.add(  # type: ignore[attr-defined]
                common, [k.id for k in keepers if k.id in self.clusters], needs_three
            )
        if placed is None or placed.id not in self.clusters:  # folded into a later group's cluster
            return self._new_cluster(cluster.partition, Template.literal(text))  # type: ignore[attr-defined]
        return placed

    def _mostly_common(self, common: Template, clusters: list[Cluster]) -> bool:
        """Whether `common` keeps most of the constant text of each of the clusters (min_kept)."""
        kept = template_tokens(common, self.profile).tokens.weight[-1]
        return all(kept >= self.profile.min_kept * template_tokens(c.template, self.profile).tokens.weight[-1] for c in clusters)

    def _groups(
        self, rows: list[tuple[int, list[str]]], open_slots: list[int], filled: dict[int, str], needs_three: bool
    ) -> list[tuple[dict[int, str], list[int]]]:
        """The rows grouped by the slots that are their own words, as (slot -> words, cluster ids; 0 is
        the new text). Within a group the other slots are looked at again: two near-twins can hide
        inside a variable that a third, different template made look varied."""
        fixed = [s for s in open_slots if self._fixed([r[1][s] for r in rows], needs_three)]
        # A slot blank in some texts and not in others: a passage (a label and its value) only some
        # of them have. Those are apart; among the others it is looked at again.
        present = [
            s for s in open_slots
            if s not in fixed and len({not r[1][s].strip() for r in rows}) == 2
        ]  # fmt: skip
        if not fixed and not present:
            ids: list[int] = []
            for cluster_id, _ in rows:
                if cluster_id not in ids:
                    ids.append(cluster_id)
            return [(filled, ids)]
        parts: dict[tuple, list[tuple[int, list[str]]]] = {}
        for row in rows:
            key = (tuple(row[1][s] for s in fixed), tuple(bool(row[1][s].strip()) for s in present))
            parts.setdefault(key, []).append(row)
        out = []
        for (words, shown), part in parts.items():
            inside = {**filled, **dict(zip(fixed, words, strict=True))}
            for slot, has_text in zip(present, shown, strict=True):
                blanks = {r[1][slot] for r in part}
                if not has_text and len(blanks) == 1:
                    inside[slot] = blanks.pop()
            rest = [s for s in open_slots if s not in inside]
            out += self._groups(part, rest, inside, needs_three)
        return out

    def _fixed(self, values: list[str], needs_three: bool) -> bool:
        """Is this slot the texts' own words (True) or a variable (False)? See the module doc."""
        if any(_HOLE in v for v in values):
            return False  # a variable of a cluster restored without texts: it varies
        distinct = set(values)
        if len(distinct) >= 3:
            return False
        if len(distinct) == 1 or needs_three:
            return True
        # Two values: a near-twin's few words, or passages one of which came again word for word.
        return any(self._short(v) for v in distinct) or len(values) > len(distinct)

    def _short(self, value: str) -> bool:
        if len(value) > 12 * SHORT:
            return False
        weight = self.profile.weight
        return sum(weight(t) for t in self.profile.tokenize(value)) <= SHORT


def _rows(common: Template, cluster: Cluster) -> list[list[str]]:
    """The common template's values in the cluster's recent texts (its template's, when it has none)."""
    rows = [v for v in (common.match(s) for s in cluster.samples) if v is not None]
    if not rows:
        found = common.match(cluster.template.skeleton(_HOLE))
        rows = [found] if found is not None else []
    return rows


def _fill(template: Template, filled: dict[int, str]) -> Template:
    """The template with the given slots filled in (they become constant text again)."""
    constants = [template.constants[0]]
    for slot, const in enumerate(template.constants[1:]):
        if slot in filled:
            constants[-1] += filled[slot] + const
        else:
            constants.append(const)
    return Template(tuple(constants))
