"""Writes on the shared record that span models or have side effects."""

import datetime
import decimal
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext as _

from patients.models import (
    BreakGlassAccess,
    Caregiver,
    CareTeamMember,
    ConsentRecord,
    Document,
    LiaisonMessage,
    Observation,
    Patient,
    SeenMark,
    TimelineEvent,
)
from professionals.models import Organization, OrganizationToken, PractitionerRole, Professional
from tsn.audit import audit_event, record_access
from tsn.models import AuditEvent, User
from tsn.periods import in_effect_on

if TYPE_CHECKING:  # pathways sit above patients: named for the type only
    from pathways.models import Pathway


@transaction.atomic
def open_break_glass(*, request: HttpRequest, patient: Patient, reason: str) -> BreakGlassAccess:
    """Grant `request.user` time-limited access and audit it (the pathways' side alerts the
    referent coordinators: `pathways.services.alert.alert_break_glass`)."""
    user: User = request.user
    now = timezone.now()
    access = BreakGlassAccess.objects.create(
        user=user,
        patient=patient,
        reason=reason,
        started_at=now,
        expires_at=now + BreakGlassAccess.DEFAULT_DURATION,
    )
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="break_glass",
        object_id=access.pk,
        patient_id=patient.pk,
        break_glass_reason=reason,
    )
    return access


# --- Liaison notebook, care team, caregivers, objections (issue "shared patient record") ---


def mentionable_users(patient: Patient) -> QuerySet[User]:
    """The users a liaison message about `patient` may mention (address): its active care
    team, and the patient and their caregivers with a portal account (who then see the
    message on the portal)."""
    today = timezone.localdate()
    return User.objects.filter(
        Q(
            professional__care_team_memberships__in=CareTeamMember.objects.filter(
                in_effect_on(today), patient=patient
            )
        )
        | Q(patient=patient)
        | Q(
            Q(caregiver_of__access_until__isnull=True) | Q(caregiver_of__access_until__gte=today),
            caregiver_of__patient=patient,
        ),
        is_active=True,
    ).distinct()


@transaction.atomic
def post_liaison_message(
    *, author: User, patient: Patient, body: str, mentions: Iterable[User] = ()
) -> LiaisonMessage:
    """Add a message to the patient's liaison notebook, mentioning care-team members."""
    mentions = list(mentions)
    allowed = set(
        mentionable_users(patient)
        .filter(pk__in=[user.pk for user in mentions])
        .values_list("pk", flat=True)
    )
    if any(user.pk not in allowed for user in mentions):
        raise ValidationError(
            _("On ne peut mentionner que les membres actifs de l'équipe de soins."),
            code="mention_outside_team",
        )
    message = LiaisonMessage.objects.create(patient=patient, author=author, body=body)
    message.mentions.set(mentions)
    # The author has read what they just wrote.
    mark_seen(user=author, patient=patient, part=SeenMark.Part.LIAISON, at=message.sent_at)
    return message


@transaction.atomic
def add_care_team_member(
    *,
    patient: Patient,
    professional: Professional,
    role: str,
    read_only: bool = False,
    start: datetime.date | None = None,
) -> CareTeamMember:
    """Add a professional to the care team; refuse one already active in it or objected to."""
    start = start or timezone.localdate()
    if patient.care_team.filter(in_effect_on(start), professional=professional).exists():
        raise ValidationError(
            _("Ce professionnel fait déjà partie de l'équipe de soins."), code="already_member"
        )
    if patient.consents.filter(
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=professional,
        withdrawn_at__isnull=True,
    ).exists():
        raise ValidationError(
            _("Le patient s'est opposé à ce que ce professionnel accède à son dossier."),
            code="objected_professional",
        )
    return CareTeamMember.objects.create(
        patient=patient, professional=professional, role=role, read_only=read_only, start=start
    )


@transaction.atomic
def end_care_team_membership(
    *, member: CareTeamMember, end: datetime.date | None = None
) -> CareTeamMember:
    """End a membership today (or on `end`): the professional loses access after that day."""
    end = end or timezone.localdate()
    if member.end is not None and member.end <= end:
        return member
    # A membership starting in the future ends before it starts: it is cut to one day.
    member.end = max(end, member.start)
    member.save(update_fields=["end"])
    return member


