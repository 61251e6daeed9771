""" "Download all my data" (issue 11): the archive of a record for its patient or an
authorised caregiver, asked for on the portal (portal/exports.py), built by a task
(portal/tasks.py), kept `RETENTION` then deleted by the beat.

One zip: a PDF summary, the FHIR R4 Bundle of `Patient/$everything` (the same builder as
the API), one CSV file per kind of row, and the documents' files under documents/. The
timeline is the whole record's, not only the events shared on the portal: it is the
patient's right of access. The access log goes in only for whom may read it
(`can_read_access_log`: the patient themself, not a caregiver), as on the portal's page.

Memory stays bounded by the largest part, not by the record: rows are read with
`.iterator()` (their related rows fetched per chunk), the zip is written entry by entry to
a temporary file, CSV files through a text wrapper, documents copied in blocks. The PDF
summary and the FHIR Bundle are built whole (WeasyPrint and `$everything` work that way).
Health data never reaches the logs: ids only.
"""

import csv
import datetime
import io
import json
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import PurePosixPath
from typing import IO

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from rest_framework.utils.encoders import JSONEncoder

from pathways.fhir.everything import everything_bundle, record_resources
from pathways.models import CarePlanVersion, Pathway, Referral, Step, TeleExpertiseRequest
from pathways.pdf import render_pdf
from patients.access import can_read_access_log
from patients.models import (
    CareTeamMember,
    ConsentRecord,
    Document,
    LiaisonMessage,
    Observation,
    Patient,
    TimelineEvent,
)
from portal.models import DataExport
from professionals.models import OrganizationToken, PractitionerRole
from tsn.models import AuditEvent, User
from tsn.periods import in_effect_on
from tsn.spreadsheets import safe_cell

logger = logging.getLogger(__name__)

Status = DataExport.Status
# How long an archive is kept (file and row): the beat deletes older ones.
RETENTION = datetime.timedelta(days=7)
# An archive still not ready after this was lost with its worker: shown as failed, and a
# new one may be asked for.
STALE_AFTER = datetime.timedelta(hours=1)
# Rows read at a time (and their related rows, one query per chunk).
CHUNK = 2000
SUMMARY_TEMPLATE = "portal/export_summary_pdf.html"


# --- Asking, building, deleting ---------------------------------------------------------------


@transaction.atomic
def request_export(*, user: User, patient: Patient) -> DataExport:
    """A new archive of the record for `user`, queued once committed; or the one of theirs
    already on its way (asking twice builds once)."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # one request at a time
    pending = (
        DataExport.objects.filter(
            patient=patient,
            requested_by=user,
            status__in=[Status.PENDING, Status.RUNNING],
            requested_at__gt=timezone.now() - STALE_AFTER,
        )
        .order_by("-requested_at")
        .first()
    )
    if pending is not None:
        return pending
    export = DataExport.objects.create(patient=patient, requested_by=user)
    from portal.tasks import build_data_export_task

    build_data_export_task.delay_on_commit(export.pk)
    return export


def build_export(export_id: int) -> DataExport | None:
    """Build the archive and keep it on the export; None when the export is not waiting
    (already built, or taken by another worker). A failure marks it failed, keeps no file,
    and logs ids only."""
    claimed = DataExport.objects.filter(pk=export_id, status=Status.PENDING).update(
        status=Status.RUNNING, progress=0
    )
    if not claimed:
        return None
    export = DataExport.objects.select_related("requested_by").get(pk=export_id)
    # The requester may have lost the access since they asked (a caregiver's access ended).
    patient = (
        Patient.objects.visible_to(export.requested_by)
        .filter(pk=export.patient_id)
        .select_related("gp", "commune")
        .prefetch_related(Prefetch("merged_records", queryset=Patient.objects.only("pk")))
        .first()
    )
    if patient is None or export.requested_by.role != User.Role.PATIENT:
        logger.warning("Data export %s: its requester no longer sees the record", export_id)
        return _finish(export, Status.FAILED)

    def progress(percent: int) -> None:
        DataExport.objects.filter(pk=export_id).update(progress=percent)

    try:
        with tempfile.TemporaryFile() as target:
            write_archive(
                target,
                patient,
                with_access_log=can_read_access_log(export.requested_by, patient),
                progress=progress,
            )
            target.seek(0)
            export.file.save(f"export-{export.pk}.zip", File(target, name="export.zip"), save=False)
    except Exception:
        logger.exception("Data export %s of patient %s failed", export_id, export.patient_id)
        if export.file:
            export.file.delete(save=False)
        return _finish(export, Status.FAILED)
    return _finish(export, Status.READY)


def _finish(export: DataExport, status: str) -> DataExport:
    export.status = status
    export.finished_at = timezone.now()
    fields = ["status", "finished_at"]
    if status == Status.READY:
        export.progress = 100
        fields += ["file", "progress"]
    export.save(update_fields=fields)
    return export


def purge_exports(*, now: datetime.datetime | None = None, batch: int = 500) -> int:
    """Delete the archives asked for more than `RETENTION` ago, file and row; how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted = 0
    while True:
        old = list(DataExport.objects.filter(requested_at__lt=cutoff).only("pk", "file")[:batch])
        if not old:
            return deleted
        for export in old:
            if export.file:
                export.file.delete(save=False)  # a file already gone is no error
        deleted += DataExport.objects.filter(pk__in=[export.pk for export in old]).delete()[0]


