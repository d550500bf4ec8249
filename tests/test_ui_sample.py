"""Sample traces.db content for the UI tests and the UI bench (no tests in this file).

`make_sample_db(path)` writes a small database with one trace of each kind a
user meets: a streamed OpenAI call with tool calls, its follow-up with the tool
result, an Anthropic call with thinking, a tool call and an image, a failed
call, a Responses API call, a Gemini call, and two tasks with template
variables. `add_bulk_traces(conn, n)` appends n realistic rows fast (bench).
"""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from r4u_proxy.store.migrations import open_db
from r4u_proxy.store.schema import TRACE_COLUMNS
from r4u_proxy.store.ui_indexes import add_ui_indexes

TASK_SUMMARY = "task_summary"
TASK_TRANSLATE = "task_translate"
SUMMARY_TEMPLATE = "You are a support assistant.\n\nSummarize this support ticket in one sentence:\n{ticket}"
TRANSLATE_TEMPLATE = "Translate the following text to {language}:\n\n{text}"
TICKETS = [
    "My invoice for October shows two charges for the same subscription.",
    "The mobile app crashes when I upload a profile picture larger than 5 MB.",
    "I cannot reset my password because the email never arrives.",
    "Please cancel my account and delete my personal data.",
    "Export to CSV produces an empty file since the last update.",
]
LANGUAGES = ["French", "German", "Japanese", "Spanish"]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _trace_id(moment: datetime, serial: int) -> str:
    """Sortable by time like the real ULIDs: 13-digit ms + a 13-digit serial."""
    return f"{int(moment.timestamp() * 1000):013d}{serial:013d}"


def _openai_headers() -> tuple[str, str]:
    request = {
        "authorization": "Bearer sk-…3f9a (redacted)",
        "content-type": "application/json",
        "user-agent": "OpenAI/Python 3.57.0",
    }
    response = {
        "content-type": "text/event-stream",
        "openai-processing-ms": "212",
        "x-request-id": "req_abc123",
    }
    return json.dumps(request), json.dumps(response)


def base_trace(moment: datetime, serial: int, **fields: Any) -> dict[str, Any]:
    request_headers, response_headers = _openai_headers()
    row: dict[str, Any] = {
        "id": _trace_id(moment, serial),
        "started_at": _iso(moment),
        "project": "default",
        "provider": "openai",
        "operation": "chat",
        "method": "POST",
        "url": "https://api.openai.com/v1/chat/completions",
        "host": "api.openai.com",
        "path": "/v1/chat/completions",
        "status_code": 200,
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini-2024-07-18",
        "stream": 0,
        "request_headers": request_headers,
        "response_headers": response_headers,
        "latency_ms": 800.0,
        "ttft_ms": 300.0,
        "input_tokens": 120,
        "output_tokens": 40,
        "cost_usd": 0.000042,
        "finish_reason": "stop",
        "priced_model": "gpt-4o-mini",
    }
    row.update(fields)
    return row


def _chat_body(messages: list[dict], model: str = "gpt-4o-mini", **extra: Any) -> str:
    return json.dumps({"model": model, "messages": messages, **extra})


