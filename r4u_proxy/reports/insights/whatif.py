"""What-if: each expensive task's token usage priced at other models' prices.

This is price arithmetic on the same token counts — not a quality comparison: another model
would answer differently, with other token counts, and may not do the task at all. The tiers
group models of roughly similar capability and price class so the table reads left to right.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from r4u_proxy.reports.metrics import unpriced_sql

LABEL = "price arithmetic on the same token counts — not a quality comparison"


@dataclass(frozen=True)
class TierModel:
    tier: str  # frontier | mid | small
    provider: str  # r4u's provider name, as price() takes it
    model: str  # a model id genai-prices resolves (tests check each one prices)


WHAT_IF_MODELS: tuple[TierModel, ...] = (
    TierModel("frontier", "openai", "gpt-4.1"),
    TierModel("frontier", "anthropic", "claude-sonnet-4"),
    TierModel("frontier", "gemini", "gemini-2.5-pro"),
    TierModel("mid", "openai", "gpt-4.1-mini"),
    TierModel("mid", "anthropic", "claude-3-5-haiku"),
    TierModel("mid", "gemini", "gemini-2.5-flash"),
    TierModel("small", "openai", "gpt-4.1-nano"),
    TierModel("small", "gemini", "gemini-2.5-flash-lite"),
)


@dataclass
class TaskWhatIf:
    task_id: str
    template: str
    calls: int
    models: list[str]  # the models the task actually used
    actual_usd: float | None  # recorded cost of the priced calls
    unpriced_calls: int  # calls that succeeded without a recorded cost (metrics.UNPRICED_SQL)
    input_tokens: int
    output_tokens: int
    cost_at: dict[str, float | None] = field(default_factory=dict)  # what-if model -> dollars


@dataclass
class WhatIf:
    label: str
    models: list[TierModel]
    tasks: list[TaskWhatIf]


def cost_at(model: TierModel, usage_rows: list[tuple[int, int, int, int, int]]) -> float | None:
    """Dollars for (input, output, cache_read, cache_write, calls) usage rows at this model's prices.

    Each distinct usage is priced on its own, so prices tiered by prompt size apply per call.
    """
    # genai-prices takes a while to import, and `r4u --help` imports this module
    from r4u_proxy.pricing.prices import price

    total = 0.0
    for input_tokens, output_tokens, cache_read, cache_write, calls in usage_rows:
        usage = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write,
        }
        result = price(model.provider, model.model, usage)
        if result.cost_usd is None:
            return None
        total += result.cost_usd * calls
    return total


def what_if(conn: sqlite3.Connection, cutoff: str | None, limit: int) -> WhatIf:
    since, params = ("AND started_at >= ?", [cutoff]) if cutoff else ("", [])
    top = conn.execute(
        f"""SELECT t.task_id, coalesce(k.template, ''), count(*), sum(t.cost_usd),
                   sum({unpriced_sql("t")}),
                   group_concat(DISTINCT coalesce(t.request_model, t.response_model))
            FROM traces AS t LEFT JOIN tasks AS k ON k.id = t.task_id
            WHERE t.task_id IS NOT NULL {"AND t.started_at >= ?" if cutoff else ""}
            GROUP BY t.task_id ORDER BY sum(t.cost_usd) DESC NULLS LAST, count(*) DESC LIMIT ?""",
        [*params, limit],
    ).fetchall()
    tasks = []
    for task_id, template, calls, actual, unpriced, models in top:
        usage_rows = conn.execute(
            f"""SELECT coalesce(input_tokens, 0), coalesce(output_tokens, 0), coalesce(cache_read_tokens, 0),
                       coalesce(cache_write_tokens, 0), count(*)
                FROM traces WHERE task_id = ? AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL) {since}
                GROUP BY 1, 2, 3, 4""",
            [task_id, *params],
        ).fetchall()
        task = TaskWhatIf(
            task_id=task_id,
            template=" ".join(template.split()),
            calls=calls,
            models=sorted((models or "").split(",")) if models else [],
            actual_usd=actual,
            unpriced_calls=unpriced or 0,
            input_tokens=sum(r[0] * r[4] for r in usage_rows),
            output_tokens=sum(r[1] * r[4] for r in usage_rows),
        )
        task.cost_at = {m.model: cost_at(m, usage_rows) for m in WHAT_IF_MODELS}
        tasks.append(task)
    return WhatIf(label=LABEL, models=list(WHAT_IF_MODELS), tasks=tasks)
