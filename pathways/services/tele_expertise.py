"""Tele-expertise: a professional asks a specialist a question about a patient, with
documents of the record; the specialist answers within a deadline. Question and answer
both go to the patient's timeline.

The answer is claimed with a conditional UPDATE (`WHERE status = 'asked'`): of two
answers sent at once, or an answer crossing a cancellation, only one is kept.
"""

import datetime
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from pathways.models import TeleExpertiseRequest
from patients.models import ConsentRecord, Document, Patient, TimelineEvent
from patients.services import add_timeline_event
from professionals.models import Professional
from tsn.audit import record_access
from tsn.models import AuditEvent

Status = TeleExpertiseRequest.Status
DEFAULT_ANSWER_DAYS = 7
MAX_ANSWER_DAYS = 60


def _professional_of(request: HttpRequest) -> Professional:
    try:
        return request.user.professional
    except (AttributeError, Professional.DoesNotExist):
        raise ValidationError(
            _("Seul un professionnel du répertoire peut faire cela."), code="not_a_professional"
        ) from None


def _audit(*, request: HttpRequest, tele_expertise: TeleExpertiseRequest, action: str) -> None:
    record_access(
        request=request,
        action=action,
        object_type="tele_expertise",
        object_id=tele_expertise.pk,
        patient_id=tele_expertise.patient_id,
    )


@transaction.atomic
def ask_tele_expertise(
    *,
    request: HttpRequest,
    patient: Patient,
    expert: Professional,
    question: str,
    documents: Iterable[Document] = (),
    answer_within_days: int = DEFAULT_ANSWER_DAYS,
) -> TeleExpertiseRequest:
    """Ask `expert` a question about `patient`, with documents of that patient's record."""
    requester = _professional_of(request)
    documents = list(documents)
    if not question.strip():
        raise ValidationError(_("Posez votre question."), code="question_required")
    if expert.pk == requester.pk:
        raise ValidationError(
            _("Choisissez un autre professionnel que vous-même."), code="self_expertise"
        )
    if expert.user_id is None or not expert.user.is_active:
        raise ValidationError(
            _("Ce professionnel n'a pas de compte TSN : il ne pourrait pas répondre."),
            code="expert_without_account",
        )
    if patient.consents.filter(
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=expert,
        withdrawn_at__isnull=True,
    ).exists():
        raise ValidationError(
            _("Le patient s'est opposé à ce que ce professionnel accède à son dossier."),
            code="objected_professional",
        )
    if any(document.patient_id != patient.pk for document in documents):
        raise ValidationError(
            _("Seuls les documents du dossier de ce patient peuvent être joints."),
            code="foreign_document",
        )
    if not 1 <= answer_within_days <= MAX_ANSWER_DAYS:
        raise ValidationError(
            _("Le délai de réponse va de 1 à %(max)s jours.") % {"max": MAX_ANSWER_DAYS},
            code="answer_days",
        )
    now = timezone.now()
    tele_expertise = TeleExpertiseRequest.objects.create(
        patient=patient,
        requester=requester,
        expert=expert,
        question=question,
        asked_at=now,
        answer_by=now + datetime.timedelta(days=answer_within_days),
    )
    tele_expertise.documents.set(documents)
    add_timeline_event(
        request=request,
        patient=patient,
        kind=TimelineEvent.Kind.TELE_EXPERTISE,
        title=(_("Demande de télé-expertise à %(expert)s") % {"expert": expert})[:200],
        body=question,
    )
    _audit(request=request, tele_expertise=tele_expertise, action=AuditEvent.Action.CREATE)
    return tele_expertise


def _claim(tele_expertise: TeleExpertiseRequest, to: str, **changes: object) -> None:
    """Move an ASKED request to `to`, unless someone else has just moved it."""
    if tele_expertise.status != Status.ASKED:
        raise ValidationError(
            _("Cette demande est déjà « %(status)s ».")
            % {"status": tele_expertise.get_status_display()},
            code="not_allowed",
        )
    changes = {"status": to, "updated_at": timezone.now(), **changes}
    if not TeleExpertiseRequest.objects.filter(pk=tele_expertise.pk, status=Status.ASKED).update(
        **changes
    ):
        raise ValidationError(
            _("La demande vient d'être modifiée par quelqu'un d'autre : rechargez la page."),
            code="concurrent_change",
        )
    for field, value in changes.items():
        setattr(tele_expertise, field, value)


@transaction.atomic
def answer_tele_expertise(
    *, request: HttpRequest, tele_expertise: TeleExpertiseRequest, answer: str
) -> TeleExpertiseRequest:
    """The expert answers; the answer goes to the patient's timeline, signed by them."""
    if tele_expertise.expert.user_id != request.user.pk:
        raise PermissionDenied
    if not answer.strip():
        raise ValidationError(_("Rédigez votre réponse."), code="answer_required")
    _claim(tele_expertise, Status.ANSWERED, answer=answer, answered_at=timezone.now())
    add_timeline_event(
        request=request,
        patient=tele_expertise.patient,
        kind=TimelineEvent.Kind.TELE_EXPERTISE,
        title=(_("Réponse de télé-expertise de %(expert)s") % {"expert": tele_expertise.expert})[
            :200
        ],
        body=answer,
    )
    _audit(request=request, tele_expertise=tele_expertise, action=AuditEvent.Action.UPDATE)
    return tele_expertise


@transaction.atomic
def cancel_tele_expertise(
    *, request: HttpRequest, tele_expertise: TeleExpertiseRequest
) -> TeleExpertiseRequest:
    """The requester withdraws a question not yet answered."""
    if tele_expertise.requester.user_id != request.user.pk:
        raise ValidationError(
            _("Seul le professionnel qui a posé la question peut l'annuler."),
            code="not_the_requester",
        )
    _claim(tele_expertise, Status.CANCELLED)
    add_timeline_event(
        request=request,
        patient=tele_expertise.patient,
        kind=TimelineEvent.Kind.TELE_EXPERTISE,
        title=(
            _("Demande de télé-expertise à %(expert)s annulée") % {"expert": tele_expertise.expert}
        )[:200],
    )
    _audit(request=request, tele_expertise=tele_expertise, action=AuditEvent.Action.UPDATE)
    return tele_expertise
