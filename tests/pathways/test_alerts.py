"""Raising alerts with their notifications (the outbox), users' preferences, the periodic
scans and escalation (pathways/services/alert.py, scan.py)."""

import datetime
import threading

import pytest
from django.db import connections, transaction
from django.utils import timezone

from pathways.models import (
    Alert,
    CarePlan,
    Notification,
    NotificationPreference,
    Pathway,
    PathwayTemplate,
    Referral,
    Step,
    StepTemplate,
)
from pathways.services.alert import AlertDraft, raise_alerts
from pathways.services.scan import (
    escalate_alerts,
    run_scans,
    scan_care_plan_reviews,
    scan_no_contact,
    scan_overdue_steps,
    scan_unanswered_referrals,
)
from patients.models import TimelineEvent
from professionals.models import Professional

TODAY = timezone.localdate()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def gp(world):
    return world.users["team_member"]


@pytest.fixture
def coordinator(world):
    return world.users["coordinator_following"]


@pytest.fixture
def pathway(world) -> Pathway:
    return world.patient.pathways.get()


def draft(world, user, key="k1", **fields) -> AlertDraft:
    return AlertDraft(
        patient_id=world.patient.pk,
        kind=fields.pop("kind", Alert.Kind.HOSPITAL_ADMISSION),
        message="Admission à l'hôpital",
        dedupe_key=key,
        assignee_id=user.pk if user else None,
        **fields,
    )


def channels(user) -> dict[str, tuple[str, bool]]:
    return {n.channel: (n.status, n.digest) for n in Notification.objects.filter(recipient=user)}


# --- Raising and the outbox ----------------------------------------------------------------


