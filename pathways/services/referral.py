"""Referrals to the territory's support services: sent, acknowledged, accepted or refused
(with a reason), done, or cancelled by the sender's side.

Each answer is claimed with a conditional UPDATE (`WHERE status = <the status the user
saw>`): of two members answering the same referral at once, one changes it and the other
is told it has just changed. Who sent what to whom stays in the referral's columns, the
patient's timeline and the audit trail.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from pathways.models import Pathway, Referral
from patients.models import Patient, TimelineEvent
from patients.services import add_timeline_event
from professionals.models import Professional, SupportService
from tsn.audit import record_access
from tsn.models import AuditEvent

Status = Referral.Status


def _professional_of(request: HttpRequest) -> Professional:
    try:
        return request.user.professional
    except (AttributeError, Professional.DoesNotExist):
        raise ValidationError(
            _("Seul un professionnel du répertoire peut faire cela."), code="not_a_professional"
        ) from None


def _event(*, request: HttpRequest, referral: Referral, title: str, body: str = "") -> None:
    add_timeline_event(
        request=request,
        patient=referral.patient,
        kind=TimelineEvent.Kind.MESSAGE,
        title=(title % {"service": referral.service.name})[:200],
        body=body,
        pathway=referral.pathway,
    )


def _audit(*, request: HttpRequest, referral: Referral, action: str) -> None:
    record_access(
        request=request,
        action=action,
        object_type="referral",
        object_id=referral.pk,
        patient_id=referral.patient_id,
    )


@transaction.atomic
def send_referral(
    *,
    request: HttpRequest,
    patient: Patient,
    service: SupportService,
    reason: str,
    pathway: Pathway | None = None,
) -> Referral:
    """Send a referral to a support service; its response clock starts now."""
    sender = _professional_of(request)
    if not reason.strip():
        raise ValidationError(_("Indiquez le motif de la demande."), code="reason_required")
    if pathway is not None and pathway.patient_id != patient.pk:
        raise ValidationError(_("Ce parcours n'est pas celui de ce patient."), code="wrong_pathway")
    # Serialise the sends about this patient, so that a double submission makes one referral.
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk").first()
    if patient.referrals.filter(
        service=service, status__in=(*Referral.AWAITING_STATUSES, Status.ACCEPTED)
    ).exists():
        raise ValidationError(
            _("Une demande à ce service est déjà en cours pour ce patient."),
            code="already_referred",
        )
    now = timezone.now()
    referral = Referral.objects.create(
        patient=patient,
        service=service,
        pathway=pathway,
        sent_by=sender,
        sent_at=now,
        reason=reason,
        respond_by=now + datetime.timedelta(days=service.response_days),
    )
    _event(
        request=request,
        referral=referral,
        title=_("Demande d'appui envoyée : %(service)s"),
        body=reason,
    )
    _audit(request=request, referral=referral, action=AuditEvent.Action.CREATE)
    return referral


def _move(*, request: HttpRequest, referral: Referral, to: str, **changes: object) -> Referral:
    """Apply the move if the referral may make it and still has the status the user saw."""
    if not referral.may_become(to):
        raise ValidationError(
            _("Une demande « %(from)s » ne peut pas passer à « %(to)s »."),
            code="not_allowed",
            params={"from": Status(referral.status).label, "to": Status(to).label},
        )
    changes = {"status": to, "updated_at": timezone.now(), **changes}
    claimed = Referral.objects.filter(pk=referral.pk, status=referral.status).update(**changes)
    if not claimed:
        raise ValidationError(
            _("La demande vient d'être modifiée par quelqu'un d'autre : rechargez la page."),
            code="concurrent_change",
        )
    referral.refresh_from_db(fields=[*changes])
    _audit(request=request, referral=referral, action=AuditEvent.Action.UPDATE)
    return referral


def _member_of_service(request: HttpRequest, referral: Referral) -> Professional:
    """The professional answering for the service: one of its members."""
    professional = _professional_of(request)
    if not referral.service.members.filter(pk=professional.pk).exists():
        raise ValidationError(
            _("Seuls les membres du service peuvent répondre à cette demande."),
            code="not_a_member",
        )
    return professional


@transaction.atomic
def acknowledge_referral(*, request: HttpRequest, referral: Referral) -> Referral:
    """The service says it has received the referral (the clock keeps running)."""
    _member_of_service(request, referral)
    return _move(
        request=request,
        referral=referral,
        to=Status.ACKNOWLEDGED,
        acknowledged_at=timezone.now(),
    )


@transaction.atomic
def accept_referral(*, request: HttpRequest, referral: Referral) -> Referral:
    """The service takes the patient on: its members now see and write the record."""
    responder = _member_of_service(request, referral)
    now = timezone.now()
    _move(
        request=request,
        referral=referral,
        to=Status.ACCEPTED,
        acknowledged_at=Coalesce(F("acknowledged_at"), now),
        responded_at=now,
        responded_by=responder,
    )
    _event(request=request, referral=referral, title=_("Demande d'appui acceptée : %(service)s"))
    return referral


@transaction.atomic
def refuse_referral(*, request: HttpRequest, referral: Referral, reason: str) -> Referral:
    """The service declines, with the reason the sender reads."""
    responder = _member_of_service(request, referral)
    if not reason.strip():
        raise ValidationError(_("Indiquez le motif du refus."), code="reason_required")
    now = timezone.now()
    _move(
        request=request,
        referral=referral,
        to=Status.REFUSED,
        acknowledged_at=Coalesce(F("acknowledged_at"), now),
        responded_at=now,
        responded_by=responder,
        refusal_reason=reason,
        closed_at=now,
    )
    _event(
        request=request,
        referral=referral,
        title=_("Demande d'appui refusée : %(service)s"),
        body=reason,
    )
    return referral


@transaction.atomic
def complete_referral(*, request: HttpRequest, referral: Referral) -> Referral:
    """The service has done what was asked."""
    _member_of_service(request, referral)
    _move(request=request, referral=referral, to=Status.DONE, closed_at=timezone.now())
    _event(request=request, referral=referral, title=_("Demande d'appui réalisée : %(service)s"))
    return referral


@transaction.atomic
def cancel_referral(*, request: HttpRequest, referral: Referral, reason: str = "") -> Referral:
    """The sender's side withdraws the referral (the caller checked it may write the record)."""
    _move(request=request, referral=referral, to=Status.CANCELLED, closed_at=timezone.now())
    _event(
        request=request,
        referral=referral,
        title=_("Demande d'appui annulée : %(service)s"),
        body=reason,
    )
    return referral
