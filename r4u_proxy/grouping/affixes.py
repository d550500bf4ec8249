"""Two templates behind one variable, told by how the variable's values begin or end.

Two near-twins often differ right next to a variable: one has a few words of its own after it
(`{table} (doc_id, text, metadata)` against `{table} (doc_id, embedding_id, embedding)`), or before it
(`print(df.head())` for each dataframe:\n{df}` against `print(df.head())`:\n{df}`). When the first calls
of the two met, nothing told those words from the value, and their common template swallowed them into
the variable; every later call of either then fits that template by glob. Once the cluster has texts
enough, the values of the variable tell: they fall into groups by the text they begin (or end) with, and
each group's shared text is constant text of a template of its own.

Evidence that counts (`split_by_affix`), each group holding at least MIN_GROUP values:
- *two kinds*: every value begins (or ends) with one of two texts, at least one of which holds a couple of
  words (a single word, `Yes, …` / `No, …`, is an answer's, not a template's);
- *a passage only some have*: some values begin (or end) with the same passage, long enough to be template
  text wherever it is (`prompt_align.SURE_ANCHOR`), that the others lack.
Not evidence: words that come again inside the values (`CREATE TABLE` in front of every table of a
schema, in either case), and a label only some values have (`Q: ` in front of some questions, as FAQ
pages write them, is as common as a near-twin's `Tekst: `).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from r4u_proxy.grouping.profile import Profile
from r4u_proxy.grouping.prompt_align import SURE_ANCHOR
from r4u_proxy.grouping.template import Template

MIN_GROUP = 3  # values: two calls may share a value's first words by chance; three that differ after them do not
TWO_KINDS = 2.0  # words: what one of two kinds of values must begin (or end) with, at least
EDGE_CHARS = 240  # characters of a value looked at from each end (an affix is a label or a line, not a page)

_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class AffixSplit:
    suffix: bool  # the values differ at their end (else at their start)
    affixes: list[str]  # per value: the constant text its template has next to the variable ("": none)
    whole: frozenset[str]  # affixes that are whole values (a group whose values are all the same)


def split_by_affix(values: list[str], profile: Profile, elsewhere: list[str]) -> AffixSplit | None:
    """The values' groups by their shared start (else end), when the evidence above holds; else None.
    `elsewhere`: the same texts' values of the template's other variables."""
    for suffix in (False, True):
        found = _split(values, profile, suffix, elsewhere)
        if found is not None:
            return found
    return None


def _split(values: list[str], profile: Profile, suffix: bool, elsewhere: list[str]) -> AffixSplit | None:
    edges = [_edge_tokens(v, profile, suffix) for v in values]
    by_first: dict[str, list[int]] = {}
    for index, tokens in enumerate(edges):
        if tokens:
            by_first.setdefault(tokens[0], []).append(index)
    groups: list[tuple[str, float, list[int]]] = []
    for members in by_first.values():
        if len(members) < MIN_GROUP:
            continue
        common = _common_start([edges[m] for m in members])
        weight = sum(map(profile.weight, common))
        if weight > 0:
            groups.append(("".join(reversed(common) if suffix else common), weight, members))
    n = len(values)
    chosen: list[tuple[str, float, list[int]]] = []
    if len(groups) == 2 and sum(len(g[2]) for g in groups) == n and max(g[1] for g in groups) >= TWO_KINDS:
        chosen = groups
    else:
        passages = [g for g in groups if g[1] >= SURE_ANCHOR and n - len(g[2]) >= MIN_GROUP]
        if len(passages) == 1:
            chosen = passages
    affixes = [""] * n
    whole: set[str] = set()
    for affix, _, members in chosen:
        for m in members:
            affixes[m] = affix
        if all(values[m] == affix for m in members):
            whole.add(affix)
    if not chosen or any(_recurs(affix, values, affixes, suffix, elsewhere) for affix, _, _ in chosen):
        return None
    return AffixSplit(suffix, affixes, frozenset(whole))


def _recurs(needle: str, values: list[str], affixes: list[str], suffix: bool, elsewhere: list[str]) -> bool:
    """Whether an affix's words come again in the values beyond their own affixes, in any case
    (`CREATE TABLE` in front of a schema's second table): then they are the values' own text."""
    needle = needle.strip().casefold()
    if not _WORD.search(needle):
        return False
    for value, affix in zip(values, affixes, strict=True):
        rest = value[: len(value) - len(affix)] if suffix else value[len(affix) :]
        if needle in rest.casefold():
            return True
    return any(needle in value.casefold() for value in elsewhere)


def _edge_tokens(value: str, profile: Profile, suffix: bool) -> list[str]:
    """The value's first (or last, reversed) tokens; a token the cut at EDGE_CHARS broke is left out."""
    if len(value) <= EDGE_CHARS:
        tokens = profile.tokenize(value)
    elif suffix:
        tokens = profile.tokenize(value[-EDGE_CHARS:])[1:]
    else:
        tokens = profile.tokenize(value[:EDGE_CHARS])[:-1]
    return tokens[::-1] if suffix else tokens


def _common_start(token_lists: list[list[str]]) -> list[str]:
    first = token_lists[0]
    n = len(first)
    for tokens in token_lists[1:]:
        n = min(n, len(tokens))
        for i in range(n):
            if tokens[i] != first[i]:
                n = i
                break
    return first[:n]


def with_affix(template: Template, slot: int, affix: str, *, suffix: bool, whole: bool) -> Template:
    """The template with `affix` made constant text at the start (or end) of variable `slot`; a whole
    value fills the slot (it is no variable in that template)."""
    constants = list(template.constants)
    if whole:
        constants[slot : slot + 2] = [constants[slot] + affix + constants[slot + 1]]
    elif suffix:
        constants[slot + 1] = affix + constants[slot + 1]
    else:
        constants[slot] += affix
    return Template(tuple(constants))
