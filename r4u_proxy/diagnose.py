"""`r4u doctor`: would this machine's calls (or CMD's) be recorded? Each check says what it saw and the fix.

The runtimes are probed for real: Python, curl and Node each fetch `https://api.openai.com/__r4u/doctor`
with the environment under test. The r4u proxy answers that path itself (addons/doctor.py), so the answer
proves that the client went through the proxy and trusted the r4u CA; nothing is sent upstream or recorded.
A client that ignores the proxy reaches the real host (or fails to resolve it) and gets something else.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from r4u.environment import prepare_recording
from r4u.launch import describe_runtime, detect_runtime, interpreter_command, launch_profile
from r4u.proxy_locator import RunningProxy, find_running_proxy, read_state
from r4u.upstream import foreign_proxy, host_port, proxy_from_env, same_proxy, upstream_mismatch
from r4u_proxy.addons.doctor import DOCTOR_BODY, DOCTOR_PATH

PROBE_HOST = "api.openai.com"
PROBE_URL = f"https://{PROBE_HOST}{DOCTOR_PATH}"
PROVIDER_HOSTS = ("api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com")
PROBE_TIMEOUT_S = 20.0
_MARK = DOCTOR_BODY.decode().strip()

NODE_PROBE = """
const https = require('https');
const url = process.argv[1];
const out = {};
function get() {
  return new Promise((resolve) => {
    https.get(url, (res) => { let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve(b)); })
      .on('error', (e) => resolve('error: ' + (e.code || '') + ' ' + e.message));
  });
}
(async () => {
  out.version = process.version;
  try { out.fetch = await (await fetch(url)).text(); } catch (e) { out.fetch = 'error: ' + ((e.cause && (e.cause.code + ' ' + e.cause.message)) || e.message); }
  out.https = await get();
  console.log(JSON.stringify(out));
})();
"""
PYTHON_PROBE = """
import json, sys, urllib.request
url, out = sys.argv[1], {"version": sys.version.split()[0]}
def attempt(name, fetch):
    try:
        out[name] = fetch()
    except ImportError:
        pass
    except Exception as exc:
        out[name] = f"error: {type(exc).__name__}: {exc}"
attempt("urllib", lambda: urllib.request.urlopen(url, timeout=10).read().decode())
attempt("requests", lambda: __import__("requests").get(url, timeout=10).text)
attempt("httpx", lambda: __import__("httpx").get(url, timeout=10).text)
print(json.dumps(out))
"""


@dataclass
class Check:
    name: str
    status: str  # "ok", "warn" (worth knowing, calls still recorded), "fail" (calls would go unrecorded)
    detail: str
    fix: str | None = None


@dataclass
class Diagnosis:
    checks: list[Check]
    mode: str  # whose environment was checked

    @property
    def failed(self) -> bool:
        return any(check.status == "fail" for check in self.checks)


def diagnose(home: Path, env: Mapping[str, str], command: Sequence[str] = ()) -> Diagnosis:
    proxy = find_running_proxy(home)
    if proxy is None:
        check = Check("proxy", "fail", f"no r4u proxy is running (nothing live in {home / 'proxy.json'})",
                      "r4u proxy start --detach   (r4u run and r4u env start one by themselves)")  # fmt: skip
        return Diagnosis([check], "nothing else: no proxy")
    if same_proxy(proxy_from_env(env), proxy.proxy_url):
        test_env, mode = dict(env), "this environment (it already points at the r4u proxy)"
    else:
        recording = prepare_recording(start=False, home=home, base_env=env)
        test_env, mode = {**env, **recording.values}, "the environment `r4u run` sets"
    checks = [_proxy_check(proxy, test_env)]
    checks += _runtime_checks(test_env, command)
    checks += _network_checks(proxy, env)
    return Diagnosis(checks, mode)


def _proxy_check(proxy: RunningProxy, env: Mapping[str, str]) -> Check:
    """CONNECT through the proxy and fetch the doctor page with Python's ssl and the bundle under test."""
    cafile = env.get("SSL_CERT_FILE")
    try:
        context = ssl.create_default_context(cafile=cafile)
        with socket.create_connection((proxy.host, proxy.port), timeout=10) as raw:
            raw.sendall(f"CONNECT {PROBE_HOST}:443 HTTP/1.1\r\nHost: {PROBE_HOST}:443\r\n\r\n".encode())
            reply = raw.recv(4096).decode("latin-1").split("\r\n", 1)[0]
            if " 200 " not in f"{reply} ":
                return Check("proxy", "fail", f"{proxy.proxy_url} refused CONNECT: {reply}")
            with context.wrap_socket(raw, server_hostname=PROBE_HOST) as tls:
                tls.sendall(f"GET {DOCTOR_PATH} HTTP/1.1\r\nHost: {PROBE_HOST}\r\nConnection: close\r\n\r\n".encode())
                answer = b"".join(iter(lambda: tls.recv(65536), b""))
    except ssl.SSLCertVerificationError as exc:
        return Check("proxy", "fail", f"Python's ssl does not trust the r4u proxy with SSL_CERT_FILE={cafile}: "
                     f"{exc.verify_message}", _ca_fix(proxy))  # fmt: skip
    except OSError as exc:
        return Check("proxy", "fail", f"cannot talk to {proxy.proxy_url}: {exc}", "r4u proxy stop; r4u proxy start --detach")
    if DOCTOR_BODY not in answer:
        return Check("proxy", "fail", f"{proxy.proxy_url} answered, but not as an r4u proxy does")
    return Check("proxy", "ok", f"{proxy.proxy_url} is up and intercepts with its CA (Python ssl trusts it)")


