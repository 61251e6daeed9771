"""The FHIR R4 read API (pathways/fhir/): every resource type read and searched, each
answer parsed by the official R4B models; FR Core identifiers; search parameters,
paging, errors as OperationOutcome, throttling. Access and audit: test_fhir_access.py."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from pathways.models import CarePlan, Pathway, Step, StepTemplate
from pathways.services.care_plan import CarePlanContent, save_care_plan, validate_care_plan
from patients.models import (
    CareTeamMember,
    LiaisonMessage,
    Observation,
    Patient,
    TimelineEvent,
)
from professionals.models import (
    Organization,
    PractitionerRole,
    Professional,
    SupportService,
)
from tests.conftest import valid_nir
from tsn.identifiers import with_luhn_key
from tsn.models import ApiToken

FHIR_JSON = "application/fhir+json"
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
RELIABILITY = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"
SIRET = "73282932000074"
PARIS = datetime.timezone(datetime.timedelta(hours=1))


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def token_of(user) -> dict:
    """A new personal token of `user`, as request headers."""
    return bearer(ApiToken.issue(user=user, name="Logiciel de test")[1])


def parsed(body: dict):
    """The answer parsed by the official R4B model of its type (raises if invalid)."""
    return get_fhir_model_class(body["resourceType"]).model_validate(body)


def fhir_get(client, path: str, headers: dict, params: dict | None = None, **extra):
    response = client.get(f"/fhir/{path}", params or {}, **headers, **extra)
    assert response["Content-Type"].startswith(FHIR_JSON), response.content
    parsed(response.json())
    return response


def entries(response) -> list[dict]:
    return [entry["resource"] for entry in response.json().get("entry", [])]


def issue(response) -> dict:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    [first] = body["issue"]
    return first


@dataclass
class Record:
    """A patient's record with a row of every kind the FHIR API serves."""

    patient: Patient
    gp: Professional
    coordinator: Professional
    hospital: Organization
    practice: Organization
    role: PractitionerRole
    care_plan: CarePlan
    steps: list[Step]
    encounters: dict[str, TimelineEvent]
    note: TimelineEvent
    message: LiaisonMessage
    observations: dict[str, Observation]


def measure(patient: Patient, kind: str, value: str, unit: str, at: datetime.datetime, **more):
    return Observation.objects.create(
        patient=patient,
        kind=kind,
        value=Decimal(value),
        unit=unit,
        sent_value=Decimal(value),
        sent_unit=unit,
        measured_at=at,
        **more,
    )


