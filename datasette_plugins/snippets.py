"""Search excerpts: a few words around the first match, cut from the text the index saw.

The index sees, per call, what it sent first, bounded (`trace_search`, r4u_proxy/store/content/schema.py):
a match is in that text, not in the whole prompt. FTS5's snippet() reads the whole stored text and is
quadratic in its length (see r4u_proxy/store/bounded_fts.py); this finds the first match with one regular
expression scan and words only a small window around it, so its cost is linear and small. Registered
as the SQL function `r4u_snippet(text, query, open, close)` on every Datasette connection, for the
search page and the `search` named query alike.
"""

from __future__ import annotations

import re

from r4u_proxy.store.content.schema import FTS_TRACE_CHARS

WORDS = 16  # about as many as FTS5's snippet(..., 16) shows
_TERM = re.compile(r"[\w]+\*?")
_WORD = re.compile(r"\w+")


def _terms(query: str) -> re.Pattern[str] | None:
    terms = [t for t in _TERM.findall(query) if t.upper() not in ("AND", "OR", "NOT", "NEAR")]
    if not terms:
        return None
    parts = [re.escape(t.rstrip("*")) + (r"\w*" if t.endswith("*") else r"\b") for t in terms]
    return re.compile(r"\b(?:" + "|".join(parts) + ")", re.IGNORECASE)


def snippet(text: str | None, query: str | None, open_: str = "[", close: str = "]", ellipsis: str = "…") -> str | None:
    if not text or not query:
        return None
    text = text[:FTS_TRACE_CHARS]
    pattern = _terms(query)
    found = pattern.search(text) if pattern else None
    if found is None:
        return None
    start = max(0, found.start() - 60)  # a few words before the match
    window = text[start : start + 400]
    words = list(_WORD.finditer(window))
    first = next((i for i, w in enumerate(words) if w.start() >= found.start() - start), 0)
    lo = max(0, first - WORDS // 4)
    hi = min(len(words), lo + WORDS)
    cut_start = 0 if start == 0 and lo == 0 else words[lo].start()
    cut_end = len(window) if hi == len(words) and start + len(window) >= len(text) else words[hi - 1].end()
    piece = window[cut_start:cut_end]
    marked = pattern.sub(lambda m: f"{open_}{m.group(0)}{close}", piece) if pattern else piece
    before = ellipsis if start + cut_start > 0 else ""
    after = ellipsis if start + cut_end < len(text) else ""
    return f"{before}{marked}{after}"
