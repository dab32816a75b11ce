"""Bar charts laid out for the SVG template (`templates/_chart.svg.j2`): positions computed here, drawn there.

A chart has a handful of bars (eleven progress buckets, the top districts, the days of a range), so the
layout is plain arithmetic over those few numbers. Each bar carries its value as text, so the numbers are
readable (and selectable, and read by screen readers) without hovering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 240
TOP, BOTTOM, LEFT, RIGHT = 24, 48, 16, 16


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - BOTTOM
    horizontal: bool = False
    label_width: float = 0


ROW, LABEL_WIDTH, VALUE_WIDTH = 22, 170, 60


def hbar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    texts: Sequence[str],
    full_scale: float | None = None,
) -> Chart:
    """Horizontal bars, one row per name (districts, blocks: names too long to sit under a bar).

    `full_scale` is the value of a full-width bar (100 for percentages); by default the largest value.
    """
    largest = full_scale or max(values, default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = tuple(
        Bar(
            label=label,
            value_text=text,
            x=LABEL_WIDTH,
            y=index * ROW + 4,
            width=round(span * (value or 0) / largest, 1),
            height=ROW - 8,
        )
        for index, (label, value, text) in enumerate(zip(labels, values, texts, strict=True))
    )
    return Chart(title, bars, height=max(len(bars), 1) * ROW, horizontal=True, label_width=LABEL_WIDTH)


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[float], texts: Sequence[str] | None = None
) -> Chart:
    """Vertical bars scaled to the largest value (all-zero data gives flat bars, not a division by zero)."""
    count = max(len(values), 1)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / count
    largest = max((v for v in values if v is not None), default=0) or 1
    shown = texts if texts is not None else [f"{v:g}" for v in values]
    bars = []
    for index, (label, value, text) in enumerate(zip(labels, values, shown, strict=True)):
        height = plot_height * (value or 0) / largest
        bars.append(
            Bar(
                label=label,
                value_text=text,
                x=round(LEFT + index * slot + slot * 0.15, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
            )
        )
    return Chart(title, tuple(bars))
