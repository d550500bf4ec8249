"""Align a log line with a template and build their common template; a text's first template.

Log lines of equal token counts are compared token by token; of other counts, every shared constant word
is an anchor. Prompts are aligned by `prompt_align` (anchors, gaps, evidence in words).
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz.distance import LCSseq

from r4u_proxy.grouping import prompt_align
from r4u_proxy.grouping.profile import WILDCARD, Profile
from r4u_proxy.grouping.prompt_align import Alignment, Gap
from r4u_proxy.grouping.template import Template

__all__ = ["Alignment", "Gap", "align", "initial_template", "joined"]


@lru_cache(maxsize=8192)
def _template_tokens(template: Template, profile: Profile) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """Keys, literals and each constant's token range; each slot is one token under a key nothing else has."""
    keys: list[str] = []
    literals: list[str] = []
    ranges: list[tuple[int, int]] = []
    for index, const in enumerate(template.constants):
        if index:
            keys.append(WILDCARD)
            literals.append(WILDCARD)
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


def _equal_blocks(t_keys: list[str], m_keys: list[str]) -> list[tuple[int, int, int]]:
    """Runs the LCS aligns, as (template start, text start, length); slots never match anything."""
    return [(i1, j1, i2 - i1) for tag, i1, i2, j1, _ in LCSseq.opcodes(t_keys, m_keys).as_list() if tag == "equal"]


def align(
    template: Template,
    text: str,
    profile: Profile,
    tokens: list[str] | None = None,
    *,
    positional: bool = True,
) -> Alignment | None:
    """The common template of `template` and `text` (whose tokens the caller may pass), or None when
    the profile forbids their shapes. Prompts are aligned by `prompt_align.align`."""
    if not profile.one_token_variables:
        return prompt_align.align(template, text, profile)
    t_keys, t_lit, _ = _template_tokens(template, profile)
    m_lit = tokens if tokens is not None else profile.tokenize(text)
    if positional:
        return _align_positional(t_lit, m_lit, profile) if len(t_keys) == len(m_lit) else None
    return _align_spanning(t_keys, t_lit, m_lit, profile)


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
