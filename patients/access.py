"""Who may see which patient: the one access policy (DESIGN.md §5), and its chokepoint.

Every page, API endpoint, export, PDF and task reaches patient data through
`Patient.objects.visible_to(user)` or `get_patient_for(request, pk)`; nothing else
decides. One condition per line, so that a review reads the rule.
"""

import functools
import operator
from collections.abc import Callable, Collection

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value
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
from professionals.authentication import machine_token
from professionals.models import OrganizationToken, Professional
from tsn.audit import audit_event, record_access
from tsn.models import AuditEvent, User
from tsn.periods import in_effect_on

# Pathway statuses during which the following support service sees the patient.
FOLLOWING_STATUSES = ("proposed", "active", "suspended")

# Each ground of access is a set of patient ids (a subquery). `only` narrows every set to
# one patient, or to the few patients of a page: the check then costs a few index lookups,
# not a scan of the territory.
IdSet = QuerySet
Only = int | Collection[int] | None


def _professional(user: User) -> Professional | None:
    try:
        return user.professional
    except Professional.DoesNotExist:
        return None


def _ids(model: type[models.Model], only: Only, *conditions: Q, **lookups: object) -> IdSet:
    """The patient ids of `model` rows meeting the conditions (one filter() call: building
    querysets clause by clause is what the access check spends most of its time on)."""
    if isinstance(only, int):
        lookups["patient_id"] = only
    elif only is not None:
        lookups["patient_id__any"] = list(only)  # one array parameter (tsn/lookups.py)
    return model.objects.filter(*conditions, **lookups).values("patient_id")


def _care_team_of(professional: Professional, only: Only, *, writable: bool = False) -> IdSet:
    writable_only = {"read_only": False} if writable else {}
    return _ids(
        CareTeamMember,
        only,
        in_effect_on(timezone.localdate()),
        professional=professional,
        **writable_only,
    )


def _followed_by_their_service(professional: Professional, only: Only) -> IdSet:
    # Pathways sit above patients: named, not imported.
    return _ids(
        apps.get_model("pathways", "Pathway"),
        only,
        support_service__members=professional,
        status__in=FOLLOWING_STATUSES,
    )


def _referred_to_their_service(professional: Professional, only: Only) -> IdSet:
    """Patients whose referral to one of the professional's services was accepted."""
    return _ids(
        apps.get_model("pathways", "Referral"),
        only,
        service__members=professional,
        status="accepted",
    )


def _objected_to(professional: Professional, only: Only) -> IdSet:
    return _ids(
        ConsentRecord,
        only,
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=professional,
        withdrawn_at__isnull=True,
    )


def _break_glass_open(user: User, only: Only) -> IdSet:
    return _ids(BreakGlassAccess, only, user=user, expires_at__gt=timezone.now())


def _cared_for_by(user: User, only: Only) -> IdSet:
    """Patients of whom the user is an authorised caregiver (access not expired)."""
    today = timezone.localdate()
    not_expired = Q(access_until__isnull=True) | Q(access_until__gte=today)
    return _ids(Caregiver, only, not_expired, user=user)


def _in_the_course_of_care(user: User, only: Only = None) -> Q | None:
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
        | Q(pk__in=_referred_to_their_service(professional, only))
    ) & ~Q(pk__in=_objected_to(professional, only))


def _writing_grounds(user: User, only: Only) -> Q | None:
    """Writing (notes, documents, care team) is for the writable care team and the
    services following the patient, never under break-the-glass alone."""
    if user.role == User.Role.PATIENT or not user.is_clinical:
        return None
    professional = _professional(user)
    if professional is None:
        return None
    return (
        Q(pk__in=_care_team_of(professional, only, writable=True))
        | Q(pk__in=_followed_by_their_service(professional, only))
        | Q(pk__in=_referred_to_their_service(professional, only))
    ) & ~Q(pk__in=_objected_to(professional, only))


def _signed_in(user: User) -> bool:
    return user.is_authenticated and user.is_active


def _emergency(user: User, only: Only) -> Q | None:
    return Q(pk__in=_break_glass_open(user, only)) if user.is_clinical else None


