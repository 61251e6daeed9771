""" "Download all my data": the page where a patient or a caregiver asks for the record's
archive and follows its preparation (each archive being prepared polls its own status with
htmx), and the download, traced as an export. Each user sees and downloads only the
archives they asked for (portal/archive.py builds them)."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from patients.access import can_read_access_log
from patients.models import Patient
from portal.access import portal_patient
from portal.archive import RETENTION, STALE_AFTER, request_export
from portal.models import DataExport
from tsn.models import AuditEvent

Status = DataExport.Status
OBJECT_TYPE = "data_export"
# More than the user can ask for in RETENTION days at a normal pace.
SHOWN = 20


def _labelled(exports: list[DataExport]) -> list[DataExport]:
    """What the template shows of each archive: being prepared, lost, available until."""
    now = timezone.now()
    for export in exports:
        waiting = export.status in (Status.PENDING, Status.RUNNING)
        export.stalled = waiting and export.requested_at < now - STALE_AFTER
        export.in_progress = waiting and not export.stalled
        export.available_until = export.requested_at + RETENTION
    return exports


def _own_export(request: HttpRequest, patient: Patient, export_pk: int, **lookups) -> DataExport:
    """One of the archives the user asked for about this record (404 for any other)."""
    return get_object_or_404(
        DataExport, pk=export_pk, patient=patient, requested_by=request.user, **lookups
    )


@require_http_methods(["GET", "POST"])
def exports(request: HttpRequest, pk: int) -> HttpResponse:
    """The user's archives of this record, and the button that asks for a new one."""
    if request.method == "POST":
        patient = portal_patient(
            request, pk, object_type=OBJECT_TYPE, action=AuditEvent.Action.CREATE
        )
        request_export(user=request.user, patient=patient)
        messages.success(
            request,
            _("Votre archive est en préparation : cette page indique son avancement."),
        )
        return redirect("portal:exports", pk=patient.pk)
    patient = portal_patient(request, pk, object_type=OBJECT_TYPE)
    mine = DataExport.objects.filter(patient=patient, requested_by=request.user).order_by(
        "-requested_at", "-pk"
    )
    return render(
        request,
        "portal/export_list.html",
        {
            "patient": patient,
            "exports": _labelled(list(mine[:SHOWN])),
            "retention_days": RETENTION.days,
            "with_access_log": can_read_access_log(request.user, patient),
        },
    )


@require_GET
def export_status(request: HttpRequest, pk: int, export_pk: int) -> HttpResponse:
    """One archive's status, polled by the page while it is being prepared."""
    patient = portal_patient(request, pk, object_type=OBJECT_TYPE, object_id=export_pk)
    export = _own_export(request, patient, export_pk)
    return render(
        request,
        "portal/export_list.html#export_row",
        {"patient": patient, "export": _labelled([export])[0]},
    )


@require_GET
def export_download(request: HttpRequest, pk: int, export_pk: int) -> FileResponse:
    """The archive, as an attachment never kept in a cache; the download is an export."""
    patient = portal_patient(
        request,
        pk,
        object_type=OBJECT_TYPE,
        object_id=export_pk,
        action=AuditEvent.Action.EXPORT,
    )
    export = _own_export(request, patient, export_pk, status=Status.READY)
    try:
        content = export.file.open("rb")
    except (FileNotFoundError, ValueError):  # (no file, or the media folder lost it)
        raise Http404 from None
    response = FileResponse(
        content,
        as_attachment=True,
        filename=f"mes-donnees-{timezone.localtime(export.requested_at):%Y-%m-%d}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
