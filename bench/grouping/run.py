"""`make bench-grouping`: the prompt corpus and the external corpus (several seeds each), the 1,000-template
scale case, and Loghub-2k beside drain3, into one report.

    python bench/grouping/run.py [--out docs/benchmarks-grouping.md] [--seeds 7 1 2]

Writes the raw numbers as JSON next to the report (bench/grouping/results.json) and the report as
Markdown. Runs on one core; on a quiet 2-core machine it takes a few minutes.
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


def _quality(s: dict) -> str:
    """GA, purity, inverse purity, template exactness, round trip, prompts/s and per CPU-s, as table cells."""
    return (
        f"{s['ga']:.3f} | {s['purity']:.3f} | {s['inverse_purity']:.3f} | {s['template_exactness']:.2f} | "
        f"{s['round_trip']:.3f} | {s['prompts_per_s']:,.0f} | {s['prompts_per_cpu_s']:,.0f}"
    )


def _prompt_rows(runs: dict[int, dict]) -> list[str]:
    lines = [
        "| seed | prompts | true templates | tasks found | GA | purity | inverse purity | template exactness | "
        "round trip | prompts/s (miner) | prompts per CPU-s | traces/s (through SQLite) | drain3 GA | drain3 clusters | "
        "drain3 prompts/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for seed, run in runs.items():
        s = run["summary"]
        d = s["drain3"]
        lines.append(
            f"| {seed} | {s['prompts']} | {s['true_templates']} | {s['clusters']} | {_quality(s)} | "
            f"{s['through_database']['traces_per_s']:,.0f} | {d['ga']:.3f} | {d['clusters']} | {d['prompts_per_s']:,.0f} |"
        )
    return lines


def _template_rows(run: dict) -> list[str]:
    lines = ["| true template | exact | tasks holding it | mined template (last 110 characters) |", "|---|---|---|---|"]
    for row in run["templates"]:
        mined = row["mined"] if len(row["mined"]) <= 110 else "…" + row["mined"][-110:]
        mined = mined.replace("\n", "⏎").replace("|", "\\|").replace("`", "'")
        lines.append(f"| {row['template']} | {'yes' if row['exact'] else 'no'} | {row['clusters']} | `{mined}` |")
    return lines


def _external_rows(runs: dict[int, dict]) -> list[str]:
    lines = [
        "| seed | prompts | true templates | near-twin templates | tasks found | GA | purity | inverse purity | "
        "template exactness | round trip | prompts/s (miner) | prompts per CPU-s | drain3 GA | drain3 clusters | "
        "exactness, adjacent variables joined |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for seed, run in runs.items():
        s = run["summary"]
        d = s.get("drain3", {})
        lines.append(
            f"| {seed} | {s['prompts']:,} | {s['true_templates']} | {s['near_twin_templates']} | {s['clusters']} | "
            f"{_quality(s)} | {d.get('ga', float('nan')):.3f} | {d.get('clusters', '—')} | "
            f"{s['template_exactness_adjacent_joined']:.2f} |"
        )
    return lines


def _scale_rows(run: dict) -> list[str]:
    s = run["summary"]
    return [
        "| templates | warm-up calls | live tasks after warm-up | warm-up prompts/s (per CPU-s) | steady calls | "
        "steady prompts/s (per CPU-s) | steady GA |",
        "|---|---|---|---|---|---|---|",
        f"| {s['templates']:,} | {s['warm_prompts']:,} | {s['live_tasks']:,} | {s['warm_prompts_per_s']:,.0f} "
        f"({s['warm_prompts_per_cpu_s']:,.0f}) | {s['steady_prompts']:,} | {s['steady_prompts_per_s']:,.0f} "
        f"({s['steady_prompts_per_cpu_s']:,.0f}) | {s['steady_ga']:.3f} |",
    ]


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
    parser.add_argument("--external-seeds", type=int, nargs="*", default=[7, 1, 2])
    parser.add_argument("--templates", type=int, default=150, help="external corpus: templates in each mix")
    parser.add_argument("--scale", type=int, default=1000, help="external corpus: live templates in the scale case")
    parser.add_argument("--no-proxy", action="store_true", help="skip the proxy latency runs (they start proxies)")
    args = parser.parse_args()

    started = time.time()
    prompts = {seed: _run("prompts.py", "--n", str(args.n), "--seed", str(seed)) for seed in args.seeds}
    external = {
        seed: _run("external.py", "--templates", str(args.templates), "--seed", str(seed)) for seed in args.external_seeds
    }
    scale = _run("external.py", "--scale", str(args.scale))
    loghub = _run("loghub.py")
    latency = None if args.no_proxy else _run("proxy_latency.py")
    results = {"prompts": prompts, "external": external, "scale": scale, "loghub": loghub, "proxy_latency": latency}
    (HERE / "results.json").write_text(json.dumps(results, indent=2))
    ext = external[args.external_seeds[0]]["summary"] if external else None

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
        "## External corpus: prompt templates from public libraries",
        "",
        f"`bench/grouping/external.py`: {args.templates} templates drawn from the 1,024 in `bench/data/prompt_templates` "
        "(string constants and template files of 27 public prompt libraries' wheels: langchain, llama-index, lm-eval, "
        "crewai, deepeval, metagpt, camel, dspy, …; near-twin pairs always drawn together), each called 3–40 times "
        "(log-uniform), values of 1–300 words from CPython's documentation and the libraries' READMEs (blank lines, "
        "Markdown and code kept), shuffled. Nothing in it was written for r4u; see the README there.",
        "",
        *_external_rows(external),
        "",
        "The last column also counts as exact a template whose only difference from the true one is two variables "
        "read as one where nothing but blanks separates them (`{a}\\n{b}`: the values hold such blanks too, so no "
        "glob template can tell where one ends).",
        "",
        f"Scale (`external.py --scale {args.scale}`): every one of {args.scale:,} templates called 4 times (the "
        "warm-up: they become live tasks), then 10 more calls each, shuffled (steady state: prompts/s while that many "
        "templates are live). Wall-clock and, in brackets, per CPU-second of the mining process (the machine may be "
        "shared).",
        "",
        *_scale_rows(scale),
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
    if ext:
        print(f"external GA {ext['ga']:.3f}, exactness {ext['template_exactness']:.2f}, {ext['prompts_per_s']:,.0f} prompts/s "
              f"({ext['prompts_per_cpu_s']:,.0f} per CPU-s); scale steady {scale['summary']['steady_prompts_per_s']:,.0f} prompts/s "
              f"({scale['summary']['steady_prompts_per_cpu_s']:,.0f} per CPU-s)")
    print(f"prompts GA {first['ga']:.3f}, exactness {first['template_exactness']:.2f}, {first['prompts_per_s']:,.0f} prompts/s; "
          f"Loghub GA {s['r4u_ga_avg']:.3f} (drain3 {s['drain3_ga_avg']:.3f}), throughput ratio {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
