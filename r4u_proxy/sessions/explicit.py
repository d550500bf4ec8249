"""Session ids that clients send themselves, in r4u's order of trust.

1. `x-r4u-session` header: the user said so (stripped before upstream by addons/project.py).
2. `helicone-session-id` header: code already tagged for Helicone (also stripped).
3. `x-claude-code-session-id` header: Claude Code, one per `claude` run (its sub-agents share it).
4. Anthropic `metadata.user_id`, a JSON *string* holding `session_id` (Claude Code and the Agent SDK).
5. Codex's `session-id` / `session_id` / `conversation_id` headers.
6. OpenAI Responses `conversation` (a conversation object's id).
7. The WebSocket connection a response came over (`connection_session`, source `websocket`): one connection
   is one session unless the client's own id above says otherwise. So a Codex run is its `session-id`
   (the same over HTTP, over a WebSocket, and across its reconnects), and a Realtime or Gemini Live
   connection, which names no session, is one.

Weaker hints are used later, by the tracker: a Responses `previous_response_id` joins the session of the
call that produced that response; `prompt_cache_key` only names a session when prefix inference found none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

HEADER_IDS = ("x-claude-code-session-id",)
CODEX_HEADERS = ("session-id", "session_id", "conversation_id", "conversation-id")


def _user_id_session(metadata: Any) -> str | None:
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if not isinstance(user_id, str) or not user_id.startswith("{"):
        return None
    try:
        value = json.loads(user_id).get("session_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def _conversation(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def explicit_session(
    hint: tuple[str, str] | None, headers: Mapping[str, str], value: Callable[[str], Any]
) -> tuple[str, str] | None:
    """(session id, source) from what the client sent, or None. `value(key)` reads a top-level body key."""
    if hint and hint[1]:
        return hint[1], hint[0]
    for name in HEADER_IDS:
        if headers.get(name):
            return headers[name], name
    if session := _user_id_session(value("metadata")):
        return session, "metadata.user_id"
    for name in CODEX_HEADERS:
        if headers.get(name):
            return headers[name], name
    if conversation := _conversation(value("conversation")):
        return conversation, "conversation"
    return None


def connection_session(exchange: Mapping[str, Any]) -> tuple[str, str] | None:
    """(connection id, "websocket") for a response that came over a WebSocket (ingest/websocket.py)."""
    websocket = exchange.get("websocket")
    connection_id = websocket.get("connection_id") if isinstance(websocket, Mapping) else None
    return (connection_id, "websocket") if isinstance(connection_id, str) and connection_id else None
