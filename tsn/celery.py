"""The Celery application. The beat schedule lives here, in code."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tsn.settings")

app = Celery("tsn")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "clear-expired-sessions": {
        "task": "tsn.tasks.clear_expired_sessions_task",
        "schedule": crontab(hour=3, minute=17),
    },
}
