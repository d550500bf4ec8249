"""Retention: `r4u prune --older-than 30d [--keep-stats]` and `--max-db-size 2GB`, while the proxy runs.

The policy, in the order it is applied:
1. `--older-than SPAN`: calls that started before the cutoff go, row and all (the dashboard's rollup, the
   tasks' numbers and the session list lose them too). With `--keep-stats` only their bodies go
   (request and response bodies, the raw stream, prompt and completion text): the row stays with its
   model, tokens, cost, latency, task and session, so every total still counts it; `pruned_at` says when.
2. `--max-db-size SIZE`: while the live data is larger, the bodies of the oldest calls that still have
   them go, as with --keep-stats: oldest bodies first, rows, rollups and stats stay.
3. Content no call refers to any more (messages, system prompts, strings, message nodes) is swept, and the
   freed pages go back to the file system (incremental vacuum; a file created before r4u turned that on
   needs one `r4u prune --vacuum` with the proxy stopped).

Never losing a call being written: rows are deleted in short transactions (the writer waits at most one
batch), the sweep marks what is live inside the same write transaction that deletes the rest, and it bumps
`content_state.generation`, so the writer drops every content id it cached before storing its next batch
(ContentStore.begin). A call the writer stores after the sweep re-stores whatever it needs.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime

from r4u_proxy.grouping.stats import refresh_task_stats
from r4u_proxy.store.content.schema import TRACE_TABLE

BATCH = 500
REFERENCES = ("request_content", "response_content", "request_headers_content", "response_raw_content")
BODY_COLUMNS = (
    "request_content", "request_tip", "response_content", "response_body", "response_raw", "response_raw_content",
    "legacy_request_body", "legacy_prompt_text", "completion_text",
)  # fmt: skip


@dataclass
class PruneResult:
    deleted: int = 0  # calls removed, row and all
    emptied: int = 0  # calls whose bodies were removed (the row stays)
    contents: int = 0  # contents rows swept
    nodes: int = 0  # message nodes swept
    bytes_before: int = 0
    bytes_after: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def live_bytes(conn: sqlite3.Connection) -> int:
    """Pages in use (free pages inside the file not counted), in bytes."""
    pages, free, size = (conn.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "freelist_count", "page_size"))
    return (pages - free) * size


def file_bytes(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _write(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")


def delete_older(conn: sqlite3.Connection, cutoff: str) -> int:
    """Remove the calls started before `cutoff`, a batch per transaction; their tasks' numbers follow."""
    deleted = 0
    tasks: set[str] = set()
    while True:
        _write(conn)
        rows = conn.execute(
            f"SELECT rowid, id, task_id FROM {TRACE_TABLE} WHERE started_at < ? ORDER BY started_at LIMIT ?",
            [cutoff, BATCH],
        ).fetchall()
        if not rows:
            conn.commit()
            break
        marks = ",".join("?" * len(rows))
        conn.execute(
            f"DELETE FROM session_index WHERE kind != 'session' AND trace_id IN ({marks})", [r[1] for r in rows]
        )
        conn.execute(f"DELETE FROM {TRACE_TABLE} WHERE rowid IN ({marks})", [r[0] for r in rows])
        conn.commit()
        deleted += len(rows)
        tasks.update(r[2] for r in rows if r[2])
    _write(conn)
    conn.execute(  # sessions with no call left leave the Sessions list
        f"""DELETE FROM session_index WHERE kind = 'session'
            AND NOT EXISTS (SELECT 1 FROM {TRACE_TABLE} t WHERE t.session_id = session_index.session_id)"""
    )
    refresh_task_stats(conn, sorted(tasks))
    conn.commit()
    return deleted


def empty_bodies(conn: sqlite3.Connection, *, before: str | None = None, oldest: int | None = None) -> int:
    """Remove the bodies of the calls started before `before`, or of the `oldest` N that still have them."""
    emptied, stamp = 0, _now()
    sets = ", ".join(f"{c} = NULL" for c in BODY_COLUMNS)
    while oldest is None or emptied < oldest:
        limit = BATCH if oldest is None else min(BATCH, oldest - emptied)
        where, params = ("pruned_at IS NULL AND started_at < ?", [before]) if before else ("pruned_at IS NULL", [])
        _write(conn)
        changed = conn.execute(
            f"""UPDATE {TRACE_TABLE} SET {sets}, pruned_at = ? WHERE rowid IN (
                  SELECT rowid FROM {TRACE_TABLE} WHERE {where} ORDER BY started_at LIMIT ?)""",
            [stamp, *params, limit],
        ).rowcount
        conn.commit()
        emptied += changed
        if changed < limit:
            break
    return emptied


