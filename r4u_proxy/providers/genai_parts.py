"""A call's messages in the OpenTelemetry GenAI conventions' JSON shapes (`gen_ai.input.messages`, ...).

Drawn from the call's canonical messages (`conversation.py`), the same way for every family; a family adds
only what is its own: its tool definitions (`genai_tools`) and its finish reasons (in `response_choices`).
The shapes are the conventions' JSON schemas (see docs/export.md for the version).
"""

from __future__ import annotations

import json
from typing import Any

from r4u_proxy.messages.canonical import Message as Canonical
from r4u_proxy.messages.canonical import Part as CanonicalPart
from r4u_proxy.providers import conversation
from r4u_proxy.providers.common import flatten_text

# The conventions' FinishReason enum; providers' own values map onto it, anything else passes through.
FINISH_REASONS = {
    "stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "completed": "stop", "STOP": "stop",
    "length": "length", "max_tokens": "length", "max_output_tokens": "length", "MAX_TOKENS": "length",
    "tool_calls": "tool_call", "function_call": "tool_call", "tool_use": "tool_call",
    "content_filter": "content_filter", "refusal": "content_filter", "SAFETY": "content_filter",
    "RECITATION": "content_filter", "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter", "failed": "error",
    # Bedrock, Cohere, TGI, Titan:
    "guardrail_intervened": "content_filter", "content_filtered": "content_filter", "CONTENT_FILTERED": "content_filter",
    "COMPLETE": "stop", "STOP_SEQUENCE": "stop", "FINISH": "stop", "eos_token": "stop", "LENGTH": "length",
    "TOOL_CALL": "tool_call", "ERROR": "error", "TIMEOUT": "error",
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
    """A part the conventions have no shape for: kept whole, under its own type (or its first key's name)."""
    return {**part, "type": str(part.get("type") or next(iter(part), "unknown"))}


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


# --- from canonical messages ----------------------------------------------------------------------------

_ROLES = {"function": "tool"}  # Gemini's older name for the turn that carries function responses


def content(family: Any, request_body: Any, response_body: Any) -> dict:
    """The call as `{"system", "messages", "tools", "output"}` (lists)."""
    result = empty_input()
    if isinstance(request_body, dict):
        messages = conversation.request_messages(family, request_body)
        # The request's own system prompt (`system`, `instructions`, `systemInstruction`) comes first; Chat
        # keeps its system messages in the history (no `system_parts`), so there they stay messages.
        if messages and hasattr(family, "system_parts") and family.system_parts(request_body):
            result["system"] = [p for p in parts(messages.pop(0)) if p["type"] == "text"]
        result["messages"] = [message(_role(m), parts(m)) for m in messages]
        if hasattr(family, "genai_tools"):
            result["tools"] = family.genai_tools(request_body)
    result["output"] = output_messages(family, response_body)
    return result


def _role(found: Canonical) -> str:
    role = found.get("sent_role") or found["role"]  # `developer` as the request said it
    return _ROLES.get(role, role)


def output_messages(family: Any, body: Any) -> list[dict]:
    """One output message per generation, with its finish reason in the conventions' terms."""
    return [
        message("assistant", [p for m in choice["messages"] for p in parts(m)], choice["finish_reason"], output=True)
        for choice in conversation.response_choices(family, body)
    ]


def parts(found: Canonical) -> list[dict]:
    return [p for p in map(_part, found["parts"]) if p is not None]


def _part(found: CanonicalPart) -> dict | None:
    kind = found["type"]
    if kind == "text":
        return text(found["text"])
    if kind == "thinking":
        if found.get("redacted"):
            return {"type": "redacted_thinking", "data": found["text"]}
        said = found["text"] or found.get("full_text")
        return reasoning(said) if said else None
    if found.get("server"):  # a tool the provider ran: the conventions' tool parts are the client's
        return generic(found["server"])
    if kind == "tool_call":
        return tool_call(found["id"], found["name"], found["arguments"])
    if kind == "tool_result":
        result = found["content"]
        return tool_response(found["id"], flatten_text(result) if result is None or isinstance(result, list) else result)
    if kind == "media":
        mime, modality_ = found.get("mime_type"), found.get("modality")
        if isinstance(found.get("uri"), str):
            return uri(found["uri"], mime, modality_)
        if isinstance(found.get("data"), str):
            return blob(found["data"], mime, modality_)
    value = found.get("raw") or found.get("value")
    if not value:
        return None
    return generic(value) if isinstance(value, dict) else {"type": "unknown", "value": value}
