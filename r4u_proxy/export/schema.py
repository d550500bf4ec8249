"""What export keeps in traces.db: the live exporter's watermark and the sessions whose root span it sent.

The watermark lives beside the traces it points into, so it survives restarts and moves in the same
file: a restarted exporter neither resends what the receiver acknowledged nor skips what it did not.
"""

from __future__ import annotations

import sqlite3


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info([{table}])")}


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


def sessions_tasknames_temp(conn: sqlite3.Connection) -> None:
    """TEMP until issue-13 and issue-19 merge: the session and task-name columns export reads.

    issue-13 owns traces.session_id / parent_session_id / client_name, issue-19 owns tasks.name; this only
    adds what is missing so export's tests can fill them. The lead drops it at merge.
    """
    existing = _columns(conn, "traces")
    for column in ("session_id", "parent_session_id", "client_name"):
        if column not in existing:
            conn.execute(f"ALTER TABLE traces ADD COLUMN [{column}] TEXT")
    if "name" not in _columns(conn, "tasks"):
        conn.execute("ALTER TABLE tasks ADD COLUMN [name] TEXT")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_traces_session_id ON traces(session_id)")
