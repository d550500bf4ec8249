"""AWS Bedrock Converse (`/model/{id}/converse`, `/converse-stream`) and what every Bedrock family shares.

ConverseStream's events (`messageStart`, `contentBlockStart|Delta|Stop`, `messageStop`, `metadata`,
decoded from the AWS event-stream framing by ingest/eventstream.py) are reassembled into the Converse
response: `{"output": {"message": {"role", "content": [...]}}, "stopReason", "usage", "metrics"}`. Tool
inputs arrive as JSON text fragments and are parsed when their block stops; reasoning text and its
signature are kept apart from the answer. Nova's InvokeModel stream sends the same events as
`{"eventName": {...}}` chunks (bedrock_invoke.py feeds them here).

The model is the URL's model id (percent-decoded): a foundation model (`amazon.nova-micro-v1:0`), a
cross-region inference profile (`us.anthropic.claude-…`) or an ARN; responses do not name it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from r4u_proxy.messages import canonical
from r4u_proxy.providers import genai_parts
from r4u_proxy.providers.base import Choice, StreamBase
from r4u_proxy.providers.common import (
    accumulate,
    bedrock_usage,
    flatten_text,
    parse_json_or_note,
    render_tool_call,
    with_tool_call,
)

FAMILY = "bedrock_converse"
_MODEL_IN_PATH = re.compile(
    r"/model/(.+?)/(?:converse-stream|converse|invoke-with-response-stream|invoke|count-tokens)$"
)
# Response headers InvokeModel reports usage in (some vendors' bodies carry none).
_USAGE_HEADERS = {
    "x-amzn-bedrock-input-token-count": "inputTokenCount",
    "x-amzn-bedrock-output-token-count": "outputTokenCount",
    "x-amzn-bedrock-cache-read-input-token-count": "cacheReadInputTokenCount",
    "x-amzn-bedrock-cache-write-input-token-count": "cacheWriteInputTokenCount",
}


def model_id(path: str) -> str | None:
    """`us.amazon.nova-micro-v1:0` from `/model/us.amazon.nova-micro-v1%3A0/converse` (ARNs keep their slash)."""
    match = _MODEL_IN_PATH.search(path or "")
    return unquote(match.group(1)) if match else None


def is_stream_path(path: str) -> bool:
    return (path or "").endswith(("/converse-stream", "/invoke-with-response-stream"))


def header_usage(headers: Any) -> dict[str, int]:
    """Usage from InvokeModel's `X-Amzn-Bedrock-*-Token-Count` response headers."""
    counts = {}
    for name, value in headers or []:
        key = _USAGE_HEADERS.get(str(name).lower())
        if key is not None and str(value).strip().isdigit():
            counts[key] = int(value)
    return bedrock_usage(counts)


def request_info(body: dict, path: str = "") -> dict:
    return {"request_model": model_id(path), "stream": is_stream_path(path)}


def block_text(block: Any) -> str:
    """A Converse content block as prompt text: its text, a tool call as `name(input)`, a tool result's text."""
    if not isinstance(block, dict):
        return ""
    if isinstance(block.get("toolUse"), dict):
        return render_tool_call(block["toolUse"].get("name"), block["toolUse"].get("input") or {})
    if isinstance(block.get("toolResult"), dict):
        parts = block["toolResult"].get("content") or []
        return "\n".join(flatten_text(p) or (str(p.get("json")) if isinstance(p, dict) and "json" in p else "")
                         for p in parts)  # fmt: skip
    return flatten_text(block)


def prompt_parts(body: dict) -> dict:
    turns = []
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            content = message.get("content")
            text = "\n".join(t for t in map(block_text, content) if t) if isinstance(content, list) else ""
            turns.append({"role": message.get("role") or "user", "text": text or flatten_text(content)})
    tools = [
        str((t.get("toolSpec") or {}).get("name"))
        for t in (body.get("toolConfig") or {}).get("tools") or []
        if isinstance(t, dict) and t.get("toolSpec")
    ]
    return {"system": flatten_text(body.get("system")) or None, "turns": turns, "tools": tools}


class Stream(StreamBase):
    def __init__(self) -> None:
        super().__init__()
        self.role = "assistant"
        self.blocks: dict[int, dict] = {}
        self.tool_input: dict[int, list[str]] = {}
        self.rest: dict = {}

    def add_object(self, event: str | None, data: dict) -> bool:
        data = {k: v for k, v in data.items() if k != "p"}  # "p": padding against length side channels
        if event == "messageStart":
            self.role = data.get("role") or self.role
        elif event == "contentBlockStart":
            start = data.get("start") or {}
            block = self.blocks.setdefault(data.get("contentBlockIndex", len(self.blocks)), {})
            if isinstance(start.get("toolUse"), dict):
                block["toolUse"] = dict(start["toolUse"])
                self.tool_input.setdefault(data.get("contentBlockIndex", 0), [])
                return bool(start["toolUse"].get("name"))
            accumulate(block, start)
        elif event == "contentBlockDelta":
            return self._add_delta(data.get("contentBlockIndex", 0), data.get("delta") or {})
        elif event == "contentBlockStop":
            self._finish_tool_input(data.get("contentBlockIndex", 0))
        elif event in ("messageStop", "metadata"):  # stop reason; usage and metrics
            self.rest.update(data)
        return False

    def _add_delta(self, index: int, delta: dict) -> bool:
        block = self.blocks.setdefault(index, {})
        produced = False
        for key, value in delta.items():
            if key == "text" and isinstance(value, str):
                block["text"] = block.get("text", "") + value
                produced = produced or bool(value)
            elif key == "toolUse" and isinstance(value, dict):
                fragment = value.get("input") or ""
                self.tool_input.setdefault(index, []).append(fragment)
                produced = produced or bool(fragment)
            elif key == "reasoningContent" and isinstance(value, dict):
                reasoning = block.setdefault("reasoningContent", {})
                if "redactedContent" in value:
                    reasoning["redactedContent"] = value["redactedContent"]
                text = reasoning.setdefault("reasoningText", {})
                if isinstance(value.get("text"), str):
                    text["text"] = text.get("text", "") + value["text"]
                    produced = produced or bool(value["text"])
                if value.get("signature"):
                    text["signature"] = value["signature"]
            else:  # citations and whatever comes next: fold the fields into the block
                accumulate(block, {key: value})
        return produced

    def _finish_tool_input(self, index: int) -> None:
        fragments = self.tool_input.pop(index, None)
        if fragments is None:
            return
        tool = self.blocks.setdefault(index, {}).setdefault("toolUse", {})
        parsed, note = parse_json_or_note("".join(fragments) or "{}")
        tool["input"] = parsed
        if note:
            self.notes.append(f"content block {index}: tool input is {note}; kept as text")

    def body(self) -> dict:
        for index in list(self.tool_input):
            self._finish_tool_input(index)  # the stream stopped inside a tool input
        content = [self.blocks[i] for i in sorted(self.blocks)]
        return {"output": {"message": {"role": self.role, "content": content}}, **self.rest}


