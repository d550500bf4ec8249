"""Prompts stay private to their owner: owner-only files with no secret in them, a UI that only answers
its owner's browser, and a proxy that, once it listens beyond loopback, wants a password and relays
nowhere into the machine.
"""

from __future__ import annotations

import base64
import http.client
import os
import random
import socket
import sqlite3
import stat
import string
import subprocess

import pytest
from support.faults import wait_for
from support.proxy import r4u_cmd, run_app, simulator_args, start_proxy

from r4u_proxy.ingest.redact import fingerprint


def _modes(root) -> dict[str, int]:
    found = {str(root): stat.S_IMODE(os.stat(root).st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            found[path] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)  # what most users have: new files 0644, folders 0755
    yield
    os.umask(old)


REQUEST_WITH_SECRETS = """
import httpx
r = httpx.post("https://api.openai.com/v1/chat/completions", timeout=30,
               headers={"x-test-id": "MARKER", "authorization": "Bearer KEY"},
               json={"model": "gpt-4o", "metadata": {"api_key": "OWNSECRET-1234567"}, "messages": [
                   {"role": "system", "content": "Call the weather tool with api key KEY."},
                   {"role": "user", "content": "employee id EMP-778899 asks: what is the weather?"},
                   {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
                       "name": "weather", "arguments": '{"city": "Paris", "password": "OWNSECRET-7654321"}'}}]},
                   {"role": "tool", "tool_call_id": "c1", "content": "sunny " + "and warm " * 100 + "(token KEY)"}]})
assert r.status_code == 200
"""


def test_what_a_proxy_writes_is_the_owners_alone_and_holds_no_secret(sim, tmp_path, marker, loose_umask):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "traces.db").write_bytes(b"")  # left by an older r4u, readable by everyone
    os.chmod(home / "traces.db", 0o644)
    key = "sk-proj-" + "".join(random.Random(3).choices(string.ascii_letters + string.digits + "-_", k=120))
    proxy = start_proxy(home, "--ui-port", "0", "--redact", r"EMP-\d{6}", *simulator_args(sim))  # UI, grouping on
    try:
        run_app(REQUEST_WITH_SECRETS.replace("MARKER", marker).replace("KEY", key), proxy.env())
        row = proxy.row_for(marker)
        assert fingerprint(key) in row["prompt_text"] and fingerprint(key) in row["request_body"]
        assert "EMP-778899" not in row["prompt_text"]
        # Stored through content storage: messages by hash, the long tool result as a string of its own.
        with sqlite3.connect(proxy.db) as conn:
            kinds = {k for (k,) in conn.execute("select kind from contents where trace_id = ?", (row["id"],))}
        assert {"shape", "message", "string"} <= kinds, kinds
        assert proxy.wait_rows("id = ? and task_id is not null", (row["id"],), timeout=30), "grouping did not run"
        modes = _modes(home)
        for name in ("traces.db", "traces.db-wal", "traces.db-shm", "proxy.json", "proxy-stats.json", "logs/ui.log",
                     "logs/grouping.log", "ca/mitmproxy-ca.pem", "ca-bundle.pem", "test-proxy.log"):  # fmt: skip
            assert str(home / name) in modes, name
        # test-proxy.log was made by this test before the proxy ran (0644): the proxy tightened it too
        assert {path: oct(mode) for path, mode in modes.items() if mode & 0o077} == {}
        assert all(mode == 0o700 for path, mode in modes.items() if os.path.isdir(path))
    finally:
        proxy.stop()
    for path in home.rglob("*"):  # the database, its WAL, the full-text index, logs, stats
        if path.is_file():
            data = path.read_bytes()
            for secret in (key, key[8:40], "OWNSECRET-1234567", "OWNSECRET-7654321", "EMP-778899"):
                assert secret.encode() not in data, (secret, path)


