"""`r4u export` on a database recorded through the real proxy: OTLP to a decoding receiver (10k traces in
one run; sessions as one trace each), OTLP/JSON lines, JSONL with every column, and HAR 1.2 validated
against the HAR schema with streams as their raw recorded bytes."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import referencing
from support.export_calls import CALLS, send_calls
from support.otlp_receiver import OtlpReceiver, decode, parse_json
from support.upstream import fixture_bytes

from r4u_proxy.export.spans import session_span_id, session_trace_id

HAR_SCHEMA = Path(__file__).parent / "data" / "har-schema"


def r4u(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "r4u_proxy", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def recorded(proxy, tmp_path_factory) -> Path:
    """A copy of the session proxy's database holding this module's five calls (project `export-test`),
    two of them in a session and one in a sub-agent session of it, as issue-13's columns would say."""
    send_calls(proxy.env(project="export-test"), "batch")
    proxy.wait_rows("project = 'export-test'", (), len(CALLS))
    time.sleep(0.3)
    copy = tmp_path_factory.mktemp("export") / "traces.db"
    source = sqlite3.connect(proxy.db)
    with sqlite3.connect(copy) as target:
        source.backup(target)
    source.close()
    conn = sqlite3.connect(copy)
    with conn:
        rows = [r[0] for r in conn.execute("SELECT id FROM traces WHERE project = 'export-test' ORDER BY rowid")]
        conn.execute("UPDATE traces SET session_id = 'run-1', client_name = 'claude-code' WHERE id IN (?, ?)", rows[:2])
        conn.execute("UPDATE traces SET session_id = 'run-1-sub', parent_session_id = 'run-1' WHERE id = ?", (rows[2],))
    conn.close()
    return copy


def test_otlp_batch_sessions_are_one_trace_rooted_in_the_session(recorded):
    with OtlpReceiver() as receiver:
        result = r4u("export", "--format", "otlp", "--db", str(recorded), "--project", "export-test",
                     "--endpoint", receiver.url, "--content", "span")  # fmt: skip
        assert result.returncode == 0, result.stderr
        spans = list(receiver.spans().values())
    assert "sent 9 spans" in result.stderr  # five calls and four session roots (the last two: one call each)
    conn = sqlite3.connect(recorded)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM traces WHERE project = 'export-test' ORDER BY rowid")]
    by_trace = {s["attributes"].get("r4u.trace.id"): s for s in spans}
    run = session_trace_id("run-1").hex()
    for row in rows[:3]:
        span = by_trace[row["id"]]
        assert span["trace_id"] == run  # the sub-agent's call too: one agent run, one trace
        assert span["parent_span_id"] == session_span_id(row["session_id"]).hex()
        assert span["attributes"]["gen_ai.conversation.id"] == row["session_id"]
    for row in rows[3:]:  # calls the tracker gave a session of their own: a trace of their own
        span = by_trace[row["id"]]
        assert span["trace_id"] == session_trace_id(row["session_id"]).hex() != run
        assert span["parent_span_id"] == session_span_id(row["session_id"]).hex()
    roots = {s["attributes"]["gen_ai.conversation.id"]: s for s in spans if s["name"].startswith("invoke_agent")}
    assert set(roots) == {"run-1", "run-1-sub", rows[3]["session_id"], rows[4]["session_id"]}
    root = roots["run-1"]
    assert root["name"] == "invoke_agent claude-code" and root["parent_span_id"] is None
    assert root["span_id"] == session_span_id("run-1").hex() and root["trace_id"] == run
    assert root["attributes"]["gen_ai.usage.input_tokens"] == rows[0]["input_tokens"] + rows[1]["input_tokens"]
    assert root["attributes"]["r4u.calls"] == 2
    assert root["start_ns"] <= by_trace[rows[0]["id"]]["start_ns"] and root["end_ns"] >= by_trace[rows[1]["id"]]["end_ns"]
    sub = roots["run-1-sub"]
    assert sub["trace_id"] == run and sub["parent_span_id"] == root["span_id"]
    assert all(s["resource"]["service.name"] == "export-test" for s in spans)


def test_otlp_without_endpoint_writes_otlp_json_lines_and_json_encoding_posts(recorded, tmp_path):
    out = tmp_path / "spans.jsonl"
    result = r4u("export", "--format", "otlp", "--db", str(recorded), "--project", "export-test", "-o", str(out))
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    spans = [s for line in lines for s in decode(parse_json(line.encode()))]
    assert len(spans) == 9 and all(len(s["trace_id"]) == 32 and len(s["span_id"]) == 16 for s in spans)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    with OtlpReceiver() as receiver:
        result = r4u("export", "--format", "otlp", "--db", str(recorded), "--project", "export-test",
                     "--endpoint", receiver.url, "--encoding", "json")  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert receiver.requests[0]["headers"]["Content-Type"] == "application/json"
        assert {s["span_id"] for s in receiver.spans().values()} == {s["span_id"] for s in spans}


