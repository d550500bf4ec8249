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


def run_drain3(texts: list[str]) -> tuple[list[int], float]:
    """drain3 on the same texts (one line each: its tokens are whitespace-separated anyway)."""
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    config.profiling_enabled = False
    miner = TemplateMiner(config=config)
    start = time.perf_counter()
    ids = [miner.add_log_message(" ".join(t.split()))["cluster_id"] for t in texts]
    return ids, time.perf_counter() - start


def through_database(samples: list, keys: list[str], texts: list[str]) -> dict:
    """The same prompts as stored traces, grouped by `group_pending`: traces/s with SQLite in the loop."""
    import json as _json
    import sqlite3
    import tempfile

    from r4u_proxy.grouping.store import group_pending
    from r4u_proxy.ids import iso_utc, ulid
    from r4u_proxy.store.migrations import open_db

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "traces.db"
        open_db(db).close()
        conn = sqlite3.connect(db)
        hosts = {"openai": ("api.openai.com", "/v1/chat/completions"), "anthropic": ("api.anthropic.com", "/v1/messages")}
        rows = []
        for i, sample in enumerate(samples):
            host, path = hosts[sample.provider]
            body = _anthropic_body(sample.parts) if sample.provider == "anthropic" else _openai_body(sample.parts)
            rows.append((ulid(1.8e9 + i), iso_utc(1.8e9 + i), sample.provider, sample.operation, host, path, _json.dumps(body), sample.template))
        with conn:
            conn.executemany(
                "INSERT INTO traces (id, started_at, provider, operation, host, path, request_body, project) VALUES (?,?,?,?,?,?,?,?)",
                rows,
            )
        start = time.perf_counter()
        done = group_pending(db)
        elapsed = time.perf_counter() - start
        got = conn.execute("SELECT project, task_id FROM traces ORDER BY rowid").fetchall()
        conn.close()
    return {"traces": done, "traces_per_s": done / elapsed, "ga": grouping_accuracy([g[0] for g in got], [g[1] for g in got])}


def _openai_body(parts: dict) -> dict:
    messages = ([{"role": "system", "content": parts["system"]}] if parts["system"] else []) + [
        {"role": t["role"], "content": t["text"]} for t in parts["turns"]
    ]
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in parts["tools"]]
    return {"model": "gpt-4o-mini", "messages": messages, **({"tools": tools} if tools else {})}


def _anthropic_body(parts: dict) -> dict:
    body = {"model": "claude-3-5-haiku-latest", "max_tokens": 100,
            "messages": [{"role": t["role"], "content": t["text"]} for t in parts["turns"]]}
    if parts["system"]:
        body["system"] = parts["system"]
    if parts["tools"]:
        body["tools"] = [{"name": n, "input_schema": {"type": "object"}} for n in parts["tools"]]
    return body


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-drain3", action="store_true")
    parser.add_argument("--no-db", action="store_true")
    args = parser.parse_args()

    samples = generate(args.n, args.seed)
    start, cpu = time.perf_counter(), time.process_time()
    keys = [signature(s.provider, s.operation, s.parts) for s in samples]
    texts = [grouping_text(s.parts) for s in samples]
    miner, assigned = mine(keys, texts)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
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
        report.append({"template": spec.name, "exact": is_exact, "clusters": len(clusters), "names": names,
                       "true_names": true_names, "mined": cluster.template.format_string(names)})
    for cid, text in zip(assigned, texts, strict=True):
        template = miner.clusters[cid].template
        values = template.match(text)
        round_trips += values is not None and template.render(values) == text

    result = {
        "prompts": len(samples), "true_templates": len(set(truth)), "clusters": len(set(assigned)),
        "ga": grouping_accuracy(truth, assigned), "purity": purity(truth, assigned),
        "inverse_purity": inverse_purity(truth, assigned),
        "template_exactness": exact / len(report), "variable_names_as_in_truth": names_right / max(1, names_total),
        "round_trip": round_trips / len(samples), "prompts_per_s": len(samples) / elapsed,
        "prompts_per_cpu_s": len(samples) / cpu,
        "mean_prompt_chars": sum(map(len, texts)) / len(texts), "max_prompt_chars": max(map(len, texts)),
    }
    named = sum(1 for row in report if row["exact"] for n in row["names"] if not n.startswith("var"))
    result["variables_named_from_text"] = named / max(1, names_total)
    if not args.no_drain3:
        ids, seconds = run_drain3(texts)
        result["drain3"] = {"ga": grouping_accuracy(truth, ids), "clusters": len(set(ids)),
                            "purity": purity(truth, ids), "inverse_purity": inverse_purity(truth, ids),
                            "prompts_per_s": len(texts) / seconds}
    if not args.no_db:
        result["through_database"] = through_database(samples, keys, texts)
    for row in report:
        if not row["exact"] or row["clusters"] > 1:
            print(f"  {row['template']:22} exact={row['exact']} clusters={row['clusters']}  {row['mined'][:200]!r}")
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": result, "templates": report}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
