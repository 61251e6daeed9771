import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import ProgrammingError, transaction
from django.test import RequestFactory
from django.utils import timezone

from tsn.audit import client_ip, purge_audit_events, record_access
from tsn.celery import app
from tsn.models import AuditEvent, User
from tsn.tasks import purge_audit_events_task


@pytest.mark.parametrize(
    ("remote_addr", "expected"),
    [("192.0.2.7", "192.0.2.7"), ("2001:db8::1", "2001:db8::1"), ("", None), ("unix:", None)],
)
def test_client_ip_is_remote_addr_when_it_is_an_address(remote_addr, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr)
    assert client_ip(request) == expected


def test_forwarded_header_is_not_trusted():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.7")
    assert client_ip(request) == "10.0.0.1"


def test_record_access_writes_who_what_and_from_where(make_user):
    user = make_user(role=User.Role.COORDINATOR)
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7")
    request.user = user
    event = record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="patient",
        object_id=42,
        patient_id=42,
    )
    event.refresh_from_db()
    assert (event.actor, event.actor_role, event.client_ip) == (user, "coordinator", "192.0.2.7")
    assert (event.action, event.outcome, event.object_id) == ("read", "allowed", "42")


def test_record_access_for_an_anonymous_request(db):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    event = record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="patient",
        patient_id=1,
        outcome=AuditEvent.Outcome.DENIED,
    )
    assert event.actor is None
    assert event.actor_role == ""


def _trace(days_ago: int, now) -> AuditEvent:
    return AuditEvent.objects.create(
        occurred_at=now - datetime.timedelta(days=days_ago),
        action=AuditEvent.Action.READ,
        object_type="patient",
        patient_id=1,
    )


@pytest.mark.django_db
def test_traces_past_the_retention_period_are_purged_and_only_those(settings):
    now = timezone.now()
    old, older, recent = _trace(366, now), _trace(800, now), _trace(364, now)
    assert purge_audit_events(now=now, batch=1) == 2
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AuditEvent.objects.filter(pk__in=[old.pk, older.pk]).exists()
    settings.TSN_AUDIT_RETENTION_DAYS = 30
    assert purge_audit_events(now=now) == 1
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_the_purge_leaves_the_table_append_only():
    now = timezone.now()
    _trace(400, now)
    kept = _trace(10, now)
    assert purge_audit_events(now=now) == 1
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        AuditEvent.objects.filter(pk=kept.pk).delete()
    assert AuditEvent.objects.filter(pk=kept.pk).exists()


@pytest.mark.django_db
def test_the_nightly_task_purges(settings):
    _trace(400, timezone.now())
    assert purge_audit_events_task.delay().get() == 1
    assert app.conf.beat_schedule["purge-audit-events"]["task"] == purge_audit_events_task.name
