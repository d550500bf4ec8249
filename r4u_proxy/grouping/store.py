"""Grouping against traces.db: read new traces, mine them, write tasks and per-trace variables.

The miner lives in memory; the database is the truth it is rebuilt from after a restart (each task
keeps its exact template as `segments`). New traces are found through a rowid bookmark in
`grouping_state`, so nothing rescans the table. Each batch is one short write transaction.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from r4u_proxy.grouping.miner import Miner
from r4u_proxy.grouping.naming import task_name, variable_names
from r4u_proxy.grouping.parts import grouping_text, parts_from_trace, signature
from r4u_proxy.grouping.stats import TaskStatsRefresher
from r4u_proxy.grouping.template import Template
from r4u_proxy.ids import iso_utc, ulid
from r4u_proxy.store.content.schema import TRACE_TABLE
from r4u_proxy.store.migrations import open_db

log = logging.getLogger("r4u.grouping")

_BOOKMARK = "last_rowid"
# Work per prompt is bounded where prompts come in, whatever the miner does with them: a template is
# found in the head of a prompt, and three 1 MB prompts once kept a proxy from stopping for 49 s.
MAX_BODY_BYTES = 2 * 1024 * 1024  # bodies larger than this are not parsed for grouping at all
MAX_TEXT_CHARS = 32 * 1024  # of the grouping text, only this much reaches the miner


@dataclass
class _Stored:
    """A task as the database has it now."""

    task_id: str
    template: Template
    names: list[str]
    name: str | None = None  # the task's readable name (tasks.name)


def _family(host: str | None, path: str | None) -> str | None:
    from r4u_proxy.providers import route

    found = route(host or "", path or "")
    return found.family if found else None


class Grouper:
    """Owns a miner and a connection; `run_batch` groups the next traces."""

    def __init__(self, db_path: str | Path) -> None:
        self.conn: sqlite3.Connection = open_db(db_path)
        self.miner = Miner()
        self.stored: dict[int, _Stored] = {}
        self.task_cluster: dict[str, int] = {}
        self.merged_into: dict[int, int] = {}
        self.names_taken: set[str] = set()
        self.stats = TaskStatsRefresher()
        self._load()

    def close(self, refresh: bool = True) -> None:
        try:
            if refresh:
                self.refresh_stats(force=True)
        finally:
            self.conn.close()

    def refresh_stats(self, force: bool = False) -> None:
        """Bring the stats of tasks that waited (big ones, see TaskStatsRefresher) up to date."""
        if self.stats.waiting and (force or self.stats.due()):
            with self.conn:
                self.stats.refresh(self.conn, force=force)

    # --- state ---------------------------------------------------------------------------
    def _load(self) -> None:
        rows = self.conn.execute(
            "SELECT id, signature, segments, variables, trace_count, name FROM tasks "
            "WHERE segments IS NOT NULL ORDER BY id"
        ).fetchall()
        unnamed = []
        for number, (task_id, sig, segments, variables, count, name) in enumerate(rows, start=1):
            template = Template(tuple(json.loads(segments)))
            self.miner.restore(number, sig or "", template, count or 0)
            self.stored[number] = _Stored(task_id, template, json.loads(variables or "[]"), name)
            self.task_cluster[task_id] = number
            if name:
                self.names_taken.add(name)
            else:
                unnamed.append(number)
        if unnamed:  # tasks from before names: named once, in the order they were found
            with self.conn:
                for number in unnamed:
                    stored = self.stored[number]
                    stored.name = task_name(stored.template, stored.names, self.names_taken)
                    self.names_taken.add(stored.name)
                    self.conn.execute("UPDATE tasks SET name = ? WHERE id = ?", (stored.name, stored.task_id))

    def bookmark(self) -> int:
        row = self.conn.execute("SELECT value FROM grouping_state WHERE key = ?", (_BOOKMARK,)).fetchone()
        return int(row[0]) if row else 0

    def backlog(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM traces WHERE rowid > ?", (self.bookmark(),)).fetchone()[0]

    # --- one batch -----------------------------------------------------------------------
    def run_batch(self, limit: int = 200) -> int:
        """Group up to `limit` traces not seen yet; returns how many were read."""
        rows = self.conn.execute(
            "SELECT rowid, id, provider, operation, host, path, "
            "CASE WHEN coalesce(request_bytes, 0) > ? THEN NULL ELSE request_body END FROM traces "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (MAX_BODY_BYTES, self.bookmark(), limit),
        ).fetchall()
        if not rows:
            return 0
        pending: dict[str, tuple[int, str]] = {}  # trace id -> (cluster, grouping text)
        for _, trace_id, provider, operation, host, path, body in rows:
            parts = parts_from_trace(_family(host, path), body)
            if parts is None:
                continue
            key, text = signature(provider, operation, parts), grouping_text(parts)[:MAX_TEXT_CHARS]
            pending[trace_id] = (self.miner.add(key, text)[0], text)
            self._follow_events(pending)
        self._write(pending, last_rowid=rows[-1][0])
        return len(rows)

    def _follow_events(self, pending: dict[str, tuple[int, str]]) -> None:
        """Splits need their members fed again, the stored ones included; merges are applied on write."""
        while events := self.miner.take_events():
            for event in events:
                if event.kind == "merged" and event.into is not None:
                    self.merged_into[event.cluster] = event.into
                if event.kind != "split":
                    continue
                texts = {tid: text for tid, (cid, text) in pending.items() if cid == event.cluster}
                stored = self.stored.get(event.cluster)
                if stored is not None:
                    for trace_id, values in self._member_values(stored):
                        texts.setdefault(trace_id, stored.template.render(values))
                key = event.partition or self.miner.clusters[event.cluster].partition
                for trace_id, text in texts.items():
                    pending[trace_id] = (self.miner.add(key, text)[0], text)

    def _member_values(self, stored: _Stored) -> list[tuple[str, list[str]]]:
        out = []
        for trace_id, raw in self.conn.execute(
            "SELECT id, template_vars FROM traces WHERE task_id = ?", (stored.task_id,)
        ):
            values = json.loads(raw or "{}")
            out.append((trace_id, [values.get(name, "") for name in stored.names]))
        return out

    def _resolve(self, cluster_id: int) -> int:
        while cluster_id not in self.miner.clusters and cluster_id in self.merged_into:
            cluster_id = self.merged_into[cluster_id]
        return cluster_id

    def _write(self, pending: dict[str, tuple[int, str]], last_rowid: int) -> None:
        updates: dict[str, tuple[str | None, str | None]] = {}  # trace id -> (task id, vars JSON)
        touched: set[int] = set()

        def current(cluster_id: int) -> tuple[str, Template, list[str]] | None:
            cluster_id = self._resolve(cluster_id)
            cluster = self.miner.clusters.get(cluster_id)
            if cluster is None:
                return None
            touched.add(cluster_id)
            return self._task_id(cluster_id), cluster.template, variable_names(cluster.template)

        def assign(trace_id: str, cluster_id: int, text: str) -> None:
            found = current(cluster_id)
            values = found[1].match(text) if found else None
            if found is None or values is None:
                updates[trace_id] = (None, None)
                return
            updates[trace_id] = (found[0], json.dumps(dict(zip(found[2], values, strict=True))))

        # Stored members of tasks whose template changed (refined, merged, split): values again.
        for cluster_id, stored in list(self.stored.items()):
            live = self.miner.clusters.get(cluster_id)
            if live is not None and live.template == stored.template:
                continue
            for trace_id, values in self._member_values(stored):
                assign(trace_id, cluster_id, stored.template.render(values))
        for trace_id, (cluster_id, text) in pending.items():
            assign(trace_id, cluster_id, text)

        now = iso_utc(time.time())
        with self.conn:
            self.conn.executemany(
                f"UPDATE {TRACE_TABLE} SET task_id = ?, template_vars = ? WHERE id = ?",
                [(task, values, trace_id) for trace_id, (task, values) in updates.items()],
            )
            gone = [s.task_id for cid, s in self.stored.items() if cid not in self.miner.clusters]
            for cid, stored in self.stored.items():
                if cid not in self.miner.clusters and stored.name:
                    self.names_taken.discard(stored.name)
            for task_id in gone:
                self.conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
            self.stats.forget(gone)
            for cluster_id in touched:
                self._upsert_task(cluster_id, now)
            self.stats.refresh(self.conn, {self._task_id(c) for c in touched})
            self.conn.execute(
                "INSERT INTO grouping_state(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (_BOOKMARK, str(last_rowid)),
            )
        for cluster_id in [c for c in self.stored if c not in self.miner.clusters]:
            self.task_cluster.pop(self.stored.pop(cluster_id).task_id, None)
        self.merged_into.clear()

    def _task_id(self, cluster_id: int) -> str:
        stored = self.stored.get(cluster_id)
        if stored is not None:
            return stored.task_id
        task_id = "task_" + ulid()
        self.stored[cluster_id] = _Stored(task_id, Template(("",)), [])  # filled by _upsert_task
        self.task_cluster[task_id] = cluster_id
        return task_id

    def _upsert_task(self, cluster_id: int, now: str) -> None:
        cluster = self.miner.clusters[cluster_id]
        names = variable_names(cluster.template)
        task_id = self._task_id(cluster_id)
        old = self.stored.get(cluster_id)
        name = old.name if old is not None else None
        if name is None or old is None or old.template != cluster.template:
            # Read from the template; kept while the template stays (so across restarts too).
            if name:
                self.names_taken.discard(name)
            name = task_name(cluster.template, names, self.names_taken)
            self.names_taken.add(name)
        self.conn.execute(
            """INSERT INTO tasks (id, template, signature, variables, segments, updated_at, trace_count, name)
               VALUES (?, ?, ?, ?, ?, ?, 0, ?)
               ON CONFLICT(id) DO UPDATE SET template = excluded.template, signature = excluded.signature,
                   variables = excluded.variables, segments = excluded.segments,
                   updated_at = excluded.updated_at, name = excluded.name""",
            (
                task_id, cluster.template.format_string(names), cluster.partition, json.dumps(names),
                json.dumps(list(cluster.template.constants)), now, name,
            ),
        )
        self.stored[cluster_id] = _Stored(task_id, cluster.template, names, name)


def group_pending(db_path: str | Path, limit: int | None = None, batch: int = 200) -> int:
    """Group every trace not grouped yet (at most `limit`), synchronously; returns how many were read."""
    grouper = Grouper(db_path)
    try:
        done = 0
        while limit is None or done < limit:
            n = grouper.run_batch(batch if limit is None else min(batch, limit - done))
            if not n:
                break
            done += n
        return done
    finally:
        grouper.close()
