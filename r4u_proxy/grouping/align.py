"""Align a text with a template over tokens (longest common subsequence) and build their common template.

Runs of tokens shared in order become constants; everything between them becomes a variable. With
prompts, short shared runs inside long variables ("of the") are noise, so only runs the profile
accepts as anchors are kept; the rest of each gap is variable text.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate

from rapidfuzz.distance import LCSseq

from r4u_proxy.grouping.profile import WILDCARD, Profile
from r4u_proxy.grouping.template import Template


@dataclass
class Gap:
    """A stretch where template and text disagree: it becomes (or stays) a variable."""

    template_content: float  # evidence (words) of template constants inside the gap
    template_has_variable: bool
    text_content: float  # evidence (words) of the text inside the gap
    one_sided: bool = False  # only one side has anything but blanks there: a passage added or dropped
    slots: int = 0  # the template's variables inside the gap
    absorbed: str = ""  # the template's constant text inside the gap (it turns into variable text)


@dataclass
class Alignment:
    template: Template
    anchored: float  # evidence (words) kept as constants
    template_content: float  # evidence in the old template's constants
    text_content: float
    gaps: list[Gap] = field(default_factory=list)
    spans: bool = False
    edge: float = 0.0  # evidence in the shared start and end (where a short template has its words)  # log lines: built across token counts, so variables may span words

    @property
    def kept(self) -> float:
        return self.anchored / self.template_content if self.template_content else 0.0

    @property
    def new_gaps(self) -> list[Gap]:
        """Gaps where the old template had only constant text: a constant that turned out to vary."""
        return [g for g in self.gaps if not g.template_has_variable]


@lru_cache(maxsize=8192)
def _template_tokens(template: Template, profile: Profile) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """Keys, literals and each constant's token range; each slot is one token under a key nothing else has."""
    keys: list[str] = []
    literals: list[str] = []
    ranges: list[tuple[int, int]] = []
    for index, const in enumerate(template.constants):
        if index:
            slot = WILDCARD if profile.one_token_variables else f"\x00slot{index}"
            keys.append(slot)
            literals.append(slot)
        start = len(keys)
        for token in profile.tokenize(const):
            keys.append(token)
            literals.append(token)
        ranges.append((start, len(keys)))
    return keys, literals, ranges


def initial_template(text: str, profile: Profile) -> Template:
    """The template of a text seen once: all constant, except tokens the profile calls variables on sight."""
    if not profile.digits_are_variables:
        return Template.literal(text)
    constants: list[str] = []
    current: list[str] = []
    for token in profile.tokenize(text):
        if profile.is_variable_on_sight(token):
            constants.append("".join(current))
            current = []
        else:
            current.append(token)
    constants.append("".join(current))
    if not any(profile.is_content(t) for c in constants for t in profile.tokenize(c)):
        return Template.literal(text)  # a template of variables alone would swallow every line
    return joined(constants)


def joined(constants: list[str]) -> Template:
    """Two variables with no text between them are one variable (`{a}{b}` could not be told apart)."""
    if len(constants) > 2:
        constants = [constants[0], *(c for c in constants[1:-1] if c), constants[-1]]
    return Template(tuple(constants))


def _content(tokens: list[str], profile: Profile) -> int:
    return sum(1 for t in tokens if profile.is_content(t) and not t.startswith("\x00") and t != WILDCARD)


class _Counts:
    """Content tokens in any stretch of a token list, in O(1) after one pass."""

    def __init__(self, tokens: list[str], profile: Profile) -> None:
        weight = profile.weight
        weights = [0.0 if t == WILDCARD or t.startswith("\x00") else weight(t) for t in tokens]
        self.prefix = [0.0, *accumulate(weights)]
        self.markers = [i for i, t in enumerate(tokens) if t.endswith("]\n") and profile.is_marker(t)]

    def has_marker(self, start: int, end: int) -> bool:
        i = bisect_left(self.markers, start)
        return i < len(self.markers) and self.markers[i] < end

    def __call__(self, start: int, end: int) -> float:
        return self.prefix[end] - self.prefix[start]


@lru_cache(maxsize=8192)
def _template_counts(template: Template, profile: Profile) -> _Counts:
    return _Counts(_template_tokens(template, profile)[1], profile)


