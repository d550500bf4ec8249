"""The Realtime API over a WebSocket (`wss://api.openai.com/v1/realtime?model=...`), GA event names.

The session starts with `session.created`; `session.update` merges settings; `conversation.item.create` and
committed input audio add conversation items; each `response.create` is answered with `response.created`, the
output item and content part, text or audio-transcript (and audio) deltas, and `response.done` carrying the
whole response and its usage split into text, audio and cached tokens (the shape of
`openai.types.realtime.RealtimeResponseUsage`). Token counts are estimates: about four characters a text token,
ten input and twenty output audio tokens a second.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any
from urllib.parse import parse_qs

from r4u_proxy.simulator.controls import Controls
from r4u_proxy.simulator.reply import estimate_tokens, reply_words, short_id, text_of

PCM16_24K_BYTES_PER_S = 48_000
_SILENCE_CHUNK = base64.b64encode(b"\x00\x00" * 2400).decode()  # 100 ms of pcm16 at 24 kHz


def _item_text(item: dict[str, Any]) -> str:
    parts = []
    for part in item.get("content") or []:
        if isinstance(part, dict):
            parts.append(part.get("text") or part.get("transcript") or "")
    return " ".join(p for p in parts if p) or text_of(item.get("output") or item.get("arguments") or "")


class RealtimeSocket:
    binary = False

    def __init__(self, query: str, controls: Controls) -> None:
        model = (parse_qs(query).get("model") or ["gpt-realtime"])[0]
        self.controls = controls
        self.session: dict[str, Any] = {
            "type": "realtime",
            "object": "realtime.session",
            "id": short_id("sess_sim", model),
            "model": model,
            "output_modalities": ["audio"],
            "instructions": "",
            "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": 24000}, "transcription": None},
                "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"},
            },
            "tools": [],
        }
        self.items: list[dict[str, Any]] = []
        self.audio_buffer = 0  # bytes of input audio appended since the last commit
        self.audio_seconds = 0.0  # committed input audio not yet counted in a response
        self.previous_input = 0
        self.audio_context_tokens = 0
        self._ids = itertools.count(1)

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "event_id": f"event_sim{next(self._ids)}", **fields}

    def opening(self) -> list[dict[str, Any]]:
        return [self._event("session.created", session=self.session)]

    def answer(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        kind = message.get("type")
        if kind == "session.update":
            update = message.get("session") or {}
            for key, value in update.items():
                if isinstance(value, dict) and isinstance(self.session.get(key), dict):
                    self.session[key] = {**self.session[key], **value}
                else:
                    self.session[key] = value
            return [self._event("session.updated", session=self.session)]
        if kind == "conversation.item.create":
            item = {"id": short_id("item_sim", ""), "object": "realtime.item", "status": "completed",
                    **(message.get("item") or {})}  # fmt: skip
            self.items.append(item)
            previous = self.items[-2]["id"] if len(self.items) > 1 else None
            return [
                self._event("conversation.item.added", previous_item_id=previous, item=item),
                self._event("conversation.item.done", previous_item_id=previous, item=item),
            ]
        if kind == "input_audio_buffer.append":
            self.audio_buffer += len(base64.b64decode(message.get("audio") or "", validate=False))
            return []
        if kind == "input_audio_buffer.commit":
            return self._commit()
        if kind == "response.create":
            return self._respond(message.get("response") or {})
        if kind in ("response.cancel", "input_audio_buffer.clear", "output_audio_buffer.clear"):
            return []
        error = {"type": "invalid_request_error", "code": "unknown_event",
                 "message": f"Invalid value: {kind!r}", "param": "type", "event_id": message.get("event_id")}  # fmt: skip
        return [self._event("error", error=error)]

    def _commit(self) -> list[dict[str, Any]]:
        seconds = self.audio_buffer / PCM16_24K_BYTES_PER_S
        self.audio_buffer = 0
        self.audio_seconds += seconds
        item = {"id": short_id("item_sim", ""), "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [{"type": "input_audio", "transcript": None}]}  # fmt: skip
        self.items.append(item)
        events = [
            self._event("input_audio_buffer.committed", previous_item_id=None, item_id=item["id"]),
            self._event("conversation.item.added", previous_item_id=None, item=item),
        ]
        if (self.session["audio"]["input"] or {}).get("transcription"):
            transcript = f"(simulated transcript of {seconds * 1000:.0f} ms of audio)"
            item["content"][0]["transcript"] = transcript
            events.append(self._event(
                "conversation.item.input_audio_transcription.completed", item_id=item["id"], content_index=0,
                transcript=transcript, usage={"type": "duration", "seconds": round(seconds, 3)},
            ))  # fmt: skip
        return events

    def _respond(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        modalities = params.get("output_modalities") or self.session.get("output_modalities") or ["audio"]
        audio = "audio" in modalities
        instructions = params.get("instructions") or self.session.get("instructions") or ""
        context = " ".join([instructions, *(_item_text(i) for i in self.items)])
        words = reply_words(context, str(self.session["model"]), self.controls.events)
        text = "".join(words)
        response_id, item_id = short_id("resp_sim", context), short_id("item_sim", context)
        part_type, delta_kind = ("output_audio", "response.output_audio_transcript") if audio else (
            "output_text", "response.output_text")
        text_key = "transcript" if audio else "text"
        where = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": "in_progress", "content": []}  # fmt: skip
        base = {"object": "realtime.response", "id": response_id, "conversation_id": "conv_sim",
                "output_modalities": modalities, "metadata": params.get("metadata")}  # fmt: skip
        events = [
            self._event("response.created", response={**base, "status": "in_progress", "output": [], "usage": None}),
            self._event("response.output_item.added", response_id=response_id, output_index=0, item=item),
            self._event("conversation.item.added", previous_item_id=None, item=item),
            self._event("response.content_part.added", **where, part={"type": part_type, text_key: ""}),
        ]
        for word in words:
            if audio:
                events.append(self._event("response.output_audio.delta", **where, delta=_SILENCE_CHUNK))
            events.append(self._event(f"{delta_kind}.delta", **where, delta=word))
        if audio:
            events.append(self._event("response.output_audio.done", **where))
        done_item = {**item, "status": "completed", "content": [{"type": part_type, text_key: text}]}
        events += [
            self._event(f"{delta_kind}.done", **where, **{text_key: text}),
            self._event("response.content_part.done", **where, part={"type": part_type, text_key: text}),
            self._event("response.output_item.done", response_id=response_id, output_index=0, item=done_item),
            self._event("conversation.item.done", previous_item_id=None, item=done_item),
        ]
        usage = self._usage(instructions, text, audio, len(words))
        final = {**base, "status": "completed", "status_details": None, "output": [done_item], "usage": usage}
        events.append(self._event("response.done", response=final))
        self.items.append(done_item)
        return events

    def _usage(self, instructions: str, text: str, audio: bool, chunks: int) -> dict[str, Any]:
        """The whole conversation so far is the input; what earlier responses already saw is cached."""
        self.audio_context_tokens += round(self.audio_seconds * 10)
        self.audio_seconds = 0.0
        text_in = estimate_tokens(" ".join([instructions, *(_item_text(i) for i in self.items)]))
        input_tokens = text_in + self.audio_context_tokens
        cached = min((self.previous_input // 64) * 64, text_in)
        text_out = estimate_tokens(text)
        audio_out = round(chunks * 0.1 * 20) if audio else 0
        self.previous_input = input_tokens
        return {
            "total_tokens": input_tokens + text_out + audio_out,
            "input_tokens": input_tokens,
            "output_tokens": text_out + audio_out,
            "input_token_details": {
                "text_tokens": text_in, "audio_tokens": self.audio_context_tokens, "image_tokens": 0,
                "cached_tokens": cached,
                "cached_tokens_details": {"text_tokens": cached, "audio_tokens": 0, "image_tokens": 0},
            },
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }  # fmt: skip
