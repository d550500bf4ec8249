"""Anthropic Messages API (`/v1/messages`): request parsing, usage, and stream reassembly into a `message`.

Content blocks are kept by their `index` (not arrival order), tool inputs are rebuilt from `input_json_delta`
fragments when the block stops, and block or delta types this module does not know are kept, not dropped.
"""

from __future__ import annotations

import json
from typing import Any

from r4u_proxy.providers.common import (
    accumulate,
    anthropic_usage,
    error_message,
    flatten_text,
    overlay,
    path_model,
    render_tool_call,
    with_tool_call,
)

FAMILY = "anthropic_messages"
# Delta type → the block field it extends. Anything else is folded in generically.
_TEXT_DELTAS = {"text_delta": "text", "thinking_delta": "thinking"}
_NON_CONTENT_BLOCKS = ("text", "thinking")


def request_info(body: dict, path: str = "") -> dict:
    # On Vertex AI and Bedrock the model is in the URL, not the body.
    return {"request_model": body.get("model") or path_model(path), "stream": bool(body.get("stream"))}


def prompt_parts(body: dict) -> dict:
    turns = []
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        pieces = [flatten_text(content)]
        if isinstance(content, list):
            pieces += [
                render_tool_call(b.get("name"), b.get("input"))
                for b in content
                if isinstance(b, dict) and b.get("type") == "tool_use"
            ]
        turns.append({"role": message.get("role") or "user", "text": "\n".join(p for p in pieces if p)})
    tools = [str(t.get("name") or t.get("type")) for t in body.get("tools") or [] if isinstance(t, dict)]
    return {"system": flatten_text(body.get("system")) or None, "turns": turns, "tools": tools}


class Stream:
    def __init__(self) -> None:
        self.message: dict = {}
        self.blocks: dict[int, dict] = {}
        self.json_fragments: dict[int, list[str]] = {}
        self.error: str | None = None
        self.notes: list[str] = []

    def add(self, event: str | None, data: Any) -> bool:
        if not isinstance(data, dict):
            return False
        kind = data.get("type") or event
        if kind == "error":
            self.error = error_message(data) or self.error
            return False
        if kind == "message_start":
            overlay(self.message, data.get("message") or {})
            return False
        if kind == "content_block_start":
            index = data.get("index", len(self.blocks))
            block = dict(data.get("content_block") or {})
            self.blocks[index] = block
            return block.get("type") not in _NON_CONTENT_BLOCKS or bool(
                block.get("text") or block.get("thinking")
            )
        if kind == "content_block_delta":
            return self._add_delta(data.get("index", 0), data.get("delta") or {})
        if kind == "content_block_stop":
            self._finish_tool_input(data.get("index", 0))
            return False
        if kind == "message_delta":
            self._add_message_delta(data)
        return False

    def _add_delta(self, index: int, delta: dict) -> bool:
        block = self.blocks.setdefault(index, {"type": "unknown"})
        delta_type = delta.get("type")
        if delta_type in _TEXT_DELTAS:
            field = _TEXT_DELTAS[delta_type]
            text = delta.get(field) or ""
            block[field] = (block.get(field) or "") + text
            produced = bool(text)
        elif delta_type == "input_json_delta":
            fragment = delta.get("partial_json") or ""
            self.json_fragments.setdefault(index, []).append(fragment)
            produced = bool(fragment)
        elif delta_type == "signature_delta":
            block["signature"] = delta.get("signature")
            produced = False
        elif delta_type == "citations_delta":
            block.setdefault("citations", None)
            block["citations"] = (block["citations"] or []) + [delta.get("citation")]
            produced = False
        else:  # compaction_delta and whatever comes next: fold the fields into the block
            accumulate(block, {k: v for k, v in delta.items() if k != "type"})
            produced = any(v for k, v in delta.items() if k != "type")
        return produced

    def _finish_tool_input(self, index: int) -> None:
        fragments = self.json_fragments.pop(index, None)
        if fragments is None:
            return
        text = "".join(fragments)
        block = self.blocks.setdefault(index, {"type": "unknown"})
        if not text:
            block.setdefault("input", {})
            return
        try:
            block["input"] = json.loads(text)
        except ValueError as exc:
            block["input"] = text  # kept verbatim so the user can see what the model produced
            self.notes.append(
                f"content block {index}: tool input is not valid JSON ({exc.msg}); kept as text"
            )

    def _add_message_delta(self, data: dict) -> None:
        for key, value in (data.get("delta") or {}).items():
            if value is not None or key in ("stop_sequence", "stop_details"):
                self.message[key] = value
        usage = data.get("usage")
        if isinstance(usage, dict):
            # message_delta usage is cumulative: it overrides message_start's, absent fields keep theirs.
            self.message["usage"] = overlay(self.message.get("usage") or {}, usage)
        for key, value in data.items():
            if key not in ("type", "delta", "usage"):
                self.message[key] = value

    def body(self) -> dict:
        for index in list(self.json_fragments):
            self._finish_tool_input(index)  # the stream stopped inside a tool input
        message = dict(self.message)
        if sorted(self.blocks) != list(range(len(self.blocks))):
            self.notes.append(f"content block indexes are not 0..n-1: {sorted(self.blocks)}")
        message.setdefault("type", "message")
        message.setdefault("role", "assistant")
        message["content"] = [self.blocks[i] for i in sorted(self.blocks)]
        return message


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    text = ""
    for block in body.get("content") or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            text += block.get("text") or ""
        elif block.get("type") == "tool_use":
            text = with_tool_call(text, render_tool_call(block.get("name"), block.get("input")))
    result = {
        "response_model": body.get("model"),
        "completion_text": text or None,
        "finish_reason": body.get("stop_reason"),
    }
    result.update(anthropic_usage(body.get("usage")))
    return result
