"""How text is cut into tokens and how strict merging is: one profile for prompts, one for log lines.

The miner is the same for both; what differs is what a token is and how much two texts must share.
Prompts hold variables of any length (a word, a pasted document), so a variable may span many tokens
and only long shared runs ("anchors") count as evidence. Log lines hold one-token variables, so every
shared token counts and lines of different token counts never share a template (as in Drain).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Every character belongs to exactly one token, so joining the tokens gives the text back.
# The `[role]` lines r4u writes between prompt sections are one token each and carry no evidence.
_ROLES = ("system", "user", "developer")
_PROMPT_TOKEN = re.compile(rf"\n?\[(?:{'|'.join(_ROLES)})\]\n|\w+|\s+|[^\w\s]", re.UNICODE)
_ROLE_LINES = frozenset(f"{nl}[{role}]\n" for nl in ("", "\n") for role in _ROLES)  # its `[role]` tokens
_WORD = re.compile(r"\w")
# Marks that shape a prompt (tags, labels, fences) are half a word of evidence; full stops, commas and
# plain blanks occur everywhere and are none.
_STRUCTURE = frozenset("<>/:{}[]()#*|=_`\"\n")
_LOG_TOKEN = re.compile(r"\S+|\s+")
# Log lines: a word holding a digit is cut at these marks, so `uid=0` keeps `uid=` as constant text.
_LOG_NAMED_VALUE = re.compile(r"([A-Za-z_][\w-]*[=:])(.+)")
_HAS_DIGIT = re.compile(r"\d")
# Log lines: words that are values on sight: anything with a digit, and host names (a.b.c).
_VARIABLE_LOOKING = re.compile(r"\d|[A-Za-z][-\w]*\.[-\w]+\.[A-Za-z]")

# The key every variable slot (and every token that is a variable on sight) aligns under.
WILDCARD = "<*>"


@dataclass(frozen=True, kw_only=True)
class Profile:
    """A profile names what it turns on: every switch below is off, and `max_align` unbounded, by default."""

    name: str
    token_pattern: re.Pattern[str] = field(repr=False)
    # A shared run of tokens is an anchor only when it holds at least this many content tokens
    # (or touches the start/end, or is a whole constant of the template): short runs such as
    # "of the" turn up inside any long document and say nothing about the template.
    min_anchor: int
    # Share of the template's constant content the new text must keep to join it.
    min_kept: float
    # Log lines: a token with a digit is a variable from the first sight (ids, sizes, addresses).
    digits_are_variables: bool = False
    # Log lines: a variable stands for exactly one token, and only lines with equal token counts
    # are compared.
    one_token_variables: bool = False
    # Prompts: look for two templates hiding behind one variable (see Miner._try_split).
    split_slots: bool = False
    # Logs: when this many clusters differ from one another in one word only, that word is a variable.
    fold_siblings: int = 0
    # Logs: runs of blanks mean nothing, so they are made single spaces before mining.
    collapse_blanks: bool = False
    # Prompts: align a new text against at most this many clusters of its partition (all templates
    # that have variables, then the newest one-off texts). Without a bound, short one-off prompts
    # that never form a template made every new trace align against every earlier one: quadratic.
    max_align: int | None = None
    _weights: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    # Prompts: the tokens that are `[role]` lines (`is_marker`), as a set to test whole token lists in C.
    role_lines: frozenset[str] = frozenset()
    _codes: dict[str, int] = field(default_factory=dict, compare=False, repr=False)  # see candidates.code
    _pieces: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    _on_sight: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def normalize(self, text: str) -> str:
        return " ".join(text.split()) if self.collapse_blanks else text

    def tokenize(self, text: str) -> list[str]:
        if not self.digits_are_variables:
            return self.token_pattern.findall(text)
        # Log text has single spaces only (normalize), so words are what lies between them.
        out: list[str] = []
        for index, word in enumerate(text.split(" ")):
            if index:
                out.append(" ")
            if word:
                out.extend(self._word_pieces(word))
        return out

    def _word_pieces(self, word: str) -> tuple[str, ...]:
        """A log word, cut after `name=` / `name:` when what follows is a value (cached: words repeat)."""
        pieces = self._pieces.get(word)
        if pieces is None:
            named = _LOG_NAMED_VALUE.fullmatch(word) if _VARIABLE_LOOKING.search(word) else None
            pieces = named.groups() if named else (word,)
            if len(self._pieces) > 200_000:
                self._pieces.clear()
            self._pieces[word] = pieces
        return pieces

    def is_marker(self, token: str) -> bool:
        """A `[role]` line r4u put between prompt sections: always an anchor, never evidence."""
        return token.endswith("]\n") and not self.digits_are_variables

    def weight(self, token: str) -> float:
        """How much a shared token says that two texts share a template."""
        cached = self._weights.get(token)
        if cached is None:
            cached = self._weights[token] = self._weigh(token)
            if len(self._weights) > 200_000:  # bounded: free text brings endless new tokens
                self._weights.clear()
        return cached

    def _weigh(self, token: str) -> float:
        if self.digits_are_variables:
            return 0.0 if token.isspace() else 1.0
        if _WORD.search(token):
            return 0.0 if self.is_marker(token) else 1.0
        return 0.0 if _STRUCTURE.isdisjoint(token) else 0.5

    def is_content(self, token: str) -> bool:
        return self.weight(token) > 0

    def is_variable_on_sight(self, token: str) -> bool:
        if not self.digits_are_variables:
            return False
        found = self._on_sight.get(token)
        if found is None:
            if len(self._on_sight) > 200_000:
                self._on_sight.clear()
            found = self._on_sight[token] = bool(_VARIABLE_LOOKING.search(token))
        return found

    def key(self, token: str) -> str:
        """What a message token is compared under."""
        return WILDCARD if self.is_variable_on_sight(token) else token


PROMPTS = Profile(
    name="prompts",
    token_pattern=_PROMPT_TOKEN,
    role_lines=_ROLE_LINES,
    min_anchor=3,
    min_kept=0.7,
    split_slots=True,
    max_align=128,  # every template, and the 32 newest one-off texts
)

LOGS = Profile(
    name="logs",
    token_pattern=_LOG_TOKEN,
    min_anchor=1,
    min_kept=0.6,
    digits_are_variables=True,
    one_token_variables=True,
    fold_siblings=5,
    collapse_blanks=True,
)