# --- The record's rows, for the summary and the CSV files --------------------------------------


class Record:
    """The rows of one record (and of the duplicates merged into it), each kind as a
    queryset that fetches its related rows with it."""

    def __init__(self, patient: Patient, *, with_access_log: bool) -> None:
        self.patient = patient
        self.ids = [patient.pk, *(merged.pk for merged in patient.merged_records.all())]
        self.with_access_log = with_access_log
        self.today = timezone.localdate()

    def _current_roles(self, path: str) -> Prefetch:
        """The organisations where the professional at `path` practises today."""
        roles = (
            PractitionerRole.objects.filter(in_effect_on(self.today))
            .select_related("organization")
            .order_by("organization__name", "pk")
        )
        return Prefetch(f"{path}roles", queryset=roles, to_attr="current_roles")

    def care_team(self) -> QuerySet[CareTeamMember]:
        return (
            CareTeamMember.objects.filter(patient_id__in=self.ids)
            .select_related("professional")
            .prefetch_related(self._current_roles("professional__"))
            .order_by("-start", "role", "pk")
        )

    def caregivers(self) -> QuerySet:
        return self.patient.caregivers.order_by("last_name", "first_name", "pk")

    def pathways(self) -> QuerySet[Pathway]:
        steps = Step.objects.select_related("template_step", "assignee").order_by(
            "template_step__order", "pk"
        )
        return (
            Pathway.objects.filter(patient_id__in=self.ids)
            .select_related("template", "support_service", "referent")
            .prefetch_related(Prefetch("steps", queryset=steps))
            .order_by("enrolled_on", "pk")
        )

    def care_plan(self) -> CarePlanVersion | None:
        return (
            CarePlanVersion.objects.filter(
                care_plan__patient=self.patient, number=F("care_plan__current_version")
            )
            .select_related("author", "referent", "validated_by")
            .first()
        )

    def timeline(self) -> QuerySet[TimelineEvent]:
        corrected = TimelineEvent.objects.filter(corrects=OuterRef("pk"))
        return (
            TimelineEvent.objects.filter(patient_id__in=self.ids)
            .select_related("author", "organization", "pathway__template", "document")
            .annotate(entered_in_error=Exists(corrected))
            .order_by("occurred_at", "pk")
        )

    def documents(self) -> QuerySet[Document]:
        return (
            Document.objects.filter(patient_id__in=self.ids)
            .select_related("event", "uploaded_by")
            .order_by("uploaded_at", "pk")
        )

    def liaison_messages(self) -> QuerySet[LiaisonMessage]:
        return (
            LiaisonMessage.objects.filter(patient_id__in=self.ids)
            .select_related("author")
            .order_by("sent_at", "pk")
        )

    def measurements(self) -> QuerySet[Observation]:
        return (
            Observation.objects.filter(patient_id__in=self.ids)
            .select_related("organization")
            .order_by("measured_at", "pk")
        )

    def referrals(self) -> QuerySet[Referral]:
        return (
            Referral.objects.filter(patient_id__in=self.ids)
            .select_related("service__organization", "sent_by", "responded_by")
            .order_by("sent_at", "pk")
        )

    def tele_expertise(self) -> QuerySet[TeleExpertiseRequest]:
        return (
            TeleExpertiseRequest.objects.filter(patient_id__in=self.ids)
            .select_related("requester", "expert")
            .order_by("asked_at", "pk")
        )

    def consents(self) -> QuerySet[ConsentRecord]:
        return (
            ConsentRecord.objects.filter(patient_id__in=self.ids)
            .select_related("professional", "recorded_by")
            .order_by("recorded_at", "pk")
        )

    def access_log(self) -> Iterator[AuditEvent]:
        """Every trace of the record, newest first, each with its `organisations` (where
        its author practises, or the organisation whose machine made the request)."""
        if not self.with_access_log:
            return
        events = AuditEvent.objects.filter(patient_id__in=self.ids)
        prefix = f"{OrganizationToken.AUDIT_KIND}:"
        labels = (
            events.filter(actor__isnull=True, api_token__startswith=prefix)
            .values_list("api_token", flat=True)
            .distinct()
        )
        token_ids = [int(label.removeprefix(prefix)) for label in labels]
        machines = {
            f"{prefix}{token.pk}": token.organization.name
            for token in OrganizationToken.objects.filter(pk__in=token_ids).select_related(
                "organization"
            )
        }
        roles = PractitionerRole.objects.select_related("organization").order_by(
            "organization__name", "pk"
        )
        rows = (
            events.select_related("actor__professional")
            .prefetch_related(Prefetch("actor__professional__roles", queryset=roles))
            .order_by("-occurred_at", "-pk")
        )
        for event in rows.iterator(chunk_size=CHUNK):
            event.organisations = _organisations(event, machines)
            yield event


