"""`r4u sessions`: agent runs and conversations, newest first; one session turn by turn."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import click

from r4u_proxy.cli import main
from r4u_proxy.cli.options import db_options, existing_db, since_option
from r4u_proxy.cli.tables import money, render_table
from r4u_proxy.sessions.context import PARTS
from r4u_proxy.sessions.query import list_sessions, session_detail


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)


def _count(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def _seconds(value: Any) -> str:
    return "—" if value is None else f"{value:,.1f}s"


def _percent(value: Any) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@main.command()
@click.argument("session_id", required=False)
@db_options
@since_option
@click.option("--project", default=None, help="Only sessions of this project.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="Sessions to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def sessions(
    session_id: str | None, home: Path | None, db: Path | None, since: str | None, project: str | None,
    limit: int, as_json: bool,
) -> None:  # fmt: skip
    """Agent sessions (one agent run or conversation each), newest first; or one SESSION_ID turn by turn:
    tokens, cost and how full the context was."""
    path = existing_db(home, db)
    conn = _connect(path)
    try:
        if session_id:
            detail = session_detail(conn, session_id)
            if detail is None:
                raise click.ClickException(f"no session {session_id}")
            click.echo(json.dumps(detail, indent=2) if as_json else "\n".join(_detail_lines(detail)))
            return
        try:
            found = list_sessions(conn, since=since, project=project, limit=limit)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
        click.echo(json.dumps(found, indent=2) if as_json else "\n".join(_list_lines(found)))
    except sqlite3.OperationalError as exc:
        raise click.ClickException(f"cannot read sessions from {path}: {exc}") from None
    finally:
        conn.close()


def _list_lines(found: list[dict[str, Any]]) -> list[str]:
    if not found:
        return ["no sessions yet"]
    headers = ["session", "started", "client", "project", "turns", "sub", "duration", "tokens in", "tokens out",
               "cost", "errors", "models"]  # fmt: skip
    rows = [
        [s["session_id"], (s["started_at"] or "")[:19].replace("T", " "), ", ".join(s["clients"]) or "—",
         s["project"] or "—", _count(s["turns"]), _count(s["sub_sessions"]), _seconds(s["duration_s"]),
         _count(s["input_tokens"]), _count(s["output_tokens"]), money(s["cost_usd"]), _count(s["errors"]),
         ", ".join(s["models"])]
        for s in found
    ]  # fmt: skip
    return render_table(headers, rows, text_columns=4, trailing_text_columns=1)


def _detail_lines(detail: dict[str, Any]) -> list[str]:
    s = detail["session"]
    lines = [
        f"session {s['session_id']}: {s['turns']} turns, {_seconds(s['duration_s'])}, "
        f"{_count(s['input_tokens'])} tokens in / {_count(s['output_tokens'])} out, {money(s['cost_usd'])}, "
        f"{_count(s['errors'])} errors",
        f"client: {', '.join(s['clients']) or '—'}; project: {s['project'] or '—'}; models: {', '.join(s['models'])}",
    ]
    if detail["parent"]:
        lines.append(f"branched from session {detail['parent']['session_id']}")
    headers = ["turn", "trace", "model", "new", "resent", "in", "out", "cost", "ttft", "context", *PARTS]
    rows = []
    for t in detail["turns"]:
        split = t["context_tokens"] or {}
        rows.append([
            _count(t["session_turn"]), t["id"], t["model"] or "—", _count(t["new_messages"]),
            _count(t["resent_messages"]), _count(t["input_tokens"]), _count(t["output_tokens"]), money(t["cost_usd"]),
            "—" if t["ttft_ms"] is None else f"{t['ttft_ms']:,.0f}ms", _percent(t["context_used"]),
            *(_count(split.get(p)) for p in PARTS),
        ])  # fmt: skip
    lines += render_table(headers, rows, text_columns=3)
    for child in detail["sub_sessions"]:
        lines.append(
            f"  sub-session {child['session_id']}: {child['turns']} turns, {money(child['cost_usd'])}, "
            f"from trace {child['branched_from_trace_id'] or '—'}"
        )
    return lines
