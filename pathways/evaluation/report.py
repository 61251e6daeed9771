"""The evaluation report as a PDF for the ARS (WeasyPrint), from a computed `Evaluation`.

Nothing here reads the database: the figures are those of `compute_evaluation`, already
masked; this module only lays them out (templates/pathways/evaluation/report_pdf.html)
and draws the bar charts of the printed breakdowns.
"""

import dataclasses
import datetime
import math

from django.utils import formats

from pathways.evaluation.charts import BarChart
from pathways.evaluation.indicators import Breakdown, Evaluation, Family, display
from pathways.evaluation.queries import EvaluationQuery
from pathways.pdf import render_pdf
from tsn.disclosure import COMPLEMENTARY_MASK, MASKED_COUNT, SMALL_COUNT_THRESHOLD

TEMPLATE = "pathways/evaluation/report_pdf.html"
EN_DASH = "\u2013"

# The most rows one chart may have: a chart is an image and cannot break across pages,
# and this many rows with the previous period's bars fill about an A4 page's height.
# A longer breakdown is drawn as several charts, one after the other.
CHART_ROWS = 22


def previous_end(query: EvaluationQuery) -> datetime.date:
    """The last day of the comparison period (the day before the reported one)."""
    return query.start - datetime.timedelta(days=1)


def period_label(start: datetime.date, end: datetime.date) -> str:
    """A period as briefly as it can be said: "2026" for a calendar year, "mars 2026" for
    a calendar month, otherwise its first and last days joined by an en dash
    ("01/12/2025 \u2013 30/11/2026")."""
    next_day = end + datetime.timedelta(days=1)
    if start.day == 1 and next_day.day == 1:
        if start.month == 1 and next_day.month == 1 and next_day.year == start.year + 1:
            return str(start.year)
        if (next_day.year * 12 + next_day.month) - (start.year * 12 + start.month) == 1:
            return formats.date_format(start, "YEAR_MONTH_FORMAT")
    first, last = (formats.date_format(day, "SHORT_DATE_FORMAT") for day in (start, end))
    return f"{first} {EN_DASH} {last}"


def period_labels(query: EvaluationQuery) -> tuple[str, str]:
    """The labels of the reported period and of the comparison period."""
    return (
        period_label(query.start, query.end),
        period_label(query.previous_start, previous_end(query)),
    )


@dataclasses.dataclass(frozen=True)
class PrintedRow:
    label: str
    current_text: str
    previous_text: str


@dataclasses.dataclass(frozen=True)
class PrintedBreakdown:
    """A breakdown as the report prints it: one chart (several for a long one), and its
    rows with their values as displayed."""

    breakdown: Breakdown
    charts: list[BarChart]
    rows: list[PrintedRow]

    @property
    def split(self) -> bool:
        return len(self.charts) > 1


@dataclasses.dataclass(frozen=True)
class Section:
    """One family's pages: its indicators, its printed breakdowns, and the breakdowns
    found only in the CSV export (too long to print)."""

    family: Family
    breakdowns: list[PrintedBreakdown]
    csv_only: list[Breakdown]


def _charts(breakdown: Breakdown, current_label: str, previous_label: str) -> list[BarChart]:
    if len(breakdown.rows) <= CHART_ROWS:
        return [breakdown.chart(current_label, previous_label)]
    # Parts of even sizes; each has its own axis (bar_chart scales to the bars it is given).
    parts = math.ceil(len(breakdown.rows) / CHART_ROWS)
    size = math.ceil(len(breakdown.rows) / parts)
    return [
        dataclasses.replace(breakdown, rows=breakdown.rows[at : at + size]).chart(
            current_label, previous_label
        )
        for at in range(0, len(breakdown.rows), size)
    ]


def _printed(breakdown: Breakdown, current_label: str, previous_label: str) -> PrintedBreakdown:
    unit = breakdown.unit
    return PrintedBreakdown(
        breakdown,
        _charts(breakdown, current_label, previous_label),
        [
            PrintedRow(str(row.label), display(row.current, unit), display(row.previous, unit))
            for row in breakdown.rows
        ],
    )


def report_context(evaluation: Evaluation) -> dict:
    current_label, previous_label = period_labels(evaluation.query)
    sections = [
        Section(
            family=family,
            breakdowns=[
                _printed(breakdown, current_label, previous_label)
                for breakdown in family.breakdowns
                if breakdown.printed
            ],
            csv_only=[breakdown for breakdown in family.breakdowns if not breakdown.printed],
        )
        for family in evaluation.families
    ]
    return {
        "evaluation": evaluation,
        "query": evaluation.query,
        "previous_end": previous_end(evaluation.query),
        "current_label": current_label,
        "previous_label": previous_label,
        "sections": sections,
        "small_count_threshold": SMALL_COUNT_THRESHOLD,
        "masked_count": MASKED_COUNT,
        "complementary_mask": COMPLEMENTARY_MASK,
    }


def render_report_pdf(evaluation: Evaluation) -> bytes:
    """The report as PDF bytes (A4, in the active language).

    WeasyPrint has no time limit of its own, and none is set here: the Celery task that
    calls this function carries one (its `time_limit` / `soft_time_limit`), which also
    bounds a render that a huge breakdown would make slow. Only our static files can be
    fetched while rendering (`pathways.pdf.StaticFilesOnly`).
    """
    return render_pdf(TEMPLATE, report_context(evaluation))
