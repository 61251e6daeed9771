"""Keyset pagination ("seek" instead of OFFSET): page N costs what page 1 costs.

A cursor travels in the URL as `<ISO 8601 aware datetime>,<id>` and names the last row
shown; the next page holds the rows strictly older than it, newest first.
"""

import datetime

from django.db.models import Q
from django.utils import timezone

Cursor = tuple[datetime.datetime, int]


def cursor_after(moment: datetime.datetime, pk: int) -> str:
    return f"{moment.isoformat()},{pk}"


def parse_cursor(raw: str | None) -> Cursor | None:
    """The cursor, or None when absent or malformed (the list then starts at the newest)."""
    moment, _sep, pk = (raw or "").rpartition(",")
    try:
        cursor = (datetime.datetime.fromisoformat(moment), int(pk))
    except ValueError:
        return None
    return cursor if timezone.is_aware(cursor[0]) else None


def older_than(field: str, cursor: Cursor) -> Q:
    """Rows after `cursor` in (field DESC, id DESC) order.

    The leading `field <= moment` lets PostgreSQL start its index scan at the cursor.
    """
    moment, pk = cursor
    return Q(**{f"{field}__lte": moment}) & (Q(**{f"{field}__lt": moment}) | Q(pk__lt=pk))
