"""Migration `task_rollup_v1`: every task's totals per hour, kept by triggers.

"Tasks by cost" (the UI's tasks page, the `tasks_by_cost` named query) and the dashboard's most expensive
tasks summed every call of every task on each view: at a million calls, a million index entries a page.
`task_rollup` holds one row per task and hour, kept exact by triggers on trace_rows through inserts,
updates (grouping assigning tasks, repricing) and deletes (`r4u prune`), like the dashboard's hourly
rollup (ui_indexes.py), which has no task column.
"""

from __future__ import annotations

import sqlite3

from r4u_proxy.reports.metrics import error_sql
from r4u_proxy.store.content.schema import TRACE_TABLE

SUMS = (
    "calls", "priced", "cost_usd", "input_tokens", "output_tokens", "errors", "latency_sum", "latency_n",
    "ttft_sum", "ttft_n",
)  # fmt: skip
WATCHED = "task_id, started_at, cost_usd, input_tokens, output_tokens, status_code, error, latency_ms, ttft_ms"

TABLE = f"""CREATE TABLE IF NOT EXISTS task_rollup (
  hour TEXT NOT NULL, task_id TEXT NOT NULL,
  {", ".join(f"{c} {'REAL' if c in ('cost_usd', 'latency_sum', 'ttft_sum') else 'INTEGER'}" for c in SUMS)},
  PRIMARY KEY (task_id, hour)
) WITHOUT ROWID"""
INDEX = "CREATE INDEX IF NOT EXISTS idx_task_rollup_hour ON task_rollup(hour)"


def _values(row: str) -> list[str]:
    """One call's hour and contribution to SUMS, as SQL over `new` or `old`."""
    return [
        f"coalesce(substr({row}.started_at, 1, 13), '')", "1", f"{row}.cost_usd IS NOT NULL",
        f"coalesce({row}.cost_usd, 0)", f"coalesce({row}.input_tokens, 0)", f"coalesce({row}.output_tokens, 0)",
        f"coalesce({error_sql(row)}, 0)", f"coalesce({row}.latency_ms, 0)", f"{row}.latency_ms IS NOT NULL",
        f"coalesce({row}.ttft_ms, 0)", f"{row}.ttft_ms IS NOT NULL",
    ]  # fmt: skip


def _add(row: str) -> str:
    hour, *values = _values(row)
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in SUMS)
    return (
        f"INSERT INTO task_rollup (hour, task_id, {', '.join(SUMS)}) SELECT {hour}, {row}.task_id, "
        f"{', '.join(values)} WHERE {row}.task_id IS NOT NULL ON CONFLICT (task_id, hour) DO UPDATE SET {updates};"
    )


def _subtract(row: str) -> str:
    hour, *values = _values(row)
    updates = ", ".join(f"{c} = {c} - ({v})" for c, v in zip(SUMS, values, strict=True))
    return f"UPDATE task_rollup SET {updates} WHERE task_id = {row}.task_id AND hour = {hour};"


TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS task_rollup_ai AFTER INSERT ON {TRACE_TABLE} BEGIN {_add('new')} END",
    f"CREATE TRIGGER IF NOT EXISTS task_rollup_ad AFTER DELETE ON {TRACE_TABLE} BEGIN {_subtract('old')} END",
    f"CREATE TRIGGER IF NOT EXISTS task_rollup_au AFTER UPDATE OF {WATCHED} ON {TRACE_TABLE} "
    f"BEGIN {_subtract('old')} {_add('new')} END",
]

# What the tasks list shows per task, from the rollup (the same numbers summing the calls gave).
TASKS_BY_COST = """
with r as (
  select task_id, sum(calls) as calls, sum(priced) as priced, sum(cost_usd) as cost_usd,
    sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens, sum(latency_sum) as latency_sum,
    sum(latency_n) as latency_n
  from task_rollup group by task_id
)
select tasks.id as task_id, tasks.name, tasks.template, r.calls,
  round(case when r.priced > 0 then r.cost_usd end, 6) as cost_usd, r.input_tokens, r.output_tokens,
  round(r.latency_sum / nullif(r.latency_n, 0), 1) as avg_latency_ms, tasks.first_seen, tasks.last_seen
from r join tasks on tasks.id = r.task_id
where r.calls > 0
order by cost_usd desc nulls last, r.calls desc
"""


def task_rollup_v1(conn: sqlite3.Connection) -> None:
    conn.execute(TABLE)
    conn.execute(INDEX)
    for statement in TRIGGERS:
        conn.execute(statement)
    hour, *values = _values(TRACE_TABLE)
    conn.execute("DELETE FROM task_rollup")
    conn.execute(
        f"INSERT INTO task_rollup (hour, task_id, {', '.join(SUMS)}) "
        f"SELECT {hour}, task_id, {', '.join(f'sum({v})' for v in values)} FROM {TRACE_TABLE} "
        "WHERE task_id IS NOT NULL GROUP BY 1, 2"
    )
