"""`make bench-sessions`: what session inference costs the writer per call, at turn 1 and at turn 200.

The session is Claude Code's, recorded (tests/fixtures/agents/claude_code_20_turns): its real system prompt,
tool definitions and first messages, then the recorded assistant tool calls and tool results repeated (with
fresh tool ids) until the conversation has 200 turns, as a long `claude` run has. Each call is built into a
row exactly as the writer does (`build_row`, not timed); then `SessionTracker.assign` is timed on its own,
on an on-disk traces.db, one call at a time. Several sessions run back to back; the median per turn is
reported, next to what hashing the same body from scratch and `json.loads` of it cost.

    .venv/bin/python bench/sessions_bench.py [--sessions 5] [--turns 200]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from support import agent_recordings as recordings  # noqa: E402

from r4u_proxy.ingest.row import build_row  # noqa: E402
from r4u_proxy.messages.hashing import RequestHasher  # noqa: E402
from r4u_proxy.sessions.schema import SESSION_COLUMNS  # noqa: E402
from r4u_proxy.sessions.tracker import SessionTracker  # noqa: E402
from r4u_proxy.store.migrations import open_db  # noqa: E402
from r4u_proxy.store.schema import TRACE_COLUMNS  # noqa: E402


def _sse(message: dict) -> str:
    """A non-streamed reply body is enough: the writer reads the reassembled message either way."""
    return json.dumps(message)


def long_session(turns: int, seed: int) -> list[dict]:
    """`turns` calls of one Claude Code run, grown from the recording's real messages."""
    recorded = recordings.load("claude_code_20_turns")
    second = json.loads(recorded[1]["request_body"])  # [user, system, assistant tool call, tool result]
    head = second["messages"][:2]
    head[0] = copy.deepcopy(head[0])
    head[0]["content"][-1]["text"] += f" (bench session {seed})"
    pairs = []
    for call in recorded[1:19]:
        assistant, result = json.loads(call["request_body"])["messages"][-2:]
        if isinstance(result["content"], list) and result["content"][0].get("type") == "tool_result":
            pairs.append((assistant, result))
    calls, messages = [], list(head)
    for turn in range(turns):
        assistant, result = copy.deepcopy(pairs[turn % len(pairs)])
        tool_id = f"toolu_bench{seed:03d}{turn:05d}"
        assistant["content"][0]["id"] = tool_id
        result["content"][0]["tool_use_id"] = tool_id
        body = {**second, "messages": messages}
        reply = {"id": f"msg_bench{seed}{turn}", "type": "message", "role": "assistant", "model": second["model"],
                 "content": assistant["content"], "stop_reason": "tool_use",
                 "usage": {"input_tokens": 1000 + 40 * turn, "output_tokens": 20}}  # fmt: skip
        calls.append({**recorded[1], "request_body": json.dumps(body, ensure_ascii=False), "response_body": _sse(reply),
                      "response_content_type": "application/json"})  # fmt: skip
        messages = [*messages, assistant, result]
    return calls


def run(sessions: int, turns: int) -> dict[str, list[float]]:
    db = Path(tempfile.mkdtemp(prefix="r4u-sessions-bench-")) / "traces.db"
    conn = open_db(db)
    tracker = SessionTracker(conn)
    columns = (*TRACE_COLUMNS, *SESSION_COLUMNS)
    per_turn: dict[str, list[list[float]]] = {k: [[] for _ in range(turns)] for k in ("assign", "cold", "loads")}
    for seed in range(sessions):
        for turn, call in enumerate(long_session(turns, seed)):
            exchange = recordings.exchange(call, 1_800_000_000.0 + seed * 10_000 + turn)
            row = {c: v for c, v in build_row(exchange).items() if c in columns}
            started = time.perf_counter()
            tracker.assign([row], [exchange])
            per_turn["assign"][turn].append((time.perf_counter() - started) * 1e6)
            assert row["session_turn"] == turn + 1, (row["session_source"], turn)
            started = time.perf_counter()
            RequestHasher().hash_request("anthropic_messages", row["request_body"])
            per_turn["cold"][turn].append((time.perf_counter() - started) * 1e6)
            started = time.perf_counter()
            json.loads(row["request_body"])
            per_turn["loads"][turn].append((time.perf_counter() - started) * 1e6)
            conn.execute(
                f"insert into traces ({','.join(columns)}) values ({','.join('?' * len(columns))})",
                [row.get(c) for c in columns],
            )
            conn.commit()
    conn.close()
    return {k: [statistics.median(v) for v in values] for k, values in per_turn.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args(argv)
    medians = run(args.sessions, args.turns)
    sizes = [len(c["request_body"]) for c in long_session(args.turns, 0)]
    first, last = 0, args.turns - 1
    mid = [t for t in (1, 9, 49, 99) if t < args.turns - 1]

    def cell(kind: str, turn: int) -> str:
        return f"{medians[kind][turn]:,.0f} µs"

    print("| turn | request body | session inference (assign) | hashing the body from scratch | json.loads of the body |")
    print("|---|---|---|---|---|")
    for turn in [first, *mid, last]:
        print(f"| {turn + 1} | {sizes[turn] / 1024:,.0f} KB | {cell('assign', turn)} | {cell('cold', turn)} | {cell('loads', turn)} |")
    def around(turn: int) -> float:  # the median of five neighbouring turns: one noisy sample moves nothing
        return statistics.median(medians["assign"][max(turn - 2, 1) : turn + 3])

    print(f"\nsession inference, turn {args.turns} / turn 1: {medians['assign'][last] / medians['assign'][first]:.2f}x; "
          f"turns {args.turns - 4}-{args.turns} / turns 2-6: {around(last - 2) / around(3):.2f}x "
          f"({args.sessions} sessions, median per turn)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
