"""`r4u tasks`: the prompt templates found in the traffic, with their numbers; one task in detail."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import click

from r4u_proxy.cli import main
from r4u_proxy.cli.options import db_options, existing_db
from r4u_proxy.reports.metrics import duration, money, percent
from r4u_proxy.store.migrations import open_db


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def _one_line(template: str, width: int) -> str:
    flat = " ⏎ ".join(line for line in template.splitlines() if line.strip())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@main.command()
@click.argument("task_id", required=False)
@db_options
@click.option("--group", "group_now", is_flag=True,
              help="Group traces not grouped yet before listing (use when no proxy is running: "
                   "a running proxy groups by itself).")  # fmt: skip
@click.option("--limit", default=50, show_default=True, help="Tasks to list, busiest first.")
@click.option("--examples", default=3, show_default=True, help="With TASK_ID: recent traces to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def tasks(
    task_id: str | None, home: Path | None, db: Path | None, group_now: bool, limit: int, examples: int, as_json: bool
) -> None:
    """The prompt templates r4u found in your traffic (tasks), busiest first; or one TASK_ID in detail."""
    path = existing_db(home, db)
    if group_now:
        from r4u_proxy.grouping.store import group_pending

        done = group_pending(path)
        if not as_json:
            click.echo(f"grouped {done} new traces", err=True)
    open_db(path).close()  # a file from an older release gets the tasks' stats columns first
    conn = _connect(path)
    try:
        if task_id:
            _show_task(conn, task_id, examples, as_json)
        else:
            _list_tasks(conn, limit, as_json)
    finally:
        conn.close()


def _list_tasks(conn: sqlite3.Connection, limit: int, as_json: bool) -> None:
    rows = [dict(r) for r in conn.execute("SELECT * FROM tasks ORDER BY trace_count DESC, id LIMIT ?", (limit,))]
    if as_json:
        for row in rows:
            row["segments"] = json.loads(row["segments"] or "[]")
            row["variables"] = json.loads(row["variables"] or "[]")
            row["models"] = json.loads(row["models"] or "[]")
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no tasks yet")
        return
    header = f"{'task':32} {'traces':>7} {'mean $':>9} {'p50':>9} {'p95':>9} {'errors':>7}  template"
    click.echo(header)
    for row in rows:
        click.echo(
            f"{row['id']:32} {row['trace_count'] or 0:>7} {money(row['mean_cost_usd']):>9} "
            f"{duration(row['p50_latency_ms']):>9} {duration(row['p95_latency_ms']):>9} "
            f"{percent(row['error_rate']):>7}  {_one_line(row['template'] or '', 70)}"
        )


def _show_task(conn: sqlite3.Connection, task_id: str, examples: int, as_json: bool) -> None:
    row = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        raise click.ClickException(f"no task {task_id}")
    task = dict(row)
    recent = [
        {"trace_id": r["id"], "started_at": r["started_at"], "values": json.loads(r["template_vars"] or "{}")}
        for r in conn.execute(
            "SELECT id, started_at, template_vars FROM traces WHERE task_id = ? ORDER BY id DESC LIMIT ?",
            (task_id, examples),
        )
    ]
    if as_json:
        task["variables"] = json.loads(task["variables"] or "[]")
        task["models"] = json.loads(task["models"] or "[]")
        task["segments"] = json.loads(task["segments"] or "[]")
        click.echo(json.dumps({"task": task, "recent": recent}, indent=2))
        return
    click.echo(f"task {task_id}: {task['trace_count']} traces, {task['first_seen']} … {task['last_seen']}")
    click.echo(f"models: {', '.join(json.loads(task['models'] or '[]')) or '—'}")
    click.echo(
        f"cost: total {money(task['total_cost_usd'])}, mean {money(task['mean_cost_usd'])}; "
        f"tokens in {task['input_tokens'] or 0:,}, out {task['output_tokens'] or 0:,}; "
        f"latency p50 {duration(task['p50_latency_ms'])}, p95 {duration(task['p95_latency_ms'])}; "
        f"errors {task['error_count'] or 0:,} ({percent(task['error_rate'])})"
    )
    click.echo("template:")
    click.echo(task["template"])
    for example in recent:
        click.echo(f"--- {example['trace_id']} ({example['started_at']})")
        for name, value in example["values"].items():
            shown = value if len(value) <= 200 else value[:199] + "…"
            click.echo(f"  {name} = {json.dumps(shown)}")
