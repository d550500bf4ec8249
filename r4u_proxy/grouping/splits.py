"""Undoing over-merges in the prompt miner: splits at checkpoints, loosened templates, dissolved strays.

At checkpoints (6, 12, 24, ... texts) a cluster looks at the values of each of its variables in its recent
texts. When they fall into groups by the text they begin or end with (`affixes`: near-twins whose first
calls met before either was known), or into 2-3 well-supported groups that have constant text of their
own (a shared boilerplate system prompt in front of different instructions), the cluster splits and its
members are fed again; clusters split by their values' affixes are kept apart from then on. A constant of
marks alone that the values around it hold too (`{a}": {b}` inside JSON) is undone: the two variables are
one. And a small early cluster whose texts all fit more specific templates (two prompt versions that met
before either was known) is dissolved into those.
"""

from __future__ import annotations

import re
from itertools import chain
from typing import TYPE_CHECKING

from r4u_proxy.grouping.affixes import (
    Edges,
    shared_edges,
    slot_edges,
    split_across_slots,
    split_by_affix,
    with_affix,
)
from r4u_proxy.grouping.clusters import FIRST_CHECKPOINT, Cluster, Event
from r4u_proxy.grouping.lookup import specificity
from r4u_proxy.grouping.prompt_align import align
from r4u_proxy.grouping.template import Template

if TYPE_CHECKING:
    from r4u_proxy.grouping.profile import Profile

STRAY_MAX = 4  # clusters this small are checked for being strays when a neighbour grows
LOOSE_SHARE = 0.75  # of a cluster's texts: their values hold a constant of marks alone (`_loosen`)
_WORD = re.compile(r"\w")
NEIGHBOURS = 32  # clusters near a grown one (by shared trigrams) that are checked for being strays


def _fitting(template: Template, texts) -> tuple[list[str], list[list[str]]]:
    """The texts that fit the template, and their values."""
    samples, rows = [], []
    for text in texts:
        values = template.match(text)
        if values is not None:
            samples.append(text)
            rows.append(values)
    return samples, rows


