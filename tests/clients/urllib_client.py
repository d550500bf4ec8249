"""The standard library's urllib, after `r4u.enable()`: `python urllib_client.py PROJECT MARKER`."""

import json
import sys
import urllib.request

import r4u

project, marker = sys.argv[1:3]
assert r4u.enable(project=project), "r4u.enable() found no proxy"

request = urllib.request.Request(
    "https://api.openai.com/v1/chat/completions",
    data=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "urllib says hi"}]}).encode(),
    headers={"authorization": "Bearer sk-test-urllib", "x-test-id": marker, "content-type": "application/json"},
)
with urllib.request.urlopen(request, timeout=30) as response:
    print(json.dumps(json.load(response)))
