"""The named (canned) queries r4u adds to the traces database: its JSON API.

Each is served by Datasette at /<db>/<name> (HTML) and /<db>/<name>.json
(?_shape=array for a plain list). docs/ui.md has curl examples. Every query
is written to use an index from r4u_proxy/store/ui_indexes.py.
"""

from __future__ import annotations

from r4u_proxy.reports.metrics import ERROR_SQL
from r4u_proxy.store.task_rollup import TASKS_BY_COST

MODEL = "coalesce(request_model, response_model)"

NAMED_QUERIES: dict[str, dict[str, str]] = {
    "cost_by_model_per_day": {
        "title": "Cost by model per day",
        "description": "Calls, tokens and USD cost for each model on each UTC day, newest day first.",
        # From the hourly rollup kept by triggers (store/ui_indexes.py): exact, and no scan of traces.
        "sql": """
select substr(hour, 1, 10) as day, nullif(model, '') as model, sum(calls) as calls,
  sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens,
  case when sum(priced) > 0 then round(sum(cost_usd), 6) end as cost_usd, sum(unpriced) as unpriced_calls
from traces_rollup
where calls > 0
group by day, model
order by day desc, sum(cost_usd) desc
""",
    },
    "slowest_calls": {
        "title": "Slowest calls",
        "description": "The 100 calls with the longest latency (request sent to last byte).",
        "sql": f"""
select id, started_at, provider, {MODEL} as model, stream, latency_ms, ttft_ms,
  output_tokens, status_code, task_id
from traces
where latency_ms is not null
order by latency_ms desc
limit 100
""",
    },
    "errors": {
        "title": "Errors",
        "description": "The 200 latest calls that failed: an HTTP status >= 400 or a transport/stream error.",
        "sql": f"""
select id, started_at, provider, {MODEL} as model, status_code, error, url, task_id
from traces
where {ERROR_SQL}
order by started_at desc
limit 200
""",
    },
    "tasks_by_cost": {
        "title": "Tasks by cost",
        "description": "Every task (prompt template) with its calls, tokens and total cost, most expensive first.",
        "sql": TASKS_BY_COST,  # from task_rollup, kept by triggers (r4u_proxy/store/task_rollup.py)
    },
    "trace_with_task": {
        "title": "A trace with its task",
        "description": "One trace (all columns) with its task's template. Parameter: id.",
        "sql": """
select traces.*, tasks.template as task_template, tasks.variables as task_variables,
  tasks.trace_count as task_trace_count
from traces left join tasks on tasks.id = traces.task_id
where traces.id = :id
""",
    },
    "search": {
        "title": "Search prompts and completions",
        "description": "Full-text search (SQLite FTS5) over prompt_text and completion_text, newest first. "
        "Parameter: q.",
        "sql": f"""
select traces.id, traces.started_at, traces.provider, {MODEL} as model, traces.task_id,
  r4u_snippet(trace_search.prompt_text, :q) as prompt_snippet,
  r4u_snippet(trace_search.completion_text, :q) as completion_snippet
from traces_fts join traces on traces.rowid = traces_fts.rowid
  join trace_search on trace_search.rowid = traces_fts.rowid
where traces_fts match escape_fts(:q)
order by traces_fts.rowid desc
limit 100
""",
    },
}
