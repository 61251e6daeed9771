"""Background work: eager in tests by default, and delivered to a real worker process."""

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import kombu.pools
import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone

from tsn.celery import app
from tsn.environment import database_url
from tsn.tasks import clear_expired_sessions_task

ROOT = Path(__file__).resolve().parents[2]


def _expired_and_live_sessions() -> tuple[str, str]:
    expired, live = SessionStore(), SessionStore()
    expired.create()
    live.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(days=1)
    )
    return expired.session_key, live.session_key


@pytest.mark.django_db
def test_clear_expired_sessions_keeps_live_ones():
    expired, live = _expired_and_live_sessions()
    assert clear_expired_sessions_task.delay().get() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
    assert expired != live


def test_beat_schedule_is_in_code():
    entry = app.conf.beat_schedule["clear-expired-sessions"]
    assert entry["task"] == clear_expired_sessions_task.name


def _use_broker_options(options: dict) -> None:
    """Point this process's producer at another broker folder (not the demo's)."""
    app.conf.broker_transport_options = options
    # Celery caches broker connections and producers; drop them so the new options apply.
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def real_worker(tmp_path):
    """A `celery worker` process on the test database and its own broker folder (or Redis)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_DIR": str(tmp_path),
    }
    if not settings.REDIS_URL:
        previous = app.conf.broker_transport_options
        _use_broker_options(
            {**previous, "data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
        )
    app.conf.task_always_eager = False
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tsn",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    output, _ = process.communicate(timeout=30)
    if not settings.REDIS_URL:
        _use_broker_options(previous)
    assert "Traceback" not in output, output


def wait_until(condition, timeout: float = 60.0) -> bool:
    """Poll a condition the worker makes true; gives up after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_task_enqueued_on_commit_runs_on_a_real_worker(real_worker):
    expired, live = _expired_and_live_sessions()
    with transaction.atomic():
        clear_expired_sessions_task.delay_on_commit()
    assert wait_until(lambda: not Session.objects.filter(session_key=expired).exists())
    assert Session.objects.filter(session_key=live).exists()
    assert real_worker.poll() is None


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_enqueues_nothing(real_worker):
    expired, _ = _expired_and_live_sessions()
    with pytest.raises(RuntimeError), transaction.atomic():
        clear_expired_sessions_task.delay_on_commit()
        raise RuntimeError("the caller's work failed")
    # A task enqueued afterwards runs, so the worker is alive and the queue was empty before.
    marker_session = SessionStore()
    marker_session.create()
    Session.objects.filter(session_key=marker_session.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(days=1)
    )
    clear_expired_sessions_task.delay()
    assert wait_until(lambda: not Session.objects.filter(session_key=expired).exists())
