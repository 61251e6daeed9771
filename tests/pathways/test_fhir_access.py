"""Who reaches what through the FHIR API, and the trace each access leaves: personas and
organisations' machines, the audit trail as AuditEvent resources, `$everything`."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.models import Pathway, Step, StepTemplate
from patients.models import CareTeamMember, LiaisonMessage, TimelineEvent
from professionals.models import Organization, OrganizationToken, PractitionerRole, Professional
from tests.pathways.test_fhir import (
    bearer,
    entries,
    fhir_get,
    issue,
    measure,
    parsed,
    record_fixture,  # noqa: F401 (the `record` fixture)
    token_of,
)
from tests.patients.test_access import SEES_THE_PATIENT
from tsn.models import AuditEvent

# Every persona of the policy table (anonymous: 401, tested with the errors).
NO_ACCESS = [p for p, sees in SEES_THE_PATIENT.items() if not sees and p != "anonymous"]
ACCESS = [p for p, sees in SEES_THE_PATIENT.items() if sees]
PATIENT_SCOPED = ["CareTeam", "CarePlan", "Goal", "Task", "Encounter", "Communication",
                  "Observation"]  # fmt: skip


def _traces(**lookups) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**lookups).order_by("pk"))


@pytest.mark.parametrize("persona", NO_ACCESS)
def test_who_may_not_see_the_patient_gets_404_on_reads_and_searches_and_is_traced(
    client, world, record, persona
):
    headers = token_of(world.users[persona])
    patient = record.patient

    read = fhir_get(client, f"Patient/{patient.pk}", headers)
    observation = fhir_get(client, f"Observation/{record.observations['weight'].pk}", headers)
    searches = [
        fhir_get(client, resource_type, headers, {"patient": patient.pk})
        for resource_type in PATIENT_SCOPED
    ]
    everything = fhir_get(client, f"Patient/{patient.pk}/$everything", headers)
    unfiltered = fhir_get(client, "Observation", headers)

    for response in [read, observation, *searches, everything]:
        assert response.status_code == 404
        assert issue(response)["code"] == "not-found"
    assert unfiltered.status_code == 200
    assert str(record.observations["weight"].pk) not in {o["id"] for o in entries(unfiltered)}
    denied = _traces(patient_id=patient.pk, outcome=AuditEvent.Outcome.DENIED)
    assert len(denied) == 3 + len(PATIENT_SCOPED)
    assert {event.actor for event in denied} == {world.users[persona]}
    assert denied[-1].action == AuditEvent.Action.EXPORT


@pytest.mark.parametrize("persona", ACCESS)
def test_who_may_see_the_patient_reads_the_record_and_is_traced(client, world, record, persona):
    headers = token_of(world.users[persona])
    patient = record.patient

    read = fhir_get(client, f"Patient/{patient.pk}", headers)
    observations = fhir_get(client, "Observation", headers, {"patient": patient.pk})

    assert read.status_code == observations.status_code == 200
    assert len(entries(observations)) == 6
    allowed = _traces(patient_id=patient.pk, outcome="allowed", actor__isnull=False)
    assert [(e.object_type, e.object_id) for e in allowed[-2:]] == [
        ("fhir_patient", str(patient.pk)),
        ("fhir_observation_list", str(patient.pk)),
    ]
    assert allowed[-1].api_token.startswith("personal:")
    if persona == "break_glass_active":
        assert allowed[-1].break_glass_reason == "Urgence de nuit, patient inconscient."


def test_a_browser_session_reads_as_its_user(client, world, record):
    client.force_login(world.users["team_member"])

    response = client.get(f"/fhir/Patient/{record.patient.pk}")

    assert response.status_code == 200
    parsed(response.json())
    [trace] = _traces(object_type="fhir_patient")
    assert (trace.actor, trace.api_token) == (world.users["team_member"], "")


def test_a_read_by_id_is_traced_with_the_resource_and_a_search_across_patients_with_its_size(
    client, world, record
):
    headers = token_of(world.users["team_member"])
    weight = record.observations["weight"]

    fhir_get(client, f"Observation/{weight.pk}", headers)
    fhir_get(client, "Observation", headers, {"code": "29463-7"})
    fhir_get(client, "Practitioner", headers)
    fhir_get(client, f"Organization/{record.hospital.pk}", headers)

    read, listed = _traces(object_type__startswith="fhir_")
    assert (read.object_type, read.object_id, read.patient_id) == (
        "fhir_observation", str(weight.pk), record.patient.pk
    )  # fmt: skip
    assert (listed.object_type, listed.object_id, listed.patient_id) == (
        "fhir_observation_list", "1", None
    )  # fmt: skip
    # The directory is not patient data: no trace.


def test_a_patient_search_is_traced_with_the_patient_when_it_finds_one(client, world, record):
    headers = token_of(world.users["team_member"])

    fhir_get(client, "Patient", headers, {"family": record.patient.birth_last_name})
    fhir_get(client, "Patient", headers, {"family": "personne"})

    found, none = _traces(object_type="fhir_patient_list")
    assert (found.patient_id, found.object_id) == (record.patient.pk, "1")
    assert (none.patient_id, none.object_id) == (None, "0")


def test_searches_across_patients_show_only_the_visible_ones(client, world, record):
    for persona, expected in [("team_member", 6), ("ars_analyst", 0), ("the_patient", 6)]:
        found = fhir_get(client, "Observation", token_of(world.users[persona]))
        assert len(entries(found)) == expected
        assert {o["subject"]["reference"] for o in entries(found)} <= {
            f"Patient/{record.patient.pk}"
        }
    ars = fhir_get(client, "Patient", token_of(world.users["ars_analyst"]))
    assert entries(ars) == []


def test_the_directory_is_open_to_any_authenticated_person(client, world, record):
    for persona in ["ars_analyst", "the_patient", "administrator"]:
        headers = token_of(world.users[persona])
        assert fhir_get(client, f"Practitioner/{record.gp.pk}", headers).status_code == 200
        assert len(entries(fhir_get(client, "Organization", headers, {"name": "lilas"}))) == 1


# --- Organisations' machines ------------------------------------------------------------------


def test_an_organisation_where_a_team_member_practises_reads_and_another_gets_404(
    client, world, record
):
    own = OrganizationToken.issue(organization=record.practice, name="Logiciel du cabinet")
    other_org = Organization.objects.create(kind="hospital", name="Clinique du Parc")
    other = OrganizationToken.issue(organization=other_org, name="Moteur d'interfaces")
    path = f"Patient/{record.patient.pk}"

    ours = fhir_get(client, path, bearer(own[1]))
    theirs = fhir_get(client, path, bearer(other[1]))
    our_list = fhir_get(client, "Observation", bearer(own[1]))
    their_list = fhir_get(client, "Observation", bearer(other[1]))
    their_search = fhir_get(client, "Task", bearer(other[1]), {"patient": record.patient.pk})

    assert ours.status_code == 200
    assert ours.json()["id"] == str(record.patient.pk)
    assert theirs.status_code == their_search.status_code == 404
    assert len(entries(our_list)) == 6
    assert entries(their_list) == []
    allowed, denied = _traces(object_type="fhir_patient")
    assert (allowed.outcome, allowed.api_token, allowed.actor) == (
        "allowed", f"organization:{own[0].pk}", None
    )  # fmt: skip
    assert (denied.outcome, denied.api_token) == ("denied", f"organization:{other[0].pk}")


# --- The audit trail as AuditEvent ------------------------------------------------------------


def test_the_audit_trail_is_for_the_patient_and_the_referent_coordinator(client, world, record):
    client.get(f"/fhir/Patient/{record.patient.pk}", **token_of(world.users["team_member"]))
    gp_read = AuditEvent.objects.get(object_type="fhir_patient")
    machine = OrganizationToken.issue(organization=record.practice, name="Cabinet")[1]

    answers = {
        persona: fhir_get(
            client, "AuditEvent", token_of(world.users[persona]), {"patient": record.patient.pk}
        )
        for persona in ["the_patient", "coordinator_following", "team_member", "outsider"]
    }
    by_machine = fhir_get(client, f"AuditEvent/{gp_read.pk}", bearer(machine))
    by_gp = fhir_get(client, f"AuditEvent/{gp_read.pk}", token_of(world.users["team_member"]))
    unnamed = fhir_get(client, "AuditEvent", token_of(world.users["the_patient"]))

    assert answers["the_patient"].status_code == answers["coordinator_following"].status_code == 200
    assert answers["team_member"].status_code == by_gp.status_code == by_machine.status_code == 403
    assert issue(answers["team_member"])["code"] == "forbidden"
    assert answers["outsider"].status_code == 404
    assert unnamed.status_code == 400
    assert issue(unnamed)["code"] == "required"
    [trace] = [e for e in entries(answers["the_patient"]) if e["id"] == str(gp_read.pk)]
    assert trace["agent"][0]["who"]["reference"] == f"Practitioner/{record.gp.pk}"
    assert trace["action"] == "R"
    assert trace["outcome"] == "0"
    assert trace["entity"][0]["what"]["reference"] == f"Patient/{record.patient.pk}"
    assert trace["entity"][1]["name"] == "fhir_patient"


def test_an_audit_event_names_the_organisation_of_a_machine_and_a_break_glass_reason(
    client, world, record
):
    machine = OrganizationToken.issue(organization=record.practice, name="Cabinet")[1]
    client.get(f"/fhir/Patient/{record.patient.pk}", **bearer(machine))
    client.get(f"/fhir/Patient/{record.patient.pk}", **token_of(world.users["break_glass_active"]))
    client.get(f"/fhir/Patient/{record.patient.pk}", **token_of(world.users["outsider"]))
    machine_read, glass_read, refused = _traces(object_type="fhir_patient")
    headers = token_of(world.users["coordinator_following"])

    by_machine = fhir_get(client, f"AuditEvent/{machine_read.pk}", headers).json()
    by_glass = fhir_get(client, f"AuditEvent/{glass_read.pk}", headers).json()
    denied = fhir_get(client, f"AuditEvent/{refused.pk}", headers).json()

    assert by_machine["agent"][0]["who"]["reference"] == f"Organization/{record.practice.pk}"
    assert by_glass["agent"][0]["purposeOfUse"][0]["coding"][0]["code"] == "BTG"
    assert by_glass["agent"][0]["purposeOfUse"][0]["text"] == glass_read.break_glass_reason
    assert denied["outcome"] == "4"


# --- $everything ------------------------------------------------------------------------------


def test_everything_holds_the_patient_and_every_resource_of_the_record(client, world, record):
    url = reverse("fhir:everything", args=[record.patient.pk])

    response = client.get(url, **token_of(world.users["coordinator_following"]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = response.json()
    parsed(bundle)
    resources = entries(response)
    assert resources[0] == {**resources[0], "resourceType": "Patient", "id": str(record.patient.pk)}
    assert bundle["entry"][0]["search"]["mode"] == "match"
    kinds = {r["resourceType"] for r in resources}
    assert kinds == {
        "Patient", "Practitioner", "Organization", "CareTeam", "CarePlan", "Goal", "Task",
        "Encounter", "Communication", "Observation", "AuditEvent",
    }  # fmt: skip
    ids = [(r["resourceType"], r["id"]) for r in resources]
    assert len(ids) == len(set(ids))
    encounters = {r["id"] for r in resources if r["resourceType"] == "Encounter"}
    assert str(record.encounters["entered_in_error"].pk) not in encounters
    practitioners = {r["id"] for r in resources if r["resourceType"] == "Practitioner"}
    assert {str(record.gp.pk), str(record.coordinator.pk)} <= practitioners
    organizations = {r["id"] for r in resources if r["resourceType"] == "Organization"}
    assert str(record.hospital.pk) in organizations
    export = AuditEvent.objects.get(object_type="fhir_everything")
    assert (export.action, export.outcome) == (AuditEvent.Action.EXPORT, "allowed")


def test_everything_leaves_out_the_audit_trail_for_who_may_not_read_it(client, world, record):
    url = reverse("fhir:everything", args=[record.patient.pk])
    machine = OrganizationToken.issue(organization=record.practice, name="Cabinet")[1]

    for headers in [token_of(world.users["team_member"]), bearer(machine)]:
        response = client.get(url, **headers)
        assert response.status_code == 200
        assert "AuditEvent" not in {r["resourceType"] for r in entries(response)}
        assert "Goal" in {r["resourceType"] for r in entries(response)}


def _grow(record, rows: int, make_professional) -> None:
    """`rows` more of each kind of row in the record, each with its own related rows."""
    start = timezone.now() - datetime.timedelta(days=10)
    pathway = Pathway.objects.get(patient=record.patient)
    first = StepTemplate.objects.filter(template=pathway.template).count() + 1
    for n in range(rows):
        at = start + datetime.timedelta(minutes=n)
        nurse = make_professional(Professional.Profession.NURSE)
        CareTeamMember.objects.create(patient=record.patient, professional=nurse, role="nurse")
        PractitionerRole.objects.create(professional=nurse, organization=record.hospital)
        measure(record.patient, "weight", "70", "kg", at, organization=record.hospital)
        TimelineEvent.objects.create(
            patient=record.patient, occurred_at=at, kind="consultation", title=f"C{n}",
            author=nurse, organization=record.hospital,
        )  # fmt: skip
        message = LiaisonMessage.objects.create(
            patient=record.patient, author=nurse.user, body=f"Message {n}"
        )
        message.mentions.add(record.message.author, nurse.user)
        template_step = StepTemplate.objects.create(
            template=pathway.template,
            order=first + n,
            name=f"Étape {first + n}",
            responsible_profession="nurse",
            deadline_days=n,
        )
        Step.objects.create(pathway=pathway, template_step=template_step, assignee=nurse)
        AuditEvent.objects.create(
            actor=nurse.user, patient_id=record.patient.pk, action="read", object_type="patient"
        )


def test_everything_costs_the_same_number_of_queries_whatever_the_record_size(
    client, world, record, make_professional, django_assert_max_num_queries
):
    url = reverse("fhir:everything", args=[record.patient.pk])
    headers = token_of(world.users["coordinator_following"])

    with CaptureQueriesContext(connection) as small:
        assert client.get(url, **headers).status_code == 200
    _grow(record, 40, make_professional)
    with django_assert_max_num_queries(30), CaptureQueriesContext(connection) as large:
        response = client.get(url, **headers)

    assert len(entries(response)) > 120
    assert len(large) == len(small)


@pytest.mark.parametrize(
    ("resource_type", "params"),
    [
        ("CareTeam", {"patient": "me"}), ("Task", {"patient": "me"}),
        ("Encounter", {"patient": "me"}), ("Communication", {"patient": "me"}),
        ("Observation", {"patient": "me"}), ("AuditEvent", {"patient": "me"}),
        ("Observation", {}), ("Communication", {}), ("Patient", {}),
        ("Practitioner", {}), ("PractitionerRole", {}),
    ],
)  # fmt: skip
def test_a_search_page_costs_the_same_number_of_queries_whatever_its_size(
    client, world, record, make_professional, resource_type, params
):
    headers = token_of(world.users["coordinator_following"])
    params = {key: record.patient.pk if value == "me" else value for key, value in params.items()}
    sizes, counts = [], []
    for rows in (1, 30):
        _grow(record, rows, make_professional)
        with CaptureQueriesContext(connection) as queries:
            response = fhir_get(client, resource_type, headers, {**params, "_count": 200})
        sizes.append(len(response.content))
        counts.append(len(queries))
    assert counts[0] == counts[1]
    if resource_type != "Patient":  # the record grew, and the page with it
        assert sizes[1] > 2 * sizes[0]
