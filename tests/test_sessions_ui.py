"""The Sessions pages, their JSON, the trace page's session links and `r4u sessions`, on recorded sessions.

Browser checks (real headless Chromium) are at the end; their fixtures are in tests/support/browser.py.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from support import agent_recordings as recordings
from support.browser import shoot
from support.ui import get, text_of

from r4u_proxy.service.ui_server import start_ui

NAMES = ("claude_code_20_turns", "llm_conversation_20_turns", "claude_code_two_processes", "claude_code_forks")
CLAUDE_RUN = "63c2c020-01e0-4197-9e6f-7521c0269f69"  # the x-claude-code-session-id of the 20-turn recording


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("sessions-ui") / "traces.db"
    calls = [c for name in NAMES for c in recordings.load(name)]
    exchanges = [recordings.exchange(c, 1_800_000_000.0 + i * 3, project="agents") for i, c in enumerate(calls)]
    recordings.replay(path, exchanges)
    return path


def _cli(db, *args):
    return subprocess.run([sys.executable, "-m", "r4u_proxy", "sessions", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_sessions_json_lists_top_level_sessions_with_totals(db):
    sessions = get(db, "/-/r4u/sessions.json").json()["sessions"]
    by_id = {s["session_id"]: s for s in sessions}
    run = by_id[CLAUDE_RUN]
    assert run["turns"] == 20 and run["sub_sessions"] == 1 and run["clients"] == ["claude-cli/2.1.197"]
    traces = recordings.read(db)
    mine = [t for t in traces if t["session_id"] == CLAUDE_RUN]
    assert run["input_tokens"] == sum(t["input_tokens"] for t in mine)
    assert all(s["parent_session_id"] is None for s in sessions)  # forks and sub-agents are nested
    assert len(sessions) == 4  # the 20-turn run, the llm conversation, the two processes
    assert get(db, "/-/r4u/sessions.json?project=nobody").json()["sessions"] == []
    assert "cannot read --since" in get(db, "/-/r4u/sessions.json?since=soon").json()["error"]


def test_session_page_shows_turns_chart_conversation_and_sub_agent(db):
    detail = get(db, f"/-/r4u/session/{CLAUDE_RUN}.json").json()
    assert [t["session_turn"] for t in detail["turns"]] == list(range(1, 21))
    sub = detail["sub_sessions"]
    assert len(sub) == 1 and sub[0]["session_id"].startswith(CLAUDE_RUN + ":agent-")
    html = get(db, f"/-/r4u/session/{CLAUDE_RUN}").text
    assert html.count('class="r4u-turn"') == 20
    assert html.count('<rect class="call') == 20
    assert html.count('data-part="tool_results"') == 20
    assert 'class="sub-session-link"' in html
    text = text_of(html)
    assert "Look for notes files and report back." in text  # the Agent tool call's prompt
    # a tool result links to the call it answers
    first_result = detail["turns"][1]
    assert 'href="#call-toolu_sim' in html and 'id="call-toolu_sim' in html and first_result["new_messages"] == 1
    child = get(db, f"/-/r4u/session/{sub[0]['session_id']}").text
    assert 'class="parent-link"' in child and CLAUDE_RUN in child
    assert get(db, "/-/r4u/session/no-such-session").status_code == 404


def test_trace_page_links_to_its_session_and_turns(db):
    turns = get(db, f"/-/r4u/session/{CLAUDE_RUN}.json").json()["turns"]
    html = get(db, f"/-/r4u/trace/{turns[4]['id']}").text
    assert f'href="/-/r4u/trace/{turns[3]["id"]}"' in html and 'class="previous-turn"' in html
    assert f'href="/-/r4u/trace/{turns[5]["id"]}"' in html and 'class="next-turn"' in html
    assert f'href="/-/r4u/session/{CLAUDE_RUN}"' in html
    assert "turn 5 of session" in text_of(html)


def test_cli_lists_and_shows_sessions_like_the_ui(db):
    listed = _cli(db, "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == get(db, "/-/r4u/sessions.json").json()["sessions"]
    shown = _cli(db, CLAUDE_RUN, "--json")
    assert json.loads(shown.stdout) == get(db, f"/-/r4u/session/{CLAUDE_RUN}.json").json()
    table = _cli(db, CLAUDE_RUN)
    assert table.returncode == 0 and f"session {CLAUDE_RUN}: 20 turns" in table.stdout
    assert "tool_results" in table.stdout.splitlines()[2]
    assert _cli(db, "--project", "agents").stdout.count("claude-cli/2.1.197") == 3
    bad = _cli(db, "--since", "soon")
    assert bad.returncode == 2 and "cannot read --since" in bad.stderr
    missing = _cli(db, "nope")
    assert missing.returncode == 1 and "no session nope" in missing.stderr


def test_a_long_session_page_shows_each_turns_new_messages_from_the_stored_nodes_a_page_at_a_time(tmp_path, monkeypatch):
    """60 turns: the conversation is paged (50 a page), and what each turn added reads from message_nodes
    exactly as slicing its whole rebuilt request body showed it (the page no longer rebuilds bodies)."""
    db = tmp_path / "traces.db"
    rows = recordings.replay(db, [recordings.exchange(c, 1_800_000_000.0 + 20 * i)
                                  for i, c in enumerate(recordings.long_session(60, seed=3))])  # fmt: skip
    session = rows[-1]["session_id"]
    assert [r["session_turn"] for r in rows] == list(range(1, 61))
    first, second = get(db, f"/-/r4u/session/{session}").text, get(db, f"/-/r4u/session/{session}?page=1").text
    assert first.count('class="r4u-turn"') == 50 and second.count('class="r4u-turn"') == 10
    assert 'href="?page=1"' in first and 'id="turn-51"' in second and "Turns 51–60 of 60" in text_of(second)
    assert rows[55]["id"] in second and rows[55]["id"] not in first.split("Conversation as it grew")[1]
    from datasette_plugins import session_pages

    with sqlite3.connect(db) as conn:  # the page's way: the last nodes of the call's path, no body rebuilt
        sent = json.loads(rows[40]["request_body"])["messages"]
        new = rows[40]["new_messages"]
        assert session_pages.read.last_messages(conn, rows[40]["id"], new) == sent[-new:] and new >= 1
    monkeypatch.setattr(session_pages.read, "last_messages", lambda *args: None)  # every turn from its whole body
    assert get(db, f"/-/r4u/session/{session}").text == first
    assert get(db, f"/-/r4u/session/{session}?page=1").text == second


# --- in Chromium -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ui(db, tmp_path_factory):
    server = start_ui(db, "127.0.0.1", 0, tmp_path_factory.mktemp("sessions-ui-logs") / "ui.log")
    try:
        assert server.wait_ready(30), "Datasette did not start"
        yield server.url.rstrip("/")
    finally:
        server.stop()


def test_sessions_list_in_chromium(ui, page):  # noqa: F811
    page.goto(ui + "/-/r4u/sessions")
    data = page.evaluate("fetch('/-/r4u/sessions.json').then(r => r.json())")["sessions"]
    rows = page.locator("table.sessions tbody tr")
    assert rows.count() == len(data)
    for i, session in enumerate(data):
        row = rows.nth(i)
        assert row.get_attribute("data-session") == session["session_id"]
        assert row.locator("td.turns").inner_text() == f"{session['turns']:,}"
        assert row.locator("td.tokens").inner_text() == f"{session['input_tokens']:,} / {session['output_tokens']:,}"
    shoot(page, "sessions")
    page.locator(f'tr[data-session="{CLAUDE_RUN}"] a.session-link').click()
    page.wait_for_url(f"**/-/r4u/session/{CLAUDE_RUN}")
    assert page.locator("#session-turns").inner_text() == "20"


def test_session_page_in_chromium(ui, page):  # noqa: F811
    page.goto(f"{ui}/-/r4u/session/{CLAUDE_RUN}")
    detail = page.evaluate(f"fetch('/-/r4u/session/{CLAUDE_RUN}.json').then(r => r.json())")
    bars = page.locator("svg.r4u-session-timeline rect.call")
    assert bars.count() == 20
    widths = [bars.nth(i).bounding_box()["width"] for i in range(20)]
    assert all(w >= 1 for w in widths)
    chart = page.locator("svg.r4u-context")
    box = chart.bounding_box()
    assert box["width"] > 500 and box["height"] > 100
    last = detail["turns"][-1]
    for part, tokens in last["context_tokens"].items():
        if part == "estimated":
            continue
        rect = chart.locator(f'rect[data-turn="20"][data-part="{part}"]')
        assert int(rect.get_attribute("data-tokens")) == tokens
        assert page.locator(f'tr[data-trace="{last["id"]}"] td.part-{part}').inner_text() == f"{tokens:,}"
    # the stacked bar of the last turn is drawn taller than the first (the context grew)
    first_h = sum(chart.locator(f'rect[data-turn="1"][data-part="{p}"]').bounding_box()["height"] for p in ("earlier_turns", "new_input", "tool_results"))
    last_h = sum(chart.locator(f'rect[data-turn="20"][data-part="{p}"]').bounding_box()["height"] for p in ("earlier_turns", "new_input", "tool_results"))
    assert last_h > first_h
    assert page.locator("#session-tokens").inner_text() == (
        f"{detail['session']['input_tokens']:,} / {detail['session']['output_tokens']:,}")  # fmt: skip
    # a tool result's id jumps to the call it answers
    page.locator(".r4u-turn").nth(2).locator("a.result-of").first.click()
    assert page.evaluate("location.hash").startswith("#call-toolu_sim")
    shoot(page, "session")
    page.locator("a.sub-session-link").click()
    page.wait_for_load_state()
    assert page.locator("a.parent-link").is_visible()
    assert "Look for notes files and report back." in page.locator(".r4u-session-conversation").inner_text()
