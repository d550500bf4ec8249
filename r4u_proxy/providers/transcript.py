"""Pieces every family's `request_messages` / `response_messages` build the trace page's chat from.

Each provider nests the same ideas (system prompt, turns, tool calls, tool results, thinking, images)
differently; the family modules flatten them into `base.Message` / `base.Part` with these helpers, so
the page has one loop. Unknown pieces become an "other" part holding their JSON rather than vanishing.
"""

from __future__ import annotations

import json
from typing import Any

from r4u_proxy.providers.base import Message, Part


def part(kind: str, text: Any = "", name: str | None = None, id: str | None = None) -> Part:
    if not isinstance(text, str):
        text = pretty_json(text)
    return {"kind": kind, "text": text, "name": name, "id": id}


def message(role: str, parts: list[Part]) -> Message:
    return {"role": role, "parts": parts}


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def arguments(raw: Any) -> str:
    """Tool-call arguments arrive as a JSON string (OpenAI) or an object (Anthropic, Gemini)."""
    if isinstance(raw, str):
        try:
            return pretty_json(json.loads(raw))
        except ValueError:
            return raw
    return pretty_json(raw)


def image(block: dict) -> Part:
    """A placeholder naming the media type (or URL) of an image, never its bytes."""
    source = block.get("source") or block.get("image_url") or block.get("inlineData") or {}
    kind = ""
    if isinstance(source, dict):
        kind = source.get("media_type") or source.get("mimeType") or source.get("type") or ""
        url = source.get("url", "")
        if isinstance(url, str) and url.startswith("http"):
            kind = url[:80]
    return part("image", f"[image{': ' + kind if kind else ''}]")


def shown_text(content: Any) -> str:
    """A tool result's content as text: a string, text blocks joined, anything else as JSON."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b.get("text", "") if isinstance(b, dict) else str(b) for b in content]
        if all(isinstance(b, dict) and "text" in b for b in content):
            return "\n".join(texts)
    return pretty_json(content)


def content_parts(content: Any) -> list[Part]:
    """OpenAI-style content (Chat and Responses): a string or typed blocks."""
    if content is None:
        return []
    if isinstance(content, str):
        return [part("text", content)] if content else []
    parts: list[Part] = []
    for block in content if isinstance(content, list) else [content]:
        if not isinstance(block, dict):
            parts.append(part("text", str(block)))
            continue
        kind = block.get("type")
        if kind in ("text", "input_text", "output_text"):
            parts.append(part("text", block.get("text", "")))
        elif kind in ("image_url", "input_image", "image"):
            parts.append(image(block))
        elif kind in ("input_audio", "audio", "file", "input_file"):
            parts.append(part("image", f"[{kind}]"))
        elif kind == "refusal":
            parts.append(part("text", block.get("refusal", "")))
        else:
            parts.append(part("other", block))
    return parts


def merge_assistant_turns(messages: list[Message]) -> list[Message]:
    """Consecutive assistant items read as one turn (reasoning + text + calls)."""
    merged: list[Message] = []
    for item in messages:
        if merged and merged[-1]["role"] == item["role"] == "assistant":
            merged[-1]["parts"].extend(item["parts"])
        else:
            merged.append(item)
    return merged
