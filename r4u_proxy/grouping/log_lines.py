"""What only log lines need from the miner (the Loghub benchmark's profile, `profile.LOGS`).

Log lines are partitioned by token count and first word, as in Drain. Two things cross those lines:
- a line of another token count joins a template when it shares almost all of its words (an optional
  `(1.2 KB)`); that template's variables may span words from then on;
- when several clusters differ from one another in one word only, that word is a variable (user names,
  states), and they are folded into one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from r4u_proxy.grouping.align import Alignment, align, joined
from r4u_proxy.grouping.profile import WILDCARD, Profile
from r4u_proxy.grouping.template import Template

if TYPE_CHECKING:
    from r4u_proxy.grouping.miner import Cluster

SPAN_KEPT = 0.9  # log lines of different token counts join only when sharing this much of their words


@lru_cache(maxsize=8192)
def _template_words(template: Template, profile: Profile) -> float:
    """Constant words of a log template (what a line must share to join it)."""
    return sum(profile.weight(t) for t in profile.tokenize(template.skeleton(" ")) if not profile.is_variable_on_sight(t))


class LogLines:
    """Mixed into `Miner`; works on the miner's state, declared here for the reader."""

    profile: Profile
    clusters: dict[int, Cluster]
    events: list
    _partitions: dict[str, list[int]]
    _by_first: dict[str, list[int]]  # log clusters by partition and first word, all token counts
    _siblings: dict[tuple[str, ...], set[int]]
    _sibling_keys: dict[int, list[tuple[str, ...]]]

    @staticmethod
    def _first_key(key: str) -> str:
        partition, _, rest = key.rpartition("#")
        return partition.rpartition("#")[0] + "#" + rest

    def _best_across_lengths(
        self, key: str, text: str, tokens: list[str] | None
    ) -> tuple[tuple[float, float], Cluster, Alignment] | None:
        """Log lines: a template of another token count whose words this line shares almost all of
        (an optional `(1.2 KB)`, a `<1 sec` for `00:02`): its variables may span words from now on."""
        best = None
        same_length = set(self._partitions.get(key, ()))  # already compared word by word
        words = self._words(tokens or [])
        for cluster_id in self._by_first.get(self._first_key(key), ()):
            if cluster_id in same_length:
                continue
            cluster = self.clusters[cluster_id]
            template_words = _template_words(cluster.template, self.profile)
            if min(words, template_words) < SPAN_KEPT * max(words, template_words):
                continue  # cannot share enough words: skip the alignment
            alignment = align(cluster.template, text, self.profile, tokens, positional=False)
            if alignment is None:
                continue
            denominator = max(alignment.template_content, alignment.text_content)
            if denominator and alignment.anchored / denominator >= SPAN_KEPT:
                score = (alignment.anchored, alignment.kept)
                if best is None or score > best[0]:
                    best = (score, cluster, alignment)
        return best

    def _words(self, tokens: list[str]) -> float:
        return sum(self.profile.weight(t) for t in tokens if not self.profile.is_variable_on_sight(t))

    # --- log lines: a word that varies across several clusters is a variable -------------------
    def _index_siblings(self, cluster: Cluster, key: str) -> Cluster:
        """Index the cluster under each shape of its template with one constant word (not the first)
        made a wildcard. When `fold_siblings` clusters share a shape, that word is a variable (user
        names, states): fold them into the oldest."""
        self._unindex_siblings(cluster.id)
        tokens = self.profile.tokenize(cluster.template.skeleton(WILDCARD))
        shapes = []
        for i, token in enumerate(tokens):
            if token == WILDCARD or not self.profile.is_content(token) or i == 0:
                continue
            shape = (key, *tokens[:i], WILDCARD, *tokens[i + 1 :])
            members = self._siblings.setdefault(shape, set())
            members.add(cluster.id)
            shapes.append(shape)
            if len(members) >= self.profile.fold_siblings:
                self._sibling_keys[cluster.id] = shapes
                return self._fold_siblings(shape, members)
        self._sibling_keys[cluster.id] = shapes
        return cluster

    def _unindex_siblings(self, cluster_id: int) -> None:
        for shape in self._sibling_keys.pop(cluster_id, []):
            self._siblings.get(shape, set()).discard(cluster_id)

    def _fold_siblings(self, shape: tuple[str, ...], members: set[int]) -> Cluster:
        from r4u_proxy.grouping.miner import Event  # miner imports this module

        ids = sorted(members)
        keeper = self.clusters[ids[0]]
        constants: list[str] = []
        current: list[str] = []
        for token in shape[1:]:
            if token == WILDCARD:
                constants.append("".join(current))
                current = []
            else:
                current.append(token)
        constants.append("".join(current))
        old = keeper.template
        keeper.template = joined(constants)
        self.events.append(Event("refined", keeper.id, old))
        for other_id in ids[1:]:
            other = self.clusters[other_id]
            keeper.count += other.count
            self._remove(other)
            self.events.append(Event("merged", other.id, other.template, into=keeper.id))
        return self._index_siblings(keeper, shape[0])
