"""Grouping against a real traces.db: tasks, per-trace variables, stats, restarts, refinement."""

from __future__ import annotations

import json
import random
import sqlite3

import pytest
from support.prompts import TRANSLATE, chat_body, fill, insert, prose
from support.rows import read_rows

from r4u_proxy.grouping.parts import grouping_text
from r4u_proxy.grouping.store import Grouper, group_pending
from r4u_proxy.ids import iso_utc, ulid
from r4u_proxy.providers import prompt_parts
from r4u_proxy.store.migrations import open_db


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "traces.db"
    open_db(path).close()
    return path


def rows(db) -> list[dict]:
    return read_rows(db, "SELECT * FROM traces ORDER BY rowid")


def tasks(db) -> dict[str, dict]:
    return {r["id"]: r for r in read_rows(db, "SELECT * FROM tasks")}


def test_traces_become_tasks_whose_template_and_values_give_back_the_prompt(db):
    rng = random.Random(11)
    kinds = []
    for i in range(150):
        kinds.append(rng.choice(["translate", "extract", "support"]))
        insert(db, fill(rng, kinds[-1])[0], latency=float(i), t=1.8e9 + i)
    assert group_pending(db) == 150

    by_task: dict[str, set[str]] = {}
    for row, kind in zip(rows(db), kinds, strict=True):
        assert row["task_id"], "every chat trace gets a task"
        by_task.setdefault(row["task_id"], set()).add(kind)
    assert sorted(len(k) for k in by_task.values()) == [1, 1, 1], by_task
    all_tasks = tasks(db)
    assert len(all_tasks) == 3
    for row in rows(db):
        task = all_tasks[row["task_id"]]
        values = json.loads(row["template_vars"])
        assert list(values) == json.loads(task["variables"])
        # The round trip a user relies on: template + values is the prompt, exactly.
        assert task["template"].format(**values) == grouping_text(prompt_parts("openai_chat", json.loads(row["request_body"])))
    templates = {kind: all_tasks[t]["template"] for t, ks in by_task.items() for kind in ks}
    assert templates["translate"] == "[user]\nTranslate the following text to {var1}. Keep the formatting.\n\n{var2}"
    assert templates["extract"].endswith('"name", "city".\n\n<document>\n{document}\n</document>')
    assert templates["support"] == "[system]\nYou are the support agent of {var1}. Be brief and friendly.\n[user]\n{var2}"


def test_task_stats_for_the_ui(db, tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('[[model]]\nmatch = "gpt-4o-mini-2024"\ninput = 100\noutput = 200\n')
    rng = random.Random(3)
    for i in range(20):
        body, _ = fill(rng, "translate")
        # two calls fail (the app gave up while the answer arrived); a prices.toml prices the model at
        # $100 in / $200 out per million tokens, so each 10 in / 5 out call costs $0.002
        gave_up = "client disconnected mid-response: Client disconnected." if i < 2 else None
        insert(db, body, latency=float(10 * (i + 1)), error=gave_up, t=1.8e9 + i, prices=prices)
    group_pending(db)
    (task,) = tasks(db).values()
    assert task["trace_count"] == 20
    assert task["first_seen"] == iso_utc(1.8e9) and task["last_seen"] == iso_utc(1.8e9 + 19)
    assert json.loads(task["models"]) == ["gpt-4o-mini-2024"]
    assert task["total_cost_usd"] == pytest.approx(0.04) and task["mean_cost_usd"] == pytest.approx(0.002)
    assert task["input_tokens"] == 200 and task["output_tokens"] == 100
    assert task["p50_latency_ms"] == 100.0 and task["p95_latency_ms"] == 190.0
    assert task["error_count"] == 2 and task["error_rate"] == pytest.approx(0.1)


def test_restart_keeps_task_ids_and_groups_what_arrived_while_down(db):
    rng = random.Random(5)
    for _ in range(30):
        insert(db, fill(rng, rng.choice(["translate", "extract"]))[0])
    group_pending(db)
    before = {t["template"]: t["id"] for t in tasks(db).values()}
    for _ in range(30):  # recorded while grouping was not running
        insert(db, fill(rng, rng.choice(["translate", "extract"]))[0])
    assert group_pending(db) == 30  # a fresh process: state comes from the database
    after = {t["template"]: t["id"] for t in tasks(db).values()}
    assert after == before
    assert all(r["task_id"] in before.values() for r in rows(db))
    assert sum(t["trace_count"] for t in tasks(db).values()) == 60


def test_a_constant_that_turns_out_to_vary_keeps_the_task_and_rewrites_old_values(db):
    rng = random.Random(8)
    for _ in range(5):
        insert(db, chat_body(None, TRANSLATE.format(language="French", text=prose(rng, 40, 200))))
    group_pending(db)
    (first,) = tasks(db).values()
    assert "French" in first["template"]
    for language in ["German", "Polish", "Dutch"]:
        insert(db, chat_body(None, TRANSLATE.format(language=language, text=prose(rng, 40, 200))))
    group_pending(db)
    (task,) = tasks(db).values()
    assert task["id"] == first["id"] and "French" not in task["template"]
    for row in rows(db):
        values = json.loads(row["template_vars"])
        assert row["task_id"] == task["id"]
        assert task["template"].format(**values) == grouping_text(prompt_parts("openai_chat", json.loads(row["request_body"])))


def test_bookmark_means_each_trace_is_read_once(db):
    rng = random.Random(9)
    for _ in range(450):
        insert(db, fill(rng, "support")[0])
    grouper = Grouper(db)
    sizes = []
    while n := grouper.run_batch(200):
        sizes.append(n)
    assert sizes == [200, 200, 50]
    assert grouper.run_batch(200) == 0 and grouper.backlog() == 0
    grouper.close()


def test_requests_without_prompt_text_are_skipped_not_stuck(db):
    insert(db, {"model": "gpt-4o", "messages": []})
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO traces (id, started_at, host, path, request_body) VALUES (?, ?, 'example.com', '/', 'not json')",
            (ulid(), iso_utc(1.8e9)),
        )
    conn.close()
    assert group_pending(db) == 2
    assert [r["task_id"] for r in rows(db)] == [None, None]
    assert group_pending(db) == 0


