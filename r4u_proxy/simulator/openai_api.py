"""OpenAI-shaped answers: chat completions, responses, embeddings (also used for OpenAI-compatible hosts)."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import time
from typing import Any

from r4u_proxy.simulator import reply
from r4u_proxy.simulator.tool_plan import ToolCall


def _chat_prompt(request: dict[str, Any]) -> str:
    messages = request.get("messages") or []
    return "\n".join(reply.text_of(m.get("content")) for m in messages if isinstance(m, dict))


def _last_user_text(request: dict[str, Any]) -> str:
    for message in reversed(request.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return reply.text_of(message.get("content"))
    return _chat_prompt(request)


def _chat_usage(prompt: str, completion: str) -> dict[str, Any]:
    prompt_tokens, completion_tokens = reply.estimate_tokens(prompt), reply.estimate_tokens(completion)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def chat_completions(
    request: dict[str, Any], stream: bool, event_count: int | None, call: ToolCall | None = None
) -> reply.Reply:
    model = str(request.get("model") or "")
    prompt = _chat_prompt(request)
    words = reply.reply_words(_last_user_text(request), model, event_count)
    completion = "".join(words)
    tool_calls = None
    if call is not None:  # an agent turn: the model asks for a tool (tool_plan.py)
        function = {"name": call["name"], "arguments": json.dumps(call["arguments"])}
        tool_calls = [{"id": reply.short_id("call_sim", prompt)[:29], "type": "function", "function": function}]
        words, completion = [], function["arguments"]
    finish = "tool_calls" if call is not None else "stop"
    message: dict[str, Any] = {"role": "assistant", "content": None if call else completion, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    common = {
        "id": reply.short_id("chatcmpl-sim", prompt),
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_simulator",
    }
    if not stream:
        return reply.json_reply({
            **common,
            "object": "chat.completion",
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish,
            }],
            "usage": _chat_usage(prompt, completion),
        })

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return reply.data_event({**common, "object": "chat.completion.chunk", "choices": [choice]})

    events = [chunk({"role": "assistant", "content": None if call else "", "refusal": None})]
    events += [chunk({"content": word}) for word in words]
    if tool_calls:
        events.append(chunk({"tool_calls": [{"index": 0, **tool_calls[0]}]}))
    events.append(chunk({}, finish=finish))
    if (request.get("stream_options") or {}).get("include_usage"):
        usage = _chat_usage(prompt, completion)
        events.append(reply.data_event({**common, "object": "chat.completion.chunk", "choices": [], "usage": usage}))
    events.append(reply.data_event("[DONE]"))
    return reply.sse_reply(events)


def _responses_prompt(request: dict[str, Any]) -> str:
    parts = [reply.text_of(request.get("instructions") or "")]
    items = request.get("input")
    if isinstance(items, str):
        parts.append(items)
    elif isinstance(items, list):
        parts += [reply.text_of(item.get("content")) for item in items if isinstance(item, dict)]
    return "\n".join(p for p in parts if p)


def response_events(
    request: dict[str, Any], event_count: int | None, call: ToolCall | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The final response object and the typed events that stream it (`response.created` ...
    `response.completed`): sent as SSE `data:` lines over HTTP and as text messages over a WebSocket."""
    model = str(request.get("model") or "")
    prompt = _responses_prompt(request)
    words = reply.reply_words(prompt, model, event_count)
    text = "".join(words)
    response_id, item_id = reply.short_id("resp_sim", prompt), reply.short_id("msg_sim", prompt)
    if call is not None:  # an agent turn: the model asks for a tool (tool_plan.py)
        return _responses_tool_call(request, call, response_id, item_id)
    input_tokens, output_tokens = reply.estimate_tokens(prompt), reply.estimate_tokens(text)
    usage = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }
    part = {"type": "output_text", "text": text, "annotations": []}
    item = {"type": "message", "id": item_id, "status": "completed", "role": "assistant", "content": [part]}
    base = {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "model": model,
        "instructions": request.get("instructions"),
        "error": None,
        "incomplete_details": None,
    }
    final = {**base, "status": "completed", "output": [item], "usage": usage}
    pending = {**base, "status": "in_progress", "output": [], "usage": None}
    sequence = iter(range(10**9))

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "sequence_number": next(sequence), **fields}

    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    events = [
        event("response.created", response=pending),
        event("response.in_progress", response=pending),
        event("response.output_item.added", output_index=0,
              item={**item, "status": "in_progress", "content": []}),
        event("response.content_part.added", **where, part={**part, "text": ""}),
    ]
    events += [event("response.output_text.delta", **where, delta=word) for word in words]
    events += [
        event("response.output_text.done", **where, text=text),
        event("response.content_part.done", **where, part=part),
        event("response.output_item.done", output_index=0, item=item),
        event("response.completed", response=final),
    ]
    return final, events


