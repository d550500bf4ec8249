"""The columns and the index table sessions add to traces.db, as one migration (`sessions_v1`)."""

from __future__ import annotations

import sqlite3

SESSION_COLUMNS: dict[str, str] = {
    "session_id": "TEXT",  # the agent run / conversation (contract column)
    "client_name": "TEXT",  # the program that made the call, e.g. claude-cli/2.1.197 (contract column)
    "session_source": "TEXT",  # how session_id was found: a header or body field, prefix, fork, subagent, new
    "parent_session_id": "TEXT",  # forks and sub-agents: the session they branched from
    "session_turn": "INTEGER",  # 1 for a session's first call, +1 for each call that continues the previous
    "previous_trace_id": "TEXT",  # the call whose input + output this call's input starts with
    "new_messages": "INTEGER",  # messages this call added to the conversation
    "resent_messages": "INTEGER",  # messages it sent again (the earlier turns)
    "context_tokens": "TEXT",  # JSON: input tokens split into system/tools/earlier_turns/new_input/tool_results
    "context_limit": "INTEGER",  # the model's context window in tokens, when known
}


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info([{table}])")}


def sessions_v1(conn: sqlite3.Connection) -> None:
    """Session columns on traces, and `session_index`: the hashes inference looks calls up by.

    session_index rows (kind, key): ("tip", chain hash of a call's input + output), ("spawn", hash of a
    sub-agent prompt a tool call carried), ("response", a Responses API response id), ("session", a
    session id, with the parent it branched from).
    """
    existing = _columns(conn, "traces")
    for column, decl in SESSION_COLUMNS.items():
        if column not in existing:
            conn.execute(f"ALTER TABLE traces ADD COLUMN [{column}] {decl}")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_traces_session_id ON traces(session_id, id)")
    # Partial: most traces have no parent, and a full index whose statistics say "all one value" is one
    # SQLite's planner passes over for a scan of the table.
    conn.execute(
        "CREATE INDEX IF NOT EXISTS idx_traces_parent_session_id ON traces(parent_session_id, session_id) "
        "WHERE parent_session_id IS NOT NULL"
    )
    conn.execute(
        """CREATE TABLE IF NOT EXISTS session_index (
             kind TEXT NOT NULL, key BLOB NOT NULL, scope TEXT, at REAL,
             trace_id TEXT, session_id TEXT, parent_session_id TEXT, turn INTEGER,
             continued INTEGER NOT NULL DEFAULT 0)"""
    )
    conn.execute("CREATE INDEX IF NOT EXISTS idx_session_index_key ON session_index(key, kind)")
    # The Sessions list pages through ("session", ...) rows newest first instead of grouping all traces.
    conn.execute("CREATE INDEX IF NOT EXISTS idx_session_index_kind_at ON session_index(kind, at)")
