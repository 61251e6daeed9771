"""Health data never reaches the logs or the e-mails: a canary test.

A patient whose identity and record hold unique canary strings goes through the real
views and services (the care team's pages, the API, the HL7 endpoint, an alert and its
e-mail, a rejected message, 400s and a 500); every log record at DEBUG is captured as the
console handler renders it (tsn/logging.py, key=value and JSON) and every e-mail sent;
no canary may appear in any of them."""

import datetime
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse

from pathways.models import CarePlan, InboundMessage
from patients.models import Document, LiaisonMessage, Patient, TimelineEvent
from professionals.models import Organization, OrganizationToken, SupportService
from tests.conftest import valid_nir
from tsn.identifiers import with_luhn_key
from tsn.logging import formatter

FAMILY_NAME = "ZQXVNOMFAMILLE"
GIVEN_NAME = "Zqxvprenom"
NIR = valid_nir("1310275123456")  # a man born in February 1931, in Paris
BIRTH_DATE = datetime.date(1931, 2, 27)
STREET = "7 allee Zqxvadresse"
PHONE = "0699887766"
EMAIL = "zqxv.patient@exemple.fr"
NOTE = "Zqxvnote dyspnee nocturne"
LIAISON = "Zqxvliaison pansement"
GOAL = "Zqxvobjectif poids"
DOCUMENT_TITLE = "Zqxvdocument compte rendu"
FILE_NAME = "zqxvfichier.pdf"
REFERRAL = "Zqxvdemande chutes"
HL7_WARD = "Zqxvservice"
BAD_INPUT = "Zqxvsaisie"
CRASH = "Zqxvcrash"

CANARIES = [
    FAMILY_NAME,
    GIVEN_NAME,
    NIR,
    " ".join([NIR[0], NIR[1:3], NIR[3:5], NIR[5:7], NIR[7:10], NIR[10:13], NIR[13:]]),
    NIR[:13],
    "1931-02-27",
    "27/02/1931",
    "19310227",
    "Zqxvadresse",
    PHONE,
    "06 99 88 77 66",
    EMAIL,
    "Zqxvnote",
    "Zqxvliaison",
    "Zqxvobjectif",
    "Zqxvdocument",
    "zqxvfichier",
    "Zqxvdemande",
    HL7_WARD,
    BAD_INPUT,
    CRASH,
]

HL7 = Path(__file__).resolve().parent / "data" / "hl7"
TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def canary_hl7(name: str) -> bytes:
    """A message of the corpus about the canary patient (names, INS, birth date, address,
    phone), with the canary ward."""
    text = (HL7 / name).read_bytes().decode("latin-1")
    for corpus, canary in [
        ("DUPONT^Marie^Marie Louise^^^^L~ROUX^Marie^^^^^D", f"{FAMILY_NAME}^{GIVEN_NAME}^^^^^L"),
        ("245056912304534", NIR),
        ("|F|", "|M|"),
        ("12 rue des Lilas", STREET),
        ("0478000000", PHONE),
        ("CARDIO^201", f"{HL7_WARD}^201"),
    ]:
        assert corpus in text, corpus
        text = text.replace(corpus, canary)
    # The birth date (the malformed message's 32 February stays malformed).
    text = text.replace("19450508", "19310227").replace("19450532", "19310232")
    return text.encode("latin-1")


@dataclass
class Capture:
    records: list[logging.LogRecord] = field(default_factory=list)
    console: io.StringIO = field(default_factory=io.StringIO)
    json: io.StringIO = field(default_factory=io.StringIO)


