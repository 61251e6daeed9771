"""The hospital feed: HL7 v2.5 ADT messages (French IHE PAM) sent by an establishment,
matched to a patient, written to the timeline, dating the discharge steps, alerting the
care team; and the quarantine that administrators work through.

Every message an organisation sends is kept (`InboundMessage`), whatever became of it. A
message is claimed by inserting its row first: the unique (organisation, MSH-10) makes a
second delivery, even a concurrent one, a duplicate with no second effect.

The patient is found by a qualified INS, else by the strict identity traits; when no
record or several match, the message waits in quarantine for an administrator, who
attaches it to a record or dismisses it. Nothing is merged automatically.

Writes done for the machine are audited with no actor (the organisation is on the
message and on the timeline event); those done by an administrator, with them.
"""

import datetime
import unicodedata
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pathways.hl7 import (
    ACCEPT,
    APPLICATION_INTERNAL_ERROR,
    CANCELLATIONS,
    AdtMessage,
    Header,
    HL7Error,
    Identity,
    build_ack,
    read_adt,
    read_header,
)
from pathways.models import Alert, InboundMessage, Pathway, Step, StepTemplate
from pathways.services.alert import AlertDraft, raise_alerts
from pathways.services.pathway import due_dates
from patients.access import visible_patients
from patients.models import CareTeamMember, Patient, TimelineEvent
from professionals.models import Organization
from tsn.audit import client_ip as request_client_ip
from tsn.models import AuditEvent, User
from tsn.periods import in_effect_on

# Ids and codes only: a message's content is health data (tsn/logging.py).
log = structlog.get_logger(__name__)

Status = InboundMessage.Status
Kind = TimelineEvent.Kind

# What an event puts on the timeline (A04 only for an emergency visit, PV1-2 = E).
ADMISSIONS = ("A01", "A06")
EMERGENCY_CLASS = "E"
# A cancellation -> the events it cancels (of the same organisation and visit number).
CANCELLED_EVENTS = {"A11": ("A01", "A04", "A06"), "A12": ("A02",), "A13": ("A03",)}
IDENTITY_MERGE = "A40"
# Timeline kinds that tell the care team at once.
ALERTED_KINDS = {
    Kind.HOSPITAL_ADMISSION: Alert.Kind.HOSPITAL_ADMISSION,
    Kind.HOSPITAL_DISCHARGE: Alert.Kind.HOSPITAL_DISCHARGE,
    Kind.EMERGENCY_VISIT: Alert.Kind.EMERGENCY_VISIT,
}


@dataclass(frozen=True)
class _Actor:
    """Who the audit trail names: the administrator, or nobody for the machine."""

    user: User | None = None
    client_ip: str | None = None

    def audit(self, *, action: str, object_type: str, object_id: object, patient_id: int) -> None:
        AuditEvent.objects.create(
            actor=self.user,
            actor_role=self.user.role if self.user else "",
            patient_id=patient_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            client_ip=self.client_ip,
        )


# --- Finding the patient ---


