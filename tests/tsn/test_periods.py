import datetime

from django.utils import timezone

from patients.models import CareTeamMember, Patient
from tsn.periods import in_effect_on

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def test_sql_twin_agrees_with_care_team_member_is_active(make_patient, make_professional):
    patient, professional = make_patient(), make_professional()
    periods = [
        (TODAY - 10 * DAY, None),
        (TODAY, None),
        (TODAY + DAY, None),
        (TODAY - 10 * DAY, TODAY),
        (TODAY - 10 * DAY, TODAY - DAY),
        (TODAY - 10 * DAY, TODAY + DAY),
    ]
    members = [
        CareTeamMember.objects.create(
            patient=patient, professional=professional, role="gp", start=start, end=end
        )
        for start, end in periods
    ]
    in_sql = set(CareTeamMember.objects.filter(in_effect_on(TODAY)).values_list("pk", flat=True))
    assert in_sql == {member.pk for member in members if member.is_active(TODAY)}
    # The end date is exclusive: a period ending today is over today.
    assert in_sql == {members[0].pk, members[1].pk, members[5].pk}


def test_prefix_reaches_a_related_period(make_patient, make_professional):
    patient = make_patient()
    CareTeamMember.objects.create(
        patient=patient,
        professional=make_professional(),
        role="gp",
        start=TODAY - 10 * DAY,
        end=TODAY - DAY,
    )
    assert not Patient.objects.filter(in_effect_on(TODAY, "care_team__")).exists()
    CareTeamMember.objects.create(patient=patient, professional=make_professional(), role="nurse")
    assert Patient.objects.filter(in_effect_on(TODAY, "care_team__")).exists()
