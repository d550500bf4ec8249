"""Does grouping slow the proxy down? Request latency through `r4u proxy start`, grouping off vs busy.

    python bench/grouping/proxy_latency.py [--requests 300] [--backlog 20000] [--json OUT]

For each mode a fresh R4U_HOME is seeded with `--backlog` prompt traces from the corpus (so in the
"grouping on" run the child is busy mining them the whole time), the proxy is started through the CLI
in front of the local simulator, and `--requests` chat calls are sent one after another with httpx
through the proxy. Reported: p50/p95/mean latency per mode, and how much of the backlog the child
grouped meanwhile.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from corpus import generate  # noqa: E402
from prompts import _anthropic_body, _openai_body  # noqa: E402

from r4u_proxy.ids import iso_utc, ulid  # noqa: E402
from r4u_proxy.simulator.simulator import Simulator  # noqa: E402
from r4u_proxy.store.migrations import open_db  # noqa: E402


def seed_backlog(db: Path, n: int) -> None:
    open_db(db).close()
    hosts = {"openai": ("api.openai.com", "/v1/chat/completions"), "anthropic": ("api.anthropic.com", "/v1/messages")}
    rows = []
    for i, sample in enumerate(generate(n, seed=11)):
        host, path = hosts[sample.provider]
        body = _anthropic_body(sample.parts) if sample.provider == "anthropic" else _openai_body(sample.parts)
        rows.append((ulid(1.7e9 + i), iso_utc(1.7e9 + i), sample.provider, sample.operation, host, path, json.dumps(body)))
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(
            "INSERT INTO traces (id, started_at, provider, operation, host, path, request_body) VALUES (?,?,?,?,?,?,?)",
            rows,
        )
    conn.close()


def grouped(db: Path) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("SELECT COUNT(task_id) FROM traces").fetchone()[0]
    finally:
        conn.close()


def run_mode(sim: Simulator, grouping: bool, requests: int, backlog: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="r4u-lat-") as tmp:
        home = Path(tmp)
        seed_backlog(home / "traces.db", backlog)
        args = [sys.executable, "-m", "r4u_proxy", "proxy", "start", "--home", str(home), "--port", "0", "--no-ui",
                "--upstream-ca", str(sim.ca_path), "--resolve", f"api.openai.com=127.0.0.1:{sim.port}"]  # fmt: skip
        if not grouping:
            args.append("--no-grouping")
        log = open(home / "proxy.log", "ab")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            state_file = home / "proxy.json"
            deadline = time.monotonic() + 30
            while not state_file.exists() or json.loads(state_file.read_text() or "{}").get("pid") != proc.pid:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((home / "proxy.log").read_text())
                time.sleep(0.05)
            state = json.loads(state_file.read_text())
            time.sleep(1.0)  # let the grouping child get going on the backlog
            before = grouped(home / "traces.db")
            latencies = []
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi"}]}
            with httpx.Client(proxy=state["proxy_url"], verify=state["ca_bundle"], timeout=30) as client:
                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.post("https://api.openai.com/v1/chat/completions", json=body,
                                           headers={"authorization": "Bearer sk-test"})  # fmt: skip
                    latencies.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
            after = grouped(home / "traces.db")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    latencies.sort()
    return {
        "grouping": grouping, "requests": requests,
        "p50_ms": statistics.median(latencies), "p95_ms": latencies[int(0.95 * len(latencies)) - 1],
        "mean_ms": statistics.fmean(latencies), "grouped_during_run": after - before,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--backlog", type=int, default=20000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with Simulator(tls=True) as sim:
        # Alternating, twice: the first run of a process pays warm-up costs the others do not.
        results = [run_mode(sim, mode, args.requests, args.backlog) for mode in (False, True, False, True)]
    for r in results:
        print(f"grouping {'on ' if r['grouping'] else 'off'}: p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms, "
              f"mean {r['mean_ms']:.2f} ms over {r['requests']} requests; grouped meanwhile: {r['grouped_during_run']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
