"""Evaluation reports: asked for from the page (or rebuilt), built by a Celery task.

The report of a period and scope is one row: asking again rebuilds it in place (the
files are replaced), so regenerating is idempotent; a report already on its way is left
to finish. The task claims the row with a conditional UPDATE (two workers never build the
same report) and checks that the requester may still read reports: if their role
changed in between, nothing is produced.
"""

import datetime
import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pathways.access import can_request_evaluation
from pathways.evaluation.export import evaluation_csv
from pathways.evaluation.indicators import compute_evaluation
from pathways.evaluation.queries import EvaluationQuery
from pathways.evaluation.report import render_report_pdf
from pathways.models import EvaluationReport
from tsn.models import User

logger = logging.getLogger(__name__)

Status = EvaluationReport.Status
# A build running for longer than this is taken for dead (its worker was killed): the
# report may be asked for again.
STALE_AFTER = datetime.timedelta(hours=1)
# Share of the progress bar the indicators take; the PDF and the CSV the rest.
COMPUTING_SHARE = 85


@transaction.atomic
def request_report(
    *,
    user: User,
    start: datetime.date,
    end: datetime.date,
    template_code: str = "",
    sector: str = "",
) -> EvaluationReport:
    """The report of this period and scope, queued for (re)building unless already on
    its way."""
    report, created = EvaluationReport.objects.select_for_update().get_or_create(
        period_start=start,
        period_end=end,
        template_code=template_code,
        sector=sector,
        defaults={"requested_by": user},
    )
    on_its_way = report.status == Status.QUEUED or (
        report.status == Status.RUNNING
        and report.started_at is not None
        and report.started_at > timezone.now() - STALE_AFTER
    )
    if not created and on_its_way:
        return report
    report.requested_by = user
    report.requested_at = timezone.now()
    report.status = Status.QUEUED
    report.progress = 0
    report.started_at = report.finished_at = None
    report.error = ""
    report.save(
        update_fields=[
            "requested_by",
            "requested_at",
            "status",
            "progress",
            "started_at",
            "finished_at",
            "error",
        ]
    )
    from pathways.tasks import build_evaluation_report_task

    build_evaluation_report_task.delay_on_commit(report.pk)
    return report


def build_report(report_id: int) -> EvaluationReport | None:
    """Compute the indicators, render the PDF and the CSV, keep them on the report; None
    when the report is not waiting to be built (already built, or taken by a worker)."""
    claimed = EvaluationReport.objects.filter(pk=report_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now(), progress=0
    )
    if not claimed:
        return None
    report = EvaluationReport.objects.select_related("requested_by").get(pk=report_id)
    if not can_request_evaluation(report.requested_by):
        return _fail(
            report,
            _(
                "La personne qui a demandé ce rapport n'a plus accès aux rapports "
                "d'évaluation : rien n'a été produit."
            ),
        )

    def progress(percent: int) -> None:
        _progress_to(report_id, percent * COMPUTING_SHARE // 100)

    query = EvaluationQuery(
        report.period_start, report.period_end, report.template_code, report.sector
    )
    try:
        evaluation = compute_evaluation(query, progress=progress)
        pdf = render_report_pdf(evaluation)
        _progress_to(report_id, 95)
        csv = evaluation_csv(evaluation)
    except Exception as error:
        logger.exception("Evaluation report %s failed", report_id)
        return _fail(report, _("Erreur pendant la construction : %(error)s.") % {"error": error})
    name = f"evaluation-{report.period_start}-{report.period_end}-{report.pk}"
    for field in (report.pdf, report.csv):
        if field:
            field.delete(save=False)
    report.pdf.save(f"{name}.pdf", ContentFile(pdf), save=False)
    report.csv.save(f"{name}.csv", ContentFile(csv), save=False)
    report.status = Status.DONE
    report.progress = 100
    report.finished_at = timezone.now()
    report.save(update_fields=["pdf", "csv", "status", "progress", "finished_at"])
    return report


def _progress_to(report_id: int, percent: int) -> None:
    EvaluationReport.objects.filter(pk=report_id).update(progress=percent)


def _fail(report: EvaluationReport, message: str) -> EvaluationReport:
    report.status = Status.FAILED
    report.error = message
    report.finished_at = timezone.now()
    report.save(update_fields=["status", "error", "finished_at"])
    return report
