"""Never break the app: odd bodies pass byte for byte, upstream failures become rows, bad input exits 2."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import textwrap
import time

import pytest
from support.proxy import APP_PYTHON, r4u_cmd, run_app, simulator_args, start_proxy

FETCH_RAW = """
import hashlib, json, httpx
with httpx.Client(timeout=30) as c:
    r = c.post("https://api.openai.com/v1/chat/completions", json={"model": "gpt-4o", "messages": []},
               headers={"x-test-id": "MARKER", "x-sim-body": "KIND", "accept-encoding": "identity"})
print(json.dumps({"status": r.status_code, "sha": hashlib.sha256(r.content).hexdigest(), "n": len(r.content),
                  "ctype": r.headers.get("content-type")}))
"""


def _direct_body(sim, kind: str) -> bytes:
    import ssl

    import httpx

    with httpx.Client(verify=ssl.create_default_context(cafile=str(sim.ca_path))) as client:
        r = client.post(
            sim.url("/v1/chat/completions"), json={"model": "gpt-4o", "messages": []},
            headers={"x-sim-body": kind, "accept-encoding": "identity"},
        )  # fmt: skip
    return r.content


@pytest.mark.parametrize("kind", ["binary-2mb", "not-json"])
def test_unparseable_body_passes_byte_for_byte_and_is_noted(proxy, sim, marker, kind):
    direct = _direct_body(sim, kind)
    out = json.loads(run_app(FETCH_RAW.replace("MARKER", marker).replace("KIND", kind), proxy.env()).stdout)
    assert out["sha"] == hashlib.sha256(direct).hexdigest() and out["n"] == len(direct)
    row = proxy.row_for(marker)
    assert row["status_code"] == out["status"]
    assert row["response_bytes"] == len(direct)
    assert "not JSON" in row["parse_note"] or "not json" in row["parse_note"].lower()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_upstream_failures_are_recorded_as_error_rows(sim, tmp_path, marker):
    closed = _free_port()  # nothing listens here: connect fails
    proxy = start_proxy(
        tmp_path / "home", "--no-ui", "--no-grouping", "--upstream-ca", str(sim.ca_path),
        "--resolve", f"api.mistral.ai=127.0.0.1:{closed}",
        "--resolve", f"api.x.ai=127.0.0.1:{sim.port}",  # the simulator's certificate does not name api.x.ai
        "--resolve", f"api.openai.com=127.0.0.1:{sim.port}",
    )  # fmt: skip
    try:
        code = """
        import httpx
        for host, tag in (("api.mistral.ai", "connect"), ("api.x.ai", "tls")):
            try:
                httpx.post(f"https://{host}/v1/chat/completions", json={"model": "m", "messages": []},
                           headers={"x-test-id": "MARKER-" + tag}, timeout=20)
            except Exception:
                pass
        try:  # the upstream resets the connection after 300 bytes of the stream
            with httpx.stream("POST", "https://api.openai.com/v1/chat/completions", timeout=20,
                              json={"model": "gpt-4o", "messages": [], "stream": True},
                              headers={"x-test-id": "MARKER-reset", "x-sim-reset-after": "300",
                                       "x-sim-fixture": "openai_chat/gpt4o_json_object_long.sse"}) as r:
                for _ in r.iter_bytes():
                    pass
        except Exception:
            pass
        """
        run_app(code.replace("MARKER", marker), proxy.env())
        connect = proxy.row_for(f"{marker}-connect")
        assert connect["status_code"] is None and connect["error"].startswith("upstream connect failed")
        tls = proxy.row_for(f"{marker}-tls")
        assert tls["status_code"] is None and "TLS" in tls["error"]
        reset = proxy.row_for(f"{marker}-reset")
        assert reset["status_code"] == 200 and "mid-response" in reset["error"]
        assert reset["stream"] == 1 and 0 < reset["response_bytes"] <= 300 + 100
        assert reset["response_raw"].startswith("data: ")
    finally:
        proxy.stop()


def test_stream_is_not_buffered(proxy, marker):
    """50 events 20 ms apart: the app sees the first event long before the stream ends."""
    code = """
    import json, time, httpx
    client = httpx.Client(timeout=30)
    client.post("https://api.openai.com/v1/chat/completions", json={"model": "gpt-4o", "messages": []})
    t0 = time.perf_counter()  # on the warm connection: a loaded machine's TLS set-up is not what is timed
    with client.stream("POST", "https://api.openai.com/v1/chat/completions",
                      json={"model": "gpt-4o", "messages": [{"role": "user", "content": "go"}], "stream": True},
                      headers={"x-test-id": "MARKER", "x-sim-events": "50", "x-sim-gap-ms": "20"}) as r:
        first = last = None
        for line in r.iter_lines():
            if line.startswith("data:"):
                last = time.perf_counter() - t0
                first = last if first is None else first
        total = time.perf_counter() - t0
    print(json.dumps({"first": first, "last": last, "total": total}))
    """
    out = json.loads(run_app(code.replace("MARKER", marker), proxy.env()).stdout)
    assert out["total"] > 0.9  # 50 gaps of 20 ms
    # Buffering would hand the app every event at once; streamed, they arrive over the ~1 s the upstream took.
    # (Measured from the first event, not the request: on a loaded machine connecting alone can take seconds.)
    assert out["last"] - out["first"] > 0.5, out
    row = proxy.row_for(marker)
    assert row["chunk_count"] >= 40 and row["latency_ms"] >= 900
    assert row["max_chunk_gap_ms"] >= 15


def test_plain_http_openai_style_call_is_recorded(proxy, marker):
    """A local model server over plain HTTP (e.g. Ollama's OpenAI API) on any host."""
    from r4u_proxy.simulator.simulator import Simulator

    with Simulator(tls=False) as local:
        port = local.port
        code = f"""
        import httpx
        r = httpx.post("http://127.0.0.1:{local.port}/v1/chat/completions", timeout=20,
                       json={{"model": "llama3", "messages": [{{"role": "user", "content": "hi"}}]}},
                       headers={{"x-test-id": "{marker}"}})
        assert r.status_code == 200, r.text
        """
        run_app(code, proxy.env())
    row = proxy.row_for(marker)
    assert (row["provider"], row["operation"], row["request_model"]) == ("openai_compatible", "chat", "llama3")
    assert row["url"] == f"http://127.0.0.1:{port}/v1/chat/completions"


def test_project_from_proxy_url_user_part(proxy, marker):
    code = """
    import openai
    openai.OpenAI().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}],
                                            extra_headers={"x-test-id": "MARKER"})
    """
    run_app(code.replace("MARKER", marker), proxy.env(project="billing-bot"))
    row = proxy.row_for(marker)
    assert row["project"] == "billing-bot"
    assert "proxy-authorization" not in json.loads(row["request_headers"])


def test_first_start_creates_home_ca_and_bundle(proxy):
    home = proxy.home
    key = home / "ca" / "mitmproxy-ca.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (home / "ca").stat().st_mode & 0o077 == 0
    bundle = (home / "ca-bundle.pem").read_text()
    ca_cert = (home / "ca" / "mitmproxy-ca-cert.pem").read_text().strip()
    assert ca_cert in bundle and bundle.count("BEGIN CERTIFICATE") > 50  # the usual roots are kept
    assert "PRIVATE KEY" not in bundle


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resolve", "api.openai.com"], "--resolve"),
        (["--resolve", "api.openai.com=127.0.0.1:99999"], "port"),
        (["--upstream-ca", "/nonexistent/ca.pem"], "no such file"),
        (["--intercept", "bad host!"], "--intercept"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = subprocess.run(
        r4u_cmd("proxy", "start", "--home", str(tmp_path), "--no-ui", "--port", "0", *args),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "proxy.json").exists()


def test_unreadable_upstream_ca_is_exit_2(tmp_path):
    pem = tmp_path / "ca.pem"
    pem.write_text("this is not a certificate")
    result = subprocess.run(
        r4u_cmd("proxy", "start", "--home", str(tmp_path), "--no-ui", "--upstream-ca", str(pem)),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and "not a PEM certificate" in result.stderr


@pytest.mark.parametrize(("flags", "what", "flag"), [(["--no-ui", "--port"], "proxy", "--port"),
                                                     (["--port", "0", "--ui-port"], "UI", "--ui-port")])  # fmt: skip
def test_busy_port_is_exit_2_names_its_flag_and_nothing_half_started(proxy, tmp_path, flags, what, flag):
    result = subprocess.run(
        r4u_cmd("proxy", "start", "--home", str(tmp_path), *flags, str(proxy.port)),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"r4u: error: {what} port 127.0.0.1:{proxy.port} is already in use (pick another with {flag})"
    ]
    assert not (tmp_path / "proxy.json").exists()


def test_ctrl_c_flushes_every_trace_including_a_stream_still_open(sim, tmp_path, marker):
    proxy = start_proxy(tmp_path / "home", "--no-ui", "--no-grouping", *simulator_args(sim))
    code = """
    import httpx
    # 30 quick calls, then one stream that never ends
    with httpx.Client(timeout=30) as c:
        for i in range(30):
            c.post("https://api.openai.com/v1/chat/completions", headers={"x-test-id": f"MARKER-{i}"},
                   json={"model": "gpt-4o", "messages": [{"role": "user", "content": str(i)}]})
    with httpx.stream("POST", "https://api.openai.com/v1/chat/completions", timeout=30,
                      json={"model": "gpt-4o", "messages": [], "stream": True},
                      headers={"x-test-id": "MARKER-hang", "x-sim-hang": "1"}) as r:
        print("streaming", flush=True)
        for line in r.iter_lines():
            pass
    """
    app = subprocess.Popen(
        [str(APP_PYTHON), "-c", textwrap.dedent(code).replace("MARKER", marker)],
        env=proxy.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first_line = app.stdout.readline().strip()
        assert first_line == "streaming", first_line or app.stderr.read()
        time.sleep(0.3)
        assert proxy.stop() == 0
    finally:
        proxy.stop()
        app.kill()
        app.wait()
    rows = proxy.rows("json_extract(request_headers, '$.\"x-test-id\"') like ?", (f"{marker}-%",))
    assert len(rows) == 31
    hung = next(r for r in rows if r["request_headers"].count(f"{marker}-hang"))
    assert hung["error"] == "proxy stopped before the response ended"
    assert hung["stream"] == 1 and hung["response_raw"].startswith("data:")
    assert not (proxy.home / "proxy.json").exists()


def test_intercept_adds_hosts_and_only_llm_paths_are_recorded(sim, tmp_path, marker):
    proxy = start_proxy(
        tmp_path / "home", "--no-ui", "--no-grouping", *simulator_args(sim, ("example.test", "api.openai.com")),
        "--intercept", "*.test",
    )  # fmt: skip
    try:
        code = """
        import httpx
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}
        httpx.post("https://example.test/v1/chat/completions", json=body, headers={"x-test-id": "MARKER-gw"})
        httpx.get("https://api.openai.com/health", headers={"x-test-id": "MARKER-health"})
        """
        run_app(code.replace("MARKER", marker), proxy.env())
        gateway = proxy.row_for(f"{marker}-gw")
        assert (gateway["host"], gateway["provider"]) == ("example.test", "openai_compatible")
        assert proxy.wait_rows("request_headers like ?", (f"%{marker}-health%",), timeout=1) == []
    finally:
        proxy.stop()


def test_an_upstream_that_never_answers_is_recorded_when_the_app_times_out(proxy, marker):
    code = """
    import httpx
    try:
        httpx.post("https://api.openai.com/v1/chat/completions", timeout=1.0,
                   json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
                   headers={"x-test-id": "MARKER", "x-sim-headers-delay-ms": "4000"})
    except httpx.TimeoutException:
        print("timed out")
    """
    assert run_app(code.replace("MARKER", marker), proxy.env()).stdout.strip() == "timed out"
    row = proxy.row_for(marker)
    assert row["status_code"] is None
    assert row["error"].startswith("client disconnected before the response")
    assert 900 <= row["latency_ms"] < 3900  # recorded when the app gave up, not when the upstream woke
