"""The professional's calendar feed (pathways/services/calendar.py, pathways/views/calendar.py):
the settings page, the secret address and what the iCalendar feed may and may not carry."""

import datetime

import icalendar
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.models import CalendarFeed, Pathway, PathwayTemplate, Step, StepTemplate
from pathways.services.calendar import initials, renew_calendar_feed

NOW = timezone.now()
STEP_NAME = "Consultation de cardiologie pour insuffisance cardiaque"


@pytest.fixture
def nurse(world):
    """A professional with appointments: the world's GP."""
    return world.users["team_member"].professional


@pytest.fixture
def feed(nurse) -> CalendarFeed:
    return renew_calendar_feed(professional=nurse)


@pytest.fixture
def appointment(world):
    """A factory of steps of the world's active pathway (one per step template)."""
    pathway = world.patient.pathways.get()
    orders = iter(range(1, 1000))

    def make(*, pathway: Pathway = pathway, **fields) -> Step:
        fields.setdefault("assignee", world.users["team_member"].professional)
        fields.setdefault("status", Step.Status.SCHEDULED)
        fields.setdefault("scheduled_at", NOW + datetime.timedelta(days=2))
        order = next(orders)
        template_step = StepTemplate.objects.create(
            template=pathway.template,
            order=order,
            name=f"{STEP_NAME} {order}",
            responsible_profession="physician",
            deadline_days=order,
        )
        return Step.objects.create(pathway=pathway, template_step=template_step, **fields)

    return make


def _feed_url(feed: CalendarFeed) -> str:
    return reverse("pathways:calendar_feed", args=[feed.token])


def _events(response) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(response.content).walk("VEVENT"))


# --- The settings page ---------------------------------------------------------------------


def test_a_professional_creates_the_address_and_sees_it_in_full(client, world, nurse):
    client.force_login(world.users["team_member"])
    url = reverse("pathways:calendar_settings")
    assert "Créer l'adresse de mon agenda" in client.get(url).content.decode()

    response = client.post(url, {"action": "renew"})

    assert response.status_code == 302
    feed = CalendarFeed.objects.get(professional=nurse)
    assert len(feed.token) >= 43
    content = client.get(url).content.decode()
    assert f"http://testserver/agenda/{feed.token}.ics" in content
    for application in ("Outlook", "Google Agenda", "Thunderbird"):
        assert application in content


def test_renewing_the_token_invalidates_the_old_address(client, world, feed):
    old_url = _feed_url(feed)
    assert client.get(old_url).status_code == 200
    client.force_login(world.users["team_member"])

    client.post(reverse("pathways:calendar_settings"), {"action": "renew"})

    feed.refresh_from_db()
    assert _feed_url(feed) != old_url
    client.logout()
    assert client.get(old_url).status_code == 404
    assert client.get(_feed_url(feed)).status_code == 200


def test_deleting_the_feed_stops_it(client, world, feed):
    client.force_login(world.users["team_member"])

    client.post(reverse("pathways:calendar_settings"), {"action": "delete"})

    assert not CalendarFeed.objects.exists()
    assert client.get(_feed_url(feed)).status_code == 404


def test_an_unknown_action_is_a_400(client, world):
    client.force_login(world.users["team_member"])

    response = client.post(reverse("pathways:calendar_settings"), {"action": "share"})

    assert response.status_code == 400
    assert "Cette action n&#x27;existe pas." in response.content.decode()
    assert not CalendarFeed.objects.exists()


@pytest.mark.parametrize("persona", ["ars_analyst", "the_patient", "administrator"])
def test_the_settings_page_is_for_professionals_only(client, world, persona):
    client.force_login(world.users[persona])
    url = reverse("pathways:calendar_settings")

    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "renew"}).status_code == 404
    assert not CalendarFeed.objects.exists()


def test_the_settings_page_needs_a_login(client):
    response = client.get(reverse("pathways:calendar_settings"))
    assert response.status_code == 302
    assert "/comptes/login/" in response.url


