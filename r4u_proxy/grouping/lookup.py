"""Which known templates could match a text exactly, without trying them all.

A template matches a text only when its first constant is the text's prefix and its last constant the
text's suffix. So each template is filed under the longer of the two: by its first (or last) KEY characters
when the constant is at least that long, else under its exact constant, bucketed by length. A text looks up
its own first/last KEY characters and, for each bucketed length, its prefix/suffix of that length: a few
dict look-ups, however many templates the partition has. Templates whose both ends are short (a variable
right after the `[role]` line and at the end) are tried by their longest constant, which must occur in the
text.
"""

from __future__ import annotations

from r4u_proxy.grouping.template import Template

KEY = 24  # characters


class TemplateLookup:
    def __init__(self) -> None:
        self._prefix: dict[str, list[int]] = {}
        self._suffix: dict[str, list[int]] = {}
        self._short_prefix: dict[int, dict[str, list[int]]] = {}
        self._short_suffix: dict[int, dict[str, list[int]]] = {}
        self._loose: dict[int, tuple[str, str, str]] = {}  # cluster -> its ends, and a constant the text must contain
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
            self._where[cluster_id] = ("loose", None, "")

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
            return
        ids = table[key]  # type: ignore[index]
        ids.remove(cluster_id)
        if not ids:
            del table[key]  # type: ignore[attr-defined]
            for shorts in (self._short_prefix, self._short_suffix):
                for length in [n for n, t in shorts.items() if not t]:
                    del shorts[length]

    def candidates(self, text: str) -> list[int]:
        found = list(self._exact.get(text, ()))
        found += self._prefix.get(text[:KEY], ())
        found += self._suffix.get(text[-KEY:], ())
        for length, table in self._short_prefix.items():
            found += table.get(text[:length], ())
        for length, table in self._short_suffix.items():
            found += table.get(text[-length:], ())
        found += [
            cid for cid, (first, last, longest) in self._loose.items()
            if text.startswith(first) and text.endswith(last) and longest in text
        ]  # fmt: skip
        return found
