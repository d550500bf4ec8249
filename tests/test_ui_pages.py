"""The r4u pages through Datasette's test client: what a user would read on each page."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, datetime

import pytest
from datasette.app import Datasette
from support.rows import OPENAI_CHAT, assign_task, call, chat_request, chat_response, write
from support.sample import SUMMARY_TEMPLATE, TASK_SUMMARY, TASK_TRANSLATE, TICKETS, make_sample_db
from support.ui import get, text_of

from r4u_proxy.store.migrations import open_db


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("ui") / "traces.db"
    ids = make_sample_db(path)
    return path, ids


def test_plugin_is_loaded_and_serves_its_css(sample):
    path, _ = sample
    from datasette.plugins import get_plugins

    assert any(p["name"] == "r4u" and p["static_path"] for p in get_plugins())
    assert get(path, "/-/plugins.json").status_code == 404  # introspection pages are off (privacy.py)
    css = get(path, "/-/static-plugins/r4u/r4u.css")
    assert css.status_code == 200 and ".r4u-msg" in css.text


def test_dashboard_shows_totals_breakdowns_charts_and_errors(sample):
    path, _ = sample
    with sqlite3.connect(path) as conn:
        calls, cost = conn.execute("select count(*), sum(cost_usd) from traces").fetchone()
    response = get(path, "/?window=7d")
    assert response.status_code == 200
    html = response.text
    assert f'id="total-calls">{calls:,}<' in html
    assert f'id="total-cost">${cost:,.4f}<' in html  # under $100: four decimals, as in the terminal
    page = text_of(html)
    for heading in ("By model", "By provider", "By project", "Most expensive tasks", "Recent errors"):
        assert heading in page
    # one error out of `calls`
    assert f'id="error-rate">{100 / calls:.1f}%<' in html
    assert "overloaded_error: Overloaded" in page
    # four charts with bars, and the most expensive task first (translate: 8 x $0.002)
    assert html.count('<svg class="r4u-chart') == 4
    assert html.count('class="bar"') >= 4
    expensive = html[html.index("expensive-tasks") :]
    assert expensive.index(TASK_TRANSLATE) < expensive.index(TASK_SUMMARY)


def test_dashboard_window_and_filter_narrow_the_numbers(sample):
    path, _ = sample
    last_hour = get(path, "/?window=1h").text
    # within the last hour: the 6 one-off traces (the task traces are 1-2 days old)
    assert 'id="total-calls">6<' in last_hour
    anthropic_only = get(path, "/?window=all&provider=anthropic").text
    assert 'id="total-calls">2<' in anthropic_only
    assert "provider = <code>anthropic</code>" in anthropic_only


def test_dashboard_json(sample):
    path, _ = sample
    data = get(path, "/?window=all&_format=json").json()
    assert data["window"] == "all"
    assert data["totals"]["calls"] == 24
    assert data["totals"]["errors"] == 1
    assert data["totals"]["latency"]["p50"] == 800.0
    models = {row["value"]: row["calls"] for row in data["breakdowns"]["model"]}
    assert models["gpt-4o"] == 8 and models["claude-sonnet-4-5"] == 1


def test_empty_database_dashboard_explains_what_to_do(tmp_path):
    open_db(tmp_path / "traces.db").close()
    page = text_of(get(tmp_path / "traces.db", "/").text)
    assert "No calls recorded in this window" in page and "r4u demo" in page


def test_trace_page_renders_the_streamed_tool_call_as_a_chat(sample):
    path, ids = sample
    response = get(path, f"/-/r4u/trace/{ids['stream_tools']}")
    assert response.status_code == 200
    html = response.text
    page = text_of(html)
    assert (
        "What's the weather in Paris right now?" in page
        or "What&#39;s the weather in Paris right now?" in page
    )
    assert 'class="r4u-msg role-system"' in html and 'class="r4u-msg role-user"' in html
    assert 'tool-name">get_weather<' in html
    assert "&#34;city&#34;: &#34;Paris&#34;" in html  # pretty-printed arguments, escaped
    # the stream timeline: one dot per chunk, and the TTFT marker
    assert html.count('class="chunk"') == 9
    assert "first token at 210 ms" in html
    assert "Bearer sk-…3f9a #" in page  # the key's fingerprint, never the key
    assert "weather-bot" in page
    assert "This trace as JSON" in page
    # neighbours link to other traces
    assert re.search(r'rel="next" href="/-/r4u/trace/\w+"', html)


def test_trace_page_tool_result_thinking_image_and_error(sample):
    path, ids = sample
    follow_up = get(path, f"/-/r4u/trace/{ids['tool_result']}").text
    assert 'class="r4u-msg role-tool"' in follow_up and "temp_c" in follow_up
    assert "It is 18 °C and sunny in Paris." in follow_up
    anthropic = get(path, f"/-/r4u/trace/{ids['anthropic']}").text
    assert '<details class="part thinking">' in anthropic  # collapsed by default
    assert "The receipt lists three items" in anthropic
    assert "[image: image/png]" in anthropic and "iVBORw0KGgo" not in text_of(anthropic.split("Raw")[0])
    assert 'tool-name">convert_currency<' in anthropic
    assert "You describe receipts." in anthropic
    error = get(path, f"/-/r4u/trace/{ids['error']}").text
    assert 'class="badge error"' in error and "overloaded_error: Overloaded" in error
    for name in ("responses", "gemini"):
        html = get(path, f"/-/r4u/trace/{ids[name]}").text
        assert "role-assistant" in html
    assert "101" in text_of(get(path, f"/-/r4u/trace/{ids['responses']}").text)
    assert "Rayleigh scattering." in get(path, f"/-/r4u/trace/{ids['gemini']}").text


def test_trace_page_links_to_its_task_and_shows_variables(sample):
    path, ids = sample
    html = get(path, f"/-/r4u/trace/{ids['summary']}").text
    assert f'class="task-link" href="/-/r4u/task/{TASK_SUMMARY}"' in html
    assert TICKETS[0] in html


def test_unknown_trace_is_404(sample):
    path, _ = sample
    assert get(path, "/-/r4u/trace/nope").status_code == 404
    assert get(path, "/-/r4u/task/nope").status_code == 404


def test_task_page_highlights_variables_and_tabulates_their_values(sample):
    path, _ = sample
    response = get(path, f"/-/r4u/task/{TASK_SUMMARY}")
    assert response.status_code == 200
    html = response.text
    assert '<mark class="var" title="variable">{ticket}</mark>' in html
    assert "Summarize this support ticket in one sentence:" in html
    assert '<th class="var-col"><mark class="var">ticket</mark></th>' in html
    for ticket in TICKETS:
        assert ticket in html
    assert html.count("/-/r4u/trace/") == 10
    page = text_of(html)
    assert "Calls 10" in page
    assert html.count('<svg class="r4u-chart') == 2


def test_task_page_paginates(tmp_path):
    conn = open_db(tmp_path / "traces.db")
    now = datetime.now(UTC).timestamp()
    rows = write(conn, [call(OPENAI_CHAT, chat_request(f"ticket {i}"), chat_response("ok"), at=now - i) for i in range(60)])
    task = {"id": "t1", "template": SUMMARY_TEMPLATE, "variables": '["ticket"]'}
    assign_task(conn, task, [(row["id"], {"ticket": f"ticket {i}"}) for i, row in enumerate(rows)])
    conn.close()
    first = get(tmp_path / "traces.db", "/-/r4u/task/t1").text
    second = get(tmp_path / "traces.db", "/-/r4u/task/t1?page=1").text
    assert first.count("/-/r4u/trace/") == 50 and "older →" in first
    assert second.count("/-/r4u/trace/") == 10 and "← newer" in second


def test_tasks_page_lists_tasks_by_cost(sample):
    path, _ = sample
    html = get(path, "/-/r4u/tasks").text
    assert html.index(TASK_TRANSLATE) < html.index(TASK_SUMMARY)
    assert "Translate the following text to {language}" in html
    assert "$0.0160" in html  # 8 x $0.002
    # a page number past SQLite's integers is an empty page, not a 500
    assert get(path, "/-/r4u/tasks?page=99999999999999999999999").status_code == 200


def test_search_page_highlights_matches_and_escapes_markup(sample):
    path, ids = sample
    html = get(path, "/-/r4u/search?q=Paris").text
    assert f"/-/r4u/trace/{ids['stream_tools']}" in html
    assert "<mark>Paris</mark>" in html
    assert "result" in text_of(html)
    # newest first by default; ?sort=relevance ranks by bm25 instead
    assert html.index(ids["tool_result"]) < html.index(ids["stream_tools"])
    relevance = get(path, "/-/r4u/search?q=Paris&sort=relevance").text
    assert '<option value="relevance" selected>' in relevance
    # a prompt containing markup is shown as text, never injected
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "insert into traces (id, started_at, prompt_text) values ('zzz', '2026-01-01T00:00:00.000Z', ?)",
            ["<script>alert(1)</script> injected"],
        )
    conn.close()
    html = get(path, "/-/r4u/search?q=injected").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    nothing = get(path, '/-/r4u/search?q="unbalanced').text
    assert "0 results" in text_of(nothing)


def test_new_calls_appear_on_reload(tmp_path):
    """The database is read live: rows written after Datasette opened it show up."""
    path = tmp_path / "traces.db"
    open_db(path).close()
    datasette = Datasette([str(path)])

    async def calls_shown() -> str:
        html = (await datasette.client.get("/")).text
        return re.search(r'id="total-calls">([\d,]+)<', html).group(1)

    assert asyncio.run(calls_shown()) == "0"
    conn = sqlite3.connect(path)
    write(conn, [call(OPENAI_CHAT, chat_request("hi"), chat_response("hello"), at=datetime.now(UTC).timestamp())])
    conn.close()
    assert asyncio.run(calls_shown()) == "1"


def test_dashboard_rollup_stays_exact_through_updates_and_deletes(tmp_path):
    """Long windows read the hourly rollup; it must agree with the traces after repricing and deletes."""
    path = tmp_path / "traces.db"
    make_sample_db(path)
    with sqlite3.connect(path) as conn:
        conn.execute("update traces set cost_usd = 1.5 where task_id = ?", [TASK_SUMMARY])  # repriced
        conn.execute("update traces set project = 'moved' where provider = 'gemini'")
        conn.execute("delete from traces where task_id = ?", [TASK_TRANSLATE])
        calls, cost, out_tokens = conn.execute(
            "select count(*), sum(cost_usd), sum(output_tokens) from traces"
        ).fetchone()
    data = get(path, "/?window=all&_format=json").json()
    assert data["totals"]["calls"] == calls == 16
    assert data["totals"]["cost_usd"] == pytest.approx(cost)
    assert data["totals"]["output_tokens"] == out_tokens
    projects = {row["value"]: row["calls"] for row in data["breakdowns"]["project"]}
    assert projects["moved"] == 1 and "i18n" not in projects
    # the raw path (a task filter bypasses the rollup) agrees
    raw = get(path, f"/?window=all&task={TASK_SUMMARY}&_format=json").json()
    assert raw["totals"]["cost_usd"] == pytest.approx(15.0)


def test_template_with_literal_braces_shows_them_once():
    from r4u_proxy.datasette_plugins.task_pages import template_segments

    segments = template_segments('Reply as JSON: {{"city": "{city}"}} for {{name}} and {user}')
    assert segments == [
        ('Reply as JSON: {"city": "', False),
        ("city", True),
        ('"} for {name} and ', False),
        ("user", True),
    ]
    assert template_segments("broken {") == [("broken {", False)]


def test_other_datasette_instances_keep_their_home_page(tmp_path):
    """The plugin is installed into the environment: without a traces table, / is Datasette's own index."""
    other = tmp_path / "books.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table books (title text)")
    html = get(other, "/").text
    assert "books" in html and 'id="total-calls"' not in html


