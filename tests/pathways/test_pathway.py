"""Enrolment, the pathway and step state machines, blocking steps, template versions
(pathways/services/pathway.py and pathways/views/pathway.py), through HTTP first."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.catalogue import install_pathway_templates
from pathways.models import Pathway, PathwayTemplate, Step, StepTemplate, Transition
from pathways.services.pathway import (
    StepDraft,
    complete_step,
    enrol_patient,
    revise_template,
)
from patients.models import CareTeamMember, ConsentRecord, TimelineEvent
from professionals.models import Professional

TODAY = timezone.localdate()
HEART = "insuffisance-cardiaque"


@pytest.fixture
def heart_failure(db) -> PathwayTemplate:
    install_pathway_templates()
    return PathwayTemplate.objects.get(code=HEART, is_current=True)


@pytest.fixture
def coordinator(client, world):
    client.force_login(world.users["coordinator_following"])
    return world.users["coordinator_following"]


def _enrol(client, world, template, **data):
    url = reverse("pathways:pathway_enrol", args=[world.patient.pk])
    fields = {"template": template.pk, "origin": "hospital", "enrolled_on": TODAY.isoformat()}
    return client.post(url, fields | data)


def _status(client, pathway, to, **data):
    url = reverse("pathways:pathway_status", args=[pathway.patient_id, pathway.pk])
    return client.post(url, {"to": to, **data})


def _step_action(client, step, action, **data):
    url = reverse("pathways:step_update", args=[step.pathway.patient_id, step.pathway_id, step.pk])
    return client.post(url, {"action": action, **data})


def _active(client, world, template) -> Pathway:
    _enrol(client, world, template)
    pathway = world.patient.pathways.get(template=template)
    assert _status(client, pathway, "active", informed="on").status_code == 302
    pathway.refresh_from_db()
    return pathway


# --- Enrolment -----------------------------------------------------------------------------


def test_enrolment_proposes_the_pathway_with_its_steps_dates_and_assignees(
    client, world, coordinator, heart_failure, make_professional
):
    nurse = make_professional(Professional.Profession.NURSE)
    CareTeamMember.objects.create(patient=world.patient, professional=nurse, role="nurse")

    response = _enrol(client, world, heart_failure)

    pathway = world.patient.pathways.get(template=heart_failure)
    assert response.status_code == 302
    assert response.url == reverse("pathways:pathway_detail", args=[world.patient.pk, pathway.pk])
    assert pathway.status == Pathway.Status.PROPOSED
    assert pathway.origin == Pathway.Origin.HOSPITAL
    steps = list(pathway.steps.select_related("template_step").order_by("template_step__order"))
    templates = list(heart_failure.steps.order_by("order"))
    assert [s.template_step for s in steps] == templates
    for step, template in zip(steps, templates, strict=True):
        assert step.status == Step.Status.PLANNED
        if template.relative_to == StepTemplate.RelativeTo.ENROLMENT:
            assert step.due_on == TODAY + datetime.timedelta(days=template.deadline_days)
    by_name = {s.template_step.name: s for s in steps}
    assert by_name["Visite infirmière à domicile"].assignee == nurse
    assert by_name["Consultation du médecin traitant"].assignee == world.patient.gp
    assert list(pathway.transitions.values_list("from_status", "to_status")) == [("", "proposed")]
    event = TimelineEvent.objects.get(pathway=pathway)
    assert "Insuffisance cardiaque" in event.title


def _discharge_steps(pathway) -> dict[str, datetime.date | None]:
    return {
        step.template_step.name: step.due_on
        for step in pathway.steps.select_related("template_step")
        if step.template_step.relative_to == StepTemplate.RelativeTo.DISCHARGE
    }


def test_discharge_steps_wait_for_the_discharge_unless_it_is_recent(
    client, world, coordinator, heart_failure
):
    _enrol(client, world, heart_failure)
    undated = world.patient.pathways.get(template=heart_failure)
    assert set(_discharge_steps(undated).values()) == {None}
    assert _status(client, undated, "exited", reason="Inclusion en double").status_code == 302
    old = TimelineEvent.objects.create(
        patient=world.patient,
        kind=TimelineEvent.Kind.HOSPITAL_DISCHARGE,
        title="Sortie",
        occurred_at=timezone.now() - datetime.timedelta(days=45),
    )
    recent = TimelineEvent.objects.create(
        patient=world.patient,
        kind=TimelineEvent.Kind.HOSPITAL_DISCHARGE,
        title="Sortie",
        occurred_at=timezone.now() - datetime.timedelta(days=3),
    )
    _enrol(client, world, heart_failure)
    pathway = world.patient.pathways.get(template=heart_failure, status="proposed")
    discharged = timezone.localdate(recent.occurred_at)
    assert _discharge_steps(pathway) == {
        "Visite infirmière à domicile": discharged + datetime.timedelta(days=2),
        "Consultation du médecin traitant": discharged + datetime.timedelta(days=7),
    }
    assert old.occurred_at < recent.occurred_at


def test_a_patient_is_not_enrolled_twice_in_the_same_pathway(
    client, world, coordinator, heart_failure
):
    _enrol(client, world, heart_failure)
    response = _enrol(client, world, heart_failure)

    assert response.status_code == 400
    assert "déjà ce parcours" in response.content.decode()
    assert world.patient.pathways.filter(template=heart_failure).count() == 1


def test_an_invalid_enrolment_form_is_a_400_with_the_errors(client, world, coordinator):
    response = _enrol(client, world, PathwayTemplate(pk=999_999), origin="nowhere")

    assert response.status_code == 400
    assert 'class="invalid-feedback' in response.content.decode()


# --- The pathway's state machine ----------------------------------------------------------


def test_activation_needs_the_patients_information_recorded(
    client, world, coordinator, heart_failure
):
    _enrol(client, world, heart_failure)
    pathway = world.patient.pathways.get(template=heart_failure)
    world.patient.consents.filter(kind="information_given").delete()

    refused = _status(client, pathway, "active")
    pathway.refresh_from_db()
    assert refused.status_code == 400
    assert "information du patient" in refused.content.decode()
    assert pathway.status == Pathway.Status.PROPOSED

    accepted = _status(client, pathway, "active", informed="on")
    pathway.refresh_from_db()
    assert accepted.status_code == 302
    assert pathway.status == Pathway.Status.ACTIVE
    consent = world.patient.consents.get(kind=ConsentRecord.Kind.INFORMATION_GIVEN)
    assert consent.recorded_by == coordinator
    assert pathway.transitions.filter(from_status="proposed", to_status="active").count() == 1


def test_suspend_resume_and_exit_are_logged_on_the_pathway_and_the_timeline(
    client, world, coordinator, heart_failure
):
    pathway = _active(client, world, heart_failure)

    assert _status(client, pathway, "suspended", reason="Hospitalisé").status_code == 302
    assert _status(client, pathway, "active").status_code == 302
    no_reason = _status(client, pathway, "exited")
    assert no_reason.status_code == 400
    assert _status(client, pathway, "exited", reason="Déménagement").status_code == 302

    pathway.refresh_from_db()
    assert pathway.status == Pathway.Status.EXITED
    assert pathway.ended_on == TODAY
    assert pathway.exit_reason == "Déménagement"
    moves = list(pathway.transitions.order_by("pk").values_list("from_status", "to_status"))
    assert moves == [
        ("", "proposed"),
        ("proposed", "active"),
        ("active", "suspended"),
        ("suspended", "active"),
        ("active", "exited"),
    ]
    assert pathway.transitions.get(to_status="suspended").reason == "Hospitalisé"
    assert pathway.transitions.filter(actor=coordinator).count() == 5
    titles = list(TimelineEvent.objects.filter(pathway=pathway).values_list("title", flat=True))
    assert any("repris" in title for title in titles)
    assert any("suspendu" in title for title in titles)


def test_a_closed_pathway_cannot_move_and_its_steps_cannot_change(
    client, world, coordinator, heart_failure
):
    pathway = _active(client, world, heart_failure)
    _status(client, pathway, "exited", reason="Décès")
    step = pathway.steps.first()

    assert _status(client, pathway, "active").status_code == 400
    response = _step_action(client, step, "done", done_at="2026-01-01T10:00")
    step.refresh_from_db()
    assert response.status_code == 400
    assert step.status == Step.Status.PLANNED


def test_completion_needs_every_required_step_done_or_skipped(
    client, world, coordinator, heart_failure
):
    pathway = _active(client, world, heart_failure)

    assert _status(client, pathway, "completed").status_code == 400
    pathway.steps.filter(template_step__required=True).update(status="done", done_at=timezone.now())
    assert _status(client, pathway, "completed").status_code == 302
    pathway.refresh_from_db()
    assert pathway.status == Pathway.Status.COMPLETED


# --- Steps ------------------------------------------------------------------------------


def test_scheduling_then_completing_a_step_links_it_to_a_timeline_event(
    client, world, coordinator, heart_failure
):
    pathway = _active(client, world, heart_failure)
    step = pathway.steps.get(template_step__order=1)

    scheduled = _step_action(
        client, step, "schedule", scheduled_at="2030-03-02T10:30", place="Domicile"
    )
    step.refresh_from_db()
    assert scheduled.status_code == 302
    assert (step.status, step.place) == (Step.Status.SCHEDULED, "Domicile")
    assert timezone.localtime(step.scheduled_at).strftime("%Y-%m-%d %H:%M") == "2030-03-02 10:30"

    done = _step_action(client, step, "done", done_at="2026-01-05T09:00", outcome="Poids stable.")
    step.refresh_from_db()
    assert done.status_code == 302
    assert step.status == Step.Status.DONE
    assert step.timeline_event.kind == TimelineEvent.Kind.PATHWAY_STEP
    assert step.timeline_event.pathway == pathway
    assert step.timeline_event.body == "Poids stable."
    assert list(step.transitions.values_list("from_status", "to_status")) == [
        ("planned", "scheduled"),
        ("scheduled", "done"),
    ]
    again = _step_action(client, step, "done", done_at="2026-01-05T09:00")
    assert again.status_code == 400
    assert step.transitions.count() == 2


def test_a_step_counted_from_the_previous_one_is_due_from_the_day_it_was_done(
    client, world, coordinator, make_professional
):
    template = PathwayTemplate.objects.create(code="t", name="Parcours test")
    first = StepTemplate.objects.create(
        template=template, order=1, name="Bilan", responsible_profession="nurse", deadline_days=5
    )
    StepTemplate.objects.create(
        template=template,
        order=2,
        name="Suivi",
        responsible_profession="nurse",
        deadline_days=10,
        relative_to=StepTemplate.RelativeTo.PREVIOUS_STEP,
    )
    pathway = _active(client, world, template)
    second = pathway.steps.get(template_step__order=2)
    assert second.due_on == TODAY + datetime.timedelta(days=15)

    step = pathway.steps.get(template_step=first)
    done_on = TODAY - datetime.timedelta(days=1)
    _step_action(client, step, "done", done_at=f"{done_on.isoformat()}T10:00")

    second.refresh_from_db()
    assert second.due_on == done_on + datetime.timedelta(days=10)


def test_a_step_waits_for_the_blocking_step_before_it(client, world, coordinator, heart_failure):
    pathway = _active(client, world, heart_failure)
    blocking = pathway.steps.get(template_step__blocking=True)
    after = pathway.steps.filter(template_step__order__gt=blocking.template_step.order).first()

    waiting = _step_action(client, after, "done", done_at="2026-01-05T09:00")
    after.refresh_from_db()
    assert waiting.status_code == 400
    assert blocking.template_step.name in waiting.content.decode()
    assert after.status == Step.Status.PLANNED
    skip_blocking = _step_action(client, blocking, "skip", reason="Pas le temps")
    assert skip_blocking.status_code == 400

    _step_action(client, blocking, "done", done_at="2026-01-05T09:00")
    assert _step_action(client, after, "done", done_at="2026-01-06T09:00").status_code == 302


def test_skipping_needs_a_reason_and_is_logged(client, world, coordinator, heart_failure):
    pathway = _active(client, world, heart_failure)
    optional = pathway.steps.get(template_step__required=False)

    assert _step_action(client, optional, "skip", reason="").status_code == 400
    assert _step_action(client, optional, "skip", reason="Déjà fait").status_code == 302
    optional.refresh_from_db()
    assert (optional.status, optional.outcome) == (Step.Status.SKIPPED, "Déjà fait")
    assert optional.transitions.get().reason == "Déjà fait"


def test_assigning_a_step_to_a_care_team_member_or_from_the_directory(
    client, world, coordinator, heart_failure, make_professional
):
    pathway = _active(client, world, heart_failure)
    step = pathway.steps.get(template_step__order=1)
    stranger = make_professional(Professional.Profession.NURSE)

    assert _step_action(client, step, "assign").status_code == 400
    assert _step_action(client, step, "assign", member=world.patient.gp_id).status_code == 302
    step.refresh_from_db()
    assert step.assignee_id == world.patient.gp_id
    assert _step_action(client, step, "assign", professional=stranger.pk).status_code == 302
    step.refresh_from_db()
    assert step.assignee == stranger
    assert not step.transitions.exists()  # no change of status


def test_an_unknown_step_action_is_a_bad_request(client, world, coordinator, heart_failure):
    pathway = _active(client, world, heart_failure)
    step = pathway.steps.first()

    assert _step_action(client, step, "explode").status_code == 400


def test_overdue_steps_are_shown_on_the_pathway_and_the_list(
    client, world, coordinator, heart_failure
):
    pathway = _active(client, world, heart_failure)
    pathway.steps.filter(template_step__order=1).update(due_on=TODAY - datetime.timedelta(days=3))

    detail = client.get(reverse("pathways:pathway_detail", args=[world.patient.pk, pathway.pk]))
    listing = client.get(reverse("pathways:pathways", args=[world.patient.pk]))

    assert detail.content.decode().count('data-testid="overdue"') == 1
    assert "en retard" in listing.content.decode()


def test_a_step_of_another_patients_pathway_is_not_found_through_this_record(
    client, world, coordinator, heart_failure, make_patient
):
    pathway = _active(client, world, heart_failure)
    other = make_patient()
    step = pathway.steps.first()
    url = reverse("pathways:step", args=[other.pk, pathway.pk, step.pk])

    assert client.get(url).status_code == 404


def test_the_pathway_page_costs_the_same_queries_for_2_or_9_steps(
    client, world, coordinator, django_assert_num_queries
):
    def pathway_with(steps: int) -> Pathway:
        template = PathwayTemplate.objects.create(code=f"t{steps}", name=f"Modèle {steps}")
        pathway = Pathway.objects.create(patient=world.patient, template=template, status="active")
        for order in range(1, steps + 1):
            step_template = StepTemplate.objects.create(
                template=template,
                order=order,
                name=f"Étape {order}",
                responsible_profession="nurse",
                deadline_days=order,
            )
            step = Step.objects.create(
                pathway=pathway, template_step=step_template, assignee=world.patient.gp
            )
            Transition.objects.create(pathway=pathway, step=step, to_status="planned")
        return pathway

    small, large = pathway_with(2), pathway_with(9)
    client.get(reverse("pathways:pathway_detail", args=[world.patient.pk, small.pk]))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("pathways:pathway_detail", args=[world.patient.pk, small.pk]))
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(reverse("pathways:pathway_detail", args=[world.patient.pk, large.pk]))


# --- Concurrency --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_users_completing_the_same_step_at_once_give_one_transition(world, heart_failure):
    coordinator = world.users["coordinator_following"]
    request = RequestFactory().post("/")
    request.user = coordinator
    pathway = enrol_patient(
        request=request, patient=world.patient, template=heart_failure, origin="gp"
    )
    Pathway.objects.filter(pk=pathway.pk).update(status="active")
    step_pk = pathway.steps.get(template_step__order=1).pk
    barrier = threading.Barrier(2)
    outcomes = []

    def complete() -> None:
        # Each thread loads the step while it is still open, as two browsers would.
        step = Step.objects.select_related(
            "pathway__patient", "pathway__template", "template_step"
        ).get(pk=step_pk)
        barrier.wait()
        try:
            complete_step(request=request, step=step, outcome="Vu")
            outcomes.append("done")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["done", "refused"]
    assert Transition.objects.filter(step_id=step_pk).count() == 1
    assert TimelineEvent.objects.filter(kind="pathway_step", pathway=pathway).count() == 1


# --- Template versions ----------------------------------------------------------------------


def test_revising_a_template_creates_a_version_and_running_pathways_keep_theirs(
    client, world, coordinator, heart_failure
):
    running = _active(client, world, heart_failure)
    drafts = [
        StepDraft(
            name="Visite infirmière sous 24 h", responsible_profession="nurse", deadline_days=1
        ),
        StepDraft(
            name="PPCS validé",
            responsible_profession="physician",
            deadline_days=20,
            blocking=True,
            validates_care_plan=True,
        ),
    ]

    revised = revise_template(
        template=heart_failure, name=heart_failure.name, description="v2", steps=drafts
    )

    heart_failure.refresh_from_db()
    assert (revised.version, revised.is_current) == (2, True)
    assert heart_failure.is_current is False
    assert list(revised.steps.values_list("name", flat=True)) == [d.name for d in drafts]
    running.refresh_from_db()
    assert running.template == heart_failure
    assert running.steps.count() == heart_failure.steps.count()
    with pytest.raises(ValidationError):
        revise_template(template=heart_failure, name="x", description="", steps=drafts)
    stale = _enrol(client, world, heart_failure)
    assert stale.status_code == 400


def _step_rows(steps: list[dict], extra: int = 2) -> dict:
    """The formset's POST data: the given steps, then blank rows as the page posts them."""
    rows = [
        *steps,
        *(
            [{"responsible_profession": "physician", "relative_to": "enrolment", "required": "on"}]
            * extra
        ),
    ]
    data = {
        "etapes-TOTAL_FORMS": str(len(rows)),
        "etapes-INITIAL_FORMS": str(len(steps)),
        "etapes-MIN_NUM_FORMS": "0",
        "etapes-MAX_NUM_FORMS": "40",
    }
    for n, row in enumerate(rows):
        data |= {f"etapes-{n}-{key}": value for key, value in row.items()}
    return data


