"""manage.py evaluation_report --from 2026-01-01 --to 2026-12-31 --out report.pdf: the
evaluation report of a period, for scheduled runs (cron, a CI job): the same indicators,
PDF and CSV as the page's, written to files."""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from pathways.evaluation.export import evaluation_csv
from pathways.evaluation.indicators import compute_evaluation
from pathways.evaluation.queries import EvaluationQuery
from pathways.evaluation.report import render_report_pdf
from pathways.models import PathwayTemplate
from tsn.models import Commune


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(
            _("Date invalide : « %(text)s » (AAAA-MM-JJ).") % {"text": text}
        ) from error


class Command(BaseCommand):
    help = "Build the evaluation report of a period (PDF, and CSV with --csv)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--pathway", default="", help="a pathway template's code")
        scope.add_argument("--sector", default="", help="a sector's name")
        parser.add_argument("--out", required=True, help="the PDF file to write")
        parser.add_argument("--csv", help="also write the indicators as CSV to this file")

    def handle(self, *args: object, **options: str) -> None:
        start, end = _date(options["start"]), _date(options["end"])
        if start > end:
            raise CommandError(_("La date de début doit précéder la date de fin."))
        if (
            options["pathway"]
            and not PathwayTemplate.objects.filter(code=options["pathway"]).exists()
        ):
            raise CommandError(_("Parcours inconnu : « %(code)s ».") % {"code": options["pathway"]})
        if options["sector"] and not Commune.objects.filter(sector=options["sector"]).exists():
            raise CommandError(_("Secteur inconnu : « %(name)s ».") % {"name": options["sector"]})
        query = EvaluationQuery(start, end, options["pathway"], options["sector"])
        evaluation = compute_evaluation(query)
        out = Path(options["out"])
        out.write_bytes(render_report_pdf(evaluation))
        self.stdout.write(_("Rapport écrit : %(path)s") % {"path": out})
        if options["csv"]:
            Path(options["csv"]).write_bytes(evaluation_csv(evaluation))
            self.stdout.write(_("Indicateurs écrits : %(path)s") % {"path": options["csv"]})
