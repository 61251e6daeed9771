"""Who may see which patient: the one access policy (DESIGN.md §5), and its chokepoint.

Every page, API endpoint, export, PDF and task reaches patient data through
`Patient.objects.visible_to(user)` or `get_patient_for(request, pk)`; nothing else
decides. One condition per line, so that a review reads the rule.
"""

from collections.abc import Callable

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
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

# Each ground of access is a set of patient ids (a subquery). `only` narrows every set to
# one patient: the chokepoint then costs a few index lookups, not a scan of the territory.
IdSet = QuerySet


def _professional(user: User) -> Professional | None:
    try:
        return user.professional
    except Professional.DoesNotExist:
        return None


def _narrow(ids: IdSet, only: int | None) -> IdSet:
    return ids if only is None else ids.filter(patient_id=only)


def _care_team_of(professional: Professional, only: int | None, *, writable: bool = False) -> IdSet:
    members = CareTeamMember.objects.filter(
        in_effect_on(timezone.localdate()), professional=professional
    )
    if writable:
        members = members.filter(read_only=False)
    return _narrow(members.values("patient_id"), only)


def _followed_by_their_service(professional: Professional, only: int | None) -> IdSet:
    # Pathways sit above patients: named, not imported.
    pathway = apps.get_model("pathways", "Pathway")
    return _narrow(
        pathway.objects.filter(
            support_service__members=professional, status__in=FOLLOWING_STATUSES
        ).values("patient_id"),
        only,
    )


def _objected_to(professional: Professional, only: int | None) -> IdSet:
    return _narrow(
        ConsentRecord.objects.filter(
            kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
            professional=professional,
            withdrawn_at__isnull=True,
        ).values("patient_id"),
        only,
    )


def _break_glass_open(user: User, only: int | None) -> IdSet:
    return _narrow(
        BreakGlassAccess.objects.filter(user=user, expires_at__gt=timezone.now()).values(
            "patient_id"
        ),
        only,
    )


def _cared_for_by(user: User, only: int | None) -> IdSet:
    """Patients of whom the user is an authorised caregiver (access not expired)."""
    today = timezone.localdate()
    return _narrow(
        Caregiver.objects.filter(user=user)
        .filter(Q(access_until__isnull=True) | Q(access_until__gte=today))
        .values("patient_id"),
        only,
    )


def _in_the_course_of_care(user: User, only: int | None = None) -> Q | None:
    """The ordinary grounds (break-the-glass aside), or None when there are none."""
    if user.role == User.Role.PATIENT:
        return Q(user=user) | Q(pk__in=_cared_for_by(user, only))
    if not user.is_clinical:
        return None  # ARS analysts and administrators: no nominative access
    professional = _professional(user)
    if professional is None:
        return None
    return (
        Q(pk__in=_care_team_of(professional, only))
        | Q(pk__in=_followed_by_their_service(professional, only))
    ) & ~Q(pk__in=_objected_to(professional, only))


def visible_patients(
    patients: PatientQuerySet, user: User, *, only: int | None = None
) -> PatientQuerySet:
    """The patients `user` may see, as a queryset (no duplicates, composable)."""
    if not user.is_authenticated or not user.is_active:
        return patients.none()
    grounds = _in_the_course_of_care(user, only)
    if user.is_clinical:
        emergency = Q(pk__in=_break_glass_open(user, only))
        grounds = emergency if grounds is None else grounds | emergency
    if grounds is None:
        return patients.none()
    return patients.filter(grounds)


def can_write_patient(user: User, patient: Patient) -> bool:
    """Writing (notes, documents, care team) is for the writable care team and the
    coordinators following the patient, never under break-the-glass alone."""
    if not user.is_authenticated or not user.is_active or not user.is_clinical:
        return False
    professional = _professional(user)
    if professional is None:
        return False
    only = patient.pk
    writers = (
        Q(pk__in=_care_team_of(professional, only, writable=True))
        | Q(pk__in=_followed_by_their_service(professional, only))
    ) & ~Q(pk__in=_objected_to(professional, only))
    return Patient.objects.filter(writers, pk=only).exists()


def can_read_access_log(user: User, patient: Patient) -> bool:
    """Who accessed a record is for its referent coordinators and the patient."""
    if user.role == User.Role.PATIENT:
        return patient.user_id == user.pk
    return patient.pathways.filter(referent__user=user).exists()


def get_patient_for(
    request: HttpRequest,
    pk: int,
    *,
    write: bool = False,
    also: Callable[[User, Patient], bool] | None = None,
    object_type: str = "patient",
    object_id: str | int = "",
) -> Patient:
    """The patient if the request's user may see it (404 otherwise), may change it when
    `write`, and passes the page's own rule `also` (e.g. `can_read_access_log`) (403
    otherwise); one AuditEvent either way."""
    user = request.user
    action = AuditEvent.Action.UPDATE if write else AuditEvent.Action.READ
    patient = (
        visible_patients(Patient.objects.filter(pk=pk), user, only=pk)
        .select_related("gp", "commune")
        .first()
    )
    allowed = (
        patient is not None
        and (not write or can_write_patient(user, patient))
        and (also is None or also(user, patient))
    )
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
    grounds = _in_the_course_of_care(user, patient.pk)
    if grounds is not None and Patient.objects.filter(grounds, pk=patient.pk).exists():
        return ""
    access = (
        BreakGlassAccess.objects.filter(user=user, patient=patient, expires_at__gt=timezone.now())
        .order_by("-started_at")
        .first()
    )
    return access.reason if access else ""
