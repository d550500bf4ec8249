"""Message parts in the OpenTelemetry GenAI conventions' JSON shapes (`gen_ai.input.messages`, ...).

Each family module turns its own request and response bodies into these parts (`genai_input`,
`genai_output`); the shapes are the conventions' JSON schemas (see docs/export.md for the version).
"""

from __future__ import annotations

import json
from typing import Any

# The conventions' FinishReason enum; providers' own values map onto it, anything else passes through.
FINISH_REASONS = {
    "stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "completed": "stop", "STOP": "stop",
    "length": "length", "max_tokens": "length", "max_output_tokens": "length", "MAX_TOKENS": "length",
    "tool_calls": "tool_call", "function_call": "tool_call", "tool_use": "tool_call",
    "content_filter": "content_filter", "refusal": "content_filter", "SAFETY": "content_filter",
    "RECITATION": "content_filter", "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter", "failed": "error",
}  # fmt: skip
_MODALITIES = ("image", "video", "audio")


def finish_reason(value: Any) -> str:
    if not value:
        return "error"  # a generation that ended without a reason ended abnormally (the conventions' rule)
    return FINISH_REASONS.get(str(value), str(value).lower())


def text(content: Any) -> dict:
    return {"type": "text", "content": content if isinstance(content, str) else json.dumps(content)}


def reasoning(content: str) -> dict:
    return {"type": "reasoning", "content": content}


def arguments(value: Any) -> Any:
    """Tool arguments as an object where the provider sent JSON text (the conventions ask for the object)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def tool_call(call_id: Any, name: Any, args: Any) -> dict:
    return {"type": "tool_call", "id": call_id, "name": str(name or ""), "arguments": arguments(args)}


def tool_response(call_id: Any, response: Any) -> dict:
    return {"type": "tool_call_response", "id": call_id, "response": response}


def modality(mime_type: Any) -> str:
    kind = str(mime_type or "").split("/", 1)[0]
    return kind if kind in _MODALITIES else ("document" if kind else "image")


def uri(address: str, mime_type: Any = None, kind: str | None = None) -> dict:
    return {"type": "uri", "modality": kind or modality(mime_type), "mime_type": mime_type, "uri": address}


def blob(data: str, mime_type: Any = None, kind: str | None = None) -> dict:
    return {"type": "blob", "modality": kind or modality(mime_type), "mime_type": mime_type, "content": data}


def generic(part: dict) -> dict:
    """A part the conventions have no shape for: kept whole, under its own type."""
    return {**part, "type": str(part.get("type") or "unknown")}


def message(role: Any, parts: list[dict], finish: Any = None, *, output: bool = False) -> dict:
    out: dict = {"role": str(role or "user"), "parts": parts}
    if output:
        out["finish_reason"] = finish_reason(finish)
    return out


def function_tool(name: Any, description: Any = None, parameters: Any = None) -> dict:
    tool: dict = {"type": "function", "name": str(name or "")}
    if description:
        tool["description"] = description
    if isinstance(parameters, dict):
        tool["parameters"] = parameters
    return tool


def empty_input() -> dict:
    return {"system": [], "messages": [], "tools": []}
