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

import os
import re
from collections import Counter
from dataclasses import dataclass

from r4u_proxy.grouping.profile import Profile
from r4u_proxy.grouping.prompt_align import SURE_ANCHOR
from r4u_proxy.grouping.template import Template

MIN_GROUP = 3  # values: two calls may share a value's first words by chance; three that differ after them do not
TWO_KINDS = 2.0  # words: what one of two kinds of values must begin (or end) with, at least
PASSAGE_CHARS = 10  # characters a passage of SURE_ANCHOR weight takes at least (a word or two marks each, and more)
TIGHT_CHARS = 1000  # characters of a value's two ends looked at for text every value shares
EDGE_CHARS = 240  # characters of a value looked at from each end (an affix is a label or a line, not a page)

_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class AffixSplit:
    suffix: bool  # the values differ at their end (else at their start)
    affixes: list[str]  # per value: the constant text its template has next to the variable ("": none)
    whole: frozenset[str]  # affixes that are whole values (a group whose values are all the same)


class Edges:
    """One variable's values seen from their start (or end): grouped by their first (or last) token; the
    edge tokens of a value are computed only when it is in a group of MIN_GROUP or more (most are not)."""

    def __init__(self, values: list[str], profile: Profile, suffix: bool) -> None:
        self.values, self.profile, self.suffix = values, profile, suffix
        by_first: dict[str, list[int]] = {}
        chars = [v[-1:] if suffix else v[:1] for v in values]  # (values sharing a token share its character)
        counts = Counter(chars)
        for index, value in enumerate(values):
            if counts[chars[index]] >= MIN_GROUP and (first := _first_token(value, profile, suffix)):
                by_first.setdefault(first, []).append(index)
        self.big = [members for members in by_first.values() if len(members) >= MIN_GROUP]
        self.covered = sum(map(len, self.big))
        self._tokens: dict[int, list[str]] = {}
        self._groups: list[tuple[str, float, list[int]]] | None = None

    def tokens(self, index: int) -> list[str]:
        found = self._tokens.get(index)
        if found is None:
            found = self._tokens[index] = _edge_tokens(self.values[index], self.profile, self.suffix)
        return found

    def _common_tokens(self, members: list[int]) -> list[str]:
        """The whole tokens the members' values all begin (or end) with, in edge order: the characters
        they share, tokenized once, without a last token that goes on in some value (`Reas` of
        `Reason` and `Reasoning`)."""
        if self.suffix:
            edges = [self.values[m][: -EDGE_CHARS - 1 : -1] for m in members]
        else:
            edges = [self.values[m][:EDGE_CHARS] for m in members]
        common = os.path.commonprefix(edges)
        if not common:
            return []
        tokens = self.profile.tokenize(common[::-1] if self.suffix else common)
        if self.suffix:
            tokens.reverse()
        last = common[-1]
        if len(common) == EDGE_CHARS or any(len(e) > len(common) and _goes_on(last, e[len(common)]) for e in edges):
            tokens.pop()
        return tokens

    def text(self, tokens: list[str]) -> str:
        return "".join(reversed(tokens) if self.suffix else tokens)

    def groups(self) -> list[tuple[str, float, list[int]]]:
        """The big groups: the text each one's values all begin (or end) with, its weight, its indexes."""
        if self._groups is None:
            self._groups = []
            for members in self.big:
                common = self._common_tokens(members)
                weight = sum(map(self.profile.weight, common))
                if weight > 0:
                    self._groups.append((self.text(common), weight, members))
        return self._groups

    def passages(self) -> list[tuple[str, float, list[int]]]:
        """The biggest groups of MIN_GROUP or more values that share a first (or last) passage of
        SURE_ANCHOR weight (the values' edge tokens as a trie)."""
        found: list[tuple[str, float, list[int]]] = []
        for members in self.big:
            # A passage that heavy is longer than PASSAGE_CHARS: values that differ in their first
            # (or last) PASSAGE_CHARS characters share none.
            by_edge: dict[str, list[int]] = {}
            for m in members:
                value = self.values[m]
                by_edge.setdefault(value[-PASSAGE_CHARS:] if self.suffix else value[:PASSAGE_CHARS], []).append(m)
            for group in by_edge.values():
                if len(group) >= MIN_GROUP:
                    found += self._passages(group, 0)
        return found

    def _passages(self, members: list[int], start: int) -> list[tuple[str, float, list[int]]]:
        common = _common_start([self.tokens(m)[start:] for m in members])
        end = start + len(common)
        head = self.tokens(members[0])[:end]
        weight = sum(map(self.profile.weight, head))
        if weight >= SURE_ANCHOR:
            return [(self.text(head), weight, members)]
        by_next: dict[str, list[int]] = {}
        for m in members:
            if len(self.tokens(m)) > end:
                by_next.setdefault(self.tokens(m)[end], []).append(m)
        found = []
        for group in by_next.values():
            if len(group) >= MIN_GROUP:
                found += self._passages(group, end)
        return found


def slot_edges(values: list[str], profile: Profile) -> tuple[Edges, Edges]:
    """A variable's values seen from their start and from their end."""
    return Edges(values, profile, False), Edges(values, profile, True)


def split_by_affix(edges: tuple[Edges, Edges], elsewhere: list[str]) -> AffixSplit | None:
    """The values' groups by their shared start (else end), when the evidence above holds; else None.
    `elsewhere`: the same texts' values of the template's other variables."""
    for side in edges:
        found = _split(side, elsewhere)
        if found is not None:
            return found
    return None