@transaction.atomic
def add_caregiver(*, patient: Patient, **fields: object) -> Caregiver:
    """Record a caregiver; a new trusted person replaces the previous one."""
    if fields.get("is_trusted_person"):
        patient.caregivers.filter(is_trusted_person=True).update(is_trusted_person=False)
    return Caregiver.objects.create(patient=patient, **fields)


@transaction.atomic
def record_professional_objection(
    *, patient: Patient, professional: Professional, recorded_by: User, note: str = ""
) -> ConsentRecord:
    """The patient objects to one named professional: their access ends now."""
    existing = patient.consents.filter(
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=professional,
        withdrawn_at__isnull=True,
    ).first()
    if existing is not None:
        return existing
    return ConsentRecord.objects.create(
        patient=patient,
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=professional,
        recorded_by=recorded_by,
        note=note,
    )


@transaction.atomic
def withdraw_objection(*, objection: ConsentRecord) -> ConsentRecord:
    """The patient withdraws an objection (kept in the record, dated)."""
    if objection.withdrawn_at is None:
        objection.withdrawn_at = timezone.now()
        objection.save(update_fields=["withdrawn_at"])
    return objection


# --- The record's timeline and documents (issue "shared patient record") ---

# What a document really is, told by its first bytes (never by its name or the browser).
_DOCUMENT_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
_ORIGINAL_NAME_MAX = 200


def _author_and_organization(user: User) -> tuple[Professional | None, Organization | None]:
    """The professional behind `user` and the organisation of their most recent current role."""
    if not user.is_authenticated:
        return None, None
    try:
        professional = user.professional
    except Professional.DoesNotExist:
        return None, None
    role = (
        PractitionerRole.objects.filter(
            in_effect_on(timezone.localdate()), professional=professional
        )
        .select_related("organization")
        .order_by("-start", "-id")
        .first()
    )
    return professional, role.organization if role else None


@transaction.atomic
def add_timeline_event(
    *,
    request: HttpRequest,
    patient: Patient,
    kind: str,
    title: str,
    body: str = "",
    occurred_at: datetime.datetime | None = None,
    corrects: TimelineEvent | None = None,
    pathway: "Pathway | None" = None,
    shared_with_patient: bool = False,
) -> TimelineEvent:
    """Add an event written by the request's user (a note, a consultation, a pathway step
    done...) to the timeline, and audit its creation; `shared_with_patient` puts it on the
    portal of the patient and their caregivers."""
    author, organization = _author_and_organization(request.user)
    # Software writing through the API: a person's (personal token) or an organisation's
    # machine, which has no author but its organisation.
    token = getattr(request, "auth", None)
    if isinstance(token, OrganizationToken):
        organization = token.organization
    event = TimelineEvent.objects.create(
        patient=patient,
        kind=kind,
        title=title,
        body=body,
        occurred_at=occurred_at or timezone.now(),
        author=author,
        organization=organization,
        source=TimelineEvent.Source.API if token is not None else TimelineEvent.Source.MANUAL,
        corrects=corrects,
        pathway=pathway,
        shared_with_patient=shared_with_patient,
    )
    record_access(
        request=request,
        action=AuditEvent.Action.CREATE,
        object_type="timeline_event",
        object_id=event.pk,
        patient_id=patient.pk,
    )
    return event


@transaction.atomic
def mark_entered_in_error(
    *, request: HttpRequest, event: TimelineEvent, reason: str
) -> TimelineEvent:
    """Correct an event by a new one marking it "entered in error" (the old one stays)."""
    if event.kind == TimelineEvent.Kind.ENTERED_IN_ERROR:
        raise ValidationError(
            _("Une correction ne se corrige pas."), code="correction_of_correction"
        )
    if TimelineEvent.objects.filter(corrects=event).exists():
        raise ValidationError(
            _("Cet événement est déjà marqué comme saisi par erreur."), code="already_corrected"
        )
    return add_timeline_event(
        request=request,
        patient=event.patient,
        kind=TimelineEvent.Kind.ENTERED_IN_ERROR,
        title=_("Saisie erronée : %(title)s") % {"title": event.title},
        body=reason,
        corrects=event,
    )