def _get(port: int, path: str, host: str | None = None, origin: str | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": host or f"127.0.0.1:{port}"}
    if origin:
        headers["Origin"] = origin
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    return response.status, response.read().decode(errors="replace")


def test_the_ui_refuses_foreign_hosts_and_origins_and_hides_introspection(tmp_path):
    from r4u_proxy.service.ui_server import start_ui

    ui = start_ui(tmp_path / "traces.db", "127.0.0.1", 0, tmp_path / "ui.log")
    try:
        assert ui.wait_ready(60), (tmp_path / "ui.log").read_text()
        port = ui.port
        assert _get(port, "/")[0] == 200
        assert _get(port, "/", host=f"localhost:{port}")[0] == 200
        assert _get(port, "/", origin=f"http://localhost:{port}")[0] == 200
        # DNS rebinding: evil.example now resolves to 127.0.0.1, the browser sends its own name.
        status, body = _get(port, "/traces/traces.json", host=f"evil.example:{port}")
        assert status == 403 and "traces" not in body.replace("/traces", "")
        assert _get(port, "/", origin="http://evil.example")[0] == 403
        assert _get(port, "/", origin="null")[0] == 403
        for page in ("/-/databases.json", "/-/threads", "/-/settings.json", "/-/plugins", "/-/versions.json",
                     "/-/metadata", "/-/actor.json"):  # fmt: skip
            status, body = _get(port, page)
            assert status == 404 and str(tmp_path) not in body, page
        assert _get(port, "/-/static-plugins/r4u/r4u.css")[0] == 200
    finally:
        ui.stop()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _connect(port: int, target: str, auth: str | None) -> int:
    """Status of a CONNECT through the proxy (the client's side of HTTPS_PROXY)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"] + ([f"Proxy-Authorization: {auth}"] if auth else [])
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return int(s.recv(4096).split()[1])


def test_beyond_loopback_a_password_is_required_and_nothing_local_is_relayed(sim, tmp_path, marker):
    password = "correct-horse-battery"
    env = {**os.environ, "R4U_PROXY_PASSWORD": password}  # by environment: never on a command line
    home = tmp_path / "home"
    proxy = start_proxy(home, "--host", "0.0.0.0", "--ui-port", "0", "--no-grouping", *simulator_args(sim), env=env)
    try:
        assert proxy.state["ui_url"].startswith("http://127.0.0.1:")  # the UI stays on loopback
        assert proxy.state["proxy_url"] == f"http://_:{password}@0.0.0.0:{proxy.port}"
        ui_port = int(proxy.state["ui_url"].rsplit(":", 1)[1].strip("/"))
        port = proxy.port
        assert _connect(port, "api.openai.com:443", None) == 407
        assert _connect(port, "api.openai.com:443", _basic("proj", "wrong")) == 407
        assert _connect(port, "api.openai.com:443", _basic("proj", password)) == 200  # --resolve: the user's own
        for target in (f"127.0.0.1:{ui_port}", f"localhost:{ui_port}", "169.254.169.254:80", "10.1.2.3:443",
                       "[::1]:22", "0.0.0.0:22"):  # fmt: skip
            assert _connect(port, target, _basic("proj", password)) == 403, target
        # Plain HTTP through the proxy to the UI: refused too, never relayed.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"http://127.0.0.1:{ui_port}/traces/traces.json",
                     headers={"Proxy-Authorization": _basic("proj", password)})  # fmt: skip
        response = conn.getresponse()
        assert response.status == 403 and b"traces" not in response.read().replace(b"/traces", b"")
        # An app with the password in its proxy URL works, and the user part still names the project.
        url = f"http://billing:{password}@127.0.0.1:{port}"
        app_env = {**proxy.env(), "HTTPS_PROXY": url, "https_proxy": url, "HTTP_PROXY": url, "http_proxy": url}
        run_app(f"""
        import httpx
        r = httpx.post("https://api.openai.com/v1/chat/completions", timeout=30, headers={{"x-test-id": "{marker}"}},
                       json={{"model": "gpt-4o", "messages": [{{"role": "user", "content": "hi"}}]}})
        assert r.status_code == 200, r.status_code
        """, app_env)  # fmt: skip
        row = proxy.row_for(marker)
        assert row["project"] == "billing" and password not in row["request_headers"]
        # `r4u env` on this machine hands out the password with the URL: local apps keep working.
        printed = subprocess.run(r4u_cmd("env", "--home", str(home)), capture_output=True, text=True, env=env).stdout
        assert f"_:{password}@0.0.0.0:{port}" in printed
    finally:
        proxy.stop()
    assert wait_for(lambda: not (home / "proxy.json").exists(), 5)


def test_beyond_loopback_without_a_password_one_is_made_up_and_printed(sim, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "R4U_PROXY_PASSWORD"}
    result = subprocess.run(
        r4u_cmd("proxy", "start", "--detach", "--home", str(tmp_path), "--host", "0.0.0.0", "--port", "0", "--no-ui",
                "--no-grouping"), capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    try:
        assert result.returncode == 0, result.stderr
        proxy_line = next(line for line in result.stdout.splitlines() if line.startswith("proxy:"))
        password = proxy_line.split("_:", 1)[1].split("@", 1)[0]
        assert len(password) >= 16
        assert password not in (tmp_path / "logs" / "proxy.log").read_text()  # the log gets it masked
    finally:
        subprocess.run(r4u_cmd("proxy", "stop", "--home", str(tmp_path)), capture_output=True, timeout=60)
