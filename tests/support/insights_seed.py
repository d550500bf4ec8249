"""The insights tests' database, with every answer worked out by hand (tests/test_insights.py).

Prices used in the hand arithmetic (genai-prices 0.0.61, USD per million tokens):
claude-sonnet-4 input 3.00, cache read 0.30, output 15.00; gpt-4.1 input 2.00, cache read 0.50,
output 8.00; gpt-4.1-mini input 0.40, output 1.60; gpt-3.5-turbo has no cache-read price.

Unlike the other test data (support/rows.py), these rows are written column by column: their costs
and prompt texts are chosen so each finding's arithmetic can be checked by hand (a repeat costing
$0.02, a 4,000-character prefix), which rows priced and rendered by the writer would not give.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from r4u_proxy.reports.timewindow import iso_utc
from r4u_proxy.store.migrations import open_db

NOW = datetime.now(tz=UTC).replace(microsecond=0)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)

_counter = iter(range(1, 10_000))


def add_trace(conn, *, at: datetime, **columns) -> str:
    """Insert one traces row; ids sort by insertion like the real ULIDs."""
    trace_id = columns.pop("id", None) or f"T{next(_counter):05d}"
    row = {
        "id": trace_id,
        "started_at": iso_utc(at),
        "provider": "openai",
        "operation": "chat",
        "path": "/v1/chat/completions",
        "status_code": 200,
        **columns,
    }
    names = ", ".join(row)
    conn.execute(f"INSERT INTO traces ({names}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
    return trace_id


def chat_body(model: str, text: str, **extra) -> str:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}], **extra})


# One system prompt of 4,000 characters shared by every call of the "support" task; each call's
# question starts with a different letter, so the common prefix is exactly these 4,000 characters.
SUPPORT_PREFIX = "You are a careful support agent. " * 121 + "Answer:"  # 33*121 + 7 = 4000 chars
assert len(SUPPORT_PREFIX) == 4000


def seed(path: Path) -> dict[str, str]:
    conn = open_db(path)
    ids: dict[str, str] = {}
    with conn:
        # --- repeats: the same request three times (stream flags, user and key order differ) ---
        t0 = NOW - timedelta(hours=2)
        ids["repeat_first"] = add_trace(
            conn, at=t0, request_model="gpt-4o-mini", input_tokens=12, output_tokens=5, cost_usd=0.01,
            request_body=chat_body("gpt-4o-mini", "capital of France?"), prompt_text="capital of France?",
        )  # fmt: skip
        add_trace(
            conn, at=t0 + timedelta(minutes=1), request_model="gpt-4o-mini", input_tokens=12, output_tokens=5,
            cost_usd=0.02, stream=1,
            request_body=chat_body("gpt-4o-mini", "capital of France?", stream=True,
                                   stream_options={"include_usage": True}),
        )  # fmt: skip
        add_trace(
            conn, at=t0 + timedelta(minutes=2), request_model="gpt-4o-mini", input_tokens=12, output_tokens=5,
            cost_usd=0.03,
            request_body=json.dumps({"messages": [{"content": "capital of France?", "role": "user"}],
                                     "user": "u-42", "model": "gpt-4o-mini"}),
        )  # fmt: skip
        # Same request, failed: a cache would not have served it; not counted.
        add_trace(
            conn, at=t0 + timedelta(minutes=3), request_model="gpt-4o-mini", input_tokens=12, status_code=500,
            request_body=chat_body("gpt-4o-mini", "capital of France?"), cost_usd=0.05,
        )  # fmt: skip
        # Same token count, other question: not a repeat.
        add_trace(
            conn, at=t0 + timedelta(minutes=4), request_model="gpt-4o-mini", input_tokens=12, output_tokens=5,
            cost_usd=0.04, request_body=chat_body("gpt-4o-mini", "capital of Spain?"),
        )  # fmt: skip
        # Same question at a different temperature: a different request.
        add_trace(
            conn, at=t0 + timedelta(minutes=5), request_model="gpt-4o-mini", input_tokens=12, output_tokens=5,
            cost_usd=0.04, request_body=chat_body("gpt-4o-mini", "capital of France?", temperature=0.2),
        )  # fmt: skip
        # A pair whose repeat has no known price: counted as a repeat, its saving unknown.
        ids["unpriced_first"] = add_trace(
            conn, at=t0, provider="openai_compatible", request_model="my-llama", input_tokens=30,
            request_body=chat_body("my-llama", "hello"),
        )  # fmt: skip
        add_trace(
            conn, at=t0 + timedelta(seconds=5), provider="openai_compatible", request_model="my-llama",
            input_tokens=30, request_body=chat_body("my-llama", "hello"),
        )  # fmt: skip

        # --- prefixes: task "support" on claude-sonnet-4, 4 calls, no cache reads -----------------
        # prompt 4,100 chars, 2,050 input tokens -> prefix tokens = 2050 * 4000 // 4100 = 2,000
        t1 = NOW - timedelta(hours=3)
        for i, offset in enumerate([0, 60, 120, 3600]):  # the last call comes an hour later: cold
            question = chr(ord("A") + i) + "?" * 99
            add_trace(
                conn, at=t1 + timedelta(seconds=offset), provider="anthropic", operation="messages",
                path="/v1/messages", request_model="claude-sonnet-4", task_id="support",
                input_tokens=2050, output_tokens=100, cache_read_tokens=0, cost_usd=0.0077,
                request_body=json.dumps({"i": i}), prompt_text=SUPPORT_PREFIX + question,
            )  # fmt: skip
        # A long shared prefix in three more tasks, each missing the prompt cache saving for its own reason:
        # "cached" reads half its input from cache; "short" (800 tokens) is under OpenAI's 1,024 minimum;
        # "legacy" is gpt-3.5-turbo, which the price data gives no cache-read price.
        for task_id, model, calls, input_tokens, cache_read, cost in (
            ("cached", "gpt-4o", 3, 2050, 1024, 0.004),
            ("short", "gpt-4o", 3, 800, None, 0.002),
            ("legacy", "gpt-3.5-turbo", 2, 2050, None, 0.001),
        ):
            for i in range(calls):
                add_trace(
                    conn, at=t1 + timedelta(seconds=i), request_model=model, task_id=task_id,
                    input_tokens=input_tokens, output_tokens=10, cost_usd=cost,
                    **({"cache_read_tokens": cache_read} if cache_read else {}),
                    request_body=json.dumps({task_id[0]: i}), prompt_text=SUPPORT_PREFIX + chr(ord("A") + i) * 100,
                )  # fmt: skip

        # --- what-if: task "summaries", 2 calls of 1,000 in / 500 out, and one call reading
        # 1,000 cached tokens -- the most expensive task by recorded cost.
        for n, usage in enumerate([(1000, 500, 0), (1000, 500, 0), (1000, 0, 1000)]):
            add_trace(
                conn, at=NOW - timedelta(hours=1), request_model="gpt-4o", task_id="summaries",
                input_tokens=usage[0], output_tokens=usage[1], cache_read_tokens=usage[2], cost_usd=1.0,
                request_body=json.dumps({"n": n}),
            )  # fmt: skip
        conn.execute("INSERT INTO tasks (id, template) VALUES ('summaries', 'Summarise {doc}')")

        # --- outside a 7-day window: two identical old calls ---------------------------------------
        for _ in range(2):
            add_trace(
                conn, at=LONG_AGO, request_model="gpt-4o", input_tokens=7, output_tokens=1, cost_usd=0.5,
                request_body=chat_body("gpt-4o", "old"),
            )  # fmt: skip
    conn.close()
    return ids