def test_charts_choose_their_bucket_from_the_window(tmp_path):
    """A 7-day window of one day's traffic: that day's hours among the week's, not one bar."""
    path = tmp_path / "traces.db"
    conn = open_db(path)
    day_ago = datetime.now(UTC).timestamp() - 86400 - 600  # the first call 10 minutes before the 24h window
    write(conn, [call(OPENAI_CHAT, chat_request(f"q{i}"), chat_response("a"), at=day_ago + i * 3600) for i in range(5)])
    conn.close()
    week = get(path, "/?window=7d&_format=json").json()  # read from the hourly rollup
    assert week["bucket"] == "hour" and 168 <= len(week["series"]) <= 170
    assert [p["calls"] for p in week["series"] if p["calls"]] == [1] * 5
    html = get(path, "/?window=7d").text
    assert html.count('class="bar"') == 4 * len(week["series"])  # empty hours are bars of height 0
    month = get(path, "/?window=30d&_format=json").json()
    assert month["bucket"] == "day" and 30 <= len(month["series"]) <= 31
    assert sum(p["calls"] for p in month["series"]) == 5 and sum(1 for p in month["series"] if p["calls"]) <= 2
    assert get(path, "/?window=1h&_format=json").json()["series"] == []  # nothing in the last hour
    day = get(path, "/?window=24h&_format=json").json()  # read from the traces
    assert day["bucket"] == "hour" and [p["calls"] for p in day["series"] if p["calls"]] == [1] * 4  # the first is older
    everything = get(path, "/?window=all&_format=json").json()  # from the first call to now: hours
    assert everything["bucket"] == "hour" and sum(p["calls"] for p in everything["series"]) == 5
    assert everything["series"][0]["bucket"].endswith(":00") and everything["series"][0]["calls"] == 1


