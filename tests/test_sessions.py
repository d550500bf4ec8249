"""Session inference on recorded traffic of real agents (tests/fixtures/agents), through the writer's steps.

Each recording is what a real client sent through r4u to the simulator (README.md there): Claude Code,
openai-agents, pydantic-ai, LangChain and the `llm` CLI. "without ids" replays strip every session id the
client sent, so only message-prefix inference is left.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from support import agent_recordings as recordings

from r4u_proxy.messages.hashing import RequestHasher
from r4u_proxy.sessions.context import PARTS, context_limit

RESUMED = "3a4cfd6b-62ee-47f9-bfa5-068ae2481586"
TWENTY_TURNS = {
    "claude_code_20_turns": "claude-cli/2.1.197",
    "openai_agents_20_turns": "Agents/Python 0.24.0",
    "pydantic_ai_20_turns": "pydantic-ai/2.68.0",
    "langchain_20_turns": "AsyncOpenAI/Python 3.57.0",
    "llm_conversation_20_turns": "OpenAI/Python 3.57.0",
}


def _replay(tmp_path, names, strip=False, project=None, step=2.0):
    calls = [c for name in names for c in recordings.load(name)]
    if strip:
        calls = [recordings.without_ids(c) for c in calls]
    exchanges = [recordings.exchange(c, 1_800_000_000.0 + i * step, project) for i, c in enumerate(calls)]
    return recordings.replay(tmp_path / "traces.db", exchanges), calls


def _sessions(rows):
    by_session: dict[str, list[dict]] = {}
    for row in rows:
        by_session.setdefault(row["session_id"], []).append(row)
    return by_session


def _main_session(rows):
    return max(_sessions(rows).values(), key=len)


@pytest.mark.parametrize("strip", [False, True], ids=["with ids", "without ids"])
@pytest.mark.parametrize("name", list(TWENTY_TURNS))
def test_a_20_turn_tool_session_lands_as_one_session_in_order(tmp_path, name, strip):
    rows, _ = _replay(tmp_path, [name], strip)
    main = _main_session(rows)
    assert len(main) == 20
    assert [r["session_turn"] for r in main] == list(range(1, 21))
    assert main[0]["previous_trace_id"] is None
    assert [r["previous_trace_id"] for r in main[1:]] == [r["id"] for r in main[:-1]]
    resent = [r["resent_messages"] for r in main]
    assert resent[0] == 0 and all(b > a for a, b in zip(resent, resent[1:], strict=False))
    assert {r["client_name"] for r in main} == {TWENTY_TURNS[name]}
    assert all(r["parent_session_id"] is None for r in main)
    others = [r for r in rows if r["session_id"] != main[0]["session_id"]]
    assert len(others) == (1 if name == "claude_code_20_turns" else 0)  # Claude Code's sub-agent


@pytest.mark.parametrize("strip", [False, True], ids=["with ids", "without ids"])
def test_claude_code_sub_agent_is_its_own_session_linked_to_the_parent(tmp_path, strip):
    rows, calls = _replay(tmp_path, ["claude_code_20_turns"], strip)
    main = _main_session(rows)
    sub = [r for r in rows if r["session_id"] != main[0]["session_id"]]
    assert len(sub) == 1 and sub[0]["session_source"] == "subagent"
    assert sub[0]["parent_session_id"] == main[0]["session_id"]
    spawner = next(r for r in main if r["completion_text"] and r["completion_text"].startswith("Agent("))
    assert sub[0]["id"] > spawner["id"]  # started after the Agent tool call that spawned it
    if not strip:  # Claude Code sends one id for the run and its sub-agents; r4u keeps them apart under it
        assert main[0]["session_id"] == calls[0]["request_headers"]["x-claude-code-session-id"]
        assert sub[0]["session_id"].startswith(main[0]["session_id"] + ":agent-")


def test_only_tool_arguments_in_words_are_remembered_as_possible_sub_agent_prompts(tmp_path):
    """A path or an id is never a sub-agent's first message; remembering each cost a row per tool call."""
    import sqlite3

    from r4u_proxy.messages.canonical import digest

    _replay(tmp_path, ["claude_code_20_turns"])
    conn = sqlite3.connect(tmp_path / "traces.db")
    kept = {key for (key,) in conn.execute("select key from session_index where kind = 'spawn'")}
    arguments = [
        value.strip()
        for (text,) in conn.execute("select response_body from traces")
        for block in json.loads(text).get("content", [])
        if block.get("type") == "tool_use"
        for value in block["input"].values()
        if isinstance(value, str) and len(value.strip()) >= 16
    ]
    worded = {digest(a) for a in arguments if any(c.isspace() for c in a)}
    bare = {digest(a) for a in arguments if not any(c.isspace() for c in a)}
    assert worded and bare  # the recording has both: prompts and commands, and file paths
    assert kept == worded


