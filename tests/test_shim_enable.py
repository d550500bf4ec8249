"""`r4u.enable()` / `r4u.disable()` inside an application process (.venv-app, a fresh subprocess per test).

A stand-in proxy (state file + listening port + CA) is enough here; the recorded traffic is checked
in test_shim_clients.py against the real proxy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clients.fake_proxy import FakeProxy
from support.proxy import APP_PYTHON, REPO

from r4u.environment import MANAGED_VARS


@pytest.fixture
def fake_proxy(tmp_path: Path):
    proxy = FakeProxy(tmp_path)
    yield proxy
    proxy.close()


def app_env(home: Path, **extra: str) -> dict[str, str]:
    """An app's environment: no proxy settings, the shim importable, no `r4u` command on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith("R4U_")}
    env.update(PYTHONPATH=str(REPO), R4U_HOME=str(home), PATH="/usr/bin:/bin")
    env.update(extra)
    return env


def run_in_app(code: str, env: dict[str, str], *args: str) -> dict:
    result = subprocess.run(
        [str(APP_PYTHON), "-c", textwrap.dedent(code), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"app failed:\n{result.stdout}\n{result.stderr}"
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["stderr"] = result.stderr
    return out


ENABLE_THEN_DISABLE = """
import json, os, sys, r4u
names = json.loads(sys.argv[1])
before = dict(os.environ)
ok = r4u.enable(project="billing-bot")
during = {name: os.environ.get(name) for name in names}
r4u.disable()
print(json.dumps({"ok": ok, "during": during, "restored": dict(os.environ) == before,
                  "enabled_after": r4u.is_enabled()}))
"""


def test_enable_sets_the_environment_and_disable_restores_it(fake_proxy: FakeProxy):
    fake_proxy.write_state(upstream_proxy="http://corp-proxy:3128")  # it forwards through the app's proxy
    env = app_env(fake_proxy.home, https_proxy="http://corp-proxy:3128", NO_PROXY="internal.corp")
    out = run_in_app(ENABLE_THEN_DISABLE, env, json.dumps(MANAGED_VARS))
    assert out["ok"] is True
    during = out["during"]
    url = f"http://billing-bot:r4u@127.0.0.1:{fake_proxy.port}"
    # The lowercase variable the app had would win in urllib/requests: it is replaced too.
    assert [during[n] for n in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")] == [url] * 4
    assert during["NO_PROXY"] == during["no_proxy"] == "internal.corp,localhost,127.0.0.1,::1"
    assert during["SSL_CERT_FILE"] == during["REQUESTS_CA_BUNDLE"] == during["CURL_CA_BUNDLE"]
    assert Path(during["SSL_CERT_FILE"]).is_file() and during["NODE_USE_ENV_PROXY"] == "1"
    assert out["restored"] is True and out["enabled_after"] is False
    assert out["stderr"] == ""  # a successful enable() is silent
    assert during["NODE_OPTIONS"].startswith("--require ") and "r4u-node-preload-" in during["NODE_OPTIONS"]


def test_enable_warns_when_the_running_proxy_would_bypass_the_apps_proxy(fake_proxy: FakeProxy):
    env = app_env(fake_proxy.home, https_proxy="http://user:pw@corp-proxy:3128")
    out = run_in_app(ENABLE_THEN_DISABLE, env, json.dumps(MANAGED_VARS))
    assert out["ok"] is True  # still recording: the warning says how to keep the company route
    assert "your HTTPS_PROXY (http://user:***@corp-proxy:3128) is not used" in out["stderr"]
    assert "pw@" not in out["stderr"]


IDEMPOTENT = """
import json, os, r4u
before = dict(os.environ)
r4u.enable(project="a")
first = dict(os.environ)
r4u.enable(project="a")
second = dict(os.environ)
r4u.enable(project="b")
third = os.environ["HTTPS_PROXY"]
r4u.disable()
r4u.disable()
print(json.dumps({"same": first == second, "third": third, "restored": dict(os.environ) == before}))
"""


def test_enable_is_idempotent_and_disable_returns_to_the_apps_own_settings(fake_proxy: FakeProxy):
    out = run_in_app(IDEMPOTENT, app_env(fake_proxy.home, SSL_CERT_FILE="/etc/ssl/certs/ca-certificates.crt"))
    assert out["same"] is True
    assert out["third"] == f"http://b:r4u@127.0.0.1:{fake_proxy.port}"
    assert out["restored"] is True


NO_PROXY_AVAILABLE = """
import http.server, json, logging, os, threading, urllib.request, warnings, r4u

records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger().addHandler(Keep())

server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()

before = dict(os.environ)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    results = [r4u.enable(), r4u.enable(project="x"), r4u.enable()]
with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/", timeout=10) as response:
    status = response.status
print(json.dumps({"results": results, "warnings": [str(w.message) for w in caught], "logged": records,
                  "untouched": dict(os.environ) == before, "status": status}))
"""


def test_no_proxy_available_warns_once_and_leaves_the_app_alone(tmp_path: Path):
    out = run_in_app(NO_PROXY_AVAILABLE, app_env(tmp_path / "empty-home"))
    assert out["results"] == [False, False, False]
    assert len(out["warnings"]) == 1 and "not recorded" in out["warnings"][0]
    assert len(out["logged"]) == 1 and out["logged"][0] == out["warnings"][0]
    assert "r4u proxy start" in out["warnings"][0]  # says how to fix it
    assert out["untouched"] is True and out["status"] == 200


AIOHTTP = """
import asyncio, json, ssl, sys
if sys.argv[1] == "before":
    import aiohttp
import r4u
ok = r4u.enable()
if sys.argv[1] == "after":
    import aiohttp
import aiohttp.connector

r4u_ca = ssl.PEM_cert_to_DER_cert(open(sys.argv[2]).read())
def trusts_r4u():
    return r4u_ca in aiohttp.connector._SSL_CONTEXT_VERIFIED.get_ca_certs(binary_form=True)

async def sessions():
    default, explicit = aiohttp.ClientSession(), aiohttp.ClientSession(trust_env=False)
    result = [default.trust_env, explicit.trust_env]
    await default.close()
    await explicit.close()
    return result

during = {"trust_env": asyncio.run(sessions()), "ca": trusts_r4u()}
r4u.disable()
after = {"trust_env": asyncio.run(sessions()), "ca": trusts_r4u()}
print(json.dumps({"ok": ok, "during": during, "after": after}))
"""


@pytest.mark.parametrize("imported", ["before", "after"])
def test_aiohttp_honours_proxy_and_ca_whenever_it_was_imported(fake_proxy: FakeProxy, imported: str):
    out = run_in_app(AIOHTTP, app_env(fake_proxy.home), imported, str(fake_proxy.ca_cert))
    assert out["ok"] is True
    # Sessions read HTTPS_PROXY now; an explicit trust_env=False is the app's choice and stays.
    assert out["during"] == {"trust_env": [True, False], "ca": True}
    assert out["after"] == {"trust_env": [False, False], "ca": False}


FAKE_R4U_COMMAND = r'''#!{python}
"""Stands in for an installed `r4u`: records its argv, then starts a detached listener that writes proxy.json."""
import json, os, subprocess, sys, time
with open(os.environ["FAKE_R4U_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
home = sys.argv[sys.argv.index("--home") + 1]
LISTENER = """
import json, os, socket, sys, time
home = sys.argv[1]
listener = socket.create_server(("127.0.0.1", 0))
port = listener.getsockname()[1]
state = {{"pid": os.getpid(), "host": "127.0.0.1", "port": port, "proxy_url": f"http://127.0.0.1:{{port}}",
         "ca_cert": os.path.join(home, "ca", "mitmproxy-ca-cert.pem")}}
with open(os.path.join(home, "proxy.json"), "w") as f:
    json.dump(state, f)
listener.settimeout(1)
deadline = time.time() + 120
while time.time() < deadline:
    try:
        listener.accept()[0].close()
    except OSError:
        pass
"""
time.sleep(0.5)  # a slow start widens the window in which a second process could start another
child = subprocess.Popen([sys.executable, "-c", LISTENER, home], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
state_file = os.path.join(home, "proxy.json")
for _ in range(100):
    if os.path.exists(state_file) and json.load(open(state_file)).get("pid") == child.pid:
        sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
'''

ENABLE_AND_REPORT = """
import json, os, r4u
print(json.dumps({"ok": r4u.enable(project="p"), "proxy": os.environ.get("HTTPS_PROXY")}))
"""


def test_enable_starts_a_detached_proxy_once_even_when_two_apps_start_together(tmp_path: Path):
    home = tmp_path / "home"
    seed = FakeProxy(tmp_path / "seed")  # only for its CA: a real first start creates home/ca
    seed.close()
    (home / "ca").mkdir(parents=True)
    (home / "ca" / "mitmproxy-ca-cert.pem").write_bytes(seed.ca_cert.read_bytes())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "r4u"
    command.write_text(FAKE_R4U_COMMAND.format(python=sys.executable))
    command.chmod(0o755)
    log = tmp_path / "r4u-invocations.log"
    env = app_env(home, PATH=f"{bin_dir}:/usr/bin:/bin", FAKE_R4U_LOG=str(log))
    apps = [
        subprocess.Popen([str(APP_PYTHON), "-c", ENABLE_AND_REPORT], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        outputs = [json.loads(app.communicate(timeout=60)[0]) for app in apps]
        state = json.loads((home / "proxy.json").read_text())
    finally:
        state_file = home / "proxy.json"
        if state_file.exists():
            os.kill(json.loads(state_file.read_text())["pid"], signal.SIGTERM)
    invocations = [json.loads(line) for line in log.read_text().splitlines()]
    assert invocations == [["proxy", "start", "--detach", "--home", str(home)]]
    expected = f"http://p:r4u@127.0.0.1:{state['port']}"
    assert outputs == [{"ok": True, "proxy": expected}] * 2