# --- The feed ------------------------------------------------------------------------------


def test_the_feed_carries_initials_time_place_and_link_and_nothing_else(
    client, world, feed, appointment
):
    step = appointment(place="Cabinet des Lilas, salle 2")

    response = client.get(_feed_url(feed))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    [event] = _events(response)
    assert str(event["UID"]) == f"step-{step.pk}@tsn"
    assert event.start == step.scheduled_at.replace(microsecond=0)
    assert event.end - event.start == datetime.timedelta(minutes=30)
    assert str(event["LOCATION"]) == "Cabinet des Lilas, salle 2"
    assert str(event["SUMMARY"]) == "Rendez-vous TSN — M. D."
    record = f"http://testserver{reverse('patients:detail', args=[world.patient.pk])}"
    assert str(event["URL"]) == record
    assert str(event["DESCRIPTION"]) == record
    text = response.content.decode()
    assert STEP_NAME not in text
    assert "Insuffisance cardiaque" not in text  # the pathway's name
    assert world.patient.birth_last_name not in text
    assert "Marie" not in text


def test_the_feed_keeps_only_the_professionals_live_appointments(
    client, world, feed, appointment, make_professional
):
    kept = [
        appointment(),
        appointment(scheduled_at=NOW - datetime.timedelta(days=29)),
    ]
    appointment(scheduled_at=NOW - datetime.timedelta(days=31))  # too old
    appointment(status=Step.Status.PLANNED, scheduled_at=NOW + datetime.timedelta(days=1))
    appointment(
        status=Step.Status.DONE,
        scheduled_at=NOW - datetime.timedelta(days=1),
        done_at=NOW,
    )
    appointment(assignee=make_professional())  # someone else's
    closed = Pathway.objects.create(
        patient=world.other_patient,
        template=PathwayTemplate.objects.get(code="ic"),
        status=Pathway.Status.COMPLETED,
        ended_on=timezone.localdate(),
    )
    appointment(pathway=closed)

    events = _events(client.get(_feed_url(feed)))

    assert sorted(str(event["UID"]) for event in events) == sorted(
        f"step-{step.pk}@tsn" for step in kept
    )


def test_an_unknown_token_is_a_404(client, world, feed):
    assert client.get(reverse("pathways:calendar_feed", args=["nope"])).status_code == 404
    assert client.get(reverse("pathways:calendar_feed", args=[feed.token + "x"])).status_code == 404


def test_the_feed_of_a_deactivated_account_stops(client, world, feed, appointment):
    appointment()
    user = world.users["team_member"]
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert client.get(_feed_url(feed)).status_code == 404


def test_free_text_cannot_break_out_of_its_property(client, world, feed, appointment):
    appointment(place="Salle 2\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:Diabète; HbA1c, 9 %")

    response = client.get(_feed_url(feed))

    [event] = _events(response)
    assert str(event["LOCATION"]) == (
        "Salle 2\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:Diabète; HbA1c, 9 %"
    ).replace("\r\n", "\n")
    assert str(event["SUMMARY"]) == "Rendez-vous TSN — M. D."


def test_the_feed_has_a_constant_number_of_queries(
    client, world, feed, appointment, django_assert_num_queries
):
    appointment()
    url = _feed_url(feed)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(6):
        appointment()

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(_events(response)) == 7
    assert len(few.captured_queries) == 2  # the feed, then its appointments


def test_initials_use_the_used_names():
    assert initials("Marie", "Dupont") == "M. D."
    assert initials("élise", "de la Tour") == "É. D."
    assert initials("", "Dupont") == "D."


def test_the_feed_uses_the_patients_used_names(client, world, feed, appointment):
    world.patient.used_first_name = "Lou"
    world.patient.used_last_name = "Bernard"
    world.patient.save(update_fields=["used_first_name", "used_last_name"])
    appointment()

    [event] = _events(client.get(_feed_url(feed)))

    assert str(event["SUMMARY"]) == "Rendez-vous TSN — L. B."
