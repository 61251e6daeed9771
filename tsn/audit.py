"""The audit trail: every read and write of patient data leaves an `AuditEvent`."""

import ipaddress

from django.http import HttpRequest

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


def record_access(
    *,
    request: HttpRequest,
    action: str,
    object_type: str,
    patient_id: int | None,
    object_id: str | int = "",
    outcome: str = AuditEvent.Outcome.ALLOWED,
    break_glass_reason: str = "",
) -> AuditEvent:
    """Write one audit event for the request's user acting on patient data."""
    user = request.user
    return AuditEvent.objects.create(
        actor=user if user.is_authenticated else None,
        actor_role=getattr(user, "role", ""),
        patient_id=patient_id,
        action=action,
        outcome=outcome,
        object_type=object_type,
        object_id=str(object_id),
        client_ip=client_ip(request),
        break_glass_reason=break_glass_reason,
    )
