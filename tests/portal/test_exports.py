""" "Download all my data" on the portal (portal/exports.py, portal/archive.py, portal/tasks.py):
the archive's content (PDF summary, FHIR Bundle, CSV files, documents), its preparation
(progress, failure, the requester's access checked when the task runs), the audited
download, who reaches what, the purge after 7 days, and a query count that does not grow
with the record."""

import csv
import datetime
import io
import json
import logging
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from pypdf import PdfReader

from pathways.models import Pathway, Step, StepTemplate
from patients.models import (
    Caregiver,
    CareTeamMember,
    Document,
    LiaisonMessage,
    Patient,
    TimelineEvent,
)
from portal import archive
from portal.models import DataExport
from portal.tasks import build_data_export_task, purge_data_exports_task
from professionals.models import Organization, PractitionerRole, Professional
from tests.conftest import valid_nir
from tests.pathways.test_fhir import measure, record_fixture  # noqa: F401 (the `record` fixture)
from tests.worker import wait_until
from tsn.celery import app
from tsn.logging import formatter
from tsn.models import AuditEvent

Status = DataExport.Status
NIR = valid_nir()
PDF_FILE = b"%PDF-1.4\n% compte rendu de sortie\n"
# A timeline title a spreadsheet would run as a formula, and an event not shared on the portal.
FORMULA = '=HYPERLINK("http://exemple.invalid","cliquer")'
UNSHARED = "Réunion de concertation pluriprofessionnelle"
GLASS_REASON = "Urgence de nuit, patient inconscient."
CSV_FILES = [
    "care_team.csv", "pathways.csv", "timeline.csv", "liaison_messages.csv",
    "measurements.csv", "referrals.csv", "tele_expertise.csv", "consents.csv",
    "documents.csv",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _tasks_at_commit(tasks_at_commit):
    """Requests run what waits for their commit (tests/conftest.py)."""


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _add_document(patient: Patient, uploader, title: str, name: str) -> Document:
    event = TimelineEvent.objects.create(
        patient=patient, occurred_at=timezone.now(), kind="document", title=title
    )
    document = Document(
        patient=patient,
        event=event,
        original_name=name,
        content_type="application/pdf",
        size=len(PDF_FILE),
        uploaded_by=uploader,
    )
    document.file.save("upload.pdf", ContentFile(PDF_FILE), save=True)
    return document


@pytest.fixture
def full(record, world, media):
    """The FHIR tests' record (pathway and steps, care plan, encounters, an entry marked in
    error, a message, measurements), with a qualified identity, a document, an event that
    is not shared on the portal, a title like a formula and a break-the-glass access."""
    patient = record.patient
    Patient.objects.filter(pk=patient.pk).update(
        nir=NIR, identity_status=Patient.IdentityStatus.QUALIFIED
    )
    patient.refresh_from_db()
    for title in (UNSHARED, FORMULA):
        TimelineEvent.objects.create(
            patient=patient, occurred_at=timezone.now(), kind="note", title=title
        )
    document = _add_document(
        patient, world.users["team_member"], "Compte rendu d'hospitalisation", "CR sortie.pdf"
    )
    AuditEvent.objects.create(
        actor=world.users["break_glass_active"],
        actor_role="professional",
        patient_id=patient.pk,
        action="read",
        object_type="patient",
        break_glass_reason=GLASS_REASON,
    )
    return {"patient": patient, "document": document, "record": record}


def _ask(client, patient: Patient):
    return client.post(reverse("portal:exports", args=[patient.pk]))


def _download(client, export: DataExport):
    return client.get(reverse("portal:export_download", args=[export.patient_id, export.pk]))


def _archive(client, export: DataExport) -> zipfile.ZipFile:
    content = b"".join(_download(client, export).streaming_content)
    return zipfile.ZipFile(io.BytesIO(content))


def _pdf_text(content: bytes) -> str:
    """The PDF's text, lines joined (table cells wrap)."""
    pages = PdfReader(io.BytesIO(content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def _csv(zipped: zipfile.ZipFile, name: str) -> list[list[str]]:
    data = zipped.read(name)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as the other CSV exports
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def _built(client, user, patient) -> DataExport:
    client.force_login(user)
    assert _ask(client, patient).status_code == 302
    return DataExport.objects.get(requested_by=user)


# --- The archive --------------------------------------------------------------------------------


def test_the_patient_asks_for_the_archive_and_downloads_it_audited(client, world, full, media):
    patient = full["patient"]
    client.force_login(world.users["the_patient"])
    page = client.get(reverse("portal:exports", args=[patient.pk])).content.decode()
    assert "Préparer l'archive" in page and "7 jours" in page

    assert _ask(client, patient).status_code == 302

    export = DataExport.objects.get()
    assert (export.status, export.progress) == (Status.READY, 100)
    assert export.requested_by == world.users["the_patient"] and export.finished_at
    assert export.file.name.startswith("exports/")
    assert (media / export.file.name).exists()
    page = client.get(reverse("portal:exports", args=[patient.pk])).content.decode()
    download_url = reverse("portal:export_download", args=[patient.pk, export.pk])
    assert download_url in page

    response = _download(client, export)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    trace = AuditEvent.objects.filter(object_type="data_export", action="export").get()
    assert (trace.actor, trace.patient_id, trace.object_id, trace.outcome) == (
        world.users["the_patient"], patient.pk, str(export.pk), "allowed"
    )  # fmt: skip
    zipped = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert zipped.testzip() is None
    names = set(zipped.namelist())
    assert {"synthese.pdf", "fhir-bundle.json", "access_log.csv", *CSV_FILES} <= names
    document = full["document"]
    assert zipped.read(f"documents/{document.pk}-cr-sortie.pdf") == PDF_FILE


@pytest.mark.parametrize(
    ("status", "ins_shown"),
    [(Patient.IdentityStatus.QUALIFIED, True), (Patient.IdentityStatus.RETRIEVED, False)],
)
def test_the_pdf_summary_holds_the_identity_every_event_and_the_access_log(
    client, world, full, status, ins_shown
):
    patient = full["patient"]
    Patient.objects.filter(pk=patient.pk).update(identity_status=status)
    export = _built(client, world.users["the_patient"], patient)

    text = _pdf_text(_archive(client, export).read("synthese.pdf"))

    assert patient.birth_last_name in text and patient.first_names in text
    assert (NIR in text) is ins_shown  # the INS only with a qualified identity
    assert UNSHARED in text  # the whole timeline, not only what the portal shows
    assert "Consultation (erreur)" in text and "saisie erronée" in text
    assert "Stabiliser le poids" in text  # the care plan's goal
    assert "Étape 3" in text and "Lefèvre" in text  # a step and the GP of the care team
    assert "Poids en hausse" in text  # the liaison message
    assert "Portage de repas le midi." in text  # a referral
    assert "Opposition à un professionnel nommé" in text
    assert GLASS_REASON in text  # who accessed, and why under break-the-glass


def test_the_fhir_bundle_is_the_whole_record_and_parses(client, world, full):
    patient = full["patient"]
    export = _built(client, world.users["the_patient"], patient)

    bundle = json.loads(_archive(client, export).read("fhir-bundle.json"))

    get_fhir_model_class("Bundle").model_validate(bundle)
    resources = [entry["resource"] for entry in bundle["entry"]]
    assert resources[0]["resourceType"] == "Patient" and resources[0]["id"] == str(patient.pk)
    assert bundle["entry"][0]["fullUrl"].endswith(f"/fhir/Patient/{patient.pk}")
    kinds = {resource["resourceType"] for resource in resources}
    assert {"CareTeam", "CarePlan", "Goal", "Task", "Encounter", "Communication"} <= kinds
    assert {"Observation", "AuditEvent", "Practitioner", "Organization"} <= kinds
    assert {"value": NIR} in [
        {"value": identifier["value"]} for identifier in resources[0]["identifier"]
    ]


def test_the_csv_files_hold_every_row_with_formulas_neutralised(client, world, full):
    patient = full["patient"]
    export = _built(client, world.users["the_patient"], patient)
    zipped = _archive(client, export)

    timeline = _csv(zipped, "timeline.csv")
    titles = [row[4] for row in timeline[1:]]
    assert timeline[0][:5] == ["n°", "date", "enregistré le", "nature", "titre"]
    assert f"'{FORMULA}" in titles and FORMULA not in titles
    assert UNSHARED in titles
    assert len(titles) == TimelineEvent.objects.filter(patient=patient).count()
    measurements = _csv(zipped, "measurements.csv")
    assert ["Poids", "72.40", "kg"] in [row[1:4] for row in measurements]
    assert len(measurements) == 1 + 6
    messages = _csv(zipped, "liaison_messages.csv")
    assert [row[2] for row in messages[1:]] == ["Poids en hausse, à surveiller."]
    assert len(_csv(zipped, "pathways.csv")) == 1 + 4  # one line per step
    log = _csv(zipped, "access_log.csv")
    assert GLASS_REASON in [row[7] for row in log]
    documents = _csv(zipped, "documents.csv")
    assert documents[1][1] == "CR sortie.pdf"
    assert documents[1][6] == f"documents/{full['document'].pk}-cr-sortie.pdf"


def test_a_caregivers_archive_leaves_out_the_access_log(client, world, full):
    """Who accessed the record is for the patient themself (`can_read_access_log`)."""
    patient = full["patient"]
    export = _built(client, world.users["authorised_caregiver"], patient)
    zipped = _archive(client, export)

    assert "access_log.csv" not in zipped.namelist()
    assert set(CSV_FILES) <= set(zipped.namelist())
    bundle = json.loads(zipped.read("fhir-bundle.json"))
    assert "AuditEvent" not in {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    text = _pdf_text(zipped.read("synthese.pdf"))
    assert GLASS_REASON not in text and UNSHARED in text


def test_a_missing_document_file_is_listed_not_fatal(client, world, full, media):
    (media / full["document"].file.name).unlink()
    export = _built(client, world.users["the_patient"], full["patient"])

    assert export.status == Status.READY
    zipped = _archive(client, export)
    assert not [name for name in zipped.namelist() if name.startswith("documents/")]
    assert _csv(zipped, "documents.csv")[1][6] == "fichier introuvable"


# --- Its preparation ---------------------------------------------------------------------------


def test_an_archive_being_prepared_polls_its_status_until_it_is_ready(client, world, media):
    patient, user = world.patient, world.users["the_patient"]
    export = DataExport.objects.create(
        patient=patient, requested_by=user, status=Status.RUNNING, progress=40
    )
    status_url = reverse("portal:export_status", args=[patient.pk, export.pk])
    download_url = reverse("portal:export_download", args=[patient.pk, export.pk])
    client.force_login(user)

    page = client.get(reverse("portal:exports", args=[patient.pk])).content.decode()
    running = client.get(status_url).content.decode()

    for html in (page, running):
        assert f'hx-get="{status_url}"' in html and 'hx-trigger="every 2s"' in html
        assert '<progress class="w-100" max="100" value="40"' in html
        assert "style=" not in html.split('id="archive-')[1]  # the CSP: no inline style
        assert download_url not in html
    assert "<html" not in running
    assert client.get(download_url).status_code == 404

    DataExport.objects.filter(pk=export.pk).update(status=Status.READY, progress=100)
    done = client.get(status_url).content.decode()

    assert "hx-trigger" not in done and download_url in done


def test_a_failed_build_keeps_no_file_says_so_in_french_and_logs_ids_only(
    client, world, full, media, monkeypatch, caplog
):
    patient = full["patient"]

    def broken(record, **kwargs):
        raise RuntimeError(f"police introuvable pour {patient.birth_last_name}")

    caplog.set_level(logging.INFO)
    with monkeypatch.context() as patch:
        patch.setattr(archive, "summary_pdf", broken)
        export = _built(client, world.users["the_patient"], patient)

    assert export.status == Status.FAILED and export.finished_at and not export.file
    assert not (media / "exports").exists() or not any((media / "exports").rglob("*.zip"))
    page = client.get(reverse("portal:exports", args=[patient.pk])).content.decode()
    assert "La préparation de l'archive a échoué" in page
    assert client.get(reverse("portal:exports", args=[patient.pk])).status_code == 200
    lines = "\n".join(formatter().format(record) for record in caplog.records)
    assert f"Data export {export.pk} of patient {patient.pk} failed" in lines
    assert patient.birth_last_name not in lines

    _ask(client, patient)  # asking again works
    assert DataExport.objects.filter(status=Status.READY).count() == 1


def test_a_caregiver_whose_access_ended_before_the_task_ran_gets_nothing(
    world, media, django_capture_on_commit_callbacks
):
    caregiver = world.users["authorised_caregiver"]
    with django_capture_on_commit_callbacks() as callbacks:
        export = archive.request_export(user=caregiver, patient=world.patient)
    Caregiver.objects.filter(user=caregiver).update(
        access_until=timezone.localdate() - datetime.timedelta(days=1)
    )

    for callback in callbacks:  # the task, which runs eagerly in tests
        callback()

    export.refresh_from_db()
    assert export.status == Status.FAILED and not export.file


def test_asking_twice_while_an_archive_is_on_its_way_builds_it_once(
    world, media, django_capture_on_commit_callbacks
):
    user = world.users["the_patient"]
    with django_capture_on_commit_callbacks() as callbacks:
        first = archive.request_export(user=user, patient=world.patient)
        again = archive.request_export(user=user, patient=world.patient)

    assert first == again and len(callbacks) == 1
    assert build_data_export_task.delay(first.pk).get() is None
    assert build_data_export_task.delay(first.pk).get() is None  # already built: nothing
    first.refresh_from_db()
    assert first.status == Status.READY


# --- Who reaches what ---------------------------------------------------------------------------


def _routes(patient: Patient, export: DataExport) -> list[tuple[str, str]]:
    return [
        ("get", reverse("portal:exports", args=[patient.pk])),
        ("post", reverse("portal:exports", args=[patient.pk])),
        ("get", reverse("portal:export_status", args=[patient.pk, export.pk])),
        ("get", reverse("portal:export_download", args=[patient.pk, export.pk])),
    ]


@pytest.fixture
def ready_export(client, world, media) -> DataExport:
    export = _built(client, world.users["the_patient"], world.patient)
    client.logout()
    return export


@pytest.mark.parametrize(
    "persona",
    ["another_patient", "expired_caregiver", "team_member", "coordinator_following",
     "break_glass_active", "outsider", "administrator"],
)  # fmt: skip
def test_who_may_not_open_the_record_gets_404_on_every_route(client, world, ready_export, persona):
    client.force_login(world.users[persona])

    for method, url in _routes(world.patient, ready_export):
        assert getattr(client, method)(url).status_code == 404, (method, url)
    assert DataExport.objects.count() == 1


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, world, ready_export):
    for method, url in _routes(world.patient, ready_export):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/comptes/login/" in response["Location"]


def test_the_patient_reaches_every_route(client, world, ready_export):
    client.force_login(world.users["the_patient"])

    codes = [
        getattr(client, method)(url).status_code
        for method, url in _routes(world.patient, ready_export)
    ]

    assert codes == [200, 302, 200, 200]


def test_a_caregiver_reaches_only_the_archives_they_asked_for(client, world, ready_export):
    client.force_login(world.users["authorised_caregiver"])
    page, _post, status, download = _routes(world.patient, ready_export)

    assert client.get(page[1]).status_code == 200
    assert f"archive-{ready_export.pk}" not in client.get(page[1]).content.decode()
    assert client.get(status[1]).status_code == 404
    assert client.get(download[1]).status_code == 404
    # The patient's export seen from another record of the same user: 404 too.
    other = world.other_patient
    client.force_login(world.users["another_patient"])
    url = reverse("portal:export_download", args=[other.pk, ready_export.pk])
    assert client.get(url).status_code == 404


# --- Kept 7 days ----------------------------------------------------------------------------------


def test_the_purge_deletes_archives_older_than_seven_days_with_their_files(client, world, media):
    old = _built(client, world.users["the_patient"], world.patient)
    recent = _built(client, world.users["authorised_caregiver"], world.patient)
    DataExport.objects.filter(pk=old.pk).update(
        requested_at=timezone.now() - datetime.timedelta(days=7, minutes=1)
    )
    old_file, recent_file = media / old.file.name, media / recent.file.name
    assert old_file.exists() and recent_file.exists()

    assert purge_data_exports_task.delay().get() == 1

    assert list(DataExport.objects.all()) == [recent]
    assert not old_file.exists() and recent_file.exists()


def test_the_purge_runs_every_hour_from_the_beat():
    entry = app.conf.beat_schedule["purge-data-exports"]
    assert entry["task"] == purge_data_exports_task.name


# --- Cost -----------------------------------------------------------------------------------------


def _grow(patient: Patient, world, make_professional, rows: int) -> None:
    """`rows` more of each kind of row of the record, each with its own related rows."""
    at = timezone.now() - datetime.timedelta(days=3)
    pathway = Pathway.objects.get(patient=patient)
    first = StepTemplate.objects.filter(template=pathway.template).count() + 1
    for n in range(rows):
        nurse = make_professional(Professional.Profession.NURSE)
        practice = Organization.objects.create(kind=Organization.Kind.GP_PRACTICE, name=f"O{n}")
        PractitionerRole.objects.create(professional=nurse, organization=practice)
        CareTeamMember.objects.create(patient=patient, professional=nurse, role="nurse")
        step = StepTemplate.objects.create(
            template=pathway.template,
            order=first + n,
            name=f"Étape {first + n}",
            responsible_profession="nurse",
            deadline_days=n,
        )
        Step.objects.create(pathway=pathway, template_step=step, assignee=nurse)
        TimelineEvent.objects.create(
            patient=patient, occurred_at=at, kind="consultation", title=f"C{n}", author=nurse,
            organization=practice,
        )  # fmt: skip
        measure(patient, "weight", "70", "kg", at, organization=practice)
        LiaisonMessage.objects.create(patient=patient, author=nurse.user, body=f"Message {n}")
        _add_document(patient, nurse.user, f"Document {n}", f"doc{n}.pdf")
        AuditEvent.objects.create(
            actor=nurse.user, patient_id=patient.pk, action="read", object_type="patient"
        )


def test_building_costs_the_same_number_of_queries_whatever_the_record_size(
    world, full, make_professional, django_assert_max_num_queries
):
    patient, user = full["patient"], world.users["the_patient"]
    counts = []
    for rows in (1, 30):
        _grow(patient, world, make_professional, rows)
        export = DataExport.objects.create(patient=patient, requested_by=user)
        with django_assert_max_num_queries(60), CaptureQueriesContext(connection) as queries:
            archive.build_export(export.pk)
        export.refresh_from_db()
        assert export.status == Status.READY
        counts.append(len(queries))

    assert counts[0] == counts[1]


# --- A real worker ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_archive_is_built_by_a_real_worker(client, world, real_worker, tmp_path):
    client.force_login(world.users["the_patient"])
    _ask(client, world.patient)
    export = DataExport.objects.get()
    assert wait_until(lambda: DataExport.objects.filter(pk=export.pk, status=Status.READY).exists())
    export.refresh_from_db()
    with zipfile.ZipFile(tmp_path / export.file.name) as zipped:
        assert "synthese.pdf" in zipped.namelist()
