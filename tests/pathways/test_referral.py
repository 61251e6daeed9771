"""Referrals to support services (pathways/services/referral.py, pathways/views/referral.py
and get_referral_for_service in pathways/access.py), through HTTP first."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.models import Pathway, PathwayTemplate, Referral
from pathways.services.referral import (
    accept_referral,
    acknowledge_referral,
    cancel_referral,
    complete_referral,
    refuse_referral,
)
from patients.models import ConsentRecord, TimelineEvent
from professionals.models import SupportService
from tsn.models import AuditEvent

Status = Referral.Status
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def meals(world) -> SupportService:
    """The service of the world's SENT referral; its member is "service_referral_pending"."""
    return SupportService.objects.get(name="Portage de repas")


@pytest.fixture
def geriatrics(world) -> SupportService:
    """A service with no referral for the patient; its member is "coordinator_not_following"."""
    service = SupportService.objects.get(name="Équipe mobile gériatrique")
    service.response_days = 3
    service.save(update_fields=["response_days"])
    return service


@pytest.fixture
def sent(world, meals) -> Referral:
    return world.patient.referrals.get(service=meals)


def _request(user):
    request = RequestFactory().post("/")
    request.user = user
    return request


def _send(client, world, **data):
    return client.post(reverse("pathways:referral_send", args=[world.patient.pk]), data)


def _respond(client, referral, action, **data):
    url = reverse("pathways:referral_respond", args=[referral.pk])
    return client.post(url, {"action": action, **data})


def _referral(world, service, **fields) -> Referral:
    fields.setdefault("respond_by", timezone.now() + datetime.timedelta(days=5))
    fields.setdefault("reason", "Évaluation à domicile.")
    return Referral.objects.create(
        patient=fields.pop("patient", world.patient),
        service=service,
        sent_by=world.patient.gp,
        **fields,
    )


# --- Sending (patient-scoped) ------------------------------------------------------------


def test_a_writer_sends_a_referral_with_its_clock_and_timeline_event(client, world, geriatrics):
    gp = world.users["team_member"]
    client.force_login(gp)
    before = timezone.now()

    response = _send(client, world, service=geriatrics.pk, reason="Chutes répétées.")

    assert response.status_code == 302
    assert response.url == reverse("pathways:referrals", args=[world.patient.pk])
    referral = world.patient.referrals.get(service=geriatrics)
    assert referral.status == Status.SENT
    assert referral.sent_by == gp.professional
    assert referral.reason == "Chutes répétées."
    clock = referral.respond_by - referral.sent_at
    assert clock == datetime.timedelta(days=3)
    assert referral.sent_at >= before
    event = TimelineEvent.objects.get(patient=world.patient, kind="message")
    assert event.title == "Demande d'appui envoyée : Équipe mobile gériatrique"
    assert event.body == "Chutes répétées."
    assert event.author == gp.professional
    assert AuditEvent.objects.filter(
        object_type="referral", object_id=str(referral.pk), action="create"
    ).exists()


def test_a_referral_may_name_one_of_the_patients_open_pathways(client, world, geriatrics):
    client.force_login(world.users["team_member"])
    pathway = world.patient.pathways.get()

    _send(client, world, service=geriatrics.pk, reason="Bilan.", pathway=pathway.pk)

    referral = world.patient.referrals.get(service=geriatrics)
    assert referral.pathway == pathway
    assert TimelineEvent.objects.get(patient=world.patient, kind="message").pathway == pathway


def test_the_pathway_of_another_patient_is_refused(client, world, geriatrics):
    client.force_login(world.users["team_member"])
    template = PathwayTemplate.objects.get(code="ic")
    foreign = Pathway.objects.create(
        patient=world.other_patient, template=template, status=Pathway.Status.ACTIVE
    )

    response = _send(client, world, service=geriatrics.pk, reason="Bilan.", pathway=foreign.pk)

    assert response.status_code == 400
    assert "pas un parcours en cours du patient" in response.content.decode()
    assert not world.patient.referrals.filter(service=geriatrics).exists()


def test_an_empty_send_form_is_a_400_with_french_errors(client, world):
    client.force_login(world.users["team_member"])
    count = Referral.objects.count()

    response = _send(client, world, service="", reason="  ")

    assert response.status_code == 400
    content = response.content.decode()
    assert "Choisissez le service à solliciter." in content
    assert "Indiquez le motif de la demande." in content
    assert Referral.objects.count() == count


