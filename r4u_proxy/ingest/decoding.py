"""Content-decoding of captured response chunks, chunk by chunk, so each decoded piece keeps its arrival time.

The capture tap sees bodies before mitmproxy decodes them, so a gzip'd event stream arrives compressed.
Decoding incrementally (instead of joining and decoding once) keeps time-to-first-token honest.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

try:  # both ship with mitmproxy; guarded so a missing one only disables that encoding
    import brotli
except ImportError:  # pragma: no cover
    brotli = None
try:
    import zstandard
except ImportError:  # pragma: no cover
    zstandard = None

Chunks = list[tuple[float, bytes]]


class _ZlibDecoder:
    """gzip, zlib-wrapped deflate, or raw deflate (some servers send raw deflate as "deflate")."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._pending = b""
        self._inner = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None

    def decode(self, data: bytes) -> bytes:
        if self._inner is None:
            # "deflate" is ambiguous: a zlib header is two bytes whose big-endian value is a multiple of 31.
            self._pending += data
            if len(self._pending) < 2:
                return b""
            first, second = self._pending[0], self._pending[1]
            has_zlib_header = first & 0x0F == 8 and (first << 8 | second) % 31 == 0
            self._inner = zlib.decompressobj(zlib.MAX_WBITS if has_zlib_header else -zlib.MAX_WBITS)
            data, self._pending = self._pending, b""
        return self._inner.decompress(data)

    def finish(self) -> tuple[bytes, str | None]:
        if self._inner is None:
            return b"", (f"{self.encoding} body ended early" if self._pending else None)
        tail = self._inner.flush()
        return tail, (None if self._inner.eof else f"{self.encoding} body ended early")


class _BrotliDecoder:
    encoding = "br"

    def __init__(self) -> None:
        self._inner = brotli.Decompressor()

    def decode(self, data: bytes) -> bytes:
        return self._inner.process(data)

    def finish(self) -> tuple[bytes, str | None]:
        return b"", (None if self._inner.is_finished() else "br body ended early")


class _ZstdDecoder:
    encoding = "zstd"

    def __init__(self) -> None:
        self._inner = zstandard.ZstdDecompressor().decompressobj()
        self._saw_data = False

    def decode(self, data: bytes) -> bytes:
        self._saw_data = self._saw_data or bool(data)
        return self._inner.decompress(data)

    def finish(self) -> tuple[bytes, str | None]:
        finished = getattr(self._inner, "eof", True)
        return b"", (None if finished or not self._saw_data else "zstd body ended early")


_DECODER_FACTORIES: dict[str, Callable[[], object]] = {
    "gzip": lambda: _ZlibDecoder("gzip"),
    "x-gzip": lambda: _ZlibDecoder("gzip"),
    "deflate": lambda: _ZlibDecoder("deflate"),
}
if brotli is not None:
    _DECODER_FACTORIES["br"] = _BrotliDecoder
if zstandard is not None:
    _DECODER_FACTORIES["zstd"] = _ZstdDecoder


def decode_chunks(chunks: Chunks, content_encoding: str | None) -> tuple[Chunks, str | None]:
    """Undo Content-Encoding chunk by chunk. Returns the decoded chunks and a note when something was off.

    Stacked encodings ("gzip, br") were applied left to right, so they are undone right to left. A corrupt
    body never raises: what decoded before the damage is returned, with a note saying what happened.
    """
    encodings = [e.strip().lower() for e in (content_encoding or "").split(",")]
    encodings = [e for e in encodings if e and e != "identity"]
    if not encodings:
        return list(chunks), None
    unknown = [e for e in encodings if e not in _DECODER_FACTORIES]
    if unknown:
        return list(chunks), f"unsupported content-encoding {', '.join(unknown)}; body kept as received"
    decoders = [_DECODER_FACTORIES[e]() for e in reversed(encodings)]

    decoded: Chunks = []
    last_time = chunks[-1][0] if chunks else 0.0
    try:
        for t, data in chunks:
            for decoder in decoders:
                data = decoder.decode(data)
            if data:
                decoded.append((t, data))
        note = None
        # Flush each stage in order; a stage's tail still has to pass through the stages after it.
        tail = b""
        for decoder in decoders:
            if tail:
                tail = decoder.decode(tail)
            flushed, stage_note = decoder.finish()
            tail += flushed
            note = note or stage_note
        if tail:
            decoded.append((last_time, tail))
        return decoded, note
    except Exception as exc:  # zlib.error, brotli.error, zstandard.ZstdError, ...
        kept = sum(len(d) for _, d in decoded)
        return decoded, f"could not decode {content_encoding} body after {kept} bytes: {exc}"
