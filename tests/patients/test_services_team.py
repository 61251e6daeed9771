"""Services of the liaison notebook and the care team, where their branches matter."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patients.models import CareTeamMember, LiaisonMessage, SeenMark
from patients.services import (
    add_care_team_member,
    end_care_team_membership,
    mark_seen,
    post_liaison_message,
    record_professional_objection,
)

TODAY = timezone.localdate()


def test_a_mention_outside_the_active_team_is_refused(world):
    with pytest.raises(ValidationError):
        post_liaison_message(
            author=world.users["team_member"],
            patient=world.patient,
            body="x",
            mentions=[world.users["ended_member"]],
        )
    assert not LiaisonMessage.objects.exists()


def test_the_seen_mark_never_goes_backwards_and_tells_where_it_was(world):
    user = world.users["team_member"]
    now = timezone.now()
    part = SeenMark.Part.LIAISON
    assert mark_seen(user=user, patient=world.patient, part=part, at=now) is None
    earlier = now - datetime.timedelta(days=1)
    assert mark_seen(user=user, patient=world.patient, part=part, at=earlier) == now
    assert SeenMark.objects.get(user=user, patient=world.patient, part=part).seen_at == now
    # Each part of the record has its own mark.
    assert mark_seen(user=user, patient=world.patient, part=SeenMark.Part.TIMELINE) is None


def test_ending_is_idempotent_and_keeps_an_earlier_end(care_team_member):
    end_care_team_membership(member=care_team_member, end=TODAY)
    assert care_team_member.end == TODAY
    end_care_team_membership(member=care_team_member, end=TODAY + datetime.timedelta(days=3))
    care_team_member.refresh_from_db()
    assert care_team_member.end == TODAY


def test_ending_a_future_membership_keeps_the_period_valid(care_team_member):
    future = CareTeamMember.objects.create(
        patient=care_team_member.patient,
        professional=care_team_member.professional,
        role="gp",
        start=TODAY + datetime.timedelta(days=10),
    )
    end_care_team_membership(member=future)
    future.refresh_from_db()
    assert future.end == future.start


def test_an_objection_is_recorded_once(world):
    nurse = world.users["read_only_member"].professional
    first = record_professional_objection(
        patient=world.patient, professional=nurse, recorded_by=world.users["team_member"]
    )
    again = record_professional_objection(
        patient=world.patient, professional=nurse, recorded_by=world.users["team_member"]
    )
    assert first == again
    with pytest.raises(ValidationError):
        add_care_team_member(patient=world.patient, professional=nurse, role="nurse")