class Splits:
    """Mixed into `miner.Miner`; works on the miner's state, declared here for the reader."""

    profile: Profile
    split_enabled: bool
    clusters: dict[int, Cluster]
    events: list[Event]

    def _count(self, cluster: Cluster, text: str) -> None:
        cluster.count += 1
        cluster.samples.append(text)
        if self.split_enabled and cluster.count >= cluster.next_checkpoint:
            cluster.next_checkpoint *= 2
            if cluster.template.variable_count:
                samples, rows = _fitting(cluster.template, cluster.samples)
                looser = self._loosen(cluster, rows)
                if looser is not cluster or looser.template is not cluster.template:
                    cluster = looser
                    samples, rows = _fitting(cluster.template, cluster.samples)
                if not self._tighten(cluster, samples, rows):
                    self._try_split(cluster, samples, rows)
            if cluster.id in self.clusters and cluster.template is not cluster.stray_checked:
                # (with the same template as at its last checkpoint, the same strays fit it no better)
                cluster.stray_checked = cluster.template
                self._dissolve_strays(cluster)

    def _loosen(self, cluster: Cluster, rows: list[list[str]]) -> Cluster:
        """A constant of marks alone between two variables (`{a}": {b}` in a JSON blob) that the values
        next to it hold too, in most texts, is where a value's own text happened to be cut: the two
        variables become one. Returns the cluster that survives (a looser template may cover others)."""
        template = cluster.template
        if template.variable_count < 2 or len(rows) < FIRST_CHECKPOINT:
            return cluster
        constants = [template.constants[0]]
        for index, const in enumerate(template.constants[1:-1], start=1):
            marks = const.strip() and not _WORD.search(const)
            if marks and sum(const in r[index - 1] or const in r[index] for r in rows) >= LOOSE_SHARE * len(rows):
                continue  # (the two variables around it become one)
            constants.append(const)
        constants.append(template.constants[-1])
        if len(constants) == len(template.constants):
            return cluster
        return self._refine(cluster, Template(tuple(constants)))  # type: ignore[attr-defined]

    def _tighten(self, cluster: Cluster, samples: list[str], rows: list[list[str]]) -> bool:
        """Constant text every recent value of a variable begins or ends with (`affixes.shared_edges`)
        moves into the template; the cluster's members are fed again (`split`): one that does not
        have it finds its task anew. Returns whether the template changed."""
        template = cluster.template
        if len(rows) < FIRST_CHECKPOINT:
            return False
        constants = list(template.constants)
        for slot in range(template.variable_count):
            values = [row[slot] for row in rows]
            elsewhere = [v for row in rows for i, v in enumerate(row) if i != slot]
            prefix, suffix = shared_edges(values, self.profile, elsewhere)
            constants[slot] += prefix
            constants[slot + 1] = suffix + constants[slot + 1]
        tightened = Template(tuple(constants))
        if tightened == template or any(tightened.match(s) is None for s in samples):
            return False
        cluster.template = tightened
        cluster.confirmed = True  # (its members, fed again, must not make it provisional again)
        self._reindex(cluster)  # type: ignore[attr-defined]
        cluster.count = 0
        cluster.samples.clear()
        self.events.append(Event("split", cluster.id, template))
        return True

    def _dissolve_strays(self, grown: Cluster) -> None:
        """Once every text of a small cluster near `grown` fits a more specific template of the
        partition, the stray is dissolved and its texts re-fed."""
        part = self._part(grown.partition)  # type: ignore[attr-defined]
        keys = self._index_keys(grown.template)  # type: ignore[attr-defined]
        for stray_id in part.index.best(keys, NEIGHBOURS):
            stray = self.clusters.get(stray_id)
            if stray is None or stray is grown or stray.count > STRAY_MAX or stray.count != len(stray.samples):
                continue
            if not stray.samples and self.kept_apart(stray, [grown]):  # type: ignore[attr-defined]
                continue  # just made by a split, its texts not fed again yet: nothing says it is a stray
            if not stray.template.variable_count:
                continue  # a text seen once is not over-general
            specific = specificity(stray.template)
            if all(self._fits_better(part, text, stray_id, specific) for text in stray.samples):
                self._remove(stray)  # type: ignore[attr-defined]
                self.events.append(Event("split", stray_id, stray.template, partition=stray.partition))

    def _fits_better(self, part, text: str, stray_id: int, specific: int) -> bool:
        lookup = part.lookup
        for cid in chain(lookup.candidates(text, loose=False), lookup.loose(text, specific)):
            template = self.clusters[cid].template
            if cid != stray_id and specificity(template) > specific and template.match(text) is not None:
                return True
        return False

    def _try_split(self, cluster: Cluster, samples: list[str], rows: list[list[str]]) -> None:
        """`samples`: the cluster's recent texts that fit its template; `rows`: their values."""
        template = cluster.template
        if template.variable_count == 0 or len(rows) < FIRST_CHECKPOINT:
            return
        # (a variable with one or two values is a near-twin's words or not, as settling decides: no affixes)
        edges = [slot_edges(values if len(set(values)) > 2 else [], self.profile) for values in zip(*rows, strict=True)]
        for slot in range(template.variable_count + 1):
            if slot == template.variable_count:  # no variable alone tells: several together may
                templates = self._across_slots(template, edges, rows, samples)
                by_affix = True
            else:
                values = [row[slot] for row in rows]
                templates = None
                if edges[slot][0].big or edges[slot][1].big:
                    elsewhere = [v for row in rows for i, v in enumerate(row) if i != slot]
                    templates = self._affix_templates(template, slot, edges[slot], elsewhere, samples)
                by_affix = templates is not None
                if templates is None:
                    groups = self._value_groups(values)
                    templates = None if groups is None else [self._fold([samples[i] for i in m]) for m in groups]
            if templates is None:
                continue
            cluster.template = templates[0]
            self._reindex(cluster)  # type: ignore[attr-defined]
            made = [cluster] + [self._new_cluster(cluster.partition, other) for other in templates[1:]]  # type: ignore[attr-defined]
            if by_affix:
                self.keep_apart(made)  # type: ignore[attr-defined]
            cluster.count = 0
            cluster.samples.clear()
            self.events.append(Event("split", cluster.id, template))
            return

    def _affix_templates(
        self, template: Template, slot: int, edges: tuple[Edges, Edges], elsewhere: list[str], samples: list[str]
    ) -> list[Template] | None:
        """The templates of the groups a variable's values fall into by their shared start or end
        (`affixes`), the biggest group's first; None without such groups, or when a text would not
        fit its group's template (the glob's leftmost choice differs)."""
        found = split_by_affix(edges, elsewhere)
        if found is None:
            return None
        by_affix: dict[str, list[int]] = {}
        for index, affix in enumerate(found.affixes):
            by_affix.setdefault(affix, []).append(index)
        templates = []
        for affix, members in sorted(by_affix.items(), key=lambda kv: -len(kv[1])):
            made = with_affix(template, slot, affix, suffix=found.suffix, whole=affix in found.whole) if affix else template
            if any(made.match(samples[i]) is None for i in members):
                return None
            templates.append(self._tightened(made, [samples[i] for i in members]))
        return templates

    def _tightened(self, template: Template, texts: list[str]) -> Template:
        """The common template of a group's texts, built afresh: it keeps the constant text the group
        shares beyond `template` (what the merged cluster's variables had swallowed of it); `template`
        when the glob would not give the texts back with it, or when it keeps less."""
        folded = self._fold(texts)
        if folded.variable_count and all(folded.match(t) is not None for t in texts) and specificity(folded) > specificity(template):
            return folded
        return template

    def _across_slots(
        self, template: Template, edges: list[tuple[Edges, Edges]], rows: list[list[str]], samples: list[str]
    ) -> list[Template] | None:
        """The templates of texts that differ from the others in affixes of several variables
        (`affixes.split_across_slots`), the bigger group's first."""
        if template.variable_count < 2:
            return None
        found = split_across_slots(edges, rows)
        if found is None:
            return None
        members, places = found
        made = template
        for slot in sorted(places, reverse=True):
            suffix, affix = places[slot]
            made = with_affix(made, slot, affix, suffix=suffix, whole=False)
        if any(made.match(samples[i]) is None for i in members):
            return None
        made = self._tightened(made, [samples[i] for i in members])
        rest = self._tightened(template, [s for i, s in enumerate(samples) if i not in set(members)])
        return [made, rest] if 2 * len(members) >= len(samples) else [rest, made]

    def _value_groups(self, values: list[str]) -> list[list[int]] | None:
        """The values of one slot grouped by a miner of their own, when they form a few well-supported
        groups that have constant text of their own; else None. Long values are mined by their
        head and tail only (that is where a second template's text would be)."""
        if all(len(v) <= 24 for v in values):
            return None  # a word or a few each (a language, a tone): a variable, not templates
        heads = {v[:24] for v in values}
        tails = {v[-24:] for v in values}
        if min(len(heads), len(tails)) > len(values) // 3:
            return None  # free text (documents, questions): no few groups to find
        sub = type(self)(self.profile, split=False)  # type: ignore[call-arg]
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
        template = Template.literal(texts[0])
        for text in texts[1:]:
            template = align(template, text, self.profile).template
        return template
