"""The external prompt corpus through r4u's miner: GA, template exactness, prompts/s; and the scale case.

    python bench/grouping/external.py [--templates 150] [--seed 7] [--json OUT]
    python bench/grouping/external.py --scale 1000 [--json OUT]

The mix: `--templates` real templates from public prompt libraries (external_corpus.py), each called 3-40
times, shuffled. The scale case: 1,000 templates, every one called `--warm` times (all of them become
live tasks), then `--steady` more calls over the same templates: prompts/s while 1,000 templates are live.
Both report wall-clock and CPU time of this process (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from external_corpus import generate  # noqa: E402
from metrics import grouping_accuracy, inverse_purity, purity  # noqa: E402
from prompts import mine, run_drain3  # noqa: E402

from r4u_proxy.grouping.naming import variable_names  # noqa: E402
from r4u_proxy.grouping.parts import grouping_text, signature  # noqa: E402


def _timed(keys: list[str], texts: list[str]):
    wall, cpu = time.perf_counter(), time.process_time()
    miner, assigned = mine(keys, texts)
    return miner, assigned, time.perf_counter() - wall, time.process_time() - cpu


def score(samples, truth_constants, miner, assigned) -> tuple[dict, list[dict]]:
    truth = [s.template for s in samples]
    exact, joined, report = 0, 0, []
    by_template: dict[str, Counter] = {}
    for cid, t in zip(assigned, truth, strict=True):
        by_template.setdefault(t, Counter())[cid] += 1
    for template_id, clusters in by_template.items():
        cluster = miner.clusters[clusters.most_common(1)[0][0]]
        is_exact = cluster.template.constants == truth_constants[template_id]
        exact += is_exact
        joined += is_exact or cluster.template.constants == adjacent_joined(truth_constants[template_id])
        names = variable_names(cluster.template)
        report.append({"template": template_id, "exact": is_exact, "clusters": len(clusters),
                       "calls": sum(clusters.values()), "mined": cluster.template.format_string(names)})
    round_trips = 0
    texts = [grouping_text(s.parts) for s in samples]
    for cid, text in zip(assigned, texts, strict=True):
        values = miner.clusters[cid].template.match(text)
        round_trips += values is not None and miner.clusters[cid].template.render(values) == text
    return {
        "prompts": len(samples), "true_templates": len(by_template), "clusters": len(set(assigned)),
        "ga": grouping_accuracy(truth, assigned), "purity": purity(truth, assigned),
        "inverse_purity": inverse_purity(truth, assigned), "template_exactness": exact / len(by_template),
        "template_exactness_adjacent_joined": joined / len(by_template),
        "round_trip": round_trips / len(samples),
        "mean_prompt_chars": sum(map(len, texts)) / len(texts), "max_prompt_chars": max(map(len, texts)),
    }, report


def adjacent_joined(constants: tuple[str, ...]) -> tuple[str, ...]:
    """The true constants with every pair of variables that only blanks separate (`{a}\\n{b}`) read as one
    variable: the values hold such blanks too, so no glob template can tell where one ends."""
    joined = [constants[0]]
    for const in constants[1:-1]:
        if const.strip():
            joined.append(const)
    joined.append(constants[-1])
    return tuple(joined) if len(constants) > 1 else constants


def run_mix(args) -> dict:
    samples, truth_constants = generate(args.templates, args.seed)
    keys = [signature(s.provider, s.operation, s.parts) for s in samples]
    texts = [grouping_text(s.parts) for s in samples]
    miner, assigned, wall, cpu = _timed(keys, texts)
    result, report = score(samples, truth_constants, miner, assigned)
    result.update(prompts_per_s=len(texts) / wall, prompts_per_cpu_s=len(texts) / cpu, seed=args.seed,
                  near_twin_templates=sum(1 for s in set(s.template for s in samples) if _is_twin(s)))
    if not args.no_drain3:
        ids, seconds = run_drain3(texts)
        truth = [s.template for s in samples]
        result["drain3"] = {"ga": grouping_accuracy(truth, ids), "clusters": len(set(ids)), "prompts_per_s": len(texts) / seconds}
    return {"summary": result, "templates": report}


def _is_twin(template_id: str) -> bool:
    from external_corpus import templates

    rows = {r["id"]: r for r in templates()}
    return bool(rows[template_id].get("twin_of")) or any(r.get("twin_of") == template_id for r in rows.values())


def run_scale(args) -> dict:
    warm, truth_constants = generate(args.scale, args.seed, calls=(args.warm, args.warm))
    steady, _ = generate(args.scale, args.seed + 1, calls=(args.steady_per_template, args.steady_per_template))
    random.Random(args.seed).shuffle(steady)
    samples = warm + steady
    keys = [signature(s.provider, s.operation, s.parts) for s in samples]
    texts = [grouping_text(s.parts) for s in samples]
    # Timed in two phases on one miner: learning the templates, then traffic over them.
    import prompts as prompts_module

    from r4u_proxy.grouping.miner import Miner

    miner_holder: dict = {}
    real_miner = prompts_module.Miner

    def keep(*a, **k):
        miner_holder["m"] = real_miner(*a, **k)
        return miner_holder["m"]

    prompts_module.Miner = keep
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        miner, assigned = mine(keys[: len(warm)], texts[: len(warm)])
        warm_wall, warm_cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        prompts_module.Miner = real_miner
    live = len(miner.clusters)
    wall, cpu = time.perf_counter(), time.process_time()
    steady_assigned = [miner.add(k, t)[0] for k, t in zip(keys[len(warm):], texts[len(warm):], strict=True)]
    steady_wall, steady_cpu = time.perf_counter() - wall, time.process_time() - cpu
    miner.take_events()
    truth = [s.template for s in steady]
    assert isinstance(miner, Miner)
    return {"summary": {
        "templates": args.scale, "warm_prompts": len(warm), "steady_prompts": len(steady), "live_tasks": live,
        "warm_prompts_per_s": len(warm) / warm_wall, "warm_prompts_per_cpu_s": len(warm) / warm_cpu,
        "steady_prompts_per_s": len(steady) / steady_wall, "steady_prompts_per_cpu_s": len(steady) / steady_cpu,
        "steady_ga": grouping_accuracy(truth, steady_assigned),
        "warm_ga": grouping_accuracy([s.template for s in warm], assigned),
    }}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--templates", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=int, help="the scale case with this many live templates")
    parser.add_argument("--warm", type=int, default=4, help="scale case: calls per template to learn them")
    parser.add_argument("--steady-per-template", type=int, default=10)
    parser.add_argument("--no-drain3", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--show", action="store_true", help="print the templates that are not exact")
    args = parser.parse_args()
    result = run_scale(args) if args.scale else run_mix(args)
    if args.show and "templates" in result:
        for row in result["templates"]:
            if not row["exact"] or row["clusters"] > 1:
                print(f"  {row['template']} calls={row['calls']} clusters={row['clusters']}  {row['mined'][:300]!r}")
    print(json.dumps(result["summary"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
