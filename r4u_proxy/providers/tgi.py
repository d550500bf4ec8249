"""Hugging Face Text Generation Inference: `/generate`, `/generate_stream` (self-hosted TGI, Inference
Endpoints) and the serverless Inference API's text-generation task (`/models/{org}/{model}`).

The request is `{"inputs": …, "parameters": {…}, "stream": …}`. A stream sends one SSE event per token
(`{"index", "token": {"id", "text", "logprob", "special"}, "generated_text": null, "details": null}`); the
last also carries `generated_text` and, with `details`, the finish reason and counts. Reassembly gives
/generate's body: `{"generated_text", "details": {…, "tokens": [...]}}`. Errors are
`{"error": "…", "error_type": "validation" | "overloaded" | …}`, in a stream or as the body.
"""

from __future__ import annotations

import re
from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers.base import Choice, StreamBase
from r4u_proxy.providers.common import error_message, flatten_text, token_columns

FAMILY = "tgi"
_MODEL_IN_PATH = re.compile(r"/models/([^:]+?)(?:/pipeline/[\w-]+)?$")


def request_info(body: dict, path: str = "") -> dict:
    match = _MODEL_IN_PATH.search(path or "")
    return {
        "request_model": match.group(1) if match else body.get("model"),
        "stream": bool(body.get("stream")) or (path or "").endswith("/generate_stream"),
    }


def prompt_parts(body: dict) -> dict:
    given = body.get("inputs")
    texts = given if isinstance(given, list) else [given]
    turns = [{"role": "user", "text": flatten_text(t)} for t in texts if isinstance(t, str) and t]
    return {"system": None, "turns": turns, "tools": []}


class Stream(StreamBase):
    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.tokens: list[dict] = []
        self.final: dict = {}

    def add_object(self, event: str | None, data: dict) -> bool:
        if data.get("error"):
            self.error = error_message(data) or self.error
            return False
        token = data.get("token")
        produced = False
        if isinstance(token, dict):
            self.tokens.append(token)
            if not token.get("special"):
                self.text += token.get("text") or ""
                produced = bool(token.get("text"))
        for key in ("generated_text", "details"):
            if data.get(key) is not None:
                self.final[key] = data[key]
        return produced

    def body(self) -> dict:
        details = dict(self.final.get("details") or {})
        details["tokens"] = self.tokens
        generated = self.final.get("generated_text")
        return {"generated_text": generated if isinstance(generated, str) else self.text, "details": details}


def _generated(body: Any) -> dict | None:
    if isinstance(body, list) and body and isinstance(body[0], dict):  # the Inference API answers a list
        body = body[0]
    return body if isinstance(body, dict) and isinstance(body.get("generated_text"), str) else None


def summary(body: Any) -> dict:
    body = _generated(body)
    if body is None:
        return {}
    details = body.get("details") or {}
    prefill = details.get("prefill") or []
    input_tokens = details.get("input_length", len(prefill) if prefill else None)
    # A stream sends one event per generated token (end-of-sequence included), so without `details` the
    # reassembled token list is the count /generate would report.
    output_tokens = details.get("generated_tokens", len(details.get("tokens") or []) or None)
    result = {"completion_text": body["generated_text"] or None, "finish_reason": details.get("finish_reason")}
    result.update(token_columns(input_tokens, output_tokens))
    return result


# --- canonical messages: the request reads as its `prompt_parts` turns (no message list of its own) ---------


def response_choices(body: Any) -> list[Choice]:
    body = _generated(body)
    if body is None:
        return []
    said = canonical.message("assistant", [canonical.text(body["generated_text"])])
    return [{"messages": [said], "finish_reason": (body.get("details") or {}).get("finish_reason")}]
