"""Inline audio in WebSocket messages: taken out before anything is stored, its size and duration counted.

The Realtime API sends audio as base64 inside JSON (`input_audio_buffer.append`, `response.output_audio.delta`,
`input_audio` content parts), Gemini Live as `inlineData` / `realtimeInput` blobs with a mime type. Each is
replaced by `media_placeholder()` ("[N bytes of audio/pcm;rate=24000 not stored]").
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.providers.common import media_placeholder

MEDIA_MIN_CHARS = 256  # shorter base64 strings are left alone (ids, signatures)


def audio_bytes_per_s(mime: str) -> float | None:
    """Bytes a second of raw audio, where the format says: `audio/pcm;rate=16000` (16-bit), G.711."""
    kind, _, params = mime.partition(";")
    kind = kind.strip().lower()
    if kind in ("audio/pcmu", "audio/pcma", "g711_ulaw", "g711_alaw"):
        return 8000.0
    if kind in ("audio/pcm", "pcm16", "audio/l16"):
        rate = 24000  # the Realtime API's only pcm rate
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip() == "rate" and value.strip().isdigit():
                rate = int(value)
        return rate * 2.0
    return None


def _b64_size(text: str) -> int:
    return len(text) * 3 // 4 - text[-2:].count("=")


class MediaStripper:
    """Replaces inline audio and media in a parsed message with a placeholder; counts what it took out."""

    def __init__(self) -> None:
        self.realtime_format = "audio/pcm;rate=24000"
        self.bytes = 0
        self.ms = 0.0

    def _take(self, text: str, mime: str) -> str:
        size = _b64_size(text)
        self.bytes += size
        rate = audio_bytes_per_s(mime)
        if rate:
            self.ms += size / rate * 1000
        return media_placeholder(size, mime)

    def strip(self, message: Any) -> bool:
        """True when something was replaced."""
        if not isinstance(message, dict):
            return False
        kind = str(message.get("type") or "")
        changed = False
        if kind in ("input_audio_buffer.append",) and _long(message.get("audio")):
            message["audio"] = self._take(message["audio"], self.realtime_format)
            changed = True
        if "audio" in kind and "transcript" not in kind and _long(message.get("delta")):
            message["delta"] = self._take(message["delta"], self.realtime_format)
            changed = True
        return self._walk(message, 0) or changed

    def _walk(self, value: Any, depth: int) -> bool:
        if depth > 8:
            return False
        changed = False
        if isinstance(value, dict):
            mime = value.get("mimeType") or value.get("mime_type")
            if isinstance(mime, str) and _long(value.get("data")):  # a Gemini blob
                value["data"] = self._take(value["data"], mime)
                changed = True
            if value.get("type") == "input_audio" and _long(value.get("audio")):  # a Realtime content part
                value["audio"] = self._take(value["audio"], self.realtime_format)
                changed = True
            for child in value.values():
                if isinstance(child, dict | list):
                    changed = self._walk(child, depth + 1) or changed
        elif isinstance(value, list):
            for child in value:
                if isinstance(child, dict | list):
                    changed = self._walk(child, depth + 1) or changed
        return changed


def _long(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= MEDIA_MIN_CHARS
