"""Charts as SVG written on the server (no JavaScript, no build): a donut, an area timeline, horizontal bars
and a two-series comparison.

Every chart is a ``<figure>`` holding an ``<svg role="img">`` with a ``<title>``, a ``<desc>`` and an
``aria-label`` that says what it shows, the numbers written on the chart itself, and the same numbers as a
table under a "Show the numbers" disclosure. Series are told apart by pattern as well as colour, so the
charts read in greyscale too. Each function takes the rows the read models already build
(``[{"label": ..., "count": ...}]``) and returns markup for a template.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

# Colours that keep at least 3:1 against the dark panel; the motifs keep neighbours apart without colour.
PALETTE = ("#e0a526", "#5b9bd5", "#6cc070", "#f0605a", "#b18cf0", "#4fc1c1", "#e78ac3", "#a3acb6")
MOTIFS = ("solid", "stripes", "dots", "cross", "back", "grid", "rings", "waves")
WIDTH = 400
_ids = itertools.count(1)


@dataclass(frozen=True)
class Row:
    label: str
    count: float


def _rows(rows: Sequence[dict[str, Any]]) -> list[Row]:
    return [Row(str(r["label"]), float(r["count"])) for r in rows]


def _num(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _uid(kind: str) -> str:
    return f"chart-{kind}-{next(_ids)}"


def _pattern(pid: str, index: int) -> str:
    """A fill: the palette colour with the index's motif drawn over it in the panel's dark."""
    colour = PALETTE[index % len(PALETTE)]
    motif = MOTIFS[index % len(MOTIFS)]
    ink = 'stroke="#111418" stroke-width="1.6" stroke-opacity=".55"'
    shapes = {
        "solid": "",
        "stripes": f'<path d="M0 8 L8 0" {ink}/>',
        "back": f'<path d="M0 0 L8 8" {ink}/>',
        "dots": '<circle cx="4" cy="4" r="1.6" fill="#111418" fill-opacity=".55"/>',
        "cross": f'<path d="M0 8 L8 0 M0 0 L8 8" {ink}/>',
        "grid": f'<path d="M4 0 V8 M0 4 H8" {ink}/>',
        "rings": '<circle cx="4" cy="4" r="2.3" fill="none" stroke="#111418" stroke-opacity=".55"/>',
        "waves": f'<path d="M0 5 Q2 2 4 5 T8 5" fill="none" {ink}/>',
    }[motif]
    return (
        f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect width="8" height="8" fill="{colour}"/>{shapes}</pattern>'
    )


def _open_svg(uid: str, height: float, title: str, desc: str, width: float = WIDTH) -> str:
    return (
        f'<svg class="chart {uid.rsplit("-", 1)[0]}" id="{uid}" role="img" viewBox="0 0 {width:g} {height:g}" '
        f'aria-label="{escape(title)}. {escape(desc)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    )


def _table(caption: str, head: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    th = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    trs = "".join(
        "<tr>" + f'<th scope="row">{escape(r[0])}</th>' + "".join(f"<td>{escape(c)}</td>" for c in r[1:]) + "</tr>"
        for r in body
    )
    return (
        '<details class="data-table"><summary>Show the numbers</summary>'
        f'<table><caption class="muted">{escape(caption)}</caption><thead><tr>{th}</tr></thead>'
        f"<tbody>{trs}</tbody></table></details>"
    )


def _describe(rows: Sequence[Row], unit: str) -> str:
    return "; ".join(f"{r.label}: {_num(r.count)} {unit}" for r in rows)


def _empty(message: str) -> Markup:
    return Markup('<p class="muted">{}</p>').format(message)


def donut(
    rows: Sequence[dict[str, Any]],
    title: str,
    unit: str = "titles",
    empty: str = "Nothing yet.",
    center_label: str = "genres",
) -> Markup:
    """Shares of a whole (favourite genres): a ring of slices, how many slices in the middle (``center_label``:
    a title can count in several, so it is no number of titles), a legend with each share in per cent."""
    data = [r for r in _rows(rows) if r.count > 0]
    total = sum(r.count for r in data)
    if not data or total <= 0:
        return _empty(empty)
    uid = _uid("donut")
    size, radius, thick = 180, 62, 30
    circumference = 2 * math.pi * radius
    parts = [_open_svg(uid, size, title, _describe(data, unit), size), "<defs>"]
    parts += [_pattern(f"{uid}-p{i}", i) for i in range(len(data))]
    parts.append("</defs>")
    parts.append(f'<circle cx="90" cy="90" r="{radius}" fill="none" stroke="#232a33" stroke-width="{thick}"/>')
    offset = 0.0
    for i, row in enumerate(data):
        length = circumference * row.count / total
        parts.append(
            f'<circle cx="90" cy="90" r="{radius}" fill="none" stroke="url(#{uid}-p{i})" stroke-width="{thick}" '
            f'stroke-dasharray="{length:.2f} {circumference - length:.2f}" stroke-dashoffset="{-offset:.2f}" '
            f'transform="rotate(-90 90 90)"><title>{escape(row.label)}: {_num(row.count)}</title></circle>'
        )
        offset += length
    parts.append(
        f'<text x="90" y="88" text-anchor="middle" class="value-label" font-size="22">{len(data)}</text>'
        f'<text x="90" y="108" text-anchor="middle" font-size="12">{escape(center_label)}</text></svg>'
    )
    legend = ['<ul class="legend">']
    for i, row in enumerate(data):
        legend.append(
            f'<li><svg width="14" height="14" aria-hidden="true"><rect width="14" height="14" rx="3" '
            f'fill="url(#{uid}-p{i})"/></svg><span>{escape(row.label)}</span>'
            f'<span class="muted">{_num(row.count)} · {round(100 * row.count / total)}%</span></li>'
        )
    legend.append("</ul>")
    table = _table(
        title,
        ("Genre", unit.capitalize(), "Share"),
        [(r.label, _num(r.count), f"{round(100 * r.count / total)}%") for r in data],
    )
    return Markup(
        f'<figure class="chart-figure"><div class="donut-wrap">{"".join(parts)}{"".join(legend)}</div>{table}</figure>'
    )


def area(
    rows: Sequence[dict[str, Any]],
    title: str,
    unit: str = "titles",
    label_head: str = "Month",
    empty: str = "Nothing yet.",
) -> Markup:
    """A monthly timeline: an area under a line, each month's number written over its point."""
    data = _rows(rows)
    if not data or all(r.count == 0 for r in data):
        return _empty(empty)
    uid = _uid("area")
    height, left, right, top, bottom = 210, 20, 20, 26, 44
    peak = max(r.count for r in data) or 1
    step = (WIDTH - left - right) / max(1, len(data) - 1)
    plot_h = height - top - bottom

    def xy(i: int, value: float) -> tuple[float, float]:
        return left + i * step, top + plot_h * (1 - value / peak)

    points = [xy(i, r.count) for i, r in enumerate(data)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    base = top + plot_h
    parts = [_open_svg(uid, height, title, _describe(data, unit)), "<defs>", _pattern(f"{uid}-fill", 1), "</defs>"]
    parts.append(f'<line class="axis" x1="{left}" y1="{base}" x2="{WIDTH - right}" y2="{base}"/>')
    parts.append(
        f'<polygon points="{left},{base} {line} {points[-1][0]:.1f},{base}" '
        f'fill="url(#{uid}-fill)" fill-opacity=".55"/>'
    )
    parts.append(f'<polyline points="{line}" fill="none" stroke="{PALETTE[1]}" stroke-width="2.5"/>')
    for i, ((x, y), row) in enumerate(zip(points, data, strict=True)):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{PALETTE[1]}"/>')
        if row.count:
            anchor = "start" if i == 0 else "end" if i == len(data) - 1 else "middle"
            parts.append(
                f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="{anchor}" class="value-label" font-size="15">'
                f"{_num(row.count)}</text>"
            )
        month = row.label[-2:] if len(row.label) == 7 and row.label[4] == "-" else row.label
        short = _MONTHS.get(month, row.label)
        parts.append(f'<text x="{x:.1f}" y="{base + 19}" text-anchor="middle" font-size="13">{escape(short)}</text>')
        if month == "01" or (i == 0 and month != "12"):
            parts.append(
                f'<text x="{x:.1f}" y="{base + 37}" text-anchor="middle" font-size="13" class="muted-text">'
                f"{escape(row.label[:4])}</text>"
            )
    parts.append("</svg>")
    table = _table(title, (label_head, unit.capitalize()), [(r.label, _num(r.count)) for r in data])
    return Markup(f'<figure class="chart-figure">{"".join(parts)}{table}</figure>')


_MONTHS = dict(
    zip(
        (f"{m:02d}" for m in range(1, 13)),
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        strict=True,
    )
)


def hbars(
    rows: Sequence[dict[str, Any]], title: str, unit: str = "titles", label_head: str = "", empty: str = "Nothing yet."
) -> Markup:
    """Horizontal bars, one per row, the label on the left and the number written after the bar."""
    data = _rows(rows)
    if not data:
        return _empty(empty)
    uid = _uid("bars")
    row_h, label_w, value_w = 30, 120, 44
    height = row_h * len(data) + 6
    peak = max(r.count for r in data) or 1
    span = WIDTH - label_w - value_w
    parts = [_open_svg(uid, height, title, _describe(data, unit)), "<defs>", _pattern(f"{uid}-fill", 0), "</defs>"]
    for i, row in enumerate(data):
        y = 3 + i * row_h
        width = max(2.0, span * row.count / peak) if row.count else 0
        label = row.label if len(row.label) <= 18 else row.label[:17] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 20}" text-anchor="end" font-size="15">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{width:.1f}" height="{row_h - 10}" rx="3" fill="url(#{uid}-fill)">'
            f"<title>{escape(row.label)}: {_num(row.count)}</title></rect>"
            f'<text x="{label_w + width + 6:.1f}" y="{y + 20}" class="value-label" font-size="15">'
            f"{_num(row.count)}</text>"
        )
    parts.append("</svg>")
    table = _table(title, (label_head or "Value", unit.capitalize()), [(r.label, _num(r.count)) for r in data])
    return Markup(f'<figure class="chart-figure">{"".join(parts)}{table}</figure>')


