"""A template: constant text with variable slots between, `c0 {v1} c1 {v2} ... {vk} ck`.

Stored as the k+1 constants (the first and last may be empty). Matching a text against it is a glob
match with `*` only, which the leftmost-first search decides exactly in linear time: the prefix and
suffix must fit, and each middle constant is taken at its first occurrence after the previous one.
The values are then the text between the constants, so `render(match(text)) == text` always.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    constants: tuple[str, ...]  # len == variable count + 1

    @property
    def variable_count(self) -> int:
        return len(self.constants) - 1

    @classmethod
    def literal(cls, text: str) -> Template:
        return cls((text,))

    def match(self, text: str, *, one_token: bool = False) -> list[str] | None:
        """The variable values that turn this template into `text`, or None when it does not fit."""
        consts = self.constants
        if len(consts) == 1:
            return [] if text == consts[0] else None
        prefix, suffix = consts[0], consts[-1]
        end = len(text) - len(suffix)
        if end < len(prefix) or not text.startswith(prefix) or not text.endswith(suffix):
            return None
        values: list[str] = []
        pos = len(prefix)
        for const in consts[1:-1]:
            found = text.find(const, pos, end)
            if found < 0:
                return None
            values.append(text[pos:found])
            pos = found + len(const)
        values.append(text[pos:end])
        # Log lines come with blanks collapsed to single spaces, so a one-token value has none.
        if one_token and any(not v or " " in v for v in values):
            return None
        return values

    def render(self, values: list[str]) -> str:
        parts = [self.constants[0]]
        for value, const in zip(values, self.constants[1:], strict=True):
            parts.append(value)
            parts.append(const)
        return "".join(parts)

    def skeleton(self, hole: str = "\x00") -> str:
        """The template with each slot filled by `hole`: tests whether one template covers another."""
        return hole.join(self.constants)

    def format_string(self, names: list[str]) -> str:
        """Text with `{name}` placeholders; literal braces doubled, so `str.format(**values)` gives the text."""
        escaped = [c.replace("{", "{{").replace("}", "}}") for c in self.constants]
        parts = [escaped[0]]
        for name, const in zip(names, escaped[1:], strict=True):
            parts.append("{" + name + "}")
            parts.append(const)
        return "".join(parts)
