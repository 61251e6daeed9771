"""The personalised care plan (PPCS): versions, optimistic locking, the GP's validation,
the document as a page and as a PDF (pathways/services/care_plan.py, views/care_plan.py)."""

import datetime
import re

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pathways.models import CarePlan, Pathway, Step, StepTemplate
from pathways.services.care_plan import CarePlanContent, StaleCarePlan, save_care_plan
from patients.models import TimelineEvent
from tsn.models import AuditEvent


def _plan(base: int, **fields) -> dict:
    """The edit form's POST data: one goal and one action, then the blank rows."""
    data = {
        "base_version": str(base),
        "general_information": fields.get("general", "Vit seul, au 2e étage sans ascenseur."),
        "referent": "",
        "next_review_on": "2027-03-01",
        "need_health": fields.get("health", "Insuffisance cardiaque, poids instable."),
        "need_autonomy": "Aide pour la toilette.",
        "preferences": fields.get("preferences", "Rester à domicile."),
        "objectifs-TOTAL_FORMS": "3",
        "objectifs-INITIAL_FORMS": "0",
        "objectifs-MIN_NUM_FORMS": "0",
        "objectifs-MAX_NUM_FORMS": "50",
        "objectifs-0-text": fields.get("goal", "Stabiliser le poids"),
        "objectifs-0-target": "± 1 kg",
        "objectifs-0-status": fields.get("goal_status", "in_progress"),
        "objectifs-0-comment": "",
        "objectifs-1-status": "planned",
        "objectifs-2-status": "planned",
        "actions-TOTAL_FORMS": "2",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "50",
        "actions-0-text": "Pesée quotidienne",
        "actions-0-kind": "care",
        "actions-0-owner": fields.get("owner", ""),
        "actions-0-due_on": "2027-01-15",
        "actions-1-kind": "care",
    }
    return data


@pytest.fixture
def gp(client, world):
    client.force_login(world.users["team_member"])
    return world.users["team_member"]


def _edit(client, world, data):
    return client.post(reverse("pathways:care_plan_edit", args=[world.patient.pk]), data)


def test_first_save_creates_version_1_and_an_edit_version_2(client, world, gp):
    first = _edit(client, world, _plan(0, owner=str(world.patient.gp_id)))
    second = _edit(client, world, _plan(1, goal="Stabiliser le poids sous 80 kg"))

    care_plan = CarePlan.objects.get(patient=world.patient)
    assert (first.status_code, second.status_code) == (302, 302)
    assert care_plan.current_version == 2
    assert care_plan.next_review_on == datetime.date(2027, 3, 1)
    v1, v2 = care_plan.versions.order_by("number")
    assert v1.goals[0]["text"] == "Stabiliser le poids"
    assert v2.goals == [
        {"text": "Stabiliser le poids sous 80 kg", "target": "± 1 kg", "status": "in_progress",
         "comment": ""},
    ]  # fmt: skip
    assert v1.actions[0]["owner"] == world.patient.gp_id
    assert v1.actions[0]["owner_name"] == str(world.patient.gp)
    assert v1.needs == {"health": "Insuffisance cardiaque, poids instable.",
                        "autonomy": "Aide pour la toilette."}  # fmt: skip
    page = client.get(reverse("pathways:care_plan", args=[world.patient.pk])).content.decode()
    assert page.count('data-testid="version"') == 2
    assert "Stabiliser le poids sous 80 kg" in page
    assert TimelineEvent.objects.filter(patient=world.patient, title__startswith="PPCS mis à jour")
    audits = AuditEvent.objects.filter(object_type="care_plan", action__in=["create", "update"])
    assert audits.filter(action="create").count() >= 1


def test_a_stale_edit_is_refused_with_what_changed_and_the_input_kept(client, world, gp):
    _edit(client, world, _plan(0))
    _edit(client, world, _plan(1, preferences="Rester à domicile avec sa chienne."))

    stale = _edit(client, world, _plan(1, goal="Marcher 20 minutes par jour"))

    page = stale.content.decode()
    assert stale.status_code == 409
    assert 'data-testid="stale"' in page
    assert (
        "Préférences et projet du patient"
        in page.split('data-testid="stale"')[1].split("</div>")[0]
    )
    assert "Objectifs partagés" not in page.split('data-testid="stale"')[1].split("</div>")[0]
    assert 'value="Marcher 20 minutes par jour"' in page  # the user's input is kept
    assert CarePlan.objects.get(patient=world.patient).current_version == 2
    assert re.search(r'name="base_version" value="2"', page)


def test_two_saves_from_the_same_version_one_wins(world):
    request = RequestFactory().post("/")
    request.user = world.users["team_member"]
    content = CarePlanContent(goals=[{"text": "Objectif", "status": "planned"}])

    save_care_plan(request=request, patient=world.patient, base_version=0, content=content)
    with pytest.raises(StaleCarePlan) as refused:
        save_care_plan(request=request, patient=world.patient, base_version=0, content=content)

    assert refused.value.current.number == 1
    assert CarePlan.objects.get(patient=world.patient).versions.count() == 1


