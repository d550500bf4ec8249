"""Find the database that holds r4u's traces (pages then run their SQL with its `execute_fn`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.database import Database


class NoTracesDatabase(LookupError):
    pass


async def find(datasette: Datasette) -> Database:
    """The first attached database with a `traces` table (normally traces.db)."""
    for name, db in datasette.databases.items():
        if name.startswith("_"):
            continue
        if await db.table_exists("traces"):
            return db
    raise NoTracesDatabase("no attached database has a traces table — is this an r4u traces.db?")

