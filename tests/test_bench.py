"""`make bench` runs end to end: the three paths, the stream floors, the table with its ratios, and every call
sent through r4u recorded. A tiny configuration, so it checks that the bench works, not how fast r4u is."""

from __future__ import annotations

import re
import subprocess
import sys

from support.proxy import REPO

TINY = [
    "--rounds", "1", "--requests", "30", "--concurrency", "4", "--concurrent-requests", "40",
    "--streams", "3", "--stream-events", "20", "--stream-gap-ms", "10", "--no-docs",
]  # fmt: skip


def test_bench_measures_all_paths_and_prints_ratios(tmp_path):
    docs_before = (REPO / "docs" / "benchmarks.md").read_bytes()
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench.py"), *TINY],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    out = run.stdout

    # the console table: a label, then direct, mitmdump, r4u and three ratios, cells 2+ spaces apart
    table = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()]
    rows = {cells[0]: cells[1:] for cells in table if re.match(r"^(latency|throughput|stream)", cells[0])}
    assert len(rows) == 5, out[-2000:]
    for label, cells in rows.items():
        assert len(cells) == 6 and all(cell.endswith("×") for cell in cells[3:]), (label, cells)
    assert "not available" not in out

    # bare mitmdump buffers the stream, r4u does not: its first event comes long before the last one
    _, buffered_first, r4u_first = (float(cell.replace(",", "")) for cell in rows["stream: first SSE event (ms)"][:3])
    assert r4u_first < buffered_first / 3, rows["stream: first SSE event (ms)"]

    # the floors were measured in the same rounds, and r4u recorded every call it was sent
    assert "bench/lean_mitmproxy.py" in out and "stream_large_bodies" in out
    recorded = re.search(r"It recorded (\d+) traces for the (\d+) calls sent", out)
    assert recorded and recorded.group(1) == recorded.group(2), out[-1500:]

    assert (REPO / "docs" / "benchmarks.md").read_bytes() == docs_before  # --no-docs leaves the docs alone


def test_startup_bench_times_r4u_run_and_the_node_preload(tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "bench" / "startup.py"), "--runs", "2", "--no-docs"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    rows = {line.split("|")[1].strip(): line for line in run.stdout.splitlines() if line.startswith("| ")}
    assert {"true", "python -c pass", "r4u run -- true", "node -e 0", "node -e 0 + preload"} <= set(rows)
    assert re.search(r"`r4u run -- true` adds \*\*-?\d+ ms\*\* wall time", run.stdout)