def test_an_unknown_service_is_a_400(client, world):
    client.force_login(world.users["team_member"])

    response = _send(client, world, service="999999", reason="Bilan.")

    assert response.status_code == 400
    assert "Ce service n&#x27;existe pas dans l&#x27;annuaire." in response.content.decode()


def test_a_second_referral_to_a_service_already_answering_is_refused(client, world, meals):
    client.force_login(world.users["team_member"])

    response = _send(client, world, service=meals.pk, reason="Encore une fois.")

    assert response.status_code == 400
    assert "déjà en cours pour ce patient" in response.content.decode()
    assert world.patient.referrals.filter(service=meals).count() == 1


def test_the_service_select_is_grouped_by_category(client, world):
    client.force_login(world.users["team_member"])

    content = client.get(reverse("pathways:referrals", args=[world.patient.pk])).content.decode()

    assert '<optgroup label="Aide à domicile">' in content
    assert '<optgroup label="Évaluation gériatrique">' in content
    # Ordered by category: coordination < geriatric_evaluation < home_help < meals.
    positions = [
        content.index(name)
        for name in (
            "Appui à la coordination —",
            "Équipe mobile gériatrique —",
            "Portage de repas —",
        )
    ]
    assert positions == sorted(positions)


# --- The patient's referrals page -------------------------------------------------------------


