"""Align a text with a template over tokens (longest common subsequence) and build their common template.

Runs of tokens shared in order become constants; everything between them becomes a variable. With
prompts, short shared runs inside long variables ("of the") are noise, so only runs the profile
accepts as anchors are kept; the rest of each gap is variable text.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import LCSseq

from r4u_proxy.grouping.profile import WILDCARD, Profile
from r4u_proxy.grouping.template import Template


@dataclass
class Gap:
    """A stretch where template and text disagree: it becomes (or stays) a variable."""

    template_content: float  # evidence (words) of template constants inside the gap
    template_has_variable: bool
    text_content: float  # evidence (words) of the text inside the gap


@dataclass
class Alignment:
    template: Template
    anchored: float  # evidence (words) kept as constants
    template_content: float  # evidence in the old template's constants
    text_content: float
    gaps: list[Gap] = field(default_factory=list)
    spans: bool = False  # log lines: built across token counts, so variables may span words

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


class _Counts:
    """Content tokens in any stretch of a token list, in O(1) after one pass."""

    def __init__(self, tokens: list[str], profile: Profile) -> None:
        self.prefix = [0.0]
        self.markers: set[int] = set()
        total = 0.0
        for index, token in enumerate(tokens):
            if token != WILDCARD and not token.startswith("\x00"):
                total += profile.weight(token)
                if profile.is_marker(token):
                    self.markers.add(index)
            self.prefix.append(total)

    def has_marker(self, start: int, end: int) -> bool:
        return any(start <= i < end for i in self.markers)

    def __call__(self, start: int, end: int) -> float:
        return self.prefix[end] - self.prefix[start]


def _equal_blocks(t_keys: list[str], m_keys: list[str]) -> list[tuple[int, int, int]]:
    """Runs the LCS aligns, as (template start, text start, length); slots never match anything."""
    return [
        (op.src_start, op.dest_start, op.src_end - op.src_start)
        for op in LCSseq.opcodes(t_keys, m_keys)
        if op.tag == "equal"
    ]


def align(
    template: Template, text: str, profile: Profile, tokens: list[str] | None = None, *, positional: bool = True
) -> Alignment | None:
    """The common template of `template` and `text` (whose tokens the caller may pass), or None when
    the profile forbids their shapes."""
    t_keys, t_lit, t_ranges = _template_tokens(template, profile)
    m_lit = tokens if tokens is not None else profile.tokenize(text)
    if profile.one_token_variables and positional:
        return _align_positional(t_lit, m_lit, profile) if len(t_keys) == len(m_lit) else None
    if profile.one_token_variables:
        return _align_spanning(t_keys, t_lit, m_lit, profile)
    t_count, m_count = _Counts(t_lit, profile), _Counts(m_lit, profile)

    whole_constants = {r for r in t_ranges[1:-1] if r[1] > r[0]}
    sure: list[tuple[int, int, int]] = []  # anchors that need no further evidence
    likely: list[tuple[int, int, int]] = []  # long enough, if not lost in a crowd
    shared: list[int] = []  # text positions of the words shared outside sure anchors
    for b in _equal_blocks(t_keys, m_lit):
        weight = t_count(b[0], b[0] + b[2])
        if (
            weight >= SURE_ANCHOR
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
    anchored = 0
    prev_t = prev_m = 0
    for t_start, m_start, length in [*anchors, (len(t_keys), len(m_lit), 0)]:
        if t_start > prev_t or m_start > prev_m:
            has_slot = any(k.startswith("\x00") for k in t_keys[prev_t:t_start])
            gaps.append(Gap(t_count(prev_t, t_start), has_slot, m_count(prev_m, m_start)))
            constants.append("".join(current))
            current = []
        current.extend(m_lit[m_start : m_start + length])
        anchored += t_count(t_start, t_start + length)
        prev_t, prev_m = t_start + length, m_start + length
    constants.append("".join(current))

    return Alignment(
        template=Template(tuple(constants)),
        anchored=anchored,
        template_content=t_count(0, len(t_keys)),
        text_content=m_count(0, len(m_lit)),
        gaps=gaps,
    )


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
                if weight >= (LABEL_WEIGHT if near_slot else 0.5):
                    filled.append((prev_t + bt, prev_m + bm, n))
        if length:
            filled.append(anchor)
        prev_t, prev_m = t_start + length, m_start + length
    return filled


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
