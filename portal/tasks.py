"""Background work of the portal: thin wrappers that call the services (ids in)."""

from celery import shared_task

from portal import archive

# The invitation e-mail's task lives beside its message (portal/mail.py); importing it here,
# where Celery looks for tasks, registers it with the worker.
from portal.mail import send_invitation_task  # noqa: F401


@shared_task(acks_late=True, soft_time_limit=30 * 60, time_limit=31 * 60)
def build_data_export_task(export_id: int) -> None:
    """Build a "download all my data" archive. Not retried: a failure is shown on the page,
    where the user asks again; the soft time limit bounds the build (past it: failed)."""
    archive.build_export(export_id)


@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def purge_data_exports_task() -> int:
    """Every hour: delete the archives past their retention (archive.RETENTION)."""
    return archive.purge_exports()
