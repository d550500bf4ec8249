"""Prompts and templates as token lists with prefix sums, for the aligner (prompt_align.py).

Everything the alignment asks about a stretch of tokens (its evidence in words, whether it holds a variable
or any non-blank text) is an O(1) look-up in prefix sums computed once per text (`Tokens`) and once per
template (`TemplateTokens`, cached): a prompt is aligned with several candidates, a template with many texts.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate, compress

from r4u_proxy.grouping.candidates import COLON, code, trigram_codes
from r4u_proxy.grouping.profile import Profile
from r4u_proxy.grouping.template import Template

SLOT = "\x00slot"  # a variable's key: `SLOT + index`, which nothing in a text can equal


class Tokens:
    """A token list with prefix sums: evidence, words and blank tokens of any stretch in O(1)."""

    __slots__ = (
        "tokens", "values", "codes", "weight", "markers", "slots", "_words", "_blanks", "_trigrams", "_grams", "_offsets",
        "_ranked",
    )  # fmt: skip

    def __init__(self, tokens: list[str], profile: Profile, *, slot_keys: list[int] | None = None) -> None:
        """`slot_keys`: where a template's variables are (None for a text)."""
        values = _looked_up(tokens, profile._weights, profile.weight)
        codes = _looked_up(tokens, profile._codes, lambda t: code(t, profile))
        self.markers: list[int] = []
        self.slots: list[int] = []
        if slot_keys is not None:
            for i in slot_keys:  # a slot is no evidence, and equals nothing but itself
                values[i] = 0.0
                codes[i] = -2 - i
            self.markers = _markers(tokens, profile)
            # (a template's constant holding the character slots are made of counts as one)
            self.slots = sorted(slot_keys + _nul_positions(tokens)) if "\x00" in tokens else slot_keys
        self.tokens = tokens
        self.values = values
        self.codes = codes
        self.weight = [0.0, *accumulate(values)]
        self._words: list[int] | None = None
        self._blanks: list[int] | None = None
        self._trigrams: list[int] | None = None
        self._grams: dict[int, int] | None = None
        self._offsets: tuple[str, list[int]] | None = None
        self._ranked: dict[int, list[int]] = {}

    def offsets(self) -> tuple[str, list[int]]:
        """The tokens joined, and where each token starts in that string; built when first asked for
        (a label seen more than once needs them)."""
        if self._offsets is None:
            self._offsets = ("".join(self.tokens), [0, *accumulate(map(len, self.tokens))])
        return self._offsets

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def words(self) -> list[int]:
        """Prefix sums of whole words (tokens of weight 1); built when first asked for (a text that
        no candidate is aligned with never is)."""
        if self._words is None:
            self._words = [0, *accumulate(map((1.0).__le__, self.values))]
        return self._words

    @property
    def blanks(self) -> list[int]:
        """Prefix sums of blank tokens; built when first asked for."""
        if self._blanks is None:
            self._blanks = [0, *accumulate(map(str.isspace, self.tokens))]
        return self._blanks

    def trigrams(self) -> list[int] | None:
        """Codes of every three content tokens in a row (`candidates.trigram_codes`), for a text that no
        slot or slot character breaks (else None): the candidate index's keys and the pins' trigrams."""
        if self._trigrams is None:
            if self.slots or "\x00" in self.tokens:
                return None
            self._trigrams = trigram_codes(list(filter(None, self.codes)))
        return self._trigrams

    def as_template(self, profile: Profile) -> Tokens:
        """The same tokens as a literal template's (its `[role]` lines marked), sharing the sums; the
        caller makes sure no token could be mistaken for a slot."""
        tokens = self.tokens
        other = Tokens.__new__(Tokens)
        other.tokens, other.values, other.codes, other.weight = tokens, self.values, self.codes, self.weight
        other._words, other._blanks, other._trigrams = self._words, self._blanks, self._trigrams
        other.markers = _markers(tokens, profile)
        other.slots = []
        other._grams = self._grams
        other._offsets = self._offsets
        other._ranked = self._ranked
        return other

    def grams(self) -> dict[int, int]:
        """The trigrams of content tokens (and slots), and the labels (a word and a colon), that occur
        once, by the position of their first token. A gram is known by the hash of its tokens' codes
        (`candidates.code`), all in C: tokens sharing a code by chance only move where an alignment is
        pinned, never what it finds equal."""
        if self._grams is None:
            toks, codes = self.tokens, self.codes
            pos = list(compress(range(len(toks)), self.values))
            if self.slots:
                pos = sorted(pos + self.slots)
            elif "\x00" in toks:  # a text holding the character slots are made of: it counts as one
                pos = sorted(pos + _nul_positions(toks))
            content = list(map(codes.__getitem__, pos))
            # Three content tokens in a row; or a label, a word and its colon ("sentence2:").
            trigrams = self.trigrams()
            grams = list(trigrams) if trigrams is not None else trigram_codes(content)
            starts = pos[: len(grams)]
            labels = list(compress(range(len(content) - 1), map(COLON.__eq__, content[1:])))
            if labels:
                label_grams = [hash((0, content[j], COLON)) for j in labels]
                grams += label_grams
                starts += [pos[j] for j in labels]
                if len(set(label_grams)) < len(label_grams):
                    self._ranked = _repeated(label_grams, [pos[j] for j in labels])
            once = dict(zip(reversed(grams), reversed(starts), strict=True))  # each gram at its first place
            if len(once) < len(grams):
                counts = Counter(grams)
                for gram in compress(counts.keys(), map((1).__lt__, counts.values())):  # those seen twice
                    del once[gram]
            self._grams = once
        return self._grams

    def ranked(self) -> dict[int, list[int]]:
        """The labels seen two to MAX_RANK times, each with its positions in order (after `grams`)."""
        self.grams()
        return self._ranked

    def content(self, start: int, end: int) -> float:
        return self.weight[end] - self.weight[start]

    def has_marker(self, start: int, end: int) -> bool:
        i = bisect_left(self.markers, start)
        return i < len(self.markers) and self.markers[i] < end

    def slot_count(self, start: int, end: int) -> int:
        return bisect_left(self.slots, end) - bisect_left(self.slots, start)

    def blank(self, start: int, end: int) -> bool:
        return self.blanks[end] - self.blanks[start] == end - start


