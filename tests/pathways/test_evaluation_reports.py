"""Evaluation reports for the ARS, through the page, the task and the command: who may ask
for them, the building (progress, failure and retry, idempotent rebuild, the requester's
role checked when the task runs), the downloads, and no name in any output
(pathways/views/evaluation.py, pathways/services/evaluation.py)."""

import datetime
import hashlib
import hmac
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from pathways.models import EvaluationReport, Pathway, PathwayTemplate
from pathways.services import evaluation as evaluation_service
from pathways.services.evaluation import request_report
from patients.models import Patient, TimelineEvent
from tests.conftest import valid_nir
from tests.worker import wait_until
from tsn.models import AuditEvent, User

Status = EvaluationReport.Status
LAST_YEAR = timezone.localdate().year - 1
START, END = datetime.date(LAST_YEAR, 1, 1), datetime.date(LAST_YEAR, 12, 31)
CANARY = "ZORGLUB-CANARI"


@pytest.fixture(autouse=True)
def _tasks_at_commit(tasks_at_commit):
    """Requests run what waits for their commit (tests/conftest.py)."""


@pytest.fixture
def analyst(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(world.users["ars_analyst"])
    return world.users["ars_analyst"]


@pytest.fixture
def canary(make_patient, world):
    """A followed patient whose name and NIR must never reach an ARS output."""
    patient = make_patient(birth_last_name=CANARY, first_names="Albertine")
    Pathway.objects.create(
        patient=patient,
        template=PathwayTemplate.objects.first(),
        status=Pathway.Status.ACTIVE,
        enrolled_on=datetime.date(LAST_YEAR, 3, 1),
    )
    for day in (10, 20):
        TimelineEvent.objects.create(
            patient=patient,
            occurred_at=datetime.datetime(LAST_YEAR, 4, day, 9, tzinfo=datetime.UTC),
            kind=TimelineEvent.Kind.HOSPITAL_DISCHARGE,
            title=f"Sortie de {CANARY}",
            body=f"{CANARY} rentre chez elle",
        )
    return patient


def _ask(client, **fields):
    data = {"start": START.isoformat(), "end": END.isoformat(), "scope": ""} | fields
    return client.post(reverse("pathways:evaluation_reports"), data)


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_an_analyst_asks_for_a_report_and_downloads_the_pdf_and_the_csv(client, analyst, canary):
    page = client.get(reverse("pathways:evaluation_reports"))
    assert page.status_code == 200
    assert f'value="{START.isoformat()}"' in page.content.decode()  # last year by default

    response = _ask(client)

    assert response.status_code == 302
    report = EvaluationReport.objects.get()
    assert (report.status, report.progress, report.requested_by) == (Status.DONE, 100, analyst)
    page = client.get(reverse("pathways:evaluation_reports")).content.decode()
    pdf = client.get(reverse("pathways:evaluation_report_pdf", args=[report.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert "attachment" in pdf["Content-Disposition"]
    content = b"".join(pdf.streaming_content)
    assert content.startswith(b"%PDF")
    text = _pdf_text(content)
    assert "File active" in text and "Réhospitalisations à 30 jours" in text
    csv = b"".join(
        client.get(reverse("pathways:evaluation_report_csv", args=[report.pk])).streaming_content
    )
    assert csv.startswith(b"\xef\xbb\xbf")
    # No name, first name or NIR in any output an ARS user sees.
    for output in (page, text, csv.decode("utf-8-sig")):
        assert CANARY not in output.upper()
        assert "Albertine" not in output
        assert canary.nir is None or canary.nir not in output


@pytest.mark.parametrize(
    "persona", ["team_member", "coordinator_following", "the_patient", "outsider"]
)
def test_only_analysts_and_administrators_reach_the_reports(
    client, world, settings, tmp_path, persona, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        report = request_report(user=world.users["administrator"], start=START, end=END)
    client.force_login(world.users[persona])

    for url in (
        reverse("pathways:evaluation_reports"),
        reverse("pathways:evaluation_report_row", args=[report.pk]),
        reverse("pathways:evaluation_report_pdf", args=[report.pk]),
        reverse("pathways:evaluation_report_csv", args=[report.pk]),
    ):
        assert client.get(url).status_code == 404
    assert _ask(client).status_code == 404

    client.force_login(world.users["administrator"])
    assert (
        client.get(reverse("pathways:evaluation_report_pdf", args=[report.pk])).status_code == 200
    )


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (END, START, "La date de début doit précéder la date de fin."),
        (START, timezone.localdate(), "La période doit être terminée (au plus tard hier)."),
    ],
)
def test_a_wrong_period_is_refused_in_french(client, analyst, start, end, message):
    response = _ask(client, start=start.isoformat(), end=end.isoformat())

    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not EvaluationReport.objects.exists()


def test_asking_again_rebuilds_the_same_report_and_replaces_its_files(client, analyst, tmp_path):
    _ask(client)
    first = EvaluationReport.objects.get()
    first_pdf = first.pdf.name

    _ask(client)

    again = EvaluationReport.objects.get()
    assert again.pk == first.pk and again.status == Status.DONE
    assert again.finished_at > first.finished_at
    files = sorted(path.name for path in (tmp_path / "evaluation").iterdir())
    assert len(files) == 2  # one PDF and one CSV: the first build's files are gone
    assert not (tmp_path / first_pdf).exists() or first_pdf == again.pdf.name


def test_a_report_on_its_way_is_not_queued_twice(
    world, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    analyst = world.users["ars_analyst"]
    with django_capture_on_commit_callbacks() as callbacks:
        request_report(user=analyst, start=START, end=END)
        request_report(user=analyst, start=START, end=END)

    assert len(callbacks) == 1
    assert EvaluationReport.objects.get().status == Status.QUEUED


def test_a_requester_whose_role_changed_before_the_task_ran_gets_nothing(
    world, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    analyst = world.users["ars_analyst"]
    with django_capture_on_commit_callbacks() as callbacks:
        report = request_report(user=analyst, start=START, end=END)
    User.objects.filter(pk=analyst.pk).update(role=User.Role.PROFESSIONAL)

    for callback in callbacks:  # the task, which runs eagerly in tests
        callback()

    report.refresh_from_db()
    assert report.status == Status.FAILED
    assert "n'a plus accès aux rapports" in report.error
    assert not report.pdf and not report.csv
    assert not (tmp_path / "evaluation").exists()


def test_a_failed_build_shows_its_error_and_can_be_retried(client, analyst, monkeypatch):
    def broken(evaluation):
        raise RuntimeError("police introuvable")

    with monkeypatch.context() as patch:
        patch.setattr(evaluation_service, "render_report_pdf", broken)
        _ask(client)
    report = EvaluationReport.objects.get()
    assert report.status == Status.FAILED
    page = client.get(reverse("pathways:evaluation_reports")).content.decode()
    assert "police introuvable" in page and "Réessayer" in page

    _ask(client)

    report.refresh_from_db()
    assert (report.status, report.error) == (Status.DONE, "")


def test_a_report_being_built_polls_its_row_until_it_is_ready(client, analyst, world):
    report = EvaluationReport.objects.create(
        period_start=START, period_end=END, requested_by=analyst, status=Status.RUNNING, progress=40
    )
    row_url = reverse("pathways:evaluation_report_row", args=[report.pk])

    running = client.get(row_url).content.decode()
    assert f'hx-get="{row_url}"' in running and 'hx-trigger="every 2s"' in running
    assert 'value="40"' in running  # the progress bar
    assert reverse("pathways:evaluation_report_pdf", args=[report.pk]) not in running
    assert (
        client.get(reverse("pathways:evaluation_report_pdf", args=[report.pk])).status_code == 404
    )

    EvaluationReport.objects.filter(pk=report.pk).update(status=Status.DONE, progress=100)
    done = client.get(row_url).content.decode()
    assert "hx-trigger" not in done
    assert reverse("pathways:evaluation_report_pdf", args=[report.pk]) in done


def test_the_command_writes_the_pdf_and_the_csv(world, tmp_path):
    out = io.StringIO()
    code = PathwayTemplate.objects.first().code

    call_command(
        "evaluation_report",
        "--from", START.isoformat(), "--to", END.isoformat(), "--pathway", code,
        "--out", str(tmp_path / "rapport.pdf"), "--csv", str(tmp_path / "rapport.csv"),
        stdout=out,
    )  # fmt: skip

    assert (tmp_path / "rapport.pdf").read_bytes().startswith(b"%PDF")
    assert "File active" in (tmp_path / "rapport.csv").read_text(encoding="utf-8-sig")
    assert "rapport.pdf" in out.getvalue()
    with pytest.raises(CommandError, match="Parcours inconnu"):
        call_command(
            "evaluation_report", "--from", "2025-01-01", "--to", "2025-12-31",
            "--pathway", "nope", "--out", str(tmp_path / "x.pdf"),
        )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_report_is_built_by_a_real_worker(client, world, real_worker, tmp_path):
    client.force_login(world.users["ars_analyst"])
    _ask(client)
    report = EvaluationReport.objects.get()
    assert wait_until(
        lambda: EvaluationReport.objects.filter(pk=report.pk, status=Status.DONE).exists()
    )
    report.refresh_from_db()
    assert (tmp_path / report.pdf.name).read_bytes().startswith(b"%PDF")


# --- The pseudonymised extract for research -------------------------------------------------


def _extract(client, **fields):
    data = {
        "extrait-start": START.isoformat(),
        "extrait-end": END.isoformat(),
        "extrait-scope": "",
    } | fields
    return client.post(reverse("pathways:pseudonymised_extract"), data)


def test_an_administrator_downloads_the_extract_pseudonymised_and_audited(
    client, world, canary, settings
):
    settings.TSN_PSEUDONYMISATION_KEY = "clé du territoire"
    Patient.objects.filter(pk=canary.pk).update(
        nir=valid_nir("2450569123046"), identity_status=Patient.IdentityStatus.QUALIFIED
    )
    administrator = world.users["administrator"]
    client.force_login(administrator)

    response = _extract(client)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8-sig")
    lines = [line.split(";") for line in text.splitlines()]
    assert lines[0][:3] == ["pseudonyme", "annee_naissance", "sexe"]
    expected = hmac.new(
        "clé du territoire".encode(), valid_nir("2450569123046").encode(), hashlib.sha256
    ).hexdigest()
    canary_lines = [line for line in lines[1:] if line[0] == expected]
    assert len(canary_lines) == 1
    assert canary_lines[0][1] == str(canary.birth_date.year)
    assert CANARY not in text.upper() and "Albertine" not in text
    assert valid_nir("2450569123046") not in text
    event = AuditEvent.objects.get(object_type="pseudonymised_extract")
    assert (event.actor, event.action, event.patient_id) == (
        administrator,
        AuditEvent.Action.EXPORT,
        None,
    )

    settings.TSN_PSEUDONYMISATION_KEY = "une autre clé"
    assert expected not in _extract(client).content.decode("utf-8-sig")


def test_the_extract_is_for_administrators_only(client, world):
    client.force_login(world.users["ars_analyst"])

    assert _extract(client).status_code == 404
    assert not AuditEvent.objects.filter(object_type="pseudonymised_extract").exists()
    page = client.get(reverse("pathways:evaluation_reports")).content.decode()
    assert reverse("pathways:pseudonymised_extract") not in page


def test_a_wrong_extract_period_is_refused_in_french_and_nothing_is_audited(client, world):
    client.force_login(world.users["administrator"])

    response = _extract(
        client, **{"extrait-start": END.isoformat(), "extrait-end": START.isoformat()}
    )

    assert response.status_code == 400
    assert "La date de début doit précéder la date de fin." in response.content.decode()
    assert not AuditEvent.objects.filter(object_type="pseudonymised_extract").exists()


def test_a_report_whose_file_was_lost_is_not_found_not_an_error(client, analyst, tmp_path):
    _ask(client)
    report = EvaluationReport.objects.get()
    (tmp_path / report.pdf.name).unlink()

    response = client.get(reverse("pathways:evaluation_report_pdf", args=[report.pk]))

    assert response.status_code == 404
