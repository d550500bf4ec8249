"""Streams through the real proxy: every recorded fixture, cut at random byte boundaries and one byte at a
time, arrives at the app byte for byte and is stored exactly as the offline reassembly (which
test_reassembly.py checks field for field against the official SDKs' own stream helpers).
Plus real time-to-first-token, broken streams and bounded memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.proxy import run_app, simulator_args, start_proxy
from support.streams import analyze_recorded, is_stream_fixture, recorded_status, replay_target
from support.upstream import FIXTURES_DIR as FIXTURES
from support.upstream import manifest

MANIFEST = manifest()
PER_BYTE_MAX = 8192


REPLAY = """
import hashlib, json, sys, httpx
calls = json.loads(sys.stdin.read())
out = {}
with httpx.Client(timeout=60) as client:
    for call in calls:
        request = client.build_request(call["method"], call["url"], headers=call["headers"],
                                       json=call["body"] if call["method"] == "POST" else None)
        response = client.send(request, stream=True)
        data = b"".join(response.iter_raw())
        out[call["headers"]["x-test-id"]] = hashlib.sha256(data).hexdigest()
print(json.dumps(out))
"""


@pytest.mark.parametrize("split", ["random:7", "random:2026", "1"])
@pytest.mark.timeout(900)  # split "1" writes every fixture a byte at a time: > 300 s at load 11 on 2 cores
def test_every_fixture_through_the_proxy_at_any_byte_boundary(proxy, plain_sim, marker, split):
    import hashlib
    import subprocess

    from support.proxy import APP_PYTHON

    calls, expected = [], {}
    # One write per byte costs a proxy round of work per byte: the per-byte cut replays the recordings up
    # to 8 KB (most of them, every family); the random cuts (1-64 bytes) replay every recording.
    entries = [e for e in MANIFEST if split != "1" or int(e["bytes"]) <= PER_BYTE_MAX]
    assert {e["provider"] for e in entries} == {e["provider"] for e in MANIFEST}
    for entry in entries:
        method, url, host, path, body = replay_target(entry, plain_sim.port)
        test_id = f"{marker}-{entry['file']}"
        headers = {"x-test-id": test_id, "x-sim-fixture": entry["file"], "x-sim-split": split,
                   "accept-encoding": "identity", "x-sim-status": str(recorded_status(entry))}  # fmt: skip
        calls.append({"method": method, "url": url, "body": body, "headers": headers})
        expected[test_id] = (entry, host, path)
    result = subprocess.run(
        [str(APP_PYTHON), "-c", REPLAY], input=json.dumps(calls), env=proxy.env(), capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    received = json.loads(result.stdout)

    for test_id, (entry, host, path) in expected.items():
        raw = (FIXTURES / entry["file"]).read_bytes()
        assert received[test_id] == hashlib.sha256(raw).hexdigest(), f"{entry['file']}: bytes changed in transit"
        row = proxy.row_for(test_id, timeout=30)
        sent = json.dumps(calls[0]["body"]).encode() if entry["endpoint"].startswith("POST") else b""
        offline = analyze_recorded(host, path, raw, sent, name=entry["file"], status=recorded_status(entry))
        assert row["stream"] == int(bool(offline["stream"])), entry["file"]
        for column in ("response_body", "response_raw", "completion_text", "finish_reason", "response_model",
                       "request_model", "input_tokens", "output_tokens", "cache_read_tokens", "reasoning_tokens",
                       "error"):  # fmt: skip
            assert row[column] == offline.get(column), f"{entry['file']}: {column} differs when split {split}"
        if is_stream_fixture(entry["file"]) and not entry["file"].endswith(".eventstream"):
            assert row["response_raw"] == raw.decode("utf-8"), entry["file"]


def test_ttft_is_first_content_not_first_byte(proxy, marker):
    """The role chunk comes at once, the first content 300 ms later: TTFT ≈ 300 ms, not ≈ 0."""
    code = """
    import openai
    stream = openai.OpenAI().chat.completions.create(model="gpt-4o", stream=True,
        messages=[{"role": "user", "content": "tell me"}],
        extra_headers={"x-test-id": "MARKER", "x-sim-events": "5", "x-sim-first-delay-ms": "300"})
    for _ in stream:
        pass
    """
    run_app(code.replace("MARKER", marker), proxy.env())
    row = proxy.row_for(marker)
    timeline = json.loads(row["stream_timeline"])
    assert timeline[0][0] < 150  # the first bytes (the role chunk) came at once
    assert 290 <= row["ttft_ms"] < 700, row["ttft_ms"]
    assert row["max_chunk_gap_ms"] >= 280
    assert row["chunk_count"] == len(timeline) >= 3
    assert row["output_tokens_per_s"] is None or row["output_tokens_per_s"] > 0


def test_client_disconnect_mid_stream_keeps_the_partial_answer(proxy, marker):
    code = """
    import httpx
    with httpx.stream("POST", "https://api.openai.com/v1/chat/completions", timeout=30,
                      json={"model": "gpt-4o", "messages": [], "stream": True},
                      headers={"x-test-id": "MARKER", "x-sim-fixture": "openai_chat/gpt4o_json_object_long.sse",
                               "x-sim-gap-ms": "20"}) as r:
        for i, line in enumerate(r.iter_lines()):
            if i > 20:
                break  # the app gives up: closes the connection mid-stream
    """
    run_app(code.replace("MARKER", marker), proxy.env())
    row = proxy.row_for(marker)
    assert "client disconnected" in row["error"]
    assert row["stream"] == 1 and row["completion_text"]  # what had arrived, reassembled
    full = (FIXTURES / "openai_chat/gpt4o_json_object_long.sse").read_text()
    assert full.startswith(row["response_raw"]) and len(row["response_raw"]) < len(full)


def test_error_event_inside_a_stream_is_recorded(proxy, marker):
    code = """
    import httpx
    with httpx.stream("POST", "https://api.groq.com/openai/v1/chat/completions", timeout=30,
                      json={"model": "openai/gpt-oss-120b", "messages": [], "stream": True},
                      headers={"x-test-id": "MARKER",
                               "x-sim-fixture": "other/groq_gpt_oss_120b_reasoning_then_error_event.sse"}) as r:
        r.read()
    """
    run_app(code.replace("MARKER", marker), proxy.env())
    row = proxy.row_for(marker)
    assert row["status_code"] == 200 and row["provider"] == "openai_compatible"
    assert row["error"].startswith("invalid_request_error: Tool call validation failed")


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_200mb_stream_passes_with_memory_bounded_by_the_capture_cap(sim, tmp_path, marker):
    proxy = start_proxy(tmp_path / "home", "--no-ui", "--no-grouping", "--capture-cap", "10MB", *simulator_args(sim))
    try:
        warm = """
        import openai
        openai.OpenAI().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        """
        run_app(warm, proxy.env())
        before = _peak_rss_kb(proxy.process.pid)
        code = """
        import httpx, time
        n = 0
        t0 = time.perf_counter()
        with httpx.stream("POST", "https://api.openai.com/v1/chat/completions", timeout=300,
                          json={"model": "gpt-4o", "messages": [], "stream": True},
                          headers={"x-test-id": "MARKER", "x-sim-events": "2000", "x-sim-pad-bytes": "100000",
                                   "accept-encoding": "identity"}) as r:
            for chunk in r.iter_raw():
                n += len(chunk)
        print(n, time.perf_counter() - t0)
        """
        out = run_app(code.replace("MARKER", marker), proxy.env(), timeout=600).stdout.split()
        passed = int(out[0])
        assert passed > 200_000_000
        row = proxy.row_for(marker, timeout=60)
        grown_mb = (_peak_rss_kb(proxy.process.pid) - before) / 1024
        print(f"200 MB stream: {passed / 1e6:.0f} MB in {float(out[1]):.1f} s, proxy peak RSS grew {grown_mb:.1f} MB")
        assert row["body_truncated"] == 1 and row["response_bytes"] == passed
        assert "capture cap" in row["parse_note"]
        # The copy goes to the writer process 256 KB at a time as it arrives, out of band (no pickle copy);
        # the proxy keeps what it handed over until the writer confirms the commit, so that a writer that
        # dies loses nothing: the capped copy once (10 MB) and little else (measured +13 MB; before
        # supervision, when a writer crash lost the copy, +2.4 MB; before spilling, +23 MB).
        assert grown_mb < 10 * 1.6, grown_mb  # the capture cap, held once
    finally:
        proxy.stop()
