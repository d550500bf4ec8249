"""The trace page's chat transcript (`base.Message` / `base.Part`), drawn from a call's canonical messages.

Every family reduces its bodies to canonical messages once (`conversation.py`); this module turns those into
what the page shows, the same way for all of them, so the page has one loop: thinking that is redacted or
hidden says so, tool arguments and results are pretty-printed, media is a placeholder naming its type (never
its bytes), and a piece no family understood is an "other" part holding its JSON rather than vanishing.
"""

from __future__ import annotations

import json
from typing import Any

from r4u_proxy.messages.canonical import Message as Canonical
from r4u_proxy.messages.canonical import Part as CanonicalPart
from r4u_proxy.providers import conversation
from r4u_proxy.providers.base import Message, Part
from r4u_proxy.providers.genai_parts import modality


def request_messages(family: Any, body: Any) -> list[Message]:
    """The conversation as sent: system prompt first, then the turns."""
    return shown(conversation.request_messages(family, body))


def response_messages(family: Any, body: Any) -> list[Message]:
    """What the model answered (a stream's reassembled body), each choice or candidate in turn."""
    return [m for choice in conversation.response_choices(family, body) for m in shown(choice["messages"])]


def shown(messages: list[Canonical]) -> list[Message]:
    """Canonical messages as chat messages; consecutive assistant items read as one turn (reasoning + text +
    calls, as the Responses API sends them). Choices are shown one by one, never merged."""
    merged: list[Message] = []
    for item in messages:
        parts = [p for p in map(_part, item["parts"]) if p is not None]
        role = item.get("sent_role") or item["role"]
        if merged and merged[-1]["role"] == role == "assistant":
            merged[-1]["parts"].extend(parts)
        else:
            merged.append(message(role, parts))
    return merged


def _part(found: CanonicalPart) -> Part | None:
    kind = found["type"]
    if kind == "text":
        return part("text", found["text"])
    if kind == "thinking":
        if found.get("redacted"):
            return part("thinking", "(redacted thinking)")
        return part("thinking", found["text"] or found.get("full_text") or "(reasoning hidden)")
    if kind == "tool_call":
        return part("tool_call", arguments(found["arguments"]), found["name"], found["id"])
    if kind == "tool_result":
        content = found["content"]
        text = shown_text(content) if content is not None else ""
        return part("tool_result", ("(error) " + text) if found["is_error"] else text, found.get("name"), found["id"])
    if kind == "media":
        return part("image", media_label(found))
    value = found.get("raw") or found.get("value")
    if not value:
        return None  # e.g. a Gemini part that only carried a thought signature
    return part("other", value, name=value.get("type") if isinstance(value, dict) else None)


def part(kind: str, text: Any = "", name: str | None = None, id: str | None = None) -> Part:
    if not isinstance(text, str):
        text = pretty_json(text)
    return {"kind": kind, "text": text, "name": name, "id": id}


def message(role: str, parts: list[Part]) -> Message:
    return {"role": role, "parts": parts}


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def arguments(raw: Any) -> str:
    """Tool-call arguments: the object pretty-printed, or the text the model produced when it is not JSON."""
    return raw if isinstance(raw, str) else pretty_json(raw)


def media_label(found: CanonicalPart) -> str:
    """`[image: image/png]`, `[audio: audio/pcm]`, `[image: https://...]`: what it is, never its bytes."""
    mime = found.get("mime_type")
    uri = found.get("uri")
    detail = mime or (uri[:80] if isinstance(uri, str) and uri.startswith("http") else "")
    kind = found.get("modality") or (modality(mime) if mime else "image")
    return f"[{kind}{': ' + detail if detail else ''}]"


def shown_text(content: Any) -> str:
    """A tool result's content as text: a string, text blocks joined, anything else as JSON."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b.get("text", "") if isinstance(b, dict) else str(b) for b in content]
        if all(isinstance(b, dict) and "text" in b for b in content):
            return "\n".join(texts)
    return pretty_json(content)
