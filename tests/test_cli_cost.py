"""`r4u stats` and `r4u reprice` on a seeded traces.db with answers worked out by hand."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.rows import assign_task, call, chat_request, chat_response, write

from r4u_proxy import pricing
from r4u_proxy.cli import main
from r4u_proxy.pricing.prices import data_source
from r4u_proxy.pricing.reprice import reprice
from r4u_proxy.reports.timewindow import iso_utc
from r4u_proxy.store.migrations import MIGRATIONS, migrate, open_db

pytestmark = pytest.mark.usefixtures("no_price_overrides")

M = 1_000_000
GENAI_PRICES = data_source()  # the source recorded with each cost: the data in force
NOW = datetime.now(tz=UTC)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def ago(**delta: float) -> str:
    return iso_utc(NOW - timedelta(**delta))


# Five recent calls and one old one, as the writer records them (support/rows.py); the costs in the
# comments are genai-prices' for the usage each reported. Latency of the five gpt-4o/llama calls:
# 100, 200, 300, 400, 1000 ms.
# (id, started, project, host, model asked, model answered, usage in/out, latency, ttft, task)
SEED = [
    ("01", {"hours": 1}, "shop", "api.openai.com", "gpt-4o", "gpt-4o-2024-08-06", (1000, 500), 100, 40,
     "task-a"),  # $0.0075
    ("02", {"hours": 2}, "shop", "api.openai.com", "gpt-4o", "gpt-4o-2024-08-06", (2000, 100), 200, 60,
     "task-a"),  # $0.006
    ("03", {"hours": 3}, "blog", "api.openai.com", "gpt-4o", "gpt-4o-2024-08-06", (400, 100), 300, 80,
     None),  # $0.002
    ("04", {"hours": 4}, "blog", "llm.internal.example", "private-llama", "private-llama", (3000, 1000), 400, 100,
     None),  # openai_compatible, no known price
    ("05", {"hours": 5}, None, "api.openai.com", "gpt-4o", None, None, 1000, None, None),  # timed out: no answer
    ("06", {"days": 3}, "shop", "api.openai.com", "gpt-4o", "gpt-4o-2024-08-06", (100000, 10000), 5000, 900,
     "task-a"),  # $0.35
]  # fmt: skip


def _seed_calls() -> list:
    calls = []
    for trace_id, age, project, host, model, answered, usage, latency, ttft, _ in SEED:
        at = (NOW - timedelta(**age)).timestamp()
        request = chat_request("Describe the product.", model=model)
        where = (host, "/v1/chat/completions")
        if answered is None:
            calls.append(call(where, request, None, at=at, status=None, latency_ms=latency, project=project,
                              error="upstream timeout: read timed out", trace_id=trace_id))
        else:
            answer = chat_response("A fine product.", usage=usage, model=answered)
            calls.append(call(where, request, answer, at=at, latency_ms=latency, ttft_ms=ttft, project=project,
                              trace_id=trace_id))  # fmt: skip
    return calls




@pytest.fixture
def home(tmp_path: Path) -> Path:
    conn = open_db(tmp_path / "traces.db")
    write(conn, _seed_calls())
    assign_task(conn, {"id": "task-a", "template": "Describe {product}"},
                [(trace_id, {"product": "the product"}) for trace_id, *_, task in SEED if task])  # fmt: skip
    conn.close()
    return tmp_path


def run(*args: str, **kwargs) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, **kwargs)
    assert result.exit_code == 0, result.output
    return result.output


def stats_json(home: Path, *args: str) -> dict:
    return json.loads(run("stats", "--home", str(home), "--json", *args))


def by_key(rows: list[dict]) -> dict:
    return {row["key"]: row for row in rows}


# --- r4u stats -------------------------------------------------------------------------------------


def test_stats_last_24h_totals_and_percentiles(home):
    report = stats_json(home, "--since", "24h")
    total = report["total"]
    assert total["calls"] == 5  # the 3-day-old call is outside the window
    assert total["errors"] == 1  # the call that timed out
    assert total["spend_usd"] == pytest.approx(0.0075 + 0.006 + 0.002)
    assert total["unpriced_calls"] == 1  # private-llama reported usage but has no price
    assert total["input_tokens"] == 1000 + 2000 + 400 + 3000
    # Nearest rank (reports/metrics.py): the value at rank ceil(p * n / 100).
    # latencies 100, 200, 300, 400, 1000: p50 at rank 3 = 300, p95 at rank 5 = 1000.
    assert total["latency_p50_ms"] == 300
    assert total["latency_p95_ms"] == pytest.approx(1000)
    # ttft 40, 60, 80, 100 (the timed-out call has none): p50 at rank 2 = 60, p95 at rank 4 = 100.
    assert total["ttft_p50_ms"] == pytest.approx(60)
    assert total["ttft_p95_ms"] == pytest.approx(100)


def test_stats_by_model_project_task(home):
    report = stats_json(home, "--since", "24h")
    models = by_key(report["by_model"])
    assert models["gpt-4o"]["calls"] == 4
    assert models["gpt-4o"]["spend_usd"] == pytest.approx(0.0155)
    assert models["private-llama"]["spend_usd"] is None  # unknown, not $0
    assert models["private-llama"]["unpriced_calls"] == 1
    assert report["by_model"][0]["key"] == "gpt-4o"  # most spend first

    projects = by_key(report["by_project"])
    assert projects["shop"]["spend_usd"] == pytest.approx(0.0135)
    assert projects["shop"]["latency_p50_ms"] == pytest.approx(100)  # 100, 200: rank 1
    assert projects["blog"]["calls"] == 2
    assert projects[None]["label"] == "(no project)"

    tasks = by_key(report["by_task"])
    assert tasks["task-a"]["calls"] == 2
    assert "Describe {product}" in tasks["task-a"]["label"]

    assert report["unpriced"] == [
        {"model": "private-llama", "provider": "openai_compatible", "host": "llm.internal.example", "calls": 1}
    ]


def test_stats_all_history_includes_old_calls(home):
    total = stats_json(home)["total"]
    assert total["calls"] == 6
    assert total["spend_usd"] == pytest.approx(0.0155 + 0.35)


def test_stats_tables_are_aligned_and_show_unknown_spend_as_a_dash(home):
    out = run("stats", "--home", str(home), "--since", "7d", "--by", "model")
    assert "\x1b[" not in out  # not a terminal: no colour codes
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    table = lines[header : header + 3]
    assert len({len(line) for line in table}) == 1  # every row as wide as the header
    llama = next(line for line in table if line.startswith("private-llama"))
    assert "—" in llama and "$0.0000" not in llama
    spend_end = table[0].index("spend") + len("spend")
    assert table[1][:spend_end].endswith("$0.3655")  # right-aligned under its header
    assert "unpriced" in out and "llm.internal.example" in out


def test_stats_colours_a_terminal(home):
    out = run("stats", "--home", str(home), "--by", "project", color=True)
    assert "\x1b[" in out
    plain_lines = [ANSI.sub("", line) for line in out.splitlines() if line.startswith(("project", "shop", "blog"))]
    assert len({len(line) for line in plain_lines}) == 1  # colour does not break alignment


def test_stats_limit_cuts_the_tables_in_the_terminal_and_json_lists_every_group(home):
    # projects by spend: shop ($0.3575), blog ($0.002), none (a timeout: no spend, one call)
    out = run("stats", "--home", str(home), "--by", "project", "--limit", "1")
    rows = [line.split()[0] for line in out.splitlines() if line.startswith(("shop", "blog", "(no project)"))]
    assert rows == ["shop"] and "… 2 more (--limit)" in out
    assert [g["key"] for g in stats_json(home, "--by", "project")["by_project"]] == ["shop", "blog", None]
    cut = stats_json(home, "--by", "project", "--limit", "1")
    assert [g["key"] for g in cut["by_project"]] == ["shop"] and cut["more"] == {"project": 2}
    assert cut["total"]["calls"] == 6  # the total still counts every call
    result = CliRunner().invoke(main, ["stats", "--home", str(home), "--limit", "-1"])
    assert result.exit_code == 2 and "--limit" in result.output


def test_stats_bad_since_and_missing_db(tmp_path):
    result = CliRunner().invoke(main, ["stats", "--home", str(tmp_path), "--since", "yesterday-ish"])
    assert result.exit_code != 0
    result = CliRunner().invoke(main, ["stats", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code != 0 and "no traces yet" in result.output


# --- r4u reprice -----------------------------------------------------------------------------------


def stored(home: Path, trace_id: str) -> tuple:
    conn = sqlite3.connect(home / "traces.db")
    try:
        return conn.execute(
            "SELECT cost_usd, priced_model, price_source FROM traces WHERE id = ?", (trace_id,)
        ).fetchone()
    finally:
        conn.close()


def test_reprice_after_an_override_prices_history(home):
    assert stored(home, "04")[0] is None
    (home / "prices.toml").write_text(
        '[[model]]\nmatch = "private-llama"\nhost = "llm.internal.example"\ninput = 0.50\noutput = 1.50\n'
    )
    out = run("reprice", "--home", str(home))
    assert "1 price override" in out and "repriced 6 calls" in out
    cost, model, source = stored(home, "04")
    assert cost == pytest.approx((3000 * 0.50 + 1000 * 1.50) / M)  # $0.003
    assert model == "private-llama"
    assert source == f"override:{(home / 'prices.toml').resolve()}"
    # Known models were recomputed from genai-prices: gpt-4o $2.50 in / $10 out per million.
    cost, model, source = stored(home, "02")
    assert cost == pytest.approx((2000 * 2.50 + 100 * 10) / M)
    assert (model, source) == ("gpt-4o", GENAI_PRICES)
    # The call without usage stays unpriced rather than costing $0.
    assert stored(home, "05")[0] is None
    assert stats_json(home)["unpriced"] == []


def test_reprice_since_leaves_older_history_alone(home):
    (home / "prices.toml").write_text('[[model]]\nmatch = "gpt-4o*"\ninput = 1\noutput = 1\n')
    pricing.configure(home / "prices.toml")
    changed = reprice(home / "traces.db", since="24h")
    # the three recent gpt-4o calls get the override's cost, the timed-out one its matched override; the
    # llama call keeps the price source it was recorded with
    assert changed == 4
    assert stored(home, "01")[0] == pytest.approx((1000 + 500) * 1 / M)
    assert stored(home, "06")[0] == pytest.approx(0.35)  # 3 days old: untouched
    assert reprice(home / "traces.db", since="24h") == 0  # nothing left to change


def test_reprice_prices_anthropic_one_hour_cache_writes_from_the_stored_body(tmp_path):
    usage = {"input_tokens": 100, "cache_creation_input_tokens": 3000, "cache_read_input_tokens": 0,
             "output_tokens": 200, "cache_creation": {"ephemeral_5m_input_tokens": 1000,
                                                      "ephemeral_1h_input_tokens": 2000}}
    # A file from before pricing_inputs_v1, whose rows hold the 1-hour writes only inside the body:
    # the migration reprice runs fills the column from it.
    home = tmp_path
    conn = sqlite3.connect(home / "traces.db")
    migrate(conn, MIGRATIONS.before("pricing_inputs_v1"))
    with conn:
        conn.execute(
            "INSERT INTO traces (id, started_at, provider, host, response_model, input_tokens, output_tokens,"
            " cache_write_tokens, response_body) VALUES ('07', ?, 'anthropic', 'api.anthropic.com',"
            " 'claude-sonnet-4-20250514', 3100, 200, 3000, ?)",
            (ago(minutes=5), json.dumps({"usage": usage})),
        )
    conn.close()
    reprice(home / "traces.db", since="1h")
    # claude-sonnet-4: $3 input, $3.75 5-minute write, 2 x $3 = $6 1-hour write, $15 output.
    assert stored(home, "07")[0] == pytest.approx((100 * 3 + 1000 * 3.75 + 2000 * 6 + 200 * 15) / M)


def test_reprice_reads_the_tier_from_its_column_not_from_the_bodies(tmp_path):
    from support.rows import OPENAI_CHAT, call, chat_request, chat_response, write

    conn = open_db(tmp_path / "traces.db")
    request = chat_request("hi", model="gpt-4o", service_tier="flex")
    answer = chat_response("yo", usage=(1000, 500), model="gpt-4o-2024-08-06", service_tier="flex")
    (row,) = write(conn, [call(OPENAI_CHAT, request, answer, at=NOW.timestamp() - 60)])
    half_price = (1000 * 2.50 + 500 * 10) / M / 2  # OpenAI's flex tier: half the standard rate
    assert row["service_tier"] == "flex" and row["cost_usd"] == pytest.approx(half_price)
    with conn:  # bodies gone (as a privacy-minded user might do): the cost can still be recomputed
        conn.execute("UPDATE traces SET request_body = NULL, response_body = NULL, cost_usd = NULL")
    conn.close()
    reprice(tmp_path / "traces.db")
    assert stored(tmp_path, row["id"])[0] == pytest.approx(half_price)


def test_reprice_refuses_a_broken_prices_file(home):
    (home / "prices.toml").write_text("[[model]]\nmatch = 'x'\n")
    result = CliRunner().invoke(main, ["reprice", "--home", str(home)])
    assert result.exit_code != 0 and "`input` is required" in result.output
    assert stored(home, "01")[0] == pytest.approx(0.0075)  # history untouched


class _PriceData(BaseHTTPRequestHandler):
    # A price-data update in genai-prices' own JSON format: gpt-4o now $5 in / $20 out.
    body = json.dumps([{
        "id": "openai", "name": "OpenAI", "api_pattern": r"https://api\.openai\.com",
        "models": [{"id": "gpt-4o", "match": {"starts_with": "gpt-4o"},
                    "prices": {"input_mtok": 5, "output_mtok": 20}}],
    }]).encode()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


def test_reprice_with_fetched_price_data_changes_history(home, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PriceData)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.json"
        run("reprice", "--home", str(home), "--since", "24h", "--prices-url", url)
    finally:
        server.shutdown()
        server.server_close()
    cost, model, source = stored(home, "01")
    assert cost == pytest.approx((1000 * 5 + 500 * 20) / M)  # $0.015, was $0.0075
    assert "prices fetched" in source
    # After the command the bundled data is back in force for new traces.
    assert pricing.price("openai", "gpt-4o", {"input_tokens": 1000, "output_tokens": 500}).cost_usd == 0.0075
