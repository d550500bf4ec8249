"""`make bench-storage`: what one agent session costs on disk and in writer CPU, now and before content storage.

The session (the issue's shape: ~20 KB system prompt, 20 tools, ~4 KB of tool result per turn) is built from
data no one here wrote: Claude Code's recorded request (tests/fixtures/agents/claude_code_20_turns) gives the
system prompt (its own blocks plus the recorded Workflow tool's description, cut to 20 KB) and 20 tool
definitions (its eight other recorded tools, under MCP-style names after the first eight); each turn the
model streams a tool call (the simulator's Anthropic event stream, `stream: true` as Claude Code sends)
and the next request carries ~4 KB of Loghub-2k log lines (bench/data/loghub2k) as the tool result.

Each call goes through the writer's real steps into a fresh traces.db:
- **now**: `BatchWriter.write` (build_row, sessions, content storage, insert with every index, the FTS and
  rollup triggers), one call per batch as at low traffic;
- **before**: the same calls through the previous layout: the migrations before content_store_v1 (traces a
  table with whole bodies and prompt_text, FTS over both per call), rows built and inserted as the writer did.
Disk = the file after the session with the WAL checkpointed, and while open (file + WAL). Unique content =
the last request body (every message, the system prompt and the tools once) + every response as received.
Writer CPU = process CPU time of one call's write, the median over `--sessions` runs.

    .venv/bin/python bench/storage_bench.py [--turns 50 200] [--sessions 3] [--docs]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import sqlite_utils  # noqa: E402
from support import agent_recordings as recordings  # noqa: E402
from support.agent_recordings import agent_session  # noqa: E402

from r4u_proxy.ingest.row import build_row  # noqa: E402
from r4u_proxy.sessions.tracker import SessionTracker  # noqa: E402
from r4u_proxy.store.batch import BatchWriter  # noqa: E402
from r4u_proxy.store.migrations import MIGRATIONS, connect, migrate, open_db  # noqa: E402
from r4u_proxy.store.schema import trace_columns  # noqa: E402


def _old_db(path: Path) -> Any:
    conn = connect(path)
    migrate(conn, MIGRATIONS.before("content_store_v1"))
    return conn


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def run(turns: int, layout: str, seed: int) -> dict[str, Any]:
    calls = agent_session(turns, seed)
    path = Path(tempfile.mkdtemp(prefix=f"r4u-storage-{layout}-")) / "traces.db"
    conn = open_db(path) if layout == "now" else _old_db(path)
    writer = BatchWriter(conn) if layout == "now" else None
    tracker = SessionTracker(conn) if layout == "before" else None
    table = sqlite_utils.Database(conn).table("traces") if layout == "before" else None
    columns = trace_columns(conn) if layout == "before" else ()
    cpu = []
    # A writer that has been running: another session's first call has paid the one-time costs (price
    # tables, compiling the insert and its triggers), so turn 1 is what starting a new session costs.
    warm_up = agent_session(1, seed + 1000)
    for turn, call in enumerate([*warm_up, *calls]):
        if turn == len(warm_up):
            cpu = []
        exchange = recordings.exchange(call, 1_800_000_000.0 + seed * 100_000 + turn * 5)
        exchange["request_headers"] = [(k, v) for k, v in exchange["request_headers"] if k != "x-claude-code-session-id"]
        exchange["chunks"] = [(exchange["t_first_byte"], call["response_body"].encode())]
        started = time.process_time()
        if writer is not None:
            writer.write([exchange])
        else:  # the writer before content storage: build, sessions, one insert_all per batch
            row = build_row(exchange)
            rows = [{c: row.get(c) for c in columns}]
            tracker.assign(rows, [exchange])
            table.insert_all(rows, batch_size=1, ignore=True)
        cpu.append((time.process_time() - started) * 1000)
    open_bytes = _size(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    empty = path.parent / "empty.db"  # the same schema with no calls: what the session added is the growth
    (open_db(empty) if layout == "now" else _old_db(empty)).close()
    unique = len(calls[-1]["request_body"].encode()) + sum(len(c["response_body"].encode()) for c in calls)
    sent = sum(len(c["request_body"].encode()) for c in calls)
    check = open_db(path)
    last = json.loads(check.execute("select request_body from traces order by id desc limit 1").fetchone()[0])
    check.close()
    assert last == json.loads(calls[-1]["request_body"]), "the last request did not read back as sent"
    return {"disk": _size(path), "empty": _size(empty), "open": open_bytes, "unique": unique, "sent": sent, "cpu": cpu}


def measure(turns: int, sessions: int) -> dict[str, Any]:
    out: dict[str, Any] = {"turns": turns}
    for layout in ("before", "now"):
        runs = [run(turns, layout, seed) for seed in range(sessions)]
        cpu = [statistics.median(r["cpu"][t] for r in runs) for t in range(turns)]

        def near(t: int, cpu: list[float] = cpu) -> float:  # five neighbouring turns: one noisy call moves nothing
            return statistics.median(cpu[max(t - 2, 0) : t + 3])

        out[layout] = {
            **{k: runs[0][k] for k in ("disk", "empty", "open", "unique", "sent")},
            "cpu_turn1": cpu[0], "cpu_last": near(turns - 3), "cpu_mid": near(turns // 2),
        }  # fmt: skip
    return out


def report(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| session | layout | requests sent | unique content | file (checkpointed) | growth over an empty file | growth / unique | while open (+WAL) | writer CPU turn 1 | middle turn | last turn |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for layout in ("before", "now"):
            r = result[layout]
            lines.append(
                f"| {result['turns']} turns | {layout} | {r['sent'] / 1e6:.1f} MB | {r['unique'] / 1e3:,.0f} KB | "
                f"{r['disk'] / 1e6:.2f} MB | {(r['disk'] - r['empty']) / 1e6:.2f} MB | **{(r['disk'] - r['empty']) / r['unique']:.2f}×** | {r['open'] / 1e6:.2f} MB | "
                f"{r['cpu_turn1']:.2f} ms | {r['cpu_mid']:.2f} ms | {r['cpu_last']:.2f} ms |"
            )
    return lines


DOCS = REPO / "docs" / "benchmarks.md"
START = "<!-- storage-bench:start (written by bench/storage_bench.py --docs; edits inside are overwritten) -->"
END = "<!-- storage-bench:end -->"


def write_docs(lines: list[str], command: str) -> None:
    from datetime import UTC, datetime

    section = "\n".join([
        START, "## One agent session on disk and in the writer (`make bench-storage`)", "",
        f"- **When:** {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; **command:** `{command}`; shared 2-core machine, CPU ±20 %",
        "- **What:** see bench/storage_bench.py: Claude Code's recorded system prompt (to 20 KB) and tools (20), "
        "a streamed tool call per turn, ~4 KB of Loghub-2k lines per tool result; the writer's real steps.",
        "", *lines, END,
    ])  # fmt: skip
    text = DOCS.read_text()
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--docs", action="store_true", help="write the table into docs/benchmarks.md")
    args = parser.parse_args(argv)
    lines = report([measure(turns, args.sessions) for turns in args.turns])
    print("\n".join(lines))
    if args.docs:
        write_docs(lines, "python bench/storage_bench.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
