"""Sessions through the real proxy: recorded agent traffic replayed byte for byte, and a live SDK tool loop.

The replays send each recorded request (its body and headers, User-Agent included) through `r4u proxy
start` to a simulator that answers with the response recorded for it (`x-sim-fixture`), so the writer sees
what it saw when the real client ran.
"""

from __future__ import annotations

import json
import ssl

import httpx
import pytest
from support import agent_recordings as recordings
from support.proxy import run_app, simulator_args, start_proxy

from r4u_proxy.simulator import Simulator

REPLAYED = ("claude_code_20_turns", "llm_conversation_20_turns", "openai_agents_20_turns")
SKIP_HEADERS = ("host", "content-length", "accept-encoding", "connection", "x-api-key", "authorization")


@pytest.fixture(scope="module")
def replay_rig(tmp_path_factory):
    """A simulator serving the recorded responses and a proxy in front of it, with every recording sent."""
    fixtures = tmp_path_factory.mktemp("recorded-responses")
    sent: dict[str, list[str]] = {}
    plan = []
    for name in REPLAYED:
        for i, call in enumerate(recordings.load(name)):
            suffix = ".sse" if "event-stream" in (call["response_content_type"] or "") else ".json"
            (fixtures / f"{name}-{i}{suffix}").write_text(call["response_body"], encoding="utf-8")
            plan.append((name, f"{name}-{i}{suffix}", call))
    with Simulator(tls=True, cert_dir=tmp_path_factory.mktemp("replay-ca"), fixtures_dir=fixtures) as sim:
        proxy = start_proxy(tmp_path_factory.mktemp("replay-home"), "--no-ui", "--no-grouping", *simulator_args(sim))
        try:
            trust = ssl.create_default_context(cafile=str(proxy.ca_bundle))
            with httpx.Client(proxy=proxy.url, verify=trust, timeout=30, trust_env=False) as client:
                for name, fixture, call in plan:
                    headers = {k: v for k, v in call["request_headers"].items() if k not in SKIP_HEADERS}
                    headers["x-sim-fixture"] = fixture
                    url = f"https://{call['host']}{call['path']}"
                    response = client.post(url, content=call["request_body"].encode(), headers=headers)
                    assert response.status_code == 200, response.text[:300]
                    sent.setdefault(name, []).append(fixture)
            rows = proxy.wait_rows("1=1", count=len(plan), timeout=30)
            yield rows, sent
        finally:
            proxy.stop()


@pytest.mark.parametrize("name", REPLAYED)
def test_recorded_sessions_replayed_through_the_proxy_land_as_one_session(replay_rig, name):
    rows, sent = replay_rig
    mine = [r for r in rows if json.loads(r["request_headers"])["x-sim-fixture"].startswith(name + "-")]
    assert len(mine) == len(sent[name])
    by_session: dict[str, list[dict]] = {}
    for row in mine:
        by_session.setdefault(row["session_id"], []).append(row)
    main = max(by_session.values(), key=len)
    assert len(main) == 20
    order = [int(json.loads(r["request_headers"])["x-sim-fixture"].rsplit("-", 1)[1].split(".")[0]) for r in main]
    assert order == sorted(order)  # trace order is send order
    assert [r["session_turn"] for r in main] == list(range(1, 21))
    assert all(r["client_name"] for r in main)


def test_a_live_sdk_tool_loop_is_one_session_and_x_r4u_session_is_stripped(proxy, sim, marker):
    loop = """
import json, openai
client = openai.OpenAI()
tools = [{"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
messages = [{"role": "user", "content": "Weather please. [sim-tool-plan=lookup*5]"}]
for _ in range(10):
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools,
                                           extra_headers={"x-test-id": "MARKER", "x-r4u-session": "SESSION"})
    message = reply.choices[0].message
    messages.append(message.model_dump(exclude_none=True))
    if not message.tool_calls:
        break
    for call in message.tool_calls:
        messages.append({"role": "tool", "tool_call_id": call.id, "content": "18 C"})
print(len(messages))
"""
    for session in (f"explicit-{marker}", ""):
        run_app(loop.replace("MARKER", marker + session).replace("SESSION", session), proxy.env(project="e2e"))
        rows = proxy.wait_rows("json_extract(request_headers, '$.\"x-test-id\"') = ?", (marker + session,), count=6)
        assert len(rows) == 6
        assert len({r["session_id"] for r in rows}) == 1
        assert [r["session_turn"] for r in rows] == [1, 2, 3, 4, 5, 6]
        assert rows[0]["session_source"] == ("x-r4u-session" if session else "new")
        if session:
            assert rows[0]["session_id"] == session
        assert {r["client_name"] for r in rows} == {rows[0]["client_name"]} and rows[0]["client_name"].startswith("OpenAI/Python")
    upstream = [r for r in sim.requests if r.header("x-test-id") == f"{marker}explicit-{marker}"]
    assert upstream and not any(r.header("x-r4u-session") for r in upstream)
    assert all("x-r4u-session" not in json.loads(r["request_headers"]) for r in proxy.rows())