def mark_seen(
    *, user: User, patient: Patient, part: str, at: datetime.datetime | None = None
) -> datetime.datetime | None:
    """Move the user's mark on this part of the record to `at` (now by default, never
    backwards); return where it was before."""
    at = at or timezone.now()
    previous = (
        SeenMark.objects.filter(user=user, patient=patient, part=part)
        .values_list("seen_at", flat=True)
        .first()
    )
    if previous is None or previous < at:
        SeenMark.objects.bulk_create(
            [SeenMark(user=user, patient=patient, part=part, seen_at=at)],
            update_conflicts=True,
            unique_fields=["user", "patient", "part"],
            update_fields=["seen_at"],
        )
    return previous


def detect_document_type(head: bytes) -> str | None:
    """The content type told by the file's first bytes, if it is one we accept."""
    for signature, content_type in _DOCUMENT_SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def clean_original_name(name: str) -> str:
    """The file's own name, without any folder, kept for display and download only."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if char.isprintable()).strip().lstrip(".")
    return base[-_ORIGINAL_NAME_MAX:] or "document"


@transaction.atomic
def add_document(
    *, request: HttpRequest, patient: Patient, upload: UploadedFile, title: str = ""
) -> Document:
    """Store an uploaded PDF, JPEG or PNG under a random name, with its timeline event."""
    if upload.size > settings.TSN_DOCUMENT_MAX_BYTES:
        raise ValidationError(
            _("Le fichier dépasse la taille maximale de %(size)s Mo.")
            % {"size": settings.TSN_DOCUMENT_MAX_BYTES // (1024 * 1024)},
            code="too_large",
        )
    upload.seek(0)
    content_type = detect_document_type(upload.read(16))
    upload.seek(0)
    if content_type is None:
        raise ValidationError(
            _("Seuls les fichiers PDF, JPEG et PNG sont acceptés."), code="file_type"
        )
    original_name = clean_original_name(upload.name or "")
    event = add_timeline_event(
        request=request,
        patient=patient,
        kind=TimelineEvent.Kind.DOCUMENT,
        title=title or original_name,
    )
    document = Document(
        patient=patient,
        event=event,
        original_name=original_name,
        content_type=content_type,
        size=upload.size,
        uploaded_by=request.user,
    )
    document.file.save(uuid.uuid4().hex + Document.ALLOWED_TYPES[content_type], upload, save=False)
    # The file is on disk before the row: drop it if the row cannot be written.
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    record_access(
        request=request,
        action=AuditEvent.Action.CREATE,
        object_type="document",
        object_id=document.pk,
        patient_id=patient.pk,
    )
    return document


# --- Identity vigilance ---


@transaction.atomic
def merge_patients(
    *, kept: Patient, merged: Patient, reason: str, actor: User, client_ip: str | None = None
) -> Patient:
    """Mark `merged` as a duplicate of `kept`; both histories stay where they are."""
    locked = {
        patient.pk: patient
        for patient in Patient.objects.select_for_update().filter(pk__in=[kept.pk, merged.pk])
    }
    if kept.pk == merged.pk or len(locked) != 2:
        raise ValidationError(_("Choisissez deux dossiers différents."), code="same_patient")
    if locked[kept.pk].merged_into_id or locked[merged.pk].merged_into_id:
        raise ValidationError(_("L'un de ces dossiers a déjà été fusionné."), code="already_merged")
    merged.merged_into = kept
    merged.save(update_fields=["merged_into", "updated_at"])
    now = timezone.now()
    # The reason stays in both timelines (append-only) and the trail records who merged.
    for patient, title in (
        (kept, _("Dossier n° %(pk)s fusionné dans ce dossier") % {"pk": merged.pk}),
        (merged, _("Dossier fusionné dans le dossier n° %(pk)s") % {"pk": kept.pk}),
    ):
        TimelineEvent.objects.create(
            patient=patient,
            occurred_at=now,
            recorded_at=now,
            kind=TimelineEvent.Kind.NOTE,
            source=TimelineEvent.Source.SYSTEM,
            title=title,
            body=reason,
        )
        AuditEvent.objects.create(
            actor=actor,
            actor_role=actor.role,
            patient_id=patient.pk,
            action=AuditEvent.Action.UPDATE,
            object_type="patient_merge",
            object_id=f"{merged.pk}>{kept.pk}",
            client_ip=client_ip,
        )
    return kept


# --- Remote monitoring (télésurveillance) ---

Kind = Observation.Kind

# What a patient's measurement can be, in the kind's canonical unit: beyond these bounds
# it is a device or typing error (or the wrong unit), not a patient.
PLAUSIBLE_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    Kind.WEIGHT: (Decimal("0.5"), Decimal("350")),
    Kind.SYSTOLIC_BP: (Decimal("40"), Decimal("300")),
    Kind.DIASTOLIC_BP: (Decimal("20"), Decimal("200")),
    Kind.HEART_RATE: (Decimal("20"), Decimal("300")),
    Kind.SPO2: (Decimal("50"), Decimal("100")),
    Kind.GLUCOSE: (Decimal("0.5"), Decimal("60")),
}
# A sender's clock may run a little ahead of ours.
CLOCK_SKEW = datetime.timedelta(minutes=5)
# No home-monitoring device predates this; it also keeps dates far from datetime's limits.
EARLIEST_MEASUREMENT = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
# From 10 ** this on, a number cannot be a measurement in any accepted unit (checked on
# the exponent: Decimal arithmetic on a huge number would overflow).
_HUGE_EXPONENT = 9
_CENTS = Decimal("0.01")
_THOUSANDTHS = Decimal("0.001")
DEVICE_MAX_LENGTH = Observation._meta.get_field("device").max_length


@dataclass(frozen=True)
class ObservationInput:
    """One measurement as its sender gives it: a value in any accepted UCUM unit."""

    patient_id: int
    kind: str
    value: Decimal
    unit: str
    measured_at: datetime.datetime
    device: str = ""


class InvalidObservations(ValidationError):
    """The errors of a batch, by item: index -> {field: [ValidationError]}; each error
    has a code and params, and a French message naming the field."""

    def __init__(self, by_index: dict[int, dict[str, list[ValidationError]]]) -> None:
        super().__init__(
            [error for fields in by_index.values() for found in fields.values() for error in found]
        )
        self.by_index = by_index


def _lower_first(label: object) -> str:
    text = str(label)
    return text[:1].lower() + text[1:]


def _kind_label(kind: str) -> Promise:
    """The measurement's label in lower case, in the language it is shown in (lazily: the
    API gives each error in French and in English)."""
    return lazy(_lower_first, str)(Kind(kind).label)


def _canonical_value(item: ObservationInput, factor: float) -> Decimal | None:
    """The value in the kind's canonical unit, to the hundredth; None when not plausible."""
    if not item.value.is_finite() or item.value.adjusted() >= _HUGE_EXPONENT:
        return None
    try:
        value = (item.value * Decimal(str(factor))).quantize(_CENTS, decimal.ROUND_HALF_UP)
    except decimal.InvalidOperation:
        return None
    low, high = PLAUSIBLE_RANGES[item.kind]
    return value if low <= value <= high else None


