"""The coordinator's worklist, bulk alert actions, saved filters, caseload list and
data-quality panel (pathways/worklist.py, pathways/views/worklist.py)."""

import datetime
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.models import (
    Alert,
    CarePlan,
    Pathway,
    PathwayTemplate,
    SavedFilter,
    Step,
    StepTemplate,
)
from patients.models import ConsentRecord
from tsn.models import AuditEvent

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)
ITEM = re.compile(r'data-testid="work-item" data-kind="(\w+)"')


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def pathway(world) -> Pathway:
    return world.patient.pathways.get()


@pytest.fixture
def add_step(pathway):
    orders = iter(range(1, 100))

    def add(due_on, *, status="planned", on=None, name=None) -> Step:
        target = on or pathway
        order = next(orders)
        template = StepTemplate.objects.create(
            template=target.template,
            order=order,
            name=name or f"Étape {order}",
            responsible_profession="nurse",
            deadline_days=1,
        )
        scheduled = timezone.now() if status == "scheduled" else None
        done = timezone.now() if status == "done" else None
        return Step.objects.create(
            pathway=target,
            template_step=template,
            due_on=due_on,
            status=status,
            scheduled_at=scheduled,
            done_at=done,
        )

    return add


@pytest.fixture
def add_alert(world):
    keys = iter(range(1, 1000))

    def add(*, severity=Alert.Severity.WARNING, status="open", patient=None, **fields) -> Alert:
        return Alert.objects.create(
            patient=patient or world.patient,
            kind=Alert.Kind.NO_CONTACT,
            severity=severity,
            message=fields.pop("message", "Pas de contact depuis 30 jours"),
            status=status,
            dedupe_key=f"test:{next(keys)}",
            **fields,
        )

    return add


@pytest.fixture
def coordinator(client, world):
    user = world.users["coordinator_following"]
    client.force_login(user)
    return user


def _titles(page: str) -> list[str]:
    return [
        html.unescape(t) for t in re.findall(r'data-worklist-open href="[^"]+">([^<]+)</a>', page)
    ]


