"""aiohttp imported before or after `r4u.enable()`: `python aiohttp_client.py PROJECT MARKER before|after`.

aiohttp ignores HTTPS_PROXY by default and builds its SSL context at import; the shim covers both orders.
"""

import asyncio
import json
import sys

project, marker, order = sys.argv[1:4]
if order == "before":
    import aiohttp
import r4u  # noqa: E402

assert r4u.enable(project=project), "r4u.enable() found no proxy"
if order == "after":
    import aiohttp


async def main() -> dict:
    # No trust_env=True here: the shim makes it the default.
    async with aiohttp.ClientSession() as session, session.post(
        "https://api.openai.com/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"aiohttp {order} says hi"}]},
        headers={"authorization": "Bearer sk-test-aiohttp", "x-test-id": marker},
    ) as response:
        response.raise_for_status()
        return await response.json()


print(json.dumps(asyncio.run(main())))
