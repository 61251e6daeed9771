"""`field__any=[...]` (tsn/lookups.py): the rows `__in` gives, with one array parameter."""

import pytest

from patients.models import CareTeamMember, Patient


@pytest.mark.django_db
def test_any_matches_in_with_one_parameter(make_patient, care_team_member):
    patients = [make_patient() for _ in range(4)]
    wanted = [patients[0].pk, patients[2].pk, 999_999_999]
    by_any = Patient.objects.filter(pk__any=wanted)
    assert set(by_any) == set(Patient.objects.filter(pk__in=wanted)) == {patients[0], patients[2]}
    _sql, params = by_any.query.sql_with_params()
    assert params == (wanted,)
    # On a foreign key too (the access policy's grounds).
    team = CareTeamMember.objects.filter(patient_id__any=[care_team_member.patient_id])
    assert list(team) == [care_team_member]
    assert not Patient.objects.filter(pk__any=[]).exists()
