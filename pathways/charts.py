"""Server-rendered line charts of a patient's remote-monitoring measurements: one per
kind, as coordinates ready for an inline SVG (no JavaScript, no inline style: CSP).

Coordinates are preformatted strings with a decimal point: a template would print
numbers the French way ("12,5"), which SVG does not read."""

import datetime
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import formats, timezone

from pathways.models import MonitoringRule
from patients.models import Observation

Kind = Observation.Kind
Comparison = MonitoringRule.Comparison

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 40, 16, 36
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
X_TICKS, Y_TICKS = 5, 5
# How units read to people (UCUM codes are for machines).
UNIT_LABELS = {"mm[Hg]": "mmHg", "/min": "/min", "%": "%", "kg": "kg", "mmol/L": "mmol/L"}
# Decimals shown per kind (values are stored to the hundredth).
DECIMALS = {
    Kind.WEIGHT: 1,
    Kind.SYSTOLIC_BP: 0,
    Kind.DIASTOLIC_BP: 0,
    Kind.HEART_RATE: 0,
    Kind.SPO2: 0,
    Kind.GLUCOSE: 1,
}


def _coordinate(number: float) -> str:
    return f"{number:.1f}"


@dataclass(frozen=True)
class Frame:
    """Where the plot sits in the SVG, and where its labels go (all SVG coordinates)."""

    view_box: str = f"0 0 {WIDTH} {HEIGHT}"
    left: str = str(LEFT)
    right: str = str(LEFT + PLOT_WIDTH)
    top: str = str(TOP)
    bottom: str = str(TOP + PLOT_HEIGHT)
    # The x-axis labels' baseline, the y-axis labels' right edge, the threshold labels'.
    x_label_y: str = str(TOP + PLOT_HEIGHT + 20)
    y_label_x: str = str(LEFT - 6)
    threshold_label_x: str = str(LEFT + PLOT_WIDTH - 4)


FRAME = Frame()


def _number(value: Decimal | float, decimals: int) -> str:
    """A value the way the reader's language writes it (72,4 in French)."""
    return formats.number_format(round(Decimal(value), decimals), decimals)


@dataclass(frozen=True)
class Point:
    x: str
    y: str
    measured_at: datetime.datetime
    value: str


@dataclass(frozen=True)
class Tick:
    position: str
    label: str


@dataclass(frozen=True)
class Threshold:
    """A horizontal dashed line: an "above" or "below" rule."""

    y: str
    # The label's baseline, just above the line.
    label_y: str
    label: str
    value: str
    comparison: str
    comparison_label: str


@dataclass(frozen=True)
class Rise:
    """A "rise" rule has no line: it is told in words under the chart."""

    value: str
    window_days: int


@dataclass
class Chart:
    kind: str
    title: str
    unit: str
    points: list[Point] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    rises: list[Rise] = field(default_factory=list)

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x},{point.y}" for point in self.points)

    @property
    def rows(self) -> list[Point]:
        """The table under the chart: the newest measurement first."""
        return self.points[::-1]


def nice_step(span: float, count: int) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about `count` ticks."""
    raw = max(span, 1e-9) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def _value_axis(values: list[float], count: int) -> tuple[float, float, list[float], int]:
    """The axis' bounds, its ticks, and the decimals their labels need."""
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    step = nice_step(high - low, count)
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    ticks = [first + n * step for n in range(round((last - first) / step) + 1)]
    return first, last, ticks, max(0, -math.floor(math.log10(step)))


def _time_axis(
    moments: list[datetime.datetime],
) -> tuple[datetime.datetime, datetime.datetime, list[datetime.datetime]]:
    """Whole local days, from the first measurement's to the last one's, with a tick at
    midnight every few days (at most X_TICKS of them)."""
    zone = timezone.get_current_timezone()
    first = timezone.localdate(min(moments))
    days = (timezone.localdate(max(moments)) - first).days + 1
    step = max(1, math.ceil(days / (X_TICKS - 1)))

    def midnight(offset: int) -> datetime.datetime:
        return datetime.datetime.combine(
            first + datetime.timedelta(days=offset), datetime.time(), tzinfo=zone
        )

    return midnight(0), midnight(days), [midnight(n) for n in range(0, days + 1, step)]


def build_chart(
    kind: str,
    measurements: Sequence[tuple[datetime.datetime, Decimal]],
    rules: Sequence[MonitoringRule],
) -> Chart:
    """The chart of one kind: measurements (oldest first) and the kind's rules."""
    canonical_unit = Observation.UNITS[kind][0]
    decimals = DECIMALS[kind]
    unit = UNIT_LABELS.get(canonical_unit, canonical_unit)
    chart = Chart(kind=kind, title=str(Kind(kind).label), unit=unit)
    lines = sorted(
        {(r.comparison, r.threshold) for r in rules if r.comparison != Comparison.RISE},
        key=lambda line: line[1],
    )
    chart.rises = [
        Rise(value=_number(threshold, decimals), window_days=window_days)
        for threshold, window_days in sorted(
            {(r.threshold, r.window_days) for r in rules if r.comparison == Comparison.RISE}
        )
    ]
    values = [float(value) for _at, value in measurements] + [float(t) for _c, t in lines]
    low, high, value_ticks, tick_decimals = _value_axis(values, Y_TICKS)
    start, end, time_ticks = _time_axis([at for at, _value in measurements])
    span = (end - start).total_seconds()

    def x(at: datetime.datetime) -> str:
        return _coordinate(LEFT + (at - start).total_seconds() / span * PLOT_WIDTH)

    def height(value: float) -> float:
        return TOP + PLOT_HEIGHT - (value - low) / (high - low) * PLOT_HEIGHT

    def y(value: float) -> str:
        return _coordinate(height(value))

    chart.points = [
        Point(x=x(at), y=y(float(value)), measured_at=at, value=_number(value, decimals))
        for at, value in measurements
    ]
    chart.y_ticks = [
        Tick(position=y(tick), label=_number(tick, tick_decimals)) for tick in value_ticks
    ]
    chart.x_ticks = [
        Tick(
            position=x(tick),
            label=formats.date_format(timezone.localtime(tick), "SHORT_DATE_FORMAT"),
        )
        for tick in time_ticks
    ]
    labels = dict(Comparison.choices)
    chart.thresholds = [
        Threshold(
            y=y(float(threshold)),
            label_y=_coordinate(height(float(threshold)) - 4),
            label=f"{labels[comparison]} {_number(threshold, decimals)} {unit}",
            value=_number(threshold, decimals),
            comparison=comparison,
            comparison_label=str(labels[comparison]),
        )
        for comparison, threshold in lines
    ]
    return chart


def build_charts(
    measurements: Iterable[tuple[str, datetime.datetime, Decimal]],
    rules: Iterable[MonitoringRule],
) -> list[Chart]:
    """One chart per kind measured, in the order of Observation.Kind; `measurements`
    are (kind, measured_at, value), oldest first."""
    by_kind: dict[str, list[tuple[datetime.datetime, Decimal]]] = {}
    for kind, measured_at, value in measurements:
        by_kind.setdefault(kind, []).append((measured_at, value))
    rules_by_kind: dict[str, list[MonitoringRule]] = {}
    for rule in rules:
        rules_by_kind.setdefault(rule.kind, []).append(rule)
    return [
        build_chart(kind, by_kind[kind], rules_by_kind.get(kind, []))
        for kind in Kind.values
        if kind in by_kind
    ]
