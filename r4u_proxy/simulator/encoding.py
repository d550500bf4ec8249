"""Streaming content encoders for `x-sim-encoding`.

Each encoder flushes after every piece it is given, so a compressed event stream still delivers one event
per write, the way a real server with a per-event flush does (and the way a proxy tap must cope with).
"""

from __future__ import annotations

import zlib
from typing import Protocol


class StreamEncoder(Protocol):
    def encode(self, data: bytes) -> bytes:
        """Compress `data` and flush, so the output is decodable up to here."""
        ...

    def finish(self) -> bytes:
        """The end-of-stream trailer."""
        ...


class _ZlibEncoder:
    def __init__(self, wbits: int) -> None:
        self._compressor = zlib.compressobj(wbits=wbits)

    def encode(self, data: bytes) -> bytes:
        return self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._compressor.flush(zlib.Z_FINISH)


class _BrotliEncoder:
    def __init__(self) -> None:
        import brotli  # installed with mitmproxy; imported late so plain replies never need it

        self._compressor = brotli.Compressor()

    def encode(self, data: bytes) -> bytes:
        return self._compressor.process(data) + self._compressor.flush()

    def finish(self) -> bytes:
        return self._compressor.finish()


class _ZstandardEncoder:
    """zstd through the `zstandard` package (a mitmproxy 11 dependency)."""

    def __init__(self) -> None:
        import zstandard

        self._zstd = zstandard
        self._compressor = zstandard.ZstdCompressor().compressobj()

    def encode(self, data: bytes) -> bytes:
        return self._compressor.compress(data) + self._compressor.flush(
            self._zstd.COMPRESSOBJ_FLUSH_BLOCK
        )

    def finish(self) -> bytes:
        return self._compressor.flush(self._zstd.COMPRESSOBJ_FLUSH_FINISH)


class _StdlibZstdEncoder:
    """zstd through `compression.zstd` (Python 3.14+), for environments without `zstandard`."""

    def __init__(self) -> None:
        from compression import zstd  # type: ignore[import-not-found]

        self._zstd = zstd
        self._compressor = zstd.ZstdCompressor()

    def encode(self, data: bytes) -> bytes:
        return self._compressor.compress(data, self._zstd.ZstdCompressor.FLUSH_BLOCK)

    def finish(self) -> bytes:
        return self._compressor.flush(self._zstd.ZstdCompressor.FLUSH_FRAME)


def _zstd_encoder() -> StreamEncoder:
    try:
        return _ZstandardEncoder()
    except ImportError:
        return _StdlibZstdEncoder()


def unavailable_reason(name: str) -> str | None:
    """Why this Python cannot produce `name` (a missing optional package), or None when it can."""
    try:
        stream_encoder(name)
    except ImportError as missing:
        return f"{name} encoding needs a package this Python lacks ({missing})"
    return None


def stream_encoder(name: str) -> StreamEncoder:
    """An encoder for a Content-Encoding name: gzip, deflate (zlib-wrapped, as HTTP means it), br, zstd."""
    if name == "gzip":
        return _ZlibEncoder(wbits=31)
    if name == "deflate":
        return _ZlibEncoder(wbits=15)
    if name == "br":
        return _BrotliEncoder()
    if name == "zstd":
        return _zstd_encoder()
    raise ValueError(f"unknown content encoding {name!r}")


def encode_whole(name: str, data: bytes) -> bytes:
    encoder = stream_encoder(name)
    return encoder.encode(data) + encoder.finish()
