"""Stopping always completes, and a proxy that dies takes its children with it.

One home goes through what a user's machine does: a proxy killed with -9 (its children leave by
themselves, the next start on the same ports works), a second one killed while its UI cannot notice
(the next start reclaims it), then a stop while grouping works on 1 MB prompts and a stream is still
running. (A busy UI port naming its own flag: tests/test_proxy_failures.py.)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

from support.faults import children_of, listening, stats, wait_for
from support.proxy import APP_PYTHON, run_app, simulator_args, start_proxy

from r4u_proxy.service.reclaim import running

BIG_PROMPTS = """
import httpx
for i in range(3):  # three 1 MB prompts, each its own call
    r = httpx.post("https://api.openai.com/v1/chat/completions", timeout=60, headers={"x-test-id": f"MARKER-{i}"},
                   json={"model": "gpt-4o", "messages": [
                       {"role": "system", "content": "You summarise documents."},
                       {"role": "user", "content": f"Summarise document {i}: " + ("lorem ipsum dolor sit amet " * 40000)}]})
    assert r.status_code == 200
"""

SLOW_STREAM = """
import httpx, sys
with httpx.stream("POST", "https://api.openai.com/v1/chat/completions", timeout=60,
                  json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True},
                  headers={"x-test-id": "MARKER", "x-sim-events": "15", "x-sim-gap-ms": "100"}) as r:
    print("started", flush=True)
    body = b"".join(r.iter_bytes())
print(len(body), body.rstrip().endswith(b"data: [DONE]"))
"""

ONE_CALL = """
import httpx
r = httpx.post("https://api.openai.com/v1/chat/completions", timeout=30, headers={"x-test-id": "MARKER"},
               json={"model": "gpt-4o", "messages": [{"role": "user", "content": "after the crash"}]})
assert r.status_code == 200
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _kill_9(proxy) -> None:
    proxy.process.send_signal(signal.SIGKILL)
    proxy.process.wait()


def test_crash_restart_reclaim_and_a_stop_that_completes(sim, tmp_path, marker):
    home, ui_port = tmp_path / "home", _free_port()
    args = ("--ui-port", str(ui_port), *simulator_args(sim))  # UI and grouping on, the same ports each time

    # 1. kill -9: every child (UI, grouping, writer) notices by itself that the proxy is gone.
    first = start_proxy(home, *args)
    children = [c["pid"] for c in first.state["children"]] + [wait_for(lambda: stats(home).get("writer_pid"), 10)]
    assert len(children) == 3 and all(running(p) for p in children)
    _kill_9(first)
    assert wait_for(lambda: not any(running(p) for p in children), 5), [p for p in children if running(p)]
    assert not listening(ui_port)

    # 2. The next start on the same ports works; then its UI is frozen (SIGSTOP: it can notice nothing,
    #    like a child of an r4u that did not watch its parent) and the proxy killed again.
    second = start_proxy(home, *args)
    assert second.state["ui_url"] == f"http://127.0.0.1:{ui_port}/"
    run_app(ONE_CALL.replace("MARKER", marker), second.env())
    assert second.row_for(marker)["status_code"] == 200
    frozen_ui = next(c["pid"] for c in second.state["children"] if c["role"] == "ui")
    os.kill(frozen_ui, signal.SIGSTOP)
    _kill_9(second)
    assert listening(ui_port)  # still held by the frozen UI

    # 3. The next start reclaims it and takes the port back.
    proxy = start_proxy(home, *args)
    assert not running(frozen_ui) and proxy.state["ui_url"] == f"http://127.0.0.1:{ui_port}/"
    assert "left running by a proxy that did not stop" in proxy.log_tail(100)

    # 4. Stop while grouping works on big prompts and a stream is still running: done within 5 s, the
    #    ports free, every process gone, the stream finished within its grace, no traceback in the log.
    run_app(BIG_PROMPTS.replace("MARKER", marker), proxy.env(), timeout=120)
    assert len(proxy.wait_rows("json_extract(request_headers, '$.\"x-test-id\"') like ?", (f"{marker}-%",),
                               count=3, timeout=30)) == 3  # fmt: skip
    tree = [proxy.process.pid, *children_of(proxy.process.pid)]
    assert len(tree) >= 4, tree  # proxy, writer, grouping, UI
    stream = subprocess.Popen(
        [str(APP_PYTHON), "-c", SLOW_STREAM.replace("MARKER", marker + "-stream")], env=proxy.env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert stream.stdout.readline().strip() == "started"
    started = time.monotonic()
    proxy.process.send_signal(signal.SIGTERM)  # what `r4u proxy stop` sends (its own start-up is not timed)
    assert proxy.process.wait(30) == 0
    took = time.monotonic() - started
    assert took <= 5, took
    assert not listening(proxy.port) and not listening(ui_port)
    assert wait_for(lambda: not any(running(p) for p in tree), 2), [p for p in tree if running(p)]
    out, err = stream.communicate(timeout=30)
    assert out.split()[1:] == ["True"], err  # the app received the whole stream
    row = proxy.row_for(marker + "-stream")
    assert row["error"] is None and row["completion_text"]
    log = proxy.log_tail(400)
    assert "Traceback" not in log and "CancelledError" not in log, log
