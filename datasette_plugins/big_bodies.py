"""A trace page stays small whatever the call carried: a huge body shows its head and a download link.

A 50 MB request once made a 105 MB trace page. Bodies up to PAGE_CHARS are shown whole (as a chat
and pretty-printed); a longer one shows its first HEAD_CHARS characters as stored, and the page
links to `/-/r4u/trace/<id>/body/<which>`, which sends the whole stored text as a download.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datasette.utils.asgi import NotFound, Request, Response

from . import traces_db

if TYPE_CHECKING:
    from datasette.app import Datasette

PAGE_CHARS = 1024 * 1024
HEAD_CHARS = 256 * 1024
BODIES = {"request": "request_body", "response": "response_body", "raw": "response_raw", "completion": "completion_text"}


def bound_trace(trace: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """The trace with every over-long text cut to its head, and {which: full length} of those cut."""
    cut: dict[str, int] = {}
    bounded = dict(trace)
    for which, column in BODIES.items():
        text = trace.get(column)
        if isinstance(text, str) and len(text) > PAGE_CHARS:
            cut[which] = len(text)
            bounded[column] = text[:HEAD_CHARS]
    return bounded, cut


async def body_download(datasette: Datasette, request: Request) -> Response:
    which = request.url_vars["which"]
    column = BODIES.get(which)
    if column is None:
        raise NotFound(f"no body {which!r}; one of {', '.join(BODIES)}")
    trace_id = request.url_vars["trace_id"]
    db = await traces_db.find(datasette)
    rows = await db.execute(f"select [{column}] from traces where id = ?", [trace_id])
    row = rows.first()
    if row is None:
        raise NotFound(f"No trace with id {trace_id}")
    text = row[0] or ""
    kind = "text/plain" if which in ("raw", "completion") else "application/json"
    suffix = "txt" if kind == "text/plain" else "json"
    return Response(
        text, content_type=f"{kind}; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{trace_id}-{which}.{suffix}"'},
    )  # fmt: skip
