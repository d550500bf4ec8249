"""Helpers for the fault suite: load from real clients, what the proxy says, what its processes use.

Loopback only; everything bounded in time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from support.proxy import APP_PYTHON, r4u_cmd

# N chat calls at C in flight through the proxy, with httpx (as the OpenAI SDK sends them); each call
# carries `x-test-id: PREFIX-i`. Prints the ids the app got a 200 for: the calls r4u must not lose.
LOAD = """
import json, sys, httpx
from concurrent.futures import ThreadPoolExecutor
prefix, total, concurrency, extra = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=concurrency))
def call(i):
    try:
        r = client.post("https://api.openai.com/v1/chat/completions",
                        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"call {i} " + extra.get("pad", "")}]},
                        headers={"x-test-id": f"{prefix}-{i}", "authorization": "Bearer sk-test-0123456789abcdefSECRET"})
        return r.status_code == 200 and r.json()["choices"] and f"{prefix}-{i}"
    except Exception as exc:
        print(f"call {i}: {exc!r}", file=sys.stderr)
        return None
with ThreadPoolExecutor(concurrency) as pool:
    ok = [i for i in pool.map(call, range(total)) if i]
print(json.dumps(ok))
"""


def start_load(env: dict[str, str], prefix: str, total: int, concurrency: int, pad: str = "") -> subprocess.Popen:
    return subprocess.Popen(
        [str(APP_PYTHON), "-c", textwrap.dedent(LOAD), prefix, str(total), str(concurrency), json.dumps({"pad": pad})],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish_load(load: subprocess.Popen, timeout: float = 180) -> list[str]:
    out, err = load.communicate(timeout=timeout)
    assert load.returncode == 0, err[-2000:]
    return json.loads(out)


def recorded_ids(db: Path, prefix: str) -> set[str]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        rows = conn.execute(
            "select json_extract(request_headers, '$.\"x-test-id\"') from traces "
            "where json_extract(request_headers, '$.\"x-test-id\"') like ?",
            (f"{prefix}-%",),
        ).fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}


def wait_for(predicate, timeout: float, interval: float = 0.05) -> Any:
    """The first truthy value of predicate() within timeout, else its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def stats(home: Path) -> dict[str, Any]:
    from r4u_proxy.store.stats_file import read_stats

    return read_stats(home / "proxy-stats.json")


def status_json(home: Path) -> dict[str, Any]:
    result = subprocess.run(r4u_cmd("proxy", "status", "--home", str(home), "--json"), capture_output=True, text=True)
    return json.loads(result.stdout)


def children_of(pid: int) -> list[int]:
    """Every live descendant of pid (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    return sum(rss_kb(p) for p in [pid, *children_of(pid)])


class PeakTreeRss:
    """Samples the RSS of a process and all its descendants every few ms; `.peak_kb` when stopped."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.per_process: dict[int, int] = {}  # pid -> its own peak, for telling which one grew
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakTreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        tree, listed_at = [self.pid], 0.0
        while not self._stop.is_set():
            if time.monotonic() - listed_at > 0.5:  # listing /proc is the slow part: not every sample
                tree, listed_at = [self.pid, *children_of(self.pid)], time.monotonic()
            sizes = {p: rss_kb(p) for p in tree}
            self.peak_kb = max(self.peak_kb, sum(sizes.values()))
            for pid, size in sizes.items():
                self.per_process[pid] = max(self.per_process.get(pid, 0), size)
            self._stop.wait(self.interval)


def listening(port: int) -> bool:
    """Whether anything still listens on 127.0.0.1:port."""
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
