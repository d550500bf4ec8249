"""The official `anthropic` SDK after `r4u.enable()`: `python anthropic_sdk.py PROJECT MARKER`."""

import json
import sys

import anthropic

import r4u

project, marker = sys.argv[1:3]
assert r4u.enable(project=project), "r4u.enable() found no proxy"

client = anthropic.Anthropic()
message = client.messages.create(
    model="claude-sonnet-4-20250514", max_tokens=100,
    messages=[{"role": "user", "content": "anthropic says hi"}],
    extra_headers={"x-test-id": marker},
)
print(json.dumps({
    "text": message.content[0].text, "model": message.model,
    "usage": {"input_tokens": message.usage.input_tokens, "output_tokens": message.usage.output_tokens},
}))
