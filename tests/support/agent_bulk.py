"""Agent-shaped bulk traffic for bench/ui_bench.py --agent: a million calls without writing a million.

`add_agent_traces(conn, n)` writes `sessions` agent sessions of `turns` calls (agent_session: Claude
Code's recorded system prompt and tools, a streamed tool call per turn, ~4 KB of Loghub-2k lines per
tool result) through the writer's own steps (BatchWriter: sessions, content storage, every trigger), then
repeats those rows until there are `n`, each copy a new session at another time of the last `days`
days, with a new id, session id, task and latencies. A copy shares its original's stored content, as every resend
of a conversation does, so the file holds n rows over the content of `sessions` sessions: the shape of a
day of coding-agent traffic where most of every request was sent before (docs/benchmarks.md says so
next to the numbers). Latencies are lognormal around a median of 0.4-6.4 s per task (sigma 0.6), TTFT
5-35 % of each: with one value for every call, every percentile walk would find its rank at once.
"""

from __future__ import annotations

import math
import random
import sqlite3
from datetime import UTC, datetime
from typing import Any

from r4u_proxy.ids import iso_utc, ulid
from r4u_proxy.store.batch import BatchWriter
from r4u_proxy.store.content.schema import TRACE_TABLE
from support.agent_recordings import agent_session, exchange


def _base(conn: sqlite3.Connection, sessions: int, turns: int, start: float) -> None:
    writer = BatchWriter(conn)
    for seed in range(sessions):
        calls = agent_session(turns, seed)
        sent = []
        for turn, call in enumerate(calls):
            one = exchange(call, start + seed * 3600 + turn * 20, project=f"agent-{seed % 4}")
            one["request_headers"] = [(k, v) for k, v in one["request_headers"] if k != "x-claude-code-session-id"]
            one["chunks"] = [(one["t_first_byte"], call["response_body"].encode())]
            sent.append(one)
        writer.write(sent)


def add_agent_traces(
    conn: sqlite3.Connection, n: int, *, sessions: int = 20, turns: int = 50, days: int = 30, seed: int = 1
) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC).timestamp()
    _base(conn, sessions, turns, now - days * 86400)
    columns = [r[1] for r in conn.execute(f"PRAGMA table_info({TRACE_TABLE})")]
    base = [dict(zip(columns, row, strict=True)) for row in conn.execute(f"SELECT * FROM {TRACE_TABLE} ORDER BY rowid")]
    session_rows = conn.execute("SELECT * FROM session_index WHERE kind = 'session'").fetchall()
    by_session: dict[str, list[dict[str, Any]]] = {}
    for row in base:
        by_session.setdefault(row["session_id"] or row["id"], []).append(row)
    insert = f"INSERT INTO {TRACE_TABLE} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    made, copy = len(base), 0
    while made < n:
        copy += 1
        batch: list[list[Any]] = []
        new_sessions = []
        for session_id, rows in by_session.items():
            if made + len(batch) >= n:
                break
            shift = rng.uniform(0, days * 86400 - turns * 20) - (_at(rows[0]["started_at"]) - (now - days * 86400))
            new_id = f"{session_id}-copy{copy}"
            number = rng.randrange(200)
            task = f"bulk_task_{number:04d}"  # support/bulk.py's tasks
            median = 400 * 16 ** (number / 199)  # ms
            for row in rows[: n - made - len(batch)]:
                at = _at(row["started_at"]) + shift
                latency = round(rng.lognormvariate(math.log(median), 0.6), 1)
                clone = {
                    **row, "id": ulid(at), "started_at": iso_utc(at), "session_id": new_id, "task_id": task,
                    "latency_ms": latency, "ttft_ms": round(latency * rng.uniform(0.05, 0.35), 1),
                    "ended_at": iso_utc(at + latency / 1000),
                }  # fmt: skip
                batch.append([clone[c] for c in columns])
            new_sessions.append((session_id, new_id, shift))
        with conn:
            conn.executemany(insert, batch)
            for old, new, shift in new_sessions:
                for row in session_rows:
                    if row[5] == old:  # (kind, key, scope, at, trace_id, session_id, parent, turn, continued)
                        conn.execute(
                            "INSERT INTO session_index VALUES ('session', ?, ?, ?, NULL, ?, NULL, ?, ?)",
                            [new.encode(), row[2], (row[3] or 0) + shift, new, row[7], row[8]],
                        )
        made += len(batch)


def _at(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