@pytest.fixture(name="record")
def record_fixture(world, commune) -> Record:
    patient = world.patient
    gp = patient.gp
    gp.last_name, gp.first_name = "Lefèvre", "Hélène"
    gp.profession_code, gp.specialty, gp.specialty_code = "10", "Médecine générale", "SM54"
    gp.phone, gp.mssante_address = "04 78 00 00 01", "h.lefevre@medecin.mssante.fr"
    gp.save()
    coordinator = world.users["coordinator_following"].professional
    patient.used_last_name, patient.address, patient.postcode = "MARTIN", "3 rue Garibaldi", "69003"
    patient.phone, patient.birth_place_insee = "06 12 34 56 78", "69123"
    patient.save()

    hospital = Organization.objects.create(
        kind=Organization.Kind.HOSPITAL,
        name="Centre hospitalier de l'Est lyonnais",
        finess=with_luhn_key("69000000"),
        siret=SIRET,
        address="1 rue de l'Hôpital",
        postcode="69003",
        commune=commune,
        category_code="355",
        category="Centre Hospitalier (C.H.)",
    )
    practice = Organization.objects.create(
        kind=Organization.Kind.GP_PRACTICE, name="Cabinet des Lilas", commune=commune
    )
    role = PractitionerRole.objects.create(
        professional=gp, organization=practice, function="Médecin généraliste"
    )

    pathway = Pathway.objects.get(patient=patient)
    now = timezone.now()
    steps = []
    for order, status in enumerate(["planned", "scheduled", "done", "skipped"], start=1):
        template_step = StepTemplate.objects.create(
            template=pathway.template,
            order=order,
            name=f"Étape {order}",
            responsible_profession="nurse",
            deadline_days=order * 7,
        )
        steps.append(
            Step.objects.create(
                pathway=pathway,
                template_step=template_step,
                due_on=datetime.date(2026, 11, order * 5),
                assignee=gp,
                status=status,
                scheduled_at=now if status == "scheduled" else None,
                done_at=now if status == "done" else None,
                outcome="Patient hospitalisé." if status == "skipped" else "",
            )
        )

    request = RequestFactory().post("/")
    request.user = world.users["team_member"]
    content = CarePlanContent(
        referent=coordinator,
        next_review_on=datetime.date(2027, 3, 1),
        general_information="Vit seul, au 2e étage sans ascenseur.",
        needs={"health": "Insuffisance cardiaque.", "autonomy": "Aide pour la toilette."},
        goals=[
            {"text": "Stabiliser le poids", "target": "± 1 kg", "status": "in_progress"},
            {"text": "Marcher chaque jour", "status": "planned"},
            {"text": "Comprendre son traitement", "status": "achieved", "comment": "Fait."},
            {"text": "Reprendre la natation", "status": "not_achieved"},
        ],
        actions=[
            {
                "text": "Pesée quotidienne",
                "kind": "care",
                "owner": gp,
                "due_on": datetime.date(2027, 1, 15),
            },
            {"text": "Portage de repas", "kind": "support"},
        ],
        preferences="Rester à domicile.",
    )
    save_care_plan(request=request, patient=patient, base_version=0, content=content)

    day = datetime.datetime(2026, 10, 1, 9, 0, tzinfo=PARIS)
    encounters = {}
    for offset, kind in enumerate(
        ["hospital_admission", "hospital_discharge", "emergency_visit", "consultation",
         "home_visit"]
    ):  # fmt: skip
        encounters[kind] = TimelineEvent.objects.create(
            patient=patient,
            occurred_at=day + datetime.timedelta(days=offset),
            kind=kind,
            title=f"{kind} au CH",
            author=gp if kind in ("consultation", "home_visit") else None,
            organization=hospital if kind.startswith("hospital") else None,
        )
    wrong = TimelineEvent.objects.create(
        patient=patient, occurred_at=day, kind="consultation", title="Consultation (erreur)"
    )
    TimelineEvent.objects.create(
        patient=patient,
        occurred_at=day,
        kind="entered_in_error",
        title="Saisie erronée",
        corrects=wrong,
    )
    encounters["entered_in_error"] = wrong
    note = TimelineEvent.objects.create(patient=patient, occurred_at=day, kind="note", title="Note")

    message = LiaisonMessage.objects.create(
        patient=patient, author=world.users["team_member"], body="Poids en hausse, à surveiller."
    )
    message.mentions.add(world.users["coordinator_following"])

    at = datetime.datetime(2026, 11, 20, 8, 30, tzinfo=PARIS)
    observations = {
        "weight": measure(patient, "weight", "72.40", "kg", at, device="Balance Withings"),
        "systolic_bp": measure(patient, "systolic_bp", "135", "mm[Hg]", at),
        "diastolic_bp": measure(patient, "diastolic_bp", "85", "mm[Hg]", at),
        "heart_rate": measure(patient, "heart_rate", "72", "/min", at, organization=hospital),
        "spo2": measure(patient, "spo2", "96", "%", at),
        "glucose": measure(patient, "glucose", "5.80", "mmol/L", at),
    }
    measure(world.other_patient, "weight", "60", "kg", at)
    return Record(
        patient=patient,
        gp=gp,
        coordinator=coordinator,
        hospital=hospital,
        practice=practice,
        role=role,
        care_plan=CarePlan.objects.get(patient=patient),
        steps=steps,
        encounters=encounters,
        note=note,
        message=message,
        observations=observations,
    )


@pytest.fixture
def gp_headers(world) -> dict:
    return token_of(world.users["team_member"])


# --- Every resource type, read and searched -------------------------------------------------


def _searches(record: Record) -> dict[str, tuple[str, dict]]:
    """A search that finds rows of each resource type, and the persona who may run it."""
    patient = {"patient": str(record.patient.pk)}
    return {
        "Patient": ("team_member", {"family": "dupont"}),
        "Practitioner": ("team_member", {"name": "lefevre"}),
        "PractitionerRole": ("team_member", {"practitioner": f"Practitioner/{record.gp.pk}"}),
        "Organization": ("team_member", {"name": "est lyonnais"}),
        "HealthcareService": ("team_member", {"name": "portage"}),
        "CareTeam": ("team_member", patient),
        "CarePlan": ("team_member", {"subject": f"Patient/{record.patient.pk}"}),
        "Goal": ("team_member", patient),
        "Task": ("team_member", patient),
        "Encounter": ("team_member", patient),
        "Communication": ("team_member", patient),
        "Observation": ("team_member", patient),
        "AuditEvent": ("coordinator_following", patient),
    }


