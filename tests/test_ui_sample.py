"""Sample traces.db content for the UI tests and the UI bench (no tests in this file).

`make_sample_db(path)` writes a small database with one trace of each kind a
user meets: a streamed OpenAI call with tool calls, its follow-up with the tool
result, an Anthropic call with thinking, a tool call and an image, a failed
call, a Responses API call, a Gemini call, and two tasks with template
variables. Bulk data for the bench: test_ui_bulk_data.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from test_ui_rows import base_trace, chat_body, insert_rows, open_ui_db, openai_response

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
        request_body=chat_body(question, tools=[WEATHER_TOOL], stream=True),
        response_body=openai_response(None, tool_calls),
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
        request_body=chat_body(follow_up, tools=[WEATHER_TOOL]),
        response_body=openai_response("It is 18 °C and sunny in Paris."),
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
            request_body=chat_body(
                [
                    {"role": "system", "content": "You are a support assistant."},
                    {"role": "user", "content": prompt.split("\n\n", 1)[1]},
                ]
            ),
            response_body=openai_response(f"Customer reports: {ticket.lower()}"),
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
            request_body=chat_body([{"role": "user", "content": prompt}], model="gpt-4o"),
            response_body=openai_response(f"[{language}] La réunion est jeudi à midi."),
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


def make_sample_db(path: str | Path, now: datetime | None = None) -> dict[str, str]:
    """Write the sample traces and tasks to a new database; return ids of the notable traces."""
    conn = open_ui_db(path)
    rows, tasks, ids = sample_rows(now or datetime.now(UTC))
    insert_rows(conn, "traces", rows)
    insert_rows(conn, "tasks", tasks)
    conn.close()
    return ids