def _flag(grounds: Q | None) -> ExpressionWrapper | Value:
    """A boolean column: does the row meet these grounds?"""
    if grounds is None:
        return Value(False)
    return ExpressionWrapper(grounds, output_field=BooleanField())


def visible_patients(
    patients: PatientQuerySet, user: User, *, only: Only = None
) -> PatientQuerySet:
    """The patients `user` may see, as a queryset (no duplicates, composable); `only`
    (ids) says the caller asks about those patients alone, which keeps the check cheap."""
    if not _signed_in(user):
        return patients.none()
    grounds = [g for g in (_in_the_course_of_care(user, only), _emergency(user, only)) if g]
    if not grounds:
        return patients.none()
    return patients.filter(functools.reduce(operator.or_, grounds))


def _organization_grounds(token: OrganizationToken) -> Exists:
    """What an organisation's machine may reach: the patients with an active care-team
    member who currently practises in the organisation and to whom the patient has not
    objected (the hospital, the practice, the monitoring platform caring for them)."""
    today = timezone.localdate()
    member_there = CareTeamMember.objects.filter(
        in_effect_on(today),
        in_effect_on(today, "professional__roles__"),
        patient=OuterRef("pk"),
        professional__roles__organization=token.organization_id,
    ).exclude(
        Exists(
            ConsentRecord.objects.filter(
                patient=OuterRef("patient"),
                professional=OuterRef("professional"),
                kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
                withdrawn_at__isnull=True,
            )
        )
    )
    return Exists(member_there)


def visible_patients_for(request: HttpRequest) -> PatientQuerySet:
    """The patients the request may reach: its user's (`visible_patients`), or, for an
    organisation's machine (API token), its organisation's."""
    token = machine_token(request)
    if token is not None:
        return Patient.objects.filter(_organization_grounds(token))
    return visible_patients(Patient.objects.all(), request.user)


def can_write_patient(user: User, patient: Patient) -> bool:
    if not _signed_in(user):
        return False
    if getattr(patient, "_checked_for", None) == user.pk:
        return patient._may_write  # answered by get_patient_for in the same query
    grounds = _writing_grounds(user, patient.pk)
    return grounds is not None and Patient.objects.filter(grounds, pk=patient.pk).exists()


def can_read_access_log(user: User, patient: Patient) -> bool:
    """Who accessed a record is for its referent coordinators and the patient."""
    if not _signed_in(user):
        return False
    if user.role == User.Role.PATIENT:
        return patient.user_id == user.pk
    return patient.pathways.filter(referent__user=user).exists()


def can_invite_to_portal(user: User, patient: Patient) -> bool:
    """Opening a portal account (the patient's, a caregiver's) is for the referent
    coordinators of the patient's current pathways (callers also ask for write access)."""
    if not _signed_in(user):
        return False
    if not user.is_clinical:
        return False
    return patient.pathways.filter(referent__user=user, status__in=FOLLOWING_STATUSES).exists()