def test_an_alert_is_written_with_its_notifications(world, gp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        [alert_id] = raise_alerts([draft(world, gp)])
    alert = Alert.objects.get(pk=alert_id)
    assert (alert.assignee, alert.status, alert.kind) == (gp, "open", "hospital_admission")
    # In-app: delivered by being written; e-mail: waiting in the outbox, dispatch enqueued.
    assert channels(gp) == {"in_app": ("sent", False), "email": ("pending", False)}
    assert len(callbacks) == 1


def test_one_unresolved_alert_per_dedupe_key(world, gp):
    assert raise_alerts([draft(world, gp)])
    assert raise_alerts([draft(world, gp)]) == []
    Alert.objects.update(status=Alert.Status.RESOLVED)
    # Resolved: the same event happening again is a new alert.
    assert len(raise_alerts([draft(world, gp)])) == 1
    assert Alert.objects.count() == 2
    assert Notification.objects.filter(recipient=gp).count() == 4


def test_a_failing_transaction_leaves_no_alert_notification_or_task(
    world, gp, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        raise_alerts([draft(world, gp)])
        raise RuntimeError("what caused the alert failed")
    assert not Alert.objects.exists()
    assert not Notification.objects.exists()
    assert callbacks == []


def test_an_unassigned_alert_notifies_nobody(world):
    raise_alerts([draft(world, None)])
    assert Alert.objects.count() == 1
    assert not Notification.objects.exists()


def test_preferences_choose_channels_per_kind_and_the_digest(world, gp):
    NotificationPreference.objects.create(
        user=gp, in_app_kinds=["hospital_admission"], email_kinds=[], email_digest=True
    )
    raise_alerts([draft(world, gp), draft(world, gp, key="k2", kind=Alert.Kind.NO_CONTACT)])
    by_kind = {(n.alert.kind, n.channel) for n in Notification.objects.filter(recipient=gp)}
    assert by_kind == {("hospital_admission", "in_app")}


def test_digest_recipients_get_their_e_mails_marked_for_the_digest(world, gp):
    NotificationPreference.objects.create(user=gp, email_digest=True)
    raise_alerts([draft(world, gp)])
    assert channels(gp) == {"in_app": ("sent", False), "email": ("pending", True)}


def test_a_delegate_receives_while_the_assignee_is_absent(world, gp, coordinator):
    NotificationPreference.objects.create(
        user=gp, delegate=coordinator, absent_from=days(-1), absent_until=days(1)
    )
    raise_alerts([draft(world, gp)])
    assert Alert.objects.get().assignee == gp  # still theirs on the worklist
    assert channels(gp) == {}
    assert set(channels(coordinator)) == {"in_app", "email"}


def test_no_delegation_outside_the_absence(world, gp, coordinator):
    NotificationPreference.objects.create(
        user=gp, delegate=coordinator, absent_from=days(2), absent_until=days(5)
    )
    raise_alerts([draft(world, gp)])
    assert set(channels(gp)) == {"in_app", "email"}
    assert channels(coordinator) == {}


def test_inactive_accounts_are_not_notified(world, gp):
    gp.is_active = False
    gp.save(update_fields=["is_active"])
    raise_alerts([draft(world, gp)])
    assert not Notification.objects.exists()


# --- Scans ---------------------------------------------------------------------------------


@pytest.fixture
def add_step(pathway):
    orders = iter(range(1, 100))

    def add(
        due_on, *, grace_days=0, required=True, assignee=None, status="planned", blocking=False
    ) -> Step:
        order = next(orders)
        template = StepTemplate.objects.create(
            template=pathway.template,
            order=order,
            name=f"Visite infirmière {order}",
            responsible_profession="nurse",
            deadline_days=1,
            grace_days=grace_days,
            required=required,
            blocking=blocking,
        )
        return Step.objects.create(
            pathway=pathway,
            template_step=template,
            due_on=due_on,
            status=status,
            assignee=assignee,
            done_at=timezone.now() if status == "done" else None,
        )

    return add


def test_overdue_steps_alert_their_assignee_after_the_grace_period(
    world, add_step, make_professional, coordinator
):
    nurse = make_professional(Professional.Profession.NURSE)
    assigned = add_step(days(-3), assignee=nurse)
    unassigned = add_step(days(-1))  # falls to the pathway's referent
    add_step(days(-2), grace_days=2)  # within its grace period
    add_step(days(-5), status="done", assignee=nurse)
    add_step(days(0), assignee=nurse)  # due today: not late yet
    assert scan_overdue_steps() == 2
    alerts = {a.step_id: a for a in Alert.objects.filter(kind="step_overdue")}
    assert set(alerts) == {assigned.pk, unassigned.pk}
    assert alerts[assigned.pk].assignee == nurse.user
    assert alerts[unassigned.pk].assignee == coordinator
    assert "Visite infirmière" in alerts[assigned.pk].message
    assert Notification.objects.filter(recipient=nurse.user).count() == 2


def test_scans_are_idempotent_and_do_not_reraise_what_a_person_resolved(add_step):
    step = add_step(days(-3))
    assert scan_overdue_steps() == 1
    assert scan_overdue_steps() == 0
    Alert.objects.update(status=Alert.Status.RESOLVED)
    assert scan_overdue_steps() == 0
    # A new due date is a new lateness.
    Step.objects.filter(pk=step.pk).update(due_on=days(-2))
    assert scan_overdue_steps() == 1


def test_a_step_waiting_for_an_earlier_blocking_step_does_not_alert(add_step):
    validation = add_step(days(-5), blocking=True)
    add_step(days(-2))  # cannot start before the validation
    assert scan_overdue_steps() == 1
    assert Alert.objects.get().step == validation
    Step.objects.filter(pk=validation.pk).update(status="done", done_at=timezone.now())
    assert scan_overdue_steps() == 1  # now it is late by its own doing


def test_steps_of_suspended_pathways_do_not_alert(pathway, add_step):
    add_step(days(-3))
    Pathway.objects.filter(pk=pathway.pk).update(status=Pathway.Status.SUSPENDED)
    assert scan_overdue_steps() == 0


def test_optional_steps_alert_as_information(add_step):
    add_step(days(-3), required=False)
    scan_overdue_steps()
    assert Alert.objects.get().severity == Alert.Severity.INFO


def test_unanswered_referrals_alert_their_sender(world, gp):
    late = Referral.objects.filter(status=Referral.Status.SENT).get()
    Referral.objects.filter(pk=late.pk).update(
        respond_by=timezone.now() - datetime.timedelta(hours=1)
    )
    assert scan_unanswered_referrals() == 1
    alert = Alert.objects.get()
    assert (alert.kind, alert.assignee, alert.patient) == ("referral_unanswered", gp, world.patient)
    assert "Portage de repas" in alert.message
    # An answer stops it; an accepted referral never alerted.
    assert scan_unanswered_referrals() == 0


def test_a_passed_care_plan_review_date_alerts_the_referent(world, coordinator):
    CarePlan.objects.create(patient=world.patient, next_review_on=days(-1))
    assert scan_care_plan_reviews() == 1
    assert Alert.objects.get().assignee == coordinator
    CarePlan.objects.update(next_review_on=days(30))
    assert scan_care_plan_reviews() == 0


def test_no_contact_for_n_days_alerts_the_referent(world, pathway, coordinator):
    PathwayTemplate.objects.filter(pk=pathway.template_id).update(no_contact_days=30)
    Pathway.objects.filter(pk=pathway.pk).update(enrolled_on=days(-90))
    TimelineEvent.objects.create(
        patient=world.patient,
        kind=TimelineEvent.Kind.CONSULTATION,
        title="Consultation",
        occurred_at=timezone.now() - datetime.timedelta(days=40),
    )
    # The platform's own records are not contacts.
    TimelineEvent.objects.create(
        patient=world.patient,
        kind=TimelineEvent.Kind.PATHWAY_STEP,
        title="Étape prévue",
        occurred_at=timezone.now(),
    )
    assert scan_no_contact() == 1
    assert Alert.objects.get().assignee == coordinator
    assert scan_no_contact() == 0
    Alert.objects.update(status=Alert.Status.RESOLVED)
    assert scan_no_contact() == 0  # resolved: not raised again for the same silence
    # A contact five days ago: no silence to report.
    TimelineEvent.objects.create(
        patient=world.patient,
        kind=TimelineEvent.Kind.HOME_VISIT,
        title="Visite",
        occurred_at=timezone.now() - datetime.timedelta(days=5),
    )
    Alert.objects.all().delete()
    assert scan_no_contact() == 0


def test_no_contact_rule_only_where_the_template_sets_it(world, pathway):
    Pathway.objects.filter(pk=pathway.pk).update(enrolled_on=days(-400))
    assert scan_no_contact() == 0


def test_run_scans_reports_each_rule(add_step):
    add_step(days(-3))
    assert run_scans() == {
        "step_overdue": 1,
        "referral_unanswered": 0,
        "care_plan_review": 0,
        "no_contact": 0,
    }


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_scans_leave_one_alert_per_key(world, add_step):
    for n in range(30):
        add_step(days(-3 - n))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def scan() -> None:
        try:
            barrier.wait()
            results.append(scan_overdue_steps())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results)[1] > 0 and sum(results) == 30
    assert Alert.objects.count() == 30
    assert Alert.objects.values("dedupe_key").distinct().count() == 30


# --- Escalation ----------------------------------------------------------------------------


@pytest.fixture
def age_alert():
    def age(alert_id: int, delay: datetime.timedelta) -> None:
        Alert.objects.filter(pk=alert_id).update(created_at=timezone.now() - delay)

    return age


def test_an_unacknowledged_alert_goes_to_the_referent_then_the_on_duty_coordinator(
    world, gp, coordinator, pathway, make_professional, age_alert
):
    on_duty = make_professional(Professional.Profession.COORDINATOR)
    pathway.support_service.on_duty = on_duty
    pathway.support_service.save(update_fields=["on_duty"])
    [alert_id] = raise_alerts([draft(world, gp, severity=Alert.Severity.URGENT)])
    age_alert(alert_id, datetime.timedelta(hours=3))
    assert escalate_alerts() == 0
    age_alert(alert_id, datetime.timedelta(hours=5))
    assert escalate_alerts() == 1
    alert = Alert.objects.get()
    assert (alert.assignee, alert.escalation_level) == (coordinator, 1)
    assert set(channels(coordinator)) == {"in_app", "email"}
    assert escalate_alerts() == 0  # its next delay counts from the escalation
    Alert.objects.update(escalated_at=timezone.now() - datetime.timedelta(hours=5))
    assert escalate_alerts() == 1
    alert.refresh_from_db()
    assert (alert.assignee, alert.escalation_level) == (on_duty.user, 2)
    assert set(channels(on_duty.user)) == {"in_app", "email"}
    Alert.objects.update(escalated_at=timezone.now() - datetime.timedelta(days=5))
    assert escalate_alerts() == 0  # the last level


def test_an_alert_already_with_the_referent_goes_to_the_on_duty_coordinator(
    world, coordinator, pathway, make_professional, age_alert
):
    on_duty = make_professional(Professional.Profession.COORDINATOR)
    pathway.support_service.on_duty = on_duty
    pathway.support_service.save(update_fields=["on_duty"])
    [alert_id] = raise_alerts([draft(world, coordinator)])
    age_alert(alert_id, datetime.timedelta(days=3))
    assert escalate_alerts() == 1
    alert = Alert.objects.get()
    assert (alert.assignee, alert.escalation_level) == (on_duty.user, 2)


def test_acknowledged_and_informative_alerts_do_not_escalate(world, gp, age_alert):
    [acknowledged] = raise_alerts([draft(world, gp, key="a")])
    [info] = raise_alerts([draft(world, gp, key="b", severity=Alert.Severity.INFO)])
    Alert.objects.filter(pk=acknowledged).update(status=Alert.Status.ACKNOWLEDGED)
    age_alert(acknowledged, datetime.timedelta(days=30))
    age_alert(info, datetime.timedelta(days=30))
    assert escalate_alerts() == 0
    assert set(Alert.objects.values_list("assignee", flat=True)) == {gp.pk}


def test_scan_queries_do_not_grow_with_the_number_of_pathways(
    add_step, django_assert_max_num_queries
):
    for n in range(20):
        add_step(days(-2 - n))
    with django_assert_max_num_queries(4):
        assert scan_overdue_steps() == 20
