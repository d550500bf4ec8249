"""`redact_text` for a conversation that grows: each turn pays for what it added, not for all it resends.

An agent's request at turn 200 is ~1 MB, 99 % of it the request before. Redacting the whole text every turn
cost the writer ~45 ms at turn 200 (one regular-expression pass per key shape over 1 MB), growing with the
session. `ChunkedRedactor` cuts a body into chunks at boundaries between JSON objects (`},{"` or `}, {"`) and
remembers each chunk's redacted text: the chunks a turn shares with the one before are found by their text
and not scanned again. Which boundaries cut is decided by the text that follows them (a checksum of it),
not by their position, so after the place where a new turn inserted its messages (before the system prompt
and tools, in some clients' bodies) the chunks fall where they fell the turn before.

Why the result is the same as `redact_text` on the whole: no built-in pattern matches across a chunk
boundary. Key shapes are runs of letters, digits, `_`, `-` (and `Bearer `), none of which is `}`, `,` or
`{`; a secret JSON field's value stops at the first quote, and a value that held `},{` and ended at the
next quote would not be valid JSON. A match's preceding character (ingest/redact.py's `_key` looks at it)
is in the same chunk. The user's own `--redact` patterns may match anything, so with any of them the text
is redacted whole, as are bodies longer than MAX_TEXT (a capped 10 MB body is seen once).
"""

from __future__ import annotations

import re
import zlib
from collections import OrderedDict

from r4u_proxy.ingest.redact import has_user_patterns, redact_text

MIN_CHUNK = 2_048  # characters: a boundary closer to the chunk's start does not cut
MAX_CHUNK = 65_536  # ... and past this one every boundary cuts
CUT_ONE_IN = 4  # of the boundaries in between, those whose next 48 characters' checksum is 0 modulo this
MAX_TEXT = 4 << 20  # longer texts are redacted whole and nothing of them is kept
KEEP_CHARS = 8 << 20  # characters of chunks remembered (with their redacted text, or None when it is the same)
_BOUNDARY = re.compile(r'\},\s?\{"')
_UNSEEN = object()


class ChunkedRedactor:
    def __init__(self, keep_chars: int = KEEP_CHARS) -> None:
        self.keep_chars = keep_chars
        self._known: OrderedDict[str, str | None] = OrderedDict()  # chunk -> redacted, None: unchanged
        self._chars = 0
        self.scanned = 0  # characters redact_text was run over (for tests)

    def redact(self, text: str) -> str:
        if len(text) < 2 * MIN_CHUNK or len(text) > MAX_TEXT or has_user_patterns():
            self.scanned += len(text)
            return redact_text(text) or text
        chunks = []
        at = 0
        for found in _BOUNDARY.finditer(text, MIN_CHUNK):
            cut = found.start() + 1  # the next chunk starts at the comma
            size = cut - at
            if size < MIN_CHUNK:
                continue
            if size < MAX_CHUNK and zlib.crc32(text[cut : cut + 48].encode()) % CUT_ONE_IN:
                continue
            chunks.append(text[at:cut])
            at = cut
        chunks.append(text[at:])
        redacted = [self._chunk(chunk) for chunk in chunks]
        if all(done is None for done in redacted):  # the usual case: the body itself, not a copy joined from chunks
            return text
        return "".join(chunk if done is None else done for chunk, done in zip(chunks, redacted, strict=True))

    def _chunk(self, chunk: str) -> str | None:
        """The chunk redacted, or None when redaction leaves it as it is."""
        done = self._known.get(chunk, _UNSEEN)
        if done is not _UNSEEN:
            self._known.move_to_end(chunk)
            return done
        self.scanned += len(chunk)
        found = redact_text(chunk)
        done = None if found is None or found == chunk else found
        self._known[chunk] = done
        self._chars += len(chunk)
        while self._chars > self.keep_chars:
            dropped, _ = self._known.popitem(last=False)
            self._chars -= len(dropped)
        return done