def _ca_fix(proxy: RunningProxy) -> str:
    return (f"the bundle does not hold the CA this proxy uses ({proxy.ca_cert}); run the program with r4u run, "
            'or redo eval "$(r4u env)" in this shell')  # fmt: skip


def _runtime_checks(env: Mapping[str, str], command: Sequence[str]) -> list[Check]:
    checks: list[Check] = []
    probed: set[Path] = set()
    runtime = detect_runtime(command, env) if command else None
    interpreter = interpreter_command(runtime) if runtime else None
    pythons = ["python3"] + ([interpreter] if runtime and runtime.kind == "python" and interpreter else [])
    nodes = ["node"] + ([interpreter] if runtime and runtime.kind == "node" and interpreter else [])
    for candidate in pythons:
        checks += _probe(candidate, "python", env, probed)
    checks += _probe("curl", "curl", env, probed)
    for candidate in nodes:
        checks += _probe(candidate, "node", env, probed)
    if runtime is not None:
        checks.append(_command_check(runtime, command, env))
    return checks


def _probe(program: str, kind: str, env: Mapping[str, str], probed: set[Path]) -> list[Check]:
    path = shutil.which(program, path=env.get("PATH"))
    if path is None:
        return [] if program in ("python3", "node", "curl") else [Check(kind, "warn", f"{program} not found")]
    if Path(path).resolve() in probed:
        return []
    probed.add(Path(path).resolve())
    if kind == "python":
        argv = [path, "-c", PYTHON_PROBE, PROBE_URL]
    elif kind == "node":
        argv = [path, "-e", NODE_PROBE, PROBE_URL]
    else:
        argv = [path, "-sS", "--max-time", "10", PROBE_URL]
    try:
        result = subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [Check(kind, "fail", f"{path}: the probe did not finish ({exc})")]
    if kind == "curl":
        answers = {"curl": result.stdout if result.returncode == 0 else f"error: {result.stderr.strip()}"}
        label = path
    else:
        try:
            answers = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return [Check(kind, "fail", f"{path}: the probe failed: {result.stderr.strip()[-300:]}")]
        label = f"{kind.capitalize()} {answers.pop('version', '?')} ({path})"
    return [_judge(kind, label, client, answer, env) for client, answer in answers.items()]


