"""Loghub-2k: r4u's miner (logs profile) beside drain3, GA per dataset and lines/s, in one run.

    python bench/grouping/loghub.py [--fixtures DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from metrics import grouping_accuracy  # noqa: E402

from r4u_proxy.grouping.log_miner import LogMiner  # noqa: E402
from r4u_proxy.grouping.profile import LOGS  # noqa: E402

DEFAULT_FIXTURES = Path(__file__).resolve().parents[1] / "data" / "loghub2k"
# Published GA (README of the fixtures): Drain with per-dataset tuned regexes.
PUBLISHED_DRAIN = {
    "HDFS": 0.998, "Hadoop": 0.948, "Spark": 0.920, "Zookeeper": 0.967, "BGL": 0.963, "HPC": 0.887,
    "Thunderbird": 0.955, "Windows": 0.997, "Linux": 0.690, "Android": 0.911, "HealthApp": 0.780,
    "Apache": 1.0, "Proxifier": 0.527, "OpenSSH": 0.788, "OpenStack": 0.733, "Mac": 0.787,
}


def load(dataset_dir: Path) -> tuple[list[str], list[str]]:
    path = next(dataset_dir.glob("*_2k.log_structured.csv"))
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["Content"] for r in rows], [r["EventId"] for r in rows]


def run_r4u(lines: list[str]) -> tuple[list[int], float]:
    miner = LogMiner(LOGS)
    start = time.perf_counter()
    assigned = [miner.add("", line)[0] for line in lines]
    elapsed = time.perf_counter() - start
    return _resolve(miner, lines, assigned), elapsed


def _resolve(miner: LogMiner, lines: list[str], assigned: list[int]) -> list[int]:
    """Each line's final cluster: follow merges; lines of a split cluster go to the template that fits now."""
    merged = {e.cluster: e.into for e in miner.take_events() if e.kind == "merged"}
    final = []
    for line, cid in zip(lines, assigned, strict=True):
        while cid in merged:
            cid = merged[cid]
        if cid not in miner.clusters:
            found = miner.match("", line)
            cid = found[0] if found else -1
        final.append(cid)
    return final


def run_drain3(lines: list[str]) -> tuple[list[int], float]:
    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.profiling_enabled = False
    # The same generic rule r4u uses (a token with a digit is a variable); no per-dataset regexes.
    config.masking_instructions = [MaskingInstruction(r"(?<!\S)\S*\d\S*(?!\S)", "NUM")]
    miner = TemplateMiner(config=config)
    start = time.perf_counter()
    results = [miner.add_log_message(line)["cluster_id"] for line in lines]
    elapsed = time.perf_counter() - start
    # drain3 clusters only grow; a line's final cluster is the one it was last put in.
    return results, elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    rows = []
    for name in PUBLISHED_DRAIN:
        if args.only and name not in args.only:
            continue
        lines, truth = load(args.fixtures / name)
        ours, t_ours = run_r4u(lines)
        theirs, t_theirs = run_drain3(lines)
        rows.append({
            "dataset": name, "lines": len(lines),
            "r4u_ga": grouping_accuracy(truth, ours), "drain3_ga": grouping_accuracy(truth, theirs),
            "published_drain_ga": PUBLISHED_DRAIN[name],
            "r4u_lines_per_s": len(lines) / t_ours, "drain3_lines_per_s": len(lines) / t_theirs,
            "r4u_groups": len(set(ours)), "true_groups": len(set(truth)),
        })
        r = rows[-1]
        print(f"{name:12} r4u GA {r['r4u_ga']:.3f}  drain3 GA {r['drain3_ga']:.3f}  (published Drain "
              f"{r['published_drain_ga']:.3f})  r4u {r['r4u_lines_per_s']:8.0f}/s  drain3 "
              f"{r['drain3_lines_per_s']:8.0f}/s  groups {r['r4u_groups']}/{r['true_groups']}", flush=True)
    n = len(rows)
    summary = {
        "r4u_ga_avg": sum(r["r4u_ga"] for r in rows) / n,
        "drain3_ga_avg": sum(r["drain3_ga"] for r in rows) / n,
        "published_drain_ga_avg": sum(r["published_drain_ga"] for r in rows) / n,
        "r4u_lines_per_s": sum(r["lines"] for r in rows) / sum(r["lines"] / r["r4u_lines_per_s"] for r in rows),
        "drain3_lines_per_s": sum(r["lines"] for r in rows)
        / sum(r["lines"] / r["drain3_lines_per_s"] for r in rows),
    }
    print(f"{'average':12} r4u GA {summary['r4u_ga_avg']:.3f}  drain3 GA {summary['drain3_ga_avg']:.3f}  "
          f"(published Drain {summary['published_drain_ga_avg']:.3f})  r4u {summary['r4u_lines_per_s']:.0f}/s  "
          f"drain3 {summary['drain3_lines_per_s']:.0f}/s  ratio "
          f"{summary['r4u_lines_per_s'] / summary['drain3_lines_per_s']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"datasets": rows, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