def test_ten_thousand_traces_in_one_batch_run(recorded, tmp_path, capsys):
    big = tmp_path / "big.db"
    shutil.copy(recorded, big)
    conn = sqlite3.connect(big)
    with conn:  # 2,000 copies of the five recorded calls, each with an id of its own
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999) "
            "INSERT INTO traces (id, started_at, ended_at, project, provider, operation, method, url, host, path, "
            "status_code, request_model, response_model, stream, request_headers, response_headers, request_body, "
            "response_body, latency_ms, ttft_ms, input_tokens, output_tokens, cache_read_tokens, cost_usd, finish_reason, error) "
            "SELECT substr(t.id, 1, 20) || printf('%06d', n.i), started_at, ended_at, 'bulk', provider, operation, method, "
            "url, host, path, status_code, request_model, response_model, stream, request_headers, response_headers, "
            "request_body, response_body, latency_ms, ttft_ms, input_tokens, output_tokens, cache_read_tokens, cost_usd, "
            "finish_reason, error FROM traces t, n WHERE t.project = 'export-test'"
        )
    conn.close()
    with OtlpReceiver() as receiver:
        started = time.perf_counter()
        result = r4u("export", "--format", "otlp", "--db", str(big), "--project", "bulk", "--endpoint", receiver.url)
        seconds = time.perf_counter() - started
        assert result.returncode == 0, result.stderr
        spans = receiver.spans()
        assert len(spans) == 10_000 and not receiver.duplicates
        assert len(receiver.requests) == 20  # batches of 500
    with capsys.disabled():
        print(f"\n10,000 traces exported in {seconds:.1f} s ({10_000 / seconds:,.0f} traces/s, CLI start included)")


def test_jsonl_has_every_column_as_stored(recorded, tmp_path):
    out = tmp_path / "traces.jsonl"
    result = r4u("export", "--format", "jsonl", "--db", str(recorded), "--project", "export-test", "-o", str(out))
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(recorded)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM traces WHERE project = 'export-test' ORDER BY rowid")]
    assert [json.loads(line) for line in out.read_text().splitlines()] == rows


def har_validator() -> jsonschema.Draft6Validator:
    resources = [
        (path.name, referencing.Resource.from_contents(json.loads(path.read_text()), referencing.jsonschema.DRAFT6))
        for path in HAR_SCHEMA.glob("*.json")
    ]
    registry = referencing.Registry().with_resources(resources)
    return jsonschema.Draft6Validator({"$ref": "har.json#"}, registry=registry)


def test_har_is_valid_har_1_2_with_streams_as_recorded(recorded, tmp_path):
    out = tmp_path / "calls.har"
    result = r4u("export", "--format", "har", "--db", str(recorded), "--project", "export-test", "-o", str(out))
    assert result.returncode == 0, result.stderr
    har = json.loads(out.read_text())
    errors = sorted(har_validator().iter_errors(har), key=str)
    assert not errors, errors[:3]
    entries = har["log"]["entries"]
    assert har["log"]["version"] == "1.2" and len(entries) == len(CALLS)
    by_fixture = {call[3]: entry for call, entry in zip(CALLS, entries, strict=True)}
    for fixture, entry in by_fixture.items():
        if fixture is None:
            assert entry["response"]["status"] == 429 and entry["comment"]
            continue
        content = entry["response"]["content"]
        assert content["mimeType"].startswith("text/event-stream")
        assert content["text"] == fixture_bytes(fixture).decode()  # the recorded stream, byte for byte
        assert entry["request"]["postData"]["mimeType"] == "application/json"
        assert "SECRET" not in json.dumps(entry["request"]["headers"])
        timings = entry["timings"]
        assert timings["wait"] + timings["receive"] == pytest.approx(entry["time"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "Invalid value for '--format'"),
        (["--format", "jsonl", "--endpoint", "http://127.0.0.1:1/v1/traces"], "--endpoint is for --format otlp"),
        (["--format", "otlp", "--endpoint", "ftp://x"], "is not an http(s) URL"),
        (["--format", "otlp", "--header", "novalue"], "expected NAME=VALUE"),
        (["--format", "har", "--since", "yesterday-ish"], "cannot read --since"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(recorded, args, message):
    result = r4u("export", "--db", str(recorded), *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_receiver_down_in_a_batch_run_fails_clearly(recorded):
    with OtlpReceiver() as receiver:
        url = receiver.url
    result = r4u("export", "--format", "otlp", "--db", str(recorded), "--project", "export-test", "--endpoint", url,
                 "--attempts", "2")  # fmt: skip
    assert result.returncode == 1 and "spans could not be sent" in result.stderr and "Connection" in result.stderr


def test_proxy_start_refuses_a_bad_otlp_endpoint_before_starting(tmp_path):
    result = r4u("proxy", "start", "--home", str(tmp_path), "--port", "0", "--no-ui", "--otlp-endpoint", "localhost:4318")
    assert result.returncode == 2 and "is not an http(s) URL" in result.stderr
    assert not (tmp_path / "proxy.json").exists()
