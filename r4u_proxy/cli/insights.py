"""`r4u insights`: repeated requests, prompt prefixes missing the cache, and a what-if price table."""

from __future__ import annotations

from pathlib import Path

import click

from r4u_proxy.cli import main
from r4u_proxy.cli.options import db_options, existing_db, show_report, since_option
from r4u_proxy.cli.tables import money, render_table, tokens
from r4u_proxy.reports.insights import InsightsReport, collect_insights
from r4u_proxy.reports.insights.prefixes import CACHE_LIFETIME_S


def _title(text: str) -> str:
    return click.style(text, fg="cyan", bold=True)


# A section is (title, what "none" means, its lines when it has rows: an intro line and a table).
Section = tuple[str, str, list[str]]


def _repeats_section(report: InsightsReport) -> Section:
    repeats = report.repeats
    title = "repeated identical requests (what a response cache would have saved)"
    none = "no two successful calls sent the same request"
    if not repeats.groups:
        return title, none, []
    intro = f"{repeats.repeated_calls:,} repeated calls, {money(repeats.saving_usd)} (every call of a group but the first)"
    rows = [
        [
            g.model or "(no model)",
            g.example_trace_id,
            f"{g.count:,}",
            money(g.saving_usd),
            g.first_seen[:19].replace("T", " "),
            g.last_seen[:19].replace("T", " "),
        ]
        for g in repeats.groups
    ]
    return title, none, [intro, *render_table(["model", "example trace", "calls", "saving", "first", "last"], rows, 2)]


def _prefixes_section(report: InsightsReport) -> Section:
    title = "stable prompt prefixes missing the provider's prompt cache"
    none = "no group of calls shares a cacheable prefix without reading the cache"
    if not report.prefixes:
        return title, none, []
    intro = (
        f"estimated saving: warm calls (within {CACHE_LIFETIME_S // 60} min of the previous one) "
        "x the prefix read at the cache-read price"
    )
    rows = [
        [
            (f.task_id or "(no task)")[:12],
            f.model or "(no model)",
            f"{f.calls:,}",
            f"{f.warm_calls:,}",
            tokens(f.prefix_tokens),
            f"{f.cached_share:.0%}",
            money(f.saving_usd),
            f.note,
        ]
        for f in report.prefixes
    ]
    headers = ["task", "model", "calls", "warm", "prefix tok", "cached", "saving", "note"]
    return title, none, [intro, *render_table(headers, rows, 2, trailing_text_columns=1)]


def _what_if_section(report: InsightsReport) -> Section:
    what_if = report.what_if
    title, none = f"what-if: {what_if.label}", "no tasks yet (grouping finds them in the background)"
    if not what_if.tasks:
        return title, none, []
    tiers: dict[str, list[str]] = {}
    for m in what_if.models:
        tiers.setdefault(m.tier, []).append(m.model)
    intro = "  ·  ".join(f"{tier}: {', '.join(names)}" for tier, names in tiers.items())
    rows = [
        [
            f"{t.task_id} {t.template[:30]}".strip(),
            f"{t.calls:,}",
            money(t.actual_usd),
            *(money(t.cost_at[m.model]) for m in what_if.models),
        ]
        for t in what_if.tasks
    ]
    return title, none, [intro, *render_table(["task", "calls", "actual", *(m.model for m in what_if.models)], rows)]


def render_insights(report: InsightsReport) -> str:
    window = f"since {report.since}" if report.since else "all history"
    lines = [click.style(f"r4u insights — {window}", bold=True)]
    for section in (_repeats_section, _prefixes_section, _what_if_section):
        title, none, body = section(report)
        lines += ["", _title(title), *(body or [f"none: {none}"])]
    return "\n".join(lines)


@main.command()
@db_options
@since_option
@click.option("--limit", default=10, show_default=True, help="Rows per section.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def insights(home: Path | None, db: Path | None, since: str | None, limit: int, as_json: bool) -> None:
    """Where spend could shrink: repeated requests, uncached prompt prefixes, other models' prices."""
    path = existing_db(home, db)
    show_report(path, lambda: collect_insights(path, since, limit), render_insights, as_json)
