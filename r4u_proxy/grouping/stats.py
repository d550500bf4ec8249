"""Per-task numbers for the UI: counts, first/last seen, models, cost, tokens, latency percentiles, errors."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, round(fraction * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def refresh_task_stats(conn: sqlite3.Connection, task_ids: Iterable[str]) -> None:
    """Recompute the stats columns of these tasks from their traces (caller commits)."""
    for task_id in task_ids:
        row = conn.execute(
            """SELECT COUNT(*), MIN(started_at), MAX(started_at), SUM(cost_usd), AVG(cost_usd),
                      SUM(input_tokens), SUM(output_tokens),
                      SUM(CASE WHEN error IS NOT NULL OR status_code >= 400 OR status_code IS NULL
                               THEN 1 ELSE 0 END),
                      MAX(id)
               FROM traces WHERE task_id = ?""",
            (task_id,),
        ).fetchone()
        count, first, last, total_cost, mean_cost, tokens_in, tokens_out, errors, example = row
        if not count:
            conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
            continue
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
                percentile(latencies, 0.5), percentile(latencies, 0.95), errors, errors / count,
                example, task_id,
            ),
        )
