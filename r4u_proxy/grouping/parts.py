"""What of a request is grouped: the partition signature and the template text.

A developer's template is the system prompt plus the messages of the first turn (every message
before the first assistant reply); later turns are conversation, not template. Tool definitions do
not enter the text but the signature, so an agent with other tools is another task.
"""

from __future__ import annotations

import json
from typing import Any

# Roles that open a conversation before the model's first reply.
_FIRST_TURN_ROLES = frozenset({"user", "system", "developer"})


def first_turn(parts: dict[str, Any]) -> list[dict[str, str]]:
    turns = []
    for turn in parts.get("turns") or []:
        if turn.get("role") not in _FIRST_TURN_ROLES:
            break
        turns.append(turn)
    return turns


def grouping_text(parts: dict[str, Any]) -> str:
    """The text a template is mined from: each section under a `[role]` line."""
    sections = []
    if parts.get("system"):
        sections.append(f"[system]\n{parts['system']}")
    for turn in first_turn(parts):
        sections.append(f"[{turn.get('role')}]\n{turn.get('text') or ''}")
    return "\n".join(sections)


def signature(provider: str | None, operation: str | None, parts: dict[str, Any]) -> str:
    """The cheap partition key: similarity only ever runs between traces that share it."""
    roles = (["system"] if parts.get("system") else []) + [t.get("role", "") for t in first_turn(parts)]
    tools = sorted(str(name) for name in parts.get("tools") or [])
    return json.dumps([provider or "", operation or "", roles, tools], separators=(",", ":"))


def parts_from_trace(family: str | None, request_body: str | None) -> dict[str, Any] | None:
    """The prompt parts of a stored trace, or None when there is nothing to group."""
    if not family or not request_body:
        return None
    try:
        body = json.loads(request_body)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    from r4u_proxy.providers import prompt_parts

    try:
        parts = prompt_parts(family, body)
    except Exception:  # a body the parser does not understand is simply not grouped
        return None
    if not parts.get("system") and not first_turn(parts):
        return None
    return parts
