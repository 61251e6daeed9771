"""The audit trail: every read and write of patient data leaves an `AuditEvent`; traces
are kept `TSN_AUDIT_RETENTION_DAYS` and never changed."""

import datetime
import ipaddress

import pgtrigger
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tsn.models import AuditEvent


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the server saw it (REMOTE_ADDR).

    Behind a reverse proxy, the proxy setup must make REMOTE_ADDR the client's address;
    a header such as X-Forwarded-For is not trusted here since anyone can send one.
    """
    address = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def api_token_label(request: HttpRequest) -> str:
    """The API token the request carried, as the audit trail names it ("personal:12",
    "organization:3"), or "" for a browser session."""
    token = getattr(request, "auth", None)
    kind = getattr(token, "AUDIT_KIND", None)
    return f"{kind}:{token.pk}" if kind else ""


def audit_event(
    *,
    request: HttpRequest,
    action: str,
    object_type: str,
    patient_id: int | None,
    object_id: str | int = "",
    outcome: str = AuditEvent.Outcome.ALLOWED,
    break_glass_reason: str = "",
) -> AuditEvent:
    """One audit event (not saved) of the request's user (or API token) acting on patient
    data: `record_access` saves one, batches bulk-create them."""
    user = request.user
    return AuditEvent(
        actor=user if user.is_authenticated else None,
        actor_role=getattr(user, "role", ""),
        patient_id=patient_id,
        action=action,
        outcome=outcome,
        object_type=object_type,
        object_id=str(object_id),
        client_ip=client_ip(request),
        break_glass_reason=break_glass_reason,
        api_token=api_token_label(request),
    )


def record_access(**fields) -> AuditEvent:
    """Write one audit event (the arguments of `audit_event`)."""
    event = audit_event(**fields)
    event.save()
    return event


def purge_audit_events(*, now: datetime.datetime | None = None, batch: int = 10_000) -> int:
    """Delete the traces older than the retention period, oldest first, `batch` at a time
    (short transactions on a table of millions of rows); the number deleted. The only
    deletion the append-only table allows: its trigger is set aside for these statements
    alone."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.TSN_AUDIT_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic(), pgtrigger.ignore("tsn.AuditEvent:audit_append_only"):
            ids = list(
                AuditEvent.objects.filter(occurred_at__lt=cutoff)
                .order_by("occurred_at", "id")
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                return deleted
            deleted += AuditEvent.objects.filter(pk__in=ids).delete()[0]
