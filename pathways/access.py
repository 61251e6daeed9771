"""Who may act on pathway objects that are not reached through a patient the user sees:
a referral seen by the service it was sent to, a tele-expertise request seen by its
expert, the care plan validated by the patient's GP; and the alerts about the patients
one sees. Patient data itself is always reached through `patients.access` (the one
policy); these functions decide the narrower cases and audit them the same way."""

from collections.abc import Collection

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest

from pathways.models import Alert, Referral, TeleExpertiseRequest
from patients.access import visible_patients
from patients.models import ConsentRecord, Patient
from professionals.models import Professional
from tsn.audit import record_access
from tsn.models import AuditEvent, User

# --- Referrals seen by their service, tele-expertise requests by their expert ---


def _acting_professional(user: User) -> Professional | None:
    """The professional behind a signed-in, active clinical account; None otherwise."""
    if not user.is_authenticated:
        return None
    if not user.is_active:
        return None
    if not user.is_clinical:
        return None
    try:
        return user.professional
    except Professional.DoesNotExist:
        return None


def _not_objected_to(professional: Professional) -> Exists:
    """The patient has not objected to this professional (an objection overrides all)."""
    return ~Exists(
        ConsentRecord.objects.filter(
            patient=OuterRef("patient"),
            kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
            professional=professional,
            withdrawn_at__isnull=True,
        )
    )


def referrals_for_service_member(user: User) -> QuerySet[Referral]:
    """The referrals sent to the services `user` is a member of (their inbox)."""
    professional = _acting_professional(user)
    if professional is None:
        return Referral.objects.none()
    return Referral.objects.filter(
        _not_objected_to(professional),
        service__members=professional,
    )


def tele_expertise_for_expert(user: User) -> QuerySet[TeleExpertiseRequest]:
    """The tele-expertise requests addressed to `user` (their inbox)."""
    professional = _acting_professional(user)
    if professional is None:
        return TeleExpertiseRequest.objects.none()
    return TeleExpertiseRequest.objects.filter(
        _not_objected_to(professional),
        expert=professional,
    )


def _audit(
    request: HttpRequest,
    *,
    write: bool,
    object_type: str,
    object_id: str | int,
    patient_id: int | None,
    allowed: bool,
) -> None:
    record_access(
        request=request,
        action=AuditEvent.Action.UPDATE if write else AuditEvent.Action.READ,
        object_type=object_type,
        object_id=object_id,
        patient_id=patient_id,
        outcome=AuditEvent.Outcome.ALLOWED if allowed else AuditEvent.Outcome.DENIED,
    )


def get_referral_for_service(
    request: HttpRequest, referral_pk: int, *, write: bool = False
) -> Referral:
    """The referral if the request's user is a member of the service it was sent to (404
    otherwise, whether it exists or not); one AuditEvent either way."""
    referral = (
        referrals_for_service_member(request.user)
        .select_related("patient__commune", "service__organization", "sent_by", "responded_by")
        .filter(pk=referral_pk)
        .first()
    )
    patient_id = (
        referral.patient_id
        if referral is not None
        else Referral.objects.filter(pk=referral_pk).values_list("patient_id", flat=True).first()
    )
    _audit(
        request,
        write=write,
        object_type="referral",
        object_id=referral_pk,
        patient_id=patient_id,
        allowed=referral is not None,
    )
    if referral is None:
        raise Http404
    return referral


def get_tele_expertise_for_expert(
    request: HttpRequest,
    request_pk: int,
    *,
    write: bool = False,
    object_type: str = "tele_expertise",
    object_id: str | int = "",
) -> TeleExpertiseRequest:
    """The tele-expertise request if the request's user is its expert (404 otherwise,
    whether it exists or not); one AuditEvent either way."""
    tele_expertise = (
        tele_expertise_for_expert(request.user)
        .select_related("patient", "requester", "expert")
        .filter(pk=request_pk)
        .first()
    )
    patient_id = (
        tele_expertise.patient_id
        if tele_expertise is not None
        else TeleExpertiseRequest.objects.filter(pk=request_pk)
        .values_list("patient_id", flat=True)
        .first()
    )
    _audit(
        request,
        write=write,
        object_type=object_type,
        object_id=object_id or request_pk,
        patient_id=patient_id,
        allowed=tele_expertise is not None,
    )
    if tele_expertise is None:
        raise Http404
    return tele_expertise


# --- Alerts: those about the patients one may see ---


def visible_alerts(
    user: User, alerts: QuerySet[Alert], *, only: Collection[int] | None = None
) -> QuerySet[Alert]:
    """`alerts` narrowed to those about patients `user` may see (the one policy); `only`
    (patient ids) says the caller asks about those patients alone, which keeps it cheap."""
    patients = Patient.objects.all() if only is None else Patient.objects.filter(pk__in=only)
    return alerts.filter(patient__in=visible_patients(patients, user, only=only))


def get_alert_for(request: HttpRequest, alert_pk: int, *, write: bool = False) -> Alert:
    """The alert if it is about a patient the request's user may see (404 otherwise,
    whether it exists or not); one AuditEvent either way."""
    patient_id = Alert.objects.filter(pk=alert_pk).values_list("patient_id", flat=True).first()
    alert = None
    if patient_id is not None:
        alert = (
            visible_alerts(request.user, Alert.objects.filter(pk=alert_pk), only=[patient_id])
            .select_related("patient")
            .first()
        )
    _audit(
        request,
        write=write,
        object_type="alert",
        object_id=alert_pk,
        patient_id=patient_id,
        allowed=alert is not None,
    )
    if alert is None:
        raise Http404
    return alert


def can_revise_templates(user: User) -> bool:
    """Pathway templates are the territory's shared practice: its coordinators and
    administrators revise them."""
    return user.is_authenticated and user.role in (User.Role.COORDINATOR, User.Role.ADMINISTRATOR)


def can_validate_care_plan(user: User, patient: Patient) -> bool:
    """The care plan is validated by the patient's GP (médecin traitant), and by them only."""
    professional = _acting_professional(user)
    return professional is not None and patient.gp_id == professional.pk


# --- Evaluation reports: aggregates for the ARS, never a patient ---


def can_request_evaluation(user: User) -> bool:
    """ARS analysts and the territory's administrators request and download the reports."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role in (User.Role.ARS_ANALYST, User.Role.ADMINISTRATOR)
    )


def can_extract_pseudonymised(user: User) -> bool:
    """The research extract (keyed hashes of the INS) is the territory administrators'."""
    return user.is_authenticated and user.is_active and user.role == User.Role.ADMINISTRATOR