MAX_RANK = 16  # a label seen more often than this is a value's text (a table's header, a log's fields)


def _repeated(grams: list[int], starts: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for gram, start in zip(grams, starts, strict=True):
        found.setdefault(gram, []).append(start)
    return {g: p for g, p in found.items() if 1 < len(p) <= MAX_RANK}


def _markers(tokens: list[str], profile: Profile) -> list[int]:
    """Where the `[role]` lines are."""
    if not profile.role_lines:
        return []
    return list(compress(range(len(tokens)), map(profile.role_lines.__contains__, tokens)))


def _looked_up(tokens: list[str], cache: dict, compute) -> list:
    """Each token's entry in a per-profile cache (`compute` fills it): in C, once the tokens new to the
    cache (a text brings a few) have been computed."""
    try:
        return list(map(cache.__getitem__, tokens))
    except KeyError:
        for token in set(tokens).difference(cache):
            compute(token)
    try:
        return list(map(cache.__getitem__, tokens))
    except KeyError:  # (the cache was full and started afresh meanwhile)
        return list(map(compute, tokens))


def _nul_positions(tokens: list[str]) -> list[int]:
    return [i for i, t in enumerate(tokens) if t == "\x00"]


@dataclass(eq=False)
class TemplateTokens:
    keys: list[str]  # constant tokens; each slot one key nothing else has
    tokens: Tokens
    whole_constants: frozenset[tuple[int, int]]  # token ranges of the middle constants
    skeleton: str
    index_keys: set[int] | None = None  # its trigram codes in the candidate index (filled by the miner)
    # The middle constants that hold a word, without the blank tokens at their two ends, sorted: a text
    # whose values begin or end with other blanks has the constant's words but not its edge tokens.
    cores: tuple[tuple[int, int], ...] = ()


class Cache(dict):
    """A bounded memo that can also be told an answer already known (a text's tokens are its literal's)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key, value) -> None:
        if len(self) >= self.size:
            del self[next(iter(self))]  # the oldest entry
        self[key] = value


_TEMPLATE_TOKENS = Cache(8192)
_SKELETON_TOKENS = Cache(4096)
_TEXTS = Cache(4)  # the latest texts' tokens and index keys (see `remember_literal`): a few, as a text may be 32k


def template_tokens(template: Template, profile: Profile) -> TemplateTokens:
    found = _TEMPLATE_TOKENS.get((template, profile))
    if found is not None:
        return found
    if len(template.constants) == 1 and (found := _literal_tokens(template, profile)) is not None:
        _TEMPLATE_TOKENS.put((template, profile), found)
        return found
    keys: list[str] = []
    ranges: list[tuple[int, int]] = []
    slot_keys: list[int] = []
    for index, const in enumerate(template.constants):
        if index:
            slot_keys.append(len(keys))
            keys.append(f"{SLOT}{index}")
        start = len(keys)
        keys.extend(profile.tokenize(const))
        ranges.append((start, len(keys)))
    whole = frozenset(r for r in ranges[1:-1] if r[1] > r[0])
    tokens = Tokens(keys, profile, slot_keys=slot_keys)
    cores = []
    for start, end in ranges[1:-1]:
        while start < end and keys[start].isspace():
            start += 1
        while end > start and keys[end - 1].isspace():
            end -= 1
        if tokens.content(start, end) >= 1:
            cores.append((start, end))
    found = TemplateTokens(keys, tokens, whole, template.skeleton(), cores=tuple(cores))
    _TEMPLATE_TOKENS.put((template, profile), found)
    return found


def text_tokens(text: str, profile: Profile) -> Tokens:
    return Tokens(profile.tokenize(text), profile)


def skeleton_tokens(template: Template, profile: Profile, hole: str) -> tuple[str, Tokens]:
    """A template's skeleton as a text to align with (each slot `hole`), and its tokens: cached, as a
    cluster is aligned this way with the texts that might join it."""
    found = _SKELETON_TOKENS.get((template, profile, hole))
    if found is None:
        skeleton = template.skeleton(hole)
        found = (skeleton, text_tokens(skeleton, profile))
        _SKELETON_TOKENS.put((template, profile, hole), found)
    return found


def remember_literal(text: str, tokens: Tokens, profile: Profile, index_keys: set[int]) -> None:
    """Keep a text's tokens at hand for a while: should it start a cluster, its template's tokens are
    these (it is not tokenized again as that cluster's template, nor as its skeleton)."""
    _TEXTS.put((text, profile), (tokens, index_keys))


def _literal_tokens(template: Template, profile: Profile) -> TemplateTokens | None:
    """A literal template's tokens from a text remembered by `remember_literal`, else None."""
    text = template.constants[0]
    known = _TEXTS.get((text, profile))
    if known is None or "\x00" in text:  # (a text holding the slots' character is tokenized as a template)
        return None
    tokens, index_keys = known
    found = TemplateTokens(tokens.tokens, tokens.as_template(profile), frozenset(), text, index_keys)
    _SKELETON_TOKENS.put((template, profile, "\x00"), (text, tokens))
    return found