def _equal_blocks(t_keys: list[str], m_keys: list[str]) -> list[tuple[int, int, int]]:
    """Runs the LCS aligns, as (template start, text start, length); slots never match anything."""
    return [
        (op.src_start, op.dest_start, op.src_end - op.src_start)
        for op in LCSseq.opcodes(t_keys, m_keys)
        if op.tag == "equal"
    ]


def align(
    template: Template,
    text: str,
    profile: Profile,
    tokens: list[str] | None = None,
    *,
    positional: bool = True,
    counts: _Counts | None = None,
) -> Alignment | None:
    """The common template of `template` and `text` (whose tokens the caller may pass), or None when
    the profile forbids their shapes."""
    t_keys, t_lit, t_ranges = _template_tokens(template, profile)
    m_lit = tokens if tokens is not None else profile.tokenize(text)
    if profile.one_token_variables and positional:
        return _align_positional(t_lit, m_lit, profile) if len(t_keys) == len(m_lit) else None
    if profile.one_token_variables:
        return _align_spanning(t_keys, t_lit, m_lit, profile)
    t_count = _template_counts(template, profile)
    m_count = counts if counts is not None else _Counts(m_lit, profile)

    whole_constants = {r for r in t_ranges[1:-1] if r[1] > r[0]}
    sure: list[tuple[int, int, int]] = []  # anchors that need no further evidence
    likely: list[tuple[int, int, int]] = []  # long enough, if not lost in a crowd
    shared: list[int] = []  # text positions of the words shared outside sure anchors
    skeleton = None
    for b in _equal_blocks(t_keys, m_lit):
        weight = t_count(b[0], b[0] + b[2])
        unique = False
        if UNIQUE_WEIGHT <= weight < SURE_ANCHOR and b[2] <= 24:
            # A run that each side has exactly once ("(Arabic script): ", "\n\nQuestion: ") is where
            # the two line up, even between long variables (where short shared runs are else chance).
            run = "".join(t_lit[b[0] : b[0] + b[2]]).strip(" ")
            words = sum(1 for t in t_lit[b[0] : b[0] + b[2]] if t[:1].isalnum())
            if words >= 2 or _LABEL.search(run):
                skeleton = skeleton if skeleton is not None else template.skeleton()
                unique = text.count(run) == 1 and skeleton.count(run) == 1
        if (
            unique
            or weight >= SURE_ANCHOR
            or (b[0] == 0 and b[1] == 0)
            or (b[0] + b[2] == len(t_keys) and b[1] + b[2] == len(m_lit))
            or (b[0], b[0] + b[2]) in whole_constants
            or t_count.has_marker(b[0], b[0] + b[2])
        ):
            sure.append(b)
            continue
        if weight >= profile.min_anchor:
            likely.append(b)
        shared.extend(b[1] + k for k in range(b[2]) if t_count(b[0] + k, b[0] + k + 1) >= 1)
    anchors = sorted(sure + _isolated(likely, shared))
    anchors = _fill_short_gaps(anchors, t_keys, m_lit, t_count)

    constants: list[str] = []
    current: list[str] = []
    gaps: list[Gap] = []
    anchored = edge = 0.0
    prev_t = prev_m = 0
    for t_start, m_start, length in [*anchors, (len(t_keys), len(m_lit), 0)]:
        if t_start > prev_t or m_start > prev_m:
            has_slot = any(k.startswith("\x00") for k in t_keys[prev_t:t_start])
            t_gap, m_gap = "".join(t_keys[prev_t:t_start]), "".join(m_lit[prev_m:m_start])
            one_sided = not has_slot and (not t_gap.strip()) != (not m_gap.strip())
            slots = sum(1 for k in t_keys[prev_t:t_start] if k.startswith("\x00"))
            absorbed = "".join(k for k in t_keys[prev_t:t_start] if not k.startswith("\x00"))
            gaps.append(Gap(t_count(prev_t, t_start), has_slot, m_count(prev_m, m_start), one_sided, slots, absorbed))
            # Blanks and marks both sides have at the edges of the gap belong to the constants around
            # it (`Reason: {reason}`, whatever indentation a value starts with); not past a variable.
            head = _shared_marks(t_gap, m_gap)
            tail = _shared_marks(t_gap[head:], m_gap[head:], reverse=True)
            constants.append("".join(current) + m_gap[:head])
            current = [m_gap[len(m_gap) - tail :]] if tail else []
        current.extend(m_lit[m_start : m_start + length])
        weight = t_count(t_start, t_start + length)
        anchored += weight
        if length and ((t_start == 0 and m_start == 0) or (t_start + length == len(t_keys) and m_start + length == len(m_lit))):
            edge += weight
        prev_t, prev_m = t_start + length, m_start + length
    constants.append("".join(current))

    return Alignment(
        template=Template(tuple(constants)),
        anchored=anchored,
        template_content=t_count(0, len(t_keys)),
        text_content=m_count(0, len(m_lit)),
        gaps=gaps,
        edge=edge,
    )


