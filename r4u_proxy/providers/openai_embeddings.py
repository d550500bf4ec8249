"""OpenAI-style embeddings (`/v1/embeddings`): never streamed; the vectors themselves are not text."""

from __future__ import annotations

from typing import Any

from r4u_proxy.providers import transcript
from r4u_proxy.providers.base import Message, StreamBase
from r4u_proxy.providers.common import openai_usage, request_fields, tier_field

FAMILY = "openai_embeddings"


def request_info(body: dict, path: str = "") -> dict:
    return {**request_fields(body), "stream": False}


def prompt_parts(body: dict) -> dict:
    given = body.get("input")
    inputs = given if isinstance(given, list) else [given]
    turns = [{"role": "user", "text": text} for text in inputs if isinstance(text, str)]
    return {"system": None, "turns": turns, "tools": []}


class Stream(StreamBase):
    """Embeddings do not stream; this exists so every family has the same shape."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict = {}

    def add_object(self, event: str | None, data: dict) -> bool:
        self.last = data
        return False

    def body(self) -> dict:
        return self.last


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    vectors = [d for d in body.get("data") or [] if isinstance(d, dict)]
    result = {
        "response_model": body.get("model"),
        "completion_text": f"[{len(vectors)} embedding(s)]",
        **tier_field(body),
    }
    result.update(openai_usage(body.get("usage")))
    return result


def request_messages(body: dict) -> list[Message]:
    given = body.get("input")
    inputs = given if isinstance(given, list) else [given]
    return [transcript.message("user", [transcript.part("text", str(text)) for text in inputs])]


def response_messages(body: Any) -> list[Message]:
    return []  # vectors, not words
