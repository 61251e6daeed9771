"""The evaluation report's bar charts (pathways/evaluation/charts.py) and their SVG partial
(templates/pathways/evaluation/_bar_chart.svg.html). No database."""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils.translation import override

from pathways.evaluation.charts import (
    MAX_LABEL_LENGTH,
    PLOT_WIDTH,
    Bar,
    BarChart,
    bar_chart,
    nice_maximum,
    truncate_label,
)

TEMPLATE = "pathways/evaluation/_bar_chart.svg.html"
SVG = "{http://www.w3.org/2000/svg}"
# A coordinate as the module writes it: digits, a decimal point if any, never a comma.
COORDINATE = re.compile(r"^-?\d+(\.\d+)?$")


def chart_of(*bars: Bar, **options) -> BarChart:
    return bar_chart(
        "Patients inclus", list(bars), current_label="2025", previous_label="2024", **options
    )


def render(chart: BarChart, language: str = "fr") -> str:
    with override(language):
        return render_to_string(TEMPLATE, {"chart": chart})


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own template's output, not untrusted XML)


def rows(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "bar-chart-row"]


def rects(element: ET.Element, css_class: str) -> list[ET.Element]:
    return [r for r in element.iter(f"{SVG}rect") if r.get("class") == css_class]


def texts(element: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


# --- Geometry -------------------------------------------------------------------------


def test_bar_widths_are_proportional_to_the_values():
    chart = chart_of(Bar("A", 120, "120"), Bar("B", 60, "60"), Bar("C", 0, "0"))
    full, half, zero = (float(row.bar.width) for row in chart.bars)
    assert half == pytest.approx(full / 2, abs=0.1)
    assert zero == 0
    # The longest bar fills most of the plot: the axis maximum is the next round number.
    assert chart.axis_max_label == "150"
    assert full == pytest.approx(120 / 150 * PLOT_WIDTH, abs=0.1)


def test_previous_values_share_the_scale_and_may_set_the_maximum():
    chart = chart_of(
        Bar("A", 50, "50", previous=200, previous_display="200"),
        Bar("B", 100, "100"),
    )
    a, b = chart.bars
    assert chart.axis_max_label == "200"
    assert float(a.previous_bar.width) == pytest.approx(PLOT_WIDTH, abs=0.1)
    assert float(a.bar.width) == pytest.approx(float(a.previous_bar.width) / 4, abs=0.1)
    assert float(b.bar.width) == pytest.approx(PLOT_WIDTH / 2, abs=0.1)
    # The previous bar is thinner, under the current one.
    assert float(a.previous_bar.height) < float(a.bar.height)
    assert float(a.previous_bar.y) >= float(a.bar.y) + float(a.bar.height)


@pytest.mark.parametrize(
    ("maximum", "nice"),
    [(1, "1"), (7, "8"), (120, "150"), (1234, "1500"), (0.3, "0.3"), (0.31, "0.4"), (99, "100")],
)
def test_nice_maximum(maximum, nice):
    assert str(nice_maximum(maximum)) == nice


def test_the_height_grows_with_the_bars_and_the_width_is_fixed():
    one = chart_of(Bar("A", 1, "1"))
    three = chart_of(Bar("A", 1, "1"), Bar("B", 2, "2"), Bar("C", 3, "3"))
    assert float(three.height) > float(one.height)
    assert one.width == three.width == "640"
    assert three.view_box == f"0 0 640 {three.height}"
    # Every row below the previous one, all of them inside the chart.
    ys = [float(row.bar.y) for row in three.bars]
    assert ys == sorted(ys)
    assert all(
        float(row.bar.y) + float(row.bar.height) <= float(three.height) for row in three.bars
    )


def test_values_may_be_decimals():
    chart = chart_of(Bar("A", Decimal("2.5"), "2,5"), Bar("B", Decimal("5"), "5"))
    assert float(chart.bars[0].bar.width) == pytest.approx(float(chart.bars[1].bar.width) / 2)


@pytest.mark.parametrize("value", [-1, -0.5, float("nan"), float("inf")])
def test_a_negative_or_non_finite_value_is_refused(value):
    with pytest.raises(ValueError, match="A"):
        chart_of(Bar("A", value, "?"))
    with pytest.raises(ValueError, match="B"):
        chart_of(Bar("B", 3, "3", previous=value, previous_display="?"))


# --- Masked and unavailable values ------------------------------------------------------


def test_masked_and_unavailable_values_draw_no_bar_but_print_their_text():
    chart = chart_of(Bar("Petit effectif", "< 5", "< 5"), Bar("Inconnu", None, "n.d."))
    assert [row.bar for row in chart.bars] == [None, None]
    # Nothing numeric: no scale to draw either.
    assert chart.axis is None
    assert chart.axis_max_label == ""
    root = parse(render(chart))
    masked, unavailable = rows(root)
    for row, text in ((masked, "< 5"), (unavailable, "n.d.")):
        assert row.findall(f"{SVG}rect") == []
        assert text in texts(row)


def test_a_masked_value_among_numbers_gives_no_length():
    chart = chart_of(
        Bar("A", 100, "100"),
        Bar("B", "< 5", "< 5", previous="< 5", previous_display="< 5"),
        Bar("C", 40, "40", previous=None, previous_display="n.d."),
    )
    root = parse(render(chart))
    a, b, c = rows(root)
    assert len(rects(a, "bar")) == 1
    assert b.findall(f"{SVG}rect") == []
    assert texts(b).count("< 5") == 2  # this period's, and the previous one's
    assert len(rects(c, "bar")) == 1
    assert rects(c, "bar-previous") == []
    assert "n.d." in texts(c)
    # The masked row does not change the scale.
    assert chart.axis_max_label == "100"


# --- Previous period and legend ----------------------------------------------------------


def test_without_previous_values_there_are_no_previous_bars_nor_legend():
    chart = chart_of(Bar("A", 10, "10"), Bar("B", 5, "5"))
    assert not chart.show_legend
    assert chart.legend is None
    svg = render(chart)
    root = parse(svg)
    assert rects(root, "bar-previous") == []
    assert len(rects(root, "bar")) == 2
    assert "2024" not in svg
    assert "2025" not in svg


def test_previous_values_bring_their_bars_and_the_legend():
    chart = chart_of(
        Bar("A", 10, "10", previous=8, previous_display="8"),
        Bar("B", 5, "5"),
    )
    assert chart.show_legend
    root = parse(render(chart))
    a, b = rows(root)
    assert len(rects(a, "bar-previous")) == 1
    assert "8" in texts(a)
    assert rects(b, "bar-previous") == []
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "bar-chart-legend")
    assert texts(legend) == ["2025", "2024"]


