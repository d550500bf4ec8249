"""Anthropic Messages API (`/v1/messages`): request parsing, usage, and stream reassembly into a `message`.

Content blocks are kept by their `index` (not arrival order), tool inputs are rebuilt from `input_json_delta`
fragments when the block stops, and block or delta types this module does not know are kept, not dropped.
"""

from __future__ import annotations

import json
from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import genai_parts, transcript
from r4u_proxy.providers.base import Message, Part, StreamBase
from r4u_proxy.providers.common import (
    accumulate,
    anthropic_usage,
    error_message,
    flatten_text,
    overlay,
    render_tool_call,
    request_fields,
    tier_field,
    with_tool_call,
)

FAMILY = "anthropic_messages"
# Delta type → the block field it extends. Anything else is folded in generically.
_TEXT_DELTAS = {"text_delta": "text", "thinking_delta": "thinking"}
_NON_CONTENT_BLOCKS = ("text", "thinking")


def request_info(body: dict, path: str = "") -> dict:
    return request_fields(body)


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


class Stream(StreamBase):
    def __init__(self) -> None:
        super().__init__()
        self.message: dict = {}
        self.blocks: dict[int, dict] = {}
        self.json_fragments: dict[int, list[str]] = {}

    def add_object(self, event: str | None, data: dict) -> bool:
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
        **tier_field(body),
    }
    result.update(anthropic_usage(body.get("usage")))
    return result


# --- the trace page's chat ------------------------------------------------------------------------


def _blocks(content: Any) -> list[Part]:
    if isinstance(content, str):
        return [transcript.part("text", content)] if content else []
    parts: list[Part] = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(transcript.part("text", block.get("text", "")))
        elif kind == "thinking":
            parts.append(transcript.part("thinking", block.get("thinking", "")))
        elif kind == "redacted_thinking":
            parts.append(transcript.part("thinking", "(redacted thinking)"))
        elif kind in ("tool_use", "server_tool_use"):
            arguments = transcript.arguments(block.get("input", {}))
            parts.append(transcript.part("tool_call", arguments, block.get("name"), block.get("id")))
        elif kind == "tool_result" or (isinstance(kind, str) and kind.endswith("_tool_result")):
            result = block.get("content")
            text = transcript.shown_text(result) if result is not None else ""
            if block.get("is_error"):
                text = "(error) " + text
            parts.append(transcript.part("tool_result", text, id=block.get("tool_use_id")))
        elif kind in ("image", "document"):
            parts.append(transcript.image(block))
        else:
            parts.append(transcript.part("other", block, name=kind))
    return parts


def request_messages(body: dict) -> list[Message]:
    messages = [transcript.message("system", _blocks(body["system"]))] if body.get("system") else []
    for item in body.get("messages") or []:
        if isinstance(item, dict):
            messages.append(transcript.message(item.get("role", "?"), _blocks(item.get("content"))))
    return messages


def response_messages(body: Any) -> list[Message]:
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        return []
    return [transcript.message(body.get("role", "assistant"), _blocks(body["content"]))]


# --- canonical messages (r4u_proxy/messages): what a turn says, for sessions and per-message storage -------

MESSAGES_KEY = "messages"


def canonical_message(item: Any) -> dict | None:
    if not isinstance(item, dict):
        return None
    return canonical.message(item.get("role"), _canonical_blocks(item.get("content")))


def _canonical_blocks(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [canonical.text(content)]
    parts = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = str(block.get("type"))
        if kind == "text":
            parts.append(canonical.text(block.get("text") or ""))
        elif kind in ("thinking", "redacted_thinking"):
            parts.append(canonical.thinking(block.get("thinking") or block.get("data") or ""))
        elif kind in ("tool_use", "server_tool_use"):
            parts.append(canonical.tool_call(block.get("id"), block.get("name"), block.get("input")))
        elif kind.endswith("tool_result"):
            parts.append(canonical.tool_result(block.get("tool_use_id"), block.get("content"), block.get("is_error")))
        elif kind in ("image", "document"):
            parts.append(canonical.media(block.get("source")))
        else:
            parts.append(canonical.other(block))
    return parts


def system_parts(body: dict) -> list[dict]:
    return _canonical_blocks(body.get("system"))


def output_messages(body: Any) -> list[dict]:
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        return []
    return [canonical.message(body.get("role") or "assistant", _canonical_blocks(body["content"]))]


# --- the request and response in the GenAI conventions' message shapes (export) ---------------------


def _block_parts(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [genai_parts.text(content)] if content else []
    parts = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(genai_parts.text(block.get("text") or ""))
        elif kind == "thinking":
            parts.append(genai_parts.reasoning(block.get("thinking") or ""))
        elif kind == "tool_use":
            parts.append(genai_parts.tool_call(block.get("id"), block.get("name"), block.get("input")))
        elif kind == "tool_result":
            parts.append(genai_parts.tool_response(block.get("tool_use_id"), flatten_text(block.get("content"))))
        elif kind in ("image", "document") and isinstance(block.get("source"), dict):
            source = block["source"]
            media = source.get("media_type")
            if source.get("type") == "base64":
                parts.append(genai_parts.blob(source.get("data") or "", media, "image" if kind == "image" else None))
            elif source.get("url"):
                parts.append(genai_parts.uri(source["url"], media, "image" if kind == "image" else None))
            else:
                parts.append(genai_parts.generic(block))
        else:  # redacted_thinking, server_tool_use, web_search_tool_result, ...
            parts.append(genai_parts.generic(block))
    return parts


def genai_input(body: dict) -> dict:
    result = genai_parts.empty_input()
    result["system"] = [p for p in _block_parts(body.get("system")) if p["type"] == "text"]
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            result["messages"].append(genai_parts.message(message.get("role"), _block_parts(message.get("content"))))
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if "input_schema" in tool or tool.get("type") in (None, "custom"):
            result["tools"].append(genai_parts.function_tool(tool.get("name"), tool.get("description"), tool.get("input_schema")))
        else:  # server tools: web_search_20250305, bash_20250124, ...
            result["tools"].append({"type": str(tool.get("type")), "name": str(tool.get("name") or tool.get("type"))})
    return result


def genai_output(body: Any) -> list[dict]:
    if not isinstance(body, dict) or body.get("type") == "error":
        return []
    parts = _block_parts(body.get("content"))
    return [genai_parts.message(body.get("role") or "assistant", parts, body.get("stop_reason"), output=True)]
