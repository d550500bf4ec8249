"""Templates two or more texts had in common while `settle` kept them apart: matched, not aligned, next time.

When the second call of a template differs from the first in a few words (a language, a name), `settle`
keeps the two apart: they may be near-twins, and only a third text can tell. Until then the pair's common
template is known but belongs to no cluster. It is filed here, under the same exact look-up as the clusters'
templates (`TemplateLookup`). A text that fits it by glob is settled with the pair's clusters directly; the
alignments that would have found them again (with every candidate, then the folds) are skipped. A pair
whose clusters have changed since is forgotten; so is the oldest when a partition holds MAX_PAIRS.
"""

from __future__ import annotations

from dataclasses import dataclass

from r4u_proxy.grouping.lookup import TemplateLookup
from r4u_proxy.grouping.template import Template

MAX_PAIRS = 1000  # per partition: memory stays bounded


@dataclass(frozen=True)
class Pair:
    common: Template
    clusters: tuple[int, ...]  # the clusters that hold the texts, the oldest first
    needs_three: bool  # the common template is thin (see `verdicts.thin`)


class Pairs:
    def __init__(self) -> None:
        self._lookup = TemplateLookup()
        self._pairs: dict[int, Pair] = {}  # insertion-ordered: the oldest first
        self._next = 1

    def __len__(self) -> int:
        return len(self._pairs)

    def add(self, common: Template, clusters: list[int], needs_three: bool) -> None:
        if not common.variable_count or len(clusters) < 2:
            return
        pair_id, self._next = self._next, self._next + 1
        self._pairs[pair_id] = Pair(common, tuple(sorted(clusters)), needs_three)
        self._lookup.add(pair_id, common)
        if len(self._pairs) > MAX_PAIRS:
            self.forget(next(iter(self._pairs)))

    def forget(self, pair_id: int) -> None:
        self._pairs.pop(pair_id, None)
        self._lookup.remove(pair_id)

    def fitting(self, text: str) -> list[tuple[int, Pair]]:
        """The pairs whose common template fits `text`, the most specific first."""
        found = []
        for pair_id in self._lookup.candidates(text):
            pair = self._pairs[pair_id]
            if pair.common.match(text) is not None:
                found.append((pair_id, pair))
        found.sort(key=lambda f: -sum(map(len, f[1].common.constants)))
        return found
