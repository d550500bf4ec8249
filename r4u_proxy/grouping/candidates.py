"""Which clusters a new text could share a template with: an inverted index of word trigrams.

Aligning a text costs a longest-common-subsequence over its tokens, so it is done only against the few
clusters that share the most of the text's rarer trigrams (three consecutive content tokens). A cluster is
filed under the trigrams of its constant text; a text seen once is all constant. Trigrams that half the
partition shares (a boilerplate "You are a helpful assistant") say nothing and are not counted. Long texts
keep every trigram of their first and last EDGE content tokens (where short templates have their words) and
a content-defined sample of one in SAMPLE in between, so two texts sharing a passage sample the same
trigrams of it, and memory stays proportional to the number of clusters, not to their length.
"""

from __future__ import annotations

from collections import Counter

from r4u_proxy.grouping.profile import Profile

EDGE = 48
SAMPLE = 4
COMMON = 64  # a trigram filed under more clusters than this is not counted


def trigrams(tokens: list[str], profile: Profile) -> set[int]:
    """Hashes of the sampled trigrams of a token list; `\\x00slot` tokens (variables) break runs."""
    runs: list[list[str]] = [[]]
    for token in tokens:
        if token.startswith("\x00"):
            runs.append([])
        elif profile.weight(token) > 0:
            runs[-1].append(token)
    found: set[int] = set()
    total = sum(len(r) for r in runs)
    seen = 0
    for run in runs:
        for i in range(len(run) - 2):
            key = hash((run[i], run[i + 1], run[i + 2]))
            position = seen + i
            if position < EDGE or position >= total - EDGE or key % SAMPLE == 0:
                found.add(key)
        seen += len(run)
    return found


class CandidateIndex:
    def __init__(self) -> None:
        self._postings: dict[int, set[int]] = {}
        self._keys: dict[int, set[int]] = {}

    def __contains__(self, cluster_id: int) -> bool:
        return cluster_id in self._keys

    def add(self, cluster_id: int, keys: set[int]) -> None:
        self.remove(cluster_id)
        self._keys[cluster_id] = keys
        for key in keys:
            self._postings.setdefault(key, set()).add(cluster_id)

    def remove(self, cluster_id: int) -> None:
        for key in self._keys.pop(cluster_id, ()):
            ids = self._postings.get(key)
            if ids is not None:
                ids.discard(cluster_id)
                if not ids:
                    del self._postings[key]

    def best(self, keys: set[int], limit: int) -> list[int]:
        """The clusters sharing the most of `keys`, best first (at most `limit`)."""
        votes: Counter[int] = Counter()
        for key in keys:
            ids = self._postings.get(key)
            if ids is not None and len(ids) <= COMMON:
                votes.update(ids)
        return [cid for cid, _ in votes.most_common(limit)]
