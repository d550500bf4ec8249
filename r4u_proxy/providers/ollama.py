"""Ollama's own API: `/api/chat`, `/api/generate` (streamed as NDJSON by default) and `/api/embed`.

A stream is one JSON object per line, each holding the new piece (`message.content` / `message.thinking`
for chat, `response` / `thinking` for generate); the last (`done: true`) carries `done_reason` and the
counters. Reassembly gives the non-streamed body: the last object with the whole text in it. Usage is
`prompt_eval_count` in and `eval_count` out; Ollama omits `prompt_eval_count` when the prompt was cached.
An `{"error": …}` line ends a failed stream.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import openai_chat
from r4u_proxy.providers.base import Choice, StreamBase
from r4u_proxy.providers.common import error_message, render_tool_call, token_columns, with_tool_call

FAMILY = "ollama"


def request_info(body: dict, path: str = "") -> dict:
    streams_by_default = not (path or "").endswith(("/api/embed", "/api/embeddings"))
    return {"request_model": body.get("model"), "stream": bool(body.get("stream", streams_by_default))}


def prompt_parts(body: dict) -> dict:
    if isinstance(body.get("messages"), list):
        return openai_chat.prompt_parts(body)
    given = body.get("prompt", body.get("input"))
    texts = given if isinstance(given, list) else [given]
    turns = [{"role": "user", "text": t} for t in texts if isinstance(t, str) and t]
    return {"system": body.get("system") or None, "turns": turns, "tools": []}


class Stream(StreamBase):
    def __init__(self) -> None:
        super().__init__()
        self.last: dict = {}
        self.text: dict[str, str] = {}  # "content"/"thinking" (chat) or "response"/"thinking" (generate)
        self.tool_calls: list = []

    def add_object(self, event: str | None, data: dict) -> bool:
        if "error" in data:
            self.error = error_message(data) or self.error
            return False
        produced = False
        message = data.get("message")
        pieces = message if isinstance(message, dict) else data
        for key in ("content", "thinking", "response"):
            piece = pieces.get(key)
            if isinstance(piece, str):
                self.text[key] = self.text.get(key, "") + piece
                produced = produced or bool(piece)
        if isinstance(message, dict) and isinstance(message.get("tool_calls"), list):
            self.tool_calls += message["tool_calls"]
            produced = True
        self.last = data
        return produced

    def body(self) -> dict:
        body = dict(self.last)
        if "message" in body or "content" in self.text:
            message = {**(body.get("message") or {}), "role": "assistant"}
            message.update({k: v for k, v in self.text.items() if k != "response"})
            if self.tool_calls:
                message["tool_calls"] = self.tool_calls
            body["message"] = message
        elif self.text:
            body.update(self.text)
        return body


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    result: dict = {"response_model": body.get("model")}
    if "embeddings" in body or "embedding" in body:
        count = len(body.get("embeddings") or []) if "embeddings" in body else 1
        result["completion_text"] = f"[{count} embedding(s)]"
        result.update(token_columns(body.get("prompt_eval_count")))
        return result
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    text = message.get("content") if message else body.get("response")
    text = text if isinstance(text, str) else ""
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {} if isinstance(call, dict) else {}
        text = with_tool_call(text, render_tool_call(function.get("name"), function.get("arguments") or {}))
    result["completion_text"] = text or None
    result["finish_reason"] = body.get("done_reason")
    result.update(token_columns(body.get("prompt_eval_count"), body.get("eval_count")))
    return result


# --- canonical messages: chat messages are OpenAI's, with `thinking` (shown, not resent as said) and `images` ---

MESSAGES_KEY = "messages"  # /api/chat; /api/generate sends a prompt (no conversation to continue)
genai_tools = openai_chat.genai_tools  # Ollama's tools are OpenAI's function tools


def canonical_message(item: Any) -> dict | None:
    if not isinstance(item, dict):
        return None
    said = openai_chat.canonical_message({**item, "reasoning": item.get("thinking")})
    if said is not None:  # base64 images, no media type
        said["parts"] += [canonical.media(i, data=i, modality="image") for i in item.get("images") or []]
    return said


def system_parts(body: dict) -> list[dict]:
    """A generate request's `system` (a chat request has its system messages in `messages`)."""
    if isinstance(body.get("messages"), list) or not isinstance(body.get("system"), str) or not body["system"]:
        return []
    return [canonical.text(body["system"])]


def input_messages(body: dict) -> list[dict]:
    """A generate or embed request: the system prompt, then the prompt(s) as one user message."""
    system = system_parts(body)
    turns = prompt_parts(body)["turns"]
    said = [canonical.message("user", [canonical.text(t["text"]) for t in turns])] if turns else []
    return ([canonical.message("system", system)] if system else []) + said


def response_choices(body: Any) -> list[Choice]:
    if not isinstance(body, dict) or "embeddings" in body or "embedding" in body:  # vectors, not words
        return []
    if isinstance(body.get("message"), dict):
        said = canonical_message({**body["message"], "role": "assistant"})
    elif isinstance(body.get("response"), str):
        said = canonical_message({"role": "assistant", "content": body["response"], "thinking": body.get("thinking")})
    else:
        return []
    return [{"messages": [said] if said else [], "finish_reason": body.get("done_reason")}]