def test_r4u_tasks_command_lists_and_shows_tasks(db):
    from click.testing import CliRunner

    from r4u_proxy.cli import main

    rng = random.Random(2)
    for _ in range(12):
        insert(db, fill(rng, "translate")[0])
    runner = CliRunner()
    listed = runner.invoke(main, ["tasks", "--db", str(db), "--group"])
    assert listed.exit_code == 0, listed.output
    assert "Translate the following text to {var1}." in listed.output and " 12 " in listed.output
    data = json.loads(runner.invoke(main, ["tasks", "--db", str(db), "--json"]).output)
    assert len(data) == 1 and data[0]["trace_count"] == 12 and data[0]["variables"] == ["var1", "var2"]
    shown = runner.invoke(main, ["tasks", data[0]["id"], "--db", str(db)])
    assert shown.exit_code == 0 and "var1 = " in shown.output and "template:" in shown.output
    assert runner.invoke(main, ["tasks", "task_nope", "--db", str(db)]).exit_code != 0


def test_converging_tasks_are_merged_and_their_traces_follow(db):
    from r4u_proxy.grouping.parts import signature

    sig = signature("openai", "chat", {"system": None, "turns": [{"role": "user", "text": "x"}], "tools": []})
    conn = open_db(db)
    with conn:
        for task_id, language in (("task_A", "French"), ("task_B", "German")):
            head = f"[user]\nTranslate the following to {language}. Keep the formatting:\n\n"
            conn.execute(
                "INSERT INTO tasks (id, template, signature, variables, segments, trace_count) VALUES (?, ?, ?, ?, ?, 3)",
                (task_id, head + "{var1}", sig, '["var1"]', json.dumps([head, ""])),
            )
    conn.close()
    for task_id, language in (("task_A", "French"), ("task_B", "German")):
        for text in ("one", "two", "three"):
            insert(db, chat_body(None, f"Translate the following to {language}. Keep the formatting:\n\n{text}"))
            conn = sqlite3.connect(db)
            with conn:
                conn.execute(
                    "UPDATE traces SET task_id = ?, template_vars = ? WHERE rowid = (SELECT MAX(rowid) FROM traces)",
                    (task_id, json.dumps({"var1": text})),
                )
                conn.execute("INSERT OR REPLACE INTO grouping_state VALUES ('last_rowid', (SELECT MAX(rowid) FROM traces))")
            conn.close()
    insert(db, chat_body(None, "Translate the following to Polish. Keep the formatting:\n\nDzien dobry"))
    assert group_pending(db) == 1
    (task,) = tasks(db).values()
    assert task["id"] == "task_A" and task["trace_count"] == 7
    assert json.loads(task["segments"]) == ["[user]\nTranslate the following to ", ". Keep the formatting:\n\n", ""]
    for row in rows(db):
        assert row["task_id"] == "task_A"
        body = json.loads(row["request_body"])
        assert task["template"].format(**json.loads(row["template_vars"])) == grouping_text(prompt_parts("openai_chat", body))


