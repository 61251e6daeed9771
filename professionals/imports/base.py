"""What the three directory imports (communes, FINESS, RPPS) share.

An import first reads the whole file: each line is parsed, validated and filtered on the
territory's départements; a malformed line is set aside as a rejection (line number,
reason in French, content). Then it compares the result with the directory, loading the
existing rows in a few queries into dicts, and only then writes, in one transaction, with
set-based statements. Between the two stands the safety rule: when more than a fifth of
the territory's lines are rejected, or when the import would end more than a fifth of the
open entries it manages, nothing is written (a truncated or wrong file must not empty the
directory). Every run leaves an `ImportRun` and its rejections, for a person to see what
to fix. One import runs at a time (a PostgreSQL advisory lock): two at once would plan
from the same state and write the same rows twice.
"""

import math
import re
import sys
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, ClassVar

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from professionals.models import ImportRejection, ImportRun
from tsn.models import Territory

# More than this share of the territory's lines rejected, or of the open entries ended,
# and the import is aborted before it writes anything.
ABORT_SHARE = 0.20
# Rows per UPDATE statement (and per INSERT of rejections).
BATCH_SIZE = 5000
# Rejections listed by the commands (the administration lists them all).
SHOWN_REJECTIONS = 20
# The key of the advisory lock held by a running import (any number unique in the database).
IMPORT_LOCK = 7_301_001

Line = tuple[int, str]


class ImportFailed(Exception):
    """The import wrote nothing to the directory; the message, in French, says why. `run`
    is the recorded run, when there is one."""

    def __init__(self, message: str, run: ImportRun | None = None) -> None:
        super().__init__(message)
        self.run = run


# --- Reading the file ---------------------------------------------------------------------------


def _open(path: Path, member: re.Pattern[str], stack: ExitStack) -> tuple[IO[bytes], int]:
    """The data file's bytes and size: the file itself, or, in a .zip as downloaded, its
    only member or the one whose name matches `member`."""
    try:
        if path.suffix.lower() != ".zip":
            return stack.enter_context(path.open("rb")), path.stat().st_size
        archive = stack.enter_context(zipfile.ZipFile(path))
        info = _data_member(archive, member, path.name)
        return stack.enter_context(archive.open(info)), info.file_size
    except FileNotFoundError as error:
        raise ImportFailed(_("Fichier introuvable : %(path)s.") % {"path": path}) from error
    except (OSError, zipfile.BadZipFile) as error:
        raise ImportFailed(
            _("Impossible de lire le fichier %(path)s : %(error)s.")
            % {"path": path, "error": error}
        ) from error


def _data_member(archive: zipfile.ZipFile, member: re.Pattern[str], name: str) -> zipfile.ZipInfo:
    files = [info for info in archive.infolist() if not info.is_dir()]
    if len(files) == 1:
        return files[0]
    matching = [info for info in files if member.search(Path(info.filename).name)]
    if len(matching) == 1:
        return matching[0]
    raise ImportFailed(
        _(
            "L'archive %(name)s devrait contenir un seul fichier de la forme %(pattern)s ; "
            "elle contient : %(members)s."
        )
        % {
            "name": name,
            "pattern": member.pattern,
            "members": ", ".join(info.filename for info in files) or _("aucun fichier"),
        }
    )


def _decoded(raw: bytes) -> str:
    # UTF-8, the encoding of the Annuaire Santé and data.gouv.fr files; a line that is not
    # valid UTF-8 is read as latin-1 instead (older FINESS extractions were latin-1), which
    # cannot fail. Line by line, so that the file is never held whole in memory; a latin-1
    # accented letter followed by a plain one never forms valid UTF-8, so the fallback
    # only ever applies to latin-1 lines.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _numbered_lines(stream: IO[bytes], size: int, *, progress: bool, title: str) -> Iterator[Line]:
    """The file's lines with their 1-based numbers, line ends removed, under a progress bar
    (on stderr, only on a terminal)."""
    bar = tqdm(
        total=size,
        unit="o",
        unit_scale=True,
        desc=title,
        file=sys.stderr,
        disable=not (progress and sys.stderr.isatty()),
    )
    pending = 0
    with bar:
        for number, raw in enumerate(stream, start=1):
            pending += len(raw)
            if number % 4096 == 0:
                bar.update(pending)
                pending = 0
            text = _decoded(raw).rstrip("\r\n")
            yield number, text.removeprefix("\ufeff") if number == 1 else text
        bar.update(pending)


# --- Helpers for the formats ---------------------------------------------------------------------

# "Indice de répétition" codes of the national files (FINESS, RPPS), as written in an address.
_REPETITION = {"B": "bis", "T": "ter", "Q": "quater"}


def street_address(number: str, repetition: str, street_type: str, street: str, *more: str) -> str:
    """An address line, e.g. "12 bis rue de la République", then the other parts (lieu-dit,
    post-office box, ...) after commas."""
    repetition = _REPETITION.get(repetition.upper(), repetition)
    line = " ".join(part for part in (number, repetition, street_type, street) if part)
    return ", ".join(part for part in (line, *more) if part)


