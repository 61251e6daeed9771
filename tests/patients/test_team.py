"""The care team page, through HTTP: members, caregivers, objections, and the directory search."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from patients.models import Caregiver, CareTeamMember, ConsentRecord, Patient
from professionals.models import Professional
from tsn.models import AuditEvent

HIDDEN_FROM = [
    "outsider",
    "ended_member",
    "objected_professional",
    "coordinator_not_following",
    "ars_analyst",
    "another_patient",
    "administrator",
]
READ_ONLY = ["read_only_member", "the_patient", "authorised_caregiver", "break_glass_active"]
WRITERS = ["team_member", "coordinator_following"]


def routes(world, professional: Professional) -> list[tuple[str, dict]]:
    """Every write route of the page, with a valid body."""
    patient = world.patient
    member = patient.care_team.get(professional=world.users["team_member"].professional)
    objection = patient.consents.get(kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION)
    return [
        (
            reverse("patients:care_team_add", kwargs={"pk": patient.pk}),
            {"member-professional": professional.pk, "member-role": "nurse"},
        ),
        (
            reverse("patients:care_team_end", kwargs={"pk": patient.pk, "member_pk": member.pk}),
            {},
        ),
        (
            reverse("patients:caregiver_add", kwargs={"pk": patient.pk}),
            {
                "caregiver-last_name": "Roux",
                "caregiver-first_name": "Lise",
                "caregiver-relationship": "fille",
            },
        ),
        (
            reverse("patients:objection_add", kwargs={"pk": patient.pk}),
            {"objection-professional": professional.pk},
        ),
        (
            reverse(
                "patients:objection_withdraw",
                kwargs={"pk": patient.pk, "consent_pk": objection.pk},
            ),
            {},
        ),
    ]


def page(patient) -> str:
    return reverse("patients:care_team", kwargs={"pk": patient.pk})


@pytest.mark.parametrize("persona", WRITERS + READ_ONLY)
def test_the_team_page_is_shown_to_those_who_see_the_patient(client, world, persona):
    client.force_login(world.users[persona])
    response = client.get(page(world.patient))
    assert response.status_code == 200
    assert response.context["can_write"] is (persona in WRITERS)
    assert AuditEvent.objects.filter(
        actor=world.users[persona], patient_id=world.patient.pk, object_type="care_team"
    ).exists()


@pytest.mark.parametrize("persona", HIDDEN_FROM)
def test_others_get_404_on_every_route(client, world, persona, make_professional):
    client.force_login(world.users[persona])
    assert client.get(page(world.patient)).status_code == 404
    for route, data in routes(world, make_professional()):
        assert client.post(route, data).status_code == 404, route
    assert Caregiver.objects.filter(first_name="Lise").count() == 0


@pytest.mark.parametrize("persona", READ_ONLY)
def test_readers_get_403_on_writes(client, world, persona, make_professional):
    client.force_login(world.users[persona])
    for route, data in routes(world, make_professional()):
        assert client.post(route, data).status_code == 403, route
    assert Caregiver.objects.filter(first_name="Lise").count() == 0


def test_writes_answer_405_to_get(client, world, make_professional):
    client.force_login(world.users["team_member"])
    for route, _data in routes(world, make_professional()):
        assert client.get(route).status_code == 405


def test_a_member_adds_a_professional_found_in_the_directory(client, world, make_professional):
    nurse = make_professional(Professional.Profession.NURSE, last_name="Lefèvre")
    client.force_login(world.users["team_member"])
    found = client.get(
        reverse("professionals:search"), {"q": "lefevre", "champ": "member-professional"}
    )
    assert f'name="member-professional" value="{nurse.pk}"' in found.content.decode()
    response = client.post(
        reverse("patients:care_team_add", kwargs={"pk": world.patient.pk}),
        {"member-professional": nurse.pk, "member-role": "nurse", "member-read_only": "on"},
    )
    assert response.status_code == 302
    member = world.patient.care_team.get(professional=nurse)
    assert (member.role, member.read_only, member.end) == ("nurse", True, None)
    assert Patient.objects.visible_to(nurse.user).filter(pk=world.patient.pk).exists()


def test_adding_twice_or_an_objected_professional_is_refused(client, world):
    client.force_login(world.users["team_member"])
    add = reverse("patients:care_team_add", kwargs={"pk": world.patient.pk})
    for persona in ("team_member", "objected_professional"):
        professional = world.users[persona].professional
        response = client.post(add, {"member-professional": professional.pk, "member-role": "gp"})
        assert response.status_code == 400
    assert client.post(add, {"member-role": "gp"}).status_code == 400


def test_ending_a_membership_removes_access(client, world):
    nurse = world.users["read_only_member"]
    member = world.patient.care_team.get(professional=nurse.professional)
    client.force_login(world.users["team_member"])
    response = client.post(
        reverse("patients:care_team_end", kwargs={"pk": world.patient.pk, "member_pk": member.pk})
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.end == timezone.localdate()
    # Ended today: the policy counts a period inclusively, so access lasts until tonight.
    member.start = member.end = timezone.localdate().replace(year=2000)
    member.save(update_fields=["start", "end"])
    client.force_login(nurse)
    assert client.get(page(world.patient)).status_code == 404


def test_ending_a_member_of_another_patient_is_404(client, world, make_professional):
    other = CareTeamMember.objects.create(
        patient=world.other_patient, professional=make_professional(), role="gp"
    )
    client.force_login(world.users["team_member"])
    response = client.post(
        reverse("patients:care_team_end", kwargs={"pk": world.patient.pk, "member_pk": other.pk})
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.end is None


def test_an_objection_removes_access_and_its_withdrawal_gives_it_back(client, world):
    nurse = world.users["read_only_member"]
    client.force_login(world.users["team_member"])
    response = client.post(
        reverse("patients:objection_add", kwargs={"pk": world.patient.pk}),
        {"objection-professional": nurse.professional.pk, "objection-note": "Refus du patient"},
    )
    assert response.status_code == 302
    objection = world.patient.consents.get(professional=nurse.professional)
    assert objection.recorded_by == world.users["team_member"]
    client.force_login(nurse)
    assert client.get(page(world.patient)).status_code == 404

    client.force_login(world.users["team_member"])
    client.post(
        reverse(
            "patients:objection_withdraw",
            kwargs={"pk": world.patient.pk, "consent_pk": objection.pk},
        )
    )
    objection.refresh_from_db()
    assert objection.withdrawn_at is not None
    client.force_login(nurse)
    assert client.get(page(world.patient)).status_code == 200


def test_a_new_trusted_person_replaces_the_previous_one(client, world):
    Caregiver.objects.filter(patient=world.patient).update(is_trusted_person=True)
    client.force_login(world.users["coordinator_following"])
    response = client.post(
        reverse("patients:caregiver_add", kwargs={"pk": world.patient.pk}),
        {
            "caregiver-last_name": "Roux",
            "caregiver-first_name": "Lise",
            "caregiver-relationship": "fille",
            "caregiver-is_trusted_person": "on",
        },
    )
    assert response.status_code == 302
    trusted = world.patient.caregivers.filter(is_trusted_person=True)
    assert [caregiver.first_name for caregiver in trusted] == ["Lise"]


def test_team_page_queries_do_not_grow_with_rows(client, world, make_professional):
    client.force_login(world.users["team_member"])

    def add_rows(count: int) -> None:
        for _n in range(count):
            professional = make_professional()
            CareTeamMember.objects.create(
                patient=world.patient, professional=professional, role="gp"
            )
            ConsentRecord.objects.create(
                patient=world.patient,
                kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
                professional=make_professional(),
                recorded_by=world.users["team_member"],
            )
            Caregiver.objects.create(
                patient=world.patient, last_name="X", first_name="Y", relationship="ami"
            )

    add_rows(1)
    with CaptureQueriesContext(connection) as few:
        client.get(page(world.patient))
    add_rows(6)
    with CaptureQueriesContext(connection) as many:
        client.get(page(world.patient))
    assert len(many) == len(few)


def test_directory_search_ignores_accents_and_matches_rpps(client, world, make_professional):
    pro = make_professional(last_name="Bérénger", rpps="10000000016")
    client.force_login(world.users["team_member"])
    search = reverse("professionals:search")
    assert str(pro.pk) in client.get(search, {"q": "berenger"}).content.decode()
    assert str(pro.pk) in client.get(search, {"q": "1000000001"}).content.decode()
    assert f'value="{pro.pk}"' not in client.get(search, {"q": "zzzz"}).content.decode()


@pytest.mark.parametrize("persona", ["ars_analyst", "the_patient", "administrator"])
def test_directory_search_is_for_professionals(client, world, persona):
    client.force_login(world.users[persona])
    assert client.get(reverse("professionals:search"), {"q": "mar"}).status_code == 404
