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
from r4u_proxy.providers.conversation import output_messages
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
    assert message_hash(output_messages(anthropic, output)[0]) == message_hash(anthropic.canonical_message(resent))
    chat_out = {"choices": [{"message": {"role": "assistant", "content": None, "refusal": None, "annotations": [],
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}}]}
    chat_resent = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]}  # fmt: skip
    assert message_hash(output_messages(openai_chat, chat_out)[0]) == message_hash(openai_chat.canonical_message(chat_resent))
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}", "status": "completed"}
    assert message_hash(output_messages(openai_responses, {"output": [item]})[0]) == message_hash(
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
    tip = chain(one.prefixes[-1], message_hash(output_messages(gemini, reply)[0]))
    assert two.prefixes[2] == tip and two.tool_results == [False, False, True]
    assert gemini.system_parts(first) == [{"type": "text", "text": "be brief"}]


# Chain tips of each recording's last request and its output's hash, as r4u computed them before the family
# modules' three message readings became one (issue-14 @ 2397c6b): session inference over a database
# recorded by an older r4u only holds while these stay equal.
_STABLE_TIPS = {
    "claude_code_20_turns": ("9bf9d4dec5d7794ee0472fe3585b73b9", None),
    "langchain_20_turns": ("9112c92ef330957ee9ba19ca1574d55c", "14f833cd9fcc16966c4aa034041970be"),
    "llm_conversation_20_turns": ("0894fbe5760b0709ef639e773091c288", None),
    "openai_agents_20_turns": ("0b79305990295bebbc9fb0b19a00503b", "d5b3661dc77a83ad55283c035e6aa435"),
    "pydantic_ai_20_turns": ("72fa90e17101d41dfb22683a7bee330f", "44bc988a491686eb9ad97322fbcf6ab8"),
}


@pytest.mark.parametrize("name", sorted(_STABLE_TIPS))
def test_message_hashes_of_recorded_agents_are_those_of_earlier_versions(name):
    from support import agent_recordings

    from r4u_proxy.providers import FAMILIES, route

    last = agent_recordings.load(name)[-1]
    family = route(last["host"], last["path"]).family
    hashed = RequestHasher().hash_request(family, last["request_body"])
    tip, output = _STABLE_TIPS[name]
    assert hashed.prefixes[-1].hex() == tip
    if output:
        assert [message_hash(m).hex() for m in output_messages(FAMILIES[family], json.loads(last["response_body"]))] == [output]


def test_session_lookups_cost_the_same_after_thousands_of_calls(tmp_path):
    """Inference runs in the writer for every call: if its lookups read every recent row instead of seeking
    by key, a busy day makes each call dearer than the last (measured in SQLite VM steps, not time)."""
    from support import agent_recordings as recordings

    from r4u_proxy.ingest.row import build_row
    from r4u_proxy.sessions.tracker import SessionTracker
    from r4u_proxy.store.schema import TRACE_COLUMNS

    conn = open_db(tmp_path / "traces.db")
    tracker = SessionTracker(conn)
    columns = (*TRACE_COLUMNS, *SESSION_COLUMNS)
    template = recordings.load("langchain_20_turns")[0]
    steps = [0]
    conn.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1), 10)

    def one_call(i: int, repeat: bool) -> int:
        body = json.loads(template["request_body"])
        body["messages"][-1]["content"] = "the same question" if repeat else f"question number {i}"
        call = {**template, "request_body": json.dumps(body)}
        exchange = recordings.exchange(call, 1_800_000_000.0 + i)
        row = {c: v for c, v in build_row(exchange).items() if c in columns}
        before = steps[0]
        tracker.assign([row], [exchange])
        return steps[0] - before

    early = [one_call(i, repeat) for i in range(10) for repeat in (False, True)]
    for i in range(10, 1000):
        one_call(i, i % 2 == 0)
    late = [one_call(i, repeat) for i in range(1000, 1010) for repeat in (False, True)]
    assert max(late) <= 2 * max(early) + 50, (early, late)
