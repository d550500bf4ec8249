"""The session page's two charts, as inline SVG (same reasons as charts.py): a timeline of the calls and
the context composition of each turn, stacked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from markupsafe import Markup

from r4u_proxy.reports.metrics import duration as ms
from r4u_proxy.reports.metrics import money as usd
from r4u_proxy.sessions.context import PARTS

from .charts import _fmt_number, bar_frame

WIDTH = 720
ROW_H = 14
PAD_LEFT = 44
LABELS = {"system": "system", "tools": "tool definitions", "earlier_turns": "earlier turns",
          "new_input": "new input", "tool_results": "tool results"}  # fmt: skip


def _seconds(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def timeline_chart(turns: Sequence[dict[str, Any]], trace_prefix: str = "") -> Markup:
    """One bar per call from its start to its end, on the session's clock; a tick marks the first token."""
    spans = []
    for turn in turns:
        start = _seconds(turn.get("started_at"))
        end = _seconds(turn.get("ended_at")) or start
        if start is not None:
            spans.append((turn, start, max(end or start, start)))
    row_h = max(3.0, min(ROW_H, 420 / max(len(spans), 1)))  # a long session stays one screen tall
    height = max(len(spans), 1) * row_h + 24
    out = [
        f'<svg class="r4u-chart r4u-session-timeline" role="img" aria-label="timeline of the calls" '
        f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg"><title>timeline of the calls</title>'
    ]
    if not spans:
        out.append(f'<text class="empty" x="{WIDTH / 2}" y="14" text-anchor="middle">no calls</text></svg>')
        return Markup("".join(out))
    t0 = min(s for _, s, _ in spans)
    total = max(e for _, _, e in spans) - t0 or 1.0
    plot_w = WIDTH - PAD_LEFT - 8

    def x_of(t: float) -> float:
        return PAD_LEFT + plot_w * (t - t0) / total

    for row, (turn, start, end) in enumerate(spans):
        y = 4 + row * row_h
        width = max(x_of(end) - x_of(start), 2)
        tip = (f"turn {turn.get('session_turn') or row + 1}: {turn.get('model') or '?'}, "
               f"{turn.get('input_tokens') or 0:,} in / {turn.get('output_tokens') or 0:,} out, "
               f"{usd(turn.get('cost_usd'))}, latency {ms(turn.get('latency_ms'))}, TTFT {ms(turn.get('ttft_ms'))}")  # fmt: skip
        error = " error" if turn.get("error") or (turn.get("status_code") or 0) >= 400 else ""
        if row_h >= 10 or row % 10 == 0:
            out.append(f'<text class="tick" x="{PAD_LEFT - 4}" y="{y + min(row_h, 10):.1f}" text-anchor="end">{row + 1}</text>')
        out.append(
            f'<a href="{escape(trace_prefix)}/trace/{escape(turn["id"])}"><rect class="call{error}" data-turn="{row + 1}" x="{x_of(start):.1f}" '
            f'y="{y:.1f}" width="{width:.1f}" height="{row_h * 0.8:.1f}"><title>{escape(tip)}</title></rect></a>'
        )
        if turn.get("ttft_ms") is not None:
            x = x_of(start + turn["ttft_ms"] / 1000)
            out.append(f'<line class="ttft" x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + row_h * 0.8:.1f}"/>')
    bottom = height - 6
    out.append(f'<text class="tick" x="{PAD_LEFT}" y="{bottom}">0 s</text>')
    out.append(f'<text class="tick" x="{WIDTH - 2}" y="{bottom}" text-anchor="end">{total:,.1f} s</text>')
    out.append("</svg>")
    return Markup("".join(out))


def context_chart(turns: Sequence[dict[str, Any]]) -> Markup:
    """Stacked bars, one per turn: what the input tokens were spent on; a dashed line at the context limit
    when it is in view."""
    height, pad_bottom, pad_top = 200, 22, 8
    plot_h = height - pad_bottom - pad_top
    splits = [t.get("context_tokens") or {} for t in turns]
    totals = [sum(s.get(p) or 0 for p in PARTS) for s in splits]
    top = max(totals, default=0) or 1
    plot_w = WIDTH - PAD_LEFT - 8
    step = plot_w / max(len(turns), 1)
    bar_w = max(step * 0.8, 1)
    label = "context composition per turn"
    out = bar_frame("r4u-context", label, (WIDTH, height), (PAD_LEFT, pad_top, plot_h), _fmt_number(top))
    for i, (turn, split) in enumerate(zip(turns, splits, strict=True)):
        x = PAD_LEFT + i * step + (step - bar_w) / 2
        y = pad_top + plot_h
        for part in PARTS:
            value = split.get(part) or 0
            h = plot_h * value / top
            y -= h
            out.append(
                f'<rect class="part {part}" data-turn="{i + 1}" data-part="{part}" data-tokens="{value}" '
                f'x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                f"<title>turn {turn.get('session_turn') or i + 1}: {LABELS[part]} {value:,} tokens</title></rect>"
            )
    limit = max((t.get("context_limit") or 0 for t in turns), default=0)
    if limit and limit <= top * 1.5:
        y = pad_top + plot_h - plot_h * limit / top
        out.append(f'<line class="limit" x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH}" y2="{y:.1f}">'
                   f"<title>context limit {limit:,} tokens</title></line>")  # fmt: skip
    out.append("</svg>")
    return Markup("".join(out))
