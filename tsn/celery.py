"""The Celery application, the beat schedule (in code), and how services enqueue work."""

import functools
import logging
import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tsn.settings")

logger = logging.getLogger(__name__)

app = Celery("tsn")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(loglevel: int | None = None, **_kwargs) -> None:
    """The worker and beat log through settings.LOGGING (tsn/logging.py: the same lines,
    patient data masked), not through the handlers Celery would install; `--loglevel`
    still sets the level."""
    from django.conf import settings

    from tsn.logging import configure

    configure(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


app.conf.beat_schedule = {
    "clear-expired-sessions": {
        "task": "tsn.tasks.clear_expired_sessions_task",
        "schedule": crontab(hour=3, minute=17),
    },
    "purge-audit-events": {
        "task": "tsn.tasks.purge_audit_events_task",
        "schedule": crontab(hour=3, minute=47),
    },
    # Notifications still pending (broker down, worker killed, retry due): every minute.
    "relay-notifications": {
        "task": "pathways.tasks.relay_notifications_task",
        "schedule": 60.0,
    },
    "scan-alerts": {
        "task": "pathways.tasks.scan_alerts_task",
        "schedule": crontab(minute="*/15"),
    },
    "escalate-alerts": {
        "task": "pathways.tasks.escalate_alerts_task",
        "schedule": crontab(minute="*/5"),
    },
    "send-notification-digests": {
        "task": "pathways.tasks.send_digests_task",
        "schedule": crontab(hour=7, minute=30),
    },
    # The portal's "download all my data" archives, deleted 7 days after they were asked for.
    "purge-data-exports": {
        "task": "portal.tasks.purge_data_exports_task",
        "schedule": crontab(minute=23),
    },
}

# Publishing gives up quickly when the broker is down: the work is in the database (the
# outbox) and the periodic relay picks it up, so the user's request must not wait.
_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}


def _publish(task, args: tuple) -> None:
    try:
        task.apply_async(args=args, retry_policy=_PUBLISH_RETRY_POLICY)
    except Exception:  # the broker is unreachable: the relay will deliver
        logger.warning("broker unreachable: %s left to the periodic relay", task.name)


def enqueue_on_commit(task, *args) -> None:
    """Enqueue `task(*args)` once the current transaction commits, never failing the caller.

    Unlike `delay_on_commit`, a broker outage is logged rather than raised into the
    request that committed: use it for work that a periodic job also picks up."""
    from django.db import transaction

    transaction.on_commit(functools.partial(_publish, task, args))
