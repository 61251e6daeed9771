"""Background work: eager in tests by default, and delivered to a real worker process."""

import datetime

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from tests.worker import wait_until
from tsn.celery import app
from tsn.tasks import clear_expired_sessions_task


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


@pytest.mark.django_db
def test_clearing_sessions_drops_the_session_list_entries_of_gone_sessions(make_user):
    expired, live = _expired_and_live_sessions()
    user = make_user()
    for key in (expired, live):
        UserSession.objects.create(user=user, session_key=key, ip="127.0.0.1", user_agent="x")
    clear_expired_sessions_task.delay().get()
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [live]


def test_beat_schedule_is_in_code():
    entry = app.conf.beat_schedule["clear-expired-sessions"]
    assert entry["task"] == clear_expired_sessions_task.name


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
