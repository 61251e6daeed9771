"""The portal of patients and caregivers: their record's home, the shared timeline and
documents, messages with the coordination, who accessed the record, objections."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from pathways.models import Step
from patients.models import Caregiver, ConsentRecord, Document, LiaisonMessage, TimelineEvent
from portal.services import NO_COORDINATION
from professionals.models import OrganizationToken, PractitionerRole
from tsn.models import AuditEvent


@pytest.fixture
def portal(world, objects):
    """The world's patient with shared and unshared events, a coming step, a care plan."""
    patient = world.patient
    now = timezone.now()
    TimelineEvent.objects.create(
        patient=patient,
        occurred_at=now - datetime.timedelta(days=2),
        kind="hospital_discharge",
        title="Sortie de cardiologie",
        shared_with_patient=True,
    )
    TimelineEvent.objects.create(
        patient=patient,
        occurred_at=now - datetime.timedelta(days=1),
        kind="note",
        title="Hypothèse diagnostique à confirmer",
    )
    step = Step.objects.get(pk=objects["step_pk"])
    step.status = Step.Status.SCHEDULED
    step.scheduled_at = now + datetime.timedelta(days=3)
    step.place = "Cabinet infirmier des Lilas"
    step.save()
    version = patient.care_plan.versions.get()
    version.goals = [{"text": "Marcher 20 minutes par jour", "target": "", "status": "in_progress"}]
    version.save()
    return world


def url(name: str, world, **kwargs) -> str:
    return reverse(f"portal:{name}", kwargs={"pk": world.patient.pk, **kwargs})


PAGES = ["home", "care_plan", "timeline", "documents", "conversation"]


@pytest.mark.parametrize("page", PAGES)
def test_the_patient_and_an_authorised_caregiver_open_every_page(client, portal, page):
    for persona in ("the_patient", "authorised_caregiver"):
        client.force_login(portal.users[persona])
        assert client.get(url(page, portal)).status_code == 200, persona


@pytest.mark.parametrize("page", [*PAGES, "access_log", "objections"])
@pytest.mark.parametrize(
    "persona", ["another_patient", "expired_caregiver", "team_member", "coordinator_following"]
)
def test_anybody_else_gets_not_found(client, portal, page, persona):
    client.force_login(portal.users[persona])
    assert client.get(url(page, portal)).status_code == 404


def test_the_records_list_leads_to_the_users_record(client, portal):
    client.force_login(portal.users["the_patient"])
    response = client.get(reverse("portal:records"))
    assert response.url == url("home", portal)


def test_a_caregiver_of_two_lists_both_records_and_the_listing_is_traced(client, portal):
    caregiver = portal.users["authorised_caregiver"]
    Caregiver.objects.create(
        patient=portal.other_patient,
        last_name="Roux",
        first_name="Paul",
        relationship="voisin",
        user=caregiver,
    )
    client.force_login(caregiver)
    response = client.get(reverse("portal:records"))
    listed = [record.pk for record in response.context["patients"]]
    assert sorted(listed) == sorted([portal.patient.pk, portal.other_patient.pk])
    assert AuditEvent.objects.filter(
        actor=caregiver, object_type="portal_records", object_id="2"
    ).exists()


def test_home_shows_the_team_the_coming_step_the_care_plan_and_shared_news(client, portal):
    client.force_login(portal.users["the_patient"])
    content = client.get(url("home", portal)).content.decode()
    gp = portal.patient.gp
    assert f"{gp.first_name} {gp.last_name}" in content
    assert "Insuffisance cardiaque" in content
    assert "Visite infirmière" in content
    assert "Cabinet infirmier des Lilas" in content
    assert "Marcher 20 minutes par jour" in content
    assert "Sortie de cardiologie" in content
    assert "Hypothèse diagnostique" not in content  # not shared with the patient
    # Traced like any access to the record.
    assert AuditEvent.objects.filter(
        actor=portal.users["the_patient"], patient_id=portal.patient.pk, action="read"
    ).exists()


