"""`make bench-grouping`: the prompt corpus (several seeds) and Loghub-2k beside drain3, into one report.

    python bench/grouping/run.py [--out docs/benchmarks-grouping.md] [--seeds 7 1 2]

Writes the raw numbers as JSON next to the report (bench/grouping/results.json) and the report as
Markdown. Runs on one core; on a 2-core machine it takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _run(script: str, *args: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    try:
        subprocess.run([sys.executable, str(HERE / script), *args, "--json", str(out)], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def _prompt_rows(runs: dict[int, dict]) -> list[str]:
    lines = [
        "| seed | prompts | true templates | tasks found | GA | purity | inverse purity | template exactness | "
        "round trip | prompts/s (miner) | traces/s (through SQLite) | drain3 GA | drain3 clusters | drain3 prompts/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for seed, run in runs.items():
        s = run["summary"]
        d = s["drain3"]
        lines.append(
            f"| {seed} | {s['prompts']} | {s['true_templates']} | {s['clusters']} | {s['ga']:.3f} | {s['purity']:.3f} | "
            f"{s['inverse_purity']:.3f} | {s['template_exactness']:.2f} | {s['round_trip']:.3f} | "
            f"{s['prompts_per_s']:,.0f} | {s['through_database']['traces_per_s']:,.0f} | {d['ga']:.3f} | "
            f"{d['clusters']} | {d['prompts_per_s']:,.0f} |"
        )
    return lines


def _template_rows(run: dict) -> list[str]:
    lines = ["| true template | exact | tasks holding it | mined template (last 110 characters) |", "|---|---|---|---|"]
    for row in run["templates"]:
        mined = row["mined"] if len(row["mined"]) <= 110 else "…" + row["mined"][-110:]
        mined = mined.replace("\n", "⏎").replace("|", "\\|").replace("`", "'")
        lines.append(f"| {row['template']} | {'yes' if row['exact'] else 'no'} | {row['clusters']} | `{mined}` |")
    return lines


def _loghub_rows(run: dict) -> list[str]:
    lines = [
        "| dataset | r4u GA | drain3 GA (same run) | Drain GA (published) | r4u lines/s | drain3 lines/s | r4u groups / true |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in run["datasets"]:
        lines.append(
            f"| {r['dataset']} | {r['r4u_ga']:.3f} | {r['drain3_ga']:.3f} | {r['published_drain_ga']:.3f} | "
            f"{r['r4u_lines_per_s']:,.0f} | {r['drain3_lines_per_s']:,.0f} | {r['r4u_groups']} / {r['true_groups']} |"
        )
    s = run["summary"]
    lines.append(
        f"| **average** | **{s['r4u_ga_avg']:.3f}** | {s['drain3_ga_avg']:.3f} | {s['published_drain_ga_avg']:.3f} | "
        f"{s['r4u_lines_per_s']:,.0f} | {s['drain3_lines_per_s']:,.0f} | |"
    )
    return lines


def _latency_section(runs: list[dict] | None) -> list[str]:
    if not runs:
        return []
    lines = [
        "## Proxy latency while grouping works",
        "",
        "`bench/grouping/proxy_latency.py`: `r4u proxy start` in front of the local simulator, a traces.db seeded "
        "with a backlog of 20,000 corpus prompts (so with grouping on, the child mines the whole time), 600 "
        "sequential chat calls with httpx through the proxy; modes alternate, twice each. All processes (client, "
        "proxy, simulator, grouping child) share the 2 cores.",
        "",
        "| run | grouping | p50 ms | p95 ms | mean ms | traces grouped during the run |",
        "|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, start=1):
        lines.append(
            f"| {i} | {'on (busy)' if r['grouping'] else 'off'} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | "
            f"{r['mean_ms']:.2f} | {r['grouped_during_run']:,} |"
        )
    return [*lines, ""]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks-grouping.md")
    parser.add_argument("--seeds", type=int, nargs="*", default=[7, 1, 2, 3])
    parser.add_argument("--n", type=int, default=2500)
    parser.add_argument("--no-proxy", action="store_true", help="skip the proxy latency runs (they start proxies)")
    args = parser.parse_args()

    started = time.time()
    prompts = {seed: _run("prompts.py", "--n", str(args.n), "--seed", str(seed)) for seed in args.seeds}
    loghub = _run("loghub.py")
    latency = None if args.no_proxy else _run("proxy_latency.py")
    (HERE / "results.json").write_text(json.dumps({"prompts": prompts, "loghub": loghub, "proxy_latency": latency}, indent=2))

    first = prompts[args.seeds[0]]["summary"]
    s = loghub["summary"]
    ratio = s["r4u_lines_per_s"] / s["drain3_lines_per_s"]
    report = [
        "# Task grouping benchmarks",
        "",
        f"Generated by `make bench-grouping` (`bench/grouping/run.py`) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, one process; "
        f"took {time.time() - started:.0f} s. Raw numbers: `bench/grouping/results.json`.",
        "",
        "## Prompt corpus",
        "",
        f"`bench/grouping/corpus.py` generates prompts from {first['true_templates']} templates in the styles apps use "
        "(RAG with a pasted document, JSON extraction, few-shot classification, code review with a diff, translation, "
        "summarisation, agents with tools and multi-turn chats, SQL, e-mail, product copy), variables from one word to "
        f"several thousand characters (mean prompt {first['mean_prompt_chars']:,.0f} characters, longest "
        f"{first['max_prompt_chars']:,}); three pairs differ in a few words only (two summary formats, two translation "
        "registers, two support bots) and three templates share one boilerplate system prompt. Every prompt goes the "
        "way a stored trace goes (prompt parts → signature + grouping text → miner).",
        "",
        "- **GA** (grouping accuracy): a prompt counts when its task holds exactly the prompts of its true template.",
        "- **purity / inverse purity**: how mixed tasks are / how scattered true templates are.",
        "- **template exactness**: share of true templates whose task's template has exactly the true constant text "
        "(variables in the same places).",
        "- **round trip**: share of prompts for which template + stored values give back the prompt text exactly.",
        "- **traces/s through SQLite**: the same prompts inserted as trace rows, then `group_pending` (read, parse, "
        "mine, write tasks, variables and per-task stats).",
        "- drain3 (default config) on the same prompts, for contrast.",
        "",
        *_prompt_rows({seed: run for seed, run in prompts.items()}),
        "",
        f"Variables named from the text around them (`Question: {{question}}`, `<document>`, JSON keys, fences): "
        f"{first['variables_named_from_text']:.0%} of the variables of exact templates (seed {args.seeds[0]}); "
        "the rest are `var1`, `var2`…",
        "",
        f"Per template (seed {args.seeds[0]}):",
        "",
        *_template_rows(prompts[args.seeds[0]]),
        "",
        "## Loghub-2k beside drain3",
        "",
        "16 datasets × 2,000 lines with ground truth (`bench/data/loghub2k`, from logpai/loghub). r4u runs its log profile "
        "(same miner; tokens are words, a word with a digit or a host name is a value on sight); drain3 0.9.11 runs "
        "with one generic masking rule (a word with a digit), no per-dataset regexes. The published Drain column "
        "used per-dataset tuned regexes (ICSE-SEIP 2019).",
        "",
        *_loghub_rows(loghub),
        "",
        f"Throughput ratio r4u / drain3 on Loghub-2k (all lines, same run): {ratio:.2f}.",
        "",
        *_latency_section(latency),
    ]
    args.out.write_text("\n".join(report))
    print(f"wrote {args.out}")
    print(f"prompts GA {first['ga']:.3f}, exactness {first['template_exactness']:.2f}, {first['prompts_per_s']:,.0f} prompts/s; "
          f"Loghub GA {s['r4u_ga_avg']:.3f} (drain3 {s['drain3_ga_avg']:.3f}), throughput ratio {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
