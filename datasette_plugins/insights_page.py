"""/-/r4u/insights: the `r4u insights` findings as a page (and JSON with ?_format=json).

The numbers come from `r4u_proxy.reports.insights`, the same code as the command, run on Datasette's
read connection for the chosen window (?window=1h|24h|7d|30d|all, default 24h).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from datasette.utils.asgi import Request, Response

from r4u_proxy.reports.insights import insights_from_connection
from r4u_proxy.reports.insights.prefixes import CACHE_LIFETIME_S
from r4u_proxy.reports.timewindow import iso_utc

from . import traces_db
from .dashboard import WINDOWS

# Insights read request bodies, not just indexes: a short default window keeps the page quick
# (docs/insights.md, "Speed").
DEFAULT_WINDOW = "24h"

if TYPE_CHECKING:
    from datasette.app import Datasette

ROWS_PER_SECTION = 20


async def insights_view(datasette: Datasette, request: Request) -> Response:
    window = request.args.get("window", DEFAULT_WINDOW)
    if window not in WINDOWS:
        window = DEFAULT_WINDOW
    span = WINDOWS[window]
    cutoff = iso_utc(datetime.now(UTC) - span) if span is not None else None
    db = await traces_db.find(datasette)
    report = await db.execute_fn(lambda conn: insights_from_connection(conn, cutoff, ROWS_PER_SECTION))
    if request.args.get("_format") == "json":
        return Response.json({"window": window, **report.as_dict()})
    tiers: dict[str, list[str]] = {}
    for model in report.what_if.models:
        tiers.setdefault(model.tier, []).append(model.model)
    context = {
        "database": db.name,
        "window": window,
        "windows": list(WINDOWS),
        "report": report,
        "tiers": tiers,
        "cache_minutes": CACHE_LIFETIME_S // 60,
        "what_if_models": [asdict(m) for m in report.what_if.models],
    }
    return Response.html(await datasette.render_template("r4u_insights.html", context, request=request))
