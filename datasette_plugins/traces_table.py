"""Datasette's own table page of `traces` opens without the body columns.

`traces` is a view (r4u_proxy/store/content/schema.py): each request body a page shows is rebuilt from its
messages, ~100 nodes for a long agent turn, so a page of 50 agent calls spent most of its time rebuilding
bodies the table cuts to a few characters anyway. The HTML table page without a column choice
(`_col`/`_nocol`) is redirected to the same page with `_nocol=` for each body column: the URL says what is
left out, and Datasette's column menu (or removing the `_nocol`s) shows them. The JSON API is untouched:
`/<db>/traces.json` returns every column, bodies included, as the contract says.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

BODY_COLUMNS = ("request_body", "prompt_text", "response_body", "response_raw", "request_headers", "response_headers")


def _location(scope: dict[str, Any]) -> str | None:
    """Where a bare HTML traces table request goes instead, or None to serve it as it is."""
    path = scope.get("path") or ""
    parts = path.split("/")
    if scope.get("method", "GET") != "GET" or len(parts) != 3 or parts[2] != "traces" or parts[1].startswith("-"):
        return None
    query = parse_qsl((scope.get("query_string") or b"").decode("latin-1"), keep_blank_values=True)
    if any(key in ("_col", "_nocol") for key, _ in query):
        return None
    query += [("_nocol", column) for column in BODY_COLUMNS]
    return f"{scope.get('root_path', '')}{path}?{urlencode(query)}"


def without_bodies(app: Any) -> Any:
    """ASGI wrapper: the redirect above, everything else passed through."""

    async def wrapped(scope: dict, receive: Any, send: Any) -> None:
        location = _location(scope) if scope["type"] == "http" else None
        if location is None:
            await app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 302,
                    "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b""})

    return wrapped
