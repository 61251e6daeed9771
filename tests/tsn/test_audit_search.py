"""The territory-wide audit search: administrators only, filters, keyset pages."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tsn import audit_search
from tsn.models import AuditEvent, User


@pytest.fixture
def trail(make_user):
    gp = make_user(email="gp@exemple.fr")
    nurse = make_user(email="nurse@exemple.fr")
    start = timezone.now() - datetime.timedelta(days=10)
    events = [
        AuditEvent(
            occurred_at=start + datetime.timedelta(hours=i),
            actor=gp if i % 2 else nurse,
            actor_role=User.Role.PROFESSIONAL,
            patient_id=100 + i % 3,
            action=AuditEvent.Action.READ,
            outcome=AuditEvent.Outcome.DENIED if i == 7 else AuditEvent.Outcome.ALLOWED,
            object_type="patient",
            break_glass_reason="Urgence vitale" if i == 4 else "",
        )
        for i in range(12)
    ]
    AuditEvent.objects.bulk_create(events)
    return gp, nurse


@pytest.fixture
def admin(client, make_user):
    client.force_login(make_user(role=User.Role.ADMINISTRATOR))
    return client


@pytest.mark.parametrize("role", [User.Role.PROFESSIONAL, User.Role.ARS_ANALYST])
def test_only_administrators(client, make_user, role):
    client.force_login(make_user(role=role))
    assert client.get(reverse("audit_search")).status_code == 404


def test_all_events_newest_first(admin, trail):
    events = admin.get(reverse("audit_search")).context["events"]
    assert len(events) == 12
    assert [e.occurred_at for e in events] == sorted((e.occurred_at for e in events), reverse=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "GP@exemple.fr"}, 6),
        ({"patient": "101"}, 4),
        ({"outcome": "denied"}, 1),
        ({"break_glass_only": "on"}, 1),
        ({"actor": "nurse@exemple.fr", "patient": "100"}, 2),
    ],
)
def test_filters(admin, trail, query, expected):
    response = admin.get(reverse("audit_search"), query)
    assert len(response.context["events"]) == expected


def test_keyset_pages_cover_everything_once(admin, trail, monkeypatch):
    monkeypatch.setattr(audit_search, "PAGE_SIZE", 5)
    seen, before = [], None
    for _ in range(4):
        params = {"before": before} if before else {}
        response = admin.get(reverse("audit_search"), params)
        seen += [e.pk for e in response.context["events"]]
        before = response.context["next_cursor"]
        if before is None:
            break
    assert len(seen) == len(set(seen)) == 12


def test_a_malformed_cursor_starts_from_the_newest(admin, trail):
    response = admin.get(reverse("audit_search"), {"before": "yesterday,abc"})
    assert response.status_code == 200
    assert len(response.context["events"]) == 12


def test_query_count_does_not_grow_with_the_trail(admin, trail, django_assert_max_num_queries):
    # Session, user, the page of events (actors joined).
    with django_assert_max_num_queries(3):
        admin.get(reverse("audit_search"))