def fold(text: str) -> str:
    """A name compared without case, accents or extra spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.casefold().split())


def survivor(patient: Patient) -> Patient:
    """The record a merged duplicate lives on in."""
    seen = {patient.pk}
    while patient.merged_into_id is not None and patient.merged_into_id not in seen:
        seen.add(patient.merged_into_id)
        patient = Patient.objects.get(pk=patient.merged_into_id)
    return patient


@dataclass(frozen=True)
class PatientMatch:
    patient: Patient | None
    # Why no patient was chosen (French, for the administrator).
    reason: str = ""


def _same_traits(patient: Patient, identity: Identity) -> bool:
    first_names = patient.first_names.split()
    if fold(patient.birth_last_name) != fold(identity.birth_name):
        return False
    if not first_names or fold(first_names[0]) != fold(identity.first_name):
        return False
    # The birth place counts when both know it.
    places = (patient.birth_place_insee, identity.birth_place)
    if all(places) and places[0] != places[1]:
        return False
    # A record holding another NIR is another person, whatever the names.
    return not (identity.ins and patient.nir and patient.nir != identity.ins)


def trait_candidates(identity: Identity) -> list[Patient]:
    """The records with the message's strict traits (birth name, first first name, birth
    date, sex, and birth place when both know it)."""
    if not identity.birth_date or not identity.sex:
        return []
    same_day = Patient.objects.filter(birth_date=identity.birth_date, sex=identity.sex)
    return [patient for patient in same_day if _same_traits(patient, identity)]


def review_candidates(identity: Identity, limit: int = 10) -> list[tuple[Patient, bool]]:
    """Records an administrator may compare with a quarantined message: the holder of its
    INS and those born the same day (not merged away), with whether the strict traits
    agree; the closest first."""
    found = Patient.objects.none()
    if identity.ins:
        found = Patient.objects.filter(nir=identity.ins)
    if identity.birth_date:
        found = found | Patient.objects.filter(birth_date=identity.birth_date)
    rows = [
        (patient, patient.sex == identity.sex and _same_traits(patient, identity))
        for patient in found.filter(merged_into__isnull=True)
        .select_related("commune")
        .order_by("birth_last_name", "pk")[:200]
    ]
    rows.sort(key=lambda row: (not (identity.ins and row[0].nir == identity.ins), not row[1]))
    return rows[:limit]


def match_patient(identity: Identity) -> PatientMatch:
    """The one record the identity designates: by qualified INS, else by strict traits."""
    if identity.ins and identity.is_qualified:
        found = Patient.objects.filter(
            nir=identity.ins, identity_status=Patient.IdentityStatus.QUALIFIED
        ).first()
        if found is not None:
            if found.birth_date != identity.birth_date or found.sex != identity.sex:
                return PatientMatch(
                    None,
                    _(
                        "INS qualifiée connue, mais la date de naissance ou le sexe diffèrent "
                        "du dossier n° %(pk)s : vérification d'identité nécessaire."
                    )
                    % {"pk": found.pk},
                )
            return PatientMatch(survivor(found))
    if not (identity.birth_name and identity.first_name and identity.birth_date and identity.sex):
        return PatientMatch(
            None,
            _(
                "Traits d'identité incomplets (nom de naissance, premier prénom, date de "
                "naissance, sexe) et pas d'INS qualifiée : en attente de rapprochement d'identité."
            ),
        )
    survivors = {record.pk: record for record in map(survivor, trait_candidates(identity))}
    if len(survivors) == 1:
        return PatientMatch(next(iter(survivors.values())))
    if not survivors:
        return PatientMatch(
            None,
            _(
                "Aucun dossier ne correspond à l'identité du message : en attente de "
                "rapprochement d'identité."
            ),
        )
    return PatientMatch(
        None,
        _(
            "Plusieurs dossiers correspondent aux traits d'identité (%(records)s) : en attente "
            "de rapprochement d'identité."
        )
        % {"records": ", ".join(f"n° {pk}" for pk in sorted(survivors))},
    )


# --- What a message does ---


def _cancelled_message(
    *, organization: Organization, adt: AdtMessage, patient: Patient | None = None
) -> InboundMessage | None:
    """The latest message a cancellation refers to (same organisation and visit number),
    locked so that two cancellations do not both correct it."""
    earlier = InboundMessage.objects.filter(
        organization=organization,
        visit_number=adt.visit_number,
        event__in=CANCELLED_EVENTS[adt.event],
        status__in=(Status.PROCESSED, Status.RESOLVED),
    )
    if patient is not None:
        earlier = earlier.filter(patient=patient)
    return earlier.order_by("-received_at", "-pk").select_for_update(of=("self",)).first()


def alert_recipients(patient: Patient) -> list[int]:
    """The users told of a hospital event: the GP, the referent coordinators of the open
    pathways, the active care team; each only if they may see the patient (an objection
    or an ended membership excludes them)."""
    today = timezone.localdate()
    open_pathways = Pathway.objects.filter(patient=patient).exclude(
        status__in=Pathway.CLOSED_STATUSES
    )
    candidates = User.objects.filter(is_active=True).filter(
        Exists(Patient.objects.filter(pk=patient.pk, gp__user=OuterRef("pk")))
        | Exists(open_pathways.filter(referent__user=OuterRef("pk")))
        | Exists(
            CareTeamMember.objects.filter(
                in_effect_on(today), patient=patient, professional__user=OuterRef("pk")
            )
        )
    )
    return sorted(
        user.pk
        for user in candidates
        if visible_patients(Patient.objects.filter(pk=patient.pk), user, only=patient.pk).exists()
    )


def _raise_alerts(*, message: InboundMessage, event: TimelineEvent) -> None:
    kind = ALERTED_KINDS[event.kind]
    raise_alerts(
        AlertDraft(
            patient_id=event.patient_id,
            kind=kind,
            message=event.title,
            dedupe_key=f"adt:{message.pk}:{user_id}",
            assignee_id=user_id,
            due_at=None,
        )
        for user_id in alert_recipients(event.patient)
    )


def _discharge_chain(
    patient: Patient, discharged_on: datetime.date
) -> list[tuple[Step, datetime.date | None]]:
    """The open steps of the patient's open pathways whose due date hangs on a discharge
    (counted from it, or from a step counted from it), each with its due date counted from
    `discharged_on` (the pathways' one rule: `pathways.services.pathway.due_dates`)."""
    pathways = (
        Pathway.objects.filter(
            patient=patient, steps__template_step__relative_to=StepTemplate.RelativeTo.DISCHARGE
        )
        .exclude(status__in=Pathway.CLOSED_STATUSES)
        .distinct()
        .prefetch_related("steps__template_step")
    )
    chain = []
    for pathway in pathways:
        steps = sorted(pathway.steps.all(), key=lambda step: step.template_step.order)
        templates = [step.template_step for step in steps]
        with_discharge = due_dates(templates, pathway.enrolled_on, discharged_on)
        without = due_dates(templates, pathway.enrolled_on, None)
        chain += [
            (step, with_discharge[step.template_step_id])
            for step in steps
            if step.is_open and without[step.template_step_id] is None
        ]
    return chain


def _audit_steps(steps: list[Step], *, patient: Patient, actor: _Actor) -> None:
    for step in steps:
        actor.audit(
            action=AuditEvent.Action.UPDATE,
            object_type="step",
            object_id=step.pk,
            patient_id=patient.pk,
        )


def _date_discharge_steps(*, patient: Patient, discharged_on: datetime.date, actor: _Actor) -> None:
    """The open steps counted from the discharge (directly, or through a step counted
    from it) get their due dates."""
    steps = []
    for step, due_on in _discharge_chain(patient, discharged_on):
        step.due_on = due_on
        steps.append(step)
    Step.objects.bulk_update(steps, ["due_on"])
    _audit_steps(steps, patient=patient, actor=actor)


def _undate_discharge_steps(
    *, patient: Patient, discharged_on: datetime.date, actor: _Actor
) -> None:
    """A cancelled discharge no longer dates the steps it dated."""
    steps = []
    for step, due_on in _discharge_chain(patient, discharged_on):
        if step.due_on == due_on:
            step.due_on = None
            steps.append(step)
    Step.objects.bulk_update(steps, ["due_on"])
    _audit_steps(steps, patient=patient, actor=actor)


def _timeline_kind(adt: AdtMessage) -> str | None:
    if adt.event in ADMISSIONS:
        return Kind.HOSPITAL_ADMISSION
    if adt.event == "A02":
        return Kind.HOSPITAL_TRANSFER
    if adt.event == "A03":
        return Kind.HOSPITAL_DISCHARGE
    if adt.event == "A04" and adt.visit and adt.visit.patient_class == EMERGENCY_CLASS:
        return Kind.EMERGENCY_VISIT
    # A04 outpatient registration, A05 pre-admission, A07 and A08 updates: kept, no event.
    return None


def _title(kind: str, organization: Organization) -> str:
    titles = {
        Kind.HOSPITAL_ADMISSION: _("Admission à l'hôpital : %(name)s"),
        Kind.HOSPITAL_TRANSFER: _("Transfert hospitalier : %(name)s"),
        Kind.HOSPITAL_DISCHARGE: _("Sortie d'hospitalisation : %(name)s"),
        Kind.EMERGENCY_VISIT: _("Passage aux urgences : %(name)s"),
    }
    return (titles[kind] % {"name": organization.name})[:200]


def _apply(
    *,
    message: InboundMessage,
    adt: AdtMessage,
    patient: Patient,
    cancelled: InboundMessage | None,
    actor: _Actor,
) -> TimelineEvent | None:
    """Write what the message says on the patient's record; returns the timeline event."""
    organization = message.organization
    if adt.event in CANCELLATIONS:
        return _cancel(message=message, cancelled=cancelled, actor=actor)
    kind = _timeline_kind(adt)
    if kind is None:
        return None
    event = TimelineEvent.objects.create(
        patient=patient,
        occurred_at=adt.event_time() or message.received_at,
        kind=kind,
        organization=organization,
        title=_title(kind, organization),
        body=_("Service : %(ward)s") % {"ward": adt.ward} if adt.ward else "",
        source=TimelineEvent.Source.HL7,
        # The patient's own stays: on their portal too.
        shared_with_patient=True,
    )
    actor.audit(
        action=AuditEvent.Action.CREATE,
        object_type="timeline_event",
        object_id=event.pk,
        patient_id=patient.pk,
    )
    if kind == Kind.HOSPITAL_DISCHARGE:
        _date_discharge_steps(
            patient=patient, discharged_on=timezone.localdate(event.occurred_at), actor=actor
        )
    if kind in ALERTED_KINDS:
        _raise_alerts(message=message, event=event)
    return event


def _cancel(
    *, message: InboundMessage, cancelled: InboundMessage | None, actor: _Actor
) -> TimelineEvent | None:
    """Mark the cancelled movement's event "entered in error" (a new event, never an
    edit); nothing to do when it had none or is already corrected."""
    original = cancelled.timeline_event if cancelled else None
    if original is None or original.corrections.exists():
        return None
    correction = TimelineEvent.objects.create(
        patient=original.patient,
        occurred_at=message.received_at,
        kind=Kind.ENTERED_IN_ERROR,
        organization=message.organization,
        title=(_("Saisie erronée : %(title)s") % {"title": original.title})[:200],
        body=_("Mouvement annulé par l'établissement (%(event)s).") % {"event": message.event},
        source=TimelineEvent.Source.HL7,
        corrects=original,
        shared_with_patient=original.shared_with_patient,
    )
    actor.audit(
        action=AuditEvent.Action.CREATE,
        object_type="timeline_event",
        object_id=correction.pk,
        patient_id=original.patient_id,
    )
    # The alerts the cancelled movement raised are moot.
    Alert.objects.filter(dedupe_key__startswith=f"adt:{cancelled.pk}:").exclude(
        status=Alert.Status.RESOLVED
    ).update(
        status=Alert.Status.RESOLVED,
        resolved_at=message.received_at,
        resolution_comment=_("Mouvement annulé par l'établissement (%(event)s).")
        % {"event": message.event},
    )
    if original.kind == Kind.HOSPITAL_DISCHARGE:
        _undate_discharge_steps(
            patient=original.patient,
            discharged_on=timezone.localdate(original.occurred_at),
            actor=actor,
        )
    return correction


# --- Receiving a message ---


@dataclass(frozen=True)
class _Decision:
    status: str
    reason: str = ""
    patient: Patient | None = None
    cancelled: InboundMessage | None = None


def _decide(*, organization: Organization, adt: AdtMessage) -> _Decision:
    """Where the message goes (reads only)."""
    if adt.event == IDENTITY_MERGE:
        return _Decision(
            Status.QUARANTINED,
            _(
                "Fusion d'identités à traiter (A40) : l'établissement a fusionné deux "
                "identités ; un administrateur vérifie les dossiers, aucune fusion n'est "
                "faite automatiquement."
            ),
        )
    match = match_patient(adt.identity)
    if adt.event in CANCELLATIONS:
        cancelled = _cancelled_message(organization=organization, adt=adt)
        if cancelled is None:
            return _Decision(
                Status.QUARANTINED,
                _(
                    "Annulation (%(event)s) d'un mouvement inconnu : aucun message traité pour "
                    "la venue n° %(visit)s de cet établissement."
                )
                % {"event": adt.event, "visit": adt.visit_number},
            )
        if match.patient is not None and match.patient.pk != cancelled.patient_id:
            return _Decision(
                Status.QUARANTINED,
                _(
                    "Annulation (%(event)s) : la venue n° %(visit)s concerne le dossier n° "
                    "%(pk)s, l'identité du message en désigne un autre."
                )
                % {"event": adt.event, "visit": adt.visit_number, "pk": cancelled.patient_id},
            )
        return _Decision(Status.PROCESSED, patient=cancelled.patient, cancelled=cancelled)
    if match.patient is None:
        return _Decision(Status.QUARANTINED, match.reason)
    return _Decision(Status.PROCESSED, patient=match.patient)


def _ack_text(status: str) -> str:
    return {
        Status.PROCESSED: _("Message intégré."),
        Status.RESOLVED: _("Message intégré."),
        Status.QUARANTINED: _("Message reçu, en attente d'examen (rapprochement d'identité)."),
        Status.DISMISSED: _("Message reçu, écarté après examen."),
    }[status]


def _reject(
    *, organization: Organization, raw: str, error: HL7Error, received_at: datetime.datetime
) -> tuple[str, InboundMessage]:
    """Keep the message as rejected and say why. Its MSH-10 is not claimed: the same
    message sent again is rejected again (no effect either way), and a corrected one
    with the same MSH-10 is read."""
    header = error.header
    message = InboundMessage.objects.create(
        organization=organization,
        received_at=received_at,
        raw=raw,
        event=header.event[:3] if header else "",
        status=Status.REJECTED,
        reason=error.reason,
    )
    log.warning(
        "hl7_message_rejected",
        inbound_message_id=message.pk,
        organization_id=organization.pk,
        segment=error.segment,
        hl7_error_code=error.code,
    )
    return build_ack(header=header, code=error.ack_code, text=error.reason, error=error), message


def _duplicate(*, organization: Organization, header: Header) -> tuple[str, InboundMessage] | None:
    """The message already received with this MSH-10, its repeat counted; None if new."""
    existing = InboundMessage.objects.filter(
        organization=organization, control_id=header.control_id
    ).first()
    if existing is None:
        return None
    InboundMessage.objects.filter(pk=existing.pk).update(duplicates=F("duplicates") + 1)
    existing.refresh_from_db(fields=["duplicates"])
    return build_ack(header=header, code=ACCEPT, text=_ack_text(existing.status)), existing


@transaction.atomic
def receive_hl7_message(
    *, organization: Organization, raw: str, client_ip: str | None = None
) -> tuple[str, InboundMessage | None]:
    """Read, store and apply one ADT message from `organization`; returns the ACK (ER7)
    and the stored message. Never raises for what the message contains."""
    with translation.override(settings.LANGUAGE_CODE):
        return _receive(organization=organization, raw=raw.replace("\x00", "\ufffd"), ip=client_ip)


def _receive(
    *, organization: Organization, raw: str, ip: str | None
) -> tuple[str, InboundMessage | None]:
    received_at = timezone.now()
    try:
        header = read_header(raw)
    except HL7Error as error:
        return _reject(organization=organization, raw=raw, error=error, received_at=received_at)
    repeat = _duplicate(organization=organization, header=header)
    if repeat is not None:
        return repeat
    try:
        adt = read_adt(raw)
    except HL7Error as error:
        return _reject(organization=organization, raw=raw, error=error, received_at=received_at)
    decision = _decide(organization=organization, adt=adt)
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                organization=organization,
                received_at=received_at,
                raw=raw,
                control_id=header.control_id,
                event=adt.event,
                visit_number=adt.visit_number,
                status=decision.status,
                reason=decision.reason,
                patient=decision.patient,
            )
    except IntegrityError:
        # The same message, delivered twice at once: the other delivery claimed it.
        repeat = _duplicate(organization=organization, header=header)
        if repeat is None:
            raise
        return repeat
    if decision.status == Status.PROCESSED:
        actor = _Actor(client_ip=ip)
        actor.audit(
            action=AuditEvent.Action.CREATE,
            object_type="inbound_message",
            object_id=message.pk,
            patient_id=decision.patient.pk,
        )
        event = _apply(
            message=message,
            adt=adt,
            patient=decision.patient,
            cancelled=decision.cancelled,
            actor=actor,
        )
        if event is not None:
            message.timeline_event = event
            message.save(update_fields=["timeline_event"])
    log.info(
        "hl7_message_received",
        inbound_message_id=message.pk,
        organization_id=organization.pk,
        hl7_event=adt.event,
        status=decision.status,
        patient_id=decision.patient.pk if decision.patient else None,
    )
    return build_ack(header=header, code=ACCEPT, text=_ack_text(decision.status)), message


