"""The UI tests' sample traces.db: one call of each kind a user meets, built like recorded calls.

`make_sample_db(path)` writes, through the writer's row builder (support/rows.py): a streamed OpenAI call
answered with a tool call, its follow-up carrying the tool result, an Anthropic call with thinking, a
tool call and an image, a failed call, a Responses API call, a Gemini call, and two tasks whose traces
hold template variables. Usage is chosen so each call costs round figures at genai-prices' prices
(gpt-4o 400 in / 100 out = $0.002).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from r4u_proxy.ingest.exchange import Exchange
from r4u_proxy.store.migrations import open_db
from support.rows import (
    ANTHROPIC_MESSAGES,
    OPENAI_CHAT,
    OPENAI_RESPONSES,
    assign_task,
    call,
    chat_request,
    chat_response,
    gemini_generate,
    sse,
    write,
)

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
QUESTION = [
    {"role": "system", "content": "You are a weather bot. Use tools."},
    {"role": "user", "content": "What's the weather in Paris right now?"},
]
TOOL_CALLS = [
    {"id": "call_w1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
]


def _tool_call_stream() -> list[bytes]:
    """The streamed answer as OpenAI sends it, in 9 network reads: the tool call's name first, then
    its arguments piece by piece, the finish reason, usage and [DONE]."""
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1764547200,
            "model": "gpt-4o-mini-2024-07-18"}  # fmt: skip

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    call_start = {"index": 0, "id": "call_w1", "type": "function",
                  "function": {"name": "get_weather", "arguments": ""}}  # fmt: skip
    pieces = ['{"', 'city', '": ', '"Par', 'is"}']
    events = [chunk({"role": "assistant", "content": None, "tool_calls": [call_start]})]
    events += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces]
    events.append(chunk({}, "tool_calls"))
    events.append({**head, "choices": [], "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160}})
    return [sse(event, done=False) for event in events] + [b"data: [DONE]\n\n"]


ANTHROPIC_REQUEST = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "system": "You describe receipts.",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "text", "text": "Total this receipt and convert to EUR."},
            ],
        }
    ],
    "tools": [{"name": "convert_currency", "input_schema": {"type": "object"}}],
}
ANTHROPIC_RESPONSE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "The receipt lists three items; the sum is 42.50 USD.", "signature": "x"},
        {"type": "text", "text": "The total is 42.50 USD; converting now."},
        {"type": "tool_use", "id": "toolu_1", "name": "convert_currency",
         "input": {"amount": 42.5, "from": "USD", "to": "EUR"}},
    ],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 1500, "output_tokens": 90},
}  # fmt: skip


def sample_calls(now: datetime) -> tuple[list[tuple[str | None, Exchange]], list[dict[str, Any]]]:
    """([(name of a notable call or None, its exchange)], [tasks with their members]); times relative to now."""

    def ago(minutes: float) -> float:
        return (now - timedelta(minutes=minutes)).timestamp()

    calls: list[tuple[str | None, Exchange]] = [
        # 1. A streamed chat call that answers with a tool call (first content at 210 ms, 9 chunks).
        ("stream_tools", call(OPENAI_CHAT, chat_request(*QUESTION, tools=[WEATHER_TOOL], stream=True),
                              _tool_call_stream(), at=ago(50), project="weather-bot", latency_ms=640,
                              chunk_ms=[210, 260, 300, 350, 420, 470, 520, 600, 640])),
        # 2. Its follow-up carrying the tool result.
        ("tool_result", call(OPENAI_CHAT, chat_request(
            *QUESTION, {"role": "assistant", "content": None, "tool_calls": TOOL_CALLS},
            {"role": "tool", "tool_call_id": "call_w1", "content": '{"temp_c": 18, "sky": "sunny"}'},
            tools=[WEATHER_TOOL]), chat_response("It is 18 °C and sunny in Paris."), at=ago(49),
            project="weather-bot")),
        # 3. Anthropic: thinking, an image and a tool call.
        ("anthropic", call(ANTHROPIC_MESSAGES, ANTHROPIC_REQUEST, ANTHROPIC_RESPONSE, at=ago(30),
                           latency_ms=2400, ttft_ms=900, project="receipts")),
        # 4. A failed call.
        ("error", call(ANTHROPIC_MESSAGES, {"model": "claude-haiku-4-5", "max_tokens": 100,
                                            "messages": [{"role": "user", "content": "ping"}]},
                       {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                       at=ago(20), status=529, latency_ms=150, ttft_ms=150, project="default")),
        # 5. The Responses API ($0.0003 at gpt-4.1's prices) and 6. Gemini ($0.00001).
        ("responses", call(OPENAI_RESPONSES, {"model": "gpt-4.1", "instructions": "Be brief.",
                                              "input": "Name a prime above 100."},
                           {"object": "response", "model": "gpt-4.1-2025-04-14", "status": "completed",
                            "output": [{"type": "message", "role": "assistant",
                                        "content": [{"type": "output_text", "text": "101"}]}],
                            "usage": {"input_tokens": 110, "output_tokens": 10}}, at=ago(15), project="default")),
        ("gemini", call(gemini_generate("gemini-2.5-flash"),
                        {"contents": [{"role": "user", "parts": [{"text": "Why is the sky blue?"}]}]},
                        {"candidates": [{"content": {"role": "model",
                                                     "parts": [{"text": "Rayleigh scattering.", "thought": False}]},
                                         "finishReason": "STOP"}],
                         "usageMetadata": {"promptTokenCount": 25, "candidatesTokenCount": 1},
                         "modelVersion": "gemini-2.5-flash"},
                        at=ago(12), query="key=AIzaSyTest0123456789abcdefghij", project="default")),
    ]  # fmt: skip
    summary_members, translate_members = [], []
    # 7. Two tasks with variables, spread over three days.
    for i, ticket in enumerate(TICKETS * 2):
        prompt = SUMMARY_TEMPLATE.replace("{ticket}", ticket)
        exchange = call(OPENAI_CHAT, chat_request(
            {"role": "system", "content": "You are a support assistant."}, prompt.split("\n\n", 1)[1]),
            chat_response(f"Customer reports: {ticket.lower()}", usage=(120 + 10 * i, 40)),
            at=ago(60 * 24 * 2 - i * 300), project="support")  # fmt: skip
        calls.append(("summary" if i == 0 else None, exchange))
        summary_members.append((exchange["id"], {"ticket": ticket}))
    for i, language in enumerate(LANGUAGES * 2):
        text = "The meeting moved to Thursday at noon."
        prompt = TRANSLATE_TEMPLATE.replace("{language}", language).replace("{text}", text)
        exchange = call(OPENAI_CHAT, chat_request(prompt, model="gpt-4o"),
                        chat_response(f"[{language}] La réunion est jeudi à midi.", usage=(400, 100),
                                      model="gpt-4o-2024-08-06"),
                        at=ago(60 * 24 - i * 60), project="i18n")  # fmt: skip
        calls.append((None, exchange))
        translate_members.append((exchange["id"], {"language": language, "text": text}))
    tasks = [
        {"id": TASK_SUMMARY, "template": SUMMARY_TEMPLATE, "variables": json.dumps(["ticket"]),
         "members": summary_members},
        {"id": TASK_TRANSLATE, "template": TRANSLATE_TEMPLATE, "variables": json.dumps(["language", "text"]),
         "members": translate_members},
    ]  # fmt: skip
    return calls, tasks


def make_sample_db(path: str | Path, now: datetime | None = None) -> dict[str, str]:
    """Write the sample traces and tasks to a new database; return the ids of the notable traces."""
    calls, tasks = sample_calls(now or datetime.now(UTC))
    conn = open_db(path)
    rows = write(conn, [exchange for _, exchange in calls])
    started = {row["id"]: row["started_at"] for row in rows}
    for task in tasks:
        members = task.pop("members")
        times = [started[trace_id] for trace_id, _ in members]
        assign_task(conn, {**task, "first_seen": min(times), "last_seen": max(times)}, members)
    conn.close()
    return {name: exchange["id"] for name, exchange in calls if name}
