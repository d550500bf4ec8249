"""r4u's Datasette plugin: the dashboard, trace, task and search pages and the named queries.

Registered as the datasette entry point `r4u` (pyproject.toml), installed as
`r4u_proxy.datasette_plugins`, so its static files are served at
/-/static-plugins/r4u/ and its templates (all prefixed `r4u_`) join Datasette's.

Pages (all plain server-rendered HTML, no JavaScript needed):
    /                          dashboard (falls back to Datasette's index when no traces table exists)
    /-/r4u/trace/<id>          one trace as a chat
    /-/r4u/trace/<id>/body/<which>  a stored body as a download (request, response, raw, completion)
    /-/r4u/tasks               tasks by cost
    /-/r4u/task/<id>           one task: template, variables, traces, trend
    /-/r4u/search?q=           full-text search
    /-/r4u/insights            repeated requests, prompts missing the cache, what-if prices
    /-/r4u/sessions[.json]     agent sessions; /-/r4u/session/<id>[.json] one session as it grew
    /<db>/traces               Datasette's table page, opened without the body columns (traces_table.py)
The JSON API is Datasette's own table JSON plus NAMED_QUERIES (named_queries.py).
"""

from __future__ import annotations

import os
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from datasette import hookimpl
from datasette.utils.asgi import Request, Response
from markupsafe import Markup

from . import (
    big_bodies,
    dashboard,
    formatting,
    insights_page,
    privacy,
    search_page,
    session_pages,
    snippets,
    task_pages,
    trace_page,
    traces_db,
    traces_table,
)
from .named_queries import NAMED_QUERIES

if TYPE_CHECKING:
    from datasette.app import Datasette

PREFIX = "/-/r4u"


async def _home(datasette: Datasette, request: Request) -> Response:
    try:
        await traces_db.find(datasette)
    except traces_db.NoTracesDatabase:
        # Some other Datasette in the same environment: keep its normal index page.
        from datasette.views.index import IndexView  # imported late: datasette.app imports plugins

        request.scope["url_route"] = {"kwargs": {"format": None}}
        return await IndexView(datasette).dispatch_request(request)
    return await dashboard.dashboard_view(datasette, request)


@hookimpl
def register_routes(datasette: Datasette) -> list[tuple[str, Any]]:
    return [
        (r"^/$", _home),
        (rf"^{PREFIX}/trace/(?P<trace_id>[^/]+)$", trace_page.trace_view),
        (rf"^{PREFIX}/trace/(?P<trace_id>[^/]+)/body/(?P<which>[a-z]+)$", big_bodies.body_download),
        (rf"^{PREFIX}/tasks$", task_pages.tasks_view),
        (rf"^{PREFIX}/task/(?P<task_id>[^/]+)$", task_pages.task_view),
        (rf"^{PREFIX}/search$", search_page.search_view),
        (rf"^{PREFIX}/insights$", insights_page.insights_view),
        (rf"^{PREFIX}/sessions(\.(?P<format>json))?$", session_pages.sessions_view),
        (rf"^{PREFIX}/session/(?P<session_id>[^/]+?)(\.(?P<format>json))?$", session_pages.session_view),
    ]


@hookimpl
def canned_queries(datasette: Datasette, database: str, actor: Any) -> Any:
    async def inner() -> dict[str, dict[str, str]]:
        if database.startswith("_") or not await traces_db.has_traces(datasette.get_database(database)):
            return {}
        return {name: dict(query) for name, query in NAMED_QUERIES.items()}

    return inner


@hookimpl
def get_metadata(datasette: Datasette, key: str, database: str | None, table: str | None) -> dict[str, Any]:
    """`traces` is a view: name its full-text index for Datasette's ?_search= (it finds tables' own)."""
    fts = {"tables": {"traces": {"fts_table": "traces_fts", "fts_pk": "rowid"}}}
    return {"databases": {name: fts for name in datasette.databases if not name.startswith("_")}}


@hookimpl
def render_cell(value: Any, column: str, table: str | None, datasette: Datasette) -> Any:
    """Rows of the traces view have no Datasette row page: their id links to the trace page instead."""
    if table == "traces" and column == "id" and isinstance(value, str):
        href = datasette.urls.path(f"{PREFIX}/trace/{quote(value, safe='')}")
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
    return None


@hookimpl
def prepare_jinja2_environment(env: Any, datasette: Datasette) -> None:
    env.filters.update(formatting.FILTERS)


@hookimpl
def extra_css_urls(datasette: Datasette) -> list[str]:
    return [datasette.urls.static_plugins("r4u", "r4u.css")]


@hookimpl
def extra_template_vars(datasette: Datasette) -> dict[str, Any]:
    return {"r4u_prefix": datasette.urls.path(PREFIX)}


@hookimpl
def menu_links(datasette: Datasette) -> list[dict[str, str]]:
    return [
        {"href": datasette.urls.path("/"), "label": "r4u dashboard"},
        {"href": datasette.urls.path(f"{PREFIX}/sessions"), "label": "Sessions"},
        {"href": datasette.urls.path(f"{PREFIX}/tasks"), "label": "Tasks by cost"},
        {"href": datasette.urls.path(f"{PREFIX}/search"), "label": "Search prompts"},
        {"href": datasette.urls.path(f"{PREFIX}/insights"), "label": "Insights"},
    ]


@hookimpl
def asgi_wrapper(datasette: Datasette) -> Any:
    policy = privacy.HostPolicy(os.environ.get(privacy.ALLOWED_HOSTS_ENV, ""))
    return lambda app: privacy.guard(traces_table.without_bodies(app), policy)


@hookimpl
def startup(datasette: Datasette) -> None:
    if parent := os.environ.get(privacy.PARENT_ENV):
        privacy.watch_parent(int(parent))


@hookimpl
def prepare_connection(conn: Any) -> None:
    conn.create_function("r4u_snippet", -1, snippets.snippet, deterministic=True)
