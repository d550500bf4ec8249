"""The UI in real headless Chromium: what a user sees on the dashboard, a trace, a task and a search.

Needs Debian's `chromium` (/usr/bin/chromium, or $R4U_CHROMIUM) and the `playwright`
Python package; Playwright's own browser download is not used. Screenshots go
to test-artifacts/ui/.
"""

from __future__ import annotations

import pytest
from support.browser import drawn_box, shoot
from support.sample import TASK_SUMMARY, TICKETS, make_sample_db

from r4u_proxy.service.ui_server import start_ui


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "traces.db"
    ids = make_sample_db(db)
    server = start_ui(db, "127.0.0.1", 0, tmp_path_factory.mktemp("logs") / "ui.log")
    try:
        assert server.wait_ready(30), "Datasette did not start"
        yield server.url.rstrip("/"), ids
    finally:
        server.stop()


def test_dashboard(ui, page):
    base, _ = ui
    page.goto(base + "/")
    assert page.locator("#total-calls").inner_text() == "24"
    assert page.locator("#error-rate").inner_text() == "4.2%"
    assert page.get_by_role("heading", name="Most expensive tasks").is_visible()
    charts = page.locator("svg.r4u-chart")
    assert charts.count() == 4
    for i in range(4):
        drawn_box(charts.nth(i))
    bars = page.locator("svg.r4u-chart.calls rect.bar")  # one per hour of the 7 days, empty ones too
    assert bars.count() >= 7 * 24
    tallest = bars.evaluate_all("bars => Math.max(...bars.map(b => b.getBoundingClientRect().height))")
    assert tallest > 1  # a bar is drawn, not just an empty axis
    # the stylesheet from the plugin's static dir applied (cards are a grid)
    assert page.locator(".r4u-cards").evaluate("e => getComputedStyle(e).display") == "grid"
    assert page.locator("table.recent-errors").inner_text().count("overloaded_error") == 1
    shoot(page, "dashboard")
    # clicking a model narrows the dashboard to it
    page.locator("table.breakdown-model a", has_text="gpt-4o").first.click()
    page.wait_for_load_state()
    assert "model = gpt-4o" in page.locator("h1").inner_text()


def test_streamed_trace_with_tool_calls(ui, page):
    base, ids = ui
    page.goto(f"{base}/-/r4u/trace/{ids['stream_tools']}")
    chat = page.locator("section.r4u-chat").first
    assert "What's the weather in Paris right now?" in chat.inner_text()
    call = page.locator(".r4u-completion .tool-call")
    assert call.locator(".tool-name").inner_text() == "get_weather"
    assert '"city": "Paris"' in call.locator("pre").inner_text()
    timeline = page.locator("svg.r4u-timeline")
    drawn_box(timeline)
    assert timeline.locator("circle.chunk").count() == 9
    # raw JSON is collapsed until asked for
    raw = page.locator("pre.request-json")
    assert not raw.is_visible()
    page.get_by_text("Request JSON").click()
    assert raw.is_visible() and '"get_weather"' in raw.inner_text()
    shoot(page, "trace-stream-tools")


def test_trace_with_thinking_and_image(ui, page):
    base, ids = ui
    page.goto(f"{base}/-/r4u/trace/{ids['anthropic']}")
    thinking = page.locator("details.thinking .text")
    assert not thinking.is_visible()  # collapsed
    page.locator("details.thinking summary").click()
    assert "three items" in thinking.inner_text()
    assert page.locator(".image-placeholder").inner_text() == "[image: image/png]"
    shoot(page, "trace-anthropic")


def test_task_page(ui, page):
    base, _ = ui
    page.goto(f"{base}/-/r4u/task/{TASK_SUMMARY}")
    variable = page.locator("pre.r4u-template mark.var")
    assert variable.inner_text() == "{ticket}"
    assert variable.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    table = page.locator("table.task-traces")
    assert table.locator("th.var-col").inner_text() == "ticket"
    assert table.locator("tbody tr").count() == 10
    assert TICKETS[2] in table.inner_text()
    drawn_box(page.locator("svg.r4u-chart").first)
    shoot(page, "task")


def test_search_from_the_nav_box(ui, page):
    base, ids = ui
    page.goto(base + "/")
    box = page.locator(".r4u-search-form input[name=q]")
    box.fill("Rayleigh")
    box.press("Enter")
    page.wait_for_url("**/-/r4u/search?q=Rayleigh")
    results = page.locator("ol.r4u-results li")
    assert results.count() == 1
    assert results.locator("mark").first.inner_text() == "Rayleigh"
    results.locator(".head a").first.click()
    page.wait_for_url(f"**/-/r4u/trace/{ids['gemini']}")
    assert "Rayleigh scattering." in page.locator(".r4u-completion").inner_text()
    page.go_back()
    shoot(page, "search")
