"""Charts drawn as inline SVG on the server.

Why not a JavaScript chart library: the UI must work offline and stay light.
Vega-Lite + vega-embed is ~1 MB of vendored JS for what are bar charts and one
timeline; server-side SVG needs no JS, renders before any script runs, can be
asserted in a plain HTML test, and prints. Every mark carries a <title> so
hovering shows the exact value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 160
PAD_LEFT = 56
PAD_BOTTOM = 22
PAD_TOP = 8


def _fmt_number(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    if value == int(value):
        return str(int(value))
    return f"{value:.3g}"


def bar_frame(
    css_class: str, label: str, size: tuple[int, int], plot: tuple[float, float, float], top_label: str
) -> list[str]:
    """The opening of a bar chart's SVG: its title, the x axis and the y axis' two ticks (0 and the top).
    `size` is (width, height); `plot` is (left edge, top edge, height) of the plotting area."""
    (width, height), (left, top, plot_h) = size, plot
    return [
        f'<svg class="r4u-chart {escape(css_class)}" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}"/>',
        f'<text class="tick" x="{left - 4}" y="{top + 10}" text-anchor="end">{escape(top_label)}</text>',
        f'<text class="tick" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]


def bar_chart(
    points: Sequence[tuple[str, float | None]],
    *,
    label: str,
    fmt: Callable[[float], str] = _fmt_number,
    css_class: str = "",
) -> Markup:
    """Vertical bars, one per (x label, value); x labels are shown at both ends."""
    values = [v or 0 for _, v in points]
    top = max(values, default=0) or 1
    plot_w = WIDTH - PAD_LEFT - 4
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = max(len(points), 1)
    step = plot_w / n
    bar_w = max(step * 0.8, 1)
    out = bar_frame(css_class, label, (WIDTH, HEIGHT), (PAD_LEFT, PAD_TOP, plot_h), fmt(top))
    for i, ((x_label, _), value) in enumerate(zip(points, values, strict=True)):
        h = plot_h * value / top
        x = PAD_LEFT + i * step + (step - bar_w) / 2
        y = PAD_TOP + plot_h - h
        out.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 0):.1f}">'
            f"<title>{escape(str(x_label))}: {escape(fmt(value))}</title></rect>"
        )
    if points:
        y_text = HEIGHT - 6
        out.append(f'<text class="tick" x="{PAD_LEFT}" y="{y_text}">{escape(str(points[0][0]))}</text>')
        if len(points) > 1:
            out.append(
                f'<text class="tick" x="{WIDTH - 2}" y="{y_text}" text-anchor="end">{escape(str(points[-1][0]))}</text>'
            )
    else:
        out.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def stream_timeline_chart(
    timeline: Sequence[Sequence[float]], *, ttft_ms: float | None, latency_ms: float | None
) -> Markup:
    """Cumulative bytes received over time for a stream, one dot per chunk.

    A flat stretch is the model (or the network) pausing; the TTFT marker shows
    when the first generated content arrived.
    """
    points = [(float(p[0]), float(p[1])) for p in timeline if isinstance(p, list | tuple) and len(p) >= 2]
    end_ms = max([latency_ms or 0] + [ms for ms, _ in points]) or 1
    total = sum(b for _, b in points) or 1
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def x_of(ms: float) -> float:
        return PAD_LEFT + plot_w * ms / end_ms

    def y_of(cumulative: float) -> float:
        return PAD_TOP + plot_h - plot_h * cumulative / total

    out = [
        f'<svg class="r4u-chart r4u-timeline" role="img" aria-label="stream timeline" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        "<title>bytes received over time</title>",
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH}" y2="{PAD_TOP + plot_h}"/>',
        f'<text class="tick" x="{PAD_LEFT - 4}" y="{PAD_TOP + 10}" text-anchor="end">{escape(_fmt_number(total))} B</text>',
        f'<text class="tick" x="{PAD_LEFT}" y="{HEIGHT - 6}">0 ms</text>',
        f'<text class="tick" x="{WIDTH - 2}" y="{HEIGHT - 6}" text-anchor="end">{end_ms:.0f} ms</text>',
    ]
    cumulative = 0.0
    path = [f"M{x_of(0):.1f},{y_of(0):.1f}"]
    dots = []
    for ms, size in points:
        path.append(f"L{x_of(ms):.1f},{y_of(cumulative):.1f}")
        cumulative += size
        path.append(f"L{x_of(ms):.1f},{y_of(cumulative):.1f}")
        dots.append(
            f'<circle class="chunk" cx="{x_of(ms):.1f}" cy="{y_of(cumulative):.1f}" r="2.5">'
            f"<title>{ms:.0f} ms: {size:.0f} B</title></circle>"
        )
    out.append(f'<path class="line" d="{" ".join(path)}"/>')
    out.extend(dots)
    if ttft_ms is not None:
        x = x_of(ttft_ms)
        out.append(
            f'<line class="marker" x1="{x:.1f}" y1="{PAD_TOP}" x2="{x:.1f}" y2="{PAD_TOP + plot_h}">'
            f"<title>first token at {ttft_ms:.0f} ms</title></line>"
        )
        out.append(f'<text class="tick marker-label" x="{x + 3:.1f}" y="{PAD_TOP + 10}">TTFT</text>')
    out.append("</svg>")
    return Markup("".join(out))