def internal_error_ack(raw: str) -> str:
    """The ACK of a message whose processing failed on our side: AE, to be sent again."""
    try:
        header: Header | None = read_header(raw)
    except HL7Error as error:
        header = error.header
    error = HL7Error(
        _("Erreur interne de TSN : renvoyez le message plus tard."),
        segment="MSH",
        code=APPLICATION_INTERNAL_ERROR,
    )
    return build_ack(header=header, code=error.ack_code, text=error.reason, error=error)


# --- The administrators' quarantine ---


def _quarantined(message: InboundMessage) -> InboundMessage:
    locked = (
        InboundMessage.objects.select_for_update().select_related("organization").get(pk=message.pk)
    )
    if locked.status != Status.QUARANTINED:
        raise ValidationError(
            _("Ce message n'est plus en quarantaine (%(status)s).")
            % {"status": locked.get_status_display()},
            code="not_quarantined",
        )
    return locked


@transaction.atomic
def attach_quarantined_message(
    *, request: HttpRequest, message: InboundMessage, patient: Patient
) -> InboundMessage:
    """Apply a quarantined message to the record the administrator chose (a merged
    duplicate stands for its survivor)."""
    message = _quarantined(message)
    patient = survivor(patient)
    try:
        adt = read_adt(message.raw)
    except HL7Error as error:  # it was read when received; kept for safety
        raise ValidationError(error.reason, code="unreadable") from None
    if adt.event == IDENTITY_MERGE:
        raise ValidationError(
            _(
                "Une fusion d'identités ne se rattache pas : fusionnez les dossiers depuis la "
                "page des doublons, puis écartez ce message."
            ),
            code="merge",
        )
    cancelled = None
    if adt.event in CANCELLATIONS:
        cancelled = _cancelled_message(organization=message.organization, adt=adt, patient=patient)
        if cancelled is None:
            raise ValidationError(
                _("Aucun mouvement de la venue n° %(visit)s n'est connu pour ce dossier.")
                % {"visit": adt.visit_number},
                code="unknown_movement",
            )
    actor = _Actor(user=request.user, client_ip=request_client_ip(request))
    with translation.override(settings.LANGUAGE_CODE):
        event = _apply(message=message, adt=adt, patient=patient, cancelled=cancelled, actor=actor)
    message.status = Status.RESOLVED
    message.patient = patient
    message.timeline_event = event
    message.resolved_by = request.user
    message.resolved_at = timezone.now()
    message.save(
        update_fields=["status", "patient", "timeline_event", "resolved_by", "resolved_at"]
    )
    actor.audit(
        action=AuditEvent.Action.UPDATE,
        object_type="inbound_message",
        object_id=message.pk,
        patient_id=patient.pk,
    )
    return message


@transaction.atomic
def dismiss_quarantined_message(
    *, request: HttpRequest, message: InboundMessage, reason: str
) -> InboundMessage:
    """Set a quarantined message aside, with the administrator's reason (kept after the
    quarantine's)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Indiquez pourquoi le message est écarté."), code="reason")
    message = _quarantined(message)
    with translation.override(settings.LANGUAGE_CODE):
        note = _("Écarté : %(reason)s") % {"reason": reason}
    message.status = Status.DISMISSED
    message.reason = f"{message.reason}\n{note}" if message.reason else note
    message.resolved_by = request.user
    message.resolved_at = timezone.now()
    message.save(update_fields=["status", "reason", "resolved_by", "resolved_at"])
    AuditEvent.objects.create(
        actor=request.user,
        actor_role=request.user.role,
        patient_id=message.patient_id,
        action=AuditEvent.Action.UPDATE,
        object_type="inbound_message",
        object_id=str(message.pk),
        client_ip=request_client_ip(request),
    )
    return message
