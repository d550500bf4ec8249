"""End to end: hundreds of SDK calls from several templates through `r4u proxy start` become tasks.

The proxy runs with grouping on (its child process), the official openai and anthropic SDKs send
the calls from the app environment, the simulator answers. The test then waits for the grouping
process to catch up and checks tasks and variables in traces.db.
"""

from __future__ import annotations

import json
import sqlite3
import time

from support.proxy import run_app, simulator_args, start_proxy

APP = r'''
import json, random, threading
from concurrent.futures import ThreadPoolExecutor
import anthropic, openai

rng = random.Random(7)
WORDS = [a + b for a in "ka lo mi ne su ta re vo pi da".split() for b in "fe gu ho ji ba xo zu we".split()]
def prose(low, high):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))) + rng.choice([".", "!", "?", ""])

calls = []
for i in range(N):
    kind = rng.choice(["translate", "extract", "support", "sentiment"])
    if kind == "translate":
        v = {"language": rng.choice(["French", "German", "Polish", "Dutch"]), "text": prose(3, 400)}
    elif kind == "extract":
        v = {"document": prose(20, 600)}
    elif kind == "support":
        v = {"shop": rng.choice(["Acme", "Globex", "Initech"]), "message": prose(2, 25)}
    else:
        v = {"review": prose(3, 40)}
    calls.append((kind, v))

local = threading.local()
def send(call):
    kind, v = call
    if not hasattr(local, "oa"):
        local.oa, local.an = openai.OpenAI(), anthropic.Anthropic()
    if kind == "translate":
        r = local.oa.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": f"Translate the following text to {v['language']}. Keep the formatting.\n\n{v['text']}"}])
    elif kind == "extract":
        r = local.oa.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "system", "content": "You extract data."},
            {"role": "user", "content": f'Extract the fields as JSON with keys "name", "city".\n\n<document>\n{v["document"]}\n</document>'}])
    elif kind == "support":
        r = local.oa.chat.completions.create(model="gpt-4o", messages=[
            {"role": "system", "content": f"You are the support agent of {v['shop']}. Be brief and friendly."},
            {"role": "user", "content": v["message"]}],
            tools=[{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {}}}}])
    else:
        r = local.an.messages.create(model="claude-3-5-haiku-latest", max_tokens=20,
            system="Classify the sentiment of the review as positive or negative.",
            messages=[{"role": "user", "content": f"Review: {v['review']}\nSentiment:"}])
    return r.id is not None

with ThreadPoolExecutor(6) as pool:
    ok = list(pool.map(send, calls))
print(json.dumps({"ok": sum(ok), "calls": calls}))
'''


def _query(db, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # tables not there yet
        return []
    finally:
        conn.close()


def test_sdk_traffic_through_the_proxy_ends_up_as_the_right_tasks(sim, tmp_path):
    n = 240
    proxy = start_proxy(tmp_path / "home", "--no-ui", *simulator_args(sim))
    try:
        out = json.loads(run_app(APP.replace("range(N)", f"range({n})"), proxy.env(), timeout=240).stdout)
        assert out["ok"] == n  # every call answered while grouping ran beside the proxy

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            rows = _query(proxy.db, "SELECT id, request_body, task_id, template_vars FROM traces ORDER BY rowid")
            if len(rows) == n and all(r["task_id"] for r in rows):
                break
            time.sleep(0.5)
        assert len(rows) == n and all(r["task_id"] for r in rows), proxy.log_tail()

        # The proxy still answers promptly after the burst.
        started = time.monotonic()
        run_app(APP.replace("range(N)", "range(1)"), proxy.env())
        assert time.monotonic() - started < 30

        tasks = {r["id"]: dict(r) for r in _query(proxy.db, "SELECT * FROM tasks")}
        # Map each trace to its call by the prompt text it carried.
        by_task: dict[str, set[str]] = {}
        for row in rows[:n]:
            body = json.loads(row["request_body"])
            text = json.dumps(body)
            kind = (
                "translate" if "Translate the following" in text else
                "extract" if "Extract the fields" in text else
                "support" if "support agent" in text else "sentiment"
            )  # fmt: skip
            by_task.setdefault(kind, set()).add(row["task_id"])
            values = list(json.loads(row["template_vars"]).values())
            if kind == "translate":
                prompt = body["messages"][0]["content"]
                language, rest = prompt.removeprefix("Translate the following text to ").split(". Keep the formatting.\n\n", 1)
                assert values == [language, rest]
            if kind == "sentiment":
                assert values == [body["messages"][0]["content"].removeprefix("Review: ").removesuffix("\nSentiment:")]
        assert set(by_task) == {"translate", "extract", "support", "sentiment"}
        assert all(len(ids) == 1 for ids in by_task.values()), by_task
        assert len({next(iter(ids)) for ids in by_task.values()}) == 4
        translate = tasks[next(iter(by_task["translate"]))]
        assert translate["template"] == "[user]\nTranslate the following text to {var1}. Keep the formatting.\n\n{var2}"
        extract = tasks[next(iter(by_task["extract"]))]
        assert extract["template"].endswith("<document>\n{document}\n</document>")
        assert sorted(t["trace_count"] for t in tasks.values())[-4:] == sorted(
            sum(1 for kind, _ in out["calls"] if kind == k) for k in by_task
        ) or sum(t["trace_count"] for t in tasks.values()) == n + 1  # the extra call may be grouped already
        log = (proxy.home / "logs" / "grouping.log").read_text()
        assert "grouping started" in log
    finally:
        proxy.stop()