def validate_observation(item: ObservationInput, *, now: datetime.datetime) -> Observation:
    """The observation to store (unsaved), its value converted to the kind's canonical
    unit; a ValidationError by field (kind, unit, value, measured_at, device) otherwise."""
    errors: dict[str, ValidationError] = {}
    canonical_unit, factors, value = "", {}, None
    if item.kind in Kind.values:
        canonical_unit, factors = Observation.UNITS[item.kind]
    else:
        errors["kind"] = ValidationError(
            _("Champ « kind » : mesure « %(kind)s » inconnue (mesures acceptées : %(kinds)s)."),
            code="unknown_kind",
            params={"kind": item.kind, "kinds": ", ".join(Kind.values)},
        )
    if factors and item.unit not in factors:
        errors["unit"] = ValidationError(
            _(
                "Champ « unit » : l'unité « %(unit)s » n'est pas acceptée pour la mesure "
                "« %(kind_label)s » (unités UCUM acceptées : %(units)s)."
            ),
            code="unit_not_accepted",
            params={
                "unit": item.unit,
                "kind": item.kind,
                "kind_label": _kind_label(item.kind),
                "units": ", ".join(factors),
            },
        )
    elif factors:
        value = _canonical_value(item, factors[item.unit])
        if value is None:
            low, high = PLAUSIBLE_RANGES[item.kind]
            errors["value"] = ValidationError(
                _(
                    "Champ « value » : valeur hors des limites plausibles pour la mesure "
                    "« %(kind_label)s » (de %(low)s à %(high)s %(unit)s)."
                ),
                code="out_of_range",
                params={
                    "kind": item.kind,
                    "kind_label": _kind_label(item.kind),
                    "low": low,
                    "high": high,
                    "unit": canonical_unit,
                },
            )
    measured_at = item.measured_at
    if measured_at.tzinfo is None or measured_at.utcoffset() is None:
        errors["measured_at"] = ValidationError(
            _(
                "Champ « measured_at » : le fuseau horaire manque "
                "(par exemple 2026-03-01T08:30:00+01:00)."
            ),
            code="naive_datetime",
        )
    elif measured_at > now + CLOCK_SKEW:
        errors["measured_at"] = ValidationError(
            _("Champ « measured_at » : la date de mesure est dans le futur."), code="future"
        )
    elif measured_at < EARLIEST_MEASUREMENT:
        errors["measured_at"] = ValidationError(
            _("Champ « measured_at » : la date de mesure est antérieure à l'an 2000."),
            code="too_old",
        )
    if len(item.device) > DEVICE_MAX_LENGTH:
        errors["device"] = ValidationError(
            _("Champ « device » : %(max)s caractères au plus."),
            code="too_long",
            params={"max": DEVICE_MAX_LENGTH},
        )
    if errors:
        raise ValidationError(errors)
    return Observation(
        patient_id=item.patient_id,
        kind=item.kind,
        value=value,
        unit=canonical_unit,
        sent_value=item.value.quantize(_THOUSANDTHS, decimal.ROUND_HALF_UP),
        sent_unit=item.unit,
        measured_at=measured_at,
        recorded_at=now,
        device=item.device,
    )


