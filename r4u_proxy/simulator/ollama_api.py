"""Ollama's own API: `/api/chat`, `/api/generate` (NDJSON streams, streaming unless `"stream": false`),
`/api/embed` and the legacy `/api/embeddings`."""

from __future__ import annotations

import json
import time
from typing import Any

from r4u_proxy.simulator import reply
from r4u_proxy.simulator.openai_api import embedding_vector

NDJSON_TYPE = "application/x-ndjson"


def answer(path: str, request: dict[str, Any], stream: bool | None, event_count: int | None) -> reply.Reply:
    model = str(request.get("model") or "")
    created = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    if path.startswith("/api/embed"):
        given = request.get("input", request.get("prompt"))
        texts = given if isinstance(given, list) else [given]
        vectors = [embedding_vector(str(t), 768) for t in texts]
        if path == "/api/embeddings":  # the legacy endpoint: one prompt, one vector
            return reply.json_reply({"embedding": vectors[0]})
        count = sum(reply.estimate_tokens(str(t)) for t in texts)
        return reply.json_reply({"model": model, "embeddings": vectors, "total_duration": 1, "load_duration": 1,
                           "prompt_eval_count": count})  # fmt: skip
    prompt = reply.request_prompt(request)
    words = reply.reply_words(prompt, model, event_count)
    chat = path == "/api/chat"
    streaming = bool(request.get("stream", True)) if stream is None else stream

    def piece(text: str) -> dict[str, Any]:
        content = {"message": {"role": "assistant", "content": text}} if chat else {"response": text}
        return {"model": model, "created_at": created, **content, "done": False}

    final = {**piece("" if streaming else "".join(words)), "done": True, "done_reason": "stop",
             "total_duration": 1000000, "load_duration": 1000, "prompt_eval_count": reply.estimate_tokens(prompt),
             "prompt_eval_duration": 1000, "eval_count": len(words), "eval_duration": 1000}  # fmt: skip
    if not streaming:
        return reply.json_reply(final)
    lines = [json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in [*map(piece, words), final]]
    return reply.Reply(status=200, headers=[("content-type", NDJSON_TYPE)], events=lines)


def error(status: int, message: str) -> reply.Reply:
    return reply.json_reply({"error": message}, status=status)
