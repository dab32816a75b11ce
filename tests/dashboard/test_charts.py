"""Chart layout: bar sizes follow the numbers, and every bar carries its number as text."""

from __future__ import annotations

from exhaust.dashboard.charts import HEIGHT, bar_chart, hbar_chart
from exhaust.dashboard.pages import templates


def test_bars_are_proportional_and_labelled() -> None:
    chart = bar_chart("t", ["a", "b", "c"], [10, 5, 0])
    heights = [b.height for b in chart.bars]
    assert heights[0] == 2 * heights[1] and heights[2] == 0
    assert [b.value_text for b in chart.bars] == ["10", "5", "0"]
    assert all(b.y + b.height == HEIGHT - 48 for b in chart.bars)  # all stand on the baseline


def test_no_data_gives_flat_bars_not_an_error() -> None:
    assert [b.height for b in bar_chart("t", ["a", "b"], [0, 0]).bars] == [0, 0]
    assert hbar_chart("t", [], [], []).bars == ()


def test_percentages_are_drawn_against_one_hundred() -> None:
    chart = hbar_chart("t", ["x", "y"], [50.0, 25.0], ["50%", "25%"], full_scale=100)
    assert chart.bars[0].width == 2 * chart.bars[1].width
    assert chart.bars[0].width == (640 - 170 - 60) / 2


def test_the_svg_has_a_title_and_the_numbers_as_text() -> None:
    macro = templates.get_template("_chart.svg.j2").module.bars
    svg = str(macro(bar_chart("Learners <by> progress", ["0–9", "100"], [3, 7]), "c"))
    assert '<svg class="chart"' in svg and 'role="img"' in svg and 'aria-labelledby="c-title"' in svg
    assert '<title id="c-title">Learners &lt;by&gt; progress</title>' in svg  # escaped
    assert ">3</text>" in svg and ">7</text>" in svg and ">100</text>" in svg
