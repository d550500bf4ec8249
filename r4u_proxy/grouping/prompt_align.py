"""Align a prompt with a template over tokens (longest common subsequence) and build their common template.

Runs of tokens shared in order become constants; everything between them becomes a variable. Two documents,
diffs or JSON blobs share many short runs by chance ("of the"), so only runs that are evidence of template
text are kept ("anchors"): a long run, a run at the start or end, a whole constant of the template, a `[role]`
line, a label both sides have exactly once, or a shorter run that is not lost in a crowd of chance matches.
Between two anchors, short stretches are aligned again word by word (one changed word is one variable).

Everything the alignment asks about a stretch of tokens (its evidence in words, whether it holds a variable
or any non-blank text) is an O(1) look-up in prefix sums computed once per text (`Tokens`) and once per
template (`TemplateTokens`, cached): a prompt is aligned with several candidates, a template with many texts.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate, compress, groupby
from operator import methodcaller

from rapidfuzz.distance import LCSseq

from r4u_proxy.grouping.profile import Profile
from r4u_proxy.grouping.template import Template

SLOT = "\x00slot"  # a variable's key: `SLOT + index`, which nothing in a text can equal


@dataclass
class Gap:
    """A stretch where template and text disagree: it becomes (or stays) a variable."""

    template_content: float  # evidence (words) of template constants inside the gap
    template_has_variable: bool
    text_content: float  # evidence (words) of the text inside the gap
    one_sided: bool = False  # only one side has anything but blanks there: a passage added or dropped
    slots: int = 0  # the template's variables inside the gap
    text: str = ""  # the text's side of the gap, when it is a few words (SHORT_TEXT)
    keys: list[str] = field(default_factory=list, repr=False)  # the template's tokens inside the gap

    @property
    def absorbed(self) -> str:
        """The template's constant text inside the gap (it turns into variable text)."""
        return "".join(k for k in self.keys if not k.startswith("\x00"))


@dataclass
class Alignment:
    template: Template
    anchored: float  # evidence (words) kept as constants
    template_content: float  # evidence in the old template's constants
    text_content: float
    gaps: list[Gap] = field(default_factory=list)
    spans: bool = False  # log lines: built across token counts, so variables may span words
    edge: float = 0.0  # evidence in the shared start and end (where a short template has its words)

    @property
    def kept(self) -> float:
        return self.anchored / self.template_content if self.template_content else 0.0

    @property
    def new_gaps(self) -> list[Gap]:
        """Gaps where the old template had only constant text: a constant that turned out to vary."""
        return [g for g in self.gaps if not g.template_has_variable]


class Tokens:
    """A token list with prefix sums: evidence, words and blank tokens of any stretch in O(1)."""

    __slots__ = ("tokens", "values", "weight", "words", "blanks", "markers", "slots", "_grams")

    def __init__(self, tokens: list[str], profile: Profile, *, template: bool = False) -> None:
        values = list(map(profile._weights.get, tokens))
        if None in values:
            weigh = profile.weight
            values = [weigh(t) if w is None else w for w, t in zip(values, tokens, strict=True)]
        if template:  # a slot is no evidence
            values = [0.0 if t.startswith("\x00") else w for t, w in zip(tokens, values, strict=True)]
        self.tokens = tokens
        self.values = values
        self.weight = [0.0, *accumulate(values)]
        self.words = [0, *accumulate(map((1.0).__le__, values))]
        self.blanks = [0, *accumulate(map(str.isspace, tokens))]
        # Only a template's `[role]` lines and slots are asked about (a text has no slots).
        self.markers: list[int] = []
        self.slots: list[int] = []
        if template:
            self.markers = _markers(tokens, profile)
            self.slots = [i for i, t in enumerate(tokens) if t.startswith("\x00")]

        self._grams: dict[tuple[str, str, str], int] | None = None

    def __len__(self) -> int:
        return len(self.tokens)

    def as_template(self, profile: Profile) -> Tokens:
        """The same tokens as a literal template's (its `[role]` lines marked), sharing the sums; the
        caller makes sure no token could be mistaken for a slot."""
        tokens = self.tokens
        other = Tokens.__new__(Tokens)
        other.tokens, other.values, other.weight = tokens, self.values, self.weight
        other.words, other.blanks = self.words, self.blanks
        other.markers = _markers(tokens, profile)
        other.slots = []
        other._grams = self._grams
        return other

    def grams(self) -> dict[tuple[str, str, str], int]:
        """The trigrams of content tokens (and slots), and the labels (a word and a colon), that occur
        once, by the position of their first token."""
        if self._grams is None:
            toks = self.tokens
            pos = list(compress(range(len(toks)), self.values))
            if self.slots:
                pos = sorted(pos + self.slots)
            elif "\x00" in toks:  # a text holding the character slots are made of: it counts as one
                pos = sorted(pos + [i for i, t in enumerate(toks) if t == "\x00"])
            content = [toks[i] for i in pos]
            # Three content tokens in a row; or a label, a word and its colon ("sentence2:").
            grams: list[tuple[str, str, str]] = list(zip(content, content[1:], content[2:], strict=False))
            starts = pos[: len(grams)]
            labels = [j - 1 for j in range(1, len(content)) if content[j] == ":"]
            grams += [("", content[j], ":") for j in labels]
            starts += [pos[j] for j in labels]
            counts = Counter(grams)
            seen = dict(zip(reversed(grams), reversed(starts), strict=True))  # each gram at its first place
            self._grams = {g: i for g, i in seen.items() if counts[g] == 1}
        return self._grams

    def content(self, start: int, end: int) -> float:
        return self.weight[end] - self.weight[start]

    def has_marker(self, start: int, end: int) -> bool:
        i = bisect_left(self.markers, start)
        return i < len(self.markers) and self.markers[i] < end

    def slot_count(self, start: int, end: int) -> int:
        return bisect_left(self.slots, end) - bisect_left(self.slots, start)

    def blank(self, start: int, end: int) -> bool:
        return self.blanks[end] - self.blanks[start] == end - start


