"""Writes on the shared record that span models or have side effects."""

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from patients.models import BreakGlassAccess, Patient
from tsn.audit import record_access
from tsn.models import AuditEvent, User

# Pathway statuses whose referent coordinator is told of a break-the-glass access.
_REFERENT_STATUSES = ("proposed", "active", "suspended")


@transaction.atomic
def open_break_glass(*, request: HttpRequest, patient: Patient, reason: str) -> BreakGlassAccess:
    """Grant `request.user` time-limited access, audit it, alert the referent coordinators."""
    user: User = request.user
    now = timezone.now()
    access = BreakGlassAccess.objects.create(
        user=user,
        patient=patient,
        reason=reason,
        started_at=now,
        expires_at=now + BreakGlassAccess.DEFAULT_DURATION,
    )
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="break_glass",
        object_id=access.pk,
        patient_id=patient.pk,
        break_glass_reason=reason,
    )
    # Pathways sit above patients: reached through reverse relations, not imported.
    referents = {
        pathway.referent.user
        for pathway in patient.pathways.filter(status__in=_REFERENT_STATUSES)
        .select_related("referent__user")
        .exclude(referent__user=None)
    } or {None}
    for referent in referents:
        patient.alerts.create(
            kind="break_glass",
            severity=3,
            message=_("Accès en bris de glace au dossier par %(name)s.") % {"name": user},
            assignee=referent,
            due_at=now,
            dedupe_key=f"break_glass:{access.pk}:{referent.pk if referent else 0}",
        )
    return access
