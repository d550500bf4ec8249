"""`r4u prune`: retention by age and by size, space given back (policy: r4u_proxy/store/content/prune.py)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import click

from r4u_proxy.cli import main
from r4u_proxy.cli.options import db_options, existing_db
from r4u_proxy.paths import Home
from r4u_proxy.reports.timewindow import since_cutoff
from r4u_proxy.state import running_state
from r4u_proxy.store.content.prune import prune as run_prune
from r4u_proxy.store.migrations import open_db

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


class ByteSize(click.ParamType):
    """500MB, 2GB, 1.5G, 800000 (bytes)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(str(value))
        if not match or float(match.group(1)) <= 0:
            self.fail(f"{value!r} is not a size like 500MB or 2GB", param, ctx)
        return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


class Span(click.ParamType):
    """30d, 12h, 2w, or a date: turned into the started_at cutoff at parse time."""

    name = "span"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            cutoff = since_cutoff(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a span like 30d, 12h, 2w or a date like 2026-11-01", param, ctx)
        assert cutoff is not None
        return cutoff


def _vacuum(path: Path, home: Path | None) -> None:
    state = running_state(Home.resolve(home))
    if state is not None and Path(state.get("db", "")).resolve() == path.resolve():
        raise click.ClickException("the proxy is writing to this file: stop it first (`r4u proxy stop`), then --vacuum")
    conn = open_db(path)
    try:
        before = path.stat().st_size
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        click.echo(f"rewrote {path}: {before / 1e6:,.1f} MB -> {path.stat().st_size / 1e6:,.1f} MB; "
                   "from now on prune gives freed space back by itself")  # fmt: skip
    finally:
        conn.close()


@main.command()
@db_options
@click.option("--older-than", type=Span(), metavar="SPAN", help="Remove calls that started more than SPAN ago (30d, 12h, 2w).")
@click.option("--keep-stats", is_flag=True, help="With --older-than: remove only their bodies; rows, totals and stats stay.")
@click.option("--max-db-size", type=ByteSize(), metavar="SIZE", help="Remove the oldest calls' bodies until the data fits (500MB, 2GB).")
@click.option("--vacuum", is_flag=True, help="Rewrite the file once so freed space goes back to the disk (proxy stopped).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a summary.")
def prune(
    home: Path | None, db: Path | None, older_than: str | None, keep_stats: bool, max_db_size: int | None,
    vacuum: bool, as_json: bool,
) -> None:  # fmt: skip
    """Keep traces.db small: remove old calls (or only their bodies), fit a size, give the space back.

    Safe while the proxy runs: it works in short transactions and never touches a call being written."""
    if older_than is None and max_db_size is None and not vacuum:
        raise click.UsageError("say what to prune: --older-than SPAN, --max-db-size SIZE, or --vacuum")
    if keep_stats and older_than is None:
        raise click.UsageError("--keep-stats goes with --older-than")
    path = existing_db(home, db)
    if vacuum:
        _vacuum(path, home)
    if older_than is None and max_db_size is None:
        return
    conn = open_db(path)
    try:
        result = run_prune(conn, older_than=older_than, keep_stats=keep_stats, max_bytes=max_db_size)
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot prune {path}: {exc}") from None
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(
        f"removed {result.deleted:,} calls, the bodies of {result.emptied:,} more; swept {result.contents:,} "
        f"contents and {result.nodes:,} message nodes; {result.bytes_before / 1e6:,.1f} MB -> "
        f"{result.bytes_after / 1e6:,.1f} MB"
    )
    for note in result.notes:
        click.echo(f"note: {note}")
