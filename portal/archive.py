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
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import IO

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.utils.encoders import JSONEncoder

from pathways.fhir.everything import everything_bundle, record_resources
from patients.access import can_read_access_log
from patients.models import Document, Patient
from portal.archive_contents import Record, csv_files, documents_csv, in_chunks, summary_pdf
from portal.models import DataExport
from tsn.models import User
from tsn.spreadsheets import safe_cell

logger = logging.getLogger(__name__)

Status = DataExport.Status
# How long an archive is kept (file and row): the beat deletes older ones.
RETENTION = datetime.timedelta(days=7)
# An archive still not ready after this was lost with its worker: shown as failed, and a
# new one may be asked for.
STALE_AFTER = datetime.timedelta(hours=1)


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
        archive.writestr("synthese.pdf", summary_pdf(record, retention_days=RETENTION.days))
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
        _write_csv(archive, "documents.csv", *documents_csv(record, in_archive))
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
    for document in in_chunks(record.documents()):
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