def _markers(tokens: list[str], profile: Profile) -> list[int]:
    """Where the `[role]` lines are."""
    ends = compress(range(len(tokens)), map(methodcaller("endswith", "]\n"), tokens))
    return [i for i in ends if profile.is_marker(tokens[i])]


@dataclass(eq=False)
class TemplateTokens:
    keys: list[str]  # constant tokens; each slot one key nothing else has
    tokens: Tokens
    whole_constants: frozenset[tuple[int, int]]  # token ranges of the middle constants
    skeleton: str
    index_keys: set[int] | None = None  # its trigram codes in the candidate index (filled by the miner)


class _Cache(dict):
    """A bounded memo that can also be told an answer already known (a text's tokens are its literal's)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key, value) -> None:
        if len(self) >= self.size:
            del self[next(iter(self))]  # the oldest entry
        self[key] = value


_TEMPLATE_TOKENS = _Cache(8192)
_SKELETON_TOKENS = _Cache(4096)
_TEXTS = _Cache(4)  # the latest texts' tokens and index keys (see `remember_literal`): a few, as a text may be 32k


def template_tokens(template: Template, profile: Profile) -> TemplateTokens:
    found = _TEMPLATE_TOKENS.get((template, profile))
    if found is not None:
        return found
    if len(template.constants) == 1 and (found := _literal_tokens(template, profile)) is not None:
        _TEMPLATE_TOKENS.put((template, profile), found)
        return found
    keys: list[str] = []
    ranges: list[tuple[int, int]] = []
    for index, const in enumerate(template.constants):
        if index:
            keys.append(f"{SLOT}{index}")
        start = len(keys)
        keys.extend(profile.tokenize(const))
        ranges.append((start, len(keys)))
    whole = frozenset(r for r in ranges[1:-1] if r[1] > r[0])
    found = TemplateTokens(keys, Tokens(keys, profile, template=True), whole, template.skeleton())
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


# A shared run this heavy is template text wherever it is. Shorter runs count only when isolated: two
# documents, diffs or JSON blobs share many short runs by chance, and those come in crowds.
SURE_ANCHOR = 8.0
CROWD_RADIUS = 12  # text tokens
CROWD = 4
UNIQUE_WEIGHT = 1.5  # a label: a word and a colon ("sentence2: "), or two words on a line
# Between two anchors, stretches this short on both sides are aligned again, word by word: there
# a single shared word ("Category:" between two short values) is template text, not chance.
SHORT_GAP = 60
LABEL_WEIGHT = 2.0  # a word with two marks around it: "\nCategory: "
_SENTENCE_END = re.compile(r"[.!?;,]\s")
EDGE_WINDOW = 12  # tokens: how close to an anchor a shared word in a long stretch must be
SHORT_TEXT = 8.0  # words: a gap's text side is kept when it is this short (a changed word, a name)
EDGE_TOKENS = 16  # tokens looked at for the blanks and marks a gap's two sides share at its edges


def _blocks(a: list[str], b: list[str]) -> list[tuple[int, int, int]]:
    """Runs the LCS aligns, as (template start, text start, length); slots never match anything."""
    return [(i1, j1, i2 - i1) for tag, i1, i2, j1, _ in LCSseq.opcodes(a, b).as_list() if tag == "equal"]


def _anchored_blocks(t: Tokens, m: Tokens) -> list[tuple[int, int, int]]:
    """The LCS, pinned first at the trigrams both sides have exactly once, in order (as patience diff
    pins lines): two long values share so many short runs that an unpinned LCS may pair a template's
    words with a value's and miss the constant they both have ("the formatting.\n\n")."""
    t_grams, m_grams = t.grams(), m.grams()
    pairs = sorted((t_grams[g], m_grams[g]) for g in t_grams.keys() & m_grams.keys())
    blocks: list[tuple[int, int, int]] = []
    prev_t = prev_m = 0
    t_toks, m_toks = t.tokens, m.tokens
    pins: list[tuple[int, int]] = []
    for _, run in groupby(_increasing(pairs), key=lambda pin: pin[1] - pin[0]):
        on_diagonal = list(run)
        if len(on_diagonal) > 2:  # pins on one diagonal with the same tokens between: one block
            (a0, b0), (a1, b1) = on_diagonal[0], on_diagonal[-1]
            if t_toks[a0:a1] == m_toks[b0:b1]:
                on_diagonal = [on_diagonal[0], on_diagonal[-1]]
        pins += on_diagonal
    for a, b in [*pins, (len(t_toks), len(m_toks))]:
        if a == prev_t or b == prev_m:
            found = []
        elif a - prev_t == b - prev_m and t_toks[prev_t:a] == m_toks[prev_m:b]:
            found = [(0, 0, a - prev_t)]  # the same between two pins: no LCS needed
        else:
            found = _blocks(t_toks[prev_t:a], m_toks[prev_m:b])
        for x, y, n in found:
            if blocks and blocks[-1][0] + blocks[-1][2] == prev_t + x and blocks[-1][1] + blocks[-1][2] == prev_m + y:
                last = blocks.pop()
                blocks.append((last[0], last[1], last[2] + n))
            else:
                blocks.append((prev_t + x, prev_m + y, n))
        prev_t, prev_m = a, b
    return blocks


