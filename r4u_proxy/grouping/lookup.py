"""Which known templates could match a text exactly, without trying them all.

A template matches a text only when its first constant is the text's prefix and its last constant the
text's suffix. So each template is filed under the longer of the two: by its first (or last) KEY characters
when the constant is at least that long, else under its exact constant, bucketed by length. A text looks up
its own first/last KEY characters and, for each bucketed length, its prefix/suffix of that length: a few
dict look-ups, however many templates the partition has. Templates whose both ends are short (a variable
right after the `[role]` line and at the end) are tried by their longest constant, which must occur in the
text; they are kept most specific first, so that `loose` can stop at those no more specific than a match
already found.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterator

from r4u_proxy.grouping.template import Template

KEY = 24  # characters


class TemplateLookup:
    def __init__(self) -> None:
        self._prefix: dict[str, list[int]] = {}
        self._suffix: dict[str, list[int]] = {}
        self._short_prefix: dict[int, dict[str, list[int]]] = {}
        self._short_suffix: dict[int, dict[str, list[int]]] = {}
        self._loose: dict[int, tuple[str, str, str]] = {}  # cluster -> its ends, and a constant the text must contain
        self._loose_order: list[tuple[int, int, int]] = []  # (-specificity, when filed, cluster): most specific first
        self._filed = 0
        self._exact: dict[str, list[int]] = {}  # texts seen once (no variables yet) by their whole text
        self._where: dict[int, tuple[str, object, str]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def add(self, cluster_id: int, template: Template) -> None:
        self.remove(cluster_id)
        first, last = template.constants[0], template.constants[-1]
        if template.variable_count == 0:
            self._exact.setdefault(first, []).append(cluster_id)
            self._where[cluster_id] = ("exact", self._exact, first)
        elif len(first) >= KEY or (len(first) >= len(last) and len(first) >= KEY // 2):
            self._file(cluster_id, "prefix", first[:KEY] if len(first) >= KEY else first)
        elif len(last) >= KEY // 2:
            self._file(cluster_id, "suffix", last[-KEY:] if len(last) >= KEY else last)
        else:
            self._loose[cluster_id] = (first, last, max(template.constants, key=len))
            self._filed += 1
            entry = (-specificity(template), self._filed, cluster_id)
            insort(self._loose_order, entry)
            self._where[cluster_id] = ("loose", entry, "")

    def _file(self, cluster_id: int, side: str, key: str) -> None:
        if len(key) == KEY:
            table = self._prefix if side == "prefix" else self._suffix
        else:
            shorts = self._short_prefix if side == "prefix" else self._short_suffix
            table = shorts.setdefault(len(key), {})
        table.setdefault(key, []).append(cluster_id)
        self._where[cluster_id] = (side, table, key)

    def remove(self, cluster_id: int) -> None:
        where = self._where.pop(cluster_id, None)
        if where is None:
            return
        side, table, key = where
        if side == "loose":
            del self._loose[cluster_id]
            self._loose_order.remove(table)  # type: ignore[arg-type]
            return
        ids = table[key]  # type: ignore[index]
        ids.remove(cluster_id)
        if not ids:
            del table[key]  # type: ignore[attr-defined]
            for shorts in (self._short_prefix, self._short_suffix):
                for length in [n for n, t in shorts.items() if not t]:
                    del shorts[length]

    def candidates(self, text: str, *, loose: bool = True) -> list[int]:
        """The templates that may fit `text` (without those with two short ends when not `loose`)."""
        found = list(self._exact.get(text, ()))
        found += self._prefix.get(text[:KEY], ())
        found += self._suffix.get(text[-KEY:], ())
        for length, table in self._short_prefix.items():
            found += table.get(text[:length], ())
        for length, table in self._short_suffix.items():
            found += table.get(text[-length:], ())
        if not loose:
            return found
        found += [
            cid for cid, (first, last, longest) in self._loose.items()
            if text.startswith(first) and text.endswith(last) and longest in text
        ]  # fmt: skip
        return found

    def loose(self, text: str, above: int) -> Iterator[int]:
        """The templates with two short ends that may fit `text` and are more specific than `above`
        (see `specificity`), the most specific first (the earliest filed first among equals); lazily, as
        the first that fits is the one a caller wants."""
        loose = self._loose
        for minus, _, cid in self._loose_order:
            if -minus <= above:
                return
            first, last, longest = loose[cid]
            if text.startswith(first) and text.endswith(last) and longest in text:
                yield cid


def specificity(template: Template) -> int:
    """How much of a text a template fixes: the length of its constants (the most specific match wins)."""
    return sum(map(len, template.constants))
