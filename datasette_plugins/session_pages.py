"""Sessions: the agent runs and conversations r4u found, and one session as it grew.

    /-/r4u/sessions[.json]        ?since=24h&project=NAME&page=N
    /-/r4u/session/<id>[.json]    totals, timeline, context chart, the conversation turn by turn (?page=N,
                                  CONVERSATION_TURNS a page), sub-sessions
The numbers come from r4u_proxy.sessions.query, the same functions `r4u sessions` prints.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from datasette.utils import tilde_decode
from datasette.utils.asgi import NotFound, Request, Response

from r4u_proxy.providers import FAMILIES, route, transcript
from r4u_proxy.sessions import query
from r4u_proxy.sessions.context import PARTS
from r4u_proxy.store.content import read

from . import session_charts, traces_db

if TYPE_CHECKING:
    from datasette.app import Datasette

PAGE_SIZE = 100
CONVERSATION_TURNS = 50  # turns of the conversation view a page shows
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
    """Each turn with only what it added: its new input messages and its output.

    A turn that resent earlier messages reads only its new ones, from the end of its path in message_nodes
    (store/content/read.py): rebuilding every turn's whole body made a 200-turn session quadratic."""
    shown = []
    for turn in turns:
        row = conn.execute("select host, path from traces where id = ?", [turn["id"]]).fetchone()
        found = route(row[0], row[1])
        module = FAMILIES.get(found.family) if found else None
        key = getattr(module, "MESSAGES_KEY", None)
        resent, new = turn.get("resent_messages") or 0, turn.get("new_messages")
        added = read.last_messages(conn, turn["id"], new) if key and resent and new is not None else None
        request_body = {key: added} if added is not None else _added(conn, turn["id"], key, resent)
        response_body = _load(read.response_body(conn, turn["id"]))
        shown.append({
            "turn": turn,
            "added": transcript.request_messages(module, request_body) if module else [],
            "output": transcript.response_messages(module, response_body) if module else [],
        })  # fmt: skip
    return shown


def _added(conn: sqlite3.Connection, trace_id: str, key: str | None, resent: int) -> Any:
    """What a turn added, cut from its whole request body (a first turn, a body not stored as messages)."""
    request_body = _load(conn.execute("select request_body from traces where id = ?", [trace_id]).fetchone()[0])
    if isinstance(request_body, dict) and key and isinstance(request_body.get(key), list):
        request_body = dict(request_body)
        request_body[key] = request_body[key][resent:]
        if resent:
            for name in _SYSTEM_KEYS:
                request_body.pop(name, None)
    return request_body


def _load(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


async def session_view(datasette: Datasette, request: Request) -> Response:
    session_id = tilde_decode(request.url_vars["session_id"])  # links are tilde-encoded like Datasette's own
    db = await traces_db.find(datasette)
    as_json = request.url_vars.get("format") == "json"

    page = _page(request)
    first = page * CONVERSATION_TURNS

    def collect(conn: sqlite3.Connection) -> dict[str, Any] | None:
        detail = query.session_detail(conn, session_id)
        if detail is not None and not as_json:
            detail["conversation"] = _conversation(conn, detail["turns"][first : first + CONVERSATION_TURNS])
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
        "page": page, "first_turn": first, "has_more": len(detail["turns"]) > first + CONVERSATION_TURNS,
    }  # fmt: skip
    return Response.html(await datasette.render_template("r4u_session.html", context, request=request))
