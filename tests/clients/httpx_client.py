"""httpx, sync or async (`python httpx_client.py PROJECT MARKER sync|async`), after `r4u.enable()`."""

import asyncio
import json
import sys

import r4u

project, marker, mode = sys.argv[1:4]
assert r4u.enable(project=project), "r4u.enable() found no proxy"
import httpx  # noqa: E402

URL = "https://api.openai.com/v1/chat/completions"
REQUEST = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"httpx {mode} says hi"}]}
HEADERS = {"authorization": "Bearer sk-test-httpx", "x-test-id": marker}


async def call_async() -> dict:
    async with httpx.AsyncClient() as client:
        response = await client.post(URL, json=REQUEST, headers=HEADERS)
        response.raise_for_status()
        return response.json()


if mode == "async":
    body = asyncio.run(call_async())
else:
    with httpx.Client() as client:
        response = client.post(URL, json=REQUEST, headers=HEADERS)
        response.raise_for_status()
        body = response.json()
print(json.dumps(body))