def _increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest chain of pairs increasing in both positions (pairs come sorted by the first)."""
    seconds = [b for _, b in pairs]
    if seconds == sorted(set(seconds)):  # already in order (a text and its own template): all of them
        return pairs
    tails: list[int] = []  # tails[k]: index of the pair ending the best chain of length k + 1
    tail_values: list[int] = []
    before: list[int] = [-1] * len(pairs)
    for index, (_, b) in enumerate(pairs):
        k = bisect_left(tail_values, b)
        if k:
            before[index] = tails[k - 1]
        if k == len(tails):
            tails.append(index)
            tail_values.append(b)
        else:
            tails[k] = index
            tail_values[k] = b
    chain = []
    index = tails[-1] if tails else -1
    while index >= 0:
        chain.append(pairs[index])
        index = before[index]
    return chain[::-1]


def align(template: Template, text: str, profile: Profile, text_toks: Tokens | None = None) -> Alignment:
    """The common template of `template` and `text` (whose tokens the caller may pass)."""
    tt = template_tokens(template, profile)
    t = tt.tokens
    m = text_toks if text_toks is not None else text_tokens(text, profile)
    t_keys, m_lit = tt.keys, m.tokens
    t_len, m_len = len(t_keys), len(m_lit)
    blocks = _anchored_blocks(t, m)

    sure: list[tuple[int, int, int]] = []  # anchors that need no further evidence
    likely: list[int] = []  # indexes into blocks: long enough, if not lost in a crowd
    is_sure = [False] * len(blocks)
    markers = t.markers
    next_marker = 0  # blocks come in template order: the first marker not before this block
    for index, (a, b, n) in enumerate(blocks):
        weight = t.weight[a + n] - t.weight[a]
        while next_marker < len(markers) and markers[next_marker] < a:
            next_marker += 1
        if (
            weight >= SURE_ANCHOR
            or (a == 0 and b == 0)
            or (a + n == t_len and b + n == m_len)
            or (next_marker < len(markers) and markers[next_marker] < a + n)
            or (a, a + n) in tt.whole_constants
            or (weight >= UNIQUE_WEIGHT and n <= 24 and _unique(t_keys, a, n, t, text, tt.skeleton))
        ):
            sure.append((a, b, n))
            is_sure[index] = True
        elif weight >= profile.min_anchor:
            likely.append(index)
    anchors = sorted(sure + [blocks[i] for i in likely if _isolated(blocks, is_sure, i, t)])
    anchors = _fill_short_gaps(anchors, t_keys, m_lit, t)

    constants: list[str] = []
    current: list[str] = []
    gaps: list[Gap] = []
    anchored = edge = 0.0
    prev_t = prev_m = 0
    for t_start, m_start, length in [*anchors, (t_len, m_len, 0)]:
        if t_start > prev_t or m_start > prev_m:
            slots = t.slot_count(prev_t, t_start)
            t_blank, m_blank = t.blank(prev_t, t_start), m.blank(prev_m, m_start)
            t_content = t.content(prev_t, t_start)
            m_content = m.content(prev_m, m_start)
            m_text = "".join(m_lit[prev_m:m_start]) if m_content <= SHORT_TEXT else ""
            gaps.append(
                Gap(t_content, slots > 0, m_content, not slots and t_blank != m_blank, slots, m_text, t_keys[prev_t:t_start])
            )
            # Blanks and marks both sides have at the edges of the gap belong to the constants around
            # it (`Reason: {reason}`, whatever indentation a value starts with); not past a variable.
            t_head = "".join(t_keys[prev_t : min(t_start, prev_t + EDGE_TOKENS)])
            m_head = "".join(m_lit[prev_m : min(m_start, prev_m + EDGE_TOKENS)])
            head = _shared_marks(t_head, m_head)
            t_tail = "".join(t_keys[max(prev_t, t_start - EDGE_TOKENS) : t_start])
            m_tail = "".join(m_lit[max(prev_m, m_start - EDGE_TOKENS) : m_start])
            tail = _shared_marks(t_tail, m_tail, reverse=True)
            if tail and head:  # they must not overlap
                t_chars = sum(map(len, t_keys[prev_t:t_start]))
                m_chars = sum(map(len, m_lit[prev_m:m_start]))
                tail = max(0, min(tail, t_chars - head, m_chars - head))
            constants.append("".join(current) + m_head[:head])
            current = [m_tail[len(m_tail) - tail :]] if tail else []
        current.extend(m_lit[m_start : m_start + length])
        weight = t.content(t_start, t_start + length)
        anchored += weight
        if length and ((t_start == 0 and m_start == 0) or (t_start + length == t_len and m_start + length == m_len)):
            edge += weight
        prev_t, prev_m = t_start + length, m_start + length
    constants.append("".join(current))

    return Alignment(
        template=Template(tuple(constants)),
        anchored=anchored,
        template_content=t.content(0, t_len),
        text_content=m.content(0, m_len),
        gaps=gaps,
        edge=edge,
    )


def _unique(keys: list[str], a: int, n: int, t: Tokens, text: str, skeleton: str) -> bool:
    """A run that each side has exactly once ("(Arabic script): ", "\\n\\nQuestion: ") is where the two
    line up, even between long variables (where short shared runs are else chance)."""
    if t.content(a, a + n) >= SURE_ANCHOR:
        return False
    run = "".join(keys[a : a + n]).strip(" ")
    # A label ("sentence2:", "(Arabic script): ") or words on a line of their own: plain words each
    # side has once are chance in two long values (two snippets of code both "return self").
    if ":" not in run and ("\n" not in run or t.words[a + n] - t.words[a] < 2):
        return False
    return text.count(run) == 1 and skeleton.count(run) == 1


def _isolated(blocks: list[tuple[int, int, int]], is_sure: list[bool], index: int, t: Tokens) -> bool:
    """Fewer than CROWD words of other chance-looking shared runs within CROWD_RADIUS text tokens."""
    _, b, n = blocks[index]
    lo, hi = b - CROWD_RADIUS, b + n + CROWD_RADIUS + 1
    crowd = 0
    for step in (-1, 1):
        j = index + step
        while 0 <= j < len(blocks):
            oa, ob, on = blocks[j]
            if ob >= hi or ob + on <= lo:
                break
            if is_sure[j]:
                j += step
                continue
            start, end = max(ob, lo), min(ob + on, hi)  # the part inside the window, in text positions
            crowd += t.words[oa + end - ob] - t.words[oa + start - ob]
            if crowd >= CROWD:
                return False
            j += step
    return True


def _fill_short_gaps(
    anchors: list[tuple[int, int, int]], t_keys: list[str], m_keys: list[str], t: Tokens
) -> list[tuple[int, int, int]]:
    filled: list[tuple[int, int, int]] = []
    prev_t = prev_m = 0
    for anchor in [*anchors, (len(t_keys), len(m_keys), 0)]:
        t_start, m_start, length = anchor
        short = 0 < t_start - prev_t <= SHORT_GAP and 0 < m_start - prev_m <= SHORT_GAP
        # Next to a known variable, whose text is known to vary, a lone shared word ("if ") is chance;
        # a labelled line ("\nCategory: ") is still template text.
        near_slot = t.slot_count(prev_t, t_start) > 0
        label = _changed_label(t_keys, m_keys, prev_t, prev_m, t_start, m_start)
        if label:
            filled.append(label)
        after_t, after_m = (label[0] + label[2], label[1] + label[2]) if label else (prev_t, prev_m)
        if short:
            for bt, bm, n in _blocks(t_keys[prev_t:t_start], m_keys[prev_m:m_start]):
                if prev_t + bt < after_t or prev_m + bm < after_m:
                    continue  # (inside the label found above)
                weight = t.content(prev_t + bt, prev_t + bt + n)
                if weight >= (LABEL_WEIGHT if near_slot else 0.5) or not near_slot and _SENTENCE_END.search("".join(t_keys[prev_t + bt : prev_t + bt + n])):
                    filled.append((prev_t + bt, prev_m + bm, n))
        elif t_start > prev_t and m_start > prev_m and not near_slot:
            # A long stretch (a new variable): only right next to the anchors around it, where the
            # two sides are at the same place, is a shared word template text (`(Arabic script): `
            # after a changed word, before the sentence that varies).
            head = _blocks(t_keys[prev_t : prev_t + EDGE_WINDOW], m_keys[prev_m : prev_m + EDGE_WINDOW])
            for bt, bm, n in head:
                if abs(bt - bm) <= 2 and t.content(prev_t + bt, prev_t + bt + n) >= 1:
                    filled.append((prev_t + bt, prev_m + bm, n))
            t_lo, m_lo = max(prev_t + EDGE_WINDOW, t_start - EDGE_WINDOW), max(prev_m + EDGE_WINDOW, m_start - EDGE_WINDOW)
            for bt, bm, n in _blocks(t_keys[t_lo:t_start], m_keys[m_lo:m_start]):
                if abs((t_start - t_lo - bt) - (m_start - m_lo - bm)) <= 2 and t.content(t_lo + bt, t_lo + bt + n) >= 1:
                    filled.append((t_lo + bt, m_lo + bm, n))
        if length:
            filled.append(anchor)
        prev_t, prev_m = t_start + length, m_start + length
    return filled


LABEL_WORDS = 3  # words before a label's colon that may change (`the user talks:` / `the bot thinks:`)


def _changed_label(
    t_keys: list[str], m_keys: list[str], prev_t: int, prev_m: int, t_end: int, m_end: int
) -> tuple[int, int, int] | None:
    """A label inside a line, at the start of a gap, whose words alone changed (`in English: '{text}`
    against `in Amharic: '…`): its colon and the marks after it, as an anchor, so that the words become a slot of
    their own (near-twins' words, or a third value's) instead of vanishing into the variable after it."""
    if not prev_t or "\n" in t_keys[prev_t - 1]:
        return None  # a line that starts with a name and a colon is a value's own (`Alice: …`, `Q: …`)
    t_colon, m_colon = _label_colon(t_keys, prev_t, t_end), _label_colon(m_keys, prev_m, m_end)
    if t_colon is None or m_colon is None or t_keys[prev_t:t_colon] == m_keys[prev_m:m_colon]:
        return None
    n = 1
    while n < 3 and t_colon + n < t_end and not t_keys[t_colon + n][0].isalnum():
        if t_keys[t_colon + n].startswith("\x00"):
            break  # the variable: the label ends here
        n += 1
    if m_keys[m_colon : m_colon + n] != t_keys[t_colon : t_colon + n] or m_colon + n >= m_end:
        return None
    return (t_colon, m_colon, n)


def _label_colon(keys: list[str], start: int, end: int) -> int | None:
    """Where the colon of a label of a few words at `start` is (`Amharic:`, `bot thinks:`), else None."""
    words = 0
    for i in range(start, min(end, start + 2 * LABEL_WORDS)):
        key = keys[i]
        if key == ":":
            return i if words else None
        if key[0].isalnum():
            words += 1
        elif key != " ":
            return None
    return None


def _shared_marks(a: str, b: str, *, reverse: bool = False) -> int:
    """How many leading (or trailing) blanks and marks `a` and `b` share."""
    n = 0
    for x, y in zip(reversed(a) if reverse else a, reversed(b) if reverse else b, strict=False):
        if x != y or x.isalnum() or x == "\x00":
            break
        n += 1
    return n
