"""Full-text search over prompts and completions (the traces_fts FTS5 table)."""

from __future__ import annotations

import sqlite3
from html import escape
from typing import TYPE_CHECKING, Any

from datasette.utils import escape_fts, sqlite_timelimit
from datasette.utils.asgi import Request, Response
from markupsafe import Markup

from . import traces_db

if TYPE_CHECKING:
    from datasette.app import Datasette

LIMIT = 50
TIME_LIMIT_MS = 1000  # a search that takes longer is stopped and says so
# r4u_snippet() wraps matches in these; they are swapped for <mark> after HTML-escaping
# the text, so a prompt containing markup can never inject any.
OPEN, CLOSE = "\x02", "\x03"


def _highlight(snippet: str | None) -> Markup:
    text = escape(snippet or "")
    return Markup(text.replace(OPEN, "<mark>").replace(CLOSE, "</mark>"))


# Newest first walks the FTS index in rowid order and stops at LIMIT; relevance (bm25)
# must score every match first (docs/ui.md, "Speed", for what that costs).
ORDERS = {"newest": "traces_fts.rowid desc", "relevance": "rank"}


def search_data(conn: sqlite3.Connection, query: str, order: str = "newest") -> list[dict[str, Any]]:
    with sqlite_timelimit(conn, TIME_LIMIT_MS):
        rows = conn.execute(
            f"""select traces.id, traces.started_at, traces.provider,
                  coalesce(traces.request_model, traces.response_model) as model, traces.task_id, traces.cost_usd,
                  r4u_snippet(trace_search.prompt_text, :q, '{OPEN}', '{CLOSE}') as prompt_snippet,
                  r4u_snippet(trace_search.completion_text, :q, '{OPEN}', '{CLOSE}')
                    as completion_snippet
                from traces_fts join traces on traces.rowid = traces_fts.rowid
                  join trace_search on trace_search.rowid = traces_fts.rowid
                where traces_fts match :match
                order by {ORDERS[order]}
                limit :limit""",
            {"q": query, "match": escape_fts(query), "limit": LIMIT},
        ).fetchall()
    results = []
    for row in rows:
        result = dict(row)
        result["prompt_snippet"] = _highlight(result["prompt_snippet"])
        result["completion_snippet"] = _highlight(result["completion_snippet"])
        results.append(result)
    return results


async def search_view(datasette: Datasette, request: Request) -> Response:
    query = (request.args.get("q") or "").strip()
    order = request.args.get("sort", "newest")
    if order not in ORDERS:
        order = "newest"
    db = await traces_db.find(datasette)
    results: list[dict[str, Any]] = []
    error = None
    if query:
        try:
            results = await db.execute_fn(lambda conn: search_data(conn, query, order))
        except sqlite3.OperationalError as e:  # e.g. the FTS table is missing on an old database
            error = str(e)
            if "interrupted" in error:
                error = f"the search took longer than {TIME_LIMIT_MS / 1000:g} s; try more specific words"
    context = {
        "database": db.name, "q": query, "sort": order, "results": results, "error": error, "limit": LIMIT,
    }  # fmt: skip
    return Response.html(await datasette.render_template("r4u_search.html", context, request=request))
