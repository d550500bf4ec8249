"""One definition of every number r4u shows: percentiles, errors, unpriced calls, money, durations.

`r4u stats`, `r4u tasks`, grouping's task statistics, the dashboard, the task pages, their JSON and
the exports all take their rules from here, each in the form it needs: a Python predicate over a
row and the same predicate as SQL text, with the same meaning.

Percentiles — nearest rank. The p-th percentile of n values is the value at 1-based rank
ceil(p * n / 100) in ascending order (never below rank 1): p50 of 100, 200, 300, 400, 1000 is 300,
p95 is 1000. It is always a value that was measured (no interpolation), and it can be computed in
SQL over an index without sorting: count the n values, then `ORDER BY column LIMIT 1 OFFSET rank-1`
walks the index to that entry (what the dashboard does at a million traces). NULLs are not values.

Errors — a call failed when the upstream answered with an HTTP status >= 400, or r4u recorded a
transport or stream error (`error` is set). A call succeeded when it got a status below 400 and no
error. (A row with neither a status nor an error, which the proxy never writes, is neither.)

Unpriced — a call that succeeded but has no cost (`cost_usd` is NULL): its cost is unknown, which
is not $0, so spend never counts it. Failed calls are not unpriced: they are errors. Why, one of
UNPRICED_REASONS: it names no model; it reported no usage (e.g. an OpenAI stream without
`stream_options.include_usage`, Gemini embeddings); the price data has no (token) price for its model
(add one in R4U_HOME/prices.toml); pricing failed (usage that makes no sense, e.g. more cache tokens
than input). Pricing decides and stores the reason as the start of `price_source`
(`unpriced_source`: "unpriced: no usage reported", ...); `unpriced_reason` reads it back. A row
without a stored reason (priced by an r4u from before reasons were stored) gets the one its columns
imply, checked in the order pricing checks: no model, then no usage, else no price.

Money — `$0`, then 6 decimals below $0.0001, 4 decimals below $100, cents from $100 up, with
thousands separators: $0.000042, $0.0123, $12.3456, $1,234.57. LLM calls cost fractions of a cent,
so a figure rounded to cents would show most of them as $0.00.

Durations — whole milliseconds below 10 s (`850 ms`, `9,999 ms`), tenths of a second from there
(`12.3 s`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

PERCENTILES: dict[str, int] = {"p50": 50, "p95": 95}


def error_sql(row: str = "") -> str:
    """The error predicate as SQL, over the columns of `row` (a table alias, or a trigger's new/old)."""
    p = f"{row}." if row else ""
    return f"({p}status_code >= 400 OR {p}error IS NOT NULL)"


def success_sql(row: str = "") -> str:
    p = f"{row}." if row else ""
    return f"({p}status_code < 400 AND {p}error IS NULL)"


def unpriced_sql(row: str = "") -> str:
    p = f"{row}." if row else ""
    return f"({p}cost_usd IS NULL AND {success_sql(row)})"


# ERROR_SQL is also the exact text of the partial index idx_traces_errors (store/ui_indexes.py):
# queries that want that index must repeat it verbatim.
ERROR_SQL = error_sql()
SUCCESS_SQL = success_sql()
UNPRICED_SQL = unpriced_sql()

NO_MODEL = "no model name"
NO_USAGE = "no usage reported"
NO_PRICE = "no price for the model"
PRICING_FAILED = "pricing failed"
UNPRICED_REASONS = (NO_MODEL, NO_USAGE, NO_PRICE, PRICING_FAILED)
UNPRICED_PREFIX = "unpriced: "


def unpriced_reason_sql(row: str = "") -> str:
    """unpriced_reason as SQL: NULL, or one of UNPRICED_REASONS."""
    p = f"{row}." if row else ""
    stored = "".join(
        f" WHEN substr({p}price_source, 1, {len(UNPRICED_PREFIX + reason)}) = '{UNPRICED_PREFIX}{reason}'"
        f" THEN '{reason}'"
        for reason in UNPRICED_REASONS
    )
    return (
        f"CASE WHEN NOT coalesce({unpriced_sql(row)}, 0) THEN NULL{stored}"
        f" WHEN {p}request_model IS NULL AND {p}response_model IS NULL THEN '{NO_MODEL}'"
        f" WHEN {p}input_tokens IS NULL AND {p}output_tokens IS NULL THEN '{NO_USAGE}'"
        f" ELSE '{NO_PRICE}' END"
    )


UNPRICED_REASON_SQL = unpriced_reason_sql()


# --- percentiles -----------------------------------------------------------------------------


def percentile_rank(n: int, percent: int) -> int:
    """The 1-based nearest rank of the `percent`-th percentile among n values (integer arithmetic)."""
    return max(1, -(-percent * n // 100))


def percentile(sorted_values: Sequence[float], percent: int) -> float | None:
    """Nearest-rank percentile of an ascending list; None for no values."""
    if not sorted_values:
        return None
    return sorted_values[percentile_rank(len(sorted_values), percent) - 1]


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """{"p50": ..., "p95": ...} of values in any order."""
    ordered = sorted(values)
    return {name: percentile(ordered, percent) for name, percent in PERCENTILES.items()}


def sql_percentiles(
    conn: sqlite3.Connection, column: str, source: str, params: Sequence[Any], n: int | None = None
) -> dict[str, float | None]:
    """{"p50", "p95"} of `column` over `source` (a FROM ... WHERE ... text that already excludes NULLs).

    Each is one `ORDER BY column LIMIT 1 OFFSET rank-1`: with an index on the column (and the filter
    columns) SQLite walks to that entry without sorting, from whichever end is nearer (p95 of a million
    calls is 50k entries from the top, not 950k from the bottom). `n` is counted unless the caller knows it.
    """
    if n is None:
        n = conn.execute(f"SELECT count(*) {source}", list(params)).fetchone()[0]
    result: dict[str, float | None] = dict.fromkeys(PERCENTILES)
    for name, percent in PERCENTILES.items():
        if n:
            rank = percentile_rank(n, percent)
            order, offset = ("DESC", n - rank) if rank > n / 2 else ("", rank - 1)
            row = conn.execute(
                f"SELECT {column} {source} ORDER BY {column} {order} LIMIT 1 OFFSET ?", [*params, offset]
            ).fetchone()
            result[name] = row[0] if row else None
    return result


# --- errors and unpriced calls -----------------------------------------------------------------


def is_error(status_code: int | None, error: str | None) -> bool:
    """ERROR_SQL in Python."""
    return error is not None or (status_code is not None and status_code >= 400)


def succeeded(status_code: int | None, error: str | None) -> bool:
    """SUCCESS_SQL in Python."""
    return error is None and status_code is not None and status_code < 400


def error_rate(errors: int | None, calls: int | None) -> float | None:
    return (errors or 0) / calls if calls else None


def unpriced_source(reason: str, detail: str = "") -> str:
    """The `price_source` pricing stores for a call it could not price: the reason, then what it names."""
    if reason not in UNPRICED_REASONS:
        raise ValueError(f"not an unpriced reason: {reason!r}")
    return f"{UNPRICED_PREFIX}{reason}{detail}"


def stored_unpriced_reason(price_source: str | None) -> str | None:
    """The reason a `price_source` names (see unpriced_source), or None: a price, or no reason stored."""
    if not price_source or not price_source.startswith(UNPRICED_PREFIX):
        return None
    return next((r for r in UNPRICED_REASONS if price_source.startswith(UNPRICED_PREFIX + r)), None)


def unpriced_reason(row: Mapping[str, Any]) -> str | None:
    """Why a trace row has no cost (UNPRICED_REASON_SQL in Python), or None when it is not unpriced."""
    if row.get("cost_usd") is not None or not succeeded(row.get("status_code"), row.get("error")):
        return None
    stored = stored_unpriced_reason(row.get("price_source"))
    if stored is not None:
        return stored
    if row.get("request_model") is None and row.get("response_model") is None:
        return NO_MODEL
    if row.get("input_tokens") is None and row.get("output_tokens") is None:
        return NO_USAGE
    return NO_PRICE


def is_unpriced(row: Mapping[str, Any]) -> bool:
    """UNPRICED_SQL in Python."""
    return unpriced_reason(row) is not None


# --- what a person reads -----------------------------------------------------------------------

MISSING = "—"  # unknown, which is not zero


def money(usd: float | None) -> str:
    if usd is None:
        return MISSING
    value = float(usd)
    if value == 0:
        return "$0"
    if abs(value) < 0.0001:
        return f"${value:.6f}"
    if abs(value) < 100:
        return f"${value:,.4f}"
    return f"${value:,.2f}"


def duration(ms: float | None) -> str:
    if ms is None:
        return MISSING
    value = float(ms)
    if value >= 10_000:
        return f"{value / 1000:,.1f} s"
    return f"{value:,.0f} ms"


def count(value: int | None) -> str:
    return MISSING if value is None else f"{int(value):,}"


def percent(fraction: float | None) -> str:
    return MISSING if fraction is None else f"{float(fraction) * 100:.1f}%"
