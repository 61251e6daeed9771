"""Alerts are never lost: against a real broker (Redis in CI), real worker processes and
a real SMTP server, through outages and a worker killed in the middle of a send."""

import pytest
from django.urls import reverse

from pathways.models import Alert, Notification
from pathways.services.alert import AlertDraft, raise_alerts
from pathways.tasks import relay_notifications_task
from tests.worker import Broker, start_mail_server, start_worker, stop_worker, wait_until
from tsn.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(tmp_path):
    app.conf.task_always_eager = False
    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.close()


@pytest.fixture
def workers():
    started = []
    yield started
    for process in started:
        output = stop_worker(process)
        assert "Traceback" not in output, output


def _alert(world, user, n: int) -> None:
    raise_alerts(
        [
            AlertDraft(
                patient_id=world.patient.pk,
                kind=Alert.Kind.HOSPITAL_ADMISSION,
                message="Admission à l'hôpital",
                dedupe_key=f"outage:{n}",
                assignee_id=user.pk,
            )
        ]
    )


def _emails_sent() -> int:
    return Notification.objects.filter(channel="email", status="sent").count()


def test_alerts_raised_during_a_broker_outage_are_each_sent_once_after_the_relay(
    world, client, broker, workers
):
    mail, controller = start_mail_server()
    try:
        gp = world.users["team_member"]
        broker.stop()
        # 500 alerts, each in its own transaction, while the broker is down.
        for n in range(500):
            _alert(world, gp, n)
        # A person's request during the outage succeeds; its alert waits in the outbox.
        client.force_login(world.users["outsider"])
        response = client.post(
            reverse("pathways:break_glass", args=[world.patient.pk]),
            {"reason": "Patient inconscient aux urgences, équipe injoignable."},
        )
        assert response.status_code == 302
        coordinator = world.users["coordinator_following"]
        assert Notification.objects.filter(recipient=coordinator, status="pending").exists()
        assert Notification.objects.filter(channel="email", status="pending").count() == 501
        # The broker comes back empty: nothing of the 501 dispatches survived.
        broker.start()
        workers.append(start_worker(broker, **mail.env()))
        relay_notifications_task.delay()
        assert wait_until(lambda: _emails_sent() == 501, timeout=180)
        ids = mail.message_ids()
        assert len(ids) == 501
        assert len(set(ids)) == 501
        assert not Notification.objects.exclude(status="sent").filter(channel="email").exists()
    finally:
        controller.stop()


def test_a_worker_killed_during_a_send_leaves_exactly_one_e_mail(world, broker, workers):
    mail, controller = start_mail_server(hold=True)
    try:
        lease = {"TSN_NOTIFICATION_LEASE_SECONDS": "2"}
        first = start_worker(broker, **mail.env(), **lease)
        workers.append(first)
        _alert(world, world.users["team_member"], 1)
        # The worker took the notification and is talking to the mail server...
        assert wait_until(mail.holding.is_set)
        # ...when it is killed.
        first.kill()
        first.wait()
        mail.release.set()
        workers.append(start_worker(broker, **mail.env(), **lease))

        def delivered() -> bool:
            relay_notifications_task.delay()  # as beat does, every minute
            return _emails_sent() == 1

        assert wait_until(delivered, timeout=60)
        assert len(mail.messages) == 1
        notification = Notification.objects.get(channel="email")
        assert mail.message_ids() == [f"<notification-{notification.pk}@tsn>"]
    finally:
        controller.stop()
