"""WebSocket overhead: what recording adds per message, and messages/s for a stream of small deltas.

    direct   client → simulator (wss://127.0.0.1:PORT)
    bare     client → mitmproxy as r4u embeds it, none of r4u's addons (bench/lean_mitmproxy.py) → simulator
    r4u      client → `r4u proxy start` (recording every response into SQLite) → simulator

Each round runs every path back to back (the order rotates by round); the table shows medians over rounds.
The client (bench/ws_client.py, the `websockets` library in .venv-app) and the simulator run in their own
processes. Added time per message = (r4u round trip − bare round trip) / 2: each round trip is one message
each way through the proxy.

    .venv/bin/python bench/websocket_bench.py [--rounds 3] [--echoes 300] [--deltas 5000] [--no-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from processes import REPO, Mitmdump, R4uProxy, Target, cpu_seconds, direct_target, start_simulator
from report import machine_description, write_docs_section

from r4u_proxy.reports.metrics import percentiles

APP_PYTHON = REPO / ".venv-app" / "bin" / "python"
CLIENT = REPO / "bench" / "ws_client.py"
DOC = REPO / "docs" / "benchmarks.md"
START = "<!-- websocket-bench:start (written by bench/websocket_bench.py; edits inside are overwritten) -->"
END = "<!-- websocket-bench:end -->"


def ws_url(target: Target) -> str:
    return target.url.replace("https://", "wss://").replace("/v1/chat/completions", "/v1/responses")


def run_client(target: Target, mode: str, count: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["SSL_CERT_FILE"] = str(target.ca_file)
    if target.proxy:
        env["HTTPS_PROXY"] = env["https_proxy"] = target.proxy
    result = subprocess.run([str(APP_PYTHON), str(CLIENT), mode, ws_url(target), str(count)], env=env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"{target.name} {mode}: {result.stderr[-1500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def with_peak_rss(pid: int | None, work) -> tuple[dict, float | None]:
    """Run `work()` while sampling the proxy's resident memory: (its result, peak growth in MB)."""
    if pid is None:
        return work(), None
    start, peak, done = rss_kb(pid), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = work()
    finally:
        done.set()
        sampler.join()
    return result, max(peak[0] - start, 0) / 1024


