"""One dataset through every view: `r4u stats`, `r4u tasks`, the dashboard, the task page and their JSON
must agree on every figure (calls, errors, spend, unpriced, tokens, percentiles) and print it the same way.

The rows are built by the writer's own row builder from recorded responses (tests/support/rows.py), so
costs come from genai-prices and each figure is what a recorded call would give.
"""

from __future__ import annotations

import json
import time

import pytest
import support.rows as record
from click.testing import CliRunner
from support.ui import get, text_of

from r4u_proxy.cli import main
from r4u_proxy.grouping.stats import refresh_task_stats
from r4u_proxy.reports import metrics
from r4u_proxy.simulator.fixtures import split_events
from r4u_proxy.store.migrations import open_db

TASK = "task_translate"
TEMPLATE = "Translate the following text to {language}:\n\n{text}"
LANGUAGES = ["French", "German", "Polish", "Japanese", "Spanish", "Italian", "Dutch", "Greek", "Czech", "Welsh"]
# (latency, ttft) of the task's ten calls, in ms; the last call took 12.5 s.
TASK_TIMES = [(120, 80), (250, 90), (380, 150), (410, 160), (530, 200), (700, 210), (950, 400), (1100, 420),
              (90, 90), (12_500, 3000)]  # fmt: skip


def _without_usage(stream: bytes) -> bytes:
    """The recorded stream as OpenAI sends it without stream_options.include_usage: no usage chunk."""
    return b"".join(event for event in split_events(stream) if b'"usage"' not in event)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("consistency") / "traces.db"
    now = time.time()
    task_calls = []
    for i, (language, (latency, ttft)) in enumerate(zip(LANGUAGES, TASK_TIMES, strict=True)):
        prompt = TEMPLATE.format(language=language, text="The meeting moved to Thursday.")
        request = record.chat_request(prompt, model="gpt-4o")
        at = now - 3600 * (10 - i)
        if i == 8:  # rate limited
            body = {"error": {"message": "Rate limit reached for gpt-4o", "type": "requests", "code": "rate_limit"}}
            exchange = record.call(
                record.OPENAI_CHAT, request, body, at=at, status=429, latency_ms=latency, ttft_ms=ttft
            )
        elif i == 9:  # a stream that reported no usage: unpriced
            stream = _without_usage(record.recording("openai_chat/gpt4o_text_plain.sse"))
            exchange = record.call(
                record.OPENAI_CHAT, {**request, "stream": True}, stream, at=at, latency_ms=latency, ttft_ms=ttft
            )
        else:
            usage = (400 + 10 * i, 100 + 5 * i)
            answer = record.chat_response(f"[{language}]", usage=usage, model="gpt-4o-2024-08-06")
            exchange = record.call(record.OPENAI_CHAT, request, answer, at=at, latency_ms=latency, ttft_ms=ttft)
        task_calls.append((exchange, {"language": language, "text": "The meeting moved to Thursday."}))
    others = [
        record.call(record.ANTHROPIC_MESSAGES, {"model": "claude-sonnet-4", "max_tokens": 512, "stream": True,
                                  "messages": [{"role": "user", "content": "Think, then answer."}]},
             record.recording("anthropic_messages/sonnet4_thinking_signature.sse"), at=now - 1800, latency_ms=4200,
             ttft_ms=900),
        record.call(record.gemini_generate("gemini-2.0-flash", stream=True),
             {"contents": [{"role": "user", "parts": [{"text": "Capital of Wyoming?"}]}]},
             record.recording("gemini/googleai_basic_reply_short.sse"), at=now - 1700, latency_ms=640, ttft_ms=300,
             query="alt=sse"),
        record.call(record.OPENAI_RESPONSES, {"model": "gpt-4o", "input": "Say hi", "stream": True},
             record.recording("openai_responses/gpt4o_text.sse"), at=now - 1600, latency_ms=300, ttft_ms=100),
        # A private model the price data does not know: unpriced.
        record.call(("api.inference.crusoecloud.com", "/v1/chat/completions"),
             record.chat_request("Count to ten", model="meta-llama/Llama-3.3-70B-Instruct", stream=True),
             record.recording("other/crusoe_vllm_llama33_70b.sse"), at=now - 1500, latency_ms=2000, ttft_ms=250),
        # No response at all: an error, neither priced nor unpriced.
        record.call(record.OPENAI_CHAT, record.chat_request("hello"), None, at=now - 1400, status=None, latency_ms=30,
             error="upstream connect failed: [Errno 111] Connection refused"),
    ]  # fmt: skip
    conn = open_db(path)
    rows = record.write(conn, [exchange for exchange, _ in task_calls] + others)
    record.assign_task(
        conn,
        {"id": TASK, "template": TEMPLATE, "variables": json.dumps(["language", "text"])},
        [(exchange["id"], values) for exchange, values in task_calls],
    )
    with conn:
        refresh_task_stats(conn, [TASK])  # what the grouping process stores for the task
    conn.close()
    return path, rows


