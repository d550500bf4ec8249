"""The prompt corpus through r4u's miner: GA, purity, inverse purity, template exactness, prompts/s.

    python bench/grouping/prompts.py [--n 2500] [--seed 7] [--json OUT]

Each sample goes through the same path as a stored trace: prompt parts -> signature + grouping text
-> Miner.add. Splits and merges are followed the way the database adapter follows them (a split
cluster's members are fed again), so the scores are those of the final assignment.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import SPECS, generate, true_template  # noqa: E402
from metrics import grouping_accuracy, inverse_purity, purity  # noqa: E402

from r4u_proxy.grouping.miner import Miner  # noqa: E402
from r4u_proxy.grouping.naming import variable_names  # noqa: E402
from r4u_proxy.grouping.parts import grouping_text, signature  # noqa: E402


def mine(keys: list[str], texts: list[str]) -> tuple[Miner, list[int]]:
    """Feed every text; follow merges and splits; return each text's final cluster."""
    miner = Miner()
    members: dict[int, list[int]] = defaultdict(list)
    assigned: list[int] = [0] * len(texts)

    def feed(i: int) -> None:
        cid, _ = miner.add(keys[i], texts[i])
        assigned[i] = cid
        members[cid].append(i)

    for i in range(len(texts)):
        feed(i)
        while events := miner.take_events():
            for event in events:
                if event.kind == "merged":
                    moved = members.pop(event.cluster, [])
                    members[event.into].extend(moved)
                    for j in moved:
                        assigned[j] = event.into
                elif event.kind == "split":
                    for j in members.pop(event.cluster, []):
                        feed(j)
    return miner, assigned


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    samples = generate(args.n, args.seed)
    start = time.perf_counter()
    keys = [signature(s.provider, s.operation, s.parts) for s in samples]
    texts = [grouping_text(s.parts) for s in samples]
    miner, assigned = mine(keys, texts)
    elapsed = time.perf_counter() - start
    truth = [s.template for s in samples]

    # Template exactness: the cluster holding most of a true template's prompts has exactly its constants.
    exact, names_right, names_total, round_trips = 0, 0, 0, 0
    report = []
    for spec in SPECS:
        constants, true_names = true_template(spec)
        clusters = Counter(c for c, t in zip(assigned, truth, strict=True) if t == spec.name)
        if not clusters:
            continue
        cluster = miner.clusters[clusters.most_common(1)[0][0]]
        is_exact = cluster.template.constants == constants
        exact += is_exact
        names = variable_names(cluster.template)
        if is_exact:
            names_total += len(true_names)
            names_right += sum(a == b for a, b in zip(names, true_names, strict=True))
        report.append({"template": spec.name, "exact": is_exact, "clusters": len(clusters),
                       "mined": cluster.template.format_string(names)[:300]})
    for cid, text in zip(assigned, texts, strict=True):
        template = miner.clusters[cid].template
        values = template.match(text)
        round_trips += values is not None and template.render(values) == text

    result = {
        "prompts": len(samples), "true_templates": len(set(truth)), "clusters": len(set(assigned)),
        "ga": grouping_accuracy(truth, assigned), "purity": purity(truth, assigned),
        "inverse_purity": inverse_purity(truth, assigned),
        "template_exactness": exact / len(report), "variable_names_right": names_right / max(1, names_total),
        "round_trip": round_trips / len(samples), "prompts_per_s": len(samples) / elapsed,
        "mean_prompt_chars": sum(map(len, texts)) / len(texts), "max_prompt_chars": max(map(len, texts)),
    }
    for row in report:
        if not row["exact"] or row["clusters"] > 1:
            print(f"  {row['template']:22} exact={row['exact']} clusters={row['clusters']}  {row['mined']!r:.200}")
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": result, "templates": report}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
