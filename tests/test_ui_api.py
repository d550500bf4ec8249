"""The JSON API: every named query and Datasette's table JSON + full-text search on traces."""

from __future__ import annotations

import asyncio

import pytest
from datasette.app import Datasette
from support.sample import TASK_SUMMARY, TASK_TRANSLATE, make_sample_db

from r4u_proxy.datasette_plugins.named_queries import NAMED_QUERIES


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "traces.db"
    return path, make_sample_db(path)


def get_json(path, url: str):
    async def fetch():
        return await Datasette([str(path)]).client.get(url)

    response = asyncio.run(fetch())
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_every_named_query_is_listed_on_the_database(sample):
    path, _ = sample
    data = get_json(path, "/traces.json")
    listed = {q["name"] for q in data["queries"]}
    assert set(NAMED_QUERIES) <= listed


def test_cost_by_model_per_day(sample):
    path, _ = sample
    rows = get_json(path, "/traces/cost_by_model_per_day.json?_shape=array")
    assert set(rows[0]) == {"day", "model", "calls", "input_tokens", "output_tokens", "cost_usd", "unpriced_calls"}
    assert sum(r["calls"] for r in rows) == 24
    gpt4o = [r for r in rows if r["model"] == "gpt-4o"]
    assert round(sum(r["cost_usd"] for r in gpt4o), 6) == 0.016
    days = [r["day"] for r in rows]
    assert days == sorted(days, reverse=True)
    haiku = [r for r in rows if r["model"] == "claude-haiku-4-5"]
    # The failed call has no cost, but it is an error, not an unpriced call (reports/metrics.py).
    assert haiku[0]["unpriced_calls"] == 0 and haiku[0]["cost_usd"] is None


def test_slowest_calls(sample):
    path, ids = sample
    rows = get_json(path, "/traces/slowest_calls.json?_shape=array")
    assert rows[0]["id"] == ids["anthropic"] and rows[0]["latency_ms"] == 2400.0
    latencies = [r["latency_ms"] for r in rows]
    assert latencies == sorted(latencies, reverse=True)
    assert {"id", "started_at", "provider", "model", "stream", "latency_ms", "ttft_ms"} <= set(rows[0])


def test_errors(sample):
    path, ids = sample
    rows = get_json(path, "/traces/errors.json?_shape=array")
    assert [r["id"] for r in rows] == [ids["error"]]
    assert rows[0]["status_code"] == 529 and rows[0]["error"].startswith("overloaded_error")


def test_tasks_by_cost(sample):
    path, _ = sample
    rows = get_json(path, "/traces/tasks_by_cost.json?_shape=array")
    assert [r["task_id"] for r in rows] == [TASK_TRANSLATE, TASK_SUMMARY]
    assert rows[0]["calls"] == 8 and rows[0]["cost_usd"] == pytest.approx(0.016)
    assert rows[0]["template"].startswith("Translate the following text to {language}")


def test_trace_with_task(sample):
    path, ids = sample
    rows = get_json(path, f"/traces/trace_with_task.json?id={ids['summary']}&_shape=array")
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == ids["summary"] and row["task_id"] == TASK_SUMMARY
    assert row["task_template"].endswith("{ticket}") and row["task_variables"] == '["ticket"]'
    assert "request_body" in row and "template_vars" in row
    no_task = get_json(path, f"/traces/trace_with_task.json?id={ids['gemini']}&_shape=array")
    assert no_task[0]["task_template"] is None


def test_search_query_finds_prompts_and_completions(sample):
    path, ids = sample
    rows = get_json(path, "/traces/search.json?q=Rayleigh&_shape=array")
    assert [r["id"] for r in rows] == [ids["gemini"]]
    assert rows[0]["completion_snippet"] == "[Rayleigh] scattering."
    paris = get_json(path, "/traces/search.json?q=Paris&_shape=array")
    assert {ids["stream_tools"], ids["tool_result"]} <= {r["id"] for r in paris}
    # FTS syntax characters are escaped, not errors
    assert get_json(path, '/traces/search.json?q="receipt&_shape=array') is not None


def test_table_json_supports_full_text_search(sample):
    path, ids = sample
    rows = get_json(path, "/traces/traces.json?_search=receipt&_shape=array&_col=request_model")
    assert [r["id"] for r in rows] == [ids["anthropic"]]


def test_table_json_filters_like_the_docs_say(sample):
    path, _ = sample
    data = get_json(path, "/traces/traces.json?provider=anthropic&_col=status_code&_sort_desc=started_at")
    assert len(data["rows"]) == 2
    rows = get_json(path, "/traces/traces.json?status_code__gte=400&_shape=array&_col=error")
    assert len(rows) == 1
