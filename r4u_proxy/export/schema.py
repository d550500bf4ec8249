"""What export keeps in traces.db: the live exporter's watermark and the sessions whose root span it sent.

The watermark lives beside the traces it points into, so it survives restarts and moves in the same
file: a restarted exporter neither resends what the receiver acknowledged nor skips what it did not.
"""

from __future__ import annotations

import sqlite3


def export_v1(conn: sqlite3.Connection) -> None:
    """`export_state`: per receiver (sink), the last traces rowid it acknowledged.
    `export_sessions`: per receiver and session, the rowid of the newest trace its root span covered."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS export_state ("
        " sink TEXT PRIMARY KEY, last_rowid INTEGER NOT NULL, sent INTEGER NOT NULL DEFAULT 0,"
        " rejected INTEGER NOT NULL DEFAULT 0, updated_at TEXT)"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS export_sessions ("
        " sink TEXT NOT NULL, session_id TEXT NOT NULL, last_rowid INTEGER NOT NULL,"
        " root_rowid INTEGER, PRIMARY KEY (sink, session_id))"
    )

