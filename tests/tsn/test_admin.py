"""The admin site: every model reachable, the append-only tables read-only, identity rules kept."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from pathways.models import Alert, Pathway, PathwayTemplate, Step, StepTemplate
from patients.models import Caregiver, CareTeamMember, ConsentRecord, Patient, TimelineEvent
from professionals.models import PractitionerRole, Professional, SupportService
from tests.conftest import valid_nir
from tsn.models import AuditEvent, Territory, User


@pytest.fixture
def admin_user(make_user) -> User:
    return make_user(role=User.Role.ADMINISTRATOR, is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def one_of_each(make_professional, make_patient, organization, admin_user) -> list:
    """One row of every model, so that lists, inlines and change forms have content."""
    territory = Territory.objects.create(
        name="Rhône-Est", ars_region="ARA", departement_codes=["69"]
    )
    gp = make_professional()
    role = PractitionerRole.objects.create(professional=gp, organization=organization)
    service = SupportService.objects.create(
        organization=organization, name="DAC", category=SupportService.Category.COORDINATION
    )
    service.members.add(make_professional(Professional.Profession.COORDINATOR))
    patient = make_patient(gp=gp)
    CareTeamMember.objects.create(patient=patient, professional=gp, role="gp")
    Caregiver.objects.create(
        patient=patient, last_name="Roux", first_name="Paul", relationship="fils"
    )
    ConsentRecord.objects.create(patient=patient, kind=ConsentRecord.Kind.INFORMATION_GIVEN)
    event = TimelineEvent.objects.create(
        patient=patient, occurred_at=timezone.now(), kind=TimelineEvent.Kind.NOTE, title="Appel"
    )
    template = PathwayTemplate.objects.create(code="ic", name="Insuffisance cardiaque")
    step_template = StepTemplate.objects.create(
        template=template, order=1, name="Visite", responsible_profession="nurse", deadline_days=7
    )
    pathway = Pathway.objects.create(patient=patient, template=template, referent=gp)
    Step.objects.create(pathway=pathway, template_step=step_template, due_on=timezone.localdate())
    alert = Alert.objects.create(
        patient=patient, kind=Alert.Kind.STEP_OVERDUE, message="Retard", dedupe_key="k1"
    )
    audit = AuditEvent.objects.create(
        actor=admin_user,
        action=AuditEvent.Action.READ,
        object_type="patient",
        patient_id=patient.pk,
    )
    return [
        territory,
        gp,
        role.organization,
        service,
        patient,
        event,
        template,
        pathway,
        alert,
        audit,
    ]


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_registered_model_has_a_working_changelist_and_search(admin_client, one_of_each):
    for model, model_admin in admin.site._registry.items():
        url = admin_url(model, "changelist")
        assert admin_client.get(url).status_code == 200, url
        if model_admin.search_fields:
            for term in ("dupont", "12"):
                response = admin_client.get(url, {"q": term})
                assert response.status_code == 200, (url, term)


def test_every_add_page_opens_where_adding_is_allowed(admin_client, admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    addable = []
    for model, model_admin in admin.site._registry.items():
        if model_admin.has_add_permission(request):
            addable.append(model)
            assert admin_client.get(admin_url(model, "add")).status_code == 200, model
    assert TimelineEvent in addable
    assert AuditEvent not in addable


def test_every_object_page_opens(admin_client, one_of_each):
    for obj in one_of_each:
        url = admin_url(type(obj), "change", obj.pk)
        assert admin_client.get(url).status_code == 200, url


def test_user_added_with_email_role_and_password(admin_client):
    response = admin_client.post(
        admin_url(User, "add"),
        {
            "email": "Claire.Martin@Exemple.FR",
            "first_name": "Claire",
            "last_name": "Martin",
            "role": User.Role.COORDINATOR,
            "usable_password": "true",
            "password1": "un-mot-de-passe-solide",
            "password2": "un-mot-de-passe-solide",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="claire.martin@exemple.fr")
    assert user.role == User.Role.COORDINATOR
    assert user.check_password("un-mot-de-passe-solide")


def test_user_cannot_be_added_twice_whatever_the_case(admin_client, make_user):
    make_user(email="claire.martin@exemple.fr")
    response = admin_client.post(
        admin_url(User, "add"),
        {
            "email": "CLAIRE.MARTIN@exemple.fr",
            "role": User.Role.COORDINATOR,
            "usable_password": "false",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"]


@pytest.mark.parametrize("model", [AuditEvent, TimelineEvent])
def test_append_only_tables_cannot_be_changed_or_deleted(admin_client, one_of_each, model):
    obj = next(o for o in one_of_each if isinstance(o, model))
    change_url = admin_url(model, "change", obj.pk)
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # read-only view
    assert admin_client.post(change_url, {}).status_code == 403
    assert admin_client.get(admin_url(model, "delete", obj.pk)).status_code == 403
    response = admin_client.post(
        admin_url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert model.objects.filter(pk=obj.pk).exists()
    assert response.status_code in (200, 302)


def test_timeline_event_is_added_through_the_admin(admin_client, make_patient):
    patient = make_patient()
    response = admin_client.post(
        admin_url(TimelineEvent, "add"),
        {
            "patient": patient.pk,
            "occurred_at_0": "2026-03-02",
            "occurred_at_1": "10:30",
            "kind": TimelineEvent.Kind.CONSULTATION,
            "title": "Consultation de suivi",
            "body": "",
            "source": TimelineEvent.Source.MANUAL,
        },
    )
    assert response.status_code == 302
    event = TimelineEvent.objects.get()
    assert event.title == "Consultation de suivi"
    audit = AuditEvent.objects.get(action=AuditEvent.Action.CREATE)
    assert (audit.object_type, audit.patient_id) == ("timeline_event", patient.pk)


# --- Patient identity ---------------------------------------------------------------------------


def form_data(form) -> dict:
    """What a browser would post back for ``form`` as displayed."""
    data = {}
    for field in form:
        value = field.value()
        if value is None or value is False:
            continue
        data[field.html_name] = "on" if value is True else value
    return data


def change_form_data(client, patient: Patient) -> dict:
    response = client.get(admin_url(Patient, "change", patient.pk))
    assert response.status_code == 200
    data = form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data.update(form_data(inline.formset.management_form))
    return data


@pytest.fixture
def qualified_patient(make_patient) -> Patient:
    return make_patient(nir=valid_nir(), identity_status=Patient.IdentityStatus.QUALIFIED)


def test_changing_a_strict_trait_drops_the_identity_to_provisional(admin_client, qualified_patient):
    data = change_form_data(admin_client, qualified_patient)
    data["birth_last_name"] = "DURAND"
    response = admin_client.post(admin_url(Patient, "change", qualified_patient.pk), data)
    assert response.status_code == 302
    qualified_patient.refresh_from_db()
    assert qualified_patient.birth_last_name == "DURAND"
    assert qualified_patient.identity_status == Patient.IdentityStatus.PROVISIONAL


def test_changing_another_field_keeps_the_identity_qualified(admin_client, qualified_patient):
    data = change_form_data(admin_client, qualified_patient)
    data["phone"] = "04 78 00 00 00"
    response = admin_client.post(admin_url(Patient, "change", qualified_patient.pk), data)
    assert response.status_code == 302
    qualified_patient.refresh_from_db()
    assert qualified_patient.phone == "04 78 00 00 00"
    assert qualified_patient.identity_status == Patient.IdentityStatus.QUALIFIED


def test_identity_status_cannot_skip_a_step(admin_client, make_patient):
    patient = make_patient(nir=valid_nir())
    data = change_form_data(admin_client, patient)
    data["identity_status"] = Patient.IdentityStatus.QUALIFIED
    response = admin_client.post(admin_url(Patient, "change", patient.pk), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["identity_status"]
    patient.refresh_from_db()
    assert patient.identity_status == Patient.IdentityStatus.PROVISIONAL

    data["identity_status"] = Patient.IdentityStatus.RETRIEVED
    assert admin_client.post(admin_url(Patient, "change", patient.pk), data).status_code == 302
    patient.refresh_from_db()
    assert patient.identity_status == Patient.IdentityStatus.RETRIEVED


def test_opening_and_saving_a_patient_in_the_admin_is_audited(
    admin_client, admin_user, qualified_patient
):
    data = change_form_data(admin_client, qualified_patient)
    admin_client.post(admin_url(Patient, "change", qualified_patient.pk), data)
    events = AuditEvent.objects.order_by("pk")
    assert [(e.action, e.patient_id, e.actor) for e in events] == [
        (AuditEvent.Action.READ, qualified_patient.pk, admin_user),
        (AuditEvent.Action.UPDATE, qualified_patient.pk, admin_user),
    ]


def test_audit_trail_is_filtered_by_actor_role(admin_client, make_user):
    for role in (User.Role.COORDINATOR, User.Role.PATIENT, User.Role.PATIENT):
        AuditEvent.objects.create(
            actor=make_user(role=role),
            actor_role=role,
            action=AuditEvent.Action.READ,
            object_type="patient",
            patient_id=1,
        )
    url = admin_url(AuditEvent, "changelist")
    assert admin_client.get(url, {"actor_role": "patient"}).context["cl"].result_count == 2
    assert admin_client.get(url, {"actor_role": "coordinator"}).context["cl"].result_count == 1


# --- Bad input -----------------------------------------------------------------------------


def admin_change_data(client, obj) -> dict:
    response = client.get(admin_url(type(obj), "change", obj.pk))
    assert response.status_code == 200
    data = form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        data.update(form_data(inline.formset.management_form))
    return data


@pytest.mark.parametrize(
    ("target", "field", "value", "message"),
    [
        ("patient", "nir", "285056912304500", "NIR invalide"),
        ("patient", "postcode", "6900", "Code postal invalide"),
        ("professional", "rpps", "10000000001", "Numéro RPPS invalide"),
        ("organization", "finess", "690781811", "Numéro FINESS invalide"),
        ("organization", "postcode", "99000", "Code postal invalide"),
    ],
)
def test_invalid_identifier_gets_a_french_message_and_nothing_is_saved(
    admin_client, make_patient, make_professional, organization, target, field, value, message
):
    obj = {
        "patient": lambda: make_patient(),
        "professional": lambda: make_professional(),
        "organization": lambda: organization,
    }[target]()
    data = admin_change_data(admin_client, obj)
    good = admin_client.post(admin_url(type(obj), "change", obj.pk), data)
    assert good.status_code == 302  # the form as shown is valid: only the bad value differs

    before = getattr(type(obj).objects.get(pk=obj.pk), field)
    data[field] = value
    response = admin_client.post(admin_url(type(obj), "change", obj.pk), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    assert getattr(type(obj).objects.get(pk=obj.pk), field) == before