def _judge(kind: str, label: str, client: str, answer: str, env: Mapping[str, str]) -> Check:
    name = kind if client == kind else f"{kind} {client}"
    if _MARK not in answer:
        answer = (answer.strip().splitlines() or [""])[0]
    if _MARK in answer:
        return Check(name, "ok", f"{label}: {client} goes through the r4u proxy and trusts its CA")
    lowered = answer.lower()
    if "certificate" in lowered or "ssl" in lowered or "self_signed" in lowered or "unable_to_verify" in lowered:
        variable = {"node": "NODE_EXTRA_CA_CERTS", "curl": "CURL_CA_BUNDLE"}.get(kind, "SSL_CERT_FILE")
        if client == "requests":
            variable = "REQUESTS_CA_BUNDLE"
        return Check(name, "fail", f"{label}: {client} does not trust the r4u CA ({variable}={env.get(variable)}): "
                     f"{answer[:200]}", 'use r4u run, or redo eval "$(r4u env)": the variable must name a file '
                     "with the r4u CA")  # fmt: skip
    fix = "use r4u run, or redo eval \"$(r4u env)\" in this shell"
    if kind == "node":
        fix = ("this Node ignores HTTPS_PROXY: Node before 22.21 / 24.5 needs r4u's preload in NODE_OPTIONS "
               f"(NODE_OPTIONS={env.get('NODE_OPTIONS') or 'unset'}); r4u run and r4u env set it")  # fmt: skip
    return Check(name, "fail", f"{label}: {client} did not go through the r4u proxy ({answer.strip()[:200]})", fix)


def _command_check(runtime, command: Sequence[str], env: Mapping[str, str]) -> Check:
    problems = launch_profile(command, env, env).problems
    if problems:
        return Check("command", "fail", problems[0])
    if runtime.path is None:
        return Check("command", "fail", f"{command[0]}: not found on PATH")
    if runtime.kind in ("node", "python"):
        return Check("command", "ok", f"{describe_runtime(runtime)}: probed above")
    if runtime.kind == "native" and runtime.program in ("claude", "codex"):
        return Check("command", "ok", f"{describe_runtime(runtime)}: honours HTTPS_PROXY and reads the CA from "
                     f"{'CODEX_CA_CERTIFICATE' if runtime.program == 'codex' else 'NODE_EXTRA_CA_CERTS'}")  # fmt: skip
    return Check("command", "warn", f"{describe_runtime(runtime)}: cannot be probed; most Go, Rust and .NET "
                 "programs honour HTTPS_PROXY and SSL_CERT_FILE")  # fmt: skip


def _network_checks(proxy: RunningProxy, env: Mapping[str, str]) -> list[Check]:
    checks = []
    state = read_state(proxy.home) or {}
    wanted = foreign_proxy(env, own=proxy.proxy_url)
    mismatch = upstream_mismatch(wanted, proxy.upstream_proxy) if wanted else None
    if mismatch:
        checks.append(Check("upstream", "fail", mismatch))
    if proxy.upstream_proxy:
        address = host_port(proxy.upstream_proxy)
        try:
            socket.create_connection(address, timeout=3).close()
            checks.append(Check("upstream", "ok", f"the upstream proxy {proxy.upstream_proxy} accepts connections"))
        except OSError as exc:
            checks.append(Check("upstream", "fail", f"the upstream proxy {proxy.upstream_proxy} is unreachable: "
                                f"{exc}", "start it, or restart r4u with --upstream-proxy none"))  # fmt: skip
        return checks  # names are resolved by the upstream proxy, not here
    mapped = {spec.partition("=")[0].lower() for spec in state.get("resolve") or []}
    unresolved = [host for host in PROVIDER_HOSTS if host not in mapped and not _resolves(host)]
    if unresolved:
        checks.append(Check("dns", "warn", f"{', '.join(unresolved)} do not resolve here: calls to them fail "
                            "(and are recorded as errors)", "check the network, or use --upstream-proxy"))  # fmt: skip
    else:
        checks.append(Check("dns", "ok", "the provider hosts resolve"))
    return checks


def _resolves(host: str, timeout: float = 3.0) -> bool:
    """getaddrinfo has no timeout of its own: ask in a thread and stop waiting after `timeout`."""
    found: list[bool] = []

    def lookup() -> None:
        try:
            found.append(bool(socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)))
        except OSError:
            found.append(False)

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(found and found[0])
