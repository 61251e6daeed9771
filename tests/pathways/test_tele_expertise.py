"""Tele-expertise (pathways/services/tele_expertise.py, pathways/views/tele_expertise.py and
get_tele_expertise_for_expert in pathways/access.py), through HTTP first."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.models import TeleExpertiseRequest
from pathways.services.tele_expertise import answer_tele_expertise
from patients.models import ConsentRecord, Document, TimelineEvent
from professionals.models import Professional
from tsn.models import AuditEvent

Status = TeleExpertiseRequest.Status
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def expert(make_professional) -> Professional:
    return make_professional(specialty="Cardiologie", last_name="Lefèvre", first_name="Hugo")


@pytest.fixture
def gp(client, world):
    client.force_login(world.users["team_member"])
    return world.users["team_member"]


def _document(world, patient, name="echo.pdf") -> Document:
    event = TimelineEvent.objects.create(
        patient=patient, occurred_at=timezone.now(), kind="document", title=name
    )
    document = Document(
        patient=patient,
        event=event,
        original_name=name,
        content_type="application/pdf",
        size=9,
        uploaded_by=world.users["team_member"],
    )
    document.file.save(name, ContentFile(b"%PDF-1.4\n"), save=True)
    return document


def _ask(client, world, **data):
    url = reverse("pathways:tele_expertise_ask", args=[world.patient.pk])
    return client.post(url, data)


def _asked(world, expert, *, patient=None, documents=(), **fields) -> TeleExpertiseRequest:
    patient = patient or world.patient
    fields.setdefault("answer_by", timezone.now() + datetime.timedelta(days=7))
    asked = TeleExpertiseRequest.objects.create(
        patient=patient,
        requester=world.users["team_member"].professional,
        expert=expert,
        question=fields.pop("question", "Faut-il augmenter le diurétique ?"),
        **fields,
    )
    asked.documents.set(documents)
    return asked


def _request(user):
    request = RequestFactory().post("/")
    request.user = user
    return request


# --- Asking (patient-scoped) ---------------------------------------------------------------


def test_a_writer_asks_an_expert_with_documents(client, world, gp, expert):
    echo, letter = (
        _document(world, world.patient, "echo.pdf"),
        _document(world, world.patient, "cr.pdf"),
    )
    before = timezone.now()

    response = _ask(
        client,
        world,
        professional=expert.pk,
        question="FEVG à 35 % : faut-il adapter le traitement ?",
        documents=[echo.pk, letter.pk],
        answer_within_days=3,
    )

    assert response.status_code == 302
    assert response.url == reverse("pathways:tele_expertise", args=[world.patient.pk])
    asked = TeleExpertiseRequest.objects.get(patient=world.patient)
    assert asked.requester == gp.professional
    assert asked.expert == expert
    assert asked.status == Status.ASKED
    assert set(asked.documents.all()) == {echo, letter}
    assert asked.asked_at >= before
    assert asked.answer_by - asked.asked_at == datetime.timedelta(days=3)
    event = TimelineEvent.objects.get(patient=world.patient, kind="tele_expertise")
    assert event.title == "Demande de télé-expertise à Hugo Lefèvre"
    assert event.body == "FEVG à 35 % : faut-il adapter le traitement ?"
    assert event.author == gp.professional


def test_the_deadline_is_seven_days_by_default(world, expert):
    from pathways.services.tele_expertise import ask_tele_expertise

    asked = ask_tele_expertise(
        request=_request(world.users["team_member"]),
        patient=world.patient,
        expert=expert,
        question="Avis ?",
    )

    assert asked.answer_by - asked.asked_at == datetime.timedelta(days=7)


def test_a_document_of_another_patient_cannot_be_attached(client, world, gp, expert):
    foreign = _document(world, world.other_patient, "autre.pdf")

    response = _ask(
        client, world, professional=expert.pk, question="Avis ?", documents=[foreign.pk]
    )

    assert response.status_code == 400
    assert "Ce document n&#x27;appartient pas au dossier de ce patient." in (
        response.content.decode()
    )
    assert not TeleExpertiseRequest.objects.exists()


def test_the_service_refuses_a_document_of_another_patient_too(world, expert):
    from pathways.services.tele_expertise import ask_tele_expertise

    with pytest.raises(ValidationError) as error:
        ask_tele_expertise(
            request=_request(world.users["team_member"]),
            patient=world.patient,
            expert=expert,
            question="Avis ?",
            documents=[_document(world, world.other_patient)],
        )

    assert error.value.code == "foreign_document"
    assert not TeleExpertiseRequest.objects.exists()


def test_an_empty_ask_form_is_a_400_with_french_errors(client, world, gp):
    response = _ask(client, world, question=" ", answer_within_days="0")

    content = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 400
    assert "Choisissez un professionnel dans l'annuaire." in content
    assert "Posez votre question." in content
    assert "Le délai de réponse est d'au moins un jour." in content
    assert not TeleExpertiseRequest.objects.exists()


def _deactivated(professional):
    """A professional whose account was disabled (the demo's writers have such accounts)."""
    professional.user.is_active = False
    professional.user.save(update_fields=["is_active"])
    return professional


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("self", "Choisissez un autre professionnel que vous-même."),
        ("no_account", "Ce professionnel n'a pas de compte TSN"),
        ("inactive_account", "Ce professionnel n'a pas de compte TSN"),
        ("objected", "Le patient s'est opposé à ce que ce professionnel accède à son dossier."),
    ],
)
def test_experts_who_cannot_answer_are_refused(client, world, gp, make_professional, who, message):
    expert = {
        "self": gp.professional,
        "no_account": make_professional(with_user=False),
        "inactive_account": _deactivated(make_professional()),
        "objected": world.users["objected_professional"].professional,
    }[who]

    response = _ask(client, world, professional=expert.pk, question="Avis ?")

    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not TeleExpertiseRequest.objects.exists()


