"""Stopping always completes, and a proxy that dies takes its children with it.

`r4u proxy stop` while grouping works on 1 MB prompts and a stream is still running; kill -9 of the
proxy followed by the next `proxy start` on the same ports; a busy UI port named by its own flag.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

from conftest import APP_PYTHON, r4u_cmd, run_app, simulator_args, start_proxy
from support.faults import children_of, listening, stats, wait_for

from r4u_proxy.service.reclaim import running as pid_alive

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tree(proxy) -> list[int]:
    return [proxy.process.pid, *children_of(proxy.process.pid)]


def test_stop_with_big_prompts_in_grouping_and_a_stream_in_flight(sim, tmp_path, marker):
    proxy = start_proxy(tmp_path / "home", "--ui-port", "0", *simulator_args(sim))  # UI and grouping on
    ui_port = int(proxy.state["ui_url"].rsplit(":", 1)[1].strip("/"))
    run_app(BIG_PROMPTS.replace("MARKER", marker), proxy.env(), timeout=120)
    assert len(proxy.wait_rows("id > ''", count=3, timeout=30)) >= 3
    tree = _tree(proxy)
    assert len(tree) >= 4, tree  # proxy, writer, grouping, UI
    stream = subprocess.Popen(
        [str(APP_PYTHON), "-c", SLOW_STREAM.replace("MARKER", marker)], env=proxy.env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert stream.stdout.readline().strip() == "started"
    started = time.monotonic()
    proxy.process.send_signal(signal.SIGTERM)  # what `r4u proxy stop` sends (its own start-up is not timed)
    assert proxy.process.wait(30) == 0
    took = time.monotonic() - started
    assert took <= 5, took
    assert not listening(proxy.port) and not listening(ui_port)
    assert wait_for(lambda: not any(pid_alive(p) for p in tree), 2), [p for p in tree if pid_alive(p)]
    # The stream that was running got its grace period: the app received all of it, and it is recorded.
    out, err = stream.communicate(timeout=30)
    assert out.split() == [out.split()[0], "True"], err
    row = proxy.row_for(marker)
    assert row["error"] is None and row["completion_text"]
    log = proxy.log_tail(400)
    assert "Traceback" not in log and "CancelledError" not in log, log


def test_kill_9_of_the_proxy_takes_its_children_and_the_next_start_works(sim, tmp_path, marker):
    home, ui_port = tmp_path / "home", _free_port()
    first = start_proxy(home, "--ui-port", str(ui_port), *simulator_args(sim))
    children = [c["pid"] for c in first.state["children"]] + [wait_for(lambda: stats(home).get("writer_pid"), 10)]
    assert len(children) == 3 and all(pid_alive(p) for p in children)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    # Each child notices by itself that the proxy is gone.
    assert wait_for(lambda: not any(pid_alive(p) for p in children), 5), [p for p in children if pid_alive(p)]
    assert not listening(ui_port)
    second = start_proxy(home, "--ui-port", str(ui_port), *simulator_args(sim))
    try:
        assert second.state["ui_url"] == f"http://127.0.0.1:{ui_port}/"
        run_app(f"""
        import httpx
        httpx.post("https://api.openai.com/v1/chat/completions", timeout=30, headers={{"x-test-id": "{marker}"}},
                   json={{"model": "gpt-4o", "messages": [{{"role": "user", "content": "after the crash"}}]}})
        """, second.env())  # fmt: skip
        assert second.row_for(marker)["status_code"] == 200
    finally:
        second.stop()


def test_next_start_reclaims_children_a_dead_proxy_left_running(sim, tmp_path):
    # A UI child of an older r4u that did not watch its parent: simulate it with a stopped lifeline
    # (SIGSTOP keeps the process from noticing anything) and kill the proxy.
    home, ui_port = tmp_path / "home", _free_port()
    first = start_proxy(home, "--ui-port", str(ui_port), "--no-grouping", *simulator_args(sim))
    ui_pid = next(c["pid"] for c in first.state["children"] if c["role"] == "ui")
    os.kill(ui_pid, signal.SIGSTOP)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    assert listening(ui_port)  # the port is still held by the frozen UI
    second = start_proxy(home, "--ui-port", str(ui_port), "--no-grouping", *simulator_args(sim))
    try:
        assert not pid_alive(ui_pid) or _is_zombie(ui_pid)
        assert second.state["ui_url"] == f"http://127.0.0.1:{ui_port}/"
        assert "left running by a proxy that did not stop" in second.log_tail(100)
    finally:
        second.stop()


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def test_a_busy_ui_port_names_the_ui_port_flag(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            r4u_cmd("proxy", "start", "--home", str(tmp_path), "--port", "0", "--ui-port", str(port)),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"r4u: error: UI port 127.0.0.1:{port} is already in use (pick another with --ui-port)"
    ]
    assert not (tmp_path / "proxy.json").exists()
