"""A professional's caseload on the patients' side: the patients they follow."""

import datetime

from django.db.models import Count, F, Max, OuterRef, Q, Subquery

from patients.models import CareTeamMember, LiaisonMessage, Patient, SeenMark
from professionals.models import Professional
from tsn.models import User
from tsn.periods import in_effect_on


def count_care_team_patients(professional: Professional, on: datetime.date) -> int:
    """Patients whose care team the professional is an active member of on ``on``."""
    return CareTeamMember.objects.filter(in_effect_on(on), professional=professional).aggregate(
        n=Count("patient", distinct=True)
    )["n"]


def count_gp_patients(professional: Professional) -> int:
    """Patients who declared the professional as their médecin traitant."""
    return Patient.objects.filter(gp=professional).count()


def unread_mentions(user: User) -> list[Patient]:
    """Patients the user may see whose liaison notebook mentions them in unread messages,
    each with `.unread_mentions`; the most recent first."""
    mark = SeenMark.objects.filter(
        user=user, patient=OuterRef("patient"), part=SeenMark.Part.LIAISON
    ).values("seen_at")[:1]
    unread = (
        LiaisonMessage.objects.filter(mentions=user)
        .annotate(mark=Subquery(mark))
        .filter(Q(mark__isnull=True) | Q(sent_at__gt=F("mark")))
        .values("patient")
        .annotate(count=Count("id"), latest=Max("sent_at"))
    )
    counts = {row["patient"]: row for row in unread}
    if not counts:
        return []
    patients = list(Patient.objects.visible_to(user).filter(pk__in=counts))
    for patient in patients:
        patient.unread_mentions = counts[patient.pk]["count"]
        patient.latest_mention = counts[patient.pk]["latest"]
    return sorted(patients, key=lambda patient: patient.latest_mention, reverse=True)