@pytest.mark.parametrize(
    "resource_type",
    [
        "Patient", "Practitioner", "PractitionerRole", "Organization", "HealthcareService",
        "CareTeam", "CarePlan", "Goal", "Task", "Encounter", "Communication", "Observation",
        "AuditEvent",
    ],
)  # fmt: skip
def test_every_resource_type_is_searched_then_read_as_valid_fhir(
    client, world, record, resource_type
):
    if resource_type == "AuditEvent":  # a trail to read: the GP's read of the patient
        client.get(f"/fhir/Patient/{record.patient.pk}", **token_of(world.users["team_member"]))
    persona, params = _searches(record)[resource_type]
    headers = token_of(world.users[persona])

    found = fhir_get(client, resource_type, headers, params)

    assert found.status_code == 200
    bundle = found.json()
    assert bundle["type"] == "searchset"
    assert bundle["link"][0]["relation"] == "self"
    resources = entries(found)
    assert resources and {r["resourceType"] for r in resources} == {resource_type}
    first = resources[0]
    assert bundle["entry"][0]["fullUrl"].endswith(f"/fhir/{resource_type}/{first['id']}")
    read = fhir_get(client, f"{resource_type}/{first['id']}", headers)
    assert read.status_code == 200
    assert read.json() == first


def test_the_capability_statement_is_public_and_lists_what_is_served(client):
    response = fhir_get(client, "metadata", {})

    statement = response.json()
    assert statement["fhirVersion"] == "4.0.1"
    served = {resource["type"]: resource for resource in statement["rest"][0]["resource"]}
    assert set(served) == {
        "Patient", "Practitioner", "PractitionerRole", "Organization", "HealthcareService",
        "CareTeam", "CarePlan", "Goal", "Task", "Encounter", "Communication", "Observation",
        "AuditEvent",
    }  # fmt: skip
    for resource in served.values():
        assert [i["code"] for i in resource["interaction"]] == ["read", "search-type"]
    assert served["Patient"]["operation"][0]["name"] == "everything"
    params = {p["name"]: p["type"] for p in served["Observation"]["searchParam"]}
    assert params == {
        "_id": "token", "patient": "reference", "subject": "reference", "date": "date",
        "code": "token", "category": "token",
    }  # fmt: skip
    patient_params = {p["name"] for p in served["Patient"]["searchParam"]}
    assert {"identifier", "name", "family", "given", "birthdate", "_id"} <= patient_params


# --- Patient: names, FR Core identity --------------------------------------------------------


def test_the_patient_carries_birth_and_used_names_gender_address_and_gp(client, record, gp_headers):
    patient = fhir_get(client, f"Patient/{record.patient.pk}", gp_headers).json()

    official, usual = patient["name"]
    assert official["use"] == "official"
    assert official["family"] == record.patient.birth_last_name
    assert official["given"] == ["Marie", "Louise"]
    assert official["extension"][0]["valueString"] == "Marie Louise"
    assert (usual["use"], usual["family"], usual["given"]) == ("usual", "MARTIN", ["Marie"])
    assert patient["gender"] == "female"
    assert patient["birthDate"] == "1945-05-08"
    assert patient["address"][0]["city"] == "Lyon"
    assert patient["address"][0]["postalCode"] == "69003"
    assert patient["generalPractitioner"] == [
        {"reference": f"Practitioner/{record.gp.pk}", "display": "Hélène Lefèvre"}
    ]
    assert patient["active"] is True


def test_the_ins_is_given_only_for_a_qualified_identity_with_its_reliability(
    client, record, gp_headers
):
    patient = record.patient
    patient.nir, patient.identity_status = valid_nir(), Patient.IdentityStatus.VALIDATED
    patient.save(update_fields=["nir", "identity_status"])
    by_ins = {"identifier": f"{INS_SYSTEM}|{patient.nir}"}

    validated = fhir_get(client, f"Patient/{patient.pk}", gp_headers).json()
    assert "identifier" not in validated
    [reliability] = [e for e in validated["extension"] if e["url"] == RELIABILITY]
    assert reliability["extension"][0]["url"] == "identityStatus"
    assert reliability["extension"][0]["valueCoding"]["code"] == "VALI"
    assert entries(fhir_get(client, "Patient", gp_headers, by_ins)) == []

    patient.identity_status = Patient.IdentityStatus.QUALIFIED
    patient.save(update_fields=["identity_status"])
    qualified = fhir_get(client, f"Patient/{patient.pk}", gp_headers).json()
    [ins] = qualified["identifier"]
    assert (ins["system"], ins["value"], ins["use"]) == (INS_SYSTEM, patient.nir, "official")
    assert ins["type"]["coding"][0]["code"] == "INS-NIR"
    [reliability] = [e for e in qualified["extension"] if e["url"] == RELIABILITY]
    status = reliability["extension"][0]["valueCoding"]
    assert status == {
        "system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status",
        "code": "QUAL",
        "display": "Identité qualifiée",
    }
    assert [p["id"] for p in entries(fhir_get(client, "Patient", gp_headers, by_ins))] == [
        str(patient.pk)
    ]


