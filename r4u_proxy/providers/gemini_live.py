"""Gemini Live (`BidiGenerateContent` over a WebSocket): one trace per model turn, in generateContent's shape.

r4u_proxy/ingest/ws_turns.py builds the request as a `generateContent` body (`model`, `contents`,
`systemInstruction`, `tools`, `generationConfig` from the setup message). Each Live server message is turned
into the streamed `GenerateContentResponse` chunk it stands for (`serverContent.modelTurn` → a candidate,
`toolCall` → functionCall parts, `turnComplete` → finishReason STOP, `usageMetadata` with Live's
`responseTokenCount` → `candidatesTokenCount`) and fed to the Gemini reassembly. What has no place in that
shape — the transcripts of audio in and out — is kept beside it as `inputTranscription`/`outputTranscription`.
Audio chunks arrive as placeholders (their bytes are not stored); they become one part per audio type.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.providers import gemini
from r4u_proxy.providers.common import audio_token_columns, media_placeholder, placeholder_size

FAMILY = "gemini_live"


def pick(message: Any, camel: str) -> Any:
    """`message[camel]`, or its snake_case spelling (the service accepts and clients send both)."""
    if not isinstance(message, dict):
        return None
    if camel in message:
        return message[camel]
    return message.get("".join(f"_{c.lower()}" if c.isupper() else c for c in camel))


def request_info(body: dict, path: str = "") -> dict:
    return {"request_model": body.get("model"), "stream": True}


def prompt_parts(body: dict) -> dict:
    return gemini.prompt_parts(body)


_FINISH = (("turnComplete", "STOP"), ("interrupted", "INTERRUPTED"))


class Stream:
    def __init__(self) -> None:
        self.inner = gemini.Stream()
        self.transcripts: dict[str, str] = {}  # inputTranscription / outputTranscription text
        self.audio: dict[str, int] = {}  # mime type -> bytes of audio the model sent
        self.notes: list[str] = []

    @property
    def error(self) -> str | None:
        return self.inner.error

    @error.setter
    def error(self, value: str | None) -> None:
        self.inner.error = value

    def add(self, event: str | None, data: Any) -> bool:
        if not isinstance(data, dict):
            return False
        if "error" in data:
            return self.inner.add(event, data)
        content = pick(data, "serverContent") or {}
        carried = False
        for key in ("inputTranscription", "outputTranscription"):
            text = pick(pick(content, key), "text")
            if isinstance(text, str) and text:
                self.transcripts[key] = self.transcripts.get(key, "") + text
                carried = carried or key == "outputTranscription"
        parts = []
        for part in pick(pick(content, "modelTurn"), "parts") or []:
            blob = pick(part, "inlineData") if isinstance(part, dict) else None
            stored = placeholder_size(pick(blob, "data"))
            if stored is not None:
                size, mime = stored
                self.audio[mime] = self.audio.get(mime, 0) + size
                carried = True
            else:
                parts.append(part)
        for call in pick(pick(data, "toolCall"), "functionCalls") or []:
            parts.append({"functionCall": call})
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        for flag, reason in _FINISH:
            if pick(content, flag):
                candidate["finishReason"] = reason
        if pick(data, "toolCall"):
            candidate["finishReason"] = "TOOL_CALL"
        chunk: dict[str, Any] = {"candidates": [candidate]} if parts or "finishReason" in candidate else {}
        usage = pick(data, "usageMetadata")
        if isinstance(usage, dict):
            chunk["usageMetadata"] = _as_generate_content_usage(usage)
        return self.inner.add(event, chunk) or carried if chunk else carried

    def body(self) -> dict:
        body = self.inner.body()
        if self.audio:
            body.setdefault("candidates", [{"content": {"role": "model", "parts": []}, "index": 0}])
            parts = body["candidates"][0]["content"]["parts"]
            for mime, size in self.audio.items():
                parts.append({"inlineData": {"mimeType": mime, "data": media_placeholder(size, mime)}})
        for key, text in self.transcripts.items():
            body[key] = {"text": text}
        return body


def _as_generate_content_usage(usage: dict) -> dict:
    """Live's usage names → generateContent's (`response*` → `candidates*`), camelCase either way."""
    renamed = {}
    for key, value in usage.items():
        camel = "".join(w.capitalize() if i else w for i, w in enumerate(key.split("_")))
        renamed[camel.replace("responseToken", "candidatesToken")] = value
    return renamed


def _modality_tokens(details: Any, modality: str) -> int | None:
    counts = [pick(d, "tokenCount") for d in details or [] if str(pick(d, "modality")).upper() == modality]
    numbers = [c for c in counts if isinstance(c, int)]
    return sum(numbers) if numbers else None


def summary(body: Any) -> dict:
    result = gemini.summary(body)
    if not isinstance(body, dict):
        return result
    if not result.get("completion_text") and isinstance(body.get("outputTranscription"), dict):
        result["completion_text"] = body["outputTranscription"].get("text") or None
    usage = body.get("usageMetadata") or {}
    result.update(
        audio_token_columns(
            input_audio=_modality_tokens(usage.get("promptTokensDetails"), "AUDIO"),
            output_audio=_modality_tokens(usage.get("candidatesTokensDetails"), "AUDIO"),
            cache_audio_read=_modality_tokens(usage.get("cacheTokensDetails"), "AUDIO"),
        )
    )
    return result