def _expected(rows: list[dict]) -> dict:
    """The figures, from the rows the writer built, by reports/metrics.py's rules."""
    latency = metrics.percentiles([r["latency_ms"] for r in rows if r.get("latency_ms") is not None])
    ttft = metrics.percentiles([r["ttft_ms"] for r in rows if r.get("ttft_ms") is not None])
    costs = [r["cost_usd"] for r in rows if r.get("cost_usd") is not None]
    return {
        "calls": len(rows),
        "errors": sum(metrics.is_error(r["status_code"], r.get("error")) for r in rows),
        "unpriced": sum(metrics.is_unpriced(r) for r in rows),
        "spend": sum(costs) if costs else None,
        "input_tokens": sum(r.get("input_tokens") or 0 for r in rows),
        "output_tokens": sum(r.get("output_tokens") or 0 for r in rows),
        "latency": latency,
        "ttft": ttft,
    }


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_dataset_holds_what_the_views_must_agree_on(dataset):
    _, rows = dataset
    expected = _expected(rows)
    assert expected["calls"] == 15
    assert expected["errors"] == 2  # the 429 and the refused connection
    # the stream without usage, and the private llama model
    assert sorted(filter(None, map(metrics.unpriced_reason, rows))) == sorted([metrics.NO_USAGE, metrics.NO_PRICE])
    assert expected["spend"] > 0
    task = [r for r in rows if r["url"].startswith("https://api.openai.com/v1/chat")][:10]
    assert metrics.percentiles([r["latency_ms"] for r in task]) == {"p50": 410, "p95": 12_500}


def test_totals_agree_in_stats_and_the_dashboard(dataset):
    path, rows = dataset
    expected = _expected(rows)
    total = json.loads(_cli("stats", "--db", str(path), "--json"))["total"]
    windows = [get(path, f"/?window={w}&_format=json").json()["totals"] for w in ("all", "24h")]  # rollup, rows
    for totals in windows:
        assert totals["calls"] == total["calls"] == expected["calls"]
        assert totals["errors"] == total["errors"] == expected["errors"]
        assert totals["unpriced"] == total["unpriced_calls"] == expected["unpriced"]
        assert totals["cost_usd"] == pytest.approx(total["spend_usd"]) == pytest.approx(expected["spend"])
        assert totals["input_tokens"] == total["input_tokens"] == expected["input_tokens"]
        assert totals["output_tokens"] == total["output_tokens"] == expected["output_tokens"]
        assert totals["latency"] == {"p50": total["latency_p50_ms"], "p95": total["latency_p95_ms"]}
        assert totals["latency"] == expected["latency"]
        assert totals["ttft"] == {"p50": total["ttft_p50_ms"], "p95": total["ttft_p95_ms"]} == expected["ttft"]
        assert totals["error_rate"] == metrics.error_rate(expected["errors"], expected["calls"])
    reasons = {metrics.NO_USAGE: 1, metrics.NO_PRICE: 1}
    assert total["unpriced_reasons"] == reasons
    for totals in windows:
        assert totals["unpriced_reasons"] == reasons


def test_every_unpriced_call_says_why_alike_in_stats_the_dashboard_and_its_trace_page(dataset):
    """The reason pricing stored, read back by reports/metrics.py in Python and in SQL, is what the terminal,
    the dashboard and the trace page say."""
    path, rows = dataset
    unpriced = {r["id"]: metrics.unpriced_reason(r) for r in rows if metrics.is_unpriced(r)}
    # pricing said why in price_source, in the words every view uses
    assert {metrics.stored_unpriced_reason(r["price_source"]) for r in rows if r["id"] in unpriced} == set(
        unpriced.values()) == {metrics.NO_USAGE, metrics.NO_PRICE}  # fmt: skip
    conn = open_db(path)
    by_sql = dict(conn.execute(f"select id, {metrics.UNPRICED_REASON_SQL} from traces where {metrics.UNPRICED_SQL}"))
    conn.close()
    assert by_sql == unpriced
    stats_text = " ".join(_cli("stats", "--db", str(path)).split())
    assert f"unpriced, not counted in spend: 1 {metrics.NO_USAGE}" in stats_text
    assert "meta-llama/Llama-3.3-70B-Instruct openai_compatible api.inference.crusoecloud.com 1" in stats_text
    dashboard = text_of(get(path, "/?window=all").text)
    assert f"2 unpriced: 1 {metrics.NO_PRICE}, 1 {metrics.NO_USAGE}" in dashboard
    for trace_id, reason in unpriced.items():
        assert f"unpriced: {reason}" in text_of(get(path, f"/-/r4u/trace/{trace_id}").text)


