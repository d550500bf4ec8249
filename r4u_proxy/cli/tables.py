"""Terminal tables shared by `r4u stats` and `r4u insights`: aligned columns, money and counts."""

from __future__ import annotations

from collections.abc import Sequence

import click

from r4u_proxy.reports.metrics import money

__all__ = ["money", "render_table", "tokens"]

# Headers whose cells are coloured (after padding): money green, counts that need attention yellow.
_GREEN_HEADERS = frozenset({"spend", "saving"})
_YELLOW_HEADERS = frozenset({"unpriced"})


def tokens(value: int) -> str:
    return f"{value:,}"


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    text_columns: int = 1,
    trailing_text_columns: int = 0,
) -> list[str]:
    """Aligned lines: the first `text_columns` columns left-aligned, the numbers after them right,
    and the last `trailing_text_columns` (notes) left-aligned again.

    Colour is added after padding, because ANSI codes would otherwise count toward the width;
    click.echo drops it again when stdout is not a terminal.
    """
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    first_trailing = len(headers) - trailing_text_columns

    def line(cells: Sequence[str]) -> list[str]:
        return [
            c.ljust(w) if i < text_columns or i >= first_trailing else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]

    lines = ["  ".join(click.style(c, bold=True) for c in line(headers))]
    for row in rows:
        cells = line(row)
        for i, header in enumerate(headers):
            if header in _GREEN_HEADERS and cells[i].strip() != "—":
                cells[i] = click.style(cells[i], fg="green")
            elif header in _YELLOW_HEADERS and cells[i].strip() != "0":
                cells[i] = click.style(cells[i], fg="yellow")
        lines.append("  ".join(cells).rstrip())
    return lines