def test_home_queries_do_not_grow_with_the_record(client, portal, django_assert_max_num_queries):
    client.force_login(portal.users["the_patient"])
    client.get(url("home", portal))
    with django_assert_max_num_queries(12) as first:
        client.get(url("home", portal))
    for day in range(10):
        TimelineEvent.objects.create(
            patient=portal.patient,
            occurred_at=timezone.now() - datetime.timedelta(days=10 + day),
            kind="consultation",
            title=f"Consultation {day}",
            shared_with_patient=True,
        )
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(url("home", portal))


def test_the_timeline_pages_through_the_shared_events_only(client, portal):
    for day in range(25):
        TimelineEvent.objects.create(
            patient=portal.patient,
            occurred_at=timezone.now() - datetime.timedelta(days=30 + day),
            kind="consultation",
            title=f"Consultation partagée {day:02d}",
            shared_with_patient=True,
        )
    client.force_login(portal.users["the_patient"])
    first = client.get(url("timeline", portal))
    second = client.get(url("timeline", portal), {"before": first.context["next_cursor"]})
    titles = [event.title for event in first.context["events"] + second.context["events"]]
    assert len(titles) == len(set(titles)) == 26  # 25 + the discharge, none twice
    assert second.context["next_cursor"] is None
    assert all(event.shared_with_patient for event in first.context["events"])


def test_documents_are_those_of_shared_events(client, portal, objects):
    unshared = Document.objects.get(pk=objects["document_pk"])
    event = TimelineEvent.objects.create(
        patient=portal.patient,
        occurred_at=timezone.now(),
        kind="document",
        title="Ordonnance de sortie",
        shared_with_patient=True,
    )
    shared = Document.objects.create(
        patient=portal.patient,
        event=event,
        file=unshared.file.name,
        original_name="ordonnance.pdf",
        content_type="application/pdf",
        size=9,
        uploaded_by=portal.users["team_member"],
    )
    client.force_login(portal.users["the_patient"])
    listed = client.get(url("documents", portal)).context["documents"]
    assert [document.pk for document in listed] == [shared.pk]


# --- Messages --------------------------------------------------------------------------------


def test_a_message_goes_to_the_referent_coordinator(client, portal):
    client.force_login(portal.users["authorised_caregiver"])
    response = client.post(url("conversation", portal), {"body": "Papa a mal dormi."})
    assert response.status_code == 302
    message = LiaisonMessage.objects.get(body="Papa a mal dormi.")
    assert list(message.mentions.all()) == [portal.users["coordinator_following"]]
    assert message.author == portal.users["authorised_caregiver"]
    # The coordinator sees it in the notebook, among their mentions.
    client.force_login(portal.users["coordinator_following"])
    notebook = client.get(reverse("patients:liaison", kwargs={"pk": portal.patient.pk}))
    assert "Papa a mal dormi." in notebook.content.decode()
    assert notebook.context["unread_mention_count"] == 1


def test_without_coordination_the_message_is_refused_in_french(client, portal):
    portal.patient.pathways.update(status="completed", ended_on=timezone.localdate())
    client.force_login(portal.users["the_patient"])
    response = client.post(url("conversation", portal), {"body": "Bonjour"})
    assert response.status_code == 200
    assert str(NO_COORDINATION) in response.content.decode()
    assert not LiaisonMessage.objects.filter(body="Bonjour").exists()


def test_the_portal_shows_the_messages_addressed_to_the_user_only(client, portal):
    gp = portal.users["team_member"]
    client.force_login(gp)
    form = client.get(reverse("patients:liaison", kwargs={"pk": portal.patient.pk}))
    choices = {user.pk for user in form.context["form"].fields["mentions"].queryset}
    assert portal.users["the_patient"].pk in choices  # the patient may be addressed
    assert portal.users["expired_caregiver"].pk not in choices
    client.post(
        reverse("patients:liaison", kwargs={"pk": portal.patient.pk}),
        {"body": "Rendez-vous confirmé jeudi.", "mentions": [portal.users["the_patient"].pk]},
    )
    client.post(
        reverse("patients:liaison", kwargs={"pk": portal.patient.pk}),
        {"body": "Entre soignants seulement."},
    )
    client.force_login(portal.users["the_patient"])
    content = client.get(url("conversation", portal)).content.decode()
    assert "Rendez-vous confirmé jeudi." in content
    assert "Entre soignants seulement." not in content


# --- Who accessed my record --------------------------------------------------------------------


