"""Migration `stats_index_v1`: the index `r4u stats` sums a window over.

`r4u stats` sums calls, errors, spend and five token counts per (model, project, task) over a window of
`started_at`, and reads every latency and TTFT there for the percentiles. The dashboard's index has no cache or reasoning tokens, so without this one each call in the
window is a lookup into its table row; with this one the sums read the index alone, in group order
(reports/stats.py).
"""

from __future__ import annotations

import sqlite3

from r4u_proxy.store.content.schema import TRACE_TABLE

# Grouping columns first: SQLite groups by walking the index in order (no sorter, which costs seconds at a
# million calls) and checks started_at on each entry.
STATS_INDEX = (
    f"CREATE INDEX IF NOT EXISTS idx_traces_stats ON {TRACE_TABLE}(request_model, response_model, project, "
    "task_id, started_at, status_code, error, cost_usd, input_tokens, output_tokens, cache_read_tokens, "
    "cache_write_tokens, reasoning_tokens, latency_ms, ttft_ms)"
)


def stats_index_v1(conn: sqlite3.Connection) -> None:
    conn.execute(STATS_INDEX)
