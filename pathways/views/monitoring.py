"""A patient's remote-monitoring page: one chart per kind measured in the last 90 days,
with the thresholds of the patient's active pathways."""

import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from pathways.charts import FRAME, build_charts
from pathways.models import MonitoringRule, Pathway
from patients.access import get_patient_for
from patients.models import Observation

PERIOD = datetime.timedelta(days=90)


def monitoring(request: HttpRequest, pk: int) -> HttpResponse:
    """Charts of the measurements of the last 90 days, and their values as tables."""
    patient = get_patient_for(request, pk, object_type="observation")
    since = timezone.now() - PERIOD
    measurements = (
        Observation.objects.filter(patient_id__in=patient.record_ids(), measured_at__gte=since)
        .order_by("measured_at", "pk")
        .values_list("kind", "measured_at", "value")
    )
    rules = MonitoringRule.objects.filter(
        template__pathways__patient=patient, template__pathways__status=Pathway.Status.ACTIVE
    ).distinct()
    return render(
        request,
        "pathways/monitoring.html",
        {
            "patient": patient,
            "charts": build_charts(measurements, rules),
            "since": since,
            "frame": FRAME,
        },
    )
