"""The record's access log (break-the-glass itself is opened by the pathways' side, which
alerts the referent coordinators: pathways/views/break_glass.py)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from patients.access import can_read_access_log, get_patient_for
from tsn.audit_search import page_before
from tsn.keyset import parse_cursor
from tsn.models import AuditEvent


def access_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Who accessed this record, when, and why for break-the-glass."""
    patient = get_patient_for(request, pk, also=can_read_access_log, object_type="access_log")
    events, next_cursor = page_before(
        AuditEvent.objects.filter(patient_id=patient.pk), parse_cursor(request.GET.get("before"))
    )
    return render(
        request,
        "patients/access_log.html",
        {"patient": patient, "events": events, "next_cursor": next_cursor},
    )
