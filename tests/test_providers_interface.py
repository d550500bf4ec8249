"""The provider family interface (providers/base.py) and the one host table (providers/hosts.py)."""

from __future__ import annotations

import json
import re

import pytest
from support.streams import analyze_recorded

from r4u_proxy.providers import FAMILIES, family_module, route, transcript
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
        assert transcript.response_messages(module, None) == [] and module.summary(None) == {}


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
    said = transcript.request_messages(module, request)
    assert [m["role"] for m in said] == roles and said[0]["parts"][0]["kind"] == "text"
    answered = transcript.response_messages(module, json.loads(parsed["response_body"]))
    assert answered and answered[0]["role"] == "assistant"
    kinds = [p["kind"] for m in answered for p in m["parts"]]
    assert answer in kinds, kinds
    for part in (p for m in answered for p in m["parts"]):
        assert set(part) == {"kind", "text", "name", "id"} and isinstance(part["text"], str)


def test_a_family_with_only_canonical_hooks_gets_the_chat_and_the_export():
    """A new family writes no view code: its canonical messages are what the page and the export show."""
    from types import SimpleNamespace

    from r4u_proxy.messages import canonical
    from r4u_proxy.providers import genai_parts

    family = SimpleNamespace(
        MESSAGES_KEY="turns",
        canonical_message=lambda item: canonical.message(item["who"], [canonical.text(item["said"])]),
        system_parts=lambda body: [canonical.text(body["rules"])] if body.get("rules") else [],
        response_choices=lambda body: [{"messages": [canonical.message("assistant", [
            canonical.text(body["reply"]), canonical.tool_call("c1", "lookup", '{"q": "x"}')])],
            "finish_reason": "tool_use"}],
    )  # fmt: skip
    request = {"rules": "Be brief.", "turns": [{"who": "user", "said": "Hi"}]}
    response = {"reply": "Looking."}
    assert transcript.request_messages(family, request) == [
        {"role": "system", "parts": [{"kind": "text", "text": "Be brief.", "name": None, "id": None}]},
        {"role": "user", "parts": [{"kind": "text", "text": "Hi", "name": None, "id": None}]},
    ]
    (answer,) = transcript.response_messages(family, response)
    assert answer["parts"][1] == {"kind": "tool_call", "text": '{\n  "q": "x"\n}', "name": "lookup", "id": "c1"}
    exported = genai_parts.content(family, request, response)
    assert exported["system"] == [{"type": "text", "content": "Be brief."}]
    assert exported["messages"] == [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
    assert exported["output"][0]["finish_reason"] == "tool_call"
    assert exported["output"][0]["parts"][1] == {"type": "tool_call", "id": "c1", "name": "lookup", "arguments": {"q": "x"}}


def test_what_a_part_carries_for_showing_never_moves_its_hash():
    """Sessions hash what a message says; the chat's and export's extras (media type, redaction, reasoning a
    client does not resend) are left out of it."""
    from r4u_proxy.messages import canonical
    from r4u_proxy.messages.hashing import message_hash
    from r4u_proxy.providers import anthropic, genai_parts, openai_chat

    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo"}}
    shown = anthropic.canonical_message({"role": "user", "content": [image]})
    assert shown["parts"][0]["mime_type"] == "image/png"
    bare = {"role": "user", "parts": [{"type": "media", "value": image["source"]}]}
    assert message_hash(shown) == message_hash(bare)
    assert transcript.shown([shown])[0]["parts"][0]["text"] == "[image: image/png]"
    # DeepSeek's reasoning_content is shown, but a client does not resend it: same hash as without it.
    said = {"role": "assistant", "content": "4", "reasoning_content": "2+2"}
    assert message_hash(openai_chat.canonical_message(said)) == message_hash(
        openai_chat.canonical_message({"role": "assistant", "content": "4"}))  # fmt: skip
    kinds = [p["kind"] for p in transcript.shown([openai_chat.canonical_message(said)])[0]["parts"]]
    assert kinds == ["thinking", "text"]
    # A redacted thinking block: the chat says so, the export keeps it as the provider's own part.
    redacted = anthropic.canonical_message({"role": "assistant", "content": [{"type": "redacted_thinking", "data": "EmwK"}]})
    assert transcript.shown([redacted])[0]["parts"][0]["text"] == "(redacted thinking)"
    assert genai_parts.parts(redacted) == [{"type": "redacted_thinking", "data": "EmwK"}]
    assert message_hash(redacted) == message_hash(canonical.message("assistant", [canonical.thinking("EmwK")]))


def test_chat_shows_each_choice_apart_and_a_custom_tool_call_as_a_call():
    three = analyze_recorded("api.openai.com", "/v1/chat/completions",
                             (RECORDINGS_DIR / "openai_chat/gpt4o_n3_multiple_choices_json_schema.sse").read_bytes())  # fmt: skip
    chat = family_module("openai_chat")
    assert len(transcript.response_messages(chat, json.loads(three["response_body"]))) == 3
    custom = analyze_recorded("api.openai.com", "/v1/responses",
                              (RECORDINGS_DIR / "openai_responses/gpt5_custom_tool_call_freeform.sse").read_bytes())  # fmt: skip
    (answer,) = transcript.response_messages(family_module("openai_responses"), json.loads(custom["response_body"]))
    call = next(p for p in answer["parts"] if p["kind"] == "tool_call")
    assert call["name"] == "execute_sql" and call["text"] == "SELECT * FROM users LIMIT 5;"


def test_a_family_not_yet_converted_shows_its_first_choice():
    """A module with the older canonical hooks (`output_messages`, no `response_choices`) still shows and
    exports its answer."""
    from types import SimpleNamespace

    from r4u_proxy.messages import canonical
    from r4u_proxy.providers import genai_parts

    family = SimpleNamespace(
        output_messages=lambda body: [canonical.message("assistant", [canonical.text(body["text"])])],
        summary=lambda body: {"finish_reason": body["why"]},
    )
    body = {"text": "Hello", "why": "max_tokens"}
    assert [p["text"] for m in transcript.response_messages(family, body) for p in m["parts"]] == ["Hello"]
    assert genai_parts.output_messages(family, body) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello"}], "finish_reason": "length"}
    ]