class _Keep(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logs():
    """Every record reaching the root logger at DEBUG: kept as is, and rendered by the
    console handler's formatter (the production chain) and by the JSON one."""
    capture = Capture()
    console_handler = logging.getHandlerByName("console")
    console = logging.StreamHandler(capture.console)
    console.setFormatter(console_handler.formatter)
    as_json = logging.StreamHandler(capture.json)
    as_json.setFormatter(formatter("json"))
    handlers = [_Keep(capture.records), console, as_json]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        handler.setLevel(logging.DEBUG)
        root.addHandler(handler)
    yield capture
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def canary_patient(world) -> Patient:
    Patient.objects.filter(pk=world.patient.pk).update(
        birth_last_name=FAMILY_NAME,
        first_names=GIVEN_NAME,
        birth_date=BIRTH_DATE,
        sex=Patient.Sex.MALE,
        nir=NIR,
        identity_status=Patient.IdentityStatus.QUALIFIED,
        address=STREET,
        phone=PHONE,
        email=EMAIL,
    )
    world.patient.refresh_from_db()
    return world.patient


@pytest.fixture
def hospital_key(db) -> str:
    hospital = Organization.objects.create(
        kind=Organization.Kind.HOSPITAL, name="CH de test", finess=with_luhn_key("69078041")
    )
    return OrganizationToken.issue(organization=hospital, name="Flux ADT")[1]


def send_hl7(body: bytes, key: str):
    return Client().post(
        "/api/inbound/hl7v2/",
        body,
        content_type="x-application/hl7-v2+er7",
        headers={"authorization": f"Bearer {key}"},
    )


def care_plan_form() -> dict:
    return {
        "base_version": "0",
        "general_information": "",
        "referent": "",
        "next_review_on": "2027-03-01",
        "need_health": NOTE,
        "preferences": "",
        "objectifs-TOTAL_FORMS": "1",
        "objectifs-INITIAL_FORMS": "0",
        "objectifs-MIN_NUM_FORMS": "0",
        "objectifs-MAX_NUM_FORMS": "50",
        "objectifs-0-text": GOAL,
        "objectifs-0-target": "",
        "objectifs-0-status": "in_progress",
        "objectifs-0-comment": "",
        "actions-TOTAL_FORMS": "0",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "50",
    }


def run_scenario(world, patient, key, monkeypatch, settings, tmp_path, capture_commits) -> None:
    """The canary patient's record used the way the platform is used, errors included."""
    settings.MEDIA_ROOT = tmp_path
    pk = patient.pk
    gp = Client()
    gp.force_login(world.users["team_member"])
    coordinator = Client()
    coordinator.force_login(world.users["coordinator_following"])

    # Finding the patient: by name, by birth date, by INS (query strings).
    search = reverse("patients:search")
    assert gp.get(search, {"nom": FAMILY_NAME}).status_code == 200
    assert gp.get(search, {"naissance": "27/02/1931", "ins": NIR}).status_code == 200
    assert gp.get(reverse("patients:detail", args=[pk])).status_code == 200

    # Writing in the record: a note, a liaison message, a document, the care plan, a
    # referral; through the API too.
    note = {"kind": "consultation", "title": NOTE, "body": NOTE, "occurred_at": "2026-01-05T09:30"}
    assert gp.post(reverse("patients:post_event", args=[pk]), note).status_code == 302
    assert gp.post(reverse("patients:liaison", args=[pk]), {"body": LIAISON}).status_code == 302
    upload = SimpleUploadedFile(FILE_NAME, TINY_PDF, content_type="application/pdf")
    response = gp.post(
        reverse("patients:document_upload", args=[pk]), {"file": upload, "title": DOCUMENT_TITLE}
    )
    assert response.status_code == 302
    response = gp.post(reverse("pathways:care_plan_edit", args=[pk]), care_plan_form())
    assert response.status_code == 302
    service = SupportService.objects.get(name="Équipe mobile gériatrique")
    response = gp.post(
        reverse("pathways:referral_send", args=[pk]), {"service": service.pk, "reason": REFERRAL}
    )
    assert response.status_code == 302
    response = gp.post(
        f"/api/patients/{pk}/messages/", {"body": LIAISON}, content_type="application/json"
    )
    assert response.status_code == 201
    assert coordinator.get(reverse("patients:detail", args=[pk])).status_code == 200
    assert gp.get(reverse("pathways:care_plan_pdf", args=[pk])).status_code == 200

    # The hospital's admission: on the timeline, alerts for the care team, their e-mails
    # (the delivery task runs after the commit, eagerly in tests).
    with capture_commits(execute=True):
        response = send_hl7(canary_hl7("a01_admission.hl7"), key)
    assert "MSA|AA|" in response.content.decode()

    # Errors: a rejected HL7 message, an invalid form (400), an invalid API call (400),
    # a crash (500, its exception logged by Django).
    response = send_hl7(canary_hl7("malformed/bad_birth_date.hl7"), key)
    assert "MSA|AE|" in response.content.decode()
    invalid = {**note, "title": BAD_INPUT, "occurred_at": "2099-01-01T00:00"}
    assert gp.post(reverse("patients:post_event", args=[pk]), invalid).status_code == 400
    response = gp.post(
        f"/api/patients/{pk}/messages/",
        {"body": BAD_INPUT, "mentions": [BAD_INPUT]},
        content_type="application/json",
    )
    assert response.status_code == 400

    def crash(**kwargs):
        raise IntegrityError(
            f'duplicate key value violates unique constraint "body"\n'
            f"DETAIL:  Key (body, nir)=({kwargs['body']}, {NIR}) already exists."
        )

    monkeypatch.setattr("patients.views.liaison.post_liaison_message", crash)
    crashing = Client(raise_request_exception=False)
    crashing.force_login(world.users["team_member"])
    response = crashing.post(reverse("patients:liaison", args=[pk]), {"body": CRASH})
    assert response.status_code == 500


def test_no_canary_reaches_the_logs_or_the_e_mails(
    world,
    canary_patient,
    hospital_key,
    logs,
    mailoutbox,
    monkeypatch,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    run_scenario(
        world,
        canary_patient,
        hospital_key,
        monkeypatch,
        settings,
        tmp_path,
        django_capture_on_commit_callbacks,
    )

    # The canaries did go in: the scenario wrote them where the platform keeps them.
    patient = canary_patient
    assert TimelineEvent.objects.filter(patient=patient, body=NOTE).exists()
    assert LiaisonMessage.objects.filter(patient=patient, body=LIAISON).count() == 2
    assert Document.objects.filter(patient=patient, original_name=FILE_NAME).exists()
    assert CarePlan.objects.get(patient=patient).versions.get().goals[0]["text"] == GOAL
    assert patient.referrals.filter(reason=REFERRAL).exists()
    processed, rejected = InboundMessage.objects.order_by("pk")
    assert (processed.status, processed.patient_id) == ("processed", patient.pk)
    assert rejected.status == "rejected" and FAMILY_NAME in rejected.raw

    # The capture is not empty: log lines of both kinds, an exception, e-mails.
    console = logs.console.getvalue()
    json_lines = [json.loads(line) for line in logs.json.getvalue().splitlines() if line[:1] == "{"]
    events = {line["event"] for line in json_lines}
    assert {"hl7_message_received", "hl7_message_rejected", "notification_sent"} <= events
    assert any(isinstance(record.msg, dict) for record in logs.records)  # structlog's
    assert any(record.name == "django.request" for record in logs.records)  # the stdlib's
    crash_lines = [line for line in json_lines if "Internal Server Error" in line["event"]]
    assert crash_lines and "IntegrityError: [masqué]" in crash_lines[0]["exception"]
    assert "Traceback (most recent call last):" in console
    assert "Bad Request: /patients/" in console
    assert f"patient_id={patient.pk}" in console
    assert len(mailoutbox) >= 2
    assert {message.to[0] for message in mailoutbox} >= {world.users["team_member"].email}

    # What left the process: the rendered lines, each record's message, the e-mails.
    outputs = {
        "console lines": console,
        "JSON lines": logs.json.getvalue(),
        "record messages": "\n".join(record.getMessage() for record in logs.records),
    }
    for number, message in enumerate(mailoutbox):
        parts = [message.subject, message.body, *message.to, *message.cc, *message.bcc]
        parts += [str(value) for value in message.extra_headers.values()]
        parts += [str(alternative[0]) for alternative in getattr(message, "alternatives", [])]
        for attachment in message.attachments:
            parts += [str(attachment[0]), str(attachment[1])[:10_000]]
        outputs[f"e-mail {number}"] = "\n".join(parts)
    for where, text in outputs.items():
        for canary in CANARIES:
            assert canary.lower() not in text.lower(), f"{canary!r} in the {where}"
