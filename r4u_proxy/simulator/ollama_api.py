"""Ollama's own API: `/api/chat`, `/api/generate` (NDJSON streams, streaming unless `"stream": false`),
`/api/embed` and the legacy `/api/embeddings`."""

from __future__ import annotations

import json
import time
from typing import Any

from r4u_proxy.simulator.openai_api import embedding_vector
from r4u_proxy.simulator.reply import (
    Reply,
    estimate_tokens,
    json_reply,
    reply_words,
    request_prompt,
)

NDJSON_TYPE = "application/x-ndjson"


def reply(path: str, request: dict[str, Any], stream: bool | None, event_count: int | None) -> Reply:
    model = str(request.get("model") or "")
    created = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    if path.startswith("/api/embed"):
        given = request.get("input", request.get("prompt"))
        texts = given if isinstance(given, list) else [given]
        vectors = [embedding_vector(str(t), 768) for t in texts]
        if path == "/api/embeddings":  # the legacy endpoint: one prompt, one vector
            return json_reply({"embedding": vectors[0]})
        count = sum(estimate_tokens(str(t)) for t in texts)
        return json_reply({"model": model, "embeddings": vectors, "total_duration": 1, "load_duration": 1,
                           "prompt_eval_count": count})  # fmt: skip
    prompt = request_prompt(request)
    words = reply_words(prompt, model, event_count)
    chat = path == "/api/chat"
    streaming = bool(request.get("stream", True)) if stream is None else stream

    def piece(text: str) -> dict[str, Any]:
        content = {"message": {"role": "assistant", "content": text}} if chat else {"response": text}
        return {"model": model, "created_at": created, **content, "done": False}

    final = {**piece("" if streaming else "".join(words)), "done": True, "done_reason": "stop",
             "total_duration": 1000000, "load_duration": 1000, "prompt_eval_count": estimate_tokens(prompt),
             "prompt_eval_duration": 1000, "eval_count": len(words), "eval_duration": 1000}  # fmt: skip
    if not streaming:
        return json_reply(final)
    lines = [json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in [*map(piece, words), final]]
    return Reply(status=200, headers=[("content-type", NDJSON_TYPE)], events=lines)


def error(status: int, message: str) -> Reply:
    return json_reply({"error": message}, status=status)