def decimal_number(text: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A number written with a decimal point or comma, finite and within the bounds
    (ValueError otherwise)."""
    value = float(text.replace(",", "."))
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(text)
    return value


def departement_of_commune(insee_code: str) -> str:
    """The département of a commune's INSEE code: 2 characters, 3 overseas (97x)."""
    return insee_code[:3] if insee_code.startswith("97") else insee_code[:2]


def departement_of_postcode(postcode: str) -> str:
    """The département a postcode belongs to (Corsica's 20xxx split at 20200)."""
    if postcode.startswith("20") and len(postcode) == 5:
        return "2A" if postcode < "20200" else "2B"
    return departement_of_commune(postcode)


def validation_message(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def clip(text: str, field: models.Field) -> str:
    """`text` cut to the field's length (a longer value would make the whole write fail)."""
    return text[: field.max_length]


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple]
) -> list[int]:
    """Insert the rows (values in the order of `fields`) with COPY, under ids drawn from
    the table's sequence; their ids, in the rows' order. The model's other columns get
    what Django would give them (their default, now for auto_now dates) or their database
    default. (bulk_create spends most of its time preparing each value of each object.)"""
    if not rows:
        return []
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    now = timezone.now()
    others = [
        field
        for field in meta.concrete_fields
        if not (field.primary_key or field in given or field.has_db_default())
    ]
    defaults = tuple(
        now
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        else field.get_default()
        for field in others
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in [meta.pk, *given, *others])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        with cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row((pk, *row, *defaults))
    return ids


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple]) -> None:
    """Set `fields` of the rows given as (pk, *values): one UPDATE per batch joined on
    unnest()ed arrays. (Django's bulk_update builds one CASE per field over the whole
    batch, a cost growing with the square of the batch size.) Not for array fields."""
    if not rows:
        return
    meta = model._meta
    targets = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    arrays = ", ".join(f"%s::{target.db_type(connection)}[]" for target in targets)
    aliases = ", ".join(f"c{index}" for index in range(len(targets)))
    assignments = ", ".join(
        f"{quote(target.column)} = v.c{index}" for index, target in enumerate(targets) if index
    )
    # Only names from the model's metadata are formatted in; the values are parameters.
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({aliases}) "  # noqa: S608 - model metadata  # nosec B608
        f"WHERE {table}.{quote(meta.pk.column)} = v.c0"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            cursor.execute(sql, [list(column) for column in zip(*batch, strict=True)])


# --- One run ------------------------------------------------------------------------------------


class DirectoryImport:
    """One import of one file. A subclass reads its format (`read`), compares with the
    directory (`plan`, which sets the counts) and writes (`write`, inside the transaction)."""

    kind: ClassVar[str]
    # The data file inside a downloaded archive holding several.
    member: ClassVar[re.Pattern[str]]
    # What the ending rule counts, plural, for the messages ("exercices", ...).
    entries: ClassVar[str | Promise] = ""

    def __init__(self, run: ImportRun, territory: Territory) -> None:
        self.run = run
        self.departements = frozenset(territory.departement_codes)
        self.rejections: list[ImportRejection] = []
        self.rows = 0  # data lines read
        self.outside = 0  # of which skipped, outside the territory
        self.territory_rows = 0  # of which in the territory (or of unknown place), rejected or not
        self.created = 0
        self.updated = 0
        self.ended = 0
        self.open_entries = 0  # open entries the import manages, before it
        self.details: list[str] = []  # what the counts are made of, for the summary

    def read(self, lines: Iterator[Line]) -> None:
        raise NotImplementedError

    def plan(self) -> None:
        raise NotImplementedError

    def write(self) -> None:
        raise NotImplementedError

    def reject(self, line: int, reason: str, content: str) -> None:
        self.rejections.append(
            ImportRejection(run=self.run, line=line, reason=reason[:300], content=content)
        )

    def missing_columns(self, columns: Sequence[str]) -> ImportFailed:
        return ImportFailed(
            _("Colonnes obligatoires absentes de l'en-tête du fichier : %(columns)s.")
            % {"columns": ", ".join(f"« {column} »" for column in columns)}
        )

    def refusal(self) -> str:
        """Why the planned import must not be written, or "" when it may."""
        rejected = len(self.rejections)
        if rejected > ABORT_SHARE * self.territory_rows:
            return _(
                "Import interrompu, rien n'a été écrit dans l'annuaire : %(rejected)d lignes "
                "du territoire sur %(rows)d sont rejetées, plus de 20 %%. Corrigez le fichier "
                "(ou vérifiez que c'est le bon) et relancez l'import."
            ) % {"rejected": rejected, "rows": self.territory_rows}
        if self.ended > ABORT_SHARE * self.open_entries:
            return _(
                "Import interrompu, rien n'a été écrit dans l'annuaire : il terminerait "
                "%(ended)d %(entries)s ouverts sur %(open)d, plus de 20 %%. Le fichier est-il "
                "complet ?"
            ) % {"ended": self.ended, "entries": self.entries, "open": self.open_entries}
        return ""

    def finish(self, status: str, message: str = "") -> None:
        """Record the run's outcome and its rejections."""
        run = self.run
        done = status == ImportRun.Status.DONE
        run.status = status
        run.finished_at = timezone.now()
        run.rows = self.rows
        run.created = self.created if done else 0
        run.updated = self.updated if done else 0
        run.ended = self.ended if done else 0
        run.rejected = len(self.rejections)
        outside = ngettext(
            "%(count)d ligne hors du territoire, ignorée.",
            "%(count)d lignes hors du territoire, ignorées.",
            self.outside,
        ) % {"count": self.outside}
        details = self.details if done else []  # an aborted run did none of it
        run.message = "\n".join(part for part in (message, *details, outside) if part)
        run.save(
            update_fields=[
                "status",
                "finished_at",
                "rows",
                "created",
                "updated",
                "ended",
                "rejected",
                "message",
            ]
        )
        ImportRejection.objects.bulk_create(self.rejections, batch_size=BATCH_SIZE)