def _openai_response(
    content: str | None, tool_calls: list | None = None, model: str = "gpt-4o-mini-2024-07-18"
) -> str:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
        }
    )


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def sample_rows(now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """(traces, tasks, ids of notable traces) — times are relative to `now`."""
    rows: list[dict[str, Any]] = []
    ids: dict[str, str] = {}
    serial = 0

    def add(name: str | None, minutes_ago: float, **fields: Any) -> dict[str, Any]:
        nonlocal serial
        serial += 1
        row = base_trace(now - timedelta(minutes=minutes_ago), serial, **fields)
        rows.append(row)
        if name:
            ids[name] = row["id"]
        return row

    # 1. A streamed chat call that answers with a tool call.
    question = [
        {"role": "system", "content": "You are a weather bot. Use tools."},
        {"role": "user", "content": "What's the weather in Paris right now?"},
    ]
    tool_calls = [
        {
            "id": "call_w1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    add(
        "stream_tools",
        50,
        stream=1,
        request_body=_chat_body(question, tools=[WEATHER_TOOL], stream=True),
        response_body=_openai_response(None, tool_calls),
        finish_reason="tool_calls",
        prompt_text="You are a weather bot. Use tools.\nWhat's the weather in Paris right now?",
        completion_text='get_weather({"city": "Paris"})',
        latency_ms=640.0,
        ttft_ms=210.0,
        chunk_count=9,
        max_chunk_gap_ms=180.0,
        project="weather-bot",
        stream_timeline=json.dumps(
            [
                [210, 180],
                [260, 40],
                [300, 42],
                [350, 40],
                [420, 38],
                [470, 41],
                [520, 39],
                [600, 60],
                [640, 12],
            ]
        ),
        response_raw='data: {"choices":[{"delta":{"role":"assistant"}}]}\n\ndata: [DONE]\n\n',
    )
    # 2. Its follow-up carrying the tool result.
    follow_up = [
        *question,
        {"role": "assistant", "content": None, "tool_calls": tool_calls},
        {"role": "tool", "tool_call_id": "call_w1", "content": '{"temp_c": 18, "sky": "sunny"}'},
    ]
    add(
        "tool_result",
        49,
        request_body=_chat_body(follow_up, tools=[WEATHER_TOOL]),
        response_body=_openai_response("It is 18 °C and sunny in Paris."),
        project="weather-bot",
        prompt_text="You are a weather bot. Use tools.\nWhat's the weather in Paris right now?",
        completion_text="It is 18 °C and sunny in Paris.",
    )
    # 3. Anthropic: thinking, an image and a tool call.
    anthropic_request = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You describe receipts.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                    },
                    {"type": "text", "text": "Total this receipt and convert to EUR."},
                ],
            }
        ],
        "tools": [{"name": "convert_currency", "input_schema": {"type": "object"}}],
    }
    anthropic_response = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {
                "type": "thinking",
                "thinking": "The receipt lists three items; the sum is 42.50 USD.",
                "signature": "x",
            },
            {"type": "text", "text": "The total is 42.50 USD; converting now."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "convert_currency",
                "input": {"amount": 42.5, "from": "USD", "to": "EUR"},
            },
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 1500, "output_tokens": 90},
    }
    add(
        "anthropic",
        30,
        provider="anthropic",
        operation="messages",
        host="api.anthropic.com",
        url="https://api.anthropic.com/v1/messages",
        path="/v1/messages",
        request_model="claude-sonnet-4-5",
        response_model="claude-sonnet-4-5-20250929",
        request_body=json.dumps(anthropic_request),
        response_body=json.dumps(anthropic_response),
        input_tokens=1500,
        output_tokens=90,
        cost_usd=0.00585,
        priced_model="claude-sonnet-4-5",
        finish_reason="tool_use",
        latency_ms=2400.0,
        ttft_ms=900.0,
        prompt_text="You describe receipts.\nTotal this receipt and convert to EUR.",
        completion_text="The total is 42.50 USD; converting now.",
        project="receipts",
    )
    # 4. A failed call.
    add(
        "error",
        20,
        provider="anthropic",
        operation="messages",
        host="api.anthropic.com",
        url="https://api.anthropic.com/v1/messages",
        path="/v1/messages",
        request_model="claude-haiku-4-5",
        response_model=None,
        status_code=529,
        error="overloaded_error: Overloaded",
        request_body=json.dumps(
            {
                "model": "claude-haiku-4-5",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": "ping"}],
            }
        ),
        response_body=json.dumps(
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        ),
        input_tokens=None,
        output_tokens=None,
        cost_usd=None,
        latency_ms=150.0,
        ttft_ms=150.0,
        prompt_text="ping",
        completion_text=None,
        finish_reason=None,
        priced_model=None,
    )
    # 5. OpenAI Responses API and 6. Gemini.
    add(
        "responses",
        15,
        operation="responses",
        url="https://api.openai.com/v1/responses",
        path="/v1/responses",
        request_model="gpt-4.1",
        response_model="gpt-4.1-2025-04-14",
        request_body=json.dumps(
            {"model": "gpt-4.1", "instructions": "Be brief.", "input": "Name a prime above 100."}
        ),
        response_body=json.dumps(
            {
                "object": "response",
                "output": [
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": "101"}],
                    }
                ],
            }
        ),
        prompt_text="Be brief.\nName a prime above 100.",
        completion_text="101",
        cost_usd=0.0003,
    )
    add(
        "gemini",
        12,
        provider="gemini",
        operation="generate_content",
        host="generativelanguage.googleapis.com",
        path="/v1beta/models/gemini-2.5-flash:generateContent",
        url="https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent?key=…(redacted)",
        request_model="gemini-2.5-flash",
        response_model="gemini-2.5-flash",
        request_body=json.dumps(
            {"contents": [{"role": "user", "parts": [{"text": "Why is the sky blue?"}]}]}
        ),
        response_body=json.dumps(
            {
                "candidates": [
                    {
                        "content": {
                            "role": "model",
                            "parts": [{"text": "Rayleigh scattering.", "thought": False}],
                        }
                    }
                ]
            }
        ),
        prompt_text="Why is the sky blue?",
        completion_text="Rayleigh scattering.",
        cost_usd=0.00001,
    )
    # 7. Two tasks with variables, spread over three days.
    for i, ticket in enumerate(TICKETS * 2):
        prompt = SUMMARY_TEMPLATE.replace("{ticket}", ticket)
        add(
            "summary" if i == 0 else None,
            60 * 24 * 2 - i * 300,
            task_id=TASK_SUMMARY,
            request_body=_chat_body(
                [
                    {"role": "system", "content": "You are a support assistant."},
                    {"role": "user", "content": prompt.split("\n\n", 1)[1]},
                ]
            ),
            response_body=_openai_response(f"Customer reports: {ticket.lower()}"),
            prompt_text=prompt,
            completion_text=f"Customer reports: {ticket.lower()}",
            template_vars=json.dumps({"ticket": ticket}),
            project="support",
            cost_usd=0.00005 + i * 0.00001,
        )
    for i, language in enumerate(LANGUAGES * 2):
        text = "The meeting moved to Thursday at noon."
        prompt = TRANSLATE_TEMPLATE.replace("{language}", language).replace("{text}", text)
        add(
            None,
            60 * 24 - i * 60,
            task_id=TASK_TRANSLATE,
            request_model="gpt-4o",
            response_model="gpt-4o-2024-08-06",
            request_body=_chat_body([{"role": "user", "content": prompt}], model="gpt-4o"),
            response_body=_openai_response(f"[{language}] La réunion est jeudi à midi."),
            prompt_text=prompt,
            completion_text=f"[{language}] translation of the meeting note",
            template_vars=json.dumps({"language": language, "text": text}),
            project="i18n",
            cost_usd=0.002,
        )
    tasks = [
        {
            "id": TASK_SUMMARY,
            "template": SUMMARY_TEMPLATE,
            "trace_count": 10,
            "variables": json.dumps(["ticket"]),
        },
        {
            "id": TASK_TRANSLATE,
            "template": TRANSLATE_TEMPLATE,
            "trace_count": 8,
            "variables": json.dumps(["language", "text"]),
        },
    ]
    for task in tasks:
        times = [r["started_at"] for r in rows if r.get("task_id") == task["id"]]
        task.update(first_seen=min(times), last_seen=max(times))
    return rows, tasks, ids


