"""`r4u stats` (spend and latency in the terminal) and `r4u reprice` (recompute history's cost)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import click

from r4u_proxy.cli import main
from r4u_proxy.cli.options import db_options, existing_db, show_report, since_option
from r4u_proxy.cli.tables import money as _money
from r4u_proxy.cli.tables import render_table
from r4u_proxy.cli.tables import tokens as _tokens
from r4u_proxy.paths import Home
from r4u_proxy.reports.metrics import NO_PRICE, duration
from r4u_proxy.reports.stats import GROUPINGS, GroupStats, StatsReport, collect_stats

# --- r4u stats ------------------------------------------------------------------------------------

_COLUMNS: list[tuple[str, Callable[[GroupStats], str]]] = [
    ("calls", lambda g: f"{g.calls:,}"),
    ("errors", lambda g: f"{g.errors:,}"),
    ("spend", lambda g: _money(g.spend_usd)),
    ("unpriced", lambda g: f"{g.unpriced_calls:,}"),
    ("in tok", lambda g: _tokens(g.input_tokens)),
    ("out tok", lambda g: _tokens(g.output_tokens)),
    ("p50", lambda g: duration(g.latency_p50_ms)),
    ("p95", lambda g: duration(g.latency_p95_ms)),
    ("p50 ttft", lambda g: duration(g.ttft_p50_ms)),
    ("p95 ttft", lambda g: duration(g.ttft_p95_ms)),
]


def _section(title: str, groups: list[GroupStats], more: int) -> list[str]:
    rows = [[g.label, *(fmt(g) for _, fmt in _COLUMNS)] for g in groups]
    lines = [
        click.style(title, fg="cyan", bold=True),
        *render_table([title.split()[-1], *(h for h, _ in _COLUMNS)], rows),
    ]
    if more:
        lines.append(f"… {more} more (--limit)")
    return lines


def render_report(report: StatsReport) -> str:
    window = f"since {report.since}" if report.since else "all history"
    lines = [click.style(f"r4u stats — {window}", bold=True), ""]
    lines += render_table(
        ["", *(h for h, _ in _COLUMNS)], [["total", *(fmt(report.total) for _, fmt in _COLUMNS)]]
    )
    for name, groups in report.groups.items():
        lines += ["", *_section(f"by {name}", groups, report.more.get(name, 0))]
    other_reasons = {r: n for r, n in report.total.unpriced_reasons.items() if r != NO_PRICE}
    if other_reasons:
        why = ", ".join(f"{n:,} {reason}" for reason, n in other_reasons.items())
        lines += ["", click.style(f"unpriced, not counted in spend: {why}", fg="yellow")]
    if report.unpriced:
        lines += [
            "",
            click.style(
                "unpriced (no known price; not counted in spend — add R4U_HOME/prices.toml)",
                fg="yellow",
                bold=True,
            ),
        ]
        lines += render_table(
            ["model", "provider", "host", "calls"],
            [
                [u.model or "(no model)", u.provider or "", u.host or "", f"{u.calls:,}"]
                for u in report.unpriced
            ],
            text_columns=3,
        )
    return "\n".join(lines)


@main.command()
@db_options
@since_option
@click.option(
    "--by",
    "groupings",
    multiple=True,
    type=click.Choice(GROUPINGS),
    help="Group by model, project or task (repeatable; default: all three).",
)
@click.option(
    "--limit",
    default=None,
    type=click.IntRange(min=0),
    help="Groups per table, most spend first (0: all)  [default: 20; with --json, all]",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(
    home: Path | None,
    db: Path | None,
    since: str | None,
    groupings: tuple[str, ...],
    limit: int | None,
    as_json: bool,
) -> None:
    """Spend, calls, tokens and p50/p95 latency and TTFT by model, project and task."""
    path = existing_db(home, db)
    _upgrade_older_file(path)
    show_report(
        path,
        lambda: collect_stats(path, since, groupings or GROUPINGS, limit=_groups_shown(limit, as_json)),
        render_report,
        as_json,
    )


def _upgrade_older_file(path: Path) -> None:
    """A file from before what `r4u stats` reads (the stats rollups, their hour index) gets it (once; the
    proxy would on its next start)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            current = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'idx_stats_rollup_hour'").fetchone()
        if current is None:
            from r4u_proxy.store.migrations import open_db  # imported only here: it is most of the schema

            click.echo(f"upgrading {path} for r4u stats (once) …", err=True)
            open_db(path).close()
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None


def _groups_shown(limit: int | None, as_json: bool) -> int | None:
    if limit is None:
        return None if as_json else 20  # a terminal gets a screenful, a script everything
    return limit or None


# --- r4u reprice ------------------------------------------------------------------------------------


@main.command()
@db_options
@since_option
@click.option(
    "--update-prices",
    is_flag=True,
    help="Fetch genai-prices' latest price data first (needs network) instead of the bundled data.",
)
@click.option(
    "--prices-url", default=None, metavar="URL", help="Where --update-prices fetches from (a mirror)."
)
def reprice(
    home: Path | None, db: Path | None, since: str | None, update_prices: bool, prices_url: str | None
) -> None:
    """Recompute cost_usd of recorded calls with current prices and HOME/prices.toml."""
    # Imported here: genai-prices takes half a second to import, which `r4u stats` must not pay.
    from r4u_proxy.pricing import snapshot
    from r4u_proxy.pricing.overrides import PricesFileError
    from r4u_proxy.pricing.prices import configure
    from r4u_proxy.pricing.reprice import reprice_traces

    paths = Home.resolve(home)
    path = existing_db(home, db)
    try:
        overrides = configure(paths.root / "prices.toml")
    except PricesFileError as exc:
        raise click.ClickException(str(exc)) from None
    if overrides.entries:
        click.echo(f"using {len(overrides.entries)} price override(s) from {overrides.path}")

    fetched = False
    if update_prices or prices_url:
        try:
            snapshot.fetch(prices_url or snapshot.UPDATE_URL)
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"could not fetch price data: {exc}") from None
        fetched = True
    try:
        result = reprice_traces(path, since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    finally:
        if fetched:  # the fetched data was for this command only
            snapshot.reset()
    click.echo(
        f"repriced {result.checked:,} calls: {result.changed:,} changed, {result.unpriced:,} without a price"
    )
