"""Charts as inline SVG, drawn on the server: a line with its confidence band, vertical bars, 100% stacked bars.

No JavaScript and no chart library: the page works without scripts, prints, and loads nothing from a CDN.
Each chart is a <figure> holding an <svg role="img"> named by its <title> and described by its <desc>, and a
visually hidden table with the same numbers for screen readers (and for tests). Every colour carries a text
label too (legend, group captions), so nothing is told by colour alone.

All text goes through `escape`; callers pass plain strings and numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
INK = "#2b2f36"
MUTED = "#5b6270"
GRID = "#d9dde3"
LINE = "#1f5fa8"
# Band colours: each has at least 4.5:1 contrast with white text on it.
PROMOTER = "#1e7a45"
PASSIVE = "#7a6208"
DETRACTOR = "#b03a2e"


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""  # e.g. "n = 120"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    colour: str = LINE
    group: str = ""  # consecutive bars of one group get one caption under them (e.g. "Detractors")


@dataclass(frozen=True)
class Segment:
    name: str
    value: float
    colour: str


@dataclass(frozen=True)
class StackRow:
    label: str
    segments: list[Segment]
    note: str = ""


@dataclass(frozen=True)
class Legend:
    items: list[tuple[str, str]] = field(default_factory=list)  # (colour, text)


def _num(value: float, fmt: str) -> str:
    return fmt.format(value)


def _nice_step(span: float) -> float:
    raw = span / 4 if span > 0 else 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def nice_range(values: Sequence[float], bounds: tuple[float, float]) -> tuple[float, float, float]:
    """(low, high, step) covering `values` on round ticks, within the scale's `bounds`."""
    if not values:
        return bounds[0], bounds[1], _nice_step(bounds[1] - bounds[0])
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    step = _nice_step(high - low)
    low = max(bounds[0], math.floor(low / step) * step)
    high = min(bounds[1], math.ceil(high / step) * step)
    if high <= low:
        high = low + step
    ticks = (high - low) / step
    if abs(ticks - round(ticks)) > 1e-9:  # a bound cut the range off a tick: count ticks from the low end
        step = _nice_step(high - low)
    return low, high, step


def _figure(chart_id: str, title: str, description: str, body: str, table: str, legend: Legend | None) -> SafeString:
    legend_html = ""
    if legend and legend.items:
        swatches = "".join(
            f'<li><svg width="12" height="12" aria-hidden="true" focusable="false"><rect width="12" height="12" '
            f'fill="{escape(colour)}"/></svg> {escape(text)}</li>'
            for colour, text in legend.items
        )
        legend_html = f'<ul class="chart-legend">{swatches}</ul>'
    return mark_safe(  # noqa: S308 - every value above and below went through escape()
        f'<figure class="chart" id="{escape(chart_id)}">'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" focusable="false" '
        f'aria-labelledby="{escape(chart_id)}-title" aria-describedby="{escape(chart_id)}-desc" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
        f"{body}</svg>{legend_html}{table}</figure>"
    )


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + f'<th scope="row">{escape(row[0])}</th>' + "".join(f"<td>{escape(c)}</td>" for c in row[1:]) + "</tr>"
        for row in rows
    )
    return (
        f'<div class="visually-hidden chart-data"><table><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _y_axis(low: float, high: float, step: float, fmt: str, y_of: object) -> str:
    parts = []
    ticks = int(math.floor((high - low) / step + 1e-9))
    for index in range(ticks + 1):
        value = low + index * step
        y = y_of(value)  # type: ignore[operator]
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{escape(_num(value, fmt))}</text>'
        )
    return "".join(parts)


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> str:
    every = max(1, math.ceil(len(labels) / 8))
    return "".join(
        f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="{MUTED}">{escape(label)}</text>'
        for index, (label, x) in enumerate(zip(labels, xs, strict=True))
        if index % every == 0 or index == len(labels) - 1
    )


