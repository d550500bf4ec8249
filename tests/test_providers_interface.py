"""The provider family interface (providers/base.py) and the one host table (providers/hosts.py)."""

from __future__ import annotations

import json
import re

import pytest
from support.streams import analyze_recorded, recorded_status
from support.upstream import manifest

from r4u_proxy.messages.hashing import message_hash
from r4u_proxy.providers import FAMILIES, conversation, family_module, genai_content, route, transcript
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
        assert transcript.response_messages(module, None) == [] and module.summary(None) == {}


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
    said = transcript.request_messages(module, request)
    assert [m["role"] for m in said] == roles and said[0]["parts"][0]["kind"] == "text"
    answered = transcript.response_messages(module, json.loads(parsed["response_body"]))
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
    assert [(m["role"], [p["kind"] for p in m["parts"]]) for m in transcript.request_messages(module, request)] == said
    assert [p["kind"] for m in transcript.response_messages(module, response) for p in m["parts"]] == answered
    exported = genai_content(module.FAMILY, request, response)
    kinds = {"text": "text", "thinking": "reasoning", "tool_call": "tool_call", "tool_result": "tool_call_response"}
    assert [p["type"] for m in exported["messages"] for p in m["parts"]] == [kinds[k] for _, ks in said for k in ks]
    assert [p["type"] for m in exported["output"] for p in m["parts"]] == [kinds[k] for k in answered]


def test_cohere_chat_shows_the_tool_plan_and_thinking():
    stream = (RECORDINGS_DIR / "cohere/command_r_v2_chat_stream_tool_calls.sse").read_bytes()
    request = {"model": "command-r", "messages": [{"role": "user", "content": "Weather and time in Tokyo?"}]}
    body = json.loads(analyze_recorded("api.cohere.com", "/v2/chat", stream, json.dumps(request).encode())["response_body"])
    cohere = family_module("cohere")
    (answer,) = transcript.response_messages(cohere, body)
    assert [(p["kind"], p["name"]) for p in answer["parts"]] == [
        ("thinking", None), ("tool_call", "get_time"), ("tool_call", "get_weather")]  # fmt: skip
    assert answer["parts"][0]["text"] == body["message"]["tool_plan"]
    thinking = json.loads((RECORDINGS_DIR / "cohere/command_a_reasoning_v2_chat_thinking.json").read_bytes())
    assert [p["kind"] for m in transcript.response_messages(cohere, thinking) for p in m["parts"]] == ["thinking", "text"]


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
    (output,) = conversation.output_messages(module, response)
    assert output["parts"] and message_hash(module.canonical_message(resend(response))) == message_hash(output)
    different = {**resend(response), "role": "user"}
    assert message_hash(module.canonical_message(different)) != message_hash(output)


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


def test_the_new_families_pieces_show_and_export_as_main_families_do():
    """Converse's media, encrypted reasoning and JSON tool result, and Ollama's images and generate prompt, read
    once into canonical parts, show and export like Anthropic's image, redacted thinking and tool result
    (block shapes from the Bedrock Converse API reference and Ollama's API docs)."""
    converse = family_module("bedrock_converse")
    request = {
        "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}],
        "messages": [
            {"role": "user", "content": [{"text": "What is it?"}, {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo"}}}]},
            {"role": "assistant", "content": [{"reasoningContent": {"redactedContent": "RW5j"}},
                                              {"toolUse": {"toolUseId": "t1", "name": "look", "input": {"q": 1}}}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "status": "error", "content": [{"json": {"err": "x"}}]}}]},
        ],
        "toolConfig": {"tools": [{"toolSpec": {"name": "look", "inputSchema": {"json": {"type": "object"}}}}]},
    }  # fmt: skip
    shown = [[(p["kind"], p["text"]) for p in m["parts"]] for m in transcript.request_messages(converse, request)]
    assert shown == [
        [("text", "Be brief.")],
        [("text", "What is it?"), ("image", "[image: image/png]")],
        [("thinking", "(redacted thinking)"), ("tool_call", '{\n  "q": 1\n}')],
        [("tool_result", '(error) {\n  "err": "x"\n}')],
    ]
    exported = genai_content("bedrock_converse", request, None)
    assert exported["system"] == [{"type": "text", "content": "Be brief."}]
    assert [p["type"] for m in exported["messages"] for p in m["parts"]] == [
        "text", "blob", "redacted_thinking", "tool_call", "tool_call_response"]  # fmt: skip
    assert exported["messages"][2]["parts"][0] == {"type": "tool_call_response", "id": "t1", "response": {"err": "x"}}
    assert exported["tools"] == [{"type": "function", "name": "look", "parameters": {"type": "object"}}]
    ollama = family_module("ollama")
    image = {"role": "user", "content": "What is it?", "images": ["iVBORw0KGgo"]}
    assert [p["text"] for m in transcript.request_messages(ollama, {"messages": [image]}) for p in m["parts"]] == [
        "What is it?", "[image]"]  # fmt: skip
    assert message_hash(ollama.canonical_message(image)) != message_hash(ollama.canonical_message({**image, "images": []}))
    generate = genai_content("ollama", {"model": "llama3", "system": "Be brief.", "prompt": "Why?"},
                             {"response": "Because.", "thinking": "hm", "done_reason": "stop"})  # fmt: skip
    assert generate["system"] == [{"type": "text", "content": "Be brief."}]
    assert generate["messages"] == [{"role": "user", "parts": [{"type": "text", "content": "Why?"}]}]
    assert generate["output"] == [{"role": "assistant", "finish_reason": "stop", "parts": [
        {"type": "reasoning", "content": "hm"}, {"type": "text", "content": "Because."}]}]  # fmt: skip
