"""Background work on alerts: thin wrappers that call the services (ids in, counts out)."""

from celery import shared_task

from pathways.services import evaluation, notification, scan


@shared_task(acks_late=True)
def deliver_notifications_task(notification_ids: list[int]) -> int:
    """Send these e-mail notifications now (those already sent or claimed are skipped)."""
    return notification.deliver_notifications(ids=notification_ids, limit=len(notification_ids))


@shared_task
def relay_notifications_task() -> int:
    """Every minute: send what is still pending (broker outage, killed worker, retries)."""
    return notification.relay_notifications()


@shared_task
def send_digests_task() -> int:
    return notification.send_digests()


@shared_task
def scan_alerts_task() -> dict[str, int]:
    """Every quarter of an hour: the rules over all active pathways (set-based, idempotent)."""
    return scan.run_scans()


@shared_task
def escalate_alerts_task() -> int:
    return scan.escalate_alerts()


@shared_task(soft_time_limit=15 * 60, time_limit=16 * 60)
def build_evaluation_report_task(report_id: int) -> None:
    """Build an evaluation report (indicators, PDF, CSV). The soft time limit bounds the
    whole build, the PDF rendering included: past it, the report is marked failed."""
    evaluation.build_report(report_id)