def test_a_merged_duplicate_is_linked_both_ways_and_its_timeline_joins_the_record(
    client, world, record, make_patient, gp_headers
):
    duplicate = make_patient(merged_into=record.patient)
    CareTeamMember.objects.create(patient=duplicate, professional=record.gp, role="gp")
    visit = TimelineEvent.objects.create(
        patient=duplicate, occurred_at=timezone.now(), kind="home_visit", title="Visite"
    )

    kept = fhir_get(client, f"Patient/{record.patient.pk}", gp_headers).json()
    merged = fhir_get(client, f"Patient/{duplicate.pk}", gp_headers).json()
    found = entries(fhir_get(client, "Encounter", gp_headers, {"patient": record.patient.pk}))

    assert kept["link"] == [{"other": {"reference": f"Patient/{duplicate.pk}"}, "type": "replaces"}]
    assert merged["link"] == [
        {"other": {"reference": f"Patient/{record.patient.pk}"}, "type": "replaced-by"}
    ]
    assert merged["active"] is False
    assert str(visit.pk) in {e["id"] for e in found}


def test_patients_are_searched_by_name_given_birthdate_and_id(client, world, record, gp_headers):
    patient = record.patient

    def ids(**params) -> list[str]:
        return [p["id"] for p in entries(fhir_get(client, "Patient", gp_headers, params))]

    assert ids(name="marti") == [str(patient.pk)]  # the used name, from its start
    assert ids(given="louise") == [str(patient.pk)]  # a word of the first names
    assert ids(given="ouise") == []
    assert ids(birthdate="1945-05-08") == [str(patient.pk)]
    assert ids(birthdate="1945") == [str(patient.pk)]
    assert ids(birthdate="gt1945-05-08") == []
    assert ids(_id=f"{world.other_patient.pk},{patient.pk}") == [str(patient.pk)]  # visible only
    assert ids(**{"family:exact": patient.birth_last_name}) == [str(patient.pk)]


# --- Directory: FR Core identifiers ---------------------------------------------------------


def test_a_practitioner_has_rpps_and_idnps_and_is_found_by_either(client, record, gp_headers):
    gp = record.gp
    practitioner = fhir_get(client, f"Practitioner/{gp.pk}", gp_headers).json()

    rpps, idnps = practitioner["identifier"]
    assert (rpps["system"], rpps["value"]) == (RPPS_SYSTEM, gp.rpps)
    assert rpps["type"]["coding"][0]["code"] == "RPPS"
    assert (idnps["system"], idnps["value"]) == (IDNPS_SYSTEM, f"8{gp.rpps}")
    assert idnps["type"]["coding"][0]["code"] == "IDNPS"
    assert practitioner["name"] == [{"use": "official", "family": "Lefèvre", "given": ["Hélène"]}]
    codes = [q["code"].get("coding", [{}])[0].get("code") for q in practitioner["qualification"]]
    assert codes == ["10", "SM54"]

    def ids(identifier: str) -> list[str]:
        params = {"identifier": identifier}
        return [p["id"] for p in entries(fhir_get(client, "Practitioner", gp_headers, params))]

    assert ids(f"{RPPS_SYSTEM}|{gp.rpps}") == [str(gp.pk)]
    assert ids(f"{IDNPS_SYSTEM}|8{gp.rpps}") == [str(gp.pk)]
    assert ids(f"8{gp.rpps}") == [str(gp.pk)]
    assert ids(f"{IDNPS_SYSTEM}|{gp.rpps}") == []
    assert ids(f"http://example.org/other|{gp.rpps}") == []


def test_an_organization_has_finess_and_siret_and_is_found_by_them(client, record, gp_headers):
    hospital = record.hospital
    organization = fhir_get(client, f"Organization/{hospital.pk}", gp_headers).json()

    finess, siret = organization["identifier"]
    assert (finess["system"], finess["value"]) == (FINESS_SYSTEM, hospital.finess)
    assert finess["type"]["coding"][0]["code"] == "FINEG"
    assert (siret["system"], siret["value"]) == ("https://sirene.fr", SIRET)
    assert organization["name"] == hospital.name
    assert organization["active"] is True

    def ids(identifier: str) -> list[str]:
        params = {"identifier": identifier}
        return [o["id"] for o in entries(fhir_get(client, "Organization", gp_headers, params))]

    assert ids(f"{FINESS_SYSTEM}|{hospital.finess}") == [str(hospital.pk)]
    assert ids(f"http://finess.sante.gouv.fr|{hospital.finess}") == [str(hospital.pk)]
    assert ids(f"https://sirene.fr|{SIRET}") == [str(hospital.pk)]
    assert ids("https://sirene.fr|" + hospital.finess) == []


