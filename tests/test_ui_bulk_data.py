"""Bulk traces for bench/ui_bench.py (no tests in this file): `add_bulk_traces(conn, n)`."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from test_ui_rows import base_trace, chat_body, insert_rows, openai_response

from r4u_proxy.store.schema import TRACE_COLUMNS


def add_bulk_traces(
    conn: sqlite3.Connection,
    n: int,
    *,
    days: int = 30,
    n_tasks: int = 200,
    seed: int = 1,
    batch_size: int = 5000,
) -> None:
    """Append n traces spread over `days` (in time order, as the writer does), ~2 KB each, in n_tasks tasks."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    offsets = sorted((rng.uniform(0, days * 86400) for _ in range(n)), reverse=True)
    models = [
        ("openai", "gpt-4o-mini", 0.00006),
        ("openai", "gpt-4o", 0.002),
        ("anthropic", "claude-sonnet-4-5", 0.004),
        ("anthropic", "claude-haiku-4-5", 0.0008),
        ("gemini", "gemini-2.5-flash", 0.0001),
    ]
    tasks = [
        {
            "id": f"bulk_task_{t:04d}",
            "template": f"Task {t}: answer about {{topic}} for {{user}}.",
            "trace_count": 0,
            "variables": json.dumps(["topic", "user"]),
        }
        for t in range(n_tasks)
    ]
    filler = " ".join(
        rng.choice(["alpha", "beta", "gamma", "delta", "report", "invoice", "weather"]) for _ in range(300)
    )
    columns = list(TRACE_COLUMNS)
    batch: list[list[Any]] = []
    insert = (
        f"insert into traces ({','.join(f'[{c}]' for c in columns)}) values ({','.join('?' * len(columns))})"
    )
    for i in range(n):
        moment = now - timedelta(seconds=offsets[i])
        provider, model, cost = rng.choice(models)
        task = tasks[rng.randrange(n_tasks)] if rng.random() < 0.9 else None
        failed = rng.random() < 0.02
        topic = rng.choice(["billing", "weather", "shipping", "refunds"])
        prompt = f"Task: answer about {topic} for user{i % 977}. {filler}"
        row = base_trace(
            moment,
            10_000_000 + i,
            provider=provider,
            request_model=model,
            response_model=model,
            project=rng.choice(["default", "support", "search", "batch"]),
            stream=int(rng.random() < 0.5),
            task_id=task["id"] if task else None,
            status_code=500 if failed else 200,
            error="upstream connection reset" if failed else None,
            latency_ms=rng.lognormvariate(6.8, 0.6),
            ttft_ms=rng.lognormvariate(5.8, 0.5),
            input_tokens=rng.randint(50, 3000),
            output_tokens=rng.randint(5, 800),
            cost_usd=None if failed else cost * rng.uniform(0.5, 2),
            request_body=chat_body([{"role": "user", "content": prompt}], model=model),
            response_body=openai_response("Here is the answer about " + topic),
            prompt_text=prompt,
            completion_text="Here is the answer about " + topic,
            template_vars=json.dumps({"topic": topic, "user": f"user{i % 977}"}) if task else None,
            stream_timeline=json.dumps([[200 + 30 * k, 40] for k in range(20)]),
            chunk_count=20,
        )
        batch.append([row.get(c) for c in columns])
        if len(batch) >= batch_size:
            with conn:
                conn.executemany(insert, batch)
            batch = []
    if batch:
        with conn:
            conn.executemany(insert, batch)
    insert_rows(conn, "tasks", tasks)