def test_the_page_offers_the_directory_picker_and_only_this_patients_documents(client, world, gp):
    mine, foreign = (
        _document(world, world.patient, "mien.pdf"),
        _document(world, world.other_patient, "x.pdf"),
    )

    content = client.get(reverse("pathways:tele_expertise", args=[world.patient.pk])).content
    content = content.decode()

    assert f"{reverse('professionals:search')}?champ=professional" in content
    assert f'value="{mine.pk}"' in content
    assert "mien.pdf" in content
    assert f'value="{foreign.pk}"' not in content


def test_the_page_lists_requests_and_answers_for_readers(client, world, expert):
    echo = _document(world, world.patient)
    _asked(
        world,
        expert,
        documents=[echo],
        status=Status.ANSWERED,
        answer="Oui, passer à 80 mg.",
        answered_at=timezone.now(),
    )
    _asked(world, expert, answer_by=timezone.now() - datetime.timedelta(days=1))
    client.force_login(world.users["read_only_member"])

    response = client.get(reverse("pathways:tele_expertise", args=[world.patient.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('data-testid="tele-expertise"') == 2
    assert "Oui, passer à 80 mg." in content
    assert content.count("Réponse en retard") == 1
    assert reverse("patients:document_download", args=[world.patient.pk, echo.pk]) in content
    assert reverse("pathways:tele_expertise_ask", args=[world.patient.pk]) not in content


def test_the_patient_page_has_a_constant_number_of_queries(
    client, world, gp, expert, django_assert_num_queries
):
    url = reverse("pathways:tele_expertise", args=[world.patient.pk])
    _asked(world, expert, documents=[_document(world, world.patient)])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(4):
        _asked(world, expert, documents=[_document(world, world.patient)])

    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


# --- Cancelling (patient-scoped) -------------------------------------------------------------


def test_the_requester_cancels_a_question(client, world, gp, expert):
    asked = _asked(world, expert)
    url = reverse("pathways:tele_expertise_cancel", args=[world.patient.pk, asked.pk])

    assert client.post(url).status_code == 302

    asked.refresh_from_db()
    assert asked.status == Status.CANCELLED
    event = TimelineEvent.objects.get(patient=world.patient, kind="tele_expertise")
    assert event.title == "Demande de télé-expertise à Hugo Lefèvre annulée"


def test_only_the_requester_cancels(client, world, expert):
    asked = _asked(world, expert)
    client.force_login(world.users["coordinator_following"])
    url = reverse("pathways:tele_expertise_cancel", args=[world.patient.pk, asked.pk])

    response = client.post(url)

    assert response.status_code == 400
    assert "Seul le professionnel qui a posé la question" in response.content.decode()
    asked.refresh_from_db()
    assert asked.status == Status.ASKED


def test_an_answered_question_cannot_be_cancelled(client, world, gp, expert):
    asked = _asked(world, expert, status=Status.ANSWERED, answer="Non.", answered_at=timezone.now())
    url = reverse("pathways:tele_expertise_cancel", args=[world.patient.pk, asked.pk])

    response = client.post(url)

    assert response.status_code == 400
    assert "Cette demande est déjà « Répondue »." in response.content.decode()


def test_a_request_is_cancelled_only_through_its_own_patient(client, world, gp, expert):
    other = _asked(world, expert, patient=world.other_patient)
    url = reverse("pathways:tele_expertise_cancel", args=[world.patient.pk, other.pk])

    assert client.post(url).status_code == 404


# --- The expert's inbox and answer -----------------------------------------------------------


def test_the_expert_sees_the_questions_unanswered_first_late_flagged(
    client, world, expert, make_patient
):
    now = timezone.now()
    answered = _asked(
        world, expert, patient=make_patient(), status=Status.ANSWERED, answered_at=now
    )
    later = _asked(world, expert, answer_by=now + datetime.timedelta(days=5))
    late = _asked(world, expert, patient=make_patient(), answer_by=now - datetime.timedelta(days=1))
    _asked(world, world.users["outsider"].professional, patient=make_patient())
    client.force_login(expert.user)

    response = client.get(reverse("pathways:tele_expertise_inbox"))

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('data-testid="tele-expertise"') == 3
    urls = [reverse("pathways:tele_expertise_detail", args=[r.pk]) for r in (late, later, answered)]
    assert [content.index(url) for url in urls] == sorted(content.index(url) for url in urls)
    assert content.count("Réponse en retard") == 1
    trace = AuditEvent.objects.get(actor=expert.user)
    assert (trace.object_type, trace.object_id, trace.patient_id) == (
        "tele_expertise_list",
        "3",
        None,
    )
    filtered = client.get(reverse("pathways:tele_expertise_inbox"), {"statut": "answered"})
    assert filtered.content.decode().count('data-testid="tele-expertise"') == 1


def test_the_inbox_has_a_constant_number_of_queries(
    client, world, expert, make_patient, django_assert_num_queries
):
    client.force_login(expert.user)
    url = reverse("pathways:tele_expertise_inbox")
    _asked(world, expert)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(6):
        _asked(world, expert, patient=make_patient())

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('data-testid="tele-expertise"') == 7


@pytest.mark.parametrize("persona", ["ars_analyst", "the_patient"])
def test_the_inbox_is_for_professionals_only(client, world, persona):
    client.force_login(world.users[persona])
    assert client.get(reverse("pathways:tele_expertise_inbox")).status_code == 404


def test_the_expert_reads_the_question_the_patient_and_the_documents(client, world, expert):
    echo = _document(world, world.patient, "echo.pdf")
    asked = _asked(world, expert, documents=[echo], question=f"Avis ? {SCRIPT}")
    client.force_login(expert.user)

    response = client.get(reverse("pathways:tele_expertise_detail", args=[asked.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert world.patient.birth_last_name in content
    assert "Marie" in content
    assert "Femme" in content
    assert f"{world.patient.age()} ans" in content
    assert "echo.pdf" in content
    assert reverse("pathways:tele_expertise_document", args=[asked.pk, echo.pk]) in content
    assert SCRIPT not in content
    assert "&lt;script&gt;" in content
    trace = AuditEvent.objects.get(actor=expert.user)
    assert (trace.object_type, trace.patient_id, trace.action, trace.outcome) == (
        "tele_expertise",
        world.patient.pk,
        "read",
        "allowed",
    )


@pytest.mark.parametrize("persona", ["team_member", "outsider", "coordinator_following"])
def test_another_professional_gets_404_and_a_denied_trace(client, world, expert, persona):
    asked = _asked(world, expert, documents=[_document(world, world.patient)])
    document = asked.documents.get()
    user = world.users[persona]
    client.force_login(user)

    assert client.get(reverse("pathways:tele_expertise_detail", args=[asked.pk])).status_code == 404
    answer_url = reverse("pathways:tele_expertise_answer", args=[asked.pk])
    assert client.post(answer_url, {"answer": "Non."}).status_code == 404
    document_url = reverse("pathways:tele_expertise_document", args=[asked.pk, document.pk])
    assert client.get(document_url).status_code == 404

    asked.refresh_from_db()
    assert asked.status == Status.ASKED
    traces = AuditEvent.objects.filter(actor=user).order_by("pk")
    assert [(t.object_type, t.patient_id, t.action, t.outcome) for t in traces] == [
        ("tele_expertise", world.patient.pk, "read", "denied"),
        ("tele_expertise", world.patient.pk, "update", "denied"),
        ("document", world.patient.pk, "read", "denied"),
    ]


def test_the_expert_answers_on_the_timeline(client, world, expert):
    asked = _asked(world, expert)
    client.force_login(expert.user)
    url = reverse("pathways:tele_expertise_answer", args=[asked.pk])

    response = client.post(url, {"answer": "Passer à 80 mg, contrôle de la kaliémie."})

    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.status == Status.ANSWERED
    assert asked.answer == "Passer à 80 mg, contrôle de la kaliémie."
    assert asked.answered_at is not None
    event = TimelineEvent.objects.get(patient=world.patient, kind="tele_expertise")
    assert event.title == "Réponse de télé-expertise de Hugo Lefèvre"
    assert event.body == "Passer à 80 mg, contrôle de la kaliémie."
    assert event.author == expert
    # The requester reads it on the patient's page.
    client.force_login(world.users["team_member"])
    page = client.get(reverse("pathways:tele_expertise", args=[world.patient.pk]))
    assert "Passer à 80 mg" in page.content.decode()


def test_an_empty_answer_is_a_400(client, world, expert):
    asked = _asked(world, expert)
    client.force_login(expert.user)

    response = client.post(reverse("pathways:tele_expertise_answer", args=[asked.pk]), {})

    assert response.status_code == 400
    assert "Rédigez votre réponse." in response.content.decode()
    asked.refresh_from_db()
    assert asked.status == Status.ASKED


@pytest.mark.parametrize("status", [Status.ANSWERED, Status.CANCELLED])
def test_only_an_open_question_is_answered(client, world, expert, status):
    answered_at = timezone.now() if status == Status.ANSWERED else None
    asked = _asked(world, expert, status=status, answer="Déjà.", answered_at=answered_at)
    client.force_login(expert.user)

    response = client.post(
        reverse("pathways:tele_expertise_answer", args=[asked.pk]), {"answer": "Encore."}
    )

    assert response.status_code == 400
    assert "Cette demande est déjà" in response.content.decode()
    asked.refresh_from_db()
    assert asked.answer == "Déjà."


def test_only_the_expert_answers_even_through_the_service(world, expert):
    asked = _asked(world, expert)

    with pytest.raises(PermissionDenied):
        answer_tele_expertise(
            request=_request(world.users["team_member"]), tele_expertise=asked, answer="Non."
        )


@pytest.mark.django_db(transaction=True)
def test_two_answers_at_once_give_one_change(world, expert):
    asked = _asked(world, expert)
    barrier = threading.Barrier(2)
    outcomes = []

    def answer(text: str) -> None:
        loaded = TeleExpertiseRequest.objects.select_related("expert", "patient").get(pk=asked.pk)
        barrier.wait()
        try:
            answer_tele_expertise(request=_request(expert.user), tele_expertise=loaded, answer=text)
            outcomes.append("answered")
        except ValidationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(text,)) for text in ("Oui.", "Non.")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["answered", "concurrent_change"]
    assert TimelineEvent.objects.filter(patient=world.patient, kind="tele_expertise").count() == 1


# --- Documents of a request ------------------------------------------------------------------


def test_the_expert_downloads_an_attached_document(client, world, expert):
    echo = _document(world, world.patient, "echo.pdf")
    asked = _asked(world, expert, documents=[echo])
    client.force_login(expert.user)

    response = client.get(reverse("pathways:tele_expertise_document", args=[asked.pk, echo.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"%PDF-1.4\n"
    trace = AuditEvent.objects.get(actor=expert.user)
    assert (trace.object_type, trace.object_id, trace.patient_id) == (
        "document",
        str(echo.pk),
        world.patient.pk,
    )


def test_documents_not_attached_to_the_request_are_not_served(client, world, expert):
    attached = _document(world, world.patient, "joint.pdf")
    not_attached = _document(world, world.patient, "autre.pdf")
    foreign = _document(world, world.other_patient, "etranger.pdf")
    foreign_request = _asked(world, expert, patient=world.other_patient, documents=[foreign])
    asked = _asked(world, expert, documents=[attached])
    client.force_login(expert.user)

    for document in (not_attached, foreign):
        url = reverse("pathways:tele_expertise_document", args=[asked.pk, document.pk])
        assert client.get(url).status_code == 404
    # The foreign document is the expert's through its own request only.
    url = reverse("pathways:tele_expertise_document", args=[foreign_request.pk, foreign.pk])
    assert client.get(url).status_code == 200


def test_documents_of_a_cancelled_request_are_no_longer_served(client, world, expert):
    echo = _document(world, world.patient)
    asked = _asked(world, expert, documents=[echo], status=Status.CANCELLED)
    client.force_login(expert.user)

    url = reverse("pathways:tele_expertise_document", args=[asked.pk, echo.pk])
    assert client.get(url).status_code == 404


def test_an_expert_the_patient_objected_to_loses_the_request(client, world, expert):
    asked = _asked(world, expert)
    ConsentRecord.objects.create(
        patient=world.patient, kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION, professional=expert
    )
    client.force_login(expert.user)

    assert client.get(reverse("pathways:tele_expertise_detail", args=[asked.pk])).status_code == 404
