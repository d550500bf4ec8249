"""Bulk traces for bench/ui_bench.py: `bulk_rows(n)` builds them like recorded calls, `insert_bulk` stores them.

Rows are built by the writer's row builder (support/rows.py) from each provider's own API shape: a
~2 KB chat prompt, a JSON answer with usage, or (half the calls) a recorded stream of that family;
2% fail with the provider's error body. 90% belong to one of `n_tasks` tasks, with the task id and
variables grouping would write. Building costs about a millisecond a row, so the bench builds its
database once and keeps it.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from r4u_proxy.ingest.exchange import Exchange
from r4u_proxy.store.schema import trace_columns
from support.rows import (
    ANTHROPIC_MESSAGES,
    OPENAI_CHAT,
    build,
    call,
    chat_request,
    chat_response,
    gemini_generate,
    recording,
)

MODELS = [
    ("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"), ("gemini", "gemini-2.5-flash"),
]  # fmt: skip
STREAMS = {
    "openai": "openai_chat/gpt4o_text_plain.sse",
    "anthropic": "anthropic_messages/sdk_basic_text.sse",
    "gemini": "gemini/googleai_basic_reply_short.sse",
}
WORDS = ["alpha", "beta", "gamma", "delta", "report", "invoice", "weather"]


def _exchange(rng: random.Random, provider: str, model: str, prompt: str, answer: str, at: float) -> Exchange:
    tokens_in, tokens_out = rng.randint(50, 3000), rng.randint(5, 800)
    streamed, failed = rng.random() < 0.5, rng.random() < 0.02
    timing = {"at": at, "latency_ms": rng.lognormvariate(6.8, 0.6), "ttft_ms": rng.lognormvariate(5.8, 0.5)}
    timing["latency_ms"] = max(timing["latency_ms"], timing["ttft_ms"] + 1)
    if provider == "openai":
        where, request = OPENAI_CHAT, chat_request(prompt, model=model, stream=streamed)
        body: dict[str, Any] = chat_response(answer, usage=(tokens_in, tokens_out), model=model)
        error = {"error": {"message": "upstream connection reset", "type": "server_error"}}
    elif provider == "anthropic":
        where = ANTHROPIC_MESSAGES
        messages = [{"role": "user", "content": prompt}]
        request = {"model": model, "max_tokens": 1024, "stream": streamed, "messages": messages}
        body = {"type": "message", "role": "assistant", "model": model, "stop_reason": "end_turn",
                "content": [{"type": "text", "text": answer}],
                "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}  # fmt: skip
        error = {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}
    else:
        where = gemini_generate(model, stream=streamed)
        request = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
        body = {"candidates": [{"content": {"role": "model", "parts": [{"text": answer}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": tokens_in, "candidatesTokenCount": tokens_out},
                "modelVersion": model}  # fmt: skip
        error = {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}
    if failed:
        return call(where, request, error, status=500, **timing)
    if streamed:
        query = "alt=sse" if provider == "gemini" else ""
        return call(where, request, recording(STREAMS[provider]), query=query, **timing)
    return call(where, request, body, **timing)


def bulk_rows(n: int, *, days: int = 30, n_tasks: int = 200, seed: int = 1) -> Iterator[dict[str, Any]]:
    """n rows spread over `days` (in time order, as the writer writes them), ~2 KB of prompt each."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    offsets = sorted((rng.uniform(0, days * 86400) for _ in range(n)), reverse=True)
    filler = " ".join(rng.choice(WORDS) for _ in range(300))
    for i, offset in enumerate(offsets):
        provider, model = rng.choice(MODELS)
        topic, user = rng.choice(["billing", "weather", "shipping", "refunds"]), f"user{i % 977}"
        prompt = f"Task: answer about {topic} for {user}. {filler}"
        at = (now - timedelta(seconds=offset)).timestamp()
        (row,) = build([_exchange(rng, provider, model, prompt, f"Here is the answer about {topic}", at)])
        row["project"] = rng.choice(["default", "support", "search", "batch"])
        if rng.random() < 0.9:  # what grouping writes for a trace it put in a task
            row["task_id"] = f"bulk_task_{rng.randrange(n_tasks):04d}"
            row["template_vars"] = json.dumps({"topic": topic, "user": user})
        yield row


def bulk_tasks(n_tasks: int = 200) -> list[dict[str, Any]]:
    return [
        {"id": f"bulk_task_{t:04d}", "template": f"Task {t}: answer about {{topic}} for {{user}}.",
         "trace_count": 0, "variables": json.dumps(["topic", "user"])}
        for t in range(n_tasks)
    ]  # fmt: skip


def insert_bulk(conn: sqlite3.Connection, rows: list[dict[str, Any]], batch_size: int = 5000) -> None:
    """Insert rows as the writer does (sqlite-utils, batches in time order)."""
    columns = trace_columns(conn)
    table = sqlite_utils.Database(conn).table("traces")
    for start in range(0, len(rows), batch_size):
        with conn:
            table.insert_all([{c: row.get(c) for c in columns} for row in rows[start : start + batch_size]])


def add_bulk_traces(conn: sqlite3.Connection, n: int, *, days: int = 30, n_tasks: int = 200, seed: int = 1) -> None:
    """Build and insert n traces and their tasks."""
    insert_bulk(conn, list(bulk_rows(n, days=days, n_tasks=n_tasks, seed=seed)))
    with conn:
        sqlite_utils.Database(conn).table("tasks").insert_all(bulk_tasks(n_tasks))
