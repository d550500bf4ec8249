"""Long JSON strings cut out of stored content: kept once, as plain text, and what a base64 one is.

A tool result, a file an agent read, a system prompt block: a message's JSON is mostly one or two long
strings, and prompt_text (what search indexes) is mostly the same strings again. Cut out and stored once
as plain text (`contents` kind 'string'), both the JSON and the readable text reference them: the JSON
puts them back with SQLite's json_quote(), prompt_text as they are. json_quote may escape differently
from the client (`\\u00e9` vs `é`), which changes bytes, never the JSON value.

A long string that is base64 (images, audio, PDFs, base64 embeddings) is a *payload*: its media type and
decoded size are recorded, so the UI shows a thumbnail or a size instead of a wall of base64; it is never
part of any readable text, so it never reaches the full-text index.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

STRING_MIN = 512  # characters of a JSON string literal; shorter strings stay inline
PAYLOAD_MIN = 2048
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BASE64 = re.compile(r"(?:data:([\w.+-]+/[\w.+-]+);base64,)?[A-Za-z0-9+/_-]+={0,2}")

# The first bytes of common formats.
_SIGNATURES: list[tuple[bytes, str]] = [
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"%PDF", "application/pdf"),
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
]


def long_strings(text: str) -> list[tuple[int, int, str]]:
    """(start, end, value) of every JSON string of STRING_MIN characters or more in `text` (quotes included).

    `text` is one JSON value; a string token can only start outside another, so scanning from the start
    finds exactly the strings the JSON has."""
    if len(text) < STRING_MIN:
        return []
    found = []
    for match in _STRING.finditer(text):
        start, end = match.span()
        if end - start >= STRING_MIN:
            try:
                value = json.loads(match.group())
            except ValueError:
                continue
            found.append((start, end, value))
    return found


def payload(value: str) -> tuple[str, int] | None:
    """(media type, decoded bytes) when `value` is base64 (a payload), else None."""
    if len(value) < PAYLOAD_MIN:
        return None
    match = _BASE64.fullmatch(value)
    if match is None:
        return None
    data = value.partition(",")[2] if value.startswith("data:") else value
    size = len(data) * 3 // 4 - (len(data) - len(data.rstrip("=")))
    return match.group(1) or _sniff(data), size


def _sniff(data: str) -> str:
    try:
        head = _b64(data[:64])
    except (binascii.Error, ValueError):
        return "base64"
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            return media_type
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WAVE": "audio/wav", b"WEBP": "image/webp"}.get(head[8:12], "application/octet-stream")
    if head[4:8] == b"ftyp":
        return "video/mp4"
    return "base64"


def _b64(data: str) -> bytes:
    altchars = b"-_" if "-" in data or "_" in data else None
    return base64.b64decode(data + "=" * (-len(data) % 4), altchars=altchars)


def decode(value: str) -> bytes:
    """The bytes a payload stands for (the UI's thumbnails and downloads)."""
    return _b64(value.partition(",")[2] if value.startswith("data:") else value)


def cut_text(text: str, values: list[tuple[str, Any]]) -> list[Any] | None:
    """`text` as pieces with each (value, id) found in it, in order, replaced by the id; None if none is."""
    pieces: list[Any] = []
    at = 0
    for value, ref in values:
        found = text.find(value, at)
        if found < 0:
            continue
        if found > at:
            pieces.append(text[at:found])
        pieces.append(ref)
        at = found + len(value)
    if not pieces:
        return None
    if at < len(text):
        pieces.append(text[at:])
    return pieces