def insert_rows(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = sorted({key for row in rows for key in row})
    marks = ",".join("?" * len(columns))
    names = ",".join(f"[{c}]" for c in columns)
    with conn:
        conn.executemany(
            f"insert into {table} ({names}) values ({marks})", [[row.get(c) for c in columns] for row in rows]
        )


def open_ui_db(path: str | Path) -> sqlite3.Connection:
    """open_db plus the UI migration (until it is appended to MIGRATIONS in schema.py)."""
    conn = open_db(path)
    has_fts = conn.execute("select 1 from sqlite_master where name = 'traces_fts'").fetchone()
    if not has_fts:
        with conn:
            add_ui_indexes(conn)
    return conn


def make_sample_db(path: str | Path, now: datetime | None = None) -> dict[str, str]:
    """Write the sample traces and tasks to a new database; return ids of the notable traces."""
    conn = open_ui_db(path)
    rows, tasks, ids = sample_rows(now or datetime.now(UTC))
    insert_rows(conn, "traces", rows)
    insert_rows(conn, "tasks", tasks)
    conn.close()
    return ids


def add_bulk_traces(
    conn: sqlite3.Connection, n: int, *, days: int = 30, n_tasks: int = 200, seed: int = 1, batch_size: int = 5000
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
            request_body=_chat_body([{"role": "user", "content": prompt}], model=model),
            response_body=_openai_response("Here is the answer about " + topic),
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