def test_the_task_agrees_in_stats_tasks_the_dashboard_and_the_task_page(dataset):
    path, rows = dataset
    members = [r for r in rows if r["url"].startswith("https://api.openai.com/v1/chat")][:10]
    expected = _expected(members)
    by_task = {g["key"]: g for g in json.loads(_cli("stats", "--db", str(path), "--json"))["by_task"]}[TASK]
    (stored,) = [t for t in json.loads(_cli("tasks", "--db", str(path), "--json")) if t["id"] == TASK]
    page = get(path, f"/-/r4u/task/{TASK}?_format=json").json()["stats"]
    dashboard = get(path, f"/?window=all&task={TASK}&_format=json").json()["totals"]
    (listed,) = [t for t in get(path, "/traces/tasks_by_cost.json?_shape=array").json() if t["task_id"] == TASK]

    for calls in (by_task["calls"], stored["trace_count"], page["calls"], dashboard["calls"], listed["calls"]):
        assert calls == expected["calls"] == 10
    for errors in (by_task["errors"], stored["error_count"], page["errors"], dashboard["errors"]):
        assert errors == expected["errors"] == 1
    assert stored["error_rate"] == page["error_rate"] == dashboard["error_rate"] == 0.1
    for unpriced in (by_task["unpriced_calls"], page["unpriced"], dashboard["unpriced"]):
        assert unpriced == expected["unpriced"] == 1
    for spend in (by_task["spend_usd"], stored["total_cost_usd"], page["cost_usd"], dashboard["cost_usd"]):
        assert spend == pytest.approx(expected["spend"])
    assert listed["cost_usd"] == round(expected["spend"], 6)
    for tokens_in in (by_task["input_tokens"], stored["input_tokens"], page["input_tokens"], dashboard["input_tokens"]):
        assert tokens_in == expected["input_tokens"]
    assert by_task["output_tokens"] == stored["output_tokens"] == page["output_tokens"] == expected["output_tokens"]
    latency = expected["latency"]
    assert latency == {"p50": 410, "p95": 12_500}
    assert {"p50": by_task["latency_p50_ms"], "p95": by_task["latency_p95_ms"]} == latency
    assert {"p50": stored["p50_latency_ms"], "p95": stored["p95_latency_ms"]} == latency
    assert page["latency"] == dashboard["latency"] == latency
    assert page["ttft"] == dashboard["ttft"] == {"p50": by_task["ttft_p50_ms"], "p95": by_task["ttft_p95_ms"]}
    assert page["ttft"] == expected["ttft"]


def test_each_figure_reads_the_same_in_the_terminal_and_on_the_pages(dataset):
    path, rows = dataset
    expected = _expected(rows)
    spend, p50, p95 = metrics.money(expected["spend"]), *map(metrics.duration, expected["latency"].values())
    stats_text = _cli("stats", "--db", str(path), "--by", "task")
    total_line = next(line for line in stats_text.splitlines() if line.startswith("total"))
    assert spend in total_line and p50 in total_line and p95 in total_line
    dashboard = text_of(get(path, "/?window=all").text)
    assert f"Cost {spend}" in dashboard and f"Latency p50 / p95 {p50} / {p95}" in dashboard
    assert f"Error rate {metrics.percent(expected['errors'] / expected['calls'])}" in dashboard

    members = [r for r in rows if r["url"].startswith("https://api.openai.com/v1/chat")][:10]
    task = _expected(members)
    task_spend = metrics.money(task["spend"])
    task_p95 = metrics.duration(task["latency"]["p95"])
    assert task_p95 == "12.5 s"
    task_line = next(line for line in stats_text.splitlines() if line.startswith(TASK[:10]))
    assert task_spend in task_line and task_p95 in task_line
    detail = _cli("tasks", TASK, "--db", str(path))
    assert f"total {task_spend}" in detail and f"p95 {task_p95}" in detail and "errors 1 (10.0%)" in detail
    listing = _cli("tasks", "--db", str(path))
    assert task_p95 in next(line for line in listing.splitlines() if TASK in line.split())  # name, then id
    task_page = text_of(get(path, f"/-/r4u/task/{TASK}").text)
    assert f"Cost {task_spend}" in task_page and f"/ {task_p95}" in task_page and "Errors 1 10.0%" in task_page
    tasks_page = text_of(get(path, "/-/r4u/tasks").text)
    assert task_spend in tasks_page
