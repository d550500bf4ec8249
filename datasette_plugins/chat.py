"""A trace's bodies as a chat transcript for the trace page, from the trace's own API family.

The family comes from the trace's host and path (`providers.route`), as when it was recorded, so
OpenAI-compatible hosts and gateways render like the API they speak; the family module
(`providers/<family>.py: request_messages, response_messages`) knows its shapes. The page loops over

    Message = {"role": str, "parts": [Part, ...]}
    Part    = {"kind": "text" | "thinking" | "tool_call" | "tool_result" | "image" | "other",
               "text": str, "name": str | None, "id": str | None}

(`providers/base.py`). A trace no family claims shows no transcript: its raw bodies are still on the page.
"""

from __future__ import annotations

from typing import Any

from r4u_proxy.providers import family_module, prompt_parts, route
from r4u_proxy.providers.base import Message
from r4u_proxy.providers.transcript import pretty_json

__all__ = ["Transcript", "pretty_json", "transcript"]

Transcript = dict[str, Any]


def transcript(trace: dict[str, Any], request_body: Any, response_body: Any) -> Transcript:
    """{"request_messages", "response_messages", "tools"} of a trace row and its parsed bodies."""
    found = route(trace.get("host") or "", trace.get("path") or "")
    module = family_module(found.family) if found is not None else None
    if module is None:
        return {"request_messages": [], "response_messages": [], "tools": []}
    request: dict = request_body if isinstance(request_body, dict) else {}
    requested: list[Message] = module.request_messages(request)
    return {
        "request_messages": requested,
        "response_messages": module.response_messages(response_body),
        "tools": prompt_parts(found.family, request)["tools"],
    }
