"""The small parts sessions are built from: client names, canonical messages, the token split, the
simulator's tool plans, and the migration."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest
from support.streams import analyze_recorded

from r4u_proxy.ingest.client_name import client_name
from r4u_proxy.messages.hashing import RequestHasher, message_hash
from r4u_proxy.providers import anthropic, openai_chat, openai_responses
from r4u_proxy.sessions.context import apportion, context_limit, split
from r4u_proxy.sessions.schema import SESSION_COLUMNS
from r4u_proxy.simulator import Simulator
from r4u_proxy.simulator.tool_plan import arguments_for, next_call, parse_plan
from r4u_proxy.store.migrations import MIGRATIONS, applied_migrations, open_db


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        ({"user-agent": "claude-cli/2.1.197 (external, sdk-cli)"}, "claude-cli/2.1.197"),
        ({"user-agent": "codex_cli_rs/0.171.0 (Debian 12; x86_64) xterm-256color"}, "codex_cli_rs/0.171.0"),
        ({"user-agent": "OpenAI/Python 3.57.0", "x-stainless-lang": "python"}, "OpenAI/Python 3.57.0"),
        ({"user-agent": "AsyncOpenAI/Python 3.57.0"}, "AsyncOpenAI/Python 3.57.0"),
        ({"user-agent": "Anthropic/Python 0.75.0"}, "Anthropic/Python 0.75.0"),
        ({"user-agent": "Agents/Python 0.24.0"}, "Agents/Python 0.24.0"),
        ({"user-agent": "pydantic-ai/2.68.0"}, "pydantic-ai/2.68.0"),
        ({"user-agent": "llm/0.36 (+https://llm.datasette.io)"}, "llm/0.36"),
        ({"user-agent": "python-httpx/0.28.1", "x-goog-api-client": "google-genai-sdk/1.40.0 gl-python/3.11.7"},
         "google-genai-sdk/1.40.0"),
        ({"user-agent": "curl/8.5.0"}, "curl/8.5.0"),
        ({}, None),
    ],
)  # fmt: skip
def test_client_name_rules(headers, name):
    assert client_name(headers) == name


def test_a_resent_message_hashes_like_the_output_it_came_from():
    output = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"p": 1}}]}
    resent = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"p": 1},
                                                "cache_control": {"type": "ephemeral"}}]}  # fmt: skip
    assert message_hash(anthropic.output_messages(output)[0]) == message_hash(anthropic.canonical_message(resent))
    chat_out = {"choices": [{"message": {"role": "assistant", "content": None, "refusal": None, "annotations": [],
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}}]}
    chat_resent = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]}  # fmt: skip
    assert message_hash(openai_chat.output_messages(chat_out)[0]) == message_hash(openai_chat.canonical_message(chat_resent))
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}", "status": "completed"}
    assert message_hash(openai_responses.output_messages({"output": [item]})[0]) == message_hash(
        openai_responses.canonical_message({k: v for k, v in item.items() if k not in ("id", "status")}))
    different = {"role": "assistant", "content": [{"type": "text", "text": "no"}]}
    assert message_hash(anthropic.canonical_message(different)) != message_hash(anthropic.canonical_message(resent))


def test_hasher_reads_ids_and_sizes_from_the_body_text():
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "metadata": {"user_id": "x"},
                       "system": "be brief", "tools": [{"name": "t"}]})  # fmt: skip
    hashed = RequestHasher().hash_request("anthropic_messages", body)
    assert len(hashed.hashes) == 1 and len(hashed.prefixes) == 2
    assert hashed.value("metadata") == {"user_id": "x"} and hashed.value_size("system") == len('"be brief"')
    assert RequestHasher().hash_request("anthropic_messages", "not json") is None


def test_apportion_always_sums_to_the_total():
    for total in (0, 1, 7, 3245, 100_003):
        parts = apportion(total, {"system": 857, "tools": 2336, "earlier_turns": 3, "new_input": 1, "tool_results": 0})
        assert sum(parts.values()) == total
    assert split({}, 10) == {"system": 0, "tools": 0, "earlier_turns": 0, "new_input": 10, "tool_results": 0,
                             "estimated": False}  # fmt: skip
    assert context_limit("openai", "gpt-4o") == 128_000 and context_limit("unknown", "my-local-model") is None


def test_tool_plans():
    assert parse_plan('Read*2,Agent{"prompt": "a, b"},*') == [("Read", None), ("Read", None), ("Agent", {"prompt": "a, b"}), ("*", None)]
    with pytest.raises(ValueError):
        parse_plan("Read*2;Bash")
    schema = {"properties": {"n": {"type": "integer"}, "kind": {"enum": ["x", "y"]}, "s": {"type": "string"}},
              "required": ["n", "kind", "s"]}  # fmt: skip
    assert arguments_for(schema) == {"n": 1, "kind": "x", "s": "sim"}
    tools = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
    request = {"tools": tools, "messages": [{"role": "user", "content": "go [sim-tool-plan=f*2]"}]}
    assert next_call(request, None)["name"] == "f"
    request["messages"] += [{"role": "assistant", "tool_calls": []}, {"role": "tool", "content": "1"}] * 2
    assert next_call(request, None) is None  # two results in: the plan is used up, the model answers


def test_simulator_tool_call_streams_parse_as_tool_calls():
    tools = [{"name": "Read", "input_schema": {"properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}}]
    body = {"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": True, "tools": tools,
            "messages": [{"role": "user", "content": "x"}]}  # fmt: skip
    with Simulator(tls=False) as sim:
        raw = httpx.post(sim.url("/v1/messages"), json=body, headers={"x-sim-tool-plan": "Read"}).content
        bad = httpx.post(sim.url("/v1/messages"), json=body, headers={"x-sim-tool-plan": "Read;"})
    parsed = analyze_recorded("api.anthropic.com", "/v1/messages", raw, json.dumps(body).encode())
    assert parsed["finish_reason"] == "tool_use"
    assert parsed["completion_text"] == 'Read({"file_path":"sim"})'
    assert bad.status_code == 400 and "bad tool plan" in bad.text


def test_migration_adds_session_columns_to_an_existing_database(tmp_path):
    path = tmp_path / "traces.db"
    conn = open_db(path)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(traces)")}
    assert set(SESSION_COLUMNS) <= columns
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(traces)")}
    assert "idx_traces_session_id" in indexes
    # As a traces.db that has the columns but no record of sessions_v1 (e.g. made by a pre-release build).
    conn.execute("DELETE FROM _r4u_migrations WHERE name = 'sessions_v1'")
    conn.commit()
    conn.close()
    conn = open_db(path)  # runs sessions_v1 again: adds only what is missing
    assert "sessions_v1" in applied_migrations(conn)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert sqlite3.connect(path).execute("select count(*) from session_index").fetchone() == (0,)


def test_gemini_turns_chain_like_the_other_families():
    from r4u_proxy.messages.hashing import RequestHasher, chain, message_hash
    from r4u_proxy.providers import gemini

    first = {"contents": [{"role": "user", "parts": [{"text": "weather?"}]}], "systemInstruction": {"parts": [{"text": "be brief"}]}}
    reply = {"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "lookup", "args": {"city": "Paris"}}, "thoughtSignature": "c2ln"}]}}]}  # fmt: skip
    second = {"contents": [*first["contents"], {"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {"city": "Paris"}}}]},
                           {"role": "user", "parts": [{"functionResponse": {"name": "lookup", "response": {"t": 18}}}]}]}  # fmt: skip
    one = RequestHasher().hash_request("gemini", json.dumps(first))
    two = RequestHasher().hash_request("gemini", json.dumps(second))
    tip = chain(one.prefixes[-1], message_hash(gemini.output_messages(reply)[0]))
    assert two.prefixes[2] == tip and two.tool_results == [False, False, True]
    assert gemini.system_parts(first) == [{"type": "text", "text": "be brief"}]