def test_invalid_input_is_a_400_with_french_errors(client, world, gp):
    data = _plan(0) | {"next_review_on": "pas une date", "objectifs-0-status": "done?"}

    response = _edit(client, world, data)

    assert response.status_code == 400
    assert "Saisissez une date valide" in response.content.decode()
    assert not CarePlan.objects.exists()


def test_only_the_gp_validates_and_only_once(client, world, gp):
    _edit(client, world, _plan(0))
    url = reverse("pathways:care_plan_validate", args=[world.patient.pk])

    client.force_login(world.users["coordinator_following"])
    assert client.post(url, {"version": "1"}).status_code == 403
    client.force_login(gp)
    assert client.post(url, {"version": "1"}).status_code == 302
    again = client.post(url, {"version": "1"}, follow=True)

    version = CarePlan.objects.get(patient=world.patient).versions.get()
    assert version.validated_by == world.patient.gp
    assert "déjà validée" in again.content.decode()
    page = client.get(reverse("pathways:care_plan", args=[world.patient.pk])).content.decode()
    assert 'data-testid="validated"' in page


def test_validating_an_older_version_than_the_current_is_refused(client, world, gp):
    _edit(client, world, _plan(0))
    _edit(client, world, _plan(1, general="Changé"))

    response = client.post(
        reverse("pathways:care_plan_validate", args=[world.patient.pk]),
        {"version": "1"},
        follow=True,
    )

    assert "plus récente" in response.content.decode()
    assert not CarePlan.objects.get(patient=world.patient).versions.exclude(validated_at=None)


def test_validation_completes_the_care_plan_steps_of_active_pathways(client, world, gp):
    pathway = world.patient.pathways.get()
    step_template = StepTemplate.objects.create(
        template=pathway.template,
        order=1,
        name="PPCS validé par le médecin traitant",
        responsible_profession="physician",
        deadline_days=30,
        blocking=True,
        validates_care_plan=True,
    )
    step = Step.objects.create(pathway=pathway, template_step=step_template)
    _edit(client, world, _plan(0))

    client.post(reverse("pathways:care_plan_validate", args=[world.patient.pk]), {"version": "1"})

    step.refresh_from_db()
    assert step.status == Step.Status.DONE
    assert step.transitions.get().to_status == "done"
    assert pathway.status == Pathway.Status.ACTIVE


def test_the_print_page_and_the_pdf_show_the_same_plan(client, world, gp):
    _edit(client, world, _plan(0, goal="<script>alert(1)</script>"))

    printed = client.get(reverse("pathways:care_plan_print", args=[world.patient.pk]))
    pdf = client.get(reverse("pathways:care_plan_pdf", args=[world.patient.pk]))

    page = printed.content.decode()
    assert printed.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert "Pesée quotidienne" in page
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert pdf["Content-Disposition"] == f'attachment; filename="ppcs-{world.patient.pk}-v1.pdf"'
    assert AuditEvent.objects.filter(action="export", object_type="care_plan_pdf").count() == 1


def test_no_care_plan_yet_offers_to_write_one_and_has_no_document(client, world, gp):
    page = client.get(reverse("pathways:care_plan", args=[world.patient.pk])).content.decode()

    assert "Rédiger le PPCS" in page
    assert client.get(reverse("pathways:care_plan_pdf", args=[world.patient.pk])).status_code == 404


def test_a_past_version_is_shown_with_its_content(client, world, gp):
    _edit(client, world, _plan(0, goal="Premier objectif"))
    _edit(client, world, _plan(1, goal="Second objectif"))

    url = reverse("pathways:care_plan_version", args=[world.patient.pk, 1])
    page = client.get(url).content.decode()

    assert "Premier objectif" in page and "Second objectif" not in page
    assert "version antérieure" in page
    assert (
        client.get(reverse("pathways:care_plan_version", args=[world.patient.pk, 9])).status_code
        == 404
    )


def test_goals_not_achieved_are_logged_from_the_version_that_said_so(client, world, gp):
    _edit(client, world, _plan(0, goal="Reprendre la marche"))
    _edit(client, world, _plan(1, goal="Reprendre la marche", goal_status="not_achieved"))
    _edit(client, world, _plan(2, goal="Marche avec déambulateur"))

    page = client.get(reverse("pathways:care_plan", args=[world.patient.pk])).content.decode()

    logged = re.findall(r'data-testid="not-achieved">([^<]+)', page)
    assert [entry.strip() for entry in logged] == ["Reprendre la marche"]
    assert "version 2 du" in page


def test_the_page_costs_the_same_queries_for_2_or_6_versions(
    client, world, gp, django_assert_num_queries
):
    for base in range(2):
        _edit(client, world, _plan(base))
    url = reverse("pathways:care_plan", args=[world.patient.pk])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    queries = len(few.captured_queries)  # read now: each request empties the query log
    for base in range(2, 6):
        _edit(client, world, _plan(base))

    with django_assert_num_queries(queries):
        assert client.get(url).content.decode().count('data-testid="version"') == 6