def test_a_big_task_is_not_reread_every_batch_yet_its_stats_end_exact(db, monkeypatch):
    """Re-reading a task's traces for its stats on every batch made grouping slow down as the task
    grew (2,900 traces/s at 30k, falling); a task whose refresh is costly now waits its turn."""
    from r4u_proxy.grouping import stats as stats_module

    rereads: list[str] = []
    real_refresh = stats_module.refresh_task_stats

    def counting_refresh(conn, task_ids):
        rereads.extend(task_ids)
        real_refresh(conn, task_ids)

    monkeypatch.setattr(stats_module, "refresh_task_stats", counting_refresh)
    # every refresh counts as costly, and a costly task waits far longer than this test runs
    monkeypatch.setattr(stats_module.TaskStatsRefresher, "CHEAP_S", 0.0)
    monkeypatch.setattr(stats_module.TaskStatsRefresher, "SPACING", 1e9)
    rng = random.Random(5)
    for i in range(60):
        insert(db, fill(rng, "translate")[0], latency=float(i + 1), t=1.8e9 + i)

    grouper = Grouper(db)
    while grouper.run_batch(10):
        pass
    (task,) = tasks(db).values()
    assert rereads == [task["id"]]  # the first batch only: six batches, one re-read
    assert task["trace_count"] < 60  # stale while it waits...

    grouper.refresh_stats()  # not due yet: still waiting
    assert tasks(db)[task["id"]]["trace_count"] == task["trace_count"]
    grouper.close()  # ...and exact once grouping stops (the process also catches up when idle)
    task = tasks(db)[task["id"]]
    assert task["trace_count"] == 60 and task["p50_latency_ms"] == 30.0 and task["p95_latency_ms"] == 57.0
    assert task["last_seen"] == iso_utc(1.8e9 + 59)


def test_tasks_get_readable_unique_names_that_stay_across_restarts(db):
    from click.testing import CliRunner
    from support import prompt_library as lib

    from r4u_proxy.cli import main

    # Public prompt templates: lm-eval's Gbomala and Fon diacritics prompts (the same words but the
    # language), langchain's query-constructor examples with and without a data source.
    templates = ("t0710", "t0711", "t0043", "t0044")
    rng = random.Random(9)
    plan = [*templates] * 8
    rng.shuffle(plan)
    for template_id in plan:
        insert(db, chat_body(None, lib.fill(template_id, rng)))
    group_pending(db)
    first = {t["id"]: t["name"] for t in tasks(db).values()}
    assert len(first) == 4 and all(first.values())
    assert len(set(first.values())) == 4  # unique, though they start alike two by two
    texts = {row["task_id"]: json.loads(row["request_body"])["messages"][0]["content"] for row in rows(db)}
    for task_id, name in first.items():
        # Read from the prompt's own words: what the task is about, not an id.
        assert not name.startswith("task_") and len(name.split()) <= 16
        words = [w.strip(".,:;!?") for w in name.split() if w.strip(".,:;!?")]
        assert all(w.lower() in texts[task_id].lower() for w in words), (name, texts[task_id][:200])
    marks = {"t0710": "for Gbomala.", "t0711": "for Fon.", "t0043": "\nData Source:\n", "t0044": "\n```json\n"}
    named = {t: next(n for tid, n in first.items() if marks[t] in texts[tid]) for t in templates}
    # Two that would read alike: the one named later reads on to its own words.
    assert "Gbomala" in named["t0710"] or "Fon" in named["t0711"]
    assert "Data Source" in named["t0043"] and "Data Source" not in named["t0044"]

    # A restart keeps every name; so do more calls of the same templates.
    for template_id in plan[:8]:
        insert(db, chat_body(None, lib.fill(template_id, rng)))
    grouper = Grouper(db)
    grouper.close(refresh=False)
    group_pending(db)
    assert {t["id"]: t["name"] for t in tasks(db).values()} == first

    # The CLI finds a task by its name.
    shown = CliRunner().invoke(main, ["tasks", named["t0711"], "--db", str(db)])
    assert shown.exit_code == 0 and named["t0711"] in shown.output and "template:" in shown.output