UNIQUE_WEIGHT = 2.0  # two words, or a label: a word on a line of its own with a colon ("\nQ:")
_LABEL = re.compile(r"\n[ \t]*[A-Za-z][\w ]{0,30}:")

# A shared run this heavy is template text wherever it is. Shorter runs count only when isolated: two
# documents, diffs or JSON blobs share many short runs by chance, and those come in crowds.
SURE_ANCHOR = 8.0
CROWD_RADIUS = 12  # text tokens
CROWD = 4


def _isolated(likely: list[tuple[int, int, int]], shared: list[int]) -> list[tuple[int, int, int]]:
    """The likely anchors with fewer than CROWD other shared words within CROWD_RADIUS text tokens."""
    kept = []
    for t, m, n in likely:
        lo, hi = bisect_left(shared, m - CROWD_RADIUS), bisect_right(shared, m + n + CROWD_RADIUS)
        inside = bisect_right(shared, m + n - 1) - bisect_left(shared, m)
        if hi - lo - inside < CROWD:
            kept.append((t, m, n))
    return kept


# Between two anchors, stretches this short on both sides are aligned again, word by word: there
# a single shared word ("Category:" between two short values) is template text, not chance.
SHORT_GAP = 60
LABEL_WEIGHT = 2.0  # a word with two marks around it: "\nCategory: "
_SENTENCE_END = re.compile(r"[.!?;,]\s")
EDGE_WINDOW = 12  # tokens: how close to an anchor a shared word in a long stretch must be


def _fill_short_gaps(
    anchors: list[tuple[int, int, int]], t_keys: list[str], m_keys: list[str], t_count: _Counts
) -> list[tuple[int, int, int]]:
    filled: list[tuple[int, int, int]] = []
    prev_t = prev_m = 0
    for anchor in [*anchors, (len(t_keys), len(m_keys), 0)]:
        t_start, m_start, length = anchor
        short = 0 < t_start - prev_t <= SHORT_GAP and 0 < m_start - prev_m <= SHORT_GAP
        # Next to a known variable, whose text is known to vary, a lone shared word ("if ") is chance;
        # a labelled line ("\nCategory: ") is still template text.
        near_slot = any(k.startswith("\x00") for k in t_keys[prev_t:t_start])
        if short:
            for bt, bm, n in _equal_blocks(t_keys[prev_t:t_start], m_keys[prev_m:m_start]):
                weight = t_count(prev_t + bt, prev_t + bt + n)
                # A sentence end between two short differences parts them ("French. Keep" from
                # "German. Use a formal register and keep": a language, and a prompt version).
                stop = not near_slot and _SENTENCE_END.search("".join(t_keys[prev_t + bt : prev_t + bt + n]))
                if weight >= (LABEL_WEIGHT if near_slot else 0.5) or stop:
                    filled.append((prev_t + bt, prev_m + bm, n))
        elif t_start > prev_t and m_start > prev_m and not near_slot:
            # A long stretch (a new variable): only right next to the anchors around it, where the
            # two sides are at the same place, is a shared word template text (`(Arabic script): `
            # after a changed word, before the sentence that varies).
            head = _equal_blocks(t_keys[prev_t : prev_t + EDGE_WINDOW], m_keys[prev_m : prev_m + EDGE_WINDOW])
            for bt, bm, n in head:
                if abs(bt - bm) <= 2 and t_count(prev_t + bt, prev_t + bt + n) >= 1:
                    filled.append((prev_t + bt, prev_m + bm, n))
            t_lo, m_lo = max(prev_t + EDGE_WINDOW, t_start - EDGE_WINDOW), max(prev_m + EDGE_WINDOW, m_start - EDGE_WINDOW)
            for bt, bm, n in _equal_blocks(t_keys[t_lo:t_start], m_keys[m_lo:m_start]):
                if abs((t_start - t_lo - bt) - (m_start - m_lo - bm)) <= 2 and t_count(t_lo + bt, t_lo + bt + n) >= 1:
                    filled.append((t_lo + bt, m_lo + bm, n))
        if length:
            filled.append(anchor)
        prev_t, prev_m = t_start + length, m_start + length
    return filled


