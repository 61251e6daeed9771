import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from tsn.audit import client_ip, record_access
from tsn.models import AuditEvent, User


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
