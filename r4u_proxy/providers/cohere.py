"""Cohere's v2 API: chat (`/v2/chat`, JSON or typed SSE events) and embed (`/v1/embed`, `/v2/embed`).

A chat stream's events (`message-start`, `content-start|delta|end`, `tool-plan-delta`,
`tool-call-start|delta|end`, `citation-start|end`, `message-end`) are rebuilt into the chat response:
`{"id", "finish_reason", "message": {"role", "content": [...], "tool_plan", "tool_calls", "citations"},
"usage"}`. Thinking content (`type: thinking`) is kept beside the text and left out of completion_text.
Usage is what Cohere bills (`billed_units`); responses do not name the model, the request does.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import openai_chat
from r4u_proxy.providers.base import Choice, StreamBase
from r4u_proxy.providers.common import (
    error_message,
    flatten_text,
    render_tool_call,
    token_columns,
    with_tool_call,
)

FAMILY = "cohere"


def request_info(body: dict, path: str = "") -> dict:
    return {"request_model": body.get("model"), "stream": bool(body.get("stream"))}


def _embed_texts(body: dict) -> list[str] | None:
    """An embed request's inputs (None: a chat request)."""
    if not isinstance(body.get("texts"), list) and not isinstance(body.get("inputs"), list):
        return None
    texts = body.get("texts") or [flatten_text(i.get("content")) for i in body["inputs"] if isinstance(i, dict)]
    return [t for t in texts if isinstance(t, str)]


def prompt_parts(body: dict) -> dict:
    texts = _embed_texts(body)
    if texts is not None:
        return {"system": None, "turns": [{"role": "user", "text": t} for t in texts], "tools": []}
    return openai_chat.prompt_parts(body)  # v2 chat messages have OpenAI's roles and tool calls


def _message_delta(data: dict) -> dict:
    return ((data.get("delta") or {}).get("message")) or {}


class Stream(StreamBase):
    def __init__(self) -> None:
        super().__init__()
        self.body_so_far: dict = {}
        self.message: dict = {
            "role": "assistant",
            "content": [],
            "tool_plan": "",
            "tool_calls": [],
            "citations": [],
        }
        self.content: dict[int, dict] = {}
        self.tool_calls: dict[int, dict] = {}

    def add_object(self, event: str | None, data: dict) -> bool:
        kind = data.get("type") or event
        index = data.get("index", 0)
        delta = _message_delta(data)
        if kind == "message-start":
            self.body_so_far["id"] = data.get("id")
            self.message["role"] = delta.get("role") or "assistant"
        elif kind in ("content-start", "content-delta"):
            part = self.content.setdefault(index, {})
            return _extend(part, delta.get("content") or {})
        elif kind == "tool-plan-delta":
            piece = delta.get("tool_plan") or ""
            self.message["tool_plan"] += piece
            return bool(piece)
        elif kind in ("tool-call-start", "tool-call-delta"):
            call = self.tool_calls.setdefault(index, {})
            update = delta.get("tool_calls") or {}
            return _extend(call, update) or bool((update.get("function") or {}).get("name"))
        elif kind == "citation-start":
            self.message["citations"].append(delta.get("citations"))
        elif kind == "message-end":
            end = data.get("delta") or {}
            self.body_so_far.update({k: v for k, v in end.items() if k != "message"})
            if data.get("id"):
                self.body_so_far["id"] = data["id"]
            if end.get("error"):
                self.error = str(end["error"])
        elif kind == "error" or "error" in data:
            self.error = error_message(data) or self.error
        return False

    def body(self) -> dict:
        message = dict(self.message)
        message["content"] = [self.content[i] for i in sorted(self.content)]
        message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        return {**self.body_so_far, "message": message}


def _extend(target: dict, update: dict) -> bool:
    """Merge a content or tool-call delta: strings (text, thinking, arguments) append, others replace."""
    produced = False
    for key, value in update.items():
        if isinstance(value, dict):
            produced = _extend(target.setdefault(key, {}), value) or produced
        elif isinstance(value, str) and key not in ("type", "id") and isinstance(target.get(key), str):
            target[key] += value
            produced = produced or bool(value)
        else:
            target[key] = value
            produced = produced or (key in ("text", "thinking", "arguments") and bool(value))
    return produced


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    if "embeddings" in body:
        vectors = body["embeddings"]
        if isinstance(vectors, dict):  # {"float": [[...], ...], "int8": ...}
            vectors = next(iter(vectors.values()), [])
        result: dict = {"completion_text": f"[{len(vectors or [])} embedding(s)]"}
        result.update(_usage(body.get("meta") or {}))
        return result
    message = body.get("message") or {}
    parts = [p for p in message.get("content") or [] if isinstance(p, dict) and p.get("type", "text") == "text"]
    # With tools the model first writes its plan (tool_plan), then the calls.
    text = "".join(p.get("text") or "" for p in parts) or message.get("tool_plan") or ""
    for call in message.get("tool_calls") or []:
        if isinstance(call, dict):
            function = call.get("function") or {}
            text = with_tool_call(text, render_tool_call(function.get("name"), function.get("arguments")))
    result = {"completion_text": text or None, "finish_reason": body.get("finish_reason")}
    result.update(_usage(body.get("usage") or {}))
    return result


def _usage(usage: dict) -> dict[str, int]:
    # `billed_units` is what Cohere charges; `tokens` counts its own prompt scaffolding too, and
    # `cached_tokens` can exceed the billed input, so neither is a price input.
    billed = usage.get("billed_units") or {}
    return token_columns(input_tokens=billed.get("input_tokens"), output_tokens=billed.get("output_tokens"))


# --- canonical messages: v2 messages are OpenAI's, plus thinking blocks and a tool plan ---------------------

MESSAGES_KEY = "messages"


def canonical_message(item: Any) -> dict | None:
    """What a turn says: text, tool calls, tool results (as in Chat Completions), with the model's thinking and
    its plan before tool calls (`tool_plan`) as thinking; the plan is shown but not hashed, since clients
    resend it or not."""
    if not isinstance(item, dict):
        return None
    content = item.get("content")
    blocks = content if isinstance(content, list) else []
    thoughts = [canonical.thinking(str(b["thinking"])) for b in blocks if _is_thinking(b) and b.get("thinking")]
    if isinstance(item.get("tool_plan"), str) and item["tool_plan"]:
        thoughts.append(canonical.thinking(item["tool_plan"], hashed=False))
    if blocks:
        content = [b for b in blocks if not _is_thinking(b)]
    said = openai_chat.canonical_message({**item, "content": content})
    if said is not None:
        said["parts"][:0] = thoughts
    return said


def _is_thinking(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "thinking"


system_parts = openai_chat.system_parts  # system messages are part of `messages`
genai_tools = openai_chat.genai_tools  # v2 tools are OpenAI's function tools


def input_messages(body: dict) -> list[dict]:
    """An embed request: its inputs as one user message."""
    texts = _embed_texts(body) or []
    return [canonical.message("user", [canonical.text(t) for t in texts])] if texts else []


def response_choices(body: Any) -> list[Choice]:
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict):
        return []  # an embed response: vectors, not words
    said = canonical_message({**message, "role": "assistant"})
    return [{"messages": [said] if said else [], "finish_reason": body.get("finish_reason")}]
