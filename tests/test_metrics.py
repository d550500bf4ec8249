"""reports/metrics.py: the one rule for each number, and its SQL form meaning what its Python form does."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from r4u_proxy.reports import metrics


@pytest.mark.parametrize(
    ("values", "p50", "p95"),
    [
        ([100, 200, 300, 400, 1000], 300, 1000),  # the example: 880 interpolated, 1000 here
        ([40, 60, 80, 100], 60, 100),  # p50 of an even count: the lower middle, a measured value
        ([7], 7, 7),
        (list(range(1, 21)), 10, 19),  # 0.95 * 20 = 19 exactly: rank 19, not 20 (no float drift)
        (list(range(1, 101)), 50, 95),
        (list(range(1, 102)), 51, 96),
    ],
)
def test_nearest_rank(values, p50, p95):
    assert metrics.percentiles(values) == {"p50": p50, "p95": p95}


def test_no_values_no_percentile():
    assert metrics.percentiles([]) == {"p50": None, "p95": None}


def test_sql_percentiles_walk_an_index_to_the_same_values():
    conn = sqlite3.connect(":memory:")
    conn.execute("create table t (v real, g text)")
    conn.execute("create index t_v on t (v, g)")
    values = [13.0, 2.0, 8.5, 1000.0, 40.0, 40.0, 7.25, None, 99.0, 3.0, 64.0]
    conn.executemany("insert into t values (?, ?)", [(v, "a" if i % 3 else "b") for i, v in enumerate(values)])
    measured = [v for v in values if v is not None]
    source = "from t indexed by t_v where v is not null"
    assert metrics.sql_percentiles(conn, "v", source, []) == metrics.percentiles(measured)
    only_a = [v for i, v in enumerate(values) if v is not None and i % 3]
    source_a = "from t indexed by t_v where g = ? and v is not null"
    assert metrics.sql_percentiles(conn, "v", source_a, ["a"]) == metrics.percentiles(only_a)
    assert metrics.sql_percentiles(conn, "v", "from t where v > 5000", []) == {"p50": None, "p95": None}


STATUSES = (None, 200, 204, 399, 400, 429, 500, 529)
ERRORS = (None, "upstream connect failed: refused", "")
COSTS = (None, 0.0, 0.002)
MODELS = ((None, None), ("gpt-4o", None), (None, "gpt-4o-2024-08-06"))
USAGE = ((None, None), (10, None), (None, 5), (10, 5))
# What pricing stored (a reason it decided, which may differ from what the columns imply), a price, or
# what an r4u from before stored reasons wrote.
SOURCES = (None, "genai-prices 0.2.3", "unpriced: pricing failed: ValueError: cache > input",
           "unpriced: no price for the model (genai-prices 0.2.3): no token price for 'dall-e-3'",
           "unpriced: genai-prices 0.0.61 has no price for 'my-llama'")  # fmt: skip


def _rows():
    for status, error, cost, (request_model, response_model), (tokens_in, tokens_out), source in itertools.product(
        STATUSES, ERRORS, COSTS, MODELS, USAGE, SOURCES
    ):
        yield {
            "status_code": status, "error": error, "cost_usd": cost, "request_model": request_model,
            "response_model": response_model, "input_tokens": tokens_in, "output_tokens": tokens_out,
            "price_source": source,
        }  # fmt: skip


def test_error_success_and_unpriced_mean_the_same_in_sql_and_python():
    conn = sqlite3.connect(":memory:")
    rows = list(_rows())
    columns = list(rows[0])
    conn.execute(f"create table traces (n integer primary key, {', '.join(columns)})")
    conn.executemany(
        f"insert into traces ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
        [[row[c] for c in columns] for row in rows],
    )
    found = conn.execute(
        f"select coalesce({metrics.ERROR_SQL}, 0), coalesce({metrics.SUCCESS_SQL}, 0),"
        f" coalesce({metrics.UNPRICED_SQL}, 0), {metrics.UNPRICED_REASON_SQL} from traces order by n"
    ).fetchall()
    for row, (error, success, unpriced, reason) in zip(rows, found, strict=True):
        assert bool(error) == metrics.is_error(row["status_code"], row["error"]), row
        assert bool(success) == metrics.succeeded(row["status_code"], row["error"]), row
        assert bool(unpriced) == metrics.is_unpriced(row), row
        assert reason == metrics.unpriced_reason(row), row
    # The SQL also counts the same in sums (what every aggregate view does).
    errors, unpriced = conn.execute(
        f"select sum({metrics.ERROR_SQL}), sum({metrics.UNPRICED_SQL}) from traces"
    ).fetchone()
    assert errors == sum(metrics.is_error(r["status_code"], r["error"]) for r in rows)
    assert unpriced == sum(metrics.is_unpriced(r) for r in rows)
    # Table-qualified forms (for joins and triggers) are the same predicates.
    qualified = conn.execute(f"select count(*) from traces as t where {metrics.unpriced_sql('t')}").fetchone()[0]
    assert qualified == unpriced


def test_what_is_an_error_and_what_is_unpriced():
    assert metrics.is_error(429, None) and metrics.is_error(None, "upstream timeout: read")
    assert metrics.is_error(200, "client disconnected mid-response: gone")
    assert not metrics.is_error(200, None) and not metrics.is_error(399, None)
    ok = {"status_code": 200, "error": None, "request_model": "gpt-4o", "input_tokens": 10, "output_tokens": 2}
    assert metrics.unpriced_reason({**ok, "cost_usd": 0.01}) is None
    assert metrics.unpriced_reason({**ok, "cost_usd": None}) == metrics.NO_PRICE
    assert metrics.unpriced_reason({**ok, "input_tokens": None, "output_tokens": None}) == metrics.NO_USAGE
    assert metrics.unpriced_reason({**ok, "request_model": None}) == metrics.NO_MODEL
    assert metrics.unpriced_reason({**ok, "status_code": 500}) is None  # an error, not unpriced
    # The reason pricing stored wins over what the columns imply; every reason reads back from its source.
    failed = {**ok, "cost_usd": None, "price_source": metrics.unpriced_source(metrics.PRICING_FAILED, ": boom")}
    assert metrics.unpriced_reason(failed) == metrics.PRICING_FAILED
    for reason in metrics.UNPRICED_REASONS:
        assert metrics.stored_unpriced_reason(metrics.unpriced_source(reason, " (genai-prices 0.2.3): 'x'")) == reason
    assert metrics.stored_unpriced_reason("genai-prices 0.2.3") is None
    with pytest.raises(ValueError):
        metrics.unpriced_source("too expensive")


@pytest.mark.parametrize(
    ("usd", "shown"),
    [
        (None, "—"), (0, "$0"), (0.000042, "$0.000042"), (0.0001, "$0.0001"), (0.0123, "$0.0123"),
        (0.05, "$0.0500"), (3.0, "$3.0000"), (12.34567, "$12.3457"), (99.99994, "$99.9999"), (100, "$100.00"),
        (1234.567, "$1,234.57"),
    ],
)  # fmt: skip
def test_money(usd, shown):
    assert metrics.money(usd) == shown


@pytest.mark.parametrize(
    ("ms", "shown"),
    [(None, "—"), (0.4, "0 ms"), (850, "850 ms"), (1234.5, "1,234 ms"), (9999.4, "9,999 ms"),
     (10_000, "10.0 s"), (12_549, "12.5 s"), (125_000, "125.0 s")],
)  # fmt: skip
def test_duration(ms, shown):
    assert metrics.duration(ms) == shown


def test_counts_and_rates():
    assert metrics.count(1234567) == "1,234,567" and metrics.count(None) == "—"
    assert metrics.percent(0.125) == "12.5%" and metrics.percent(None) == "—"
    assert metrics.error_rate(1, 8) == 0.125 and metrics.error_rate(0, 0) is None
