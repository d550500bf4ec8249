"""The UI as a process: `start_ui` (used by `r4u proxy start`), `r4u ui`, and `r4u demo`."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

from support.sample import make_sample_db

from r4u_proxy.paths import Home
from r4u_proxy.service.ui_server import start_ui

ROOT = Path(__file__).resolve().parents[1]


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_start_ui_serves_a_live_database_and_stops(tmp_path):
    db = tmp_path / "traces.db"
    make_sample_db(db)
    log = tmp_path / "ui.log"
    ui = start_ui(db, "127.0.0.1", 0, log)
    try:
        assert ui.wait_ready(30), log.read_text()
        status, html = fetch(ui.url)
        assert status == 200 and 'id="total-calls">24<' in html
        # not immutable: a row written now shows on the next request
        with sqlite3.connect(db) as conn:
            conn.execute(
                "insert into traces (id, started_at, provider) values ('new', strftime('%Y-%m-%dT%H:%M:%fZ'), 'openai')"
            )
        assert 'id="total-calls">25<' in fetch(ui.url)[1]
        # table pages stay fast: no facet suggestions (a query per column) on ~50 columns
        table = json.loads(fetch(ui.url + "traces/traces.json?_extra=suggested_facets&_size=1")[1])
        assert table["suggested_facets"] == []
        css_status, css = fetch(ui.url + "-/static-plugins/r4u/r4u.css")
        assert css_status == 200 and "r4u-chart" in css
    finally:
        ui.stop()
    assert ui.process.poll() is not None


def test_start_ui_creates_the_schema_for_a_new_file(tmp_path):
    ui = start_ui(tmp_path / "fresh" / "traces.db", "127.0.0.1", 0)
    try:
        assert ui.wait_ready(30)
        assert "No calls recorded" in fetch(ui.url)[1]
    finally:
        ui.stop()


def test_r4u_ui_refuses_a_busy_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "r4u_proxy", "ui", "--db", str(tmp_path / "t.db"), "--port", str(port)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode != 0
    assert f"UI port 127.0.0.1:{port} is already in use" in result.stderr


def test_demo_fills_a_fresh_database_through_the_proxy(tmp_path):
    """`r4u demo --no-serve`: real SDK calls (when .venv-app exists) through a real proxy to the simulator."""
    home = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "r4u_proxy", "demo", "--home", str(home), "--no-serve"],
        capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    assert "recorded in" in result.stdout
    with sqlite3.connect(Home(home).db) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("select * from traces")]
    assert len(rows) >= 30
    assert {r["provider"] for r in rows} == {"openai", "anthropic"}
    assert {r["project"] for r in rows} == {"demo"}
    assert sum(1 for r in rows if r["stream"]) >= 8
    assert sorted(r["status_code"] for r in rows if (r["status_code"] or 0) >= 400) == [429, 529]
    assert any("tool_calls" in (r["response_body"] or "") for r in rows)
    assert all(r["latency_ms"] for r in rows)
    expected_client = "sdk" if (ROOT / ".venv-app" / "bin" / "python").exists() else "httpx"
    assert f"with the {expected_client} client" in result.stdout
    # the proxy and simulator are gone: nothing left running in the demo home
    assert not (home / "proxy.json").exists()


def test_demo_falls_back_to_httpx_without_the_sdks(tmp_path):
    """This environment (the proxy's) has httpx but not the SDKs: the same calls go out as plain requests."""
    from r4u_proxy.demo import run_demo

    home = Home(tmp_path / "demo")
    summary = run_demo(home, python=sys.executable, echo=lambda _line: None, count=10)
    assert "10 calls made with the httpx client" in summary
    with sqlite3.connect(home.db) as conn:
        rows = conn.execute("select stream, status_code, request_model from traces").fetchall()
    assert len(rows) == 10
    assert {status for _, status, _ in rows} == {200}
    assert sum(stream for stream, _, _ in rows) == 2  # calls 9 and 10 are the streamed translations
