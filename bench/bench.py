"""`make bench`: what does recording cost? The same httpx client against the simulator three ways.

    direct     client → simulator (HTTPS)
    mitmdump   client → bare mitmdump (same mitmproxy, no addon) → simulator
    r4u        client → `r4u proxy start` (recording into SQLite) → simulator

The simulator, mitmdump and r4u each run in their own process; this process is only the client. In each
round every path is warmed up, then each metric is taken for the paths back to back (the order rotates by
round); the table shows medians over rounds.

    .venv/bin/python bench/bench.py [--rounds 3] [--requests 500] [--quick] [--no-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import measure
from processes import REPO, Mitmdump, R4uProxy, Target, direct_target, start_simulator
from report import Summary, console_table, machine_description, markdown_table, summarise, write_docs_section


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="repeats of every measurement (median is shown)")
    parser.add_argument("--requests", type=int, default=500, help="sequential requests per latency round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--concurrent-requests", type=int, default=1600, help="requests per throughput round")
    parser.add_argument("--stream-events", type=int, default=50)
    parser.add_argument("--stream-gap-ms", type=int, default=10)
    parser.add_argument("--streams", type=int, default=5, help="streams per round (median is kept)")
    parser.add_argument("--no-grouping", action="store_true", help="start r4u without its grouping process")
    parser.add_argument("--no-r4u", action="store_true", help="measure direct and mitmdump only")
    parser.add_argument("--quick", action="store_true", help="1 round, fewer requests: a smoke run")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.requests, args.concurrent_requests, args.streams = 1, 200, 400, 3
    return args


def measure_round(
    targets: dict[str, Target], order: list[str], floors: dict[str, Target], args: argparse.Namespace
) -> dict[str, dict]:
    """One round: every metric is taken for the paths back to back, so the paths it compares were
    measured seconds apart and share whatever else the machine was doing then (other tenants' load
    moves on a scale of seconds; measuring one path fully, then the next, let it skew the ratios).
    `floors` are extra proxies measured for streams only, in the same stretch of time."""
    for name in order + list(floors):
        measure.warm_up(targets.get(name) or floors[name])
    row: dict[str, dict[str, float]] = {name: {} for name in order}
    for name in order:
        latency = measure.sequential_latency(targets[name], args.requests)
        row[name]["p50_ms"], row[name]["p95_ms"] = latency.p50_ms, latency.p95_ms
        row[name]["proxy_cpu_ms"] = latency.proxy_cpu_ms if latency.proxy_cpu_ms is not None else float("nan")
    for name in order:
        row[name]["rps"] = measure.concurrent_throughput(targets[name], args.concurrency, args.concurrent_requests)
    for name in order + list(floors):
        target = targets.get(name) or floors[name]
        stream = measure.stream_timing(target, args.stream_events, args.stream_gap_ms, args.streams)
        row.setdefault(name, {})
        row[name]["first_event_ms"], row[name]["stream_total_ms"] = stream.first_event_ms, stream.total_ms
    return row


def stream_floor_note(floor_firsts: dict[str, list[float]], results: dict[str, list[dict]]) -> str:
    def median_first(values: list[float]) -> str:
        return f"{statistics.median(values):.1f} ms"

    parts = [f"{FLOOR_LABELS[name]}: {median_first(values)}" for name, values in floor_firsts.items()]
    for name in ("r4u", "direct"):
        if results.get(name):
            parts.append(f"{name}: {median_first([row['first_event_ms'] for row in results[name]])}")
    return "Time to first SSE event, the same rounds, medians: " + "; ".join(parts) + "."


FLOOR_LABELS = {
    "streaming": "bare mitmdump streaming bodies (`--set stream_large_bodies=1`)",
    "lean": "mitmproxy as r4u embeds it, streaming, without r4u's addons (`bench/lean_mitmproxy.py`)",
}


def requests_per_round(args: argparse.Namespace) -> int:
    return 50 + args.requests + args.concurrency + args.concurrent_requests + args.streams


def reading(summary: Summary) -> str:
    """Plain-words takeaways computed from the medians (so they never disagree with the table)."""
    m = summary.medians
    if not {"direct", "mitmdump", "r4u"} <= m.keys():
        return ""
    r4u, bare, direct = m["r4u"], m["mitmdump"], m["direct"]
    lines = [
        f"- Per call, r4u adds {r4u['p50_ms'] - direct['p50_ms']:.1f} ms at p50 over direct; bare mitmproxy "
        f"alone adds {bare['p50_ms'] - direct['p50_ms']:.1f} ms, so r4u's own share is "
        f"{r4u['p50_ms'] - bare['p50_ms']:.1f} ms.",
        f"- Proxy CPU per call: {r4u['proxy_cpu_ms']:.2f} ms for r4u vs {bare['proxy_cpu_ms']:.2f} ms for bare "
        "mitmdump (process tree, /proc): the steadier number on a shared machine.",
        f"- Streams: r4u delivers the first event {r4u['first_event_ms']:.1f} ms after the request "
        f"(direct: {direct['first_event_ms']:.1f} ms) and the whole {r4u['stream_total_ms']:.0f} ms stream "
        f"within {r4u['stream_total_ms'] - direct['stream_total_ms']:.0f} ms of direct: nothing is buffered.",
    ]
    return "\n".join(lines) + "\n"


def docs_body(
    summary: Summary, args: argparse.Namespace, argv: list[str], notes: dict[str, str],
    started: dt.datetime, seconds: float,
) -> str:  # fmt: skip
    command = "make bench" if not argv else f".venv/bin/python bench/bench.py {shlex.join(argv)}"
    return f"""## Proxy overhead (`make bench`)

