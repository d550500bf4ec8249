"""Find the database that holds r4u's traces and run work on its connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.database import Database


T = TypeVar("T")


class NoTracesDatabase(LookupError):
    pass


async def has_traces(db: Database) -> bool:
    """`traces` is a view over trace_rows since content storage (older files: a table)."""
    found = await db.execute("select 1 from sqlite_master where name = 'traces' and type in ('table', 'view')")
    return bool(found.rows)


async def find(datasette: Datasette) -> Database:
    """The first attached database with `traces` (normally traces.db)."""
    for name, db in datasette.databases.items():
        if name.startswith("_"):
            continue
        if await has_traces(db):
            return db
    raise NoTracesDatabase("no attached database has a traces table — is this an r4u traces.db?")


async def run(datasette: Datasette, fn: Callable[[Any], T]) -> T:
    """Run fn(sqlite3.Connection) on the database's read thread.

    Pages use raw connections rather than Datasette's execute(): they issue
    several small aggregate queries and need no Row objects or time-limit
    truncation per query.
    """
    db = await find(datasette)
    return await db.execute_fn(fn)
