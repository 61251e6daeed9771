"""A professional's appointments (scheduled pathway steps) as an iCalendar feed at a secret
address, for their usual calendar (Outlook, Google, Thunderbird...).

The feed leaves the platform for third-party servers: it carries the patient's initials,
the time, the place and a link to the record (which asks for a login), and nothing
else: no step name, no pathway name, nothing medical.
"""

import datetime
import secrets
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from pathways.models import CalendarFeed, Pathway, Step
from professionals.models import Professional

APPOINTMENT_LENGTH = datetime.timedelta(minutes=30)
# Appointments older than this are left out of the feed.
FEED_HISTORY = datetime.timedelta(days=30)


def new_token() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def renew_calendar_feed(*, professional: Professional) -> CalendarFeed:
    """Give the professional a feed at a new secret address; the previous one stops working."""
    feed, _created = CalendarFeed.objects.update_or_create(
        professional=professional,
        defaults={"token": new_token(), "created_at": timezone.now()},
    )
    return feed


@transaction.atomic
def delete_calendar_feed(*, professional: Professional) -> None:
    """Stop publishing the professional's appointments."""
    CalendarFeed.objects.filter(professional=professional).delete()


def initials(first_name: str, last_name: str) -> str:
    """ "Marie", "Dupont" -> "M. D." (only what a calendar on a third-party server may show)."""
    return " ".join(
        f"{name.strip()[0].upper()}." for name in (first_name, last_name) if name.strip()
    )


def feed_for_token(token: str) -> CalendarFeed | None:
    """The feed published at this address, if its professional's account is still active."""
    return (
        CalendarFeed.objects.filter(token=token, professional__user__is_active=True)
        .only("pk", "professional_id")
        .first()
    )


def calendar_ics(*, feed: CalendarFeed, record_url: Callable[[int], str]) -> bytes:
    """The feed's appointments, from 30 days ago on, as an iCalendar file (one query).

    `record_url(patient_id)` is the absolute address of a patient's file."""
    rows = (
        Step.objects.filter(
            assignee_id=feed.professional_id,
            status=Step.Status.SCHEDULED,
            scheduled_at__gte=timezone.now() - FEED_HISTORY,
        )
        .exclude(pathway__status__in=Pathway.CLOSED_STATUSES)
        .order_by("scheduled_at", "pk")
        # Plain columns: nothing about the step or the pathway can slip into the feed.
        .values_list(
            "pk",
            "scheduled_at",
            "place",
            "pathway__patient_id",
            "pathway__patient__used_first_name",
            "pathway__patient__first_names",
            "pathway__patient__used_last_name",
            "pathway__patient__birth_last_name",
        )
    )
    calendar = Calendar.new(
        prodid="-//TSN//Agenda des rendez-vous//FR",
        uid=f"feed-{feed.pk}@tsn",
        name="TSN",
    )
    for pk, scheduled_at, place, patient_id, used_first, first_names, used_last, birth_last in rows:
        first_name = used_first or first_names.split(" ")[0]
        start = scheduled_at.astimezone(datetime.UTC)
        url = record_url(patient_id)
        event = Event.new(
            uid=f"step-{pk}@tsn",
            start=start,
            end=start + APPOINTMENT_LENGTH,
            summary=_("Rendez-vous TSN — %(initials)s")
            % {"initials": initials(first_name, used_last or birth_last)},
            location=place or None,
            url=url,
            description=url,
        )
        calendar.add_component(event)
    return calendar.to_ical()
