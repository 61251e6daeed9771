"""The evaluation as a CSV file for the ARS's spreadsheets: every indicator, then every
row of every breakdown (those too long for the PDF too), values as the report prints them.

French spreadsheet software expects ";" between cells and reads UTF-8 only with a byte
order mark. Every cell goes through `tsn.spreadsheets.safe_cell`: a label typed by a user
(a pathway's or a step's name) is never read as a formula.
"""

import csv
import io

from django.utils.translation import gettext, pgettext_lazy

from pathways.evaluation.indicators import Evaluation, Unit, display, trend
from pathways.evaluation.report import period_labels
from tsn.spreadsheets import safe_cell

UNIT_LABELS = {
    Unit.COUNT: pgettext_lazy("unit", "effectif"),
    Unit.SHARE: pgettext_lazy("unit", "part"),
    Unit.DAYS: pgettext_lazy("unit", "jours"),
    Unit.HOURS: pgettext_lazy("unit", "heures"),
    Unit.MEAN: pgettext_lazy("unit", "moyenne"),
}


def _header() -> list[str]:
    return [
        gettext("famille"),
        gettext("code"),
        gettext("indicateur"),
        gettext("unité"),
        gettext("période"),
        gettext("valeur"),
        gettext("période précédente"),
        gettext("valeur précédente"),
        gettext("tendance"),
    ]


def evaluation_csv(evaluation: Evaluation) -> bytes:
    """The CSV file's bytes (UTF-8 with BOM, ";"-separated, a header row)."""
    current_label, previous_label = period_labels(evaluation.query)
    lines: list[list[object]] = [_header()]
    for family in evaluation.families:
        for indicator in family.indicators:
            lines.append(
                [
                    family.title,
                    indicator.code,
                    indicator.title,
                    UNIT_LABELS.get(indicator.unit, indicator.unit),
                    current_label,
                    indicator.current_text,
                    previous_label,
                    indicator.previous_text,
                    indicator.trend,
                ]
            )
        for breakdown in family.breakdowns:
            unit = breakdown.unit
            for row in breakdown.rows:
                lines.append(
                    [
                        family.title,
                        breakdown.code,
                        f"{breakdown.title} — {row.label}",
                        UNIT_LABELS.get(unit, unit),
                        current_label,
                        display(row.current, unit),
                        previous_label,
                        display(row.previous, unit),
                        trend(row.current, row.previous, unit),
                    ]
                )
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerows([safe_cell(cell) for cell in line] for line in lines)
    return buffer.getvalue().encode("utf-8-sig")