def _page(client, **params) -> str:
    response = client.get(reverse("pathways:worklist"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_worklist_lists_open_alerts_and_due_steps_most_severe_first(
    client, world, coordinator, pathway, add_step, add_alert, make_patient
):
    very_late = add_step(days(-40), name="Bilan très en retard")
    late = add_step(days(-2), name="Visite en retard")
    soon = add_step(days(3), name="Consultation bientôt")
    add_step(days(30), name="Étape lointaine")
    add_step(days(-5), status="done", name="Étape faite")
    urgent = add_alert(severity=Alert.Severity.URGENT, message="Sortie d'hospitalisation")
    add_alert(status="resolved", message="Alerte résolue")
    other = make_patient()
    add_alert(patient=other, message="Alerte d'un autre patient")

    page = _page(client)

    titles = _titles(page)
    # Urgent first (the very late step is older than the alert of today), then the rest.
    assert titles == [
        very_late.template_step.name,
        urgent.message,
        late.template_step.name,
        soon.template_step.name,
    ]
    assert "Étape lointaine" not in page
    assert "Étape faite" not in page
    assert "Alerte résolue" not in page
    assert "Alerte d&#x27;un autre patient" not in page
    assert page.count('data-testid="overdue"') == 2


def test_items_are_sorted_by_severity_then_due_date(
    client, world, coordinator, add_step, add_alert
):
    info = add_step(days(5), name="Info")
    warning_older = add_alert(
        severity=Alert.Severity.WARNING,
        due_at=timezone.now() - datetime.timedelta(days=9),
        message="Avertissement ancien",
    )
    warning_step = add_step(days(-3), name="Avertissement étape")
    urgent = add_alert(severity=Alert.Severity.URGENT, message="Urgent")

    page = _page(client)

    titles = _titles(page)
    assert titles == [
        urgent.message,
        warning_older.message,
        warning_step.template_step.name,
        info.template_step.name,
    ]


def test_filters_narrow_the_list_and_a_bad_value_is_ignored(
    client, world, coordinator, add_step, add_alert
):
    add_step(days(-3), name="En retard")
    add_step(days(3), name="Bientôt")
    add_alert(severity=Alert.Severity.URGENT, message="Urgente")

    assert ITEM.findall(_page(client, kind="alert")) == ["alert"]
    assert ITEM.findall(_page(client, kind="step")) == ["step", "step"]
    overdue = _page(client, overdue="on", kind="step")
    assert "En retard" in overdue and "Bientôt" not in overdue
    assert len(ITEM.findall(_page(client, severity="3"))) == 1
    assert len(ITEM.findall(_page(client, severity="nope", kind="everything"))) == 3


def test_the_pathway_and_overdue_filters_apply_to_alerts_and_steps_alike(
    client, world, coordinator, pathway, add_step, add_alert
):
    diabetes = Pathway.objects.create(
        patient=world.patient,
        template=PathwayTemplate.objects.create(code="diabete", name="Diabète de type 2"),
        status=Pathway.Status.ACTIVE,
        support_service=pathway.support_service,
        referent=coordinator.professional,
    )
    add_step(days(-3), name="Visite IC en retard")
    add_step(days(-3), name="Bilan diabète en retard", on=diabetes)
    add_step(days(2), name="Bilan diabète bientôt", on=diabetes)
    add_alert(pathway=pathway, message="Alerte IC")
    add_alert(pathway=diabetes, message="Alerte diabète d'hier", due_at=timezone.now() - DAY)
    add_alert(pathway=diabetes, message="Alerte diabète à venir", due_at=timezone.now() + DAY)

    assert set(_titles(_page(client, template="diabete"))) == {
        "Bilan diabète en retard",
        "Bilan diabète bientôt",
        "Alerte diabète d'hier",
        "Alerte diabète à venir",
    }
    assert set(_titles(_page(client, template="diabete", overdue="on"))) == {
        "Bilan diabète en retard",
        "Alerte diabète d'hier",
    }
    assert _titles(_page(client, template="ic", kind="alert")) == ["Alerte IC"]


def test_a_patient_who_objected_to_the_coordinator_leaves_their_worklist(
    client, world, coordinator, add_step, add_alert
):
    add_step(days(-3))
    add_alert()
    ConsentRecord.objects.create(
        patient=world.patient,
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=coordinator.professional,
    )

    assert ITEM.findall(_page(client)) == []


def test_suspended_pathways_steps_and_other_referents_caseloads_are_not_listed(
    client, world, coordinator, pathway, add_step
):
    add_step(days(-3), name="Étape d'un parcours suspendu")
    Pathway.objects.filter(pk=pathway.pk).update(status="suspended")

    assert ITEM.findall(_page(client)) == []


def test_the_worklist_is_for_clinical_users(client, world):
    client.force_login(world.users["ars_analyst"])
    assert client.get(reverse("pathways:worklist")).status_code == 404
    client.force_login(world.users["the_patient"])
    assert client.get(reverse("pathways:caseload")).status_code == 404


def test_the_worklist_costs_the_same_queries_for_3_or_15_items(
    client, world, coordinator, add_step, add_alert, django_assert_num_queries
):
    for n in range(2):
        add_step(days(-n))
    add_alert()
    with CaptureQueriesContext(connection) as few:
        _page(client)
    for n in range(6):
        add_step(days(-n - 3))
        add_alert()

    with django_assert_num_queries(len(few.captured_queries)):
        assert len(ITEM.findall(_page(client))) == 15


# --- Bulk alert actions -------------------------------------------------------------------


def test_acknowledging_and_resolving_several_alerts_at_once(
    client, world, coordinator, add_alert, make_patient
):
    first, second = add_alert(), add_alert()
    hidden = add_alert(patient=make_patient())
    url = reverse("pathways:alerts_update")

    response = client.post(
        url, {"alert": [first.pk, second.pk, hidden.pk], "action": "acknowledge"}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    hidden.refresh_from_db()
    assert (first.status, first.acknowledged_by) == ("acknowledged", coordinator)
    assert hidden.status == "open"  # a patient the coordinator may not see
    audited = AuditEvent.objects.filter(object_type="alert", actor=coordinator)
    assert sorted(audited.values_list("object_id", flat=True)) == sorted(
        [str(first.pk), str(second.pk)]
    )

    client.post(url, {"alert": [first.pk], "action": "resolve", "comment": "Patient rappelé"})
    first.refresh_from_db()
    assert (first.status, first.resolution_comment, first.resolved_by) == (
        "resolved",
        "Patient rappelé",
        coordinator,
    )
    again = client.post(url, {"alert": [first.pk], "action": "resolve"}, follow=True)
    assert re.search(r"\b0 alertes? résolues?", again.content.decode())


def test_resolving_an_open_alert_also_marks_it_acknowledged(client, world, coordinator, add_alert):
    alert = add_alert()

    client.post(reverse("pathways:alerts_update"), {"alert": [alert.pk], "action": "resolve"})

    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert alert.acknowledged_at == alert.resolved_at
    assert alert.acknowledged_by == coordinator


def test_an_action_without_alerts_says_so(client, world, coordinator):
    response = client.post(reverse("pathways:alerts_update"), {"action": "resolve"}, follow=True)
    assert "Cochez au moins une alerte" in response.content.decode()


# --- Saved filters ------------------------------------------------------------------------


def test_filters_are_saved_listed_and_deleted_by_their_owner_only(
    client, world, coordinator, make_professional
):
    client.post(
        reverse("pathways:saved_filter_add"),
        {"name": "Urgences", "query": "severity=3&kind=alert", "page": "worklist"},
    )
    saved = SavedFilter.objects.get(user=coordinator)
    page = _page(client)
    assert 'href="/coordination/?severity=3&amp;kind=alert">Urgences</a>' in page

    colleague = make_professional("coordinator")
    client.force_login(colleague.user)
    assert client.post(reverse("pathways:saved_filter_delete", args=[saved.pk])).status_code == 404
    client.force_login(coordinator)
    client.post(reverse("pathways:saved_filter_delete", args=[saved.pk]))
    assert not SavedFilter.objects.exists()


# --- Caseload and data quality --------------------------------------------------------------


def test_the_caseload_lists_my_pathways_with_counts_and_filters(
    client, world, coordinator, pathway, add_step, make_patient, make_professional
):
    colleague = make_professional("coordinator")
    pathway.support_service.members.add(colleague)
    orphan_patient = make_patient()
    Pathway.objects.create(
        patient=orphan_patient,
        template=pathway.template,
        status="proposed",
        support_service=pathway.support_service,
    )
    add_step(days(-2))
    url = reverse("pathways:caseload")

    mine = client.get(url).content.decode()
    everyone = client.get(url, {"referent": "all"}).content.decode()
    nobody = client.get(url, {"referent": "none"}).content.decode()
    overdue = client.get(url, {"referent": "all", "overdue": "on"}).content.decode()

    assert mine.count('data-testid="caseload-row"') == 1
    assert everyone.count('data-testid="caseload-row"') == 2
    assert str(orphan_patient) in nobody and str(world.patient) not in nobody
    assert overdue.count('data-testid="caseload-row"') == 1
    assert "Actif : 1" in everyone and "Proposé : 1" in everyone


def test_the_caseload_pages_by_keyset(client, world, coordinator, pathway, make_patient):
    for _ in range(51):
        Pathway.objects.create(
            patient=make_patient(),
            template=pathway.template,
            status="active",
            support_service=pathway.support_service,
            referent=coordinator.professional,
        )
    url = reverse("pathways:caseload")

    first = client.get(url).content.decode()
    next_link = re.search(r'href="\?([^"]+)">Suivants', first).group(1).replace("&amp;", "&")
    second = client.get(f"{url}?{next_link}").content.decode()

    assert first.count('data-testid="caseload-row"') == 50
    assert second.count('data-testid="caseload-row"') == 2
    assert "Suivants" not in second


def test_the_quality_panel_counts_and_links_to_the_files_behind_each_figure(
    client, world, coordinator, pathway, make_patient
):
    no_gp = make_patient()
    Pathway.objects.create(
        patient=no_gp,
        template=pathway.template,
        status="active",
        support_service=pathway.support_service,
    )
    CarePlan.objects.create(patient=world.patient, next_review_on=days(-1))

    page = client.get(reverse("pathways:quality")).content.decode()

    def figure(key: str) -> str:
        card = page.split(f'data-testid="quality-{key}"', 1)[1]
        return re.search(r'<p class="display-6 mb-0">(\d+)', card).group(1)

    assert figure("gp") == "1"
    assert figure("referent") == "1"
    assert figure("review") == "1"
    listing = client.get(reverse("pathways:caseload"), {"referent": "all", "qualite": "gp"})
    assert str(no_gp) in listing.content.decode()
    assert str(world.patient) not in listing.content.decode()


def test_the_caseload_filters_by_commune_name_or_code(client, world, coordinator, commune):
    url = reverse("pathways:caseload")
    world.patient.commune = commune
    world.patient.save(update_fields=["commune"])
    name = commune.name.upper()

    by_name = client.get(url, {"commune": name}).content.decode()
    by_code = client.get(url, {"commune": commune.insee_code}).content.decode()
    elsewhere = client.get(url, {"commune": "Nulle-Part"}).content.decode()

    assert by_name.count('data-testid="caseload-row"') == 1
    assert by_code.count('data-testid="caseload-row"') == 1
    assert elsewhere.count('data-testid="caseload-row"') == 0


def test_the_caseload_hides_a_patient_who_objected_and_each_list_is_traced(
    client, world, coordinator
):
    url = reverse("pathways:caseload")
    assert client.get(url).content.decode().count('data-testid="caseload-row"') == 1
    ConsentRecord.objects.create(
        patient=world.patient,
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=coordinator.professional,
    )

    page = client.get(url).content.decode()
    client.get(reverse("pathways:worklist"))

    assert str(world.patient) not in page
    traces = AuditEvent.objects.filter(actor=coordinator, object_type="patient_list")
    assert list(traces.order_by("pk").values_list("object_id", flat=True)) == ["1", "0", "0"]