def own_cpu_seconds(pid: int) -> float:
    """CPU time of the process alone (for r4u: the event loop's side, without the writer process)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(target: Target, echoes: int, deltas: int, long_deltas: int) -> dict[str, float]:
    run_client(target, "echo", 20)  # warm: TLS, certificate minting, imports
    rtt = percentiles(run_client(target, "echo", echoes)["rtts"])  # nearest rank, as everywhere in r4u
    nan = float("nan")
    tree_before = cpu_seconds(target.pid) if target.pid else None
    own_before = own_cpu_seconds(target.pid) if target.pid else None
    streamed = run_client(target, "stream", deltas)
    time.sleep(0.5)  # the writer process finishes the trace after the last message
    cpu_tree = cpu_own = nan
    if target.pid and tree_before is not None and own_before is not None:
        cpu_tree = ((cpu_seconds(target.pid) or 0) - tree_before) / streamed["messages"] * 1e6
        cpu_own = (own_cpu_seconds(target.pid) - own_before) / streamed["messages"] * 1e6
    _, growth = with_peak_rss(target.pid, lambda: run_client(target, "stream", long_deltas))
    return {
        "rtt_ms": rtt["p50"] * 1000,
        "rtt_p95_ms": rtt["p95"] * 1000,
        "stream_msgs_per_s": streamed["messages"] / streamed["seconds"],
        "stream_messages": streamed["messages"],
        "cpu_us_per_message": cpu_tree,
        "cpu_own_us_per_message": cpu_own,
        "rss_growth_mb": growth if growth is not None else nan,
    }


def table(results: dict[str, dict[str, float]]) -> list[str]:
    rows = ["| path | echo round trip, p50 | p95 | stream of small deltas | proxy CPU per streamed message "
            "(all processes / proxy process) | proxy memory, long connection |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for name, m in results.items():
        known = m["rss_growth_mb"] == m["rss_growth_mb"]  # NaN for direct: no proxy
        memory = f"+{m['rss_growth_mb']:.1f} MB peak" if known else "—"
        cpu = f"{m['cpu_us_per_message']:.0f} µs / {m['cpu_own_us_per_message']:.0f} µs" if known else "—"
        rows.append(f"| {name} | {m['rtt_ms']:.3f} ms | {m['rtt_p95_ms']:.3f} ms "
                    f"| {m['stream_msgs_per_s']:,.0f} messages/s ({m['stream_messages']:.0f} messages) "
                    f"| {cpu} | {memory} |")  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--echoes", type=int, default=300)
    parser.add_argument("--deltas", type=int, default=5000)
    parser.add_argument("--long-deltas", type=int, default=20_000, help="messages on the long connection")
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="r4u-ws-bench-"))
    sim = start_simulator(workdir)
    bare, r4u = Mitmdump(sim, workdir, variant="lean"), R4uProxy(sim, workdir)
    rounds: dict[str, list[dict[str, float]]] = {"direct": [], "bare": [], "r4u": []}
    try:
        targets = {"direct": direct_target(sim), "bare": bare.start(), "r4u": r4u.start()}
        for number in range(args.rounds):
            order = list(targets)[number % 3 :] + list(targets)[: number % 3]
            for name in order:
                rounds[name].append(measure(targets[name], args.echoes, args.deltas, args.long_deltas))
                print(f"round {number + 1} {name}: {rounds[name][-1]}", file=sys.stderr)
        recorded = r4u.recorded_calls()
    finally:
        r4u.stop()
        bare.stop()
        sim.stop()
    medians = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for name, runs in rounds.items()}
    added = (medians["r4u"]["rtt_ms"] - medians["bare"]["rtt_ms"]) / 2
    lines = table(medians)
    cpu_added = medians["r4u"]["cpu_us_per_message"] - medians["bare"]["cpu_us_per_message"]
    own_added = medians["r4u"]["cpu_own_us_per_message"] - medians["bare"]["cpu_own_us_per_message"]
    summary = [
        f"- added time per WebSocket message through r4u vs bare mitmproxy: **{added * 1000:+.0f} µs** "
        f"(half the difference of the p50 echo round trips)",
        f"- added CPU per streamed message: **{cpu_added:+.0f} µs** in all of r4u's processes (parsing and the "
        f"SQLite write included), {own_added:+.0f} µs in the proxy process (the event loop's side)",
        f"- {args.deltas:,} small deltas: r4u {medians['r4u']['stream_msgs_per_s']:,.0f} messages/s, bare "
        f"{medians['bare']['stream_msgs_per_s']:,.0f}, direct {medians['direct']['stream_msgs_per_s']:,.0f} "
        f"(r4u / bare {medians['r4u']['stream_msgs_per_s'] / medians['bare']['stream_msgs_per_s']:.2f}x)",
        f"- r4u wrote {recorded} traces for api.openai.com in the run (one per streamed response; echoes are "
        "no model response)",
    ]
    print("\n".join(lines + [""] + summary))
    if not args.no_docs:
        command = "python bench/websocket_bench.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        body = "\n".join([
            "## WebSocket overhead (`bench/websocket_bench.py`)",
            "",
            f"{dt.date.today().isoformat()}, `{command.strip()}`, {args.rounds} rounds, medians; "
            f"{machine_description()}.",
            "",
            *lines, "", *summary, "",
            "Echo: one small JSON text message sent, the simulator's echo awaited, repeated; stream: one "
            "`response.create` answered by that many `response.output_text.delta` messages, timed from the first "
            "message to `response.completed` at the client. Both without compression. Proxy memory: the peak "
            f"growth of the proxy process's resident memory during one response of {args.long_deltas:,} "
            "deltas (bare mitmproxy keeps every message of a connection until it closes; r4u empties that "
            "list and hands its copies to the writer process, whose memory is not counted here).",
            "",
            "On a shared machine the round trips swing by milliseconds from round to round (kernel send() calls waiting for a core), so their difference can even come out negative; the CPU per message, from /proc, is the steadier measure of what r4u adds.",
        ])  # fmt: skip
        write_docs_section(DOC, body, START, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
