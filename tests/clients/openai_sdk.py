"""The official `openai` SDK, imported *before* `r4u.enable()`, client built after.

`python openai_sdk.py PROJECT MARKER sync|async|stream`; prints the text, model and usage the app saw.
"""

import asyncio
import json
import sys

import openai  # before enable(): the SDK builds no HTTP client at import

import r4u

project, marker, mode = sys.argv[1:4]
assert r4u.enable(project=project), "r4u.enable() found no proxy"

MESSAGES = [{"role": "user", "content": f"openai {mode} says hi"}]
HEADERS = {"x-test-id": marker}


def sync_call() -> dict:
    client = openai.OpenAI()
    r = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=HEADERS)
    return {"text": r.choices[0].message.content, "model": r.model, "usage": r.usage.model_dump()}


async def async_call() -> dict:
    client = openai.AsyncOpenAI()
    r = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=HEADERS)
    return {"text": r.choices[0].message.content, "model": r.model, "usage": r.usage.model_dump()}


def stream_call() -> dict:
    client = openai.OpenAI()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers=HEADERS,
        stream=True, stream_options={"include_usage": True},
    )
    text, model, usage = "", None, None
    for chunk in stream:
        model = chunk.model or model
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage.model_dump()
    return {"text": text, "model": model, "usage": usage}


result = {"sync": sync_call, "stream": stream_call}.get(mode, lambda: asyncio.run(async_call()))()
print(json.dumps(result))
