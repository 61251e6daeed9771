"""Writes on the shared record that span models or have side effects."""

import datetime
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from patients.models import (
    BreakGlassAccess,
    Caregiver,
    CareTeamMember,
    ConsentRecord,
    Document,
    LiaisonMessage,
    Patient,
    SeenMark,
    TimelineEvent,
)
from professionals.models import Organization, PractitionerRole, Professional
from tsn.audit import record_access
from tsn.models import AuditEvent, User
from tsn.periods import in_effect_on

# Pathway statuses whose referent coordinator is told of a break-the-glass access.
_REFERENT_STATUSES = ("proposed", "active", "suspended")

if TYPE_CHECKING:  # pathways sit above patients: named for the type only
    from pathways.models import Pathway


@transaction.atomic
def open_break_glass(*, request: HttpRequest, patient: Patient, reason: str) -> BreakGlassAccess:
    """Grant `request.user` time-limited access, audit it, alert the referent coordinators."""
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
    # Pathways sit above patients: reached through reverse relations, not imported.
    referents = {
        pathway.referent.user
        for pathway in patient.pathways.filter(status__in=_REFERENT_STATUSES)
        .select_related("referent__user")
        .exclude(referent__user=None)
    } or {None}
    for referent in referents:
        patient.alerts.create(
            kind="break_glass",
            severity=3,
            message=_("Accès en bris de glace au dossier par %(name)s.") % {"name": user},
            assignee=referent,
            due_at=now,
            dedupe_key=f"break_glass:{access.pk}:{referent.pk if referent else 0}",
        )
    return access


# --- Liaison notebook, care team, caregivers, objections (issue "shared patient record") ---


def mentionable_users(patient: Patient) -> QuerySet[User]:
    """The users a liaison message about `patient` may mention: its active care team."""
    return User.objects.filter(
        is_active=True,
        professional__care_team_memberships__in=CareTeamMember.objects.filter(
            in_effect_on(timezone.localdate()), patient=patient
        ),
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
) -> TimelineEvent:
    """Add an event written by the request's user (a note, a consultation, a pathway step
    done...) to the timeline, and audit its creation."""
    author, organization = _author_and_organization(request.user)
    event = TimelineEvent.objects.create(
        patient=patient,
        kind=kind,
        title=title,
        body=body,
        occurred_at=occurred_at or timezone.now(),
        author=author,
        organization=organization,
        source=TimelineEvent.Source.MANUAL,
        corrects=corrects,
        pathway=pathway,
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