def test_a_masked_previous_value_still_calls_for_the_legend():
    chart = chart_of(Bar("A", 10, "10", previous="< 5", previous_display="< 5"))
    assert chart.show_legend
    assert chart.bars[0].previous_bar is None
    assert chart.bars[0].previous_value.text == "< 5"


# --- Labels ----------------------------------------------------------------------------


def test_long_labels_are_truncated():
    short = "x" * MAX_LABEL_LENGTH
    long = "Insuffisance cardiaque chronique décompensée du sujet âgé"
    assert truncate_label(short) == short
    cut = truncate_label(long)
    assert cut.endswith("…")
    assert len(cut) <= MAX_LABEL_LENGTH
    assert long.startswith(cut[:-1])

    chart = chart_of(Bar(short, 1, "1"), Bar(long, 2, "2"))
    kept, truncated = chart.bars
    assert (kept.label.text, kept.truncated) == (short, False)
    assert (truncated.label.text, truncated.truncated) == (cut, True)
    root = parse(render(chart))
    first, second = rows(root)
    assert short in texts(first)
    assert cut in texts(second)
    assert long not in texts(second)
    # The whole label stays available to assistive technology.
    assert second.find(f"{SVG}title").text == long


def test_text_is_escaped():
    chart = bar_chart(
        "Soins <script>alert(1)</script> & co",
        [Bar("<script>alert(1)</script> & Cie", 3, "3 & <b>")],
        current_label="<i>2025</i>",
        previous_label="2024 & avant",
    )
    svg = render(chart)
    assert "<script>" not in svg
    assert "<b>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Cie" in svg
    root = parse(svg)
    assert root.get("aria-label") == "Soins <script>alert(1)</script> & co"
    assert root.find(f"{SVG}title").text == "Soins <script>alert(1)</script> & co"
    assert "<script>alert(1)</script> & Cie" in texts(root)
    assert "3 & <b>" in texts(root)
    assert root.find(f".//{SVG}script") is None


# --- Rendering -------------------------------------------------------------------------


def test_coordinates_keep_a_decimal_point_in_french():
    chart = chart_of(
        Bar("A", 1234.5, "1 234,5", previous=987.25, previous_display="987,25"),
        Bar("B", 333, "333"),
        Bar("C", "< 5", "< 5"),
    )
    svg = render(chart, "fr")
    root = parse(svg)
    coordinates = [
        (element.tag, name, value)
        for element in root.iter()
        if element is not root  # (width="100%": the template scales it to the column)
        for name, value in element.attrib.items()
        if name in {"x", "y", "width", "height", "x1", "x2", "y1", "y2"}
    ]
    assert coordinates
    assert [c for c in coordinates if not COORDINATE.match(c[2])] == []
    # Some really are fractional, and the same in English.
    assert any("." in value for _tag, _name, value in coordinates)
    assert root.get("viewBox") == chart.view_box
    # Every string is set when the chart is built: rendering does not depend on the language.
    assert render(chart, "en") == svg


def test_the_axis_maximum_is_written_the_readers_way():
    chart = chart_of(Bar("A", 1234, "1 234"))
    with override("fr"):
        french = chart_of(Bar("A", 1234, "1 234")).axis_max_label
        fraction = chart_of(Bar("A", 0.22, "22 %")).axis_max_label
    assert re.fullmatch(r"1\D500", french)
    assert fraction == "0,25"
    with override("en"):
        assert chart_of(Bar("A", 1234, "1 234")).axis_max_label == "1,500"
    percent = chart_of(Bar("A", 22, "22 %"), format_axis=lambda m: f"{m} %")
    assert percent.axis_max_label == "25 %"
    assert percent.axis.zero_label == "0 %"
    assert chart.axis.max_label == chart.axis_max_label


def test_the_svg_is_well_formed_and_accessible():
    chart = chart_of(
        Bar("A", 10, "10", previous=8, previous_display="8"),
        Bar("B", "< 5", "< 5"),
        Bar("C", None, ""),
    )
    svg = render(chart)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Patients inclus"
    assert root.get("width") == "100%"
    assert root.find(f"{SVG}title").text == "Patients inclus"
    assert all(element.get("style") is None for element in root.iter())
    assert not re.search(r"\sstyle=", svg)
    assert "<script" not in svg
    # An empty display prints no empty <text>.
    assert all(text.strip() for text in texts(root))


def test_no_bars_prints_a_sentence():
    chart = chart_of()
    assert chart.is_empty
    assert chart.bars == []
    assert not chart.show_legend
    root = parse(render(chart))
    assert root.findall(f".//{SVG}rect") == []
    assert texts(root) == ["Aucune donnée pour cette période."]
    assert root.get("viewBox") == chart.view_box