def _organisations(event: AuditEvent, machines: dict[str, str]) -> str:
    if event.actor is None:
        return machines.get(event.api_token, "")
    professional = getattr(event.actor, "professional", None)
    if professional is None:
        return ""
    names = dict.fromkeys(role.organization.name for role in professional.roles.all())
    return ", ".join(names)


def _rows(queryset: QuerySet) -> Iterator:
    return queryset.iterator(chunk_size=CHUNK)


# --- The zip --------------------------------------------------------------------------------


def write_archive(
    target: IO[bytes],
    patient: Patient,
    *,
    with_access_log: bool,
    progress: Callable[[int], None] = lambda percent: None,
) -> None:
    """Write the record's archive into `target` (a binary file), telling `progress` how
    far it got (a percentage)."""
    record = Record(patient, with_access_log=with_access_log)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        progress(5)
        archive.writestr("synthese.pdf", summary_pdf(record))
        progress(40)
        base = settings.TSN_BASE_URL + reverse("fhir:metadata").removesuffix("metadata")
        bundle = everything_bundle(base, record_resources(patient, with_access_log=with_access_log))
        with io.TextIOWrapper(archive.open("fhir-bundle.json", "w"), encoding="utf-8") as out:
            json.dump(bundle, out, cls=JSONEncoder, ensure_ascii=False)
        del bundle  # (the whole record in memory: not while the files are copied)
        progress(60)
        for name, header, rows in csv_files(record):
            _write_csv(archive, name, header, rows)
        progress(80)
        in_archive = _copy_documents(archive, record)
        _write_csv(archive, "documents.csv", *_documents_csv(record, in_archive))
        progress(95)


