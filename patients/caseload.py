"""A professional's caseload on the patients' side: the patients they follow."""

import datetime

from django.db.models import Count

from patients.models import CareTeamMember, Patient
from professionals.models import Professional
from tsn.periods import in_effect_on


def count_care_team_patients(professional: Professional, on: datetime.date) -> int:
    """Patients whose care team the professional is an active member of on ``on``."""
    return CareTeamMember.objects.filter(in_effect_on(on), professional=professional).aggregate(
        n=Count("patient", distinct=True)
    )["n"]


def count_gp_patients(professional: Professional) -> int:
    """Patients who declared the professional as their médecin traitant."""
    return Patient.objects.filter(gp=professional).count()
