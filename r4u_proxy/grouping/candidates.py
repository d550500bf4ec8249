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

import zlib
from collections import Counter
from itertools import chain, compress
from operator import itemgetter, not_

from r4u_proxy.grouping.profile import Profile

EDGE = 48
SAMPLE = 4
COMMON = 64  # a trigram filed under more clusters than this is not counted
EDGE_KEYS = 2  # trigrams at each end of a text that count EDGE_VOTES times
EDGE_VOTES = 4


_BREAK = -1  # a slot: runs of content tokens end there (any negative code does)
_NONE = 0  # a token that is no evidence (a blank, a comma)


def code(token: str, profile: Profile) -> int:
    """The token's code in trigrams (never 0 or negative), or _NONE, or _BREAK; cached per profile. A
    crc32, not `hash`: str hashes change from one process to the next."""
    if token.startswith("\x00"):
        found = _BREAK
    elif profile.weight(token) > 0:
        found = zlib.crc32(token.encode("utf-8", "surrogatepass")) or 1
    else:
        found = _NONE
    codes = profile._codes
    if len(codes) > 200_000:  # bounded: free text brings endless new tokens; codes do not change
        codes.clear()
    codes[token] = found
    return found


COLON = zlib.crc32(b":")  # the code of ":"


def trigram_codes(run: list[int]) -> list[int]:
    # hash() of a tuple of ints is the same in every process (only str hashes are salted); in C.
    return list(map(hash, zip(run, run[1:], run[2:], strict=False)))


def keyed(codes: list[int], trigrams: list[int] | None = None) -> tuple[set[int], list[int]]:
    """The sampled trigram codes of a token list given by its tokens' codes (`code`; a variable's is
    negative and breaks runs), and the first and last EDGE_KEYS of them (where a short template has its
    few words: `wic sentence1:` before two long sentences). `trigrams`: all of them, when the caller has
    them already (a text's, `Tokens.trigrams`)."""
    if trigrams is not None:
        keys = trigrams
    elif min(codes, default=0) < 0:
        keys: list[int] = []
        run: list[int] = []
        for c in codes:
            if c < 0:
                keys += trigram_codes(run)
                run = []
            elif c:
                run.append(c)
        keys += trigram_codes(run)
    else:
        keys = trigram_codes(list(filter(None, codes)))
    edges = keys[:EDGE_KEYS] + keys[-EDGE_KEYS:]
    if len(keys) <= 2 * EDGE:
        return set(keys), edges
    middle = keys[EDGE:-EDGE]
    found = set(compress(middle, map(not_, map(SAMPLE.__rmod__, middle))))  # key % SAMPLE == 0: by content
    found.update(keys[:EDGE], keys[-EDGE:])
    return found, edges


class CandidateIndex:
    def __init__(self) -> None:
        self._postings: dict[int, set[int]] = {}
        self._keys: dict[int, set[int]] = {}

    def __contains__(self, cluster_id: int) -> bool:
        return cluster_id in self._keys

    def add(self, cluster_id: int, keys: set[int]) -> None:
        """File the cluster under `keys` (refiled: only the keys that changed, as a refined template
        keeps most of its trigrams)."""
        old = self._keys.get(cluster_id)
        if old is not None:
            self._drop(cluster_id, old - keys)
            keys_added = keys - old
        else:
            keys_added = keys
        self._keys[cluster_id] = keys
        postings = self._postings
        for key in keys_added:
            ids = postings.get(key)
            if ids is None:
                postings[key] = {cluster_id}
            else:
                ids.add(cluster_id)

    def remove(self, cluster_id: int) -> None:
        self._drop(cluster_id, self._keys.pop(cluster_id, ()))

    def _drop(self, cluster_id: int, keys) -> None:
        postings = self._postings
        for key in keys:
            ids = postings.get(key)
            if ids is not None:
                ids.discard(cluster_id)
                if not ids:
                    del postings[key]

    def best(self, keys: set[int], limit: int, edges: list[int] = (), least: int = 1) -> list[int]:  # type: ignore[assignment]
        """The clusters sharing the most of `keys` (`edges` count EDGE_VOTES times), best first (at most
        `limit`, each with at least `least` votes)."""
        return [cid for cid, _ in self.voted(keys, limit, edges, least)]

    def voted(self, keys: set[int], limit: int, edges: list[int] = (), least: int = 1) -> list[tuple[int, int]]:  # type: ignore[assignment]
        """`best`, with each cluster's votes."""
        postings = self._postings
        hits = list(filter(None, map(postings.get, keys)))  # (in C: a text has a few hundred keys)
        if hits and max(map(len, hits)) > COMMON:
            hits = [ids for ids in hits if len(ids) <= COMMON]
        voters = list(chain.from_iterable(hits))
        for key in edges:
            ids = postings.get(key)
            if ids is not None and len(ids) <= COMMON:
                voters.extend(list(ids) * (EDGE_VOTES - 1))
        votes = Counter(voters)
        # (what most_common(limit) returns, ties in first-voted order as there, but sorted in C)
        ranked = sorted(votes.items(), key=itemgetter(1), reverse=True)[:limit]
        return [(cid, n) for cid, n in ranked if n >= least]