def compare(metrics: Sequence[dict[str, Any]], series: Sequence[str], title: str) -> Markup:
    """Two series side by side per metric (movies vs series): ``metrics`` rows are
    ``{"label": "Hours", "values": [12.5, 30.0]}``; each bar is scaled to its metric's larger value."""
    if not metrics or all(not any(m["values"]) for m in metrics):
        return _empty("Nothing watched yet.")
    uid = _uid("compare")
    group_h, bar_h, label_w, value_w = 62, 22, 104, 112
    legend_h = 26
    height = legend_h + group_h * len(metrics)
    span = WIDTH - label_w - value_w
    desc = "; ".join(
        f"{m['label']}: " + ", ".join(f"{s} {_num(float(v))}" for s, v in zip(series, m["values"], strict=True))
        for m in metrics
    )
    parts = [_open_svg(uid, height, title, desc), "<defs>"]
    parts += [_pattern(f"{uid}-p{i}", i * 2 + 0) for i in range(len(series))]  # solid vs dots: 0 and 2
    parts.append("</defs>")
    x = label_w
    for i, name in enumerate(series):
        parts.append(
            f'<rect x="{x}" y="4" width="14" height="14" rx="3" fill="url(#{uid}-p{i})"/>'
            f'<text x="{x + 20}" y="16" font-size="15">{escape(name)}</text>'
        )
        x += 30 + 9 * len(name)
    for g, metric in enumerate(metrics):
        y0 = legend_h + g * group_h
        values = [float(v) for v in metric["values"]]
        peak = max(values) or 1
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + bar_h + 4}" text-anchor="end" font-size="15" font-weight="600">'
            f"{escape(metric['label'])}</text>"
        )
        for i, (name, value) in enumerate(zip(series, values, strict=True)):
            y = y0 + i * (bar_h + 4)
            width = max(2.0, span * value / peak) if value else 0
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="{bar_h}" rx="3" fill="url(#{uid}-p{i})">'
                f"<title>{escape(name)}: {_num(value)}</title></rect>"
                f'<text x="{label_w + width + 6:.1f}" y="{y + 16}" font-size="15">'
                f'<tspan class="value-label">{_num(value)}</tspan> {escape(name.lower())}</text>'
            )
    parts.append("</svg>")
    table = _table(title, ("", *series), [(m["label"], *(_num(float(v)) for v in m["values"])) for m in metrics])
    return Markup(f'<figure class="chart-figure">{"".join(parts)}{table}</figure>')
