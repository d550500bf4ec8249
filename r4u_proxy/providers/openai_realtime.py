"""OpenAI Realtime API (`wss://api.openai.com/v1/realtime`): one trace per model response on the socket.

There is no HTTP request: r4u_proxy/ingest/ws_turns.py builds one from the session settings and the
conversation (`{"model", "instructions", "tools", ..., "input": [items], "response": {create params}}`), and
the response body is the `response.done` event's response object. Its items are the Responses API's
(`message`, `function_call`, `function_call_output`) except that content parts may be audio with a
transcript; `responses_shape` turns those into text parts, and every reading of a body (prompt, summary,
chat, canonical messages, export) is then the Responses family's own. Its events are the Responses API's
item and part events under other names (GA `response.output_text.*` / `response.output_audio_transcript.*`,
beta `response.text.*` / `response.audio_transcript.*`), so the Responses reassembly is reused with those
names. Usage counts text, audio and cached tokens apart, and audio costs several times text.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.providers import openai_responses
from r4u_proxy.providers.base import Message
from r4u_proxy.providers.common import audio_token_columns, error_message, token_columns

FAMILY = "openai_realtime"
MESSAGES_KEY = "input"  # the conversation items so far (sessions' hashing)

# Content parts that are audio; with a transcript they read as their transcript.
_AUDIO_PARTS = frozenset({"input_audio", "output_audio", "audio"})


def _text_part(part: Any) -> Any:
    if isinstance(part, dict) and part.get("type") in _AUDIO_PARTS and isinstance(part.get("transcript"), str):
        return {"type": "text", "text": part["transcript"]}
    return part


def _item(item: Any) -> Any:
    if isinstance(item, dict) and isinstance(item.get("content"), list):
        return {**item, "content": [_text_part(part) for part in item["content"]]}
    return item


def responses_shape(body: Any, key: str) -> Any:
    """`body` with the items under `key` ("input" or "output") in the Responses API's shape."""
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        return body
    return {**body, key: [_item(item) for item in body[key]]}


def request_info(body: dict, path: str = "") -> dict:
    return {"request_model": body.get("model"), "stream": True}


def prompt_parts(body: dict) -> dict:
    return openai_responses.prompt_parts(responses_shape(body, "input"))


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

    def add_object(self, event: str | None, data: dict) -> bool:
        carried = super().add_object(event, data)
        if data.get("type") in _AUDIO_DELTAS and data.get("delta"):
            carried = True  # first audio is the first content a listener gets (the audio is not kept)
        if self.final is not None and self.final.get("status") in ("failed", "cancelled"):
            details = self.final.get("status_details") or {}
            self.error = error_message(details) or self.error or f"response {self.final['status']}"
        return carried


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    result = openai_responses.summary(responses_shape(body, "output"))
    details = body.get("status_details")
    result["finish_reason"] = (details.get("reason") if isinstance(details, dict) else None) or body.get("status")
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


# --- the chat, canonical messages (sessions) and GenAI messages (export): the Responses family's -------------


def request_messages(body: dict) -> list[Message]:
    return openai_responses.request_messages(responses_shape(body, "input"))


def response_messages(body: Any) -> list[Message]:
    return openai_responses.response_messages(responses_shape(body, "output"))


def canonical_message(item: Any) -> dict | None:
    return openai_responses.canonical_message(_item(item))


def system_parts(body: dict) -> list[dict]:
    return openai_responses.system_parts(body)


def output_messages(body: Any) -> list[dict]:
    return openai_responses.output_messages(responses_shape(body, "output"))


def genai_input(body: dict) -> dict:
    return openai_responses.genai_input(responses_shape(body, "input"))


def genai_output(body: Any) -> list[dict]:
    return openai_responses.genai_output(responses_shape(body, "output"))
