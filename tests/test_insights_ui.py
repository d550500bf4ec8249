"""/-/r4u/insights through Datasette's test client, on the hand-computed database of support/insights_seed.py."""

from __future__ import annotations

import re

import pytest
from support.insights_seed import seed
from support.ui import get, text_of


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    path = tmp_path_factory.mktemp("insights_ui") / "traces.db"
    return path, seed(path)


def test_page_shows_the_three_sections_with_their_numbers(seeded):
    path, ids = seeded
    response = get(path, "/-/r4u/insights")  # default window: 24 hours
    assert response.status_code == 200
    html = response.text
    page = text_of(html)
    assert "3 repeated calls — a cache would have saved $0.05" in page
    assert f'href="/-/r4u/trace/{ids["repeat_first"]}"' in html
    assert "(1 unpriced)" in page  # the my-llama repeat has no price
    support = text_of(re.search(r'<tr>\s*<td><a href="/-/r4u/task/support">.*?</tr>', html, re.S).group(0))
    assert support.split()[:7] == ["support", "claude-sonnet-4", "4", "2", "2,000", "(min", "1,024)"]
    assert "$0.0108 " in support and "cache_control" in support  # money as the terminal shows it
    assert "Price arithmetic on the same token counts — not a quality comparison" in page
    summaries = text_of(
        re.search(r'<tr>\s*<td><a href="/-/r4u/task/summaries">.*?</tr>', html, re.S).group(0)
    )
    assert summaries.split()[5:8] == ["$3.0000", "$0.0125", "$0.0213"]  # actual, gpt-4.1, claude-sonnet-4
    assert "$0.0025" in summaries  # gpt-4.1-mini: 2 x (400 + 800) + 100 per million
    assert 'href="/-/r4u/insights"' in html  # the nav links here


def test_window_changes_the_answer_and_json_matches(seeded):
    path, _ = seeded
    week = get(path, "/-/r4u/insights?window=7d&_format=json").json()
    everything = get(path, "/-/r4u/insights?window=all&_format=json").json()
    assert week["window"] == "7d" and everything["window"] == "all"
    assert week["repeats"]["repeated_calls"] == 3
    assert everything["repeats"]["repeated_calls"] == 4  # plus the two identical calls of 2020
    assert week["prefixes"][0]["saving_usd"] == pytest.approx(0.0108)
    assert everything["what_if"]["tasks"][0]["cost_at"]["gpt-4.1"] == pytest.approx(0.0125)
    html = get(path, "/-/r4u/insights?window=all").text
    assert 'href="?window=all" class="active"' in html
    assert "$0.55" in text_of(html)


def test_empty_window_says_so(seeded):
    path, _ = seeded
    page = text_of(get(path, "/-/r4u/insights?window=1h").text)
    assert "No repeated requests in this window." in page
    assert "No tasks in this window yet" in page
