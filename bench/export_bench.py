"""`make bench-export`: what does OTLP export cost, and how fast does it go?

    live     proxy p50 latency with live export on (`--otlp-endpoint`, content on) vs off, two proxies
             against one simulator, measured back to back in each round (order rotating)
    batch    `export_otlp` of 10,000 traces (the live proxy's recorded calls, copied) to a receiver:
             traces/s for protobuf and JSON, without and with content

The receiver runs in a process of its own: it reads each request, counts the spans it holds and says 200.

    .venv/bin/python bench/export_bench.py [--rounds 3] [--requests 300] [--no-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import measure
from processes import REPO, R4uProxy, start_simulator
from report import machine_description, write_docs_section

sys.path.insert(0, str(REPO))
from r4u_proxy.export.batch import export_otlp  # noqa: E402
from r4u_proxy.export.otlp import Receiver  # noqa: E402
from r4u_proxy.export.rows import Selection  # noqa: E402

START = "<!-- export-bench:start (written by bench/export_bench.py; edits inside are overwritten) -->"
END = "<!-- export-bench:end -->"


def _serve(port_queue, spans) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "json" in (self.headers.get("Content-Type") or ""):
                count = body.count(b'"spanId"')
            else:
                message = ExportTraceServiceRequest.FromString(body)
                count = sum(len(s.spans) for r in message.resource_spans for s in r.scope_spans)
            with spans.get_lock():
                spans.value += count
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def start_receiver():
    context = multiprocessing.get_context("spawn")
    port_queue, spans = context.Queue(), context.Value("q", 0)
    process = context.Process(target=_serve, args=(port_queue, spans), daemon=True)
    process.start()
    return process, f"http://127.0.0.1:{port_queue.get(timeout=30)}/v1/traces", spans


def multiply(db: Path, target: Path, total: int) -> int:
    """Copy `db` with its traces repeated (new ids) until it holds `total`."""
    shutil.copy(db, target)
    conn = sqlite3.connect(target)
    have = conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0]
    columns = [r[1] for r in conn.execute("PRAGMA table_info(traces)") if r[1] != "id"]
    cols = ", ".join(f"[{c}]" for c in columns)
    copies = -(-total // have)  # enough copies to reach `total`
    with conn:
        conn.execute(
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {copies - 1}) "
            f"INSERT INTO traces (id, {cols}) SELECT substr(t.id, 1, 20) || printf('%06d', n.i), {cols} "
            "FROM traces t, n WHERE t.rowid <= ?",
            (have,),
        )
    count = conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0]
    conn.close()
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300, help="sequential requests per proxy per round")
    parser.add_argument("--traces", type=int, default=10_000, help="traces in the batch export")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="r4u-export-bench-"))
    receiver, url, spans = start_receiver()
    sim = start_simulator(workdir)
    off = R4uProxy(sim, workdir / "off", grouping=False)
    on = R4uProxy(sim, workdir / "on", grouping=False, extra_args=("--otlp-endpoint", url, "--otlp-content", "span"))
    (workdir / "off").mkdir()
    (workdir / "on").mkdir()
    try:
        targets = {"off": off.start(), "on": on.start()}
        results: dict[str, list[float]] = {"off": [], "on": []}
        for number in range(args.rounds):
            order = ["off", "on"] if number % 2 == 0 else ["on", "off"]
            for name in order:
                measure.warm_up(targets[name])
            for name in order:
                results[name].append(measure.sequential_latency(targets[name], args.requests).p50_ms)
        deadline = time.monotonic() + 60
        while spans.value < (on.recorded_calls() or 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        on_db = on.home / "traces.db"
    finally:
        off.stop()
        on.stop()
        sim.stop()
    recorded, live_sent = on.recorded_calls() or 0, spans.value
    if not recorded:
        raise SystemExit(f"bench-export: the proxy with export on recorded no call; see the logs in {workdir}")
    big = workdir / "big.db"
    total = multiply(on_db, big, args.traces)
    batch: dict[tuple[str, str], float] = {}
    for encoding in ("protobuf", "json"):
        for content in ("none", "span"):
            started = time.perf_counter()
            report = export_otlp(str(big), Selection(), receiver=Receiver(url, encoding=encoding), content=content)
            seconds = time.perf_counter() - started
            assert report.failed == 0, report.errors
            batch[(encoding, content)] = report.spans / seconds
    receiver.terminate()
    shutil.rmtree(workdir, ignore_errors=True)
    p50_off, p50_on = statistics.median(results["off"]), statistics.median(results["on"])
    lines = [
        "## OTLP export (`make bench-export`)",
        "",
        f"- **When:** {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; **command:** `{' '.join(['bench/export_bench.py', *sys.argv[1:]])}`",
        f"- **Machine:** {machine_description()}; shared with other engineers' processes: ratios are what to read",
        f"- **Live:** two `r4u proxy start --no-grouping`, one with `--otlp-endpoint` (content on) to a local receiver; "
        f"{args.rounds} rounds x {args.requests} sequential small chat calls each, back to back; medians of the round p50s. "
        f"{recorded:,} calls recorded, {live_sent:,} spans at the receiver by the end (warm-ups included).",
        "",
        "| proxy | p50 ms | vs export off |",
        "|---|---:|---:|",
        f"| live export off | {p50_off:.2f} | 1.00 |",
        f"| live export on | {p50_on:.2f} | {p50_on / p50_off:.2f} |",
        "",
        "Per round, on / off: " + ", ".join(f"{a / b:.2f}" for a, b in zip(results["on"], results["off"], strict=True))
        + f" (p50 off per round: {', '.join(f'{v:.1f}' for v in results['off'])} ms).",
        "",
        f"- **Batch:** `export_otlp` of {total:,} traces (the live run's calls, repeated) to the same receiver, "
        "in requests of 500 spans; includes reading SQLite, mapping and encoding.",
        "",
        "| encoding | content | traces/s |",
        "|---|---|---:|",
        *[f"| {enc} | {content} | {rate:,.0f} |" for (enc, content), rate in batch.items()],
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_docs:
        write_docs_section(REPO / "docs" / "benchmarks.md", text, START, END)


if __name__ == "__main__":
    main()
