"""Calls for the export tests: real recorded provider streams (the simulator's fixtures, chosen with
`x-sim-fixture`) behind requests shaped like the ones they were recorded from, sent by httpx from the app
venv through a proxy."""

from __future__ import annotations

import json

from support.proxy import run_app

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}

# (name, host, path, fixture, body)
CALLS = [
    ("openai_chat", "api.openai.com", "/v1/chat/completions", "openai_chat/gpt4o_single_tool_call.sse", {
        "model": "gpt-4o-2024-08-06", "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "system", "content": "You answer weather questions."},
                     {"role": "user", "content": "What's the weather like in Edinburgh?"}],
        "tools": [{"type": "function", "function": WEATHER_TOOL}],
    }),
    ("anthropic", "api.anthropic.com", "/v1/messages", "anthropic_messages/sdk_tool_use_get_weather.sse", {
        "model": "claude-sonnet-4-20250514", "max_tokens": 1024, "stream": True,
        "system": [{"type": "text", "text": "You are a weather bot."}],
        "messages": [{"role": "user", "content": "What is the weather in SF?"}],
        "tools": [{"name": "get_weather", "description": "Get the weather", "input_schema": WEATHER_TOOL["parameters"]}],
    }),
    ("gemini", "generativelanguage.googleapis.com", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
     "gemini/googleai_thinking_function_call_thought_signature.sse", {
        "systemInstruction": {"parts": [{"text": "Use the tools."}]},
        "contents": [{"role": "user", "parts": [{"text": "What's the weather in Boston?"}]}],
        "tools": [{"functionDeclarations": [WEATHER_TOOL]}],
    }),
    ("responses", "api.openai.com", "/v1/responses", "openai_responses/gpt4o_function_call.sse", {
        "model": "gpt-4o", "stream": True, "instructions": "Be helpful.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "What is the capital of France?"}]}],
        "tools": [{"type": "function", **WEATHER_TOOL}],
    }),
    ("rate_limited", "api.openai.com", "/v1/chat/completions", None, {
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}],
    }),
]  # fmt: skip

SEND = """
import json, sys, httpx
calls = json.loads(sys.stdin.read())
with httpx.Client(timeout=60) as client:
    for name, host, path, fixture, body, headers in calls:
        response = client.post("https://" + host + path, json=body, headers=headers)
        response.read()
"""


def send_calls(env: dict[str, str], marker: str, calls: list = CALLS, session: str | None = None) -> None:
    payload = []
    for name, host, path, fixture, body in calls:
        headers = {"x-test-id": f"{marker}-{name}", "authorization": "Bearer sk-test-0123456789abcdefSECRET"}
        if fixture:
            headers["x-sim-fixture"] = fixture
        if name == "rate_limited":
            headers["x-sim-status"] = "429"
        payload.append([name, host, path, fixture, body, headers])
    run_app(SEND.replace("json.loads(sys.stdin.read())", repr(json.dumps(payload)).join(("json.loads(", ")"))), env)
