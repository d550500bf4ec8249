"""Anthropic Messages API answers (`POST /v1/messages`), JSON and event stream."""

from __future__ import annotations

from typing import Any

from r4u_proxy.simulator.reply import (
    Reply,
    data_event,
    estimate_tokens,
    json_reply,
    reply_words,
    short_id,
    sse_reply,
    text_of,
)


def _prompt(request: dict[str, Any]) -> str:
    parts = [text_of(request.get("system") or "")]
    parts += [text_of(m.get("content")) for m in request.get("messages") or [] if isinstance(m, dict)]
    return "\n".join(p for p in parts if p)


def messages(request: dict[str, Any], stream: bool, event_count: int | None) -> Reply:
    model = str(request.get("model") or "")
    prompt = _prompt(request)
    user_turns = [m for m in request.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    words = reply_words(text_of(user_turns[-1].get("content")) if user_turns else prompt, model, event_count)
    text = "".join(words)
    input_tokens, output_tokens = estimate_tokens(prompt), estimate_tokens(text)
    usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }
    message = {
        "id": short_id("msg_sim", prompt),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    if not stream:
        return json_reply(message)

    def event(kind: str, **fields: Any) -> bytes:
        return data_event({"type": kind, **fields}, event=kind)

    # message_start carries the input side of usage; output tokens arrive in message_delta, as upstream.
    started = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events = [
        event("message_start", message=started),
        event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        event("ping"),
    ]
    events += [
        event("content_block_delta", index=0, delta={"type": "text_delta", "text": word}) for word in words
    ]
    events += [
        event("content_block_stop", index=0),
        event("message_delta", delta={"stop_reason": "end_turn", "stop_sequence": None},
              usage={"output_tokens": output_tokens}),
        event("message_stop"),
    ]
    return sse_reply(events)


def error(status: int, message: str) -> Reply:
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        529: "overloaded_error",
    }
    payload = {"type": "error", "error": {"type": kinds.get(status, "api_error"), "message": message}}
    headers = [("retry-after", "1")] if status == 429 else []
    return json_reply(payload, status=status, headers=headers)
