"""`r4u insights` on a seeded database whose answers are worked out by hand below.

Prices used in the hand arithmetic (genai-prices 0.0.61, USD per million tokens):
claude-sonnet-4 input 3.00, cache read 0.30, output 15.00; gpt-4.1 input 2.00, cache read 0.50,
output 8.00; gpt-4.1-mini input 0.40, output 1.60; gpt-3.5-turbo has no cache-read price.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from r4u_proxy.cli import main
from r4u_proxy.pricing.prices import price
from r4u_proxy.reports.insights import collect_insights
from r4u_proxy.reports.insights.prefixes import cache_minimum
from r4u_proxy.reports.insights.repeats import body_fingerprint
from r4u_proxy.reports.insights.whatif import WHAT_IF_MODELS
from r4u_proxy.reports.timewindow import iso_utc
from r4u_proxy.store.migrations import open_db

NOW = datetime.now(tz=UTC).replace(microsecond=0)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)

_counter = iter(range(1, 10_000))


def add_trace(conn, *, at: datetime, **columns) -> str:
    """Insert one traces row; ids sort by insertion like the real ULIDs."""
    trace_id = columns.pop("id", None) or f"T{next(_counter):05d}"
    row = {
        "id": trace_id,
        "started_at": iso_utc(at),
        "provider": "openai",
        "operation": "chat",
        "path": "/v1/chat/completions",
        "status_code": 200,
        **columns,
    }
    names = ", ".join(row)
    conn.execute(f"INSERT INTO traces ({names}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
    return trace_id


def chat_body(model: str, text: str, **extra) -> str:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}], **extra})


# One system prompt of 4,000 characters shared by every call of the "support" task; each call's
# question starts with a different letter, so the common prefix is exactly these 4,000 characters.
SUPPORT_PREFIX = "You are a careful support agent. " * 121 + "Answer:"  # 33*121 + 7 = 4000 chars
assert len(SUPPORT_PREFIX) == 4000


def seed(path: Path) -> dict[str, str]:
    conn = open_db(path)
    ids: dict[str, str] = {}
    with conn:
        # --- repeats: the same request three times (stream flags, user and key order differ) ---
        t0 = NOW - timedelta(hours=2)
        ids["repeat_first"] = add_trace(
            conn, at=t0, request_model="gpt-4o-mini", input_tokens=12, output_tokens=5, cost_usd=0.01,
            request_body=chat_body("gpt-4o-mini", "capital of France?"), prompt_text="capital of France?",
        )  # fmt: skip
        add_trace(
            conn, at=t0 + timedelta(minutes=1), request_model="gpt-4o-mini", input_tokens=12, output_tokens=5,
            cost_usd=0.02, stream=1,
            request_body=chat_body("gpt-4o-mini", "capital of France?", stream=True,
                                   stream_options={"include_usage": True}),
        )  # fmt: skip
        add_trace(
            conn, at=t0 + timedelta(minutes=2), request_model="gpt-4o-mini", input_tokens=12, output_tokens=5,
            cost_usd=0.03,
            request_body=json.dumps({"messages": [{"content": "capital of France?", "role": "user"}],
                                     "user": "u-42", "model": "gpt-4o-mini"}),
        )  # fmt: skip
        # Same request, failed: a cache would not have served it; not counted.
        add_trace(
            conn, at=t0 + timedelta(minutes=3), request_model="gpt-4o-mini", input_tokens=12, status_code=500,
            request_body=chat_body("gpt-4o-mini", "capital of France?"), cost_usd=0.05,
        )  # fmt: skip
        # Same token count, other question: not a repeat.
        add_trace(
            conn, at=t0 + timedelta(minutes=4), request_model="gpt-4o-mini", input_tokens=12, output_tokens=5,
            cost_usd=0.04, request_body=chat_body("gpt-4o-mini", "capital of Spain?"),
        )  # fmt: skip
        # Same question at a different temperature: a different request.
        add_trace(
            conn, at=t0 + timedelta(minutes=5), request_model="gpt-4o-mini", input_tokens=12, output_tokens=5,
            cost_usd=0.04, request_body=chat_body("gpt-4o-mini", "capital of France?", temperature=0.2),
        )  # fmt: skip
        # A pair whose repeat has no known price: counted as a repeat, its saving unknown.
        ids["unpriced_first"] = add_trace(
            conn, at=t0, provider="openai_compatible", request_model="my-llama", input_tokens=30,
            request_body=chat_body("my-llama", "hello"),
        )  # fmt: skip
        add_trace(
            conn, at=t0 + timedelta(seconds=5), provider="openai_compatible", request_model="my-llama",
            input_tokens=30, request_body=chat_body("my-llama", "hello"),
        )  # fmt: skip

        # --- prefixes: task "support" on claude-sonnet-4, 4 calls, no cache reads -----------------
        # prompt 4,100 chars, 2,050 input tokens -> prefix tokens = 2050 * 4000 // 4100 = 2,000
        t1 = NOW - timedelta(hours=3)
        for i, offset in enumerate([0, 60, 120, 3600]):  # the last call comes an hour later: cold
            question = chr(ord("A") + i) + "?" * 99
            add_trace(
                conn, at=t1 + timedelta(seconds=offset), provider="anthropic", operation="messages",
                path="/v1/messages", request_model="claude-sonnet-4", task_id="support",
                input_tokens=2050, output_tokens=100, cache_read_tokens=0, cost_usd=0.0077,
                request_body=json.dumps({"i": i}), prompt_text=SUPPORT_PREFIX + question,
            )  # fmt: skip
        # task "cached" on gpt-4o: the same long prefix, but half the input is read from cache.
        for i in range(3):
            add_trace(
                conn, at=t1 + timedelta(seconds=i), request_model="gpt-4o", task_id="cached",
                input_tokens=2050, output_tokens=10, cache_read_tokens=1024, cost_usd=0.004,
                request_body=json.dumps({"c": i}), prompt_text=SUPPORT_PREFIX + chr(ord("A") + i) * 100,
            )  # fmt: skip
        # task "short": a stable prefix, but 800 tokens is under OpenAI's 1,024 minimum.
        for i in range(3):
            add_trace(
                conn, at=t1 + timedelta(seconds=i), request_model="gpt-4o", task_id="short",
                input_tokens=800, output_tokens=10, cost_usd=0.002,
                request_body=json.dumps({"s": i}), prompt_text=SUPPORT_PREFIX + chr(ord("A") + i) * 100,
            )  # fmt: skip
        # gpt-3.5-turbo: a long shared prefix, but the price data has no cache-read price for it.
        for i in range(2):
            add_trace(
                conn, at=t1 + timedelta(seconds=i), request_model="gpt-3.5-turbo", task_id="legacy",
                input_tokens=2050, output_tokens=10, cost_usd=0.001,
                request_body=json.dumps({"l": i}), prompt_text=SUPPORT_PREFIX + chr(ord("A") + i) * 100,
            )  # fmt: skip

        # --- what-if: task "summaries", 2 calls of 1,000 in / 500 out, and one call reading
        # 1,000 cached tokens -- the most expensive task by recorded cost.
        for n, usage in enumerate([(1000, 500, 0), (1000, 500, 0), (1000, 0, 1000)]):
            add_trace(
                conn, at=NOW - timedelta(hours=1), request_model="gpt-4o", task_id="summaries",
                input_tokens=usage[0], output_tokens=usage[1], cache_read_tokens=usage[2], cost_usd=1.0,
                request_body=json.dumps({"n": n}),
            )  # fmt: skip
        conn.execute("INSERT INTO tasks (id, template) VALUES ('summaries', 'Summarise {doc}')")

        # --- outside a 7-day window: two identical old calls ---------------------------------------
        for _ in range(2):
            add_trace(
                conn, at=LONG_AGO, request_model="gpt-4o", input_tokens=7, output_tokens=1, cost_usd=0.5,
                request_body=chat_body("gpt-4o", "old"),
            )  # fmt: skip
    conn.close()
    return ids


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("insights") / "traces.db"
    return path, seed(path)


def test_fingerprint_ignores_delivery_keys_and_key_order():
    plain = chat_body("m", "x")
    assert body_fingerprint(plain) == body_fingerprint(
        chat_body("m", "x", stream=True, user="u", metadata={})
    )
    assert body_fingerprint(plain) == body_fingerprint(json.dumps({"messages": [{"content": "x", "role": "user"}],
                                                                   "model": "m"}))  # fmt: skip
    assert body_fingerprint(plain) != body_fingerprint(chat_body("m", "x", temperature=0))
    assert body_fingerprint("not json") != body_fingerprint("not json ")


def test_repeated_requests_and_what_a_cache_would_save(seeded):
    path, ids = seeded
    repeats = collect_insights(path, "7d").repeats
    by_model = {g.model: g for g in repeats.groups}
    assert set(by_model) == {"gpt-4o-mini", "my-llama"}
    france = by_model["gpt-4o-mini"]
    assert france.count == 3  # the failed call and the other questions are not repeats
    assert france.saving_usd == pytest.approx(0.02 + 0.03)  # every call but the first
    assert france.example_trace_id == ids["repeat_first"]
    assert france.first_seen < france.last_seen
    llama = by_model["my-llama"]
    assert (llama.count, llama.saving_usd, llama.unpriced_repeats) == (2, None, 1)
    assert repeats.repeated_calls == 3
    assert repeats.saving_usd == pytest.approx(0.05)
    assert repeats.groups[0].model == "gpt-4o-mini"  # most saving first


def test_window_and_limit(seeded):
    path, _ = seeded
    everything = collect_insights(path, None).repeats
    assert everything.repeated_calls == 4  # the two old identical calls count too
    assert everything.saving_usd == pytest.approx(0.55)
    assert everything.groups[0].model == "gpt-4o"
    assert len(collect_insights(path, None, limit=1).repeats.groups) == 1


def test_stable_prefix_without_cache_reads_is_flagged_with_its_saving(seeded):
    path, _ = seeded
    prefixes = collect_insights(path, "7d").prefixes
    by_task = {f.task_id: f for f in prefixes}
    assert set(by_task) == {"support", "legacy"}  # "cached" reads the cache; "short" is under 1,024
    support = by_task["support"]
    assert support.prefix_chars == 4000
    assert support.prefix_tokens == 2000
    assert support.cache_minimum == 1024
    assert (support.calls, support.warm_calls) == (4, 2)
    # 2 warm calls x 2,000 tokens x ($3.00 - $0.30) per million
    assert support.saving_usd == pytest.approx(2 * 2000 * 2.70 / 1e6)
    assert "cache_control" in support.note
    legacy = by_task["legacy"]
    assert legacy.saving_usd is None and "no cache-read price" in legacy.note
    assert prefixes[0].task_id == "support"


def test_cache_minimums_by_provider_and_model():
    assert cache_minimum("openai", "gpt-4o") == 1024
    assert cache_minimum("anthropic", "claude-sonnet-4-20250514") == 1024
    assert cache_minimum("anthropic", "claude-3-5-haiku-latest") == 2048
    assert cache_minimum("anthropic", "claude-haiku-4-5") == 4096
    assert cache_minimum("gemini", "gemini-2.5-pro") == 2048
    assert cache_minimum("gemini", "gemini-2.5-flash") == 1024


def test_what_if_prices_the_same_tokens_at_other_models(seeded):
    path, _ = seeded
    what_if = collect_insights(path, "7d").what_if
    assert "not a quality comparison" in what_if.label
    top = what_if.tasks[0]
    assert top.task_id == "summaries" and top.template == "Summarise {doc}"
    assert (top.calls, top.actual_usd, top.input_tokens, top.output_tokens) == (3, 3.0, 3000, 1000)
    # gpt-4.1: 2 x (1,000 x 2.00 + 500 x 8.00) + 1,000 cached x 0.50, per million
    assert top.cost_at["gpt-4.1"] == pytest.approx((2 * (2000 + 4000) + 500) / 1e6)
    # gpt-4.1-mini: 2 x (1,000 x 0.40 + 500 x 1.60) + 1,000 cached x 0.10
    assert top.cost_at["gpt-4.1-mini"] == pytest.approx((2 * (400 + 800) + 100) / 1e6)
    # claude-sonnet-4: 2 x (1,000 x 3.00 + 500 x 15.00) + 1,000 cached x 0.30
    assert top.cost_at["claude-sonnet-4"] == pytest.approx((2 * (3000 + 7500) + 300) / 1e6)
    assert [t.task_id for t in what_if.tasks] == ["summaries", "support", "cached", "short", "legacy"]


def test_every_what_if_model_has_a_price():
    tiers = {m.tier for m in WHAT_IF_MODELS}
    assert tiers == {"frontier", "mid", "small"}
    for m in WHAT_IF_MODELS:
        result = price(m.provider, m.model, {"input_tokens": 1000, "output_tokens": 1000})
        assert result.cost_usd and result.cost_usd > 0, (m, result.source)


def test_cli_prints_the_three_sections(seeded):
    path, ids = seeded
    result = CliRunner().invoke(main, ["insights", "--db", str(path), "--since", "7d"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "3 repeated calls, $0.0500" in out
    france = next(line for line in out.splitlines() if ids["repeat_first"] in line)
    assert france.split()[:4] == ["gpt-4o-mini", ids["repeat_first"], "3", "$0.0500"]
    support = next(line for line in out.splitlines() if line.startswith("support"))
    assert support.split()[:7] == ["support", "claude-sonnet-4", "4", "2", "2,000", "0%", "$0.0108"]
    assert "price arithmetic on the same token counts — not a quality comparison" in out
    summaries = next(line for line in out.splitlines() if line.startswith("summaries"))
    assert "$3.0000" in summaries and "$0.0125" in summaries  # actual, and gpt-4.1's figure


def test_cli_json_and_errors(seeded, tmp_path):
    path, _ = seeded
    result = CliRunner().invoke(main, ["insights", "--db", str(path), "--json", "--limit", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["since"] is None
    assert data["repeats"]["repeated_calls"] == 4 and len(data["repeats"]["groups"]) == 1
    assert data["prefixes"][0]["task_id"] == "support"
    assert data["what_if"]["tasks"][0]["cost_at"]["gpt-4.1"] == pytest.approx(0.0125)

    bad = CliRunner().invoke(main, ["insights", "--db", str(path), "--since", "yesterday-ish"])
    assert bad.exit_code == 2 and "--since" in bad.output
    missing = CliRunner().invoke(main, ["insights", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 1 and "no traces yet" in missing.output


def test_empty_database_says_so(tmp_path):
    path = tmp_path / "traces.db"
    open_db(path).close()
    result = CliRunner().invoke(main, ["insights", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert "none: no two successful calls sent the same request" in result.output
    assert "none: no tasks yet" in result.output