def line_chart(
    points: Sequence[Point],
    *,
    chart_id: str,
    title: str,
    description: str,
    bounds: tuple[float, float],
    value_format: str = "{:.0f}",
    value_name: str = "Value",
) -> SafeString:
    """A line through the points' values over a shaded band from `low` to `high` (the confidence interval)."""
    known = [p for p in points if p.value is not None]
    extent = [v for p in known for v in (p.value, p.low, p.high) if v is not None]
    low, high, step = nice_range(extent, bounds)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(points), 1)
    xs = [LEFT + slot * (index + 0.5) for index in range(len(points))]

    def y_of(value: float) -> float:
        value = min(max(value, low), high)  # an interval may reach past the scale's end; draw it to the end
        return TOP + plot_h * (1 - (value - low) / (high - low))

    body = [_y_axis(low, high, step, value_format, y_of)]
    banded = [(x, p) for x, p in zip(xs, points, strict=True) if p.low is not None and p.high is not None]
    if len(banded) >= 2:
        upper = " ".join(f"{x:.1f},{y_of(p.high or 0):.1f}" for x, p in banded)
        lower = " ".join(f"{x:.1f},{y_of(p.low or 0):.1f}" for x, p in reversed(banded))
        body.append(f'<polygon points="{upper} {lower}" fill="{LINE}" fill-opacity="0.15" class="chart-band"/>')
    line = [(x, p) for x, p in zip(xs, points, strict=True) if p.value is not None]
    if len(line) >= 2:
        path = " ".join(f"{x:.1f},{y_of(p.value or 0):.1f}" for x, p in line)
        body.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2.5" class="chart-line"/>')
    for x, p in line:
        tip = f"{p.label}: {value_name} {_num(p.value or 0, value_format)}"
        if p.low is not None and p.high is not None:
            tip += f" (95% CI {_num(p.low, value_format)} to {_num(p.high, value_format)})"
        if p.note:
            tip += f", {p.note}"
        body.append(
            f'<circle cx="{x:.1f}" cy="{y_of(p.value or 0):.1f}" r="4" fill="{LINE}" class="chart-point">'
            f"<title>{escape(tip)}</title></circle>"
        )
    body.append(_x_labels([p.label for p in points], xs))
    if not known:
        body.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="{MUTED}">No answers</text>')
    rows = [
        [
            p.label,
            _num(p.value, value_format) if p.value is not None else "–",
            f"{_num(p.low, value_format)} to {_num(p.high, value_format)}"
            if p.low is not None and p.high is not None
            else "–",
            p.note,
        ]
        for p in points
    ]
    table = _table(title, ["Period", value_name, "95% confidence interval", "Answers"], rows)
    legend = Legend([(LINE, value_name), (LINE + "40", "95% confidence interval")])
    return _figure(chart_id, title, description, "".join(body), table, legend)


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    description: str,
    value_name: str = "Answers",
    legend: Legend | None = None,
) -> SafeString:
    """Vertical bars from zero, each with its value above it and its label below; `group` captions below that."""
    top = max([b.value for b in bars] + [0.0])
    _, high, step = nice_range([0.0, top], (0.0, math.inf)) if top > 0 else (0.0, 1.0, 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM - 14
    slot = plot_w / max(len(bars), 1)

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - value / high)

    body = [_y_axis(0.0, high, step, "{:.0f}", y_of)]
    xs = []
    for index, bar in enumerate(bars):
        x = LEFT + slot * index + slot * 0.15
        xs.append(x + slot * 0.35)
        y = y_of(bar.value)
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{TOP + plot_h - y:.1f}" '
            f'fill="{escape(bar.colour)}" class="chart-bar"><title>{escape(bar.label)}: '
            f"{escape(_num(bar.value, '{:.0f}'))}</title></rect>"
            f'<text x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle" fill="{INK}">'
            f"{escape(_num(bar.value, '{:.0f}'))}</text>"
            f'<text x="{x + slot * 0.35:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" fill="{MUTED}">'
            f"{escape(bar.label)}</text>"
        )
    body.append(_group_captions(bars, xs, slot, TOP + plot_h + 32))
    table = _table(title, ["Value", value_name, "Group"], [[b.label, _num(b.value, "{:.0f}"), b.group] for b in bars])
    return _figure(chart_id, title, description, "".join(body), table, legend)


def _group_captions(bars: Sequence[Bar], xs: Sequence[float], slot: float, y: float) -> str:
    parts, start = [], 0
    for index in range(1, len(bars) + 1):
        if index == len(bars) or bars[index].group != bars[start].group:
            if bars[start].group:
                left, right = xs[start] - slot * 0.4, xs[index - 1] + slot * 0.4
                parts.append(
                    f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y - 12}" y2="{y - 12}" stroke="{GRID}"/>'
                    f'<text x="{(left + right) / 2:.1f}" y="{y}" text-anchor="middle" fill="{INK}">'
                    f"{escape(bars[start].group)}</text>"
                )
            start = index
    return "".join(parts)


def stacked_bars(
    rows: Sequence[StackRow], *, chart_id: str, title: str, description: str, legend: Legend | None = None
) -> SafeString:
    """One horizontal 100% bar per row, split into its segments, with the share written in each wide segment."""
    row_h, gap, label_w = 26, 10, 150
    height = max(TOP + len(rows) * (row_h + gap) + 8, 60)
    plot_w = WIDTH - label_w - RIGHT - 60
    body = []
    for index, row in enumerate(rows):
        y = TOP + index * (row_h + gap)
        total = sum(s.value for s in row.segments)
        body.append(
            f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" fill="{INK}">'
            f"{escape(_clip(row.label, 22))}</text>"
        )
        x = float(label_w)
        for segment in row.segments:
            width = plot_w * segment.value / total if total else 0.0
            share = 100 * segment.value / total if total else 0.0
            body.append(
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{row_h}" fill="{escape(segment.colour)}">'
                f"<title>{escape(row.label)}: {escape(segment.name)} {share:.0f}%</title></rect>"
            )
            if width >= 34:
                body.append(
                    f'<text x="{x + width / 2:.1f}" y="{y + row_h / 2 + 4:.1f}" text-anchor="middle" '
                    f'fill="#ffffff">{share:.0f}%</text>'
                )
            x += width
        body.append(
            f'<text x="{label_w + plot_w + 6}" y="{y + row_h / 2 + 4:.1f}" fill="{MUTED}">{escape(row.note)}</text>'
        )
    names = [s.name for s in rows[0].segments] if rows else []
    table_rows = [
        [r.label, *[f"{100 * s.value / (sum(x.value for x in r.segments) or 1):.0f}%" for s in r.segments], r.note]
        for r in rows
    ]
    table = _table(title, ["Group", *names, "Answers"], table_rows)
    svg = _figure(chart_id, title, description, "".join(body), table, legend)
    return mark_safe(svg.replace(f'viewBox="0 0 {WIDTH} {HEIGHT}"', f'viewBox="0 0 {WIDTH} {height}"', 1))  # noqa: S308


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