def test_roles_and_services_are_found_by_practitioner_organization_and_name(
    client, world, record, gp_headers
):
    dac = SupportService.objects.get(name="Portage de repas").organization

    practice = {"organization": f"Organization/{record.practice.pk}"}
    by_organization = fhir_get(client, "PractitionerRole", gp_headers, practice)
    services = fhir_get(client, "HealthcareService", gp_headers, {"organization": str(dac.pk)})
    named = fhir_get(client, "HealthcareService", gp_headers, {"name": "equipe mobile"})

    [role] = entries(by_organization)
    assert role["practitioner"]["reference"] == f"Practitioner/{record.gp.pk}"
    assert role["code"] == [{"text": "Médecin généraliste"}]
    assert role["active"] is True
    assert len(entries(services)) == 4
    assert [s["name"] for s in entries(named)] == ["Équipe mobile gériatrique"]
    assert entries(named)[0]["providedBy"]["reference"] == f"Organization/{dac.pk}"


# --- The record's resources -------------------------------------------------------------------


def test_the_care_team_lists_each_member_with_role_and_period(client, world, record, gp_headers):
    team = fhir_get(client, f"CareTeam/{record.patient.pk}", gp_headers).json()

    members = {p["member"]["reference"]: p for p in team["participant"]}
    gp = members[f"Practitioner/{record.gp.pk}"]
    assert gp["role"] == [{"text": "Médecin traitant"}]
    ended = world.users["ended_member"].professional
    assert "end" in members[f"Practitioner/{ended.pk}"]["period"]
    assert team["subject"]["reference"] == f"Patient/{record.patient.pk}"


def test_the_care_plan_refers_to_its_goals_and_maps_actions_to_activities(
    client, record, gp_headers
):
    plan = record.care_plan
    care_plan = fhir_get(client, f"CarePlan/{plan.pk}", gp_headers).json()

    assert (care_plan["status"], care_plan["intent"]) == ("active", "plan")
    assert care_plan["author"]["reference"] == f"Practitioner/{record.coordinator.pk}"
    assert care_plan["contributor"][0]["reference"] == f"Practitioner/{record.gp.pk}"
    assert [g["reference"] for g in care_plan["goal"]] == [f"Goal/{plan.pk}-{i}" for i in range(4)]
    first, second = (activity["detail"] for activity in care_plan["activity"])
    assert first["description"] == "Pesée quotidienne"
    assert first["performer"][0]["reference"] == f"Practitioner/{record.gp.pk}"
    assert first["scheduledPeriod"] == {"end": "2027-01-15"}
    assert "performer" not in second
    notes = [note["text"] for note in care_plan["note"]]
    assert "Santé : Insuffisance cardiaque." in notes
    assert "Préférences du patient : Rester à domicile." in notes
    assert "Prochaine révision : 01/03/2027" in notes

    def ids(date: str) -> list[str]:
        params = {"patient": record.patient.pk, "date": date}
        return [c["id"] for c in entries(fhir_get(client, "CarePlan", gp_headers, params))]

    today = timezone.localdate()
    assert ids(today.isoformat()) == [str(plan.pk)]
    assert ids(f"lt{today.isoformat()}") == []


def test_the_gps_validation_of_the_care_plan_is_a_note(client, world, record, gp_headers):
    request = RequestFactory().post("/")
    request.user = world.users["team_member"]
    validate_care_plan(request=request, patient=record.patient, version_number=1)

    care_plan = fhir_get(client, f"CarePlan/{record.care_plan.pk}", gp_headers).json()

    today = timezone.localdate().strftime("%d/%m/%Y")
    assert f"Validé par Hélène Lefèvre le {today}" in [note["text"] for note in care_plan["note"]]


