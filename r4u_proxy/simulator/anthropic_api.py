"""Anthropic Messages API answers (`POST /v1/messages`), JSON and event stream."""

from __future__ import annotations

import json
from typing import Any

from r4u_proxy.simulator import reply
from r4u_proxy.simulator.tool_plan import ToolCall


def _prompt(request: dict[str, Any]) -> str:
    parts = [reply.text_of(request.get("system") or "")]
    parts += [reply.text_of(m.get("content")) for m in request.get("messages") or [] if isinstance(m, dict)]
    return "\n".join(p for p in parts if p)


def messages(request: dict[str, Any], stream: bool, event_count: int | None, call: ToolCall | None = None) -> reply.Reply:
    model = str(request.get("model") or "")
    prompt = _prompt(request)
    user_turns = [m for m in request.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    words = reply.reply_words(reply.text_of(user_turns[-1].get("content")) if user_turns else prompt, model, event_count)
    text = "".join(words)
    block: dict[str, Any] = {"type": "text", "text": text}
    if call is not None:  # an agent turn: the model asks for a tool (tool_plan.py)
        arguments = json.dumps(call["arguments"])
        block = {"type": "tool_use", "id": reply.short_id("toolu_sim", prompt), "name": call["name"], "input": call["arguments"]}
        words, text = [arguments], arguments
    input_tokens, output_tokens = reply.estimate_tokens(prompt), reply.estimate_tokens(text)
    usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }
    message = {
        "id": reply.short_id("msg_sim", prompt),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [block],
        "stop_reason": "tool_use" if call is not None else "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    if not stream:
        return reply.json_reply(message)

    def event(kind: str, **fields: Any) -> bytes:
        return reply.data_event({"type": kind, **fields}, event=kind)

    # message_start carries the input side of usage; output tokens arrive in message_delta, as upstream.
    started = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    opening = {**block, "input": {}} if call is not None else {"type": "text", "text": ""}
    events = [
        event("message_start", message=started),
        event("content_block_start", index=0, content_block=opening),
        event("ping"),
    ]
    delta = (lambda w: {"type": "input_json_delta", "partial_json": w}) if call else (lambda w: {"type": "text_delta", "text": w})
    events += [event("content_block_delta", index=0, delta=delta(word)) for word in words]
    events += [
        event("content_block_stop", index=0),
        event("message_delta", delta={"stop_reason": message["stop_reason"], "stop_sequence": None},
              usage={"output_tokens": output_tokens}),
        event("message_stop"),
    ]
    return reply.sse_reply(events)


def error(status: int, message: str) -> reply.Reply:
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
    return reply.json_reply(payload, status=status, headers=headers)
