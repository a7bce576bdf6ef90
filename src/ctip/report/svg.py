"""Small SVG charts written directly: bars, lines, and their labels.

Hand-written SVG keeps the report a single file that renders anywhere with no script or font to
fetch. Every text is escaped; suppressed counts ("<k") are drawn as a hatched stub labelled
"<k", never at their true length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f5a96", "#d9822b", "#2e8b57", "#8e44ad", "#c0392b", "#7f8c8d", "#16a085", "#b7950b")
HATCH = (
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse"'
    ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#e8e8e8"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/></pattern></defs>'
)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: suppressed
    text: str  # what to print at the end of the bar


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:,.2g}"


def bar_chart(bars: Sequence[Bar], *, title: str, threshold: int, width: int = 640) -> str:
    """Horizontal bars, largest first as given."""
    if not bars:
        return '<p class="empty">No data.</p>'
    row, label_width, top = 22, 210, 8
    height = top + row * len(bars) + 8
    largest = max([b.value for b in bars if b.value is not None] + [float(threshold), 1.0])
    scale = (width - label_width - 80) / largest
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%"'
        f' aria-label="{escape(title)}">{HATCH}<title>{escape(title)}</title>'
    ]
    for index, bar in enumerate(bars):
        y = top + index * row
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" class="label">'
            f"{escape(bar.label[:34])}</text>"
        )
        if bar.value is None:
            length = threshold * scale
            parts.append(
                f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 7}"'
                ' fill="url(#hatch)"><title>fewer than '
                f"{threshold} (not shown)</title></rect>"
            )
        else:
            length = max(bar.value * scale, 0.5)
            parts.append(
                f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 7}"'
                f' fill="{PALETTE[0]}"><title>{escape(bar.label)}: {escape(bar.text)}</title></rect>'
            )
        parts.append(
            f'<text x="{label_width + length + 5:.1f}" y="{y + 15}" class="value">'
            f"{escape(bar.text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    series: dict[str, dict[int, float | None]],
    *,
    title: str,
    width: int = 640,
    height: int = 240,
    marker_year: int | None = None,
    y_label: str = "",
) -> str:
    """One line per series over integer years; None values break the line."""
    points = [(x, y) for values in series.values() for x, y in values.items() if y is not None]
    if not points:
        return '<p class="empty">No data.</p>'
    left, right, top, bottom = 56, 16, 14, 36
    years = sorted({x for x, _ in points} | ({marker_year} if marker_year else set()))
    x_min, x_max = years[0], max(years[-1], years[0] + 1)
    y_max = max(y for _, y in points) or 1.0

    def sx(x: float) -> float:
        return left + (x - x_min) / (x_max - x_min) * (width - left - right)

    def sy(y: float) -> float:
        return top + (1 - y / y_max) * (height - top - bottom)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%"'
        f' aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for fraction in (0, 0.5, 1):
        y = sy(y_max * fraction)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_number(y_max * fraction)}</text>'
        )
    step = max(1, len(years) // 8)
    for year in years[::step]:
        parts.append(
            f'<text x="{sx(year):.1f}" y="{height - bottom + 16}" text-anchor="middle" class="tick">{year}</text>'
        )
    if marker_year is not None:
        x = sx(marker_year)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - bottom}" class="marker"/>'
        )
        parts.append(f'<text x="{x + 4:.1f}" y="{top + 10}" class="tick">start</text>')
    for index, (name, values) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        segment: list[str] = []
        for year in sorted(values):
            value = values[year]
            if value is None:
                if len(segment) > 1:
                    parts.append(
                        f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" stroke-width="2"/>'
                    )
                segment = []
                continue
            segment.append(f"{sx(year):.1f},{sy(value):.1f}")
            parts.append(
                f'<circle cx="{sx(year):.1f}" cy="{sy(value):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(name)} {year}: {_number(value)}</title></circle>"
            )
        if len(segment) > 1:
            parts.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
    if y_label:
        parts.append(f'<text x="12" y="{top + 4}" class="tick">{escape(y_label)}</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><span class="swatch" style="background:{PALETTE[i % len(PALETTE)]}"></span>{escape(name)}</span>'
        for i, name in enumerate(series)
    )
    return "".join(parts) + (f'<div class="legend">{legend}</div>' if len(series) > 1 else "")