def responses(
    request: dict[str, Any], stream: bool, event_count: int | None, call: ToolCall | None = None
) -> reply.Reply:
    final, events = response_events(request, event_count, call)
    if not stream:
        return reply.json_reply(final)
    return reply.sse_reply([reply.data_event(e, event=e["type"]) for e in events])


def _responses_tool_call(
    request: dict[str, Any], call: ToolCall, response_id: str, item_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    arguments = json.dumps(call["arguments"])
    item = {"type": "function_call", "id": item_id.replace("msg_", "fc_"), "call_id": reply.short_id("call_sim", item_id)[:29],
            "name": call["name"], "arguments": arguments, "status": "completed"}
    input_tokens, output_tokens = reply.estimate_tokens(_responses_prompt(request)), reply.estimate_tokens(arguments)
    usage = {
        "input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }  # fmt: skip
    base = {"id": response_id, "object": "response", "created_at": int(time.time()),
            "model": str(request.get("model") or ""), "error": None, "incomplete_details": None}  # fmt: skip
    final = {**base, "status": "completed", "output": [item], "usage": usage}
    sequence = iter(range(10**9))

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "sequence_number": next(sequence), **fields}

    pending = {**base, "status": "in_progress", "output": [], "usage": None}
    return final, [
        event("response.created", response=pending),
        event("response.output_item.added", output_index=0, item={**item, "arguments": "", "status": "in_progress"}),
        event("response.function_call_arguments.delta", item_id=item["id"], output_index=0, delta=arguments),
        event("response.function_call_arguments.done", item_id=item["id"], output_index=0, arguments=arguments),
        event("response.output_item.done", output_index=0, item=item),
        event("response.completed", response=final),
    ]


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A repeatable unit-ish vector derived from the text, so equal inputs embed equally."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values += [(b - 127.5) / 127.5 for b in digest]
        counter += 1
    return [round(v / (dimensions**0.5), 6) for v in values[:dimensions]]


def embeddings(request: dict[str, Any]) -> reply.Reply:
    model = str(request.get("model") or "")
    raw_inputs = request.get("input")
    inputs = raw_inputs if isinstance(raw_inputs, list) else [raw_inputs]
    texts = [item if isinstance(item, str) else " ".join(map(str, item or [])) for item in inputs]
    dimensions = int(request.get("dimensions") or 1536)
    as_base64 = request.get("encoding_format") == "base64"  # what the openai SDK asks for by default
    data = []
    for index, text in enumerate(texts):
        vector = embedding_vector(text, dimensions)
        encoded: Any = vector
        if as_base64:
            encoded = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(reply.estimate_tokens(t) for t in texts)
    return reply.json_reply({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })


def models() -> reply.Reply:
    names = ("gpt-4o", "gpt-4o-mini", "gpt-5", "text-embedding-3-small")
    return reply.json_reply({
        "object": "list",
        "data": [{"id": n, "object": "model", "created": 1700000000, "owned_by": "r4u-simulator"} for n in names],
    })


def error(status: int, message: str) -> reply.Reply:
    kinds = {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("permission_error", None),
        404: ("invalid_request_error", "not_found"),
        429: ("rate_limit_exceeded", "rate_limit_exceeded"),
    }
    kind, code = kinds.get(status, ("server_error", None))
    headers = [("retry-after", "1")] if status == 429 else []
    payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return reply.json_reply(payload, status=status, headers=headers)
