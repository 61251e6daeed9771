"""What a person does with alerts: acknowledge them, resolve them with a comment.

Both work on many alerts at once (the worklist's bulk actions) with one conditional
UPDATE, so an alert already handled by someone else is left as it is, and leave one audit
event per alert changed. Only alerts about patients the user may see are touched."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from pathways.models import Alert
from patients.access import visible_patients
from patients.models import Patient
from tsn.audit import client_ip
from tsn.models import AuditEvent


def _visible(request: HttpRequest, alert_ids: Iterable[int]):
    alerts = Alert.objects.filter(pk__in=list(alert_ids))
    patient_ids = set(alerts.values_list("patient_id", flat=True))
    patients = visible_patients(
        Patient.objects.filter(pk__in=patient_ids), request.user, only=patient_ids
    )
    return alerts.filter(patient__in=patients)


def _audit(request: HttpRequest, changed: list[tuple[int, int]]) -> None:
    user = request.user
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=user,
            actor_role=user.role,
            patient_id=patient_id,
            action=AuditEvent.Action.UPDATE,
            object_type="alert",
            object_id=str(pk),
            client_ip=client_ip(request),
        )
        for pk, patient_id in changed
    )


@transaction.atomic
def acknowledge_alerts(*, request: HttpRequest, alert_ids: Iterable[int]) -> int:
    """Open alerts become acknowledged by the user; returns how many changed."""
    alerts = _visible(request, alert_ids).filter(status=Alert.Status.OPEN)
    changed = list(alerts.select_for_update().values_list("pk", "patient_id"))
    Alert.objects.filter(pk__in=[pk for pk, _ in changed]).update(
        status=Alert.Status.ACKNOWLEDGED,
        acknowledged_at=timezone.now(),
        acknowledged_by=request.user,
    )
    _audit(request, changed)
    return len(changed)


@transaction.atomic
def resolve_alerts(*, request: HttpRequest, alert_ids: Iterable[int], comment: str = "") -> int:
    """Open or acknowledged alerts become resolved, with the comment; returns how many."""
    now = timezone.now()
    alerts = _visible(request, alert_ids).exclude(status=Alert.Status.RESOLVED)
    changed = list(alerts.select_for_update().values_list("pk", "patient_id"))
    Alert.objects.filter(pk__in=[pk for pk, _ in changed]).update(
        status=Alert.Status.RESOLVED,
        resolved_at=now,
        resolved_by=request.user,
        resolution_comment=comment,
        acknowledged_at=Coalesce(F("acknowledged_at"), now),
        acknowledged_by=Coalesce(F("acknowledged_by"), request.user.pk),
    )
    _audit(request, changed)
    return len(changed)