@contextmanager
def _one_import_at_a_time() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [IMPORT_LOCK])
        if not cursor.fetchone()[0]:
            raise ImportFailed(
                _(
                    "Un autre import de l'annuaire est en cours : relancez celui-ci quand il "
                    "sera terminé."
                )
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [IMPORT_LOCK])


def run_import(
    importer: type[DirectoryImport], path: str | Path, *, progress: bool = False
) -> ImportRun:
    """Import the file at `path` into the directory; the run, done. Raises ImportFailed
    when nothing was written (the run, if one was recorded, says why)."""
    territory = Territory.objects.first()
    if territory is None:
        raise ImportFailed(
            _(
                "Aucun territoire n'est configuré : créez-le dans l'administration (ses "
                "départements décident des lignes importées), puis relancez l'import."
            )
        )
    path = Path(path)
    with ExitStack() as stack:
        stack.enter_context(_one_import_at_a_time())
        stream, size = _open(path, importer.member, stack)
        run = ImportRun.objects.create(kind=importer.kind, file_name=path.name[:255])
        job = importer(run, territory)
        try:
            try:
                job.read(_numbered_lines(stream, size, progress=progress, title=path.name))
            except (OSError, EOFError, zipfile.BadZipFile) as error:  # a damaged download
                raise ImportFailed(
                    _("Lecture du fichier %(name)s interrompue : %(error)s.")
                    % {"name": path.name, "error": error}
                ) from error
            job.plan()
            refusal = job.refusal()
            if refusal:
                raise ImportFailed(refusal, run)
            with transaction.atomic():
                job.write()
                job.finish(ImportRun.Status.DONE)
        except ImportFailed as failure:
            with transaction.atomic():
                job.finish(ImportRun.Status.ABORTED, str(failure))
            failure.run = run
            raise
        except Exception as error:
            with transaction.atomic():
                job.finish(
                    ImportRun.Status.ABORTED,
                    _("Erreur inattendue : %(error)r.") % {"error": error},
                )
            raise
    return run


# --- The commands -------------------------------------------------------------------------------


def summary(run: ImportRun) -> list[str]:
    """What a run did, for a person: counts, details, the first rejected lines."""
    lines = [
        f"{run.get_kind_display()} — {run.file_name} : {run.get_status_display()}",
        _("créés %(created)d, mis à jour %(updated)d, terminés %(ended)d, rejetés %(rejected)d")
        % {
            "created": run.created,
            "updated": run.updated,
            "ended": run.ended,
            "rejected": run.rejected,
        },
        *run.message.splitlines(),
    ]
    if run.rejected:
        lines.append(_("Lignes rejetées :"))
        for rejection in run.rejections.order_by("line")[:SHOWN_REJECTIONS]:
            lines.append(
                _("  ligne %(line)d : %(reason)s")
                % {"line": rejection.line, "reason": rejection.reason}
            )
        if run.rejected > SHOWN_REJECTIONS:
            lines.append(
                _("  … et %(count)d autres, voir l'administration")
                % {"count": run.rejected - SHOWN_REJECTIONS}
            )
    return lines


class ImportCommand(BaseCommand):
    """`manage.py import_… FILE [--no-progress]`: run an import, print its summary."""

    importer: ClassVar[type[DirectoryImport]]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", help=_("le fichier à importer, ou l'archive .zip telle que téléchargée")
        )
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help=_("sans barre de progression (elle ne s'affiche que dans un terminal)"),
        )

    def handle(self, *args: object, file: str, no_progress: bool, **options: object) -> None:
        try:
            run = run_import(self.importer, file, progress=not no_progress)
        except ImportFailed as failure:
            if failure.run is not None:
                self.stdout.write("\n".join(summary(failure.run)))
            raise CommandError(str(failure)) from failure
        self.stdout.write("\n".join(summary(run)))