def test_a_coordinator_revises_a_template_through_its_page(
    client, world, coordinator, heart_failure
):
    url = reverse("pathways:template_revise", args=[heart_failure.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert "Visite infirmière à domicile" in form.content.decode()

    steps = [
        {"name": "Visite infirmière sous 24 h", "responsible_profession": "nurse",
         "deadline_days": "1", "grace_days": "2", "relative_to": "enrolment", "required": "on"},
        {"name": "Étape retirée", "responsible_profession": "nurse", "deadline_days": "3",
         "relative_to": "enrolment", "DELETE": "on"},
        {"name": "PPCS validé", "responsible_profession": "physician", "deadline_days": "20",
         "relative_to": "previous_step", "required": "on", "blocking": "on",
         "validates_care_plan": "on"},
    ]  # fmt: skip
    response = client.post(
        url, {"name": "IC v2", "description": "", "no_contact_days": "21"} | _step_rows(steps)
    )

    revised = PathwayTemplate.objects.get(code=HEART, is_current=True)
    assert response.status_code == 302
    assert (revised.version, revised.no_contact_days) == (2, 21)
    assert [
        (s.name, s.relative_to, s.blocking, s.validates_care_plan, s.grace_days)
        for s in revised.steps.order_by("order")
    ] == [
        ("Visite infirmière sous 24 h", "enrolment", False, False, 2),
        ("PPCS validé", "previous_step", True, True, 0),
    ]
    listing = client.get(reverse("pathways:templates")).content.decode()
    assert "IC v2" in listing


def test_a_revision_with_an_invalid_step_is_refused_and_nothing_changes(
    client, world, coordinator, heart_failure
):
    url = reverse("pathways:template_revise", args=[heart_failure.pk])
    steps = [{"name": "", "responsible_profession": "nurse", "deadline_days": "-4",
              "relative_to": "enrolment", "required": "on"}]  # fmt: skip

    response = client.post(url, {"name": "IC"} | _step_rows(steps, extra=0))

    assert response.status_code == 400
    assert PathwayTemplate.objects.filter(code=HEART).count() == 1


def test_only_coordinators_and_administrators_revise_templates(client, world, heart_failure):
    client.force_login(world.users["team_member"])
    assert client.get(reverse("pathways:templates")).status_code == 200
    assert (
        client.get(reverse("pathways:template_revise", args=[heart_failure.pk])).status_code == 404
    )
    client.force_login(world.users["ars_analyst"])
    assert client.get(reverse("pathways:templates")).status_code == 404


def test_enrolment_to_validated_care_plan_to_overdue_step_on_the_worklist(
    client, world, heart_failure
):
    """The coordinator enrols the patient in the heart-failure pathway and sees its steps,
    writes the care plan, the GP validates it (which completes that step), a step goes
    overdue and appears on the coordinator's worklist, and the care plan's PDF opens."""
    coordinator, gp = world.users["coordinator_following"], world.users["team_member"]
    client.force_login(coordinator)
    _enrol(client, world, heart_failure, referent=coordinator.professional.pk)
    pathway = world.patient.pathways.get(template=heart_failure)
    _status(client, pathway, "active", informed="on")
    detail = client.get(reverse("pathways:pathway_detail", args=[world.patient.pk, pathway.pk]))
    assert detail.content.decode().count('data-testid="step"') == heart_failure.steps.count()
    plan = {
        "base_version": "0",
        "next_review_on": "2027-06-01",
        "need_health": "Décompensation cardiaque récente.",
        "objectifs-TOTAL_FORMS": "1", "objectifs-INITIAL_FORMS": "0",
        "objectifs-0-text": "Pas de réhospitalisation", "objectifs-0-status": "in_progress",
        "actions-TOTAL_FORMS": "1", "actions-INITIAL_FORMS": "0",
        "actions-0-text": "Pesée quotidienne", "actions-0-kind": "care",
    }  # fmt: skip
    assert (
        client.post(reverse("pathways:care_plan_edit", args=[world.patient.pk]), plan).status_code
        == 302
    )

    client.force_login(gp)
    client.post(reverse("pathways:care_plan_validate", args=[world.patient.pk]), {"version": "1"})
    validation = pathway.steps.get(template_step__validates_care_plan=True)
    assert validation.status == Step.Status.DONE

    late = pathway.steps.get(template_step__order=1)
    Step.objects.filter(pk=late.pk).update(due_on=TODAY - datetime.timedelta(days=2))
    client.force_login(coordinator)
    worklist = client.get(reverse("pathways:worklist")).content.decode()
    assert late.template_step.name in worklist
    pdf = client.get(reverse("pathways:care_plan_pdf", args=[world.patient.pk]))
    assert pdf.content.startswith(b"%PDF")