@pytest.mark.parametrize("strip", [False, True], ids=["with ids", "without ids"])
def test_two_interleaved_claude_code_processes_stay_apart(tmp_path, strip):
    rows, calls = _replay(tmp_path, ["claude_code_two_processes"], strip)
    sessions = _sessions(rows)
    assert sorted(len(s) for s in sessions.values()) == [7, 7]
    by_process = Counter(c["request_headers"]["x-claude-code-session-id"] for c in recordings.load("claude_code_two_processes"))
    assert sorted(by_process.values()) == [7, 7]
    for session in sessions.values():
        assert [r["session_turn"] for r in session] == list(range(1, 8))
        processes = {recordings.load("claude_code_two_processes")[rows.index(r)]["request_headers"]["x-claude-code-session-id"] for r in session}
        assert len(processes) == 1  # never mixes the two processes' calls
    # They really interleave: the recording's calls alternate between the processes at least twice.
    order = [c["request_headers"]["x-claude-code-session-id"] for c in recordings.load("claude_code_two_processes")]
    assert sum(a != b for a, b in zip(order, order[1:], strict=False)) >= 2


def test_forks_with_their_own_ids_link_to_the_session_they_resumed(tmp_path):
    rows, calls = _replay(tmp_path, ["claude_code_two_processes", "claude_code_forks"])
    forks = rows[-2:]
    resumed = RESUMED  # both forks were `claude --resume RESUMED --fork-session` (fixtures README)
    assert resumed in {c["request_headers"]["x-claude-code-session-id"] for c in calls[:-2]}
    for fork, call in zip(forks, calls[-2:], strict=True):
        assert fork["session_id"] == call["request_headers"]["x-claude-code-session-id"] != resumed
        assert fork["parent_session_id"] == resumed
        assert fork["resent_messages"] > 10 and fork["new_messages"] == 1


def test_a_fork_without_ids_is_its_own_session_when_a_turn_is_extended_twice(tmp_path):
    rows, _ = _replay(tmp_path, ["claude_code_two_processes", "claude_code_forks"], strip=True)
    first, second = rows[-2:]
    original = first["session_id"]
    assert first["session_source"] == "prefix" and first["session_turn"] == 8  # extends the run's last turn
    assert second["session_source"] == "fork" and second["session_id"] != original
    assert second["parent_session_id"] == original
    assert second["previous_trace_id"] == first["previous_trace_id"]  # both extend the same call


def test_explicit_r4u_session_header_wins(tmp_path):
    calls = recordings.load("llm_conversation_20_turns")[:3]
    exchanges = [
        recordings.exchange(c, 1_800_000_000.0 + i, session_hint=("x-r4u-session", "trip-planner"))
        for i, c in enumerate(calls)
    ]
    rows = recordings.replay(tmp_path / "traces.db", exchanges)
    assert {r["session_id"] for r in rows} == {"trip-planner"}
    assert {r["session_source"] for r in rows} == {"x-r4u-session"}
    assert [r["session_turn"] for r in rows] == [1, 2, 3]


