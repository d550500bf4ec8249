"""The provider family interface (providers/base.py) and the one host table (providers/hosts.py)."""

from __future__ import annotations

import json
import re

import pytest
from support.streams import analyze_recorded, recorded_status
from support.upstream import manifest

from r4u_proxy.messages.hashing import message_hash
from r4u_proxy.providers import FAMILIES, family_module, genai_content, route
from r4u_proxy.providers.base import FAMILY_INTERFACE
from r4u_proxy.providers.hosts import BUILTIN_INTERCEPT, HOSTS, intercept_regexes, provider_for_host
from r4u_proxy.providers.routes import PATH_OPERATIONS
from r4u_proxy.simulator.fixtures import RECORDINGS_DIR


def test_every_routed_family_has_a_module_with_the_whole_interface():
    routed = {rule.family for rule in PATH_OPERATIONS}
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
        example = host.pattern.replace("*", "eastus2")
        assert any(re.search(rule, f"{example}:443") for rule in rules), host
        assert provider_for_host(example) == host.provider, host
    assert tuple(h.pattern for h in HOSTS) == BUILTIN_INTERCEPT
    # The provider comes from the table; on a host without one, from the path's family.
    assert route("myresource.openai.azure.com", "/openai/deployments/gpt4o/chat/completions").provider == "azure"
    assert route("us-central1-aiplatform.googleapis.com", "/v1/projects/p/locations/l/publishers/google/"
                 "models/gemini-2.5-flash:generateContent").provider == "vertex"  # fmt: skip
    assert route("bedrock-runtime.us-east-1.amazonaws.com", "/model/amazon.nova-micro-v1:0/converse").provider \
        == "bedrock"  # a glob inside the name
    assert route("bedrock-runtime.us-east-1.amazonaws.com.evil.test", "/model/m/converse") is None
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


def _recorded_call(name: str) -> tuple:
    """(family module, request body, reassembled response body) of a MANIFEST recording, as the writer parses it."""
    row = next(r for r in manifest() if r["file"] == name)
    url = row["endpoint"].split(" ")[1]
    host, _, path = url.partition("://")[2].partition("/")
    host, path = host.split(":")[0], "/" + path.partition("?")[0]
    request = json.loads(row["request"])
    parsed = analyze_recorded(host, path, (RECORDINGS_DIR / name).read_bytes(), json.dumps(request).encode(),
                              name=name, status=recorded_status(row))  # fmt: skip
    return family_module(route(host, path).family), request, json.loads(parsed["response_body"])


@pytest.mark.parametrize(
    ("fixture", "said", "answered"),
    [
        ("bedrock/nova_micro_converse_stream_tool_use.eventstream", [("user", ["text"])],
         ["text", "tool_call", "tool_call"]),
        ("bedrock/claude_sonnet4_converse_reasoning.json", [("user", ["text"])], ["thinking", "text"]),
        # Claude through InvokeModelWithResponseStream: Anthropic's body, read by the anthropic family
        ("bedrock/claude35_sonnet_invoke_stream_tool_use.eventstream", [("user", ["text"])],
         ["text", "tool_call", "tool_call"]),
        ("bedrock/llama31_70b_invoke.json", [("user", ["text"])], ["text"]),
        ("ollama/llama31_chat_tool_calls.json", [("assistant", ["tool_call"]), ("tool", ["tool_result"])], ["text"]),
        ("ollama/llama3_generate_stream.ndjson", [("user", ["text"])], ["text"]),
        ("tgi/llama32_3b_text_generation_stream.sse", [("user", ["text"])], ["text"]),
    ],
)  # fmt: skip
def test_the_new_families_chat_from_their_recorded_calls(fixture, said, answered):
    """Bedrock, Ollama and TGI calls read back as the chat the trace page shows, request and reassembled answer,
    and export to the GenAI conventions' shapes (the same parts)."""
    module, request, response = _recorded_call(fixture)
    assert [(m["role"], [p["kind"] for p in m["parts"]]) for m in module.request_messages(request)] == said
    assert [p["kind"] for m in module.response_messages(response) for p in m["parts"]] == answered
    exported = genai_content(module.FAMILY, request, response)
    kinds = {"text": "text", "thinking": "reasoning", "tool_call": "tool_call", "tool_result": "tool_call_response"}
    assert [p["type"] for m in exported["messages"] for p in m["parts"]] == [kinds[k] for _, ks in said for k in ks]
    assert [p["type"] for m in exported["output"] for p in m["parts"]] == [kinds[k] for k in answered]


def test_cohere_chat_shows_the_tool_plan_and_thinking():
    stream = (RECORDINGS_DIR / "cohere/command_r_v2_chat_stream_tool_calls.sse").read_bytes()
    request = {"model": "command-r", "messages": [{"role": "user", "content": "Weather and time in Tokyo?"}]}
    body = json.loads(analyze_recorded("api.cohere.com", "/v2/chat", stream, json.dumps(request).encode())["response_body"])
    cohere = family_module("cohere")
    (answer,) = cohere.response_messages(body)
    assert [(p["kind"], p["name"]) for p in answer["parts"]] == [
        ("thinking", None), ("tool_call", "get_time"), ("tool_call", "get_weather")]  # fmt: skip
    assert answer["parts"][0]["text"] == body["message"]["tool_plan"]
    thinking = json.loads((RECORDINGS_DIR / "cohere/command_a_reasoning_v2_chat_thinking.json").read_bytes())
    assert [p["kind"] for m in cohere.response_messages(thinking) for p in m["parts"]] == ["thinking", "text"]


@pytest.mark.parametrize(
    ("fixture", "resend"),
    [
        # boto3's Converse docs: `messages.append(response["output"]["message"])`
        ("bedrock/nova_micro_converse_stream_tool_use.eventstream", lambda body: body["output"]["message"]),
        # Claude Code on Bedrock resends Anthropic's content blocks
        ("bedrock/claude35_sonnet_invoke_stream_tool_use.eventstream",
         lambda body: {"role": "assistant", "content": body["content"]}),
        # cohere's tool-use docs: the plan and the calls, no content
        ("cohere/command_r_v2_chat_stream_tool_calls.sse",
         lambda body: {"role": "assistant", "tool_plan": body["message"]["tool_plan"],
                       "tool_calls": body["message"]["tool_calls"]}),
        # ollama-python: `messages.append(response.message)`
        ("ollama/llama3_chat_stream.ndjson", lambda body: body["message"]),
    ],
)  # fmt: skip
def test_a_resent_answer_hashes_as_the_output_it_came_from(fixture, resend):
    """Sessions link an agent's turns by message hashes: the reassembled answer, as the client resends it on the
    next turn, must be the same canonical message as the family's output."""
    if fixture.startswith("cohere/"):
        request = {"model": "command-r", "messages": [{"role": "user", "content": "Weather and time in Tokyo?"}]}
        stream = (RECORDINGS_DIR / fixture).read_bytes()
        parsed = analyze_recorded("api.cohere.com", "/v2/chat", stream, json.dumps(request).encode())
        module, response = family_module("cohere"), json.loads(parsed["response_body"])
    else:
        module, _, response = _recorded_call(fixture)
    (output,) = module.output_messages(response)
    assert output["parts"] and message_hash(module.canonical_message(resend(response))) == message_hash(output)
    different = {**resend(response), "role": "user"}
    assert message_hash(module.canonical_message(different)) != message_hash(output)
