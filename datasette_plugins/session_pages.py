"""Sessions: the agent runs and conversations r4u found, and one session as it grew.

    /-/r4u/sessions[.json]        ?since=24h&project=NAME&page=N
    /-/r4u/session/<id>[.json]    totals, timeline, context chart, the conversation turn by turn, sub-sessions
The numbers come from r4u_proxy.sessions.query, the same functions `r4u sessions` prints.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from datasette.utils import tilde_decode
from datasette.utils.asgi import NotFound, Request, Response

from r4u_proxy.providers import FAMILIES, route
from r4u_proxy.sessions import query
from r4u_proxy.sessions.context import PARTS

from . import session_charts, traces_db

if TYPE_CHECKING:
    from datasette.app import Datasette

PAGE_SIZE = 100
CONVERSATION_TURNS = 200  # turns whose bodies are read for the conversation view
_SYSTEM_KEYS = ("system", "instructions", "systemInstruction", "system_instruction")


def _page(request: Request) -> int:
    try:
        return max(int(request.args.get("page", "0")), 0)
    except ValueError:
        return 0


def _json_response(data: Any) -> Response:
    return Response.json(data, default=str)


async def sessions_view(datasette: Datasette, request: Request) -> Response:
    since, project, page = request.args.get("since") or None, request.args.get("project") or None, _page(request)
    db = await traces_db.find(datasette)
    try:
        found = await db.execute_fn(
            lambda conn: query.list_sessions(conn, since, project, PAGE_SIZE + 1, page * PAGE_SIZE)
        )
        problem = None
    except ValueError as exc:
        found, problem = [], str(exc)
    if request.url_vars.get("format") == "json":
        return _json_response({"sessions": found[:PAGE_SIZE], "has_more": len(found) > PAGE_SIZE, "error": problem})
    context = {
        "database": db.name, "sessions": found[:PAGE_SIZE], "has_more": len(found) > PAGE_SIZE, "page": page,
        "since": since or "", "project": project or "", "problem": problem,
    }  # fmt: skip
    return Response.html(await datasette.render_template("r4u_sessions.html", context, request=request))


def _conversation(conn: sqlite3.Connection, turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each turn with only what it added: its new input messages and its output."""
    shown = []
    for turn in turns[:CONVERSATION_TURNS]:
        row = conn.execute(
            "select host, path, operation, request_body, response_body from traces where id = ?", [turn["id"]]
        ).fetchone()
        request_body, response_body = _load(row[3]), _load(row[4])
        found = route(row[0], row[1])
        module = FAMILIES.get(found.family) if found else None
        key = getattr(module, "MESSAGES_KEY", None)
        resent = turn.get("resent_messages") or 0
        if isinstance(request_body, dict) and key and isinstance(request_body.get(key), list):
            request_body = dict(request_body)
            request_body[key] = request_body[key][resent:]
            if resent:
                for name in _SYSTEM_KEYS:
                    request_body.pop(name, None)
        shown.append({
            "turn": turn,
            "added": module.request_messages(request_body) if module and isinstance(request_body, dict) else [],
            "output": module.response_messages(response_body) if module else [],
        })  # fmt: skip
    return shown


def _load(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


async def session_view(datasette: Datasette, request: Request) -> Response:
    session_id = tilde_decode(request.url_vars["session_id"])  # links are tilde-encoded like Datasette's own
    db = await traces_db.find(datasette)
    as_json = request.url_vars.get("format") == "json"

    def collect(conn: sqlite3.Connection) -> dict[str, Any] | None:
        detail = query.session_detail(conn, session_id)
        if detail is not None and not as_json:
            detail["conversation"] = _conversation(conn, detail["turns"])
        return detail

    detail = await db.execute_fn(collect)
    if detail is None:
        raise NotFound(f"No session {session_id}")
    if as_json:
        return _json_response(detail)
    totals = {part: sum((t["context_tokens"] or {}).get(part) or 0 for t in detail["turns"]) for part in PARTS}
    context = {
        "database": db.name, **detail, "parts": PARTS, "part_labels": session_charts.LABELS, "totals": totals,
        "timeline_chart": session_charts.timeline_chart(detail["turns"], datasette.urls.path("/-/r4u")),
        "context_chart": session_charts.context_chart(detail["turns"]),
        "truncated": len(detail["turns"]) > CONVERSATION_TURNS,
    }  # fmt: skip
    return Response.html(await datasette.render_template("r4u_session.html", context, request=request))
