"""Options several commands share: which r4u home, which database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from ..paths import Home


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


def since_option(f: Callable) -> Callable:
    return click.option(
        "--since", default=None, metavar="SPAN",
        help="Only calls in the last SPAN (30m, 24h, 7d, 2w) or since a date.",
    )(f)  # fmt: skip
