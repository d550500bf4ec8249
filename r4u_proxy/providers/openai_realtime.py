"""OpenAI Realtime API (`wss://api.openai.com/v1/realtime`): one trace per model response on the socket.

There is no HTTP request: r4u_proxy/ingest/ws_turns.py builds one from the session settings and the
conversation (`{"model", "instructions", "tools", ..., "input": [items], "response": {create params}}`), and
the response body is the `response.done` event's response object. Its events are the Responses API's item
and part events under other names (GA `response.output_text.*` / `response.output_audio_transcript.*`, beta
`response.text.*` / `response.audio_transcript.*`), so the Responses reassembly is reused with those names.
Usage counts text, audio and cached tokens apart, and audio costs several times text.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.providers import openai_responses
from r4u_proxy.providers.common import audio_token_columns, error_message, flatten_text, token_columns

FAMILY = "openai_realtime"


def request_info(body: dict, path: str = "") -> dict:
    return {"request_model": body.get("model"), "stream": True}


def _content_text(content: Any) -> str:
    """Text of an item's content parts, audio parts by their transcript."""
    pieces = []
    for part in content or []:
        if isinstance(part, dict):
            text = part.get("transcript") if part.get("transcript") is not None else flatten_text(part)
            if text:
                pieces.append(text)
        elif isinstance(part, str):
            pieces.append(part)
    return "\n".join(pieces)


def prompt_parts(body: dict) -> dict:
    return openai_responses.prompt_parts(body, content_text=_content_text)


_TEXT_PART = ("text", "content", "content_index")
_AUDIO_DELTAS = frozenset({"response.output_audio.delta", "response.audio.delta"})
_TRANSCRIPT_PART = ("transcript", "content", "content_index")


class Stream(openai_responses.Stream):
    TERMINAL = ("response.done",)
    SNAPSHOTS = ("response.created",)
    ITEM_FIELDS = {
        **openai_responses.Stream.ITEM_FIELDS,
        "response.output_audio_transcript": _TRANSCRIPT_PART,
        "response.audio_transcript": _TRANSCRIPT_PART,  # beta names
        "response.text": _TEXT_PART,
    }
    OBJECT = "realtime.response"

    def add(self, event: str | None, data: Any) -> bool:
        carried = super().add(event, data)
        if isinstance(data, dict) and data.get("type") in _AUDIO_DELTAS and data.get("delta"):
            carried = True  # first audio is the first content a listener gets (the audio is not kept)
        if self.final is not None and self.final.get("status") in ("failed", "cancelled"):
            details = self.final.get("status_details") or {}
            self.error = error_message(details) or self.error or f"response {self.final['status']}"
        return carried


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    # Audio parts count by their transcript.
    text = openai_responses.output_text(body.get("output"), lambda part: _content_text([part]))
    details = body.get("status_details") or {}
    status = body.get("status")
    result = {
        "response_model": body.get("model"),
        "completion_text": text or None,
        "finish_reason": (details.get("reason") if isinstance(details, dict) else None) or status,
    }
    result.update(realtime_usage(body.get("usage")))
    return result


def realtime_usage(usage: Any) -> dict[str, int]:
    """`input_tokens` and `output_tokens` already include audio and cached tokens; the details split them."""
    if not isinstance(usage, dict):
        return {}
    given = usage.get("input_token_details")
    made = usage.get("output_token_details")
    inputs = given if isinstance(given, dict) else {}
    outputs = made if isinstance(made, dict) else {}
    cached = inputs.get("cached_tokens_details")
    cached_details = cached if isinstance(cached, dict) else {}
    return {
        **token_columns(
            input_tokens=usage.get("input_tokens"),
            output_tokens=usage.get("output_tokens"),
            cache_read=inputs.get("cached_tokens"),
        ),
        **audio_token_columns(
            input_audio=inputs.get("audio_tokens"),
            output_audio=outputs.get("audio_tokens"),
            cache_audio_read=cached_details.get("audio_tokens"),
        ),
    }