def _write_csv(
    archive: zipfile.ZipFile, name: str, header: list[str], rows: Iterable[list]
) -> None:
    """One CSV file of the zip as the project's other exports write them: ";" between
    cells, UTF-8 with a byte order mark, every cell through `safe_cell`."""
    with io.TextIOWrapper(archive.open(name, "w"), encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([safe_cell(cell) for cell in header])
        for row in rows:
            writer.writerow([safe_cell(cell) for cell in row])


def archive_name(document: Document) -> str:
    """The document's path in the zip: its id (names repeat) and a tamed name."""
    extension = Document.ALLOWED_TYPES.get(document.content_type, "")
    stem = slugify(PurePosixPath(document.original_name).stem)[:80] or "document"
    return f"documents/{document.pk}-{stem}{extension}"


def _copy_documents(archive: zipfile.ZipFile, record: Record) -> dict[int, str]:
    """Copy each document's file into documents/; {document id: path in the zip} of
    those whose file was found."""
    copied = {}
    for document in _rows(record.documents()):
        name = archive_name(document)
        try:
            source = document.file.open("rb")
        except FileNotFoundError:
            logger.warning("Document %s: file missing, left out of the archive", document.pk)
            continue
        with source, archive.open(name, "w", force_zip64=True) as copy:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        copied[document.pk] = name
    return copied


# --- What the summary and the CSV files say ----------------------------------------------------


def _when(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _day(day: datetime.date | None) -> str:
    return day.isoformat() if day else ""


def _yes(flag: bool) -> str:
    return _("oui") if flag else _("non")


def _name(person: object) -> str:
    return str(person) if person is not None else ""


def summary_pdf(record: Record) -> bytes:
    """The PDF summary of the whole record, in plain words."""
    patient = record.patient
    version = record.care_plan()
    goal_statuses = dict(CarePlanVersion.GoalStatus.choices)
    action_kinds = dict(CarePlanVersion.ActionKind.choices)
    context = {
        "patient": patient,
        "now": timezone.now(),
        "retention_days": RETENTION.days,
        "caregivers": list(record.caregivers()),
        "team": list(_rows(record.care_team())),
        "pathways": list(_rows(record.pathways())),
        "version": version,
        "needs": [
            (label, version.needs.get(domain, ""))
            for domain, label in CarePlanVersion.Domain.choices
        ]
        if version
        else [],
        "goals": [
            {**goal, "status_label": goal_statuses.get(goal.get("status"), "")}
            for goal in (version.goals if version else [])
        ],
        "actions": [
            {**action, "kind_label": action_kinds.get(action.get("kind"), "")}
            for action in (version.actions if version else [])
        ],
        "events": list(_rows(record.timeline())),
        "documents": list(_rows(record.documents())),
        "liaison_messages": list(_rows(record.liaison_messages())),
        "measurements": list(_rows(record.measurements())),
        "referrals": list(_rows(record.referrals())),
        "tele_expertise": list(_rows(record.tele_expertise())),
        "consents": list(_rows(record.consents())),
        "with_access_log": record.with_access_log,
        "access_events": list(record.access_log()),
    }
    return render_pdf(SUMMARY_TEMPLATE, context)


def csv_files(record: Record) -> Iterator[tuple[str, list[str], Iterable[list]]]:
    """(file name, header, rows) of each CSV file but documents.csv."""
    yield "care_team.csv", *_care_team_csv(record)
    yield "pathways.csv", *_pathways_csv(record)
    yield "timeline.csv", *_timeline_csv(record)
    yield "liaison_messages.csv", *_liaison_csv(record)
    yield "measurements.csv", *_measurements_csv(record)
    yield "referrals.csv", *_referrals_csv(record)
    yield "tele_expertise.csv", *_tele_expertise_csv(record)
    yield "consents.csv", *_consents_csv(record)
    if record.with_access_log:
        yield "access_log.csv", *_access_log_csv(record)


Table = tuple[list[str], Iterable[list]]


def _care_team_csv(record: Record) -> Table:
    header = [_("rôle"), _("nom"), _("profession"), _("téléphone"), _("MSSanté")]
    header += [_("organisations"), _("début"), _("fin")]
    rows = (
        [
            member.get_role_display(),
            member.professional,
            member.professional.get_profession_display(),
            member.professional.phone,
            member.professional.mssante_address,
            ", ".join(role.organization.name for role in member.professional.current_roles),
            _day(member.start),
            _day(member.end),
        ]
        for member in _rows(record.care_team())
    )
    return header, rows


def _pathways_csv(record: Record) -> Table:
    header = [_("parcours n°"), _("parcours"), _("statut du parcours"), _("inclusion")]
    header += [_("fin"), _("motif de sortie"), _("service qui suit"), _("référent")]
    header += [_("étape"), _("statut de l'étape"), _("échéance"), _("rendez-vous le")]
    header += [_("lieu"), _("réalisée le"), _("responsable"), _("compte rendu")]

    def rows() -> Iterator[list]:
        for pathway in _rows(record.pathways()):
            head = [
                pathway.pk,
                pathway.template.name,
                pathway.get_status_display(),
                _day(pathway.enrolled_on),
                _day(pathway.ended_on),
                pathway.exit_reason,
                _name(pathway.support_service),
                _name(pathway.referent),
            ]
            steps = list(pathway.steps.all())
            if not steps:
                yield head
            for step in steps:
                yield [
                    *head,
                    step.template_step.name,
                    step.get_status_display(),
                    _day(step.due_on),
                    _when(step.scheduled_at),
                    step.place,
                    _when(step.done_at),
                    _name(step.assignee),
                    step.outcome,
                ]

    return header, rows()


def _timeline_csv(record: Record) -> Table:
    header = [_("n°"), _("date"), _("enregistré le"), _("nature"), _("titre"), _("contenu")]
    header += [_("auteur"), _("organisation"), _("source"), _("parcours"), _("document")]
    header += [_("partagé avec le patient"), _("saisie erronée"), _("corrige l'événement n°")]
    rows = (
        [
            event.pk,
            _when(event.occurred_at),
            _when(event.recorded_at),
            event.get_kind_display(),
            event.title,
            event.body,
            _name(event.author),
            _name(event.organization),
            event.get_source_display(),
            event.pathway.template.name if event.pathway else "",
            _document_of(event),
            _yes(event.shared_with_patient),
            _yes(event.entered_in_error),
            event.corrects_id or "",
        ]
        for event in _rows(record.timeline())
    )
    return header, rows


def _document_of(event: TimelineEvent) -> str:
    try:
        return event.document.original_name
    except Document.DoesNotExist:
        return ""


def _liaison_csv(record: Record) -> Table:
    header = [_("envoyé le"), _("auteur"), _("message")]
    rows = (
        [_when(message.sent_at), _name(message.author), message.body]
        for message in _rows(record.liaison_messages())
    )
    return header, rows


def _measurements_csv(record: Record) -> Table:
    header = [_("mesurée le"), _("mesure"), _("valeur"), _("unité (UCUM)")]
    header += [_("valeur transmise"), _("unité transmise"), _("appareil"), _("organisation")]
    header += [_("reçue le")]
    rows = (
        [
            _when(measurement.measured_at),
            measurement.get_kind_display(),
            measurement.value,
            measurement.unit,
            measurement.sent_value,
            measurement.sent_unit,
            measurement.device,
            _name(measurement.organization),
            _when(measurement.recorded_at),
        ]
        for measurement in _rows(record.measurements())
    )
    return header, rows


def _referrals_csv(record: Record) -> Table:
    header = [_("envoyée le"), _("service"), _("organisation"), _("adressée par"), _("motif")]
    header += [_("statut"), _("réponse le"), _("réponse de"), _("motif du refus"), _("close le")]
    rows = (
        [
            _when(referral.sent_at),
            referral.service.name,
            referral.service.organization.name,
            _name(referral.sent_by),
            referral.reason,
            referral.get_status_display(),
            _when(referral.responded_at),
            _name(referral.responded_by),
            referral.refusal_reason,
            _when(referral.closed_at),
        ]
        for referral in _rows(record.referrals())
    )
    return header, rows


def _tele_expertise_csv(record: Record) -> Table:
    header = [_("posée le"), _("requérant"), _("requis"), _("question"), _("statut")]
    header += [_("répondue le"), _("réponse")]
    rows = (
        [
            _when(request.asked_at),
            _name(request.requester),
            _name(request.expert),
            request.question,
            request.get_status_display(),
            _when(request.answered_at),
            request.answer,
        ]
        for request in _rows(record.tele_expertise())
    )
    return header, rows


def _consents_csv(record: Record) -> Table:
    header = [_("recueilli le"), _("nature"), _("professionnel visé"), _("recueilli par")]
    header += [_("retiré le"), _("commentaire")]
    rows = (
        [
            _when(consent.recorded_at),
            consent.get_kind_display(),
            _name(consent.professional),
            _name(consent.recorded_by),
            _when(consent.withdrawn_at),
            consent.note,
        ]
        for consent in _rows(record.consents())
    )
    return header, rows


def _access_log_csv(record: Record) -> Table:
    header = [_("date"), _("personne"), _("rôle"), _("organisation"), _("action")]
    header += [_("objet"), _("résultat"), _("motif (bris de glace)")]
    rows = (
        [
            _when(event.occurred_at),
            _name(event.actor),
            event.get_actor_role_display(),
            event.organisations,
            event.get_action_display(),
            event.object_type,
            event.get_outcome_display(),
            event.break_glass_reason,
        ]
        for event in record.access_log()
    )
    return header, rows


def _documents_csv(record: Record, in_archive: dict[int, str]) -> Table:
    header = [_("déposé le"), _("nom d'origine"), _("type"), _("taille (octets)")]
    header += [_("déposé par"), _("événement"), _("fichier dans l'archive")]
    rows = (
        [
            _when(document.uploaded_at),
            document.original_name,
            document.content_type,
            document.size,
            _name(document.uploaded_by),
            document.event.title,
            in_archive.get(document.pk, _("fichier introuvable")),
        ]
        for document in _rows(record.documents())
    )
    return header, rows
