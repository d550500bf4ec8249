"""Gemini Live over a WebSocket (`/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`).

The client's first message is `setup` (model, generationConfig, systemInstruction, tools); the server answers
`setupComplete`. A turn is `clientContent` with `turnComplete: true`, `realtimeInput` text, the end of streamed
audio (`audioStreamEnd` / `activityEnd`), or a `toolResponse`; it is answered with `serverContent.modelTurn`
parts (text, or 24 kHz pcm16 audio with `outputTranscription` when the setup asks for audio), then
`generationComplete`, then `turnComplete` together with `usageMetadata` (token counts per modality, the shape
of `google.genai.types.UsageMetadata`). Like the real service, every server message is a binary frame of JSON.
Field names are accepted in both the camelCase the SDK sends and snake_case.
"""

from __future__ import annotations

import base64
from typing import Any

from r4u_proxy.simulator.controls import Controls
from r4u_proxy.simulator.reply import estimate_tokens, reply_words, text_of

_AUDIO_CHUNK = base64.b64encode(b"\x00\x00" * 2400).decode()  # 100 ms of pcm16 at 24 kHz


def pick(message: Any, camel: str) -> Any:
    """`message[camel]`, or its snake_case spelling."""
    if not isinstance(message, dict):
        return None
    if camel in message:
        return message[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return message.get(snake)


class LiveSocket:
    binary = True

    def __init__(self, controls: Controls) -> None:
        self.controls = controls
        self.setup: dict[str, Any] = {}
        self.history: list[str] = []
        self.audio_bytes = 0  # input audio streamed since the last turn

    def opening(self) -> list[dict[str, Any]]:
        return []

    def answer(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        if (setup := pick(message, "setup")) is not None:
            self.setup = setup if isinstance(setup, dict) else {}
            return [{"setupComplete": {}}]
        if (content := pick(message, "clientContent")) is not None:
            for turn in pick(content, "turns") or []:
                self.history.append(text_of(pick(turn, "parts") or []))
            return self._turn() if pick(content, "turnComplete") else []
        if (realtime := pick(message, "realtimeInput")) is not None:
            for blob in [pick(realtime, "audio"), *(pick(realtime, "mediaChunks") or [])]:
                if isinstance(blob, dict) and isinstance(blob.get("data"), str):
                    self.audio_bytes += len(base64.b64decode(blob["data"], validate=False))
            if isinstance(pick(realtime, "text"), str):
                self.history.append(pick(realtime, "text"))
                return self._turn()
            if pick(realtime, "audioStreamEnd") or pick(realtime, "activityEnd") is not None:
                return self._turn()
            return []
        if pick(message, "toolResponse") is not None:
            self.history.append("(tool response)")
            return self._turn()
        return []

    def _wants_audio(self) -> bool:
        config = pick(self.setup, "generationConfig") or {}
        return "AUDIO" in [str(m).upper() for m in pick(config, "responseModalities") or []]

    def _turn(self) -> list[dict[str, Any]]:
        model = str(pick(self.setup, "model") or "models/gemini-live-2.5-flash-preview")
        system = text_of(pick(pick(self.setup, "systemInstruction") or {}, "parts") or [])
        context = "\n".join([system, *self.history])
        words = reply_words(self.history[-1] if self.history else "", model.rsplit("/", 1)[-1], self.controls.events)
        audio = self._wants_audio()
        transcribe = pick(self.setup, "outputAudioTranscription") is not None
        messages: list[dict[str, Any]] = []
        for word in words:
            content: dict[str, Any] = {}
            if audio:
                content["modelTurn"] = {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000",
                                                                  "data": _AUDIO_CHUNK}}]}  # fmt: skip
                if transcribe:
                    content["outputTranscription"] = {"text": word}
            else:
                content["modelTurn"] = {"parts": [{"text": word}]}
            messages.append({"serverContent": content})
        messages.append({"serverContent": {"generationComplete": True}})
        audio_in = round(self.audio_bytes / 32_000 * 25)  # 16 kHz pcm16 in, about 25 tokens a second
        self.audio_bytes = 0
        text_in = estimate_tokens(context)
        text_out = estimate_tokens("".join(words))
        audio_out = len(words) * 3 if audio else 0  # 100 ms of audio each, about 25 tokens a second
        prompt_details = [{"modality": "TEXT", "tokenCount": text_in}]
        if audio_in:
            prompt_details.append({"modality": "AUDIO", "tokenCount": audio_in})
        response_details = [{"modality": "AUDIO", "tokenCount": audio_out}] if audio else [
            {"modality": "TEXT", "tokenCount": text_out}]
        response_tokens = audio_out if audio else text_out
        usage = {
            "promptTokenCount": text_in + audio_in,
            "responseTokenCount": response_tokens,
            "totalTokenCount": text_in + audio_in + response_tokens,
            "promptTokensDetails": prompt_details,
            "responseTokensDetails": response_details,
        }
        messages.append({"serverContent": {"turnComplete": True}, "usageMetadata": usage})
        self.history.append("".join(words))
        return messages
