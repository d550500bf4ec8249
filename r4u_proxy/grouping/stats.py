"""Per-task numbers for the UI: counts, first/last seen, models, cost, tokens, latency percentiles, errors."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable

from r4u_proxy.reports.metrics import ERROR_SQL, PERCENTILES, error_rate, percentile


def refresh_task_stats(conn: sqlite3.Connection, task_ids: Iterable[str]) -> None:
    """Recompute the stats columns of these tasks from their traces (caller commits)."""
    for task_id in task_ids:
        row = conn.execute(
            f"""SELECT COUNT(*), MIN(started_at), MAX(started_at), SUM(cost_usd), AVG(cost_usd),
                      SUM(input_tokens), SUM(output_tokens),
                      COALESCE(SUM({ERROR_SQL}), 0),
                      MAX(rowid)
               FROM traces WHERE task_id = ?""",
            (task_id,),
        ).fetchone()
        count, first, last, total_cost, mean_cost, tokens_in, tokens_out, errors, newest = row
        if not count:
            conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
            continue
        # The example is the task's most recently written trace: MAX(rowid) keeps the query inside the
        # covering task index, where MAX(id) (the latest started) read every row of the task.
        example = conn.execute("SELECT id FROM traces WHERE rowid = ?", (newest,)).fetchone()[0]
        models = [
            m
            for (m,) in conn.execute(
                "SELECT DISTINCT COALESCE(response_model, request_model) FROM traces "
                "WHERE task_id = ? AND COALESCE(response_model, request_model) IS NOT NULL ORDER BY 1",
                (task_id,),
            )
        ]
        latencies = [
            v
            for (v,) in conn.execute(
                "SELECT latency_ms FROM traces WHERE task_id = ? AND latency_ms IS NOT NULL ORDER BY latency_ms",
                (task_id,),
            )
        ]
        conn.execute(
            """UPDATE tasks SET trace_count = ?, first_seen = ?, last_seen = ?, models = ?,
                   total_cost_usd = ?, mean_cost_usd = ?, input_tokens = ?, output_tokens = ?,
                   p50_latency_ms = ?, p95_latency_ms = ?, error_count = ?, error_rate = ?,
                   example_trace_id = ?
               WHERE id = ?""",
            (
                count, first, last, json.dumps(models), total_cost, mean_cost, tokens_in, tokens_out,
                percentile(latencies, PERCENTILES["p50"]), percentile(latencies, PERCENTILES["p95"]), errors,
                error_rate(errors, count),
                example, task_id,
            ),
        )


class TaskStatsRefresher:
    """Keeps the tasks' stats columns exact without re-reading a big task on every grouping batch.

    A refresh reads all of a task's traces, so its cost grows with the task: done for every batch,
    grouping slowed down as a big task grew (docs/grouping.md has the figures). A task is
    refreshed at once while that is cheap; once a refresh took longer than CHEAP_S, the task waits
    until SPACING times that long has passed since, so one big task costs grouping at most about
    1/SPACING of its time and its numbers are at most seconds old. `refresh(..., force=True)`
    brings every waiting task up to date (the grouping process does so when it is idle: see
    `due()`, and when it stops).
    """

    CHEAP_S = 0.01
    SPACING = 10

    def __init__(self) -> None:
        self.waiting: set[str] = set()
        self.cost: dict[str, float] = {}  # task id -> seconds its last refresh took
        self.done_at: dict[str, float] = {}  # task id -> monotonic time of its last refresh

    def _is_due(self, task_id: str, now: float) -> bool:
        if task_id not in self.done_at:
            return True
        cost = self.cost[task_id]
        return cost < self.CHEAP_S or now - self.done_at[task_id] >= self.SPACING * cost

    def forget(self, task_ids: Iterable[str]) -> None:
        """These tasks are gone (merged away): nothing to refresh."""
        for task_id in task_ids:
            self.waiting.discard(task_id)
            self.cost.pop(task_id, None)
            self.done_at.pop(task_id, None)

    def due(self) -> bool:
        """Whether a waiting task may be refreshed now (without force)."""
        now = time.monotonic()
        return any(self._is_due(task_id, now) for task_id in self.waiting)

    def refresh(self, conn: sqlite3.Connection, task_ids: Iterable[str] = (), force: bool = False) -> None:
        """Mark these tasks changed and refresh every changed task that is due (caller commits)."""
        self.waiting.update(task_ids)
        now = time.monotonic()
        for task_id in [t for t in self.waiting if force or self._is_due(t, now)]:
            started = time.monotonic()
            refresh_task_stats(conn, [task_id])
            self.done_at[task_id] = time.monotonic()
            self.cost[task_id] = self.done_at[task_id] - started
            self.waiting.discard(task_id)
