"""Who may see which patient: the one access policy (DESIGN.md §5), and its chokepoint.

Every page, API endpoint, export, PDF and task reaches patient data through
`Patient.objects.visible_to(user)` or `get_patient_for(request, pk)`; nothing else
decides. One condition per line, so that a review reads the rule.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest
from django.utils import timezone

from patients.models import (
    BreakGlassAccess,
    Caregiver,
    CareTeamMember,
    ConsentRecord,
    Patient,
    PatientQuerySet,
)
from professionals.models import Professional
from tsn.audit import record_access
from tsn.models import AuditEvent, User
from tsn.periods import in_effect_on

# Pathway statuses during which the following support service sees the patient.
FOLLOWING_STATUSES = ("proposed", "active", "suspended")


def _professional(user: User) -> Professional | None:
    try:
        return user.professional
    except Professional.DoesNotExist:
        return None


def _in_care_team(professional: Professional, *, writable: bool = False) -> Exists:
    members = CareTeamMember.objects.filter(
        in_effect_on(timezone.localdate()),
        patient=OuterRef("pk"),
        professional=professional,
    )
    if writable:
        members = members.filter(read_only=False)
    return Exists(members)


def _followed_by_their_service(professional: Professional) -> Q:
    # Pathways is above patients: reached by its reverse relation, not imported.
    return Q(
        pathways__support_service__members=professional,
        pathways__status__in=FOLLOWING_STATUSES,
    )


def _objected_to(professional: Professional) -> Exists:
    return Exists(
        ConsentRecord.objects.filter(
            patient=OuterRef("pk"),
            kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
            professional=professional,
            withdrawn_at__isnull=True,
        )
    )


def _break_glass_open(user: User) -> Exists:
    return Exists(
        BreakGlassAccess.objects.filter(
            patient=OuterRef("pk"), user=user, expires_at__gt=timezone.now()
        )
    )


def _own_record(user: User) -> Q:
    return Q(user=user)


def _authorised_caregiver(user: User) -> Exists:
    today = timezone.localdate()
    return Exists(
        Caregiver.objects.filter(patient=OuterRef("pk"), user=user).filter(
            Q(access_until__isnull=True) | Q(access_until__gte=today)
        )
    )


def _followed(patients: PatientQuerySet, user: User) -> PatientQuerySet:
    """What the user sees in the ordinary course of care (break-the-glass aside)."""
    if user.role == User.Role.PATIENT:
        return patients.filter(_own_record(user) | _authorised_caregiver(user))
    if not user.is_clinical:
        return patients.none()  # ARS analysts and administrators: no nominative access
    professional = _professional(user)
    if professional is None:
        return patients.none()
    return patients.filter(
        Q(_in_care_team(professional))
        | Q(pk__in=Patient.objects.filter(_followed_by_their_service(professional)).values("pk"))
    ).exclude(_objected_to(professional))


def visible_patients(patients: PatientQuerySet, user: User) -> PatientQuerySet:
    """The patients `user` may see, as a queryset (no duplicates, composable)."""
    if not user.is_authenticated or not user.is_active:
        return patients.none()
    followed = _followed(Patient.objects.all(), user)
    if not user.is_clinical:
        return patients.filter(pk__in=followed.values("pk"))
    return patients.filter(Q(pk__in=followed.values("pk")) | Q(_break_glass_open(user)))


def can_write_patient(user: User, patient: Patient) -> bool:
    """Writing (notes, documents, care team) is for the writable care team and the
    coordinators following the patient, never under break-the-glass alone."""
    if not user.is_authenticated or not user.is_active or not user.is_clinical:
        return False
    professional = _professional(user)
    if professional is None:
        return False
    writers = (
        Patient.objects.filter(pk=patient.pk)
        .filter(
            Q(_in_care_team(professional, writable=True))
            | Q(
                pk__in=Patient.objects.filter(_followed_by_their_service(professional)).values("pk")
            )
        )
        .exclude(_objected_to(professional))
    )
    return writers.exists()


def get_patient_for(
    request: HttpRequest,
    pk: int,
    *,
    write: bool = False,
    object_type: str = "patient",
    object_id: str | int = "",
) -> Patient:
    """The patient if the request's user may see it (404 otherwise), may change it when
    `write` (403 otherwise); one AuditEvent either way."""
    user = request.user
    action = AuditEvent.Action.UPDATE if write else AuditEvent.Action.READ
    patient = Patient.objects.visible_to(user).select_related("gp", "commune").filter(pk=pk).first()
    allowed = patient is not None and (not write or can_write_patient(user, patient))
    record_access(
        request=request,
        action=action,
        object_type=object_type,
        object_id=object_id or pk,
        patient_id=pk,
        outcome=AuditEvent.Outcome.ALLOWED if allowed else AuditEvent.Outcome.DENIED,
        break_glass_reason=_break_glass_reason(user, patient) if allowed else "",
    )
    if patient is None:
        raise Http404
    if not allowed:
        raise PermissionDenied
    return patient


def _break_glass_reason(user: User, patient: Patient) -> str:
    """The justification when the access rests on break-the-glass alone, else ""."""
    if _followed(Patient.objects.filter(pk=patient.pk), user).exists():
        return ""
    access = (
        BreakGlassAccess.objects.filter(user=user, patient=patient, expires_at__gt=timezone.now())
        .order_by("-started_at")
        .first()
    )
    return access.reason if access else ""
