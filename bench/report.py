"""Summaries of benchmark rounds: medians, ratios, the console table and the docs/benchmarks.md section."""

from __future__ import annotations

import math
import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path

# (key, label, unit): the rows of the table, in order.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("p50_ms", "latency p50, sequential keep-alive", "ms"),
    ("p95_ms", "latency p95, sequential keep-alive", "ms"),
    ("proxy_cpu_ms", "proxy CPU per request", "ms"),
    ("rps", "throughput, 16 in flight", "req/s"),
    ("first_event_ms", "stream: first SSE event", "ms"),
    ("stream_total_ms", "stream: whole stream", "ms"),
)
PATHS = ("direct", "mitmdump", "r4u")
SECTION_START = "<!-- proxy-bench:start (written by bench/bench.py; edits inside are overwritten) -->"
SECTION_END = "<!-- proxy-bench:end -->"


@dataclass
class Summary:
    medians: dict[str, dict[str, float]]  # path → metric → median over rounds
    missing: dict[str, str]  # path → why it was not measured


def summarise(rounds: dict[str, list[dict[str, float]]], missing: dict[str, str]) -> Summary:
    medians = {
        path: {key: statistics.median(r[key] for r in results) for key, _, _ in METRICS}
        for path, results in rounds.items()
        if results
    }
    return Summary(medians, missing)


def _value(summary: Summary, path: str, key: str) -> str:
    if path not in summary.medians:
        return "not available"
    value = summary.medians[path][key]
    if math.isnan(value):
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def _ratio(summary: Summary, top: str, bottom: str, key: str) -> str:
    if top not in summary.medians or bottom not in summary.medians:
        return "–"
    top_value, bottom_value = summary.medians[top][key], summary.medians[bottom][key]
    if math.isnan(top_value) or math.isnan(bottom_value) or not bottom_value:
        return "–"
    return f"{top_value / bottom_value:.2f}×"


def table_rows(summary: Summary) -> list[list[str]]:
    header = ["metric", "direct", "mitmdump", "r4u", "mitmdump/direct", "r4u/direct", "r4u/mitmdump"]
    rows = [header]
    for key, label, unit in METRICS:
        rows.append([
            f"{label} ({unit})",
            *(_value(summary, path, key) for path in PATHS),
            _ratio(summary, "mitmdump", "direct", key),
            _ratio(summary, "r4u", "direct", key),
            _ratio(summary, "r4u", "mitmdump", key),
        ])
    return rows


def console_table(summary: Summary) -> str:
    rows = table_rows(summary)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width)
                       in enumerate(zip(row, widths, strict=True))) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    for path, why in summary.missing.items():
        lines.append(f"{path}: not available ({why})")
    return "\n".join(lines)


def markdown_table(summary: Summary) -> str:
    rows = table_rows(summary)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" + "---:|" * (len(rows[0]) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def write_docs_section(doc: Path, body: str, start: str = SECTION_START, end: str = SECTION_END) -> None:
    """Replace one bench's section of docs/benchmarks.md (between `start` and `end`), keeping the rest."""
    section = f"{start}\n{body.rstrip()}\n{end}\n"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n\n"
    if start in text and end in text:
        before = text.split(start, 1)[0]
        after = text.split(end, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip() + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
