"""When an alignment of a prompt with a cluster's template rules out one template.

`plausible` reads the gaps of an alignment (see `prompt_align`) and says whether the text and the cluster
could be calls of one template. Which of their differences are values and which a near-twin's own words is
decided afterwards, from the texts themselves (`settle`). Ruled out here: a different request shape, a
passage only one of them has, too little in common (or only by chance: a few words in the middle,
"You are a" in front of two long instructions), and, against a template that has seen variety already,
a difference its constants rule out (a sentence it would lose, a constant replaced by a passage).
"""

from __future__ import annotations

import re

from r4u_proxy.grouping.profile import Profile
from r4u_proxy.grouping.prompt_align import SURE_ANCHOR, Alignment
from r4u_proxy.grouping.template import Template

SHORT = 4.0  # words: a difference this short is a value or a near-twin's word; which one, a third text tells
THIN = 6.0  # words: two texts sharing less than this may share a template by chance
THIN_SHARE = 0.2  # ... and then it must be at least this share of the shorter one
MIDDLE_SHARE = 0.5  # share of the shorter text two texts sharing only their middle must have in common
ABSORB_MAX = 6.0  # words of constant text a variable may take over (chance text two values shared)
NEW_WORDS = 2.0  # words: a constant of a template with variables that may still turn out to vary
ESTABLISHED = 3  # texts: a template's constants have been seen this often, so they are not chance
# Near-twins differ in a few places (a language, a label, a tone): an established template and a text
# that differ in more places than this are two templates.
TWIN_PLACES = 3

_WORD = re.compile(r"\w")
_APART = re.compile(r"[.!?]\s+[A-Z]|\n[ \t]*\n")  # a new sentence, a blank line
_MARKER = re.compile(r"(?:^|\n)\[(?:system|user|developer)\]\n")


def markers(template: Template) -> int:
    """How many `[role]` lines the template's constants hold (a regex only where one could be)."""
    return sum(len(_MARKER.findall(c)) for c in template.constants if "]\n" in c)


def thin(profile: Profile, alignment: Alignment) -> bool:
    """Too little shared, or shared in the middle only: a template only a third text can confirm."""
    return alignment.anchored < THIN or alignment.edge < profile.min_anchor


def within_reach(profile: Profile, template: Template, template_content: float, text_content: float) -> bool:
    """Whether an alignment of a text with `template` could be `plausible` at all, by the constant text
    each has (in words): no alignment keeps more than the smaller of the two. False saves aligning."""
    most = min(template_content, text_content)
    if most < profile.min_anchor:
        return False
    return not template.variable_count or most >= profile.min_kept * template_content


def plausible(profile: Profile, template: Template, count: int, alignment: Alignment) -> bool:
    """Could the text be a call of `template` (seen `count` times)? See the module doc."""
    if alignment.anchored < profile.min_anchor:
        return False
    if markers(alignment.template) != markers(template):
        return False  # a variable never spans a `[role]` line: the roles are the request's shape
    if template.variable_count and any(gap.one_sided for gap in alignment.gaps):
        # Text on one side only, where the template has no variable: a passage added or dropped,
        # which is another template (a label that only one of them has), never a value. (Between
        # two texts, `settle` keeps such a passage apart: chance words inside values leave blanks.)
        return False
    if template.variable_count == 0:
        return _texts(profile, alignment)
    return _template(profile, alignment, count >= ESTABLISHED)


def _texts(profile: Profile, alignment: Alignment) -> bool:
    """Two texts seen once each."""
    min_anchor = profile.min_anchor
    shorter = min(alignment.text_content, alignment.template_content)
    if labelled(alignment.template):
        return True  # `wic sentence1: {s1} sentence2: {s2} word: {w}`: labels in order, a third text confirms
    if alignment.anchored < SURE_ANCHOR and alignment.edge < min_anchor:
        return False  # a few words in common, in the middle only: chance
    if not alignment.edge and alignment.anchored < MIDDLE_SHARE * shorter:
        # Shared in the middle only: a few words, or a passage two values both quote (a README's
        # table, a paragraph of documentation), unless it is most of both texts.
        return False
    if alignment.anchored < THIN and alignment.anchored < THIN_SHARE * shorter and not _both_ends(profile, alignment):
        # "You are a" in front of two long, different instructions (but `Spørsmål: {q}\n\nSvar:`
        # holds its few words at both ends: a third text confirms)
        return False
    return len(alignment.gaps) * min_anchor <= alignment.anchored  # else shared text scattered in bits


def _both_ends(profile: Profile, alignment: Alignment) -> bool:
    constants = alignment.template.constants
    if len(constants) < 2:
        return False
    weight = profile.weight
    return all(sum(weight(t) for t in profile.tokenize(c)) >= 1 for c in (constants[0], constants[-1]))


def labelled(template: Template) -> bool:
    """Two or more variables, each right after a label of its own ("sentence1: ", "sentence2: ")."""
    if template.variable_count < 2:
        return False
    words = set()
    for const in template.constants[:-1]:
        found = _LABELLED.search(const)
        if found is None or found.group(1) in words:
            return False
        words.add(found.group(1))
    return True


_LABELLED = re.compile(r"(\w+):[ \t]*\n?$")


def _template(profile: Profile, alignment: Alignment, established: bool) -> bool:
    """A text and a template that has seen variety already."""
    if alignment.kept < profile.min_kept:
        return False
    places = set()
    for gap in alignment.gaps:
        if gap.slots:
            # Constant text a variable would take over: words two values shared by chance (the
            # "CREATE TABLE" two schemas began with); never a sentence or a paragraph of its own
            # ("{language}. Keep the formatting" is another prompt version than "{language}. Use a
            # formal register"). Blanks alone are no paragraph: values begin and end with any.
            absorbed = gap.absorbed
            if gap.template_content >= 1 and (_WORD.search(absorbed) and _APART.search(absorbed) or gap.template_content > ABSORB_MAX):
                return False
        elif established and (gap.template_content > NEW_WORDS or gap.text_content > SHORT):
            return False  # a constant the template's texts agree on, replaced by a passage
        else:
            places.add((gap.absorbed.strip() if gap.template_content >= 1 else "", gap.text.strip()))
    return not established or len(places) <= TWIN_PLACES
