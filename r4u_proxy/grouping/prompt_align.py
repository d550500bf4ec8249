"""Align a prompt with a template over tokens (longest common subsequence) and build their common template.

Runs of tokens shared in order become constants; everything between them becomes a variable. Two documents,
diffs or JSON blobs share many short runs by chance ("of the"), so only runs that are evidence of template
text are kept ("anchors"): a long run, a run at the start or end, a whole constant of the template, a `[role]`
line, a label both sides have exactly once, or a shorter run that is not lost in a crowd of chance matches.
Between two anchors, short stretches are aligned again word by word (one changed word is one variable).

What the alignment asks about a stretch of tokens is an O(1) look-up in the prefix sums of prompt_tokens.py.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import groupby

from rapidfuzz.distance import LCSseq

from r4u_proxy.grouping.profile import Profile
from r4u_proxy.grouping.prompt_tokens import MAX_RANK, Cache, Tokens, template_tokens, text_tokens
from r4u_proxy.grouping.template import Template


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
    return LCSseq.editops(a, b).as_matching_blocks()[:-1]  # (a, b, size) each; the last is an empty end mark


def _anchored_blocks(t: Tokens, m: Tokens) -> list[tuple[int, int, int]]:
    """The LCS, pinned first at the trigrams both sides have exactly once, in order (as patience diff
    pins lines): two long values share so many short runs that an unpinned LCS may pair a template's
    words with a value's and miss the constant they both have ("the formatting.\n\n")."""
    t_grams, m_grams = t.grams(), m.grams()
    shared = list(t_grams.keys() & m_grams.keys())
    pairs = list(zip(map(t_grams.__getitem__, shared), map(m_grams.__getitem__, shared), strict=True))
    # Labels each side has as often (a few-shot prompt's `Question:` in every example and before the
    # question asked), pinned by rank: the k-th with the k-th.
    t_ranked, m_ranked = t.ranked(), m.ranked()
    if t_ranked and m_ranked:
        for gram in t_ranked.keys() & m_ranked.keys():
            if len(t_ranked[gram]) == len(m_ranked[gram]):
                pairs += zip(t_ranked[gram], m_ranked[gram], strict=True)
    pairs.sort()
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
    if seconds == sorted(seconds):  # in order but for pairs found twice (a label is also a trigram's start)
        once = list(dict.fromkeys(pairs))
        if len(once) == len(set(seconds)):
            return once
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


_ALIGNED = Cache(256)  # the latest alignments: settling meets the same pair of clusters again


def align(template: Template, text: str, profile: Profile, text_toks: Tokens | None = None) -> Alignment:
    """The common template of `template` and `text` (whose tokens the caller may pass). Callers
    only read the alignment (it may be handed out again)."""
    found = _ALIGNED.get((template, text, profile))
    if found is None:
        found = _align(template, text, profile, text_toks)
        _ALIGNED.put((template, text, profile), found)
    return found


def _align(template: Template, text: str, profile: Profile, text_toks: Tokens | None) -> Alignment:
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
            or _holds_core(tt.cores, a, a + n)
            or (weight >= UNIQUE_WEIGHT and n <= 24 and _unique(t_keys, a, b, n, t, m, text, tt.skeleton))
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


def _holds_core(cores: tuple[tuple[int, int], ...], start: int, end: int) -> bool:
    """Whether the run holds a whole middle constant of the template but for its edge blanks."""
    if not cores:
        return False
    i = bisect_left(cores, (start, -1))
    return i < len(cores) and cores[i][1] <= end


def _unique(keys: list[str], a: int, b: int, n: int, t: Tokens, m: Tokens, text: str, skeleton: str) -> bool:
    """A run that each side has exactly once ("(Arabic script): ", "\\n\\nQuestion: ") is where the two
    line up, even between long variables (where short shared runs are else chance); so is one that
    each side has as often, at the same rank (the label of a few-shot prompt's examples, and of the
    question after them: "\\nPrevious reasoning: ")."""
    if t.content(a, a + n) >= SURE_ANCHOR:
        return False
    run = "".join(keys[a : a + n]).strip(" ")
    # A label ("sentence2:", "(Arabic script): "), words on a line of their own, or a heading (a word
    # in capitals on its line, "THOUGHTS"): plain words each side has once are chance in two long
    # values (two snippets of code both "return self").
    if ":" not in run and ("\n" not in run or t.words[a + n] - t.words[a] < 2 and not _heading(run)):
        return False
    found = text.count(run)
    if found != skeleton.count(run) or not found or found > MAX_RANK:
        return False
    if found == 1:
        return True
    t_text, t_at = t.offsets()
    m_text, m_at = m.offsets()
    start = len(keys[a]) - len(keys[a].lstrip(" "))  # (the run, stripped, starts inside its first token)
    return t_text.count(run, 0, t_at[a] + start) == m_text.count(run, 0, m_at[b] + start)


def _heading(run: str) -> bool:
    words = run.split()
    return len(words) == 1 and len(words[0]) > 2 and words[0].isupper() and words[0].isalpha()


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