def test_the_page_lists_the_referrals_and_flags_the_late_ones(client, world, meals, geriatrics):
    Referral.objects.filter(service=meals).update(
        respond_by=timezone.now() - datetime.timedelta(hours=1)
    )
    # Late as well, but answered: the clock no longer runs.
    _referral(
        world,
        geriatrics,
        status=Status.REFUSED,
        refusal_reason="Hors secteur.",
        respond_by=timezone.now() - datetime.timedelta(days=3),
    )
    client.force_login(world.users["read_only_member"])

    response = client.get(reverse("pathways:referrals", args=[world.patient.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('data-testid="referral"') == 3
    assert content.count("Réponse en retard") == 1
    assert "Hors secteur." in content
    assert "Portage de repas le midi." in content
    # Read-only: no send form, no cancel button.
    assert reverse("pathways:referral_send", args=[world.patient.pk]) not in content
    assert "Annuler la demande" not in content


def test_the_referrals_page_has_a_constant_number_of_queries(
    client, world, geriatrics, django_assert_num_queries
):
    client.force_login(world.users["team_member"])
    url = reverse("pathways:referrals", args=[world.patient.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(5):
        _referral(world, geriatrics, status=Status.DONE)

    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


def test_free_text_is_escaped(client, world, meals):
    Referral.objects.filter(service=meals).update(reason=SCRIPT)
    referral = world.patient.referrals.get(service=meals)
    for persona, url in (
        ("team_member", reverse("pathways:referrals", args=[world.patient.pk])),
        ("service_referral_pending", reverse("pathways:referral_detail", args=[referral.pk])),
    ):
        client.force_login(world.users[persona])
        content = client.get(url).content.decode()
        assert SCRIPT not in content
        assert "&lt;script&gt;" in content


# --- Cancelling (patient-scoped) ----------------------------------------------------------


def test_a_writer_cancels_a_referral(client, world, sent):
    client.force_login(world.users["coordinator_following"])
    url = reverse("pathways:referral_cancel", args=[world.patient.pk, sent.pk])

    response = client.post(url, {"reason": "Le patient est hospitalisé."})

    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.status == Status.CANCELLED
    assert sent.closed_at is not None
    event = TimelineEvent.objects.get(patient=world.patient, title__startswith="Demande d'appui")
    assert event.title == "Demande d'appui annulée : Portage de repas"
    assert event.body == "Le patient est hospitalisé."


def test_a_closed_referral_cannot_be_cancelled(client, world, sent):
    Referral.objects.filter(pk=sent.pk).update(status=Status.DONE)
    client.force_login(world.users["team_member"])
    url = reverse("pathways:referral_cancel", args=[world.patient.pk, sent.pk])

    response = client.post(url)

    assert response.status_code == 400
    assert "ne peut pas passer à « Annulée »" in response.content.decode()
    sent.refresh_from_db()
    assert sent.status == Status.DONE


def test_a_referral_is_cancelled_only_through_its_own_patient(client, world, meals, make_patient):
    other = _referral(world, meals, patient=world.other_patient)
    client.force_login(world.users["team_member"])
    url = reverse("pathways:referral_cancel", args=[world.patient.pk, other.pk])

    assert client.post(url).status_code == 404
    other.refresh_from_db()
    assert other.status == Status.SENT


# --- The service's inbox ---------------------------------------------------------------------


def test_the_inbox_lists_the_services_referrals_awaiting_first_late_flagged(
    client, world, meals, make_patient
):
    now = timezone.now()
    member = world.users["service_referral_pending"]
    Referral.objects.filter(service=meals).update(respond_by=now + datetime.timedelta(days=4))
    later_patient, late_patient, done_patient = make_patient(), make_patient(), make_patient()
    _referral(world, meals, patient=later_patient, respond_by=now + datetime.timedelta(days=9))
    _referral(world, meals, patient=late_patient, respond_by=now - datetime.timedelta(days=1))
    _referral(
        world,
        meals,
        patient=done_patient,
        status=Status.DONE,
        respond_by=now - datetime.timedelta(days=20),
    )
    client.force_login(member)

    response = client.get(reverse("pathways:referral_inbox"))

    content = response.content.decode()
    assert response.status_code == 200
    names = [str(p) for p in (late_patient, world.patient, later_patient, done_patient)]
    assert [content.index(name) for name in names] == sorted(content.index(n) for n in names)
    assert content.count("Réponse en retard") == 1
    # Not the referral sent to another service (home help) for the same patient.
    assert "Aide à domicile Rhône-Est" not in content
    trace = AuditEvent.objects.filter(actor=member).get()
    assert (trace.object_type, trace.object_id, trace.patient_id) == ("referral_list", "4", None)


def test_the_inbox_filters_stay_in_the_url(client, world, meals, make_patient):
    member = world.users["service_referral_pending"]
    for _ in range(3):
        _referral(world, meals, patient=make_patient(), status=Status.ACCEPTED)
    client.force_login(member)

    response = client.get(
        reverse("pathways:referral_inbox"), {"statut": "en_attente", "service": meals.pk}
    )
    assert response.content.decode().count('data-testid="referral"') == 1
    response = client.get(reverse("pathways:referral_inbox"), {"statut": "accepted"})
    assert response.content.decode().count('data-testid="referral"') == 3
    # An invalid filter is ignored, never an error page.
    response = client.get(reverse("pathways:referral_inbox"), {"statut": "x", "service": "y"})
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="referral"') == 4
    assert 'value="en_attente"' in response.content.decode()


def test_the_inbox_pages_keep_the_filters(client, world, meals, make_patient, monkeypatch):
    monkeypatch.setattr("pathways.views.referral.INBOX_PAGE_SIZE", 2)
    for _ in range(3):
        _referral(world, meals, patient=make_patient())
    client.force_login(world.users["service_referral_pending"])

    content = client.get(reverse("pathways:referral_inbox"), {"statut": "sent"}).content.decode()

    assert "?statut=sent&amp;page=2" in content


def test_the_inbox_has_a_constant_number_of_queries(
    client, world, meals, make_patient, django_assert_num_queries
):
    client.force_login(world.users["service_referral_pending"])
    url = reverse("pathways:referral_inbox")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(8):
        _referral(world, meals, patient=make_patient())

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('data-testid="referral"') == 9


@pytest.mark.parametrize("persona", ["ars_analyst", "the_patient", "administrator"])
def test_the_inbox_is_for_professionals_only(client, world, persona):
    client.force_login(world.users[persona])
    assert client.get(reverse("pathways:referral_inbox")).status_code == 404


# --- The referral seen by its service ------------------------------------------------------


def test_before_acceptance_the_service_sees_only_what_it_needs(client, world, sent):
    patient = world.patient
    patient.phone = "0601020304"
    patient.address = "12 rue des Lilas"
    patient.save(update_fields=["phone", "address"])
    TimelineEvent.objects.create(
        patient=patient, occurred_at=timezone.now(), kind="note", title="Bilan cardiaque"
    )
    sender = sent.sent_by
    sender.phone = "0472000000"
    sender.mssante_address = "dr.martin@medecin.mssante.fr"
    sender.save(update_fields=["phone", "mssante_address"])
    member = world.users["service_referral_pending"]
    client.force_login(member)

    response = client.get(reverse("pathways:referral_detail", args=[sent.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    for shown in (
        patient.birth_last_name,
        patient.first_names,
        "08/05/1945",
        "Lyon",
        "0601020304",
        "Portage de repas le midi.",
        str(sender),
        "0472000000",
        "dr.martin@medecin.mssante.fr",
    ):
        assert shown in content
    assert "12 rue des Lilas" not in content
    assert "Bilan cardiaque" not in content
    assert reverse("patients:detail", args=[patient.pk]) not in content
    # The record itself stays closed until acceptance.
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 404
    trace = AuditEvent.objects.filter(actor=member, object_type="referral").get()
    assert (trace.patient_id, trace.action, trace.outcome) == (patient.pk, "read", "allowed")


@pytest.mark.parametrize(
    "persona", ["service_referral_accepted", "coordinator_following", "team_member", "outsider"]
)
def test_a_non_member_gets_404_and_a_denied_trace(client, world, sent, persona):
    user = world.users[persona]
    client.force_login(user)

    assert client.get(reverse("pathways:referral_detail", args=[sent.pk])).status_code == 404
    assert _respond(client, sent, "accept").status_code == 404

    sent.refresh_from_db()
    assert sent.status == Status.SENT
    traces = AuditEvent.objects.filter(actor=user, object_type="referral").order_by("pk")
    assert [(t.patient_id, t.action, t.outcome) for t in traces] == [
        (world.patient.pk, "read", "denied"),
        (world.patient.pk, "update", "denied"),
    ]


def test_an_unknown_referral_is_a_404_traced_without_patient(client, world):
    user = world.users["service_referral_pending"]
    client.force_login(user)

    assert client.get(reverse("pathways:referral_detail", args=[999_999])).status_code == 404
    trace = AuditEvent.objects.get(actor=user)
    assert (trace.patient_id, trace.outcome) == (None, "denied")


def test_a_member_the_patient_objected_to_does_not_see_the_referral(client, world, sent):
    member = world.users["service_referral_pending"]
    ConsentRecord.objects.create(
        patient=world.patient,
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=member.professional,
    )
    client.force_login(member)

    assert client.get(reverse("pathways:referral_detail", args=[sent.pk])).status_code == 404
    inbox = client.get(reverse("pathways:referral_inbox")).content.decode()
    assert str(world.patient) not in inbox


# --- Answering -------------------------------------------------------------------------------


def test_the_service_acknowledges_then_accepts_and_then_sees_the_record(client, world, sent):
    member = world.users["service_referral_pending"]
    client.force_login(member)
    record = reverse("patients:detail", args=[world.patient.pk])
    assert client.get(record).status_code == 404

    assert _respond(client, sent, "acknowledge").status_code == 302
    sent.refresh_from_db()
    assert sent.status == Status.ACKNOWLEDGED
    assert sent.acknowledged_at is not None
    acknowledged_at = sent.acknowledged_at
    # No timeline event for an acknowledgement.
    assert not TimelineEvent.objects.filter(patient=world.patient, kind="message").exists()

    response = _respond(client, sent, "accept")

    assert response.status_code == 302
    assert response.url == reverse("pathways:referral_detail", args=[sent.pk])
    sent.refresh_from_db()
    assert sent.status == Status.ACCEPTED
    assert sent.responded_by == member.professional
    assert sent.responded_at is not None
    assert sent.acknowledged_at == acknowledged_at
    event = TimelineEvent.objects.get(patient=world.patient, kind="message")
    assert event.title == "Demande d'appui acceptée : Portage de repas"
    assert event.author == member.professional
    assert client.get(record).status_code == 200
    detail = client.get(reverse("pathways:referral_detail", args=[sent.pk])).content.decode()
    assert record in detail


def test_accepting_straight_away_also_dates_the_receipt(client, world, sent):
    client.force_login(world.users["service_referral_pending"])

    _respond(client, sent, "accept")

    sent.refresh_from_db()
    assert sent.acknowledged_at == sent.responded_at


def test_a_refusal_needs_a_reason(client, world, sent):
    client.force_login(world.users["service_referral_pending"])

    response = _respond(client, sent, "refuse", refusal_reason="   ")

    assert response.status_code == 400
    assert "Indiquez le motif du refus." in response.content.decode()
    sent.refresh_from_db()
    assert sent.status == Status.SENT
    assert not TimelineEvent.objects.filter(patient=world.patient).exists()


def test_a_refusal_with_its_reason_closes_the_referral(client, world, sent):
    member = world.users["service_referral_pending"]
    client.force_login(member)

    response = _respond(client, sent, "refuse", refusal_reason="Commune non desservie.")

    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.status == Status.REFUSED
    assert sent.refusal_reason == "Commune non desservie."
    assert sent.responded_by == member.professional
    assert sent.closed_at is not None
    event = TimelineEvent.objects.get(patient=world.patient, kind="message")
    assert event.title == "Demande d'appui refusée : Portage de repas"
    assert event.body == "Commune non desservie."
    # Refused: the record stays closed to the service.
    assert client.get(reverse("patients:detail", args=[world.patient.pk])).status_code == 404


def test_the_service_marks_an_accepted_referral_done(client, world):
    member = world.users["service_referral_accepted"]
    accepted = world.patient.referrals.get(status=Status.ACCEPTED)
    client.force_login(member)

    assert _respond(client, accepted, "done").status_code == 302

    accepted.refresh_from_db()
    assert accepted.status == Status.DONE
    assert accepted.closed_at is not None
    event = TimelineEvent.objects.get(patient=world.patient, kind="message")
    assert event.title == "Demande d'appui réalisée : Aide à domicile Rhône-Est"


def test_a_move_the_state_machine_forbids_is_a_400(client, world, sent):
    client.force_login(world.users["service_referral_pending"])

    response = _respond(client, sent, "done")

    assert response.status_code == 400
    assert "Une demande « Envoyée » ne peut pas passer à « Réalisée »." in (
        response.content.decode().replace("&#x27;", "'")
    )
    sent.refresh_from_db()
    assert sent.status == Status.SENT


def test_an_unknown_action_is_a_400(client, world, sent):
    client.force_login(world.users["service_referral_pending"])

    response = _respond(client, sent, "explode")

    assert response.status_code == 400
    assert "Cette réponse n&#x27;existe pas." in response.content.decode()


_SERVICES = {
    Status.ACKNOWLEDGED: lambda request, referral: acknowledge_referral(
        request=request, referral=referral
    ),
    Status.ACCEPTED: lambda request, referral: accept_referral(request=request, referral=referral),
    Status.REFUSED: lambda request, referral: refuse_referral(
        request=request, referral=referral, reason="Complet."
    ),
    Status.DONE: lambda request, referral: complete_referral(request=request, referral=referral),
    Status.CANCELLED: lambda request, referral: cancel_referral(request=request, referral=referral),
}


@pytest.mark.parametrize("start", Status.values)
@pytest.mark.parametrize("to", list(_SERVICES))
def test_the_state_machine(world, sent, start, to):
    Referral.objects.filter(pk=sent.pk).update(
        status=start, refusal_reason="Motif." if start == Status.REFUSED else ""
    )
    sent.refresh_from_db()
    request = _request(world.users["service_referral_pending"])
    allowed = to in Referral.TRANSITIONS.get(start, ())

    if allowed:
        _SERVICES[to](request, sent)
    else:
        with pytest.raises(ValidationError) as error:
            _SERVICES[to](request, sent)
        assert error.value.code == "not_allowed"

    sent.refresh_from_db()
    assert sent.status == (to if allowed else start)


def test_only_members_of_the_service_answer_even_through_the_service(world, sent):
    request = _request(world.users["coordinator_following"])

    with pytest.raises(ValidationError) as error:
        accept_referral(request=request, referral=sent)

    assert error.value.code == "not_a_member"


@pytest.mark.django_db(transaction=True)
def test_two_members_accepting_at_once_give_one_change(world, sent, make_professional, meals):
    colleague = make_professional("coordinator")
    meals.members.add(colleague)
    barrier = threading.Barrier(2)
    outcomes = []

    def accept(user) -> None:
        # Each thread loads the referral while it is still sent, as two browsers would.
        referral = Referral.objects.select_related("service", "patient").get(pk=sent.pk)
        barrier.wait()
        try:
            accept_referral(request=_request(user), referral=referral)
            outcomes.append("accepted")
        except ValidationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    users = [world.users["service_referral_pending"], colleague.user]
    threads = [threading.Thread(target=accept, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["accepted", "concurrent_change"]
    sent.refresh_from_db()
    assert sent.status == Status.ACCEPTED
    assert TimelineEvent.objects.filter(patient=world.patient, kind="message").count() == 1
