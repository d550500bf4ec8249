"""The provider family interface (providers/base.py) and the one host table (providers/hosts.py)."""

from __future__ import annotations

import json
import re

import pytest
from support.streams import analyze_recorded

from r4u_proxy.providers import FAMILIES, family_module, route
from r4u_proxy.providers.base import FAMILY_INTERFACE
from r4u_proxy.providers.hosts import BUILTIN_INTERCEPT, HOSTS, intercept_regexes, provider_for_host
from r4u_proxy.providers.routes import PATH_OPERATIONS
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR


def test_every_routed_family_has_a_module_with_the_whole_interface():
    routed = {row[2] for row in PATH_OPERATIONS}
    assert routed == set(FAMILIES)
    for family, module in FAMILIES.items():
        assert family == module.FAMILY
        assert all(callable(getattr(module, name)) for name in FAMILY_INTERFACE if name != "FAMILY"), family
        stream = module.Stream()
        assert stream.error is None and stream.notes == [] and stream.add(None, "not an object") is False
        # Unexpected shapes never raise: each function returns what it found (here: nothing).
        assert module.prompt_parts({}) == {"system": None, "turns": [], "tools": []}
        assert module.response_messages(None) == [] and module.summary(None) == {}


def test_one_host_table_decides_interception_and_provider():
    rules = intercept_regexes()
    for host in HOSTS:
        example = host.pattern.replace("*", "eastus2") if host.pattern.startswith("*") else host.pattern
        assert any(re.search(rule, f"{example}:443") for rule in rules), host
        assert provider_for_host(example) == host.provider, host
    assert tuple(h.pattern for h in HOSTS) == BUILTIN_INTERCEPT
    # The provider comes from the table; on a host without one, from the path's family.
    assert route("myresource.openai.azure.com", "/openai/deployments/gpt4o/chat/completions").provider == "openai"
    assert route("us-central1-aiplatform.googleapis.com", "/v1/projects/p/locations/l/publishers/google/"
                 "models/gemini-2.5-flash:generateContent").provider == "gemini"  # fmt: skip
    assert route("api.groq.com", "/openai/v1/chat/completions").provider == "openai_compatible"
    assert route("Api.OpenAI.com.", "/v1/chat/completions").provider == "openai"


@pytest.mark.parametrize(
    ("fixture", "host", "path", "roles", "answer"),
    [
        ("openai_chat/gpt4o_single_tool_call.sse", "api.openai.com", "/v1/chat/completions", ["user"], "tool_call"),
        ("openai_responses/gpt5_reasoning_encrypted_then_function_call.sse", "api.openai.com", "/v1/responses",
         ["user"], "tool_call"),
        ("anthropic_messages/sonnet4_thinking_signature.sse", "api.anthropic.com", "/v1/messages", ["user"],
         "thinking"),
        ("gemini/googleai_thinking_thought_summary.sse", "generativelanguage.googleapis.com",
         "/v1beta/models/gemini-2.5-flash:streamGenerateContent", ["user"], "thinking"),
    ],
)  # fmt: skip
def test_the_chat_transcript_comes_from_the_family_module(fixture, host, path, roles, answer):
    """A recorded stream, reassembled by the family, reads back as a chat through the same family."""
    requests = {
        "openai_chat": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Weather in SF?"}]},
        "openai_responses": {"model": "gpt-5", "input": "Weather in SF?"},
        "anthropic_messages": {"model": "claude-sonnet-4", "messages": [{"role": "user", "content": "Hi"}]},
        "gemini": {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]},
    }
    module = family_module(route(host, path).family)
    request = requests[module.FAMILY]
    parsed = analyze_recorded(host, path, (RECORDINGS_DIR / fixture).read_bytes(), json.dumps(request).encode())
    said = module.request_messages(request)
    assert [m["role"] for m in said] == roles and said[0]["parts"][0]["kind"] == "text"
    answered = module.response_messages(json.loads(parsed["response_body"]))
    assert answered and answered[0]["role"] == "assistant"
    kinds = [p["kind"] for m in answered for p in m["parts"]]
    assert answer in kinds, kinds
    for part in (p for m in answered for p in m["parts"]):
        assert set(part) == {"kind", "text", "name", "id"} and isinstance(part["text"], str)
