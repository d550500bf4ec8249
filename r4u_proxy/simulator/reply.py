"""What a simulated endpoint answers, before the x-sim-* delivery controls are applied.

A `Reply` is either a whole body or a list of stream pieces (one SSE event each). The server decides how to
deliver it (chunking, gaps, encoding, resets); the per-provider modules only decide what to say.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream; charset=utf-8"

_WORDS = (
    "Sure", "here", "is", "a", "simulated", "answer", "from", "the", "local", "r4u", "upstream", "about",
    "your", "request", "with", "some", "plausible", "words", "so", "streams", "have", "several", "events",
)


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None  # a whole body, sent with Content-Length
    events: list[bytes] | None = None  # stream pieces, sent chunked, one write (and flush) each

    @property
    def is_stream(self) -> bool:
        return self.events is not None


def json_reply(payload: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Reply:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return Reply(status=status, headers=[("content-type", JSON_TYPE), *(headers or [])], body=body)


def sse_reply(events: list[bytes], headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(
        status=200,
        headers=[("content-type", SSE_TYPE), ("cache-control", "no-cache"), *(headers or [])],
        events=events,
    )


def data_event(payload: Any, event: str | None = None, newline: bytes = b"\n") -> bytes:
    """One SSE event: optional `event:` line, one `data:` line, blank line."""
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {event}".encode() + newline if event else b""
    return head + b"data: " + data.encode() + newline + newline


def estimate_tokens(text: str) -> int:
    """About four characters per token, like the providers' rule of thumb; never zero for real text."""
    return max(1, (len(text) + 3) // 4) if text else 0


def text_of(content: Any) -> str:
    """Flatten a message `content` (a string or a list of parts in any provider's shape) to text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(text_of(part) for part in content)
    if isinstance(content, dict):
        for key in ("text", "content", "input_text", "parts"):
            if key in content:
                return text_of(content[key])
    return ""


def request_prompt(request: dict[str, Any]) -> str:
    """The text of a request in any of the simulated APIs' shapes (messages, prompt, inputs, texts, …)."""
    parts = [text_of(request.get("system") or request.get("preamble") or "")]
    parts += [text_of(m.get("content")) for m in request.get("messages") or [] if isinstance(m, dict)]
    for key in ("prompt", "inputs", "inputText", "message"):
        if isinstance(request.get(key), str):
            parts.append(request[key])
    parts += [t for t in request.get("texts") or [] if isinstance(t, str)]
    return "\n".join(p for p in parts if p)


def reply_words(prompt: str, model: str, count: int | None) -> list[str]:
    """The pieces of the answer, each a content delta: `count` words if given, else a short sentence.

    Derived from the prompt so that different requests get different (yet repeatable) answers.
    """
    if count is not None:
        return [(" " if i else "") + _WORDS[i % len(_WORDS)] for i in range(count)]
    snippet = " ".join(prompt.split()[:8]) or "nothing"
    sentence = f"Simulated reply from {model or 'the model'}: you asked about \"{snippet}\"."
    words = sentence.split(" ")
    return [(" " if i else "") + word for i, word in enumerate(words)]


def short_id(prefix: str, seed: str) -> str:
    """A provider-looking id, unique per call (like the real ones)."""
    digest = hashlib.sha256(f"{seed}{time.time_ns()}".encode()).hexdigest()[:24]
    return f"{prefix}{digest}"
