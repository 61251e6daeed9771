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