@transaction.atomic
def record_observations(
    *,
    request: HttpRequest,
    observations: Sequence[ObservationInput],
    token: OrganizationToken | None = None,
) -> list[Observation]:
    """Store a batch of measurements, all or none (InvalidObservations lists every item's
    errors), and audit the write: one event per patient. The caller has checked access."""
    now = timezone.now()
    errors: dict[int, dict[str, list[ValidationError]]] = {}
    built = []
    for index, item in enumerate(observations):
        try:
            built.append(validate_observation(item, now=now))
        except ValidationError as error:
            errors[index] = error.error_dict
    if errors:
        raise InvalidObservations(errors)
    # A machine is known by its token (the trail has no actor for it); a person by the
    # trail's actor, and their organisation is the one of their current role.
    if token is not None:
        recorded_by, organization, object_id = None, token.organization, f"token:{token.pk}"
    else:
        recorded_by, object_id = request.user, ""
        organization = _author_and_organization(request.user)[1]
    for observation in built:
        observation.organization = organization
        observation.recorded_by = recorded_by
    Observation.objects.bulk_create(built)
    AuditEvent.objects.bulk_create(
        audit_event(
            request=request,
            patient_id=patient_id,
            action=AuditEvent.Action.CREATE,
            object_type="observation",
            object_id=object_id,
        )
        for patient_id in sorted({observation.patient_id for observation in built})
    )
    return built
