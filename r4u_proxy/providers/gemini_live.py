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
from r4u_proxy.providers.base import Message
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


# The request is a generateContent body: the Gemini family reads it (prompt, chat, canonical messages for
# sessions, GenAI messages for export).
prompt_parts = gemini.prompt_parts
request_messages = gemini.request_messages
MESSAGES_KEY = gemini.MESSAGES_KEY
canonical_message = gemini.canonical_message
system_parts = gemini.system_parts
genai_input = gemini.genai_input


_FINISH = (("turnComplete", "STOP"), ("interrupted", "INTERRUPTED"))


class Stream(gemini.Stream):
    """Each Live message fed to the Gemini reassembly as the generateContent chunk it stands for."""

    def __init__(self) -> None:
        super().__init__()
        self.transcripts: dict[str, str] = {}  # inputTranscription / outputTranscription text
        self.audio: dict[str, int] = {}  # mime type -> bytes of audio the model sent

    def add_object(self, event: str | None, data: dict) -> bool:
        if "error" in data:
            return super().add_object(event, data)
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
        return super().add_object(event, chunk) or carried if chunk else carried

    def body(self) -> dict:
        body = super().body()
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


# --- the response: generateContent's, with an audio answer's transcript as its text ------------------------


def _transcript_only(body: Any) -> dict | None:
    """The body with the output transcript as its text, when the model answered in audio only."""
    if not isinstance(body, dict) or not isinstance(body.get("outputTranscription"), dict):
        return None
    text = body["outputTranscription"].get("text")
    candidates = body.get("candidates") or [{"content": {"role": "model", "parts": []}, "index": 0}]
    first = candidates[0] if isinstance(candidates[0], dict) else {}
    parts = (first.get("content") or {}).get("parts") or []
    if not isinstance(text, str) or not text or any(isinstance(p, dict) and "text" in p for p in parts):
        return None
    content = {**(first.get("content") or {}), "parts": [{"text": text}, *parts]}
    return {**body, "candidates": [{**first, "content": content}, *candidates[1:]]}


def summary(body: Any) -> dict:
    result = gemini.summary(_transcript_only(body) or body)
    if not isinstance(body, dict):
        return result
    usage = body.get("usageMetadata") or {}
    result.update(
        audio_token_columns(
            input_audio=_modality_tokens(usage.get("promptTokensDetails"), "AUDIO"),
            output_audio=_modality_tokens(usage.get("candidatesTokensDetails"), "AUDIO"),
            cache_audio_read=_modality_tokens(usage.get("cacheTokensDetails"), "AUDIO"),
        )
    )
    return result


def response_messages(body: Any) -> list[Message]:
    return gemini.response_messages(_transcript_only(body) or body)


def output_messages(body: Any) -> list[dict]:
    return gemini.output_messages(_transcript_only(body) or body)


def genai_output(body: Any) -> list[dict]:
    return gemini.genai_output(_transcript_only(body) or body)