def test_goals_carry_their_status_and_are_filtered_by_it(client, record, gp_headers):
    plan = record.care_plan
    goals = entries(fhir_get(client, "Goal", gp_headers, {"patient": record.patient.pk}))

    assert [(g["id"], g["lifecycleStatus"]) for g in goals] == [
        (f"{plan.pk}-0", "active"),
        (f"{plan.pk}-1", "planned"),
        (f"{plan.pk}-2", "completed"),
        (f"{plan.pk}-3", "active"),
    ]
    assert goals[2]["achievementStatus"]["coding"][0]["code"] == "achieved"
    assert goals[3]["achievementStatus"]["coding"][0]["code"] == "not-achieved"
    assert goals[0]["note"] == [{"text": "Cible : ± 1 kg"}]
    completed = fhir_get(
        client, "Goal", gp_headers, {"patient": record.patient.pk, "lifecycle-status": "completed"}
    )
    assert [g["id"] for g in entries(completed)] == [f"{plan.pk}-2"]
    assert fhir_get(client, f"Goal/{plan.pk}-4", gp_headers).status_code == 404


def test_tasks_map_step_statuses_and_are_filtered_by_status_and_due_date(
    client, record, gp_headers
):
    patient = {"patient": record.patient.pk}
    tasks = entries(fhir_get(client, "Task", gp_headers, patient))
    done = fhir_get(client, "Task", gp_headers, {**patient, "status": "completed"})
    due_early = fhir_get(client, "Task", gp_headers, {**patient, "date": "le2026-11-10"})

    assert [t["status"] for t in tasks] == ["requested", "accepted", "completed", "cancelled"]
    assert tasks[0]["for"]["reference"] == f"Patient/{record.patient.pk}"
    assert tasks[0]["owner"]["reference"] == f"Practitioner/{record.gp.pk}"
    assert tasks[0]["restriction"]["period"]["end"] == "2026-11-05"
    assert tasks[0]["code"]["text"] == "Insuffisance cardiaque"
    assert tasks[3]["statusReason"]["text"] == "Patient hospitalisé."
    assert [t["id"] for t in entries(done)] == [str(record.steps[2].pk)]
    assert [t["id"] for t in entries(due_early)] == [str(s.pk) for s in record.steps[:2]]


def test_encounters_have_their_class_and_leave_out_entries_in_error_unless_asked(
    client, record, gp_headers
):
    patient = {"patient": record.patient.pk}
    found = {e["id"]: e for e in entries(fhir_get(client, "Encounter", gp_headers, patient))}
    in_error = fhir_get(client, "Encounter", gp_headers, {**patient, "status": "entered-in-error"})
    wrong = record.encounters["entered_in_error"]

    classes = {kind: found[str(e.pk)]["class"]["code"] for kind, e in record.encounters.items()
               if kind != "entered_in_error"}  # fmt: skip
    assert classes == {
        "hospital_admission": "IMP", "hospital_discharge": "IMP", "emergency_visit": "EMER",
        "consultation": "AMB", "home_visit": "HH",
    }  # fmt: skip
    admission = found[str(record.encounters["hospital_admission"].pk)]
    assert admission["status"] == "unknown"
    assert admission["serviceProvider"]["reference"] == f"Organization/{record.hospital.pk}"
    discharge = found[str(record.encounters["hospital_discharge"].pk)]
    assert (discharge["status"], list(discharge["period"])) == ("finished", ["end"])
    assert str(wrong.pk) not in found
    assert [e["id"] for e in entries(in_error)] == [str(wrong.pk)]
    read = fhir_get(client, f"Encounter/{wrong.pk}", gp_headers).json()
    assert read["status"] == "entered-in-error"
    assert fhir_get(client, f"Encounter/{record.note.pk}", gp_headers).status_code == 404


def test_a_liaison_message_is_a_communication_from_its_author_to_those_mentioned(
    client, world, record, gp_headers
):
    message = fhir_get(client, f"Communication/{record.message.pk}", gp_headers).json()

    assert message["status"] == "completed"
    assert message["sender"]["reference"] == f"Practitioner/{record.gp.pk}"
    assert message["recipient"][0]["reference"] == f"Practitioner/{record.coordinator.pk}"
    assert message["payload"] == [{"contentString": "Poids en hausse, à surveiller."}]
    assert message["subject"]["reference"] == f"Patient/{record.patient.pk}"


