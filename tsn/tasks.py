from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from tsn.audit import purge_audit_events


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def clear_expired_sessions_task() -> int:
    """Delete expired sessions (the database session store never purges itself)."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def purge_audit_events_task() -> int:
    """Delete the traces past the retention period (TSN_AUDIT_RETENTION_DAYS)."""
    return purge_audit_events()
