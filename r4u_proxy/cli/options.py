"""Options several commands share: which r4u home, which database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from r4u_proxy.paths import Home


def home_option(f: Callable) -> Callable:
    return click.option(
        "--home", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="r4u's folder (default: $R4U_HOME or ~/.r4u).",
    )(f)  # fmt: skip


def db_options(f: Callable) -> Callable:
    """--home and --db: the database is --db, else HOME/traces.db."""
    f = click.option(
        "--db", type=click.Path(dir_okay=False, path_type=Path), help="SQLite file (default: HOME/traces.db)."
    )(f)
    return home_option(f)


def db_path(home: Path | None, db: Path | None) -> Path:
    return db if db is not None else Home.resolve(home).db


def existing_db(home: Path | None, db: Path | None) -> Path:
    """The database path, or a one-line error when nothing has been recorded there yet."""
    path = db_path(home, db)
    if not path.exists():
        raise click.ClickException(f"no traces yet: {path} does not exist")
    return path


def show_report(path: Path, collect: Callable[[], Any], render: Callable[[Any], str], as_json: bool) -> None:
    """Collect a report (an object with `as_dict()`) and print it as text or JSON.

    A bad --since and an unreadable database become one-line errors, not tracebacks."""
    try:
        report = collect()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else render(report))


def since_option(f: Callable) -> Callable:
    return click.option(
        "--since", default=None, metavar="SPAN",
        help="Only calls in the last SPAN (30m, 24h, 7d, 2w) or since a date.",
    )(f)  # fmt: skip