def test_observations_have_loinc_codes_ucum_units_and_their_category(client, record, gp_headers):
    found = entries(fhir_get(client, "Observation", gp_headers, {"patient": record.patient.pk}))

    by_code = {o["code"]["coding"][0]["code"]: o for o in found}
    assert set(by_code) == {"29463-7", "8480-6", "8462-4", "8867-4", "59408-5", "15074-8"}
    weight = by_code["29463-7"]
    assert weight["valueQuantity"] == {
        "value": 72.4, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"
    }  # fmt: skip
    assert weight["category"][0]["coding"][0]["code"] == "vital-signs"
    assert weight["effectiveDateTime"].startswith("2026-11-20T08:30:00")
    assert by_code["8867-4"]["valueQuantity"]["code"] == "/min"
    assert by_code["15074-8"]["category"][0]["coding"][0]["code"] == "laboratory"
    assert by_code["8867-4"]["performer"][0]["reference"] == f"Organization/{record.hospital.pk}"

    def codes(**params) -> set[str]:
        params["patient"] = record.patient.pk
        found = entries(fhir_get(client, "Observation", gp_headers, params))
        return {o["code"]["coding"][0]["code"] for o in found}

    assert codes(code="http://loinc.org|8867-4") == {"8867-4"}
    assert codes(code="2708-6") == {"59408-5"}  # SpO2's second coding
    assert codes(category="laboratory") == {"15074-8"}
    assert codes(code="8480-6,8462-4") == {"8480-6", "8462-4"}


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("2026-03-01", ["early"]),
        ("2026-03", ["early", "late"]),
        ("2026", ["early", "late", "april"]),
        ("gt2026-03-01", ["late", "april"]),
        ("ge2026-03-02", ["late", "april"]),
        ("lt2026-03-02", ["early"]),
        ("le2026-03-02", ["early", "late"]),
        ("2026-03-01T08:30:00+01:00", ["early"]),
        ("gt2026-03-01T08:30:00+01:00", ["late", "april"]),
        ("lt2026-03-01T07:30:00Z", []),
        ("eq2025", []),
    ],
)
def test_dates_are_searched_with_prefixes_and_precision(client, world, gp_headers, date, expected):
    moments = {
        "early": datetime.datetime(2026, 3, 1, 8, 30, tzinfo=PARIS),
        "late": datetime.datetime(2026, 3, 2, 23, 30, tzinfo=PARIS),
        "april": datetime.datetime(2026, 4, 10, 10, 0, tzinfo=PARIS),
    }
    made = {name: measure(world.patient, "weight", "70", "kg", at) for name, at in moments.items()}

    found = fhir_get(client, "Observation", gp_headers, {"patient": world.patient.pk, "date": date})

    assert [o["id"] for o in entries(found)] == [str(made[name].pk) for name in expected]


# --- Paging -----------------------------------------------------------------------------------


def test_paging_follows_next_to_the_end_without_duplicates(client, world, gp_headers):
    start = timezone.now() - datetime.timedelta(days=3)
    made = [
        measure(world.patient, "heart_rate", "70", "/min", start + datetime.timedelta(hours=h))
        for h in range(8)
    ]
    url = f"/fhir/Observation?patient={world.patient.pk}&_count=3"
    seen, pages = [], 0
    while url:
        response = client.get(url, **gp_headers)
        assert response.status_code == 200
        parsed(response.json())
        seen += [o["id"] for o in entries(response)]
        links = {link["relation"]: link["url"] for link in response.json()["link"]}
        assert "_count=3" in links["self"]
        url = links.get("next")
        pages += 1

    assert pages == 3
    assert seen == [str(o.pk) for o in made]


def test_goal_pages_are_cut_inside_a_care_plan(client, record, gp_headers):
    url = f"/fhir/Goal?patient={record.patient.pk}&_count=3"
    first = client.get(url, **gp_headers)
    next_url = {link["relation"]: link["url"] for link in first.json()["link"]}["next"]
    second = client.get(next_url, **gp_headers)

    ids = [g["id"] for g in entries(first) + entries(second)]
    assert ids == [f"{record.care_plan.pk}-{i}" for i in range(4)]
    assert "next" not in {link["relation"] for link in second.json()["link"]}


def test_count_is_capped_at_200_and_defaults_to_50(client, world, gp_headers):
    capped = fhir_get(client, "Observation", gp_headers, {"_count": "5000"}).json()
    default = fhir_get(client, "Observation", gp_headers).json()

    assert "_count=200" in capped["link"][0]["url"]
    assert "_count=50" in default["link"][0]["url"]
    assert "total" not in default


# --- Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"date": "2026-13-01"}, "invalid"),
        ({"date": "hier"}, "invalid"),
        ({"date": "2026-03-01T10:00"}, "invalid"),  # a time without its offset
        ({"date": "sa2026-03-01"}, "not-supported"),
        ({"_count": "beaucoup"}, "invalid"),
        ({"_count": "0"}, "invalid"),
        ({"_cursor": "pas-un-curseur"}, "invalid"),
        ({"patient": "Marie"}, "invalid"),
        ({"subject": "Group/3"}, "invalid"),
        ({"patient": "1,2"}, "not-supported"),
        ({"code": ""}, "invalid"),
        ({"code": "29463-7\x00"}, "invalid"),
    ],
)
def test_malformed_search_input_is_a_400_operation_outcome(client, world, gp_headers, params, code):
    response = fhir_get(client, "Observation", gp_headers, params)

    assert response.status_code == 400
    problem = issue(response)
    assert (problem["severity"], problem["code"]) == ("error", code)
    assert problem["details"]["text"] and problem["diagnostics"]
    assert problem["details"]["text"] != problem["diagnostics"]  # French, then English


