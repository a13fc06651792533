"""Server-rendered SVG charts (no JS, no CDN): line charts for trends, paired bars for KPIs.

Each chart carries a <title> and an aria-label, and every figure is also in a table beside it,
so the numbers are readable without seeing the colours.
"""

from __future__ import annotations

import math
from html import escape

from markupsafe import Markup

LEGEND_PER_ROW = 3
LEGEND_ROW_H = 16
PALETTE = ("#1f5fa8", "#b3541e", "#2e7d32", "#6a3d9a", "#8c6d00", "#00796b", "#ad1457", "#455a64")


def line_chart(
    title: str,
    labels: list[str],
    series: dict[str, list[float | None]],
    *,
    y_max: float = 100.0,
    width: int = 560,
    height: int = 220,
    unit: str = "",
) -> Markup:
    """One line per series over shared x labels; ``None`` breaks a line."""
    # Every series gets a legend entry, LEGEND_PER_ROW to a row below the axis; the chart grows
    # by a row's height for each further row instead of dropping names.
    legend_rows = max(1, math.ceil(len(series) / LEGEND_PER_ROW))
    height += LEGEND_ROW_H * (legend_rows - 1)
    left, right, top, bottom = 40, 12, 12, 40 + LEGEND_ROW_H * (legend_rows - 1)
    w, h = width - left - right, height - top - bottom
    n = max(1, len(labels) - 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        v = y_max * i / 4
        y = top + h - h * i / 4
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{v:g}{unit}</text>'
        )
    step = max(1, len(labels) // 6)
    for i, label in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            x = left + w * i / n if len(labels) > 1 else left + w / 2
            parts.append(
                f'<text x="{x:.1f}" y="{top + h + 18}" text-anchor="middle" class="tick">'
                f"{escape(label)}</text>"
            )
    for k, (name, values) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        dash = ' stroke-dasharray="5 4"' if name.lower().startswith("team") else ""
        points: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(values):
            if v is None:
                if points:
                    segments.append(points)
                points = []
                continue
            x = left + w * i / n if len(labels) > 1 else left + w / 2
            y = top + h - h * min(max(v, 0.0), y_max) / y_max
            points.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(name)} '
                f"{escape(labels[i])}: {v:.1f}{unit}</title></circle>"
            )
        if points:
            segments.append(points)
        for seg in segments:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{" ".join(seg)}"/>'
            )
        lx = left + (k % LEGEND_PER_ROW) * (w / LEGEND_PER_ROW)
        ly = top + h + 34 + LEGEND_ROW_H * (k // LEGEND_PER_ROW)
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly - 8}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{lx + 14:.1f}" y="{ly}" class="legend">{escape(name[:28])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def paired_bars(
    title: str,
    rows: list[tuple[str, float | None, float | None]],
    *,
    width: int = 560,
    labels: tuple[str, str] = ("Agent", "Team average"),
) -> Markup:
    """Per KPI, this agent's value beside the team average, each row scaled to its own maximum."""
    row_h, left = 34, 150
    height = 24 + row_h * len(rows)
    w = width - left - 70
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="4" width="10" height="10" fill="{PALETTE[0]}"/>'
        f'<text x="{left + 14}" y="13" class="legend">{escape(labels[0])}</text>'
        f'<rect x="{left + 90}" y="4" width="10" height="10" fill="{PALETTE[7]}"/>'
        f'<text x="{left + 104}" y="13" class="legend">{escape(labels[1])}</text>',
    ]
    for i, (name, mine, team) in enumerate(rows):
        y = 24 + i * row_h
        top = max([v for v in (mine, team) if v is not None] or [1.0]) or 1.0
        parts.append(
            f'<text x="{left - 6}" y="{y + 16}" text-anchor="end" class="tick">{escape(name)}</text>'
        )
        for j, (v, colour) in enumerate(((mine, PALETTE[0]), (team, PALETTE[7]))):
            if v is None:
                continue
            bw = w * v / top if top else 0
            parts.append(
                f'<rect x="{left}" y="{y + 2 + j * 13}" width="{max(bw, 1):.1f}" height="11" fill="{colour}">'
                f"<title>{escape(labels[j])}: {v:.2f}</title></rect>"
                f'<text x="{left + max(bw, 1) + 4:.1f}" y="{y + 11 + j * 13}" class="tick">{v:.1f}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