def summary(body: Any) -> dict:
    if not isinstance(body, dict):
        return {}
    message = (body.get("output") or {}).get("message") or {}
    text = ""
    for block in message.get("content") or []:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            text += block["text"]
        elif isinstance(block.get("toolUse"), dict):
            text = with_tool_call(text, block_text(block))
    result: dict = {"completion_text": text or None, "finish_reason": body.get("stopReason")}
    result.update(
        bedrock_usage(body.get("usage")) or bedrock_usage(body.get("amazon-bedrock-invocationMetrics"))
    )
    return result


# --- canonical messages (r4u_proxy/messages), from Converse content blocks: sessions hash them, chat and
# export show them. A block is an object with one key naming its kind: text, toolUse, toolResult,
# reasoningContent, image, document, video, guardContent, cachePoint (a cache hint, not content), citationsContent.

_MEDIA = ("image", "document", "video")
MESSAGES_KEY = "messages"


def _blocks(content: Any) -> Iterator[tuple[str, Any, dict]]:
    """(kind, value, block) of each content block, cache hints left out (they say nothing)."""
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and "cachePoint" not in block:
            kind = next(iter(block), "")
            yield kind, block[kind] if kind else None, block


def _canonical_blocks(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [canonical.text(content)]
    parts = []
    for kind, value, block in _blocks(content):
        if kind == "text":
            parts.append(canonical.text(value))
        elif kind == "toolUse" and isinstance(value, dict):
            parts.append(canonical.tool_call(value.get("toolUseId"), value.get("name"), value.get("input")))
        elif kind == "toolResult" and isinstance(value, dict):
            parts.append(canonical.tool_result(value.get("toolUseId"), _result(value), value.get("status") == "error"))
        elif kind == "reasoningContent" and isinstance(value, dict):
            said = (value.get("reasoningText") or {}).get("text")
            if not isinstance(said, str) and value.get("redactedContent"):  # encrypted reasoning, not words
                parts.append(canonical.thinking(value["redactedContent"], redacted=True))
            else:
                parts.append(canonical.thinking(said or ""))
        elif kind in _MEDIA:
            parts.append(_media(kind, value))
        else:
            parts.append(canonical.other(block))
    return parts


def _result(value: dict) -> Any:
    """A tool result's content blocks: text blocks as their text, one `json` block as its value (shown and
    exported as the object), anything else as the blocks."""
    result = value.get("content") or []
    if all(isinstance(p, dict) and set(p) == {"text"} for p in result):
        return "\n".join(str(p["text"]) for p in result)
    if len(result) == 1 and isinstance(result[0], dict) and set(result[0]) == {"json"}:
        return result[0]["json"]
    return result


def _media(kind: str, value: Any) -> dict:
    """An image, document or video by its bytes (base64 in the JSON) or its S3 address; shown by its type."""
    shown = value if isinstance(value, dict) else {}
    source = shown.get("source") if isinstance(shown.get("source"), dict) else {}
    mime = f"{'application' if kind == 'document' else kind}/{shown['format']}" if shown.get("format") else None
    where = (source.get("s3Location") or {}).get("uri") if isinstance(source.get("s3Location"), dict) else None
    data = source.get("bytes") if isinstance(source.get("bytes"), str) else None
    return canonical.media(value, mime_type=mime, uri=where, data=data, modality=kind)


def canonical_message(item: Any) -> dict | None:
    if not isinstance(item, dict):
        return None
    return canonical.message(item.get("role"), _canonical_blocks(item.get("content")))


def system_parts(body: dict) -> list[dict]:
    return _canonical_blocks(body.get("system"))


def response_choices(body: Any) -> list[Choice]:
    message = (body.get("output") or {}).get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict):
        return []
    said = canonical.message(message.get("role") or "assistant", _canonical_blocks(message.get("content")))
    return [{"messages": [said], "finish_reason": body.get("stopReason")}]


# --- the tools offered, in the GenAI conventions' shape (export) ---------------------------------------------


def genai_tools(body: dict) -> list[dict]:
    tools = []
    for tool in (body.get("toolConfig") or {}).get("tools") or []:
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if isinstance(spec, dict):
            schema = (spec.get("inputSchema") or {}).get("json")
            tools.append(genai_parts.function_tool(spec.get("name"), spec.get("description"), schema))
    return tools