def test_an_unknown_parameter_is_ignored_unless_strict_handling_is_asked(
    client, world, record, gp_headers
):
    params = {"patient": record.patient.pk, "couleur": "bleu", "_sort": "-date"}
    lenient = fhir_get(client, "Observation", gp_headers, params)
    strict = fhir_get(client, "Observation", gp_headers, params, HTTP_PREFER="handling=strict")

    assert lenient.status_code == 200
    assert len(entries(lenient)) == 6
    assert "couleur" not in lenient.json()["link"][0]["url"]
    assert strict.status_code == 400
    assert issue(strict)["code"] == "not-supported"


@pytest.mark.parametrize("path", ["Medication", "Medication/1", "Patient/abc", "", "Patient/1/x"])
def test_an_unknown_address_is_a_404_operation_outcome(client, world, gp_headers, path):
    response = fhir_get(client, path, gp_headers)

    assert response.status_code == 404
    assert issue(response)["code"] == "not-found"


def test_a_resource_that_does_not_exist_is_a_404_operation_outcome(client, world, gp_headers):
    for path in ["Patient/999999999", "Practitioner/999999999", "Goal/999999-0", "Goal/1-x"]:
        response = fhir_get(client, path, gp_headers)
        assert response.status_code == 404
        assert issue(response)["code"] == "not-found"


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("tsnp_not-a-key"), bearer("tsno_not-a-key"), {"HTTP_AUTHORIZATION": "Basic eA=="}],
)
def test_no_or_a_wrong_credential_is_a_401_operation_outcome(client, world, headers):
    for path in [f"Patient/{world.patient.pk}", "Practitioner", "Observation"]:
        response = fhir_get(client, path, headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert issue(response)["code"] == "security"


def test_json_is_the_format_whatever_the_accept_header_and_xml_is_refused(
    client, world, gp_headers
):
    path = f"Patient/{world.patient.pk}"
    assert fhir_get(client, path, gp_headers, {"_format": "json"}).status_code == 200
    unencoded = client.get(f"/fhir/{path}?_format=application/fhir+json", **gp_headers)
    assert unencoded.status_code == 200
    plain = fhir_get(client, path, gp_headers, HTTP_ACCEPT="application/json")
    assert plain.status_code == 200
    xml = fhir_get(client, path, gp_headers, {"_format": "xml"})
    assert xml.status_code == 406
    assert issue(xml)["code"] == "not-supported"


def test_the_api_is_read_only(client, world, gp_headers):
    posted = client.post(
        "/fhir/Patient", {"resourceType": "Patient"}, content_type=FHIR_JSON, **gp_headers
    )
    options = client.options(f"/fhir/Patient/{world.patient.pk}", **gp_headers)

    for response in (posted, options):
        assert response.status_code == 405
        assert response["Content-Type"].startswith(FHIR_JSON)
        assert issue(response)["code"] == "not-supported"


def test_searches_beyond_their_quota_get_429_with_retry_after(client, world, settings):
    cache.clear()
    settings.TSN_API_THROTTLE_RATES = {**settings.TSN_API_THROTTLE_RATES, "search": "2/min"}
    headers = token_of(world.users["team_member"])

    answers = [client.get("/fhir/Practitioner", **headers) for _ in range(3)]
    read = client.get(f"/fhir/Patient/{world.patient.pk}", **headers)
    other = client.get("/fhir/Practitioner", **token_of(world.users["coordinator_following"]))

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert int(answers[2]["Retry-After"]) > 0
    assert issue(answers[2])["code"] == "throttled"
    assert read.status_code == 200  # reads by id are not searches
    assert other.status_code == 200  # another user has their own quota
    cache.clear()


def test_exports_beyond_their_quota_get_429(client, world, settings):
    cache.clear()
    settings.TSN_API_THROTTLE_RATES = {**settings.TSN_API_THROTTLE_RATES, "export": "1/hour"}
    headers = token_of(world.users["team_member"])
    url = reverse("fhir:everything", args=[world.patient.pk])

    answers = [client.get(url, **headers) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [200, 429]
    assert issue(answers[1])["code"] == "throttled"
    cache.clear()
