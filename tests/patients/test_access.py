"""The access policy, persona by persona (DESIGN.md §5)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from patients.access import can_write_patient
from patients.models import ConsentRecord, Patient

SEES_THE_PATIENT = {
    "team_member": True,
    "read_only_member": True,
    "ended_member": False,
    "coordinator_following": True,
    "coordinator_not_following": False,
    "service_referral_accepted": True,
    "service_referral_pending": False,
    "objected_professional": False,
    "outsider": False,
    "ars_analyst": False,
    "the_patient": True,
    "another_patient": False,
    "authorised_caregiver": True,
    "expired_caregiver": False,
    "administrator": False,
    "break_glass_active": True,
    "break_glass_expired": False,
    "anonymous": False,
}

MAY_WRITE = {"team_member", "coordinator_following", "service_referral_accepted"}


@pytest.mark.parametrize(("persona", "sees"), SEES_THE_PATIENT.items())
def test_who_sees_the_patient(world, persona, sees):
    user = world.users[persona] or AnonymousUser()
    visible = Patient.objects.visible_to(user)
    assert visible.filter(pk=world.patient.pk).exists() is sees


@pytest.mark.parametrize("persona", SEES_THE_PATIENT)
def test_who_may_write(world, persona):
    user = world.users[persona] or AnonymousUser()
    assert can_write_patient(user, world.patient) is (persona in MAY_WRITE)


def test_the_patient_sees_only_their_own_record(world):
    visible = Patient.objects.visible_to(world.users["the_patient"])
    assert list(visible) == [world.patient]


def test_visible_to_has_no_duplicates_with_several_reasons(world, make_professional):
    coordinator = world.users["coordinator_following"].professional
    # Also in the care team: two reasons to see the same patient.
    world.patient.care_team.create(professional=coordinator, role="coordinator")
    assert Patient.objects.visible_to(coordinator.user).filter(pk=world.patient.pk).count() == 1


def test_withdrawing_an_objection_gives_access_back(world):
    objected = world.users["objected_professional"]
    ConsentRecord.objects.filter(professional=objected.professional).update(
        withdrawn_at="2026-01-01T00:00:00Z"
    )
    assert Patient.objects.visible_to(objected).filter(pk=world.patient.pk).exists()


def test_an_objection_overrides_the_care_team_but_not_break_the_glass(world):
    gp = world.users["team_member"]
    ConsentRecord.objects.create(
        patient=world.patient,
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=gp.professional,
    )
    assert not Patient.objects.visible_to(gp).filter(pk=world.patient.pk).exists()


def test_an_inactive_account_sees_nothing(world):
    gp = world.users["team_member"]
    gp.is_active = False
    assert not Patient.objects.visible_to(gp).exists()


def test_closed_pathway_ends_the_coordinators_access(world):
    world.patient.pathways.update(status="completed", ended_on="2026-01-01")
    coordinator = world.users["coordinator_following"]
    assert not Patient.objects.visible_to(coordinator).filter(pk=world.patient.pk).exists()