def get_patient_for(
    request: HttpRequest,
    pk: int,
    *,
    write: bool = False,
    also: Callable[[User, Patient], bool] | None = None,
    object_type: str = "patient",
    object_id: str | int = "",
    action: str | None = None,
) -> Patient:
    """The patient if the request's user may see it (404 otherwise), may change it when
    `write`, and passes the page's own rule `also` (e.g. `can_read_access_log`) (403
    otherwise; a machine never passes it); one AuditEvent either way, of `action`
    (default: read, or update when `write`; an export says so)."""
    user = request.user
    action = action or (AuditEvent.Action.UPDATE if write else AuditEvent.Action.READ)
    token = machine_token(request)
    # One query answers every question for this one patient; the grounds are the ones
    # visible_patients() uses, narrowed to it. A machine reads and writes its
    # organisation's patients, and passes no page's own rule.
    if token is not None:
        grounds = _organization_grounds(token)
        row = (
            Patient.objects.filter(pk=pk)
            .annotate(_in_care=grounds, _via_glass=Value(False), _may_write=grounds)
            .select_related("gp", "commune")
            .first()
        )
    elif _signed_in(user):
        row = (
            Patient.objects.filter(pk=pk)
            .annotate(
                _in_care=_flag(_in_the_course_of_care(user, pk)),
                _via_glass=_flag(_emergency(user, pk)),
                _may_write=_flag(_writing_grounds(user, pk)),
            )
            .select_related("gp", "commune")
            .first()
        )
    else:
        row = None
    patient = row if row is not None and (row._in_care or row._via_glass) else None
    if patient is not None:
        patient._checked_for = user.pk
    allowed = (
        patient is not None
        and (not write or patient._may_write)
        and (also is None or (token is None and also(user, patient)))
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
    if patient._in_care:
        return ""
    access = (
        BreakGlassAccess.objects.filter(user=user, patient=patient, expires_at__gt=timezone.now())
        .order_by("-started_at")
        .first()
    )
    return access.reason if access else ""


# --- Several patients at once: a batch of data sent by a person or an organisation's machine ---


class PatientsNotFound(Http404):
    """Some patients of a batch are not visible (or do not exist): the same answer."""

    def __init__(self, pks: Collection[int]) -> None:
        super().__init__()
        self.pks = sorted(pks)


class PatientsReadOnly(PermissionDenied):
    """Some patients of a batch are visible but may not be changed by the user."""

    def __init__(self, pks: Collection[int]) -> None:
        super().__init__()
        self.pks = sorted(pks)


def _audit_denied(
    request: HttpRequest, pks: Collection[int], *, action: str, object_type: str, object_id: str
) -> None:
    AuditEvent.objects.bulk_create(
        audit_event(
            request=request,
            patient_id=pk,
            action=action,
            outcome=AuditEvent.Outcome.DENIED,
            object_type=object_type,
            object_id=object_id,
        )
        for pk in sorted(pks)
    )


def get_patients_for_writing(
    request: HttpRequest,
    pks: Collection[int],
    *,
    object_type: str = "patient",
    action: str = AuditEvent.Action.CREATE,
) -> dict[int, Patient]:
    """`get_patient_for(write=True)` for a batch, all or nothing: PatientsNotFound (a 404)
    if one is not visible, PatientsReadOnly (a 403) if one is visible but may not be
    changed. Each refusal is audited (one event per patient); the caller audits its write."""
    user = request.user
    pks = set(pks)
    rows = (
        {
            row.pk: row
            for row in Patient.objects.filter(pk__in=pks)
            .annotate(
                _in_care=_flag(_in_the_course_of_care(user, pks)),
                _via_glass=_flag(_emergency(user, pks)),
                _may_write=_flag(_writing_grounds(user, pks)),
            )
            .select_related("gp")
        }
        if _signed_in(user)
        else {}
    )
    hidden = {pk for pk in pks if pk not in rows or not (rows[pk]._in_care or rows[pk]._via_glass)}
    read_only = {pk for pk in pks - hidden if not rows[pk]._may_write}
    if hidden or read_only:
        _audit_denied(
            request, hidden | read_only, action=action, object_type=object_type, object_id=""
        )
    if hidden:
        raise PatientsNotFound(hidden)
    if read_only:
        raise PatientsReadOnly(read_only)
    for patient in rows.values():
        patient._checked_for = user.pk
    return rows


def get_patients_for_token(
    request: HttpRequest,
    token: OrganizationToken,
    pks: Collection[int],
    *,
    object_type: str = "patient",
    action: str = AuditEvent.Action.CREATE,
) -> dict[int, Patient]:
    """The patients an organisation's machine may send data about: those with an active
    care-team member who currently practises in the organisation and to whom the patient
    has not objected. PatientsNotFound (a 404) for any other, or unknown, patient; each
    refusal is audited (one event per patient, the token as object)."""
    pks = set(pks)
    rows = {
        patient.pk: patient
        for patient in Patient.objects.filter(
            _organization_grounds(token), pk__in=pks
        ).select_related("gp")
    }
    hidden = pks - set(rows)
    if hidden:
        _audit_denied(
            request, hidden, action=action, object_type=object_type, object_id=f"token:{token.pk}"
        )
        raise PatientsNotFound(hidden)
    return rows