def split_across_slots(slots: list[tuple[Edges, Edges]], rows: list[list[str]]) -> tuple[list[int], dict[int, tuple[bool, str]]] | None:
    """The texts (indexes into `rows`, each a text's values; `slots`: each variable's `slot_edges`)
    that differ from the others by an affix of their own in two or more variables, a couple of words in
    all (`a programmer will help a person working in {field} to complete using {language}` against
    `{assistant} will help {user} to complete`), and the affix per variable (suffix?, text); None
    without such texts. A group whose values are all the same is no evidence here: two variables of one
    user's calls agree on values that vary across users."""
    n = len(rows)
    if sum(1 for sides in slots if sides[0].big or sides[1].big) < 2:
        return None
    found: dict[frozenset[int], dict[int, tuple[bool, str, float]]] = {}
    for slot, sides in enumerate(slots):
        for side in sides:
            if not side.big:
                continue
            for affix, weight, members in side.groups():
                if n - len(members) < MIN_GROUP or not _WORD.search(affix) or all(side.values[m] == affix for m in members):
                    continue  # (marks alone, `## ` in front of two Markdown values, are chance)
                places = found.setdefault(frozenset(members), {})
                if slot not in places or weight > places[slot][2]:
                    places[slot] = (side.suffix, affix, weight)
    best: tuple[float, frozenset[int], dict[int, tuple[bool, str, float]]] | None = None
    for members, places in found.items():
        total = sum(w for _, _, w in places.values())
        if len(places) >= 2 and total >= TWO_KINDS and (best is None or total > best[0]):
            best = (total, members, places)
    if best is None:
        return None
    _, members, places = best
    for slot, (suffix, affix, _) in places.items():
        values = [row[slot] for row in rows]
        affixes = [affix if i in members else "" for i in range(n)]
        elsewhere = [v for row in rows for i, v in enumerate(row) if i != slot]
        if _recurs(affix, values, affixes, suffix, elsewhere):
            return None
    return sorted(members), {slot: (suffix, affix) for slot, (suffix, affix, _) in places.items()}


def _split(side: Edges, elsewhere: list[str]) -> AffixSplit | None:
    if not side.big:
        return None
    values = side.values
    n = len(values)
    chosen: list[tuple[str, float, list[int]]] = []
    groups = side.groups() if side.covered == n else []
    if len(groups) == 2 and sum(len(g[2]) for g in groups) == n and max(g[1] for g in groups) >= TWO_KINDS:
        chosen = groups
    else:
        passages = [g for g in side.passages() if n - len(g[2]) >= MIN_GROUP]
        if len(passages) == 1:
            chosen = passages
    affixes = [""] * n
    whole: set[str] = set()
    for affix, _, members in chosen:
        for m in members:
            affixes[m] = affix
        if all(values[m] == affix for m in members):
            whole.add(affix)
    if not chosen or any(_recurs(affix, values, affixes, side.suffix, elsewhere) for affix, _, _ in chosen):
        return None
    return AffixSplit(side.suffix, affixes, frozenset(whole))


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


def shared_edges(values: list[str], profile: Profile, elsewhere: list[str]) -> tuple[str, str]:
    """The text every value begins (and ends) with, to whole tokens, when it holds a word: constant text a
    variable swallowed (the first calls' values happened to differ there), which every later value has
    too. Not a value's whole text (a variable stays one), nor words that come again inside the values."""
    found = []
    for suffix in (False, True):
        # (a label or a passage, not a page: each end's first TIGHT_CHARS are looked at)
        edges = [v[: -TIGHT_CHARS - 1 : -1] for v in values] if suffix else [v[:TIGHT_CHARS] for v in values]
        common = os.path.commonprefix(edges)
        if not _WORD.search(common):
            found.append("")
            continue
        tokens = profile.tokenize(common[::-1] if suffix else common)
        if suffix:
            tokens.reverse()
        # The last token may go on in some value ("Reas" of "Reason" and "Reasoning"): whole ones only.
        if any(len(e) > len(common) and e[len(common)].isalnum() and common[-1].isalnum() for e in edges):
            tokens = tokens[:-1]
        affix = "".join(reversed(tokens) if suffix else tokens)
        shorter = min(map(len, values))
        if not _WORD.search(affix) or len(affix) >= shorter:
            found.append("")
            continue
        affixes = [affix] * len(values)
        found.append("" if _recurs(affix, values, affixes, suffix, elsewhere) else affix)
    prefix, suffix = found
    if prefix and suffix and len(prefix) + len(suffix) >= min(map(len, values)):
        suffix = ""  # (they would overlap, or leave the variable empty)
    return prefix, suffix


def _goes_on(last: str, following: str) -> bool:
    """Whether a token ending in `last` would take `following` in too (a word, or a run of blanks)."""
    return (last.isalnum() or last == "_") and (following.isalnum() or following == "_") or last.isspace() and following.isspace()


def _first_token(value: str, profile: Profile, suffix: bool) -> str:
    """The value's first (or last) token, without tokenizing all of it."""
    if not suffix:
        found = profile.token_pattern.match(value)
        return found.group() if found else ""
    window = 16
    while True:
        tokens = profile.tokenize(value[-window:])
        if len(tokens) != 1 or window >= len(value):  # (one token alone may have been cut: look further)
            return tokens[-1] if tokens else ""
        window *= 4


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
