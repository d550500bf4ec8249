"""requests, after `r4u.enable()`: `python requests_client.py PROJECT MARKER`."""

import json
import sys

import r4u

project, marker = sys.argv[1:3]
assert r4u.enable(project=project), "r4u.enable() found no proxy"
import requests  # noqa: E402

response = requests.post(
    "https://api.openai.com/v1/chat/completions",
    json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "requests says hi"}]},
    headers={"authorization": "Bearer sk-test-requests", "x-test-id": marker},
    timeout=30,
)
response.raise_for_status()
print(json.dumps(response.json()))
