"""The recording proxy end to end: official SDKs → `r4u proxy start` (a real subprocess) → simulator.

Each test tags its call with an `x-test-id` header and then checks the trace row column by column.
"""

from __future__ import annotations

import json

from support.proxy import run_app

OPENAI_SYNC = """
import json, openai
client = openai.OpenAI()
r = client.chat.completions.create(
    model="gpt-4o", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}],
    extra_headers={"x-test-id": "MARKER"})
print(json.dumps({"text": r.choices[0].message.content, "usage": r.usage.model_dump(), "model": r.model}))
"""


def test_openai_sdk_sync_chat_recorded_column_by_column(proxy, marker):
    out = json.loads(run_app(OPENAI_SYNC.replace("MARKER", marker), proxy.env()).stdout)
    row = proxy.row_for(marker)
    assert row["provider"] == "openai" and row["operation"] == "chat"
    assert row["method"] == "POST"
    assert row["url"] == "https://api.openai.com/v1/chat/completions"
    assert (row["host"], row["path"]) == ("api.openai.com", "/v1/chat/completions")
    assert row["status_code"] == 200 and row["stream"] == 0 and row["error"] is None
    assert row["request_model"] == "gpt-4o" and row["response_model"] == out["model"]
    assert row["input_tokens"] == out["usage"]["prompt_tokens"]
    assert row["output_tokens"] == out["usage"]["completion_tokens"]
    assert row["cache_read_tokens"] == 0 and row["reasoning_tokens"] == 0
    assert row["finish_reason"] == "stop"
    assert row["completion_text"] == out["text"]
    assert "Be brief." in row["prompt_text"] and "Say hi" in row["prompt_text"]
    assert json.loads(row["request_body"])["messages"][1]["content"] == "Say hi"
    assert json.loads(row["response_body"])["choices"][0]["message"]["content"] == out["text"]
    assert 0 < row["ttft_ms"] <= row["latency_ms"] < 5000
    assert row["cost_usd"] is not None and row["cost_usd"] > 0  # gpt-4o has a published price
    assert row["started_at"].endswith("Z") and len(row["id"]) == 26


def test_secrets_never_reach_disk(proxy, marker):
    run_app(OPENAI_SYNC.replace("MARKER", marker), proxy.env())
    row = proxy.row_for(marker)
    headers = json.loads(row["request_headers"])
    assert "0123456789abcdefSECRET" not in headers["authorization"]
    assert headers["authorization"].startswith("Bearer sk-")
    raw = proxy.db.read_bytes() + (proxy.db.parent / "traces.db-wal").read_bytes()
    assert b"0123456789abcdefSECRET" not in raw


def test_openai_sdk_async_stream_passes_and_is_recorded(proxy, marker):
    code = """
    import asyncio, json, openai
    async def main():
        client = openai.AsyncOpenAI()
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Count"}], stream=True,
            stream_options={"include_usage": True},
            extra_headers={"x-test-id": "MARKER", "x-sim-fixture": "openai_chat/gpt4o_text_plain.sse"})
        text, chunks = "", 0
        async for chunk in stream:
            chunks += 1
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
        print(json.dumps({"text": text, "chunks": chunks}))
    asyncio.run(main())
    """
    out = json.loads(run_app(code.replace("MARKER", marker), proxy.env()).stdout)
    row = proxy.row_for(marker)
    assert row["stream"] == 1 and row["status_code"] == 200
    assert out["text"] and row["completion_text"] == out["text"]
    assert row["chunk_count"] >= 1 and "data: [DONE]" in row["response_raw"]
    assert row["response_model"].startswith("gpt-4o")
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0
    assert json.loads(row["response_body"])["object"] == "chat.completion"


def test_anthropic_sdk_plain_and_stream(proxy, marker):
    code = """
    import json, anthropic
    client = anthropic.Anthropic()
    m = client.messages.create(model="claude-sonnet-4-20250514", max_tokens=50,
        messages=[{"role": "user", "content": "Hello"}], extra_headers={"x-test-id": "MARKER-plain"})
    with client.messages.stream(model="claude-sonnet-4-20250514", max_tokens=50,
            messages=[{"role": "user", "content": "Weather?"}],
            extra_headers={"x-test-id": "MARKER-stream",
                           "x-sim-fixture": "anthropic_messages/sdk_tool_use_get_weather.sse"}) as s:
        final = s.get_final_message()
    print(json.dumps({"plain": m.content[0].text, "stream_text": final.content[0].text,
                      "tool_input": final.content[1].input, "stop": final.stop_reason,
                      "out": final.usage.output_tokens}))
    """
    out = json.loads(run_app(code.replace("MARKER", marker), proxy.env()).stdout)
    plain = proxy.row_for(f"{marker}-plain")
    assert (plain["provider"], plain["operation"], plain["stream"]) == ("anthropic", "messages", 0)
    assert plain["completion_text"] == out["plain"] and plain["output_tokens"] > 0
    headers = json.loads(plain["request_headers"])
    api_key = headers.get("x-api-key") or headers["authorization"]  # anthropic 2.x sends a Bearer token
    assert "SECRET" not in api_key and "sk-ant-" in api_key and " #" in api_key
    streamed = proxy.row_for(f"{marker}-stream")
    assert streamed["stream"] == 1 and streamed["finish_reason"] == out["stop"] == "tool_use"
    assert out["stream_text"] in streamed["completion_text"]
    assert streamed["output_tokens"] == out["out"]
    body = json.loads(streamed["response_body"])
    assert body["content"][1]["input"] == out["tool_input"]


def test_non_llm_host_is_tunnelled_untouched(proxy, sim, marker):
    """A host r4u does not intercept: the client sees the server's own certificate, no trace."""
    code = f"""
    import httpx
    # trust ONLY the simulator's CA: r4u's certificate would fail verification
    with httpx.Client(proxy="{proxy.url}", verify="{sim.ca_path}") as c:
        r = c.post("https://localhost:{sim.port}/v1/chat/completions",
                   json={{"model": "gpt-4o", "messages": [{{"role": "user", "content": "x"}}]}},
                   headers={{"x-test-id": "{marker}"}})
        print(r.status_code)
    """
    assert run_app(code, proxy.env()).stdout.strip() == "200"
    assert proxy.wait_rows("json_extract(request_headers, '$.\"x-test-id\"') = ?", (marker,), timeout=1) == []
