"""Hugging Face Text Generation Inference: `/generate`, `/generate_stream` and the Inference API's
`/models/{id}` text-generation task (which answers a list)."""

from __future__ import annotations

import json
from typing import Any

from r4u_proxy.simulator import reply


def generate(path: str, request: dict[str, Any], stream: bool | None, event_count: int | None) -> reply.Reply:
    prompt = reply.request_prompt(request)
    words = reply.reply_words(prompt, "tgi", event_count)
    text = "".join(words)
    parameters = request.get("parameters") or {}
    details = {"finish_reason": "length" if event_count else "eos_token", "generated_tokens": len(words),
               "seed": None}  # fmt: skip
    streaming = (
        (path.endswith("/generate_stream") or bool(request.get("stream"))) if stream is None else stream
    )
    if not streaming:
        body: dict[str, Any] = {"generated_text": text}
        if parameters.get("details") or path.endswith("/generate"):
            body["details"] = {**details, "prefill": [], "tokens": []}
        return reply.json_reply([body] if "/models/" in path else body)
    events = []
    for index, word in enumerate(words, start=1):
        last = index == len(words)
        event = {"index": index, "token": {"id": index, "text": word, "logprob": -0.5, "special": False},
                 "generated_text": text if last else None, "details": details if last else None}  # fmt: skip
        events.append(b"data:" + json.dumps(event).encode() + b"\n\n")  # TGI writes no space after "data:"
    return reply.sse_reply(events)


def error(status: int, message: str) -> reply.Reply:
    kinds = {400: "validation", 422: "validation", 424: "generation", 429: "overloaded"}
    return reply.json_reply({"error": message, "error_type": kinds.get(status, "generation")}, status=status)
