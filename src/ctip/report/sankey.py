"""A two-column Sankey diagram of origin -> destination flows, in SVG."""

from __future__ import annotations

from collections import defaultdict
from html import escape

from ctip.report.svg import PALETTE


def sankey(
    flows: list[tuple[str, str, int]], *, title: str, width: int = 900, height: int = 460
) -> str:
    """Draw flows (origin, destination, count); origins left, destinations right."""
    flows = [f for f in flows if f[2] > 0]
    if not flows:
        return '<p class="empty">No flows with both ends known.</p>'
    left_totals: dict[str, int] = defaultdict(int)
    right_totals: dict[str, int] = defaultdict(int)
    for origin, destination, count in flows:
        left_totals[origin] += count
        right_totals[destination] += count
    total = sum(c for _, _, c in flows)
    gap, top, label = 6, 10, 190
    usable = height - top * 2 - gap * max(len(left_totals), len(right_totals))
    scale = usable / total

    def layout(totals: dict[str, int]) -> dict[str, float]:
        y, positions = float(top), {}
        for name, value in sorted(totals.items(), key=lambda kv: -kv[1]):
            positions[name] = y
            y += value * scale + gap
        return positions

    left, right = layout(left_totals), layout(right_totals)
    left_used: dict[str, float] = defaultdict(float)
    right_used: dict[str, float] = defaultdict(float)
    x0, x1 = label + 10, width - label - 10
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(left)}
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%"'
        f' aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for origin, destination, count in sorted(flows, key=lambda f: (-left_totals[f[0]], -f[2])):
        thickness = count * scale
        ya = left[origin] + left_used[origin] + thickness / 2
        yb = right[destination] + right_used[destination] + thickness / 2
        left_used[origin] += thickness
        right_used[destination] += thickness
        middle = (x0 + x1) / 2
        parts.append(
            f'<path d="M{x0},{ya:.1f} C{middle},{ya:.1f} {middle},{yb:.1f} {x1},{yb:.1f}"'
            f' fill="none" stroke="{colours[origin]}" stroke-opacity="0.45"'
            f' stroke-width="{max(thickness, 1):.1f}"><title>{escape(origin)} to'
            f" {escape(destination)}: {count:,}</title></path>"
        )
    for name, y in left.items():
        size = left_totals[name] * scale
        parts.append(
            f'<rect x="{x0 - 8}" y="{y:.1f}" width="8" height="{max(size, 1):.1f}" fill="{colours[name]}"/>'
        )
        parts.append(
            f'<text x="{x0 - 12}" y="{y + size / 2 + 4:.1f}" text-anchor="end" class="label">{escape(name)} ({left_totals[name]:,})</text>'
        )
    for name, y in right.items():
        size = right_totals[name] * scale
        parts.append(
            f'<rect x="{x1}" y="{y:.1f}" width="8" height="{max(size, 1):.1f}" fill="#555"/>'
        )
        parts.append(
            f'<text x="{x1 + 12}" y="{y + size / 2 + 4:.1f}" class="label">{escape(name)} ({right_totals[name]:,})</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