def test_inference_keeps_projects_apart(tmp_path):
    calls = recordings.load("llm_conversation_20_turns")[:4]
    exchanges = [recordings.exchange(c, 1_800_000_000.0 + i, "billing" if i % 2 else "search") for i, c in enumerate(calls)]
    rows = recordings.replay(tmp_path / "traces.db", exchanges)
    search = {r["session_id"] for r in rows if r["project"] == "search"}
    billing = {r["session_id"] for r in rows if r["project"] == "billing"}
    assert search and billing and not search & billing
    assert rows[2]["previous_trace_id"] == rows[0]["id"]  # the nearest earlier turn of its own project


def test_previous_response_id_joins_the_session_that_produced_it(tmp_path):
    first, second = recordings.load("openai_agents_20_turns")[:2]
    db = tmp_path / "traces.db"
    response_id = json.loads(recordings.replay(db, [recordings.exchange(recordings.without_ids(first), 1.8e9)])[0]["response_body"])["id"]
    body = json.loads(second["request_body"])
    body["input"] = body["input"][-1:]  # with server-side state a client sends only the new item
    body["previous_response_id"] = response_id
    body.pop("prompt_cache_key", None)
    chained = {**second, "request_body": json.dumps(body)}
    rows = recordings.replay(db, [recordings.exchange(chained, 1.8e9 + 1)])
    assert rows[1]["session_id"] == rows[0]["session_id"]
    assert rows[1]["session_source"] == "previous_response_id" and rows[1]["session_turn"] == 2


@pytest.mark.parametrize("name", [*TWENTY_TURNS, "claude_code_two_processes", "claude_code_forks"])
def test_context_split_sums_to_the_providers_input_tokens(tmp_path, name):
    rows, _ = _replay(tmp_path, [name])
    for row in rows:
        split = json.loads(row["context_tokens"])
        assert sum(split[p] for p in PARTS) == row["input_tokens"], row["id"]
        assert split["estimated"] is False
    later = [json.loads(r["context_tokens"]) for r in rows if r["session_turn"] and r["session_turn"] > 1]
    assert all(s["earlier_turns"] > 0 for s in later)  # a continued turn resends earlier turns
    first = json.loads(rows[0]["context_tokens"])
    assert first["earlier_turns"] == 0


def test_context_split_is_an_estimate_without_usage_and_limits_are_known(tmp_path):
    rows, _ = _replay(tmp_path, ["claude_code_20_turns"])
    # claude-opus-4-8: genai-prices 0.2 knows it (1M), 0.0.61 (Python 3.11) does not: the fallback's 200k
    assert {r["context_limit"] for r in rows} == {context_limit("anthropic", "claude-opus-4-8")}
    assert context_limit("anthropic", "claude-opus-4-8") in (200_000, 1_000_000)
    assert context_limit("anthropic", "claude-future-9") == 200_000
    call = recordings.load("langchain_20_turns")[0]
    no_usage = {**call, "response_body": "\n".join(
        line for line in call["response_body"].split("\n") if '"usage"' not in line)}  # fmt: skip
    row = recordings.replay(tmp_path / "other.db", [recordings.exchange(no_usage, 1.8e9)])[0]
    assert row["input_tokens"] is None
    split = json.loads(row["context_tokens"])
    assert split["estimated"] is True and split["new_input"] > 0
    assert row["context_limit"] == 128_000  # gpt-4o-mini, from genai-prices' model data


@pytest.mark.parametrize("name", [*TWENTY_TURNS, "claude_code_two_processes"])
def test_incremental_hashing_equals_hashing_from_scratch(name):
    warm = RequestHasher()
    families = {"/v1/messages": "anthropic_messages", "/v1/responses": "openai_responses",
                "/v1/chat/completions": "openai_chat"}  # fmt: skip
    reused = 0
    for call in recordings.load(name):
        family = families[call["path"]]
        incremental = warm.hash_request(family, call["request_body"])
        cold = RequestHasher().hash_request(family, call["request_body"])
        assert incremental.hashes == cold.hashes and incremental.prefixes == cold.prefixes
        assert incremental.sizes == cold.sizes and incremental.values == cold.values
        reused += incremental.reused
    assert reused > 0  # later turns reused the work done for earlier ones
