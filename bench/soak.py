"""Soak: 10,000 calls at 32 in flight through `r4u proxy start` (UI and grouping on), with the peak RSS
of the proxy's whole process tree, and optionally a fault in the middle.

    .venv/bin/python bench/soak.py [--calls 10000] [--concurrency 32]
        [--kill-writer]      kill -9 the writer process once a third of the calls are recorded
        [--lock-s 120]       hold an exclusive lock on the database for this long, from a third on

The client is httpx in threads, in this process; the simulator runs in a process of its own. What it
prints (and what docs/benchmarks.md quotes): calls answered, traces recorded, dropped, wall time,
peak tree RSS and per process, and `r4u proxy status` at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from processes import REPO, cpu_seconds, start_simulator

sys.path.insert(0, str(REPO / "tests"))
from support.faults import PeakTreeRss  # noqa: E402

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in five words."}]}


def start_proxy(home: Path, sim) -> tuple[subprocess.Popen, dict]:
    command = [
        sys.executable, "-m", "r4u_proxy", "proxy", "start", "--home", str(home), "--port", "0", "--ui-port", "0",
        "--upstream-ca", str(sim.ca_path), "--resolve", f"api.openai.com=127.0.0.1:{sim.port}",
    ]  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "soak-proxy.log", "ab")  # noqa: SIM115 (lives as long as the proxy)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            state = json.loads((home / "proxy.json").read_text())
            if state.get("pid") == process.pid:
                return process, state
        except (OSError, ValueError):
            pass
        if process.poll() is not None:
            raise SystemExit(f"the proxy exited; see {home / 'soak-proxy.log'}")
        time.sleep(0.1)
    raise SystemExit("the proxy did not start in 120 s")


def stats(home: Path) -> dict:
    try:
        return json.loads((home / "proxy-stats.json").read_bytes())
    except (OSError, ValueError):
        return {}


def role(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    for needle, name in (("proxy start", "proxy"), ("datasette", "ui"), ("resource_tracker", "tracker"),
                         ("multiprocessing.spawn", "writer"), ("multiprocess.spawn", "grouping")):  # fmt: skip
        if needle in command:
            return name
    return "other"


def recorded(db: Path) -> int:
    conn = sqlite3.connect(db, timeout=60)
    try:
        return conn.execute("select count(*) from traces where host = 'api.openai.com'").fetchone()[0]
    except sqlite3.Error:
        return -1
    finally:
        conn.close()


def own_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--kill-writer", action="store_true")
    parser.add_argument("--lock-s", type=float, default=0.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="r4u-soak-"))
    sim = start_simulator(work)
    home = work / "home"
    proxy, state = start_proxy(home, sim)
    db = Path(state["db"])
    client = httpx.Client(
        proxy=state["proxy_url"], verify=str(state["ca_bundle"]), trust_env=False, timeout=120,
        limits=httpx.Limits(max_connections=args.concurrency),
    )  # fmt: skip
    for _ in range(20):
        client.post("https://api.openai.com/v1/chat/completions", json=CHAT).raise_for_status()
    answered = 0
    failures: list[str] = []
    count_lock = threading.Lock()

    def call(i: int) -> None:
        nonlocal answered
        try:
            r = client.post("https://api.openai.com/v1/chat/completions", json=CHAT, headers={"x-soak": str(i)})
            ok = r.status_code == 200
        except httpx.HTTPError as exc:
            ok = False
            with count_lock:
                if len(failures) < 5:
                    failures.append(repr(exc))
        with count_lock:
            answered += ok

    def fault() -> None:
        while recorded(db) < 20 + args.calls // 3:
            time.sleep(0.2)
        if args.kill_writer:
            pid = stats(home).get("writer_pid")
            print(f"  kill -9 of the writer (pid {pid}) at {recorded(db) - 20} traces recorded", flush=True)
            os.kill(int(pid), signal.SIGKILL)
        if args.lock_s:
            blocker = sqlite3.connect(db, timeout=60)
            blocker.execute("begin exclusive")
            print(f"  exclusive lock for {args.lock_s:.0f} s from {recorded(db) - 20} traces", flush=True)
            time.sleep(args.lock_s)
            print(f"  during the lock: {json.dumps({k: stats(home).get(k) for k in ('queue_depth', 'queue_bytes', 'failing', 'last_write_error', 'dropped')})}")
            blocker.rollback()
            blocker.close()

    cpu_before, own_before = cpu_seconds(proxy.pid), own_cpu(proxy.pid)
    started = time.monotonic()
    faulter = threading.Thread(target=fault, daemon=True)
    if args.kill_writer or args.lock_s:
        faulter.start()
    with PeakTreeRss(proxy.pid, interval=0.05) as peak, ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(call, range(args.calls)))
        if faulter.is_alive():
            faulter.join()
        deadline = time.monotonic() + 300
        while recorded(db) < 20 + answered and time.monotonic() < deadline:
            time.sleep(0.2)
    wall = time.monotonic() - started
    cpu_after, own_after = cpu_seconds(proxy.pid), own_cpu(proxy.pid)
    final = stats(home)
    rows = recorded(db) - 20
    print(f"calls: {args.calls} at {args.concurrency} in flight; answered 200: {answered}; recorded: {rows}; "
          f"dropped: {final.get('dropped')}; writer restarts: {final.get('writer_restarts')}")  # fmt: skip
    print(f"wall: {wall:.1f} s ({args.calls / wall:.0f} calls/s); proxy tree CPU {(cpu_after - cpu_before) * 1000 / args.calls:.2f} "
          f"ms/call, proxy process alone {(own_after - own_before) * 1000 / args.calls:.2f} ms/call")  # fmt: skip
    print(f"peak RSS of the process tree: {peak.peak_kb / 1024:.0f} MB; per process (peak MB): "
          + ", ".join(f"{role(pid)} {kb / 1024:.0f}" for pid, kb in sorted(peak.per_process.items())))
    if failures:
        print("first client errors:", failures)
    client.close()
    proxy.send_signal(signal.SIGTERM)
    proxy.wait(60)
    sim.stop()


if __name__ == "__main__":
    main()