def test_the_patient_sees_who_accessed_with_role_organisation_and_break_glass_reason(
    client, portal, organization
):
    gp = portal.users["team_member"]
    PractitionerRole.objects.create(professional=gp.professional, organization=organization)
    client.force_login(gp)
    client.get(reverse("patients:detail", kwargs={"pk": portal.patient.pk}))
    client.force_login(portal.users["break_glass_active"])
    client.get(reverse("patients:detail", kwargs={"pk": portal.patient.pk}))

    client.force_login(portal.users["the_patient"])
    response = client.get(url("access_log", portal))
    content = response.content.decode()
    assert str(gp) in content
    assert organization.name in content
    assert "Urgence de nuit, patient inconscient." in content

    pdf = client.get(url("access_log_pdf", portal))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Cache-Control"] == "no-store"
    text = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert organization.name in text
    assert "Urgence de nuit" in text
    assert AuditEvent.objects.filter(
        actor=portal.users["the_patient"], object_type="access_log_pdf", action="export"
    ).exists()


def test_an_access_by_an_organisations_software_names_that_organisation(
    client, portal, organization
):
    # A hospital's software reading the record with its organisation token (no person).
    token, _key = OrganizationToken.issue(organization=organization, name="DPI")
    AuditEvent.objects.create(
        actor=None,
        api_token=f"{OrganizationToken.AUDIT_KIND}:{token.pk}",
        patient_id=portal.patient.pk,
        object_type="timeline",
        action=AuditEvent.Action.READ,
        outcome=AuditEvent.Outcome.ALLOWED,
    )
    client.force_login(portal.users["the_patient"])
    assert organization.name in client.get(url("access_log", portal)).content.decode()


def test_a_caregiver_does_not_see_who_accessed(client, portal):
    client.force_login(portal.users["authorised_caregiver"])
    assert client.get(url("access_log", portal)).status_code == 403
    assert client.get(url("access_log_pdf", portal)).status_code == 403


# --- Objections --------------------------------------------------------------------------------


def test_an_objection_ends_the_professionals_access_until_withdrawn(client, portal):
    nurse = portal.users["read_only_member"]
    record = reverse("patients:detail", kwargs={"pk": portal.patient.pk})
    client.force_login(nurse)
    assert client.get(record).status_code == 200

    client.force_login(portal.users["the_patient"])
    response = client.post(url("objections", portal), {"professional": nurse.professional.pk})
    assert response.status_code == 302
    objection = ConsentRecord.objects.get(
        patient=portal.patient, professional=nurse.professional, withdrawn_at=None
    )
    assert objection.recorded_by == portal.users["the_patient"]
    client.force_login(nurse)
    assert client.get(record).status_code == 404

    client.force_login(portal.users["the_patient"])
    client.post(url("objection_withdraw", portal, objection_pk=objection.pk))
    client.force_login(nurse)
    assert client.get(record).status_code == 200


def test_only_the_patient_records_objections(client, portal):
    nurse = portal.users["read_only_member"]
    client.force_login(portal.users["authorised_caregiver"])
    response = client.post(url("objections", portal), {"professional": nurse.professional.pk})
    assert response.status_code == 403
    assert not ConsentRecord.objects.filter(professional=nurse.professional).exists()


def test_an_objection_names_a_member_of_the_team(client, portal):
    client.force_login(portal.users["the_patient"])
    outsider = portal.users["outsider"].professional
    response = client.post(url("objections", portal), {"professional": outsider.pk})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not ConsentRecord.objects.filter(professional=outsider).exists()


def test_an_event_the_gp_shares_reaches_the_portal(client, portal):
    client.force_login(portal.users["team_member"])
    post = reverse("patients:post_event", kwargs={"pk": portal.patient.pk})
    when = (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    for title, shared in (("Traitement adapté", "on"), ("Réflexion interne", "")):
        data = {"kind": "consultation", "title": title, "occurred_at": when}
        if shared:
            data["shared_with_patient"] = shared
        assert client.post(post, data).status_code == 302
    client.force_login(portal.users["the_patient"])
    content = client.get(url("timeline", portal)).content.decode()
    assert "Traitement adapté" in content
    assert "Réflexion interne" not in content
