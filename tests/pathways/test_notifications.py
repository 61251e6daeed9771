"""Delivering notifications (claims, retries, quiet hours, digest) and the pages: the
badge, the list, preferences, failed e-mails (pathways/services/notification.py)."""

import datetime
import re

import psycopg
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from pathways.models import Alert, Notification, NotificationPreference
from pathways.services.alert import AlertDraft, raise_alerts
from pathways.services.notification import (
    _claim,
    deliver_notifications,
    relay_notifications,
    retry_delay,
    send_digests,
)
from patients.models import ConsentRecord
from tsn.environment import database_url


class BrokenBackend:
    """A mail server that refuses everything."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages) -> int:
        raise ConnectionRefusedError("smtp.example.fr:587 refused the connection")


@pytest.fixture
def gp(world):
    return world.users["team_member"]


@pytest.fixture
def alert_for(world):
    keys = iter(range(1000))

    def raise_for(user, **fields) -> Alert:
        [alert_id] = raise_alerts(
            [
                AlertDraft(
                    patient_id=world.patient.pk,
                    kind=Alert.Kind.HOSPITAL_DISCHARGE,
                    message="Sortie d'hospitalisation : CH Lyon Sud",
                    dedupe_key=f"test:{next(keys)}",
                    assignee_id=user.pk,
                    **fields,
                )
            ]
        )
        return Alert.objects.get(pk=alert_id)

    return raise_for


def email_of(alert: Alert) -> Notification:
    return alert.notifications.get(channel=Notification.Channel.EMAIL)


@pytest.fixture
def broken_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.BrokenBackend"}}


# --- Delivery ------------------------------------------------------------------------------


def test_the_e_mail_is_neutral_with_a_link(world, gp, alert_for, mailoutbox):
    notification = email_of(alert_for(gp))
    assert deliver_notifications(ids=[notification.pk]) == 1
    [message] = mailoutbox
    assert message.to == [gp.email]
    text = message.subject + message.body
    patient = world.patient
    for secret in (patient.birth_last_name, "Sortie", "Lyon Sud", "hospitalisation"):
        assert secret not in text
    assert "/notifications/" in message.body
    assert message.extra_headers["Message-ID"] == f"<notification-{notification.pk}@tsn>"
    notification.refresh_from_db()
    assert (notification.status, notification.claimed_until) == ("sent", None)
    assert notification.sent_at is not None


def test_a_sent_notification_is_not_sent_again(gp, alert_for, mailoutbox):
    notification = email_of(alert_for(gp))
    deliver_notifications(ids=[notification.pk])
    assert deliver_notifications(ids=[notification.pk]) == 0
    assert relay_notifications() == 0
    assert len(mailoutbox) == 1


def test_a_claimed_notification_is_left_to_its_worker_until_the_lease_ends(gp, alert_for):
    notification = email_of(alert_for(gp))
    claimed, _lease = _claim(ids=[notification.pk], digest=False, limit=10)
    assert claimed == [notification.pk]
    assert _claim(ids=None, digest=False, limit=10)[0] == []
    # The worker died: once its lease has passed, another takes the row over.
    Notification.objects.update(claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    assert _claim(ids=None, digest=False, limit=10)[0] == [notification.pk]


@pytest.mark.django_db(transaction=True)
def test_rows_locked_by_another_worker_are_skipped(world, gp, alert_for):
    first, second = email_of(alert_for(gp)), email_of(alert_for(gp))
    # (Delivered at once by the eager task after each commit: back to the outbox.)
    Notification.objects.filter(channel="email").update(status="pending", sent_at=None)
    # Another worker is in the middle of claiming the first row.
    with psycopg.connect(database_url(connection.settings_dict), autocommit=False) as other:
        other.execute("SELECT id FROM pathways_notification WHERE id = %s FOR UPDATE", [first.pk])
        claimed, _lease = _claim(ids=None, digest=False, limit=10)
    assert claimed == [second.pk]


def test_a_failed_send_is_retried_with_backoff_then_marked_failed(
    gp, alert_for, broken_mail, settings
):
    settings.TSN_NOTIFICATION_RETRY_BASE_SECONDS = 60
    notification = email_of(alert_for(gp))
    before = timezone.now()
    assert deliver_notifications() == 0
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in notification.last_error
    wait = notification.next_attempt_at - before
    assert datetime.timedelta(seconds=30) <= wait <= datetime.timedelta(seconds=61)
    for attempt in range(2, Notification.MAX_ATTEMPTS + 1):
        Notification.objects.update(next_attempt_at=timezone.now())
        deliver_notifications()
        notification.refresh_from_db()
        assert notification.attempts == attempt
    assert notification.status == "failed"
    Notification.objects.update(next_attempt_at=timezone.now())
    deliver_notifications()
    notification.refresh_from_db()
    assert notification.attempts == Notification.MAX_ATTEMPTS  # failed: no more tries


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.TSN_NOTIFICATION_RETRY_BASE_SECONDS = 60
    for attempts in range(1, 6):
        delay = retry_delay(attempts).total_seconds()
        ceiling = 60 * 2 ** (attempts - 1)
        assert ceiling / 2 <= delay <= ceiling
    assert len({retry_delay(3) for _ in range(20)}) > 1


def test_quiet_hours_postpone_the_e_mail_to_their_end(gp, alert_for, mailoutbox):
    now = timezone.localtime()
    start = (now - datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now + datetime.timedelta(hours=2)).time().replace(second=0, microsecond=0)
    NotificationPreference.objects.create(user=gp, quiet_start=start, quiet_end=end)
    notification = email_of(alert_for(gp))
    assert deliver_notifications() == 0
    assert mailoutbox == []
    notification.refresh_from_db()
    assert notification.status == "pending"
    assert notification.attempts == 0
    postponed = timezone.localtime(notification.next_attempt_at)
    assert (postponed.hour, postponed.minute) == (end.hour, end.minute)
    assert postponed > now


def test_the_digest_groups_a_recipients_notifications_in_one_e_mail(
    gp, alert_for, mailoutbox, world
):
    NotificationPreference.objects.create(user=gp, email_digest=True)
    coordinator = world.users["coordinator_following"]
    for _ in range(3):
        alert_for(gp)
    alert_for(coordinator)
    # Not sent on their own...
    assert deliver_notifications() == 1
    assert [m.to for m in mailoutbox] == [[coordinator.email]]
    # ...but together, once a day.
    assert send_digests() == 1
    assert [m.to for m in mailoutbox[1:]] == [[gp.email]]
    assert "3 alertes" in mailoutbox[1].body
    assert Notification.objects.filter(channel="email", status="sent").count() == 4
    assert send_digests() == 0


def test_delivery_is_enqueued_on_commit(
    gp, alert_for, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alert_for(gp)
    assert len(mailoutbox) == 1  # the task ran (eagerly in tests) after the commit


# --- Pages ---------------------------------------------------------------------------------


def test_the_badge_counts_unread_notifications(client, gp, alert_for):
    client.force_login(gp)
    assert "notification-count" not in client.get(reverse("pathways:notification_badge")).text
    alert_for(gp)
    alert_for(gp)
    badge = client.get(reverse("pathways:notification_badge")).text
    assert re.search(r'data-testid="notification-count">2<', badge)
    # The page is where they are read.
    client.get(reverse("pathways:notifications"))
    assert "notification-count" not in client.get(reverse("pathways:notification_badge")).text


def test_the_badge_says_nothing_once_signed_out(client):
    # Not the sign-in redirect: its page would be swapped into the navigation bar.
    response = client.get(reverse("pathways:notification_badge"))
    assert (response.status_code, response.content) == (204, b"")


def test_the_badge_is_in_the_navigation_of_clinical_accounts(client, gp, world):
    client.force_login(gp)
    assert reverse("pathways:notification_badge") in client.get(reverse("home")).text
    client.force_login(world.users["ars_analyst"])
    assert reverse("pathways:notification_badge") not in client.get(reverse("home")).text


@pytest.mark.parametrize("persona", ["ars_analyst", "the_patient", "administrator"])
def test_notification_pages_are_for_clinical_accounts(client, world, persona):
    client.force_login(world.users[persona])
    for name in ("notifications", "notification_badge", "notification_preferences"):
        assert client.get(reverse(f"pathways:{name}")).status_code == 404


def test_the_list_names_a_patient_only_while_the_user_may_see_them(
    client, world, alert_for, django_assert_max_num_queries
):
    nurse = world.users["objected_professional"]
    alert_for(nurse)
    client.force_login(nurse)
    page = client.get(reverse("pathways:notifications")).text
    assert world.patient.birth_last_name not in page
    assert "ne pouvez plus voir" in page
    gp = world.users["team_member"]
    for _ in range(5):
        alert_for(gp)
    client.force_login(gp)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("pathways:notifications")).text
    assert page.count('data-testid="notification"') == 5
    assert world.patient.birth_last_name in page


def test_the_list_is_paged_by_keyset(client, gp, alert_for):
    for _ in range(35):
        alert_for(gp)
    client.force_login(gp)
    first = client.get(reverse("pathways:notifications"))
    assert first.text.count('data-testid="notification"') == 30
    cursor = first.context["next_cursor"]
    second = client.get(reverse("pathways:notifications"), {"before": cursor})
    assert second.text.count('data-testid="notification"') == 5
    assert second.context["next_cursor"] == ""


def test_objection_after_the_alert_hides_the_patient(client, world, alert_for):
    gp = world.users["team_member"]
    alert_for(gp)
    ConsentRecord.objects.create(
        patient=world.patient,
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=gp.professional,
    )
    client.force_login(gp)
    assert world.patient.birth_last_name not in client.get(reverse("pathways:notifications")).text


def test_preferences_are_saved(client, gp, world):
    client.force_login(gp)
    coordinator = world.users["coordinator_following"]
    response = client.post(
        reverse("pathways:notification_preferences"),
        {
            "in_app_kinds": ["hospital_admission", "step_overdue"],
            "email_kinds": ["hospital_admission"],
            "email_digest": "on",
            "quiet_start": "20:00",
            "quiet_end": "07:30",
            "absent_from": "2026-12-20",
            "absent_until": "2027-01-03",
            "delegate_email": coordinator.email.upper(),
        },
    )
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=gp)
    assert preference.email_kinds == ["hospital_admission"]
    assert preference.in_app_kinds == ["hospital_admission", "step_overdue"]
    assert preference.email_digest
    assert preference.delegate == coordinator
    assert preference.in_quiet_hours(datetime.time(23, 0))
    assert preference.in_quiet_hours(datetime.time(6, 0))
    assert not preference.in_quiet_hours(datetime.time(12, 0))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"quiet_start": "20:00"}, "le début et la fin"),
        ({"absent_from": "2026-12-20"}, "qui vous supplée"),
        ({"delegate_email": "personne@nulle-part.test"}, "Aucun compte"),
        (
            {"absent_from": "2026-12-20", "absent_until": "2026-12-01", "delegate_email": "x"},
            "Saisissez une adresse",
        ),
    ],
)
def test_preferences_are_validated(client, gp, data, error):
    client.force_login(gp)
    response = client.post(reverse("pathways:notification_preferences"), data)
    assert response.status_code == 200
    assert error in response.text
    assert not NotificationPreference.objects.exists()


def test_one_cannot_be_ones_own_delegate(client, gp):
    client.force_login(gp)
    response = client.post(
        reverse("pathways:notification_preferences"),
        {"absent_from": "2026-12-20", "delegate_email": gp.email},
    )
    assert "une autre personne" in response.text


def test_failed_e_mails_are_listed_for_administrators_and_can_be_retried(
    client, world, gp, alert_for, settings, mailoutbox
):
    notification = email_of(alert_for(gp))
    Notification.objects.filter(pk=notification.pk).update(
        status="failed", attempts=6, last_error="SMTPServerDisconnected"
    )
    for persona in ("team_member", "coordinator_following"):
        client.force_login(world.users[persona])
        assert client.get(reverse("pathways:failed_notifications")).status_code == 404
    client.force_login(world.users["administrator"])
    page = client.get(reverse("pathways:failed_notifications")).text
    assert gp.email in page and "SMTPServerDisconnected" in page
    assert world.patient.birth_last_name not in page
    client.post(reverse("pathways:failed_notifications_retry"), {"notification": [notification.pk]})
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("pending", 0)
    assert deliver_notifications() == 1
    assert len(mailoutbox) == 1
