"""Anthropic Messages API (`/v1/messages`): request parsing, usage, and stream reassembly into a `message`.

Content blocks are kept by their `index` (not arrival order), tool inputs are rebuilt from `input_json_delta`
fragments when the block stops, and block or delta types this module does not know are kept, not dropped.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.messages import canonical
from r4u_proxy.providers import genai_parts
from r4u_proxy.providers.base import Choice, StreamBase
from r4u_proxy.providers.common import (
    accumulate,
    anthropic_usage,
    error_message,
    flatten_text,
    overlay,
    parse_json_or_note,
    path_model,
    render_tool_call,
    request_fields,
    summary_columns,
    with_tool_call,
)

FAMILY = "anthropic_messages"
# Delta type → the block field it extends. Anything else is folded in generically.
_TEXT_DELTAS = {"text_delta": "text", "thinking_delta": "thinking"}
_NON_CONTENT_BLOCKS = ("text", "thinking")


def request_info(body: dict, path: str = "") -> dict:
    # On Vertex AI and Bedrock the model is in the URL, not the body.
    return {**request_fields(body), "request_model": body.get("model") or path_model(path)}


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
        block["input"], note = parse_json_or_note(text)  # bad JSON kept verbatim: what the model produced
        if note:
            self.notes.append(f"content block {index}: tool input is {note}; kept as text")

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
    text = _answer_text(body.get("content"))
    usage = anthropic_usage(body.get("usage"))
    return summary_columns(body, body.get("model"), text, body.get("stop_reason"), usage)


def _answer_text(blocks: Any) -> str:
    """The text blocks as written, each tool call rendered on its own line."""
    text = ""
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            text += block.get("text") or ""
        elif block.get("type") == "tool_use":
            text = with_tool_call(text, render_tool_call(block.get("name"), block.get("input")))
    return text


# --- canonical messages (r4u_proxy/messages): what a turn says; sessions hash them, chat and export show them

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
        elif kind == "thinking":
            parts.append(canonical.thinking(block.get("thinking") or ""))
        elif kind == "redacted_thinking":
            parts.append(canonical.thinking(block.get("data") or "", redacted=True))
        elif kind in ("tool_use", "server_tool_use"):
            server = block if kind == "server_tool_use" else None
            parts.append(canonical.tool_call(block.get("id"), block.get("name"), block.get("input"), server))
        elif kind.endswith("tool_result"):
            server = block if kind != "tool_result" else None  # web_search_tool_result, ...
            result = block.get("content")
            parts.append(canonical.tool_result(block.get("tool_use_id"), result, block.get("is_error"), server=server))
        elif kind in ("image", "document"):
            parts.append(_media(kind, block.get("source")))
        else:
            parts.append(canonical.other(block))
    return parts


def _media(kind: str, source: Any) -> dict:
    shown = source if isinstance(source, dict) else {}
    where = {"data": shown.get("data")} if shown.get("type") == "base64" else {"uri": shown.get("url")}
    modality = "image" if kind == "image" else None
    return canonical.media(source, mime_type=shown.get("media_type"), modality=modality, **where)


def system_parts(body: dict) -> list[dict]:
    return _canonical_blocks(body.get("system"))


def response_choices(body: Any) -> list[Choice]:
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        return []
    message = canonical.message(body.get("role") or "assistant", _canonical_blocks(body["content"]))
    return [{"messages": [message], "finish_reason": body.get("stop_reason")}]


# --- the tools offered, in the GenAI conventions' shape (export) ---------------------------------------------


def genai_tools(body: dict) -> list[dict]:
    tools = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if "input_schema" in tool or tool.get("type") in (None, "custom"):
            tools.append(genai_parts.function_tool(tool.get("name"), tool.get("description"), tool.get("input_schema")))
        else:  # server tools: web_search_20250305, bash_20250124, ...
            tools.append({"type": str(tool.get("type")), "name": str(tool.get("name") or tool.get("type"))})
    return tools
