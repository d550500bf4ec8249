"""Open traces.db and bring its schema up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from r4u_proxy.store.schema import MIGRATIONS, SCHEMA_VERSION


class SchemaTooNew(RuntimeError):
    pass


def connect(path: str | Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection in WAL mode with sane settings for a file shared with readers (Datasette)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    new = not Path(path).exists() or Path(path).stat().st_size == 0
    conn = sqlite3.connect(str(path), check_same_thread=check_same_thread, timeout=30)
    if new:  # lets `r4u prune` give freed pages back; only before WAL mode writes the header (else a VACUUM)
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this file has not seen yet; return the schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"traces.db has schema version {version}, newer than this r4u knows ({SCHEMA_VERSION}); "
            "upgrade r4u"
        )
    for number in range(version, SCHEMA_VERSION):
        with conn:  # each migration and its version bump commit together
            MIGRATIONS[number](conn)
            conn.execute(f"PRAGMA user_version={number + 1}")
    return SCHEMA_VERSION


def open_db(path: str | Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    conn = connect(path, check_same_thread=check_same_thread)
    migrate(conn)
    return conn
