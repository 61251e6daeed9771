import datetime

import pytest
from django.utils import timezone

from tsn.keyset import cursor_after, older_than, parse_cursor
from tsn.models import AuditEvent

MOMENT = datetime.datetime(2026, 3, 2, 10, 30, tzinfo=datetime.UTC)


def test_cursor_round_trip():
    assert parse_cursor(cursor_after(MOMENT, 42)) == (MOMENT, 42)


@pytest.mark.parametrize(
    "raw", [None, "", "42", "hier,3", "2026-03-02T10:30:00,abc", "2026-03-02T10:30:00,3"]
)
def test_malformed_or_naive_cursor_is_none(raw):
    assert parse_cursor(raw) is None


@pytest.mark.django_db
def test_older_than_breaks_ties_on_id():
    same = timezone.now()
    rows = AuditEvent.objects.bulk_create(
        [AuditEvent(occurred_at=same, action="read", object_type="x") for _ in range(3)]
        + [
            AuditEvent(
                occurred_at=same - datetime.timedelta(seconds=1), action="read", object_type="x"
            )
        ]
    )
    middle = sorted(r.pk for r in rows[:3])[1]
    older = AuditEvent.objects.filter(older_than("occurred_at", (same, middle)))
    assert set(older.values_list("pk", flat=True)) == {min(r.pk for r in rows[:3]), rows[3].pk}