def sweep(conn: sqlite3.Connection) -> tuple[int, int]:
    """Delete the contents and message nodes no call refers to; returns (contents, nodes) removed.

    Marks what is live and deletes the rest in one write transaction, so a call stored meanwhile waits and
    then finds its content gone from the cache too (the generation bump)."""
    _write(conn)
    try:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS live_nodes (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS live_contents (id INTEGER PRIMARY KEY)")
        conn.execute("DELETE FROM live_nodes")
        conn.execute("DELETE FROM live_contents")
        conn.execute(
            f"""INSERT OR IGNORE INTO live_nodes WITH RECURSIVE up(id) AS (
                  SELECT request_tip FROM {TRACE_TABLE} WHERE request_tip > 0
                  UNION SELECT n.parent FROM message_nodes n JOIN up ON n.id = up.id WHERE n.parent > 0)
                SELECT id FROM up"""
        )
        nodes = conn.execute("DELETE FROM message_nodes WHERE id NOT IN (SELECT id FROM live_nodes)").rowcount
        for column in REFERENCES:
            conn.execute(
                f"INSERT OR IGNORE INTO live_contents SELECT {column} FROM {TRACE_TABLE} WHERE {column} IS NOT NULL"
            )
        conn.execute("INSERT OR IGNORE INTO live_contents SELECT content FROM message_nodes")
        while True:  # shapes -> values -> strings: what live pieces refer to is live
            added = 0
            for column in ("pieces", "text_pieces"):
                added += conn.execute(
                    f"""INSERT OR IGNORE INTO live_contents SELECT p.value FROM live_contents l
                          JOIN contents c ON c.id = l.id, json_each(c.{column}) p
                        WHERE c.{column} IS NOT NULL AND p.type = 'integer'"""
                ).rowcount
            if not added:
                break
        contents = conn.execute("DELETE FROM contents WHERE id NOT IN (SELECT id FROM live_contents)").rowcount
        hand_over(conn)
        if contents or nodes:
            conn.execute("UPDATE content_state SET value = value + 1 WHERE key = 'generation'")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return contents, nodes


def hand_over(conn: sqlite3.Connection) -> int:
    """Content a removed call sent first is now first sent by the oldest call left that sends it.

    traces_fts indexes, per call, only what it sent first (schema.py); without this a system prompt or an
    early message whose first sender was pruned would no longer be found through the calls that still
    carry it. Runs inside the sweep's transaction; returns how many calls took something over."""
    kept = f"SELECT 1 FROM {TRACE_TABLE} k WHERE k.id = {{alias}}.trace_id AND k.pruned_at IS NULL"
    for name, decl in (("orphans", "id INTEGER PRIMARY KEY"), ("owners", "item INTEGER, owner INTEGER"),
                       ("reach", "item INTEGER, via INTEGER")):  # fmt: skip
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS hand_{name} ({decl})")
        conn.execute(f"DELETE FROM hand_{name}")
    conn.execute("CREATE INDEX IF NOT EXISTS temp.hand_reach_via ON hand_reach (via)")
    # Message nodes: the new first sender is the oldest call whose message list passes through the node.
    conn.execute(f"INSERT INTO hand_orphans SELECT id FROM message_nodes n WHERE NOT EXISTS ({kept.format(alias='n')})")
    conn.execute(
        """INSERT INTO hand_reach WITH RECURSIVE down(item, node) AS (
             SELECT id, id FROM hand_orphans UNION ALL
             SELECT down.item, n.id FROM message_nodes n JOIN down ON n.parent = down.node)
           SELECT item, node FROM down"""
    )
    conn.execute(
        f"""INSERT INTO hand_owners SELECT h.item, min(r.rowid) FROM {TRACE_TABLE} r
              JOIN hand_reach h ON h.via = r.request_tip WHERE r.pruned_at IS NULL GROUP BY h.item"""
    )
    # Shapes and whole bodies: the oldest call that references them; values: the oldest call whose shape has them.
    conn.execute("DELETE FROM hand_orphans")
    conn.execute("DELETE FROM hand_reach")
    conn.execute(
        "INSERT INTO hand_orphans SELECT id FROM contents c "
        f"WHERE kind IN ('shape', 'body', 'value') AND NOT EXISTS ({kept.format(alias='c')})"
    )
    conn.execute(
        """INSERT INTO hand_reach SELECT s.id, s.id FROM contents s JOIN hand_orphans o ON o.id = s.id
             WHERE s.kind IN ('shape', 'body')
           UNION ALL SELECT p.value, s.id FROM contents s, json_each(s.pieces) p
             WHERE s.kind = 'shape' AND p.type = 'integer' AND p.value IN (SELECT id FROM hand_orphans)"""
    )
    conn.execute(
        f"""INSERT INTO hand_owners SELECT -h.item, min(r.rowid) FROM {TRACE_TABLE} r
              JOIN hand_reach h ON h.via = r.request_content WHERE r.pruned_at IS NULL GROUP BY h.item"""
    )
    affected = "SELECT DISTINCT owner FROM hand_owners"
    # The calls taking over are re-indexed: out with what they were indexed under, in with the new text.
    conn.execute(
        "INSERT INTO traces_fts (traces_fts, rowid, prompt_text, completion_text) SELECT 'delete', rowid, "
        f"prompt_text, completion_text FROM trace_search WHERE rowid IN ({affected})"
    )
    new_owner = f"(SELECT id FROM {TRACE_TABLE} WHERE rowid = (SELECT owner FROM hand_owners WHERE item = {{item}}))"
    conn.execute(
        f"UPDATE message_nodes SET trace_id = {new_owner.format(item='message_nodes.id')} "
        "WHERE id IN (SELECT item FROM hand_owners WHERE item > 0)"
    )
    conn.execute(
        f"UPDATE contents SET trace_id = {new_owner.format(item='-contents.id')} "
        "WHERE id IN (SELECT -item FROM hand_owners WHERE item < 0)"
    )
    return conn.execute(
        "INSERT INTO traces_fts (rowid, prompt_text, completion_text) SELECT rowid, prompt_text, completion_text "
        f"FROM trace_search WHERE rowid IN ({affected})"
    ).rowcount


def _merge_search_index(conn: sqlite3.Connection) -> None:
    """FTS5 keeps a removed call's entries as delete markers until its segments are merged: merge them all
    (a negative 'merge' works like 'optimize'), a few hundred pages per transaction."""
    while True:
        _write(conn)
        before = conn.total_changes
        conn.execute("INSERT INTO traces_fts (traces_fts, rank) VALUES ('merge', -200)")
        conn.commit()
        if conn.total_changes - before < 2:  # FTS5's sign that there was nothing left to merge
            return


def give_back(conn: sqlite3.Connection, result: PruneResult) -> None:
    """Hand free pages back to the file system (incremental vacuum), or say how to."""
    _merge_search_index(conn)
    mode = conn.execute("PRAGMA auto_vacuum").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    if mode == 2:
        while conn.execute("PRAGMA freelist_count").fetchone()[0]:
            conn.execute("PRAGMA incremental_vacuum(2000)").fetchall()  # short steps: the writer never waits long
            if conn.in_transaction:
                conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    elif free and not any("incremental vacuum" in note for note in result.notes):
        result.notes.append(
            f"{free / 1e6:,.1f} MB are free inside the file and will be reused; it was created without "
            "incremental vacuum: `r4u prune --vacuum` (with the proxy stopped) rewrites it once to give them back"
        )


def prune(
    conn: sqlite3.Connection, *, older_than: str | None = None, keep_stats: bool = False, max_bytes: int | None = None
) -> PruneResult:
    """Apply the policy above; `older_than` is a started_at cutoff (ISO text)."""
    result = PruneResult(bytes_before=file_bytes(conn))
    if older_than is not None:
        if keep_stats:
            result.emptied += empty_bodies(conn, before=older_than)
        else:
            result.deleted += delete_older(conn, older_than)
    swept = sweep(conn)
    result.contents, result.nodes = swept
    give_back(conn, result)
    if max_bytes is not None:
        _fit(conn, max_bytes, result)
    result.bytes_after = file_bytes(conn)
    return result


def _fit(conn: sqlite3.Connection, max_bytes: int, result: PruneResult) -> None:
    """Oldest bodies first until the live data fits. Each round empties the share of the calls with bodies
    that the excess is of the live data (at least one call): bodies are most of it, so a round undershoots
    rather than empties more than needed, and the next round takes the rest."""
    while (live := live_bytes(conn)) > max_bytes:
        with_bodies = conn.execute(f"SELECT count(*) FROM {TRACE_TABLE} WHERE pruned_at IS NULL").fetchone()[0]
        emptied = empty_bodies(conn, oldest=max(1, -(-with_bodies * (live - max_bytes) // live))) if with_bodies else 0
        if not emptied:
            result.notes.append(
                f"every call's bodies are gone and the rest still takes {live / 1e6:,.1f} MB "
                f"(more than {max_bytes / 1e6:,.1f} MB): rows, rollups and stats are kept; prune by age to go further"
            )
            break
        result.emptied += emptied
        contents, nodes = sweep(conn)
        result.contents += contents
        result.nodes += nodes
        give_back(conn, result)
