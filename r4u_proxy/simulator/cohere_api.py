"""Cohere v2: `/v2/chat` (JSON, or typed SSE events `message-start` … `message-end`) and `/v2/embed`."""

from __future__ import annotations

from typing import Any

from r4u_proxy.simulator.openai_api import embedding_vector
from r4u_proxy.simulator.reply import (
    Reply,
    data_event,
    estimate_tokens,
    json_reply,
    reply_words,
    request_prompt,
    short_id,
    sse_reply,
)


def reply(path: str, request: dict[str, Any], stream: bool | None, event_count: int | None) -> Reply:
    model = str(request.get("model") or "")
    if path.endswith("/embed"):
        texts = request.get("texts") or []
        tokens = sum(estimate_tokens(str(t)) for t in texts)
        return json_reply({"id": short_id("", str(texts)), "texts": texts,
                           "embeddings": {"float": [embedding_vector(str(t), 1024) for t in texts]},
                           "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}}})  # fmt: skip
    prompt = request_prompt(request)
    words = reply_words(prompt, model, event_count)
    text = "".join(words)
    usage = {"billed_units": {"input_tokens": estimate_tokens(prompt), "output_tokens": estimate_tokens(text)},
             "tokens": {"input_tokens": estimate_tokens(prompt) + 200, "output_tokens": estimate_tokens(text) + 2}}  # fmt: skip
    message_id = short_id("", prompt)
    streaming = bool(request.get("stream")) if stream is None else stream
    if not streaming:
        return json_reply({"id": message_id, "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
                           "finish_reason": "COMPLETE", "usage": usage})  # fmt: skip

    def event(kind: str, **fields: Any) -> bytes:
        return data_event({"type": kind, **fields}, event=kind)

    empty = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    events = [event("message-start", id=message_id, delta={"message": empty}),
              event("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}})]  # fmt: skip
    events += [event("content-delta", index=0, delta={"message": {"content": {"text": w}}}) for w in words]
    events += [event("content-end", index=0),
               event("message-end", delta={"finish_reason": "COMPLETE", "usage": usage})]  # fmt: skip
    return sse_reply(events)


def error(status: int, message: str) -> Reply:
    return json_reply({"id": short_id("", message), "message": message}, status=status)
