"""Free text never executes: what a person types (timeline notes and corrections, liaison
notebook messages, care plan goals and actions, referral messages, tele-expertise
questions and answers, document titles, alert texts, pathway template names) is entered
through the real views and services, then shown as text in the pages, in the PDFs and
in the e-mails. The platform takes no rich text anywhere: every template relies on
Django's autoescaping, and nothing marks user text safe."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from pathways.models import (
    Alert,
    EvaluationReport,
    Pathway,
    PathwayTemplate,
    Referral,
    TeleExpertiseRequest,
)
from pathways.services.alert import AlertDraft, raise_alerts
from pathways.services.evaluation import request_report
from patients.models import TimelineEvent

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
RAW = ("<script>alert(1)", "<img src=x onerror")
TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def typed(field: str) -> str:
    """The payload as typed in one field (the prefix tells the fields apart)."""
    return f"{field}:{PAYLOAD}"


def assert_shown_as_text(html: str, *fields: str) -> None:
    """Each field's payload is in the page escaped, and no payload is there as markup."""
    for raw in RAW:
        assert raw not in html
    for field in fields:
        assert f"{field}:{ESCAPED}" in html


def pdf_text(content: bytes) -> str:
    """The PDF's text, without the white space that line wrapping puts anywhere."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return "".join(text.split())


def assert_printed_as_text(content: bytes, *fields: str) -> None:
    """Each field's payload is printed literally: neither dropped as markup nor escaped
    twice (which would print "&lt;")."""
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    assert "&lt;" not in text
    for field in fields:
        assert "".join(typed(field).split()) in text


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def gp(client, world):
    client.force_login(world.users["team_member"])
    return world.users["team_member"]


# --- The patient file ---------------------------------------------------------------------


def test_a_timeline_note_and_its_correction(client, world, gp):
    patient = world.patient
    response = client.post(
        reverse("patients:post_event", args=[patient.pk]),
        {
            "kind": "note",
            "title": typed("title"),
            "body": typed("body"),
            "occurred_at": (timezone.localtime() - datetime.timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
        },
    )
    assert response.status_code == 302
    event = TimelineEvent.objects.get(patient=patient, title=typed("title"))
    detail = reverse("patients:detail", args=[patient.pk])

    assert_shown_as_text(page(client, detail), "title", "body")
    error_url = reverse("patients:event_in_error", args=[patient.pk, event.pk])
    assert_shown_as_text(page(client, error_url), "title", "body")

    assert client.post(error_url, {"reason": typed("reason")}).status_code == 302
    assert_shown_as_text(page(client, detail), "title", "body", "reason")


def test_a_liaison_notebook_message(client, world, gp):
    url = reverse("patients:liaison", args=[world.patient.pk])
    assert client.post(url, {"body": typed("message")}).status_code == 302

    assert_shown_as_text(page(client, url), "message")


def test_a_document_title_and_file_name(client, world, gp):
    name = "<img src=x onerror=alert(2)>.pdf"
    upload = SimpleUploadedFile(name, TINY_PDF, content_type="application/pdf")
    response = client.post(
        reverse("patients:document_upload", args=[world.patient.pk]),
        {"file": upload, "title": typed("title")},
    )
    assert response.status_code == 302

    html = page(client, reverse("patients:detail", args=[world.patient.pk]))
    assert_shown_as_text(html, "title")
    assert "&lt;img src=x onerror=alert(2)&gt;.pdf" in html


# --- Care plan: the page, the printable page and the PDF ---------------------------------

CARE_PLAN_FIELDS = (
    "general",
    "health",
    "autonomy",
    "preferences",
    "goal",
    "target",
    "comment",
    "action",
)


def _care_plan_form() -> dict:
    return {
        "base_version": "0",
        "general_information": typed("general"),
        "referent": "",
        "next_review_on": "2027-03-01",
        "need_health": typed("health"),
        "need_autonomy": typed("autonomy"),
        "preferences": typed("preferences"),
        "objectifs-TOTAL_FORMS": "1",
        "objectifs-INITIAL_FORMS": "0",
        "objectifs-MIN_NUM_FORMS": "0",
        "objectifs-MAX_NUM_FORMS": "50",
        "objectifs-0-text": typed("goal"),
        "objectifs-0-target": typed("target"),
        "objectifs-0-status": "in_progress",
        "objectifs-0-comment": typed("comment"),
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "50",
        "actions-0-text": typed("action"),
        "actions-0-kind": "care",
        "actions-0-owner": "",
        "actions-0-due_on": "2027-01-15",
    }


def test_a_care_plan_goals_actions_and_needs(client, world, gp):
    patient = world.patient
    edit = reverse("pathways:care_plan_edit", args=[patient.pk])
    assert client.post(edit, _care_plan_form()).status_code == 302

    for name in ("pathways:care_plan", "pathways:care_plan_print"):
        assert_shown_as_text(page(client, reverse(name, args=[patient.pk])), *CARE_PLAN_FIELDS)
    pdf = client.get(reverse("pathways:care_plan_pdf", args=[patient.pk]))
    assert pdf.status_code == 200
    assert_printed_as_text(pdf.content, *CARE_PLAN_FIELDS)


# --- Referrals and tele-expertise -----------------------------------------------------------


def test_a_referral_message_and_its_refusal(client, world, gp):
    patient = world.patient
    service = world.users["coordinator_not_following"].professional.support_services.get()
    send = reverse("pathways:referral_send", args=[patient.pk])
    assert client.post(send, {"service": service.pk, "reason": typed("reason")}).status_code == 302
    referral = Referral.objects.get(patient=patient, service=service)
    referrals = reverse("pathways:referrals", args=[patient.pk])
    assert_shown_as_text(page(client, referrals), "reason")
    # The referral is on the timeline too.
    assert_shown_as_text(page(client, reverse("patients:detail", args=[patient.pk])), "reason")

    client.force_login(world.users["coordinator_not_following"])
    detail = reverse("pathways:referral_detail", args=[referral.pk])
    assert_shown_as_text(page(client, detail), "reason")
    response = client.post(
        reverse("pathways:referral_respond", args=[referral.pk]),
        {"action": "refuse", "refusal_reason": typed("refusal")},
    )
    assert response.status_code == 302
    assert_shown_as_text(page(client, detail), "reason", "refusal")

    client.force_login(world.users["team_member"])
    assert_shown_as_text(page(client, referrals), "reason", "refusal")


def test_a_tele_expertise_question_and_answer(client, world, gp, make_professional):
    expert = make_professional(specialty="Cardiologie")
    response = client.post(
        reverse("pathways:tele_expertise_ask", args=[world.patient.pk]),
        {"professional": expert.pk, "question": typed("question"), "answer_within_days": 7},
    )
    assert response.status_code == 302
    asked = TeleExpertiseRequest.objects.get(patient=world.patient)

    client.force_login(expert.user)
    answer = reverse("pathways:tele_expertise_answer", args=[asked.pk])
    assert client.post(answer, {"answer": typed("answer")}).status_code == 302
    detail = reverse("pathways:tele_expertise_detail", args=[asked.pk])
    assert_shown_as_text(page(client, detail), "question", "answer")

    client.force_login(world.users["team_member"])
    listing = reverse("pathways:tele_expertise", args=[world.patient.pk])
    assert_shown_as_text(page(client, listing), "question", "answer")


# --- Alerts: the worklist, the notifications, the e-mail -----------------------------------


def test_an_alert_text_in_the_pages_and_never_in_the_e_mail(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    coordinator = world.users["coordinator_following"]
    with django_capture_on_commit_callbacks(execute=True):
        raise_alerts(
            [
                AlertDraft(
                    patient_id=world.patient.pk,
                    kind=Alert.Kind.HOSPITAL_DISCHARGE,
                    message=typed("alert"),
                    dedupe_key="test:free-text",
                    assignee_id=coordinator.pk,
                )
            ]
        )
    client.force_login(coordinator)

    assert_shown_as_text(page(client, reverse("pathways:worklist")), "alert")
    assert_shown_as_text(page(client, reverse("pathways:notifications")), "alert")
    # The e-mail is plain text with no HTML alternative, and carries no patient text at
    # all (an HTML part added later would have to escape the text: see above).
    [message] = mailoutbox
    html_parts = [
        content for content, mimetype in getattr(message, "alternatives", []) if "html" in mimetype
    ]
    assert html_parts == []
    assert message.content_subtype == "plain"
    for raw in ("alert(1)", "onerror"):
        assert raw not in message.subject + message.body


# --- A name written by an administrator, in the evaluation report's PDF ----------------------


def test_a_pathway_template_name_in_the_evaluation_report(
    client, world, django_capture_on_commit_callbacks
):
    template = PathwayTemplate.objects.create(code="xss", name=typed("template"))
    Pathway.objects.create(
        patient=world.patient,
        template=template,
        status=Pathway.Status.ACTIVE,
        enrolled_on=timezone.localdate() - datetime.timedelta(days=40),
    )
    end = timezone.localdate() - datetime.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        report = request_report(
            user=world.users["administrator"],
            start=end - datetime.timedelta(days=29),
            end=end,
            template_code="xss",
        )
    report.refresh_from_db()
    assert report.status == EvaluationReport.Status.DONE
    client.force_login(world.users["ars_analyst"])

    assert_shown_as_text(page(client, reverse("pathways:evaluation_reports")), "template")
    pdf = client.get(reverse("pathways:evaluation_report_pdf", args=[report.pk]))
    assert pdf.status_code == 200
    assert_printed_as_text(b"".join(pdf.streaming_content), "template")
