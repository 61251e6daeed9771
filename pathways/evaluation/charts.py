"""Server-rendered horizontal bar charts for the evaluation report (PDF by WeasyPrint):
one row per measure, the previous period as a thinner second bar, as coordinates ready
for an inline SVG (templates/pathways/evaluation/_bar_chart.svg.html).

No JavaScript, no inline style: the template uses SVG presentation attributes (fill,
font-size, text-anchor) and CSS classes. Coordinates are preformatted strings with a
decimal point: a template would print numbers the French way ("12,5"), which SVG does
not read.

A value given as a string is a masked count ("< 5"), None is a value not available:
neither draws a bar (no length may hint at the true count), only its display text."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils import formats

WIDTH = 640
# The labels' right edge, the bars' left edge and the axis maximum's x.
LABEL_RIGHT, PLOT_LEFT, PLOT_RIGHT = 244, 252, 560
PLOT_WIDTH = PLOT_RIGHT - PLOT_LEFT
# Room left of PLOT_RIGHT..WIDTH for the value printed at the end of the longest bar.
VALUE_GAP = 4
TOP = 8
BOTTOM = 6
MAX_LABEL_LENGTH = 40
ELLIPSIS = "…"
FONT_SIZE, SMALL_FONT_SIZE = 11, 9
# From a line's middle to the baseline of text centred on it (about the x-height / 2).
BASELINE_SHIFT = 0.35
# Rows: (row height, bar's offset in the row, bar height), with and without previous bars.
ROW_HEIGHT, BAR_OFFSET, BAR_HEIGHT = 24, 4, 16
PAIRED_ROW_HEIGHT, PAIRED_BAR_HEIGHT = 32, 14
PREVIOUS_OFFSET, PREVIOUS_HEIGHT = 20, 7
# The legend: two lines (current period, previous period) above the rows.
LEGEND_LINE, LEGEND_SWATCH = 16, 12
# The axis under the rows: its line, then "0" and the maximum under it.
AXIS_GAP, AXIS_LABEL_DROP = 2, 12
# A chart without bars: one line of text.
EMPTY_HEIGHT, EMPTY_TEXT_Y = 28, 18
# Round axis maxima: these times a power of ten.
NICE_MULTIPLES = tuple(Decimal(m) for m in ("1", "1.5", "2", "2.5", "3", "4", "5", "6", "8", "10"))

Number = float | int
Value = Number | str | None


def _coordinate(number: float) -> str:
    return f"{number:.1f}"


@dataclass(frozen=True)
class Bar:
    """One row, as the caller knows it. `display` (and `previous_display`) are the values
    already formatted for the reader ("1 234", "42 %", "< 5")."""

    label: str
    value: Value
    display: str
    previous: Value = None
    previous_display: str = ""

    @property
    def has_previous(self) -> bool:
        """A previous period is shown (as a bar, or as text alone when masked or not
        available: `previous=None` with a `previous_display` such as "n.d.")."""
        return self.previous is not None or bool(self.previous_display)


@dataclass(frozen=True)
class Rect:
    x: str
    y: str
    width: str
    height: str


@dataclass(frozen=True)
class Text:
    x: str
    y: str
    text: str


@dataclass(frozen=True)
class PositionedBar:
    """A row ready to draw. `bar` and `previous_bar` are None when there is nothing to
    draw (masked or unavailable value, no previous period); `previous_value` is None when
    the row has no previous period."""

    label: Text
    full_label: str
    truncated: bool
    value: Text
    bar: Rect | None
    previous_value: Text | None
    previous_bar: Rect | None


@dataclass(frozen=True)
class Legend:
    current_swatch: Rect
    current: Text
    previous_swatch: Rect
    previous: Text


@dataclass(frozen=True)
class Axis:
    """A baseline at the bars' left edge, a line under the rows from 0 to the maximum,
    and a dashed guide at the maximum."""

    left: str
    right: str
    top: str
    y: str
    label_y: str
    zero_label: str
    max_label: str


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[PositionedBar]
    width: str
    height: str
    view_box: str
    # The axis maximum as the reader's language writes it ("" without any numeric value).
    axis_max_label: str
    # Whether the legend (current vs previous period) is needed.
    show_legend: bool
    legend: Legend | None
    # None when no value is numeric (nothing to scale).
    axis: Axis | None
    # Where the template prints its "no data" sentence when there are no bars.
    empty_text_x: str = str(TOP)
    empty_text_y: str = str(EMPTY_TEXT_Y)

    @property
    def is_empty(self) -> bool:
        return not self.bars


def truncate_label(label: str) -> str:
    """At most MAX_LABEL_LENGTH characters, the last one an ellipsis when cut."""
    if len(label) <= MAX_LABEL_LENGTH:
        return label
    return label[: MAX_LABEL_LENGTH - 1].rstrip() + ELLIPSIS


def _numeric(label: str, value: Value) -> float | None:
    """The value as a number, None when it draws no bar (masked or not available)."""
    if value is None or isinstance(value, str):
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"bar {label!r}: value {value!r} is not a finite number")
    if number < 0:
        raise ValueError(f"bar {label!r}: negative value {value!r}")
    return number


def nice_maximum(maximum: float) -> Decimal:
    """The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten)
    at least `maximum`, which is positive."""
    magnitude = Decimal(10) ** math.floor(math.log10(maximum))
    nice = next(
        (m * magnitude for m in NICE_MULTIPLES if m * magnitude >= maximum),
        NICE_MULTIPLES[-1] * magnitude,  # (not reached: log10 rounding at worst)
    )
    # Plainly written: 25 rather than 25.0, 1000 rather than 1E+3.
    nice = nice.normalize()
    return nice.quantize(Decimal(1)) if nice == nice.to_integral_value() else nice


def axis_number(number: Decimal) -> str:
    """An axis label the way the reader's language writes it ("1 500", "0,25")."""
    decimals = max(0, -number.normalize().as_tuple().exponent)
    return formats.number_format(number, decimals, force_grouping=True)


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    *,
    current_label: str,
    previous_label: str,
    format_axis: Callable[[Decimal], str] = axis_number,
) -> BarChart:
    """Horizontal bars, one row per Bar, their length proportional to the value over a
    round axis maximum (at least the largest numeric value or previous value). The
    legend (`current_label`, `previous_label`) is there only when a bar has a previous
    period. `format_axis` writes the axis' 0 and maximum (by default a number in the
    reader's language: give one adding the unit, "30 %", to match the bars' displays).
    Raises ValueError on a negative (or infinite, NaN) value."""
    numbers = [(_numeric(bar.label, bar.value), _numeric(bar.label, bar.previous)) for bar in bars]
    if not bars:
        height = str(EMPTY_HEIGHT)
        return BarChart(
            title=title,
            bars=[],
            width=str(WIDTH),
            height=height,
            view_box=f"0 0 {WIDTH} {height}",
            axis_max_label="",
            show_legend=False,
            legend=None,
            axis=None,
        )

    positive = [n for pair in numbers for n in pair if n]
    axis_max = nice_maximum(max(positive)) if positive else None
    paired = any(bar.has_previous for bar in bars)

    def length(number: float) -> float:
        return number / float(axis_max) * PLOT_WIDTH if axis_max else 0.0

    def baseline(middle: float, font_size: int) -> str:
        return _coordinate(middle + BASELINE_SHIFT * font_size)

    legend = None
    rows_top = TOP
    if paired:
        legend = Legend(
            current_swatch=Rect(
                x=str(PLOT_LEFT),
                y=_coordinate(TOP + (LEGEND_LINE - PAIRED_BAR_HEIGHT * 0.75) / 2),
                width=str(LEGEND_SWATCH),
                height=_coordinate(PAIRED_BAR_HEIGHT * 0.75),
            ),
            current=Text(
                x=str(PLOT_LEFT + LEGEND_SWATCH + 4),
                y=baseline(TOP + LEGEND_LINE / 2, FONT_SIZE),
                text=current_label,
            ),
            previous_swatch=Rect(
                x=str(PLOT_LEFT),
                y=_coordinate(TOP + LEGEND_LINE + (LEGEND_LINE - PREVIOUS_HEIGHT) / 2),
                width=str(LEGEND_SWATCH),
                height=str(PREVIOUS_HEIGHT),
            ),
            previous=Text(
                x=str(PLOT_LEFT + LEGEND_SWATCH + 4),
                y=baseline(TOP + LEGEND_LINE * 1.5, FONT_SIZE),
                text=previous_label,
            ),
        )
        rows_top = TOP + 2 * LEGEND_LINE + 8

    row_height = PAIRED_ROW_HEIGHT if paired else ROW_HEIGHT
    bar_height = PAIRED_BAR_HEIGHT if paired else BAR_HEIGHT
    positioned = []
    for index, (bar, (value, previous)) in enumerate(zip(bars, numbers, strict=True)):
        row_top = rows_top + index * row_height
        bar_middle = row_top + BAR_OFFSET + bar_height / 2
        label_middle = (
            row_top + (BAR_OFFSET + PREVIOUS_OFFSET + PREVIOUS_HEIGHT) / 2 if paired else bar_middle
        )
        label = truncate_label(bar.label)
        rect = None
        end = PLOT_LEFT
        if value is not None:
            end = PLOT_LEFT + length(value)
            rect = Rect(
                x=str(PLOT_LEFT),
                y=_coordinate(row_top + BAR_OFFSET),
                width=_coordinate(end - PLOT_LEFT),
                height=str(bar_height),
            )
        previous_rect = previous_text = None
        if bar.has_previous:
            previous_end = PLOT_LEFT
            if previous is not None:
                previous_end = PLOT_LEFT + length(previous)
                previous_rect = Rect(
                    x=str(PLOT_LEFT),
                    y=_coordinate(row_top + PREVIOUS_OFFSET),
                    width=_coordinate(previous_end - PLOT_LEFT),
                    height=str(PREVIOUS_HEIGHT),
                )
            previous_text = Text(
                x=_coordinate(previous_end + VALUE_GAP),
                y=baseline(row_top + PREVIOUS_OFFSET + PREVIOUS_HEIGHT / 2, SMALL_FONT_SIZE),
                text=bar.previous_display,
            )
        positioned.append(
            PositionedBar(
                label=Text(x=str(LABEL_RIGHT), y=baseline(label_middle, FONT_SIZE), text=label),
                full_label=bar.label,
                truncated=label != bar.label,
                value=Text(
                    x=_coordinate(end + VALUE_GAP),
                    y=baseline(bar_middle, FONT_SIZE),
                    text=bar.display,
                ),
                bar=rect,
                previous_value=previous_text,
                previous_bar=previous_rect,
            )
        )

    rows_bottom = rows_top + len(bars) * row_height
    axis = None
    axis_max_label = ""
    bottom = rows_bottom
    if axis_max is not None:
        axis_max_label = format_axis(axis_max)
        axis_y = rows_bottom + AXIS_GAP
        axis = Axis(
            left=str(PLOT_LEFT),
            right=str(PLOT_RIGHT),
            top=str(rows_top),
            y=str(axis_y),
            label_y=str(axis_y + AXIS_LABEL_DROP),
            zero_label=format_axis(Decimal(0)),
            max_label=axis_max_label,
        )
        bottom = axis_y + AXIS_LABEL_DROP
    height = str(bottom + BOTTOM)
    return BarChart(
        title=title,
        bars=positioned,
        width=str(WIDTH),
        height=height,
        view_box=f"0 0 {WIDTH} {height}",
        axis_max_label=axis_max_label,
        show_legend=legend is not None,
        legend=legend,
        axis=axis,
    )