def test_the_traces_table_page_opens_without_the_body_columns_and_the_json_keeps_them(sample):
    path, ids = sample
    with sqlite3.connect(path) as conn:
        body = conn.execute("select request_body from traces where id = ?", [ids["summary"]]).fetchone()[0]
    opened = get(path, "/traces/traces?_sort_desc=started_at")
    assert opened.status_code == 302
    location = opened.headers["location"]
    assert location.startswith("/traces/traces?_sort_desc=started_at&_nocol=request_body&_nocol=prompt_text")
    page = get(path, location)
    assert page.status_code == 200 and ids["summary"] in page.text  # the calls are listed, linked by id
    assert '<th class="col-request_body' not in page.text and '<th class="col-provider' in page.text
    chosen = get(path, "/traces/traces?_col=request_body&id=" + ids["summary"])  # a column choice is kept
    assert chosen.status_code == 200 and 'class="col-request_body' in chosen.text
    rows = get(path, "/traces/traces.json?_shape=array&id=" + ids["summary"]).json()
    assert rows[0]["request_body"] == body  # the JSON API has every column


def test_tasks_by_cost_reads_its_rollup_exactly_through_grouping_repricing_and_deletes(tmp_path):
    """The tasks list sums no calls on view (r4u_proxy/store/task_rollup.py): its rollup must agree with the
    calls after a task is assigned, a call repriced, one moved to another task, and a task's calls deleted."""
    path = tmp_path / "traces.db"
    make_sample_db(path)
    summed = """select task_id, count(*), round(sum(cost_usd), 6), sum(input_tokens), sum(output_tokens),
                   round(avg(latency_ms), 1) from traces where task_id is not null group by task_id"""
    with sqlite3.connect(path) as conn:
        some = [r[0] for r in conn.execute("select id from traces where task_id = ? order by id", [TASK_SUMMARY])]
        conn.execute("update traces set cost_usd = 1.5, latency_ms = 900 where id = ?", [some[0]])  # repriced
        conn.execute("update traces set task_id = ? where id = ?", [TASK_TRANSLATE, some[1]])  # regrouped
        conn.execute("update traces set task_id = null where id = ?", [some[2]])
        conn.execute("delete from traces where provider = 'gemini'")
        expected = {r[0]: tuple(r[1:]) for r in conn.execute(summed)}
    rows = get(path, "/traces/tasks_by_cost.json?_shape=array").json()
    shown = {r["task_id"]: (r["calls"], r["cost_usd"], r["input_tokens"], r["output_tokens"], r["avg_latency_ms"])
             for r in rows}  # fmt: skip
    assert shown == expected and len(shown) >= 2
    html = get(path, "/-/r4u/tasks").text
    assert html.index(TASK_SUMMARY) < html.index(TASK_TRANSLATE)  # $1.5 now puts the summary task first
    # The dashboard's most expensive tasks over a long window read the same rollup, by hour
    with sqlite3.connect(path) as conn:
        conn.execute("update traces set started_at = '2020-01-01T00:00:00.000Z' where id = ?", [some[3]])
        in_window = {r[0]: r[1:] for r in conn.execute(
            "select task_id, count(*), sum(cost_usd) from traces where task_id is not null "
            "and started_at >= strftime('%Y-%m-%dT%H', 'now', '-30 days') group by task_id")}  # fmt: skip
    tasks = get(path, "/?window=30d&_format=json").json()["breakdowns"]["task"]
    assert {t["value"]: (t["calls"], pytest.approx(t["cost_usd"])) for t in tasks} == in_window
    assert tasks[0]["value"] == TASK_SUMMARY and tasks[0]["template"]
