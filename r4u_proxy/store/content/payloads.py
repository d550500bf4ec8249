"""Large base64 payloads inside JSON text (images, audio, PDFs, base64 embeddings), and what each one is.

Such a string is cut out of the content that holds it and stored once by its own hash, so the same
screenshot sent in two messages (or two sessions) is kept once, the UI can show it as a thumbnail or a
size instead of a wall of base64, and it never reaches the full-text index.
"""

from __future__ import annotations

import base64
import binascii
import re

PAYLOAD_MIN = 2048  # characters of base64; shorter strings stay inline
# A whole JSON string of base64, optionally a data: URL. Cuts are made on the exact text, so the stored
# pieces always concatenate back to it, whatever the match.
_PAYLOAD = re.compile(rf'"((?:data:([\w.+-]+/[\w.+-]+);base64,)?[A-Za-z0-9+/_-]{{{PAYLOAD_MIN},}}={{0,2}})"')

# The first bytes of common formats, as they look in base64.
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


def find_payloads(text: str) -> list[tuple[int, int]]:
    """(start, end) of each payload string in `text`, quotes included."""
    if len(text) < PAYLOAD_MIN:
        return []
    return [match.span() for match in _PAYLOAD.finditer(text)]


def split(text: str, spans: list[tuple[int, int]]) -> list[str | tuple[int, int]]:
    """Literal text between the spans, and the spans themselves, in order."""
    pieces: list[str | tuple[int, int]] = []
    at = 0
    for start, end in spans:
        if start > at:
            pieces.append(text[at:start])
        pieces.append((start, end))
        at = end
    if at < len(text):
        pieces.append(text[at:])
    return pieces


def describe(literal: str) -> tuple[str, int]:
    """(media type, decoded bytes) of a payload given as its JSON string literal."""
    value = literal.strip('"')
    declared = None
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        declared = header[5:].split(";")[0] or None
    size = len(value) * 3 // 4 - len(value) + len(value.rstrip("="))
    return declared or _sniff(value), size


def _sniff(value: str) -> str:
    try:
        head = base64.b64decode(value[:64] + "=" * (-len(value[:64]) % 4), altchars=b"-_" if "-" in value[:64] or "_" in value[:64] else None)
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


def decode(literal: str) -> bytes:
    """The bytes a payload literal stands for (for the UI's thumbnails and downloads)."""
    value = literal.strip('"')
    if value.startswith("data:"):
        value = value.partition(",")[2]
    altchars = b"-_" if "-" in value or "_" in value else None
    return base64.b64decode(value + "=" * (-len(value) % 4), altchars=altchars)