def _shared_marks(a: str, b: str, *, reverse: bool = False) -> int:
    """How many leading (or trailing) blanks and marks `a` and `b` share."""
    n = 0
    for x, y in zip(reversed(a) if reverse else a, reversed(b) if reverse else b, strict=False):
        if x != y or x.isalnum() or x == "\x00":
            break
        n += 1
    return n


# Log lines: a token that is a value on sight (it holds a digit) weighs double in the text's size, so
# that a line made mostly of values needs more shared words to join a template (measured on Loghub).
VALUE_WEIGHT = 2.0


def _align_positional(t_lit: list[str], m_lit: list[str], profile: Profile) -> Alignment:
    """Log lines of equal token counts: compare token by token; each differing token is a variable.

    `anchored` counts the constant words both sides share; the sizes count constant words, and the
    text's values on sight at VALUE_WEIGHT each.
    """
    constants: list[str] = []
    current: list[str] = []
    agreeing = 0
    new_variables = 0
    for t_tok, m_tok in zip(t_lit, m_lit, strict=True):
        m_wild = profile.is_variable_on_sight(m_tok)
        if t_tok == m_tok and not m_wild:
            current.append(m_tok)
            agreeing += profile.is_content(m_tok)
            continue
        constants.append("".join(current))
        current = []
        if t_tok != WILDCARD:
            new_variables += 1
    constants.append("".join(current))
    template = joined(constants)
    m_content = sum(1 for t in m_lit if profile.is_content(t) and not profile.is_variable_on_sight(t))
    t_content = sum(1 for t in t_lit if profile.is_content(t) and t != WILDCARD)
    wild = sum(1 for t in m_lit if profile.is_variable_on_sight(t))
    gaps = [Gap(1, False, 1)] * new_variables
    return Alignment(template, agreeing, t_content, m_content + VALUE_WEIGHT * wild, gaps)


def _align_spanning(t_keys: list[str], t_lit: list[str], m_lit: list[str], profile: Profile) -> Alignment:
    """Log lines of different token counts: every shared constant word is an anchor; the rest, of any
    length, becomes variables. `spans` marks the result as a template whose variables span words."""
    m_keys = [profile.key(t) for t in m_lit]
    constants: list[str] = []
    current: list[str] = []
    anchored = 0.0
    prev_t = prev_m = 0
    for t_start, m_start, length in [*_equal_blocks(t_keys, m_keys), (len(t_keys), len(m_keys), 0)]:
        for k in range(length + 1):
            at_end = k == length
            if not at_end and t_keys[t_start + k] != WILDCARD:
                if t_start + k > prev_t or m_start + k > prev_m:
                    constants.append("".join(current))
                    current = []
                current.append(m_lit[m_start + k])
                anchored += profile.weight(m_lit[m_start + k])
                prev_t, prev_m = t_start + k + 1, m_start + k + 1
            elif at_end and length == 0 and (t_start > prev_t or m_start > prev_m):
                constants.append("".join(current))
                current = []
                prev_t, prev_m = t_start, m_start
    constants.append("".join(current))
    template = joined(constants)
    t_content = sum(profile.weight(t) for t in t_lit if t != WILDCARD)
    m_content = sum(profile.weight(t) for t in m_lit if not profile.is_variable_on_sight(t))
    alignment = Alignment(template, anchored, t_content, m_content, [])
    alignment.spans = True
    return alignment
