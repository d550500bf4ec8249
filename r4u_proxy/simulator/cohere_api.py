"""Cohere v2: `/v2/chat` (JSON, or typed SSE events `message-start` … `message-end`) and `/v2/embed`."""

from __future__ import annotations

from typing import Any

from r4u_proxy.simulator import reply
from r4u_proxy.simulator.openai_api import embedding_vector


def answer(path: str, request: dict[str, Any], stream: bool | None, event_count: int | None) -> reply.Reply:
    model = str(request.get("model") or "")
    if path.endswith("/embed"):
        texts = request.get("texts") or []
        tokens = sum(reply.estimate_tokens(str(t)) for t in texts)
        return reply.json_reply({"id": reply.short_id("", str(texts)), "texts": texts,
                           "embeddings": {"float": [embedding_vector(str(t), 1024) for t in texts]},
                           "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}}})  # fmt: skip
    prompt = reply.request_prompt(request)
    words = reply.reply_words(prompt, model, event_count)
    text = "".join(words)
    usage = {"billed_units": {"input_tokens": reply.estimate_tokens(prompt), "output_tokens": reply.estimate_tokens(text)},
             "tokens": {"input_tokens": reply.estimate_tokens(prompt) + 200, "output_tokens": reply.estimate_tokens(text) + 2}}  # fmt: skip
    message_id = reply.short_id("", prompt)
    streaming = bool(request.get("stream")) if stream is None else stream
    if not streaming:
        return reply.json_reply({"id": message_id, "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
                           "finish_reason": "COMPLETE", "usage": usage})  # fmt: skip

    def event(kind: str, **fields: Any) -> bytes:
        return reply.data_event({"type": kind, **fields}, event=kind)

    empty = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    events = [event("message-start", id=message_id, delta={"message": empty}),
              event("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}})]  # fmt: skip
    events += [event("content-delta", index=0, delta={"message": {"content": {"text": w}}}) for w in words]
    events += [event("content-end", index=0),
               event("message-end", delta={"finish_reason": "COMPLETE", "usage": usage})]  # fmt: skip
    return reply.sse_reply(events)


def error(status: int, message: str) -> reply.Reply:
    return reply.json_reply({"id": reply.short_id("", message), "message": message}, status=status)
