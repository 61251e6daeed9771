from allauth.usersessions.models import UserSession
from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from tsn.audit import purge_audit_events


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def clear_expired_sessions_task() -> int:
    """Delete expired sessions (the database session store never purges itself), and the
    entries of the session list (allauth's user sessions) whose session is gone; return
    how many sessions were deleted."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    UserSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()
    return deleted


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def purge_audit_events_task() -> int:
    """Delete the traces past the retention period (TSN_AUDIT_RETENTION_DAYS)."""
    return purge_audit_events()