- **When:** {started:%Y-%m-%d %H:%M} UTC, {seconds:.0f} s run
- **Machine:** {machine_description()}; other engineers' processes shared it, so treat single numbers as ±10–20 %
- **Command:** `{command}`
- **What:** {args.rounds} rounds; in each, every path is warmed up with 50 requests, then each metric is
  taken for the three paths back to back (the order rotates by round); the table shows the median over
  rounds. Latency: {args.requests} sequential small JSON chat completions on one
  keep-alive connection. Throughput: {args.concurrent_requests} requests with {args.concurrency} in flight
  (one thread with its own httpx client and connection each). Stream: {args.stream_events} events {args.stream_gap_ms} ms apart
  (`x-sim-events`, `x-sim-gap-ms`), median of {args.streams} per round; "first SSE event" is request sent →
  the first `data:` bytes at the client.

{markdown_table(summary)}

{reading(summary)}{("- " + notes["stream_floor"] + chr(10)) if "stream_floor" in notes else ""}
How each path reaches the simulator (HTTPS, its own CA, run as `python -m r4u_proxy.simulator`):
- **direct**: `https://127.0.0.1:PORT/v1/chat/completions`; the simulator's certificate carries 127.0.0.1 as
  a SAN, so the client verifies TLS without DNS tricks.
- **mitmdump**: the same URL through `mitmdump -q --set confdir=… --set ssl_verify_upstream_trusted_ca=<sim
  CA>`. Bare mitmproxy buffers event streams (no `flow.response.stream`), so its first event arrives with the
  last one: that is mitmproxy's default, shown for contrast.
- **stream floors** (first SSE event only, measured in the same rounds): the same mitmdump with
  `--set stream_large_bodies=1`, and `bench/lean_mitmproxy.py`, mitmproxy exactly as r4u embeds it (the same
  `Master` and six mitmproxy addons, every response streamed) without r4u's addons. The latter is what
  mitmproxy itself costs on the path to the first event: r4u's recording can only add to it.
- **r4u**: `https://api.openai.com/v1/chat/completions` through `r4u proxy start --no-ui --upstream-ca <sim
  CA> --resolve api.openai.com=127.0.0.1:PORT` ({notes.get("grouping", "not run")}), so every call is
  intercepted, parsed and written to SQLite. {notes.get("recorded", "")}

The client, the simulator and the proxy share 2 cores, so the direct path is partly limited by the Python
client itself; ratios against bare mitmdump isolate what r4u's addons and recording add.
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started, clock = dt.datetime.now(dt.UTC), time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="r4u-bench-"))
    missing: dict[str, str] = {}
    sim = start_simulator(workdir)
    mitmdump = Mitmdump(sim, workdir)
    # Floors for the time to first SSE event (bare mitmdump buffers streams, so it shows none).
    floor_proxies = [Mitmdump(sim, workdir, "streaming"), Mitmdump(sim, workdir, "lean")]
    r4u: R4uProxy | None = None
    notes: dict[str, str] = {}
    try:
        targets = {"direct": direct_target(sim), "mitmdump": mitmdump.start()}
        floors = {proxy.variant: proxy.start() for proxy in floor_proxies}
        floor_firsts: dict[str, list[float]] = {name: [] for name in floors}
        why_not = "skipped (--no-r4u)" if args.no_r4u else R4uProxy.available()
        if why_not is None:
            r4u = R4uProxy(sim, workdir, grouping=not args.no_grouping)
            try:
                targets["r4u"] = r4u.start()
            except RuntimeError as error:
                why_not = str(error)
        if why_not is not None:
            missing["r4u"] = why_not

        results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        names = list(targets)
        for round_index in range(args.rounds):
            order = names[round_index % len(names):] + names[: round_index % len(names)]
            measured = measure_round(targets, order, floors, args)
            for name in floors:
                floor_firsts[name].append(measured[name]["first_event_ms"])
            for name in order:
                results[name].append(measured[name])
                row = measured[name]
                print(f"round {round_index + 1}/{args.rounds} {name:9s} p50 {row['p50_ms']:.2f} ms  "
                      f"p95 {row['p95_ms']:.2f} ms  {row['rps']:.0f} req/s  first event "
                      f"{row['first_event_ms']:.1f} ms / {row['stream_total_ms']:.0f} ms", flush=True)

        if floor_firsts:
            notes["stream_floor"] = stream_floor_note(floor_firsts, results)
            print(notes["stream_floor"])

        if r4u is not None and "r4u" in targets:
            time.sleep(2)  # let the writer flush its last batch
            expected = args.rounds * requests_per_round(args)
            recorded = r4u.recorded_calls()
            notes["recorded"] = f"It recorded {recorded} traces for the {expected} calls sent."
            notes["grouping"] = r4u.grouping_note()
            print(notes["recorded"], "-", notes["grouping"])
    finally:
        if r4u is not None:
            r4u.stop()
        mitmdump.stop()
        for proxy in floor_proxies:
            proxy.stop()
        sim.stop()

    summary = summarise(results, missing)
    print()
    print(console_table(summary))
    if not args.no_docs:
        seconds = time.monotonic() - clock
        doc = REPO / "docs" / "benchmarks.md"
        write_docs_section(doc, docs_body(summary, args, argv, notes, started, seconds))
        print(f"\nwrote {doc.relative_to(REPO)}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
