"""The hospital feed (pathways/hl7.py, pathways/services/hospital_feed.py, the endpoint in
pathways/views/inbound.py, the quarantine pages in pathways/views/hospital_feed.py and the
commands), through HTTP first, with the ER7 corpus of tests/data/hl7/."""

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from pathways.catalogue import install_pathway_templates
from pathways.hl7 import read_adt
from pathways.models import (
    Alert,
    InboundMessage,
    Notification,
    PathwayTemplate,
    Step,
    StepTemplate,
)
from pathways.services import hospital_feed
from patients.models import Patient, TimelineEvent
from professionals.models import Organization, OrganizationToken
from tests.conftest import valid_nir
from tsn.identifiers import with_luhn_key
from tsn.models import AuditEvent

DATA = Path(__file__).resolve().parent.parent / "data" / "hl7"
URL = "/api/inbound/hl7v2/"
DUPONT_NIR = valid_nir("2450569123045")
HOSPITAL_NAME = "Centre hospitalier de Villefranche"
Status = InboundMessage.Status
Kind = TimelineEvent.Kind
PARIS = timezone.get_default_timezone()


def corpus(name: str) -> bytes:
    return (DATA / name).read_bytes()


def send(body: bytes | str, key: str | None, client: Client | None = None):
    headers = {"authorization": f"Bearer {key}"} if key else {}
    data = body.encode() if isinstance(body, str) else body
    return (client or Client()).post(
        URL, data, content_type="x-application/hl7-v2+er7", headers=headers
    )


def ack(response) -> dict[str, list[str]]:
    """The ACK's segments by name, each split into fields (MSH-n is at index n - 1)."""
    assert response.status_code == 200
    assert response["Content-Type"] == "x-application/hl7-v2+er7; charset=utf-8"
    segments = [line for line in response.content.decode("utf-8").split("\r") if line]
    return {segment.split("|")[0]: segment.split("|") for segment in segments}


@pytest.fixture
def hospital(db) -> Organization:
    return Organization.objects.create(
        kind=Organization.Kind.HOSPITAL, name=HOSPITAL_NAME, finess=with_luhn_key("69078041")
    )


@pytest.fixture
def key(hospital) -> str:
    return OrganizationToken.issue(organization=hospital, name="Flux ADT")[1]


@pytest.fixture
def dupont(world) -> Patient:
    """The world's patient, with the identity of the corpus' DUPONT Marie Louise (qualified
    INS): the GP, a read-only nurse, an ended and an objected member, a referent."""
    Patient.objects.filter(pk=world.patient.pk).update(
        birth_last_name="DUPONT",
        first_names="Marie Louise",
        birth_date=datetime.date(1945, 5, 8),
        sex=Patient.Sex.FEMALE,
        birth_place_insee="69123",
        nir=DUPONT_NIR,
        identity_status=Patient.IdentityStatus.QUALIFIED,
    )
    world.patient.refresh_from_db()
    return world.patient


@pytest.fixture
def administrator(client, world):
    client.force_login(world.users["administrator"])
    return world.users["administrator"]


def stored(control_id: str) -> InboundMessage:
    return InboundMessage.objects.get(control_id=control_id)


# --- Admissions, emergencies, transfers, updates ---


def test_admission_by_qualified_ins_is_on_the_timeline_and_acknowledged(
    world, dupont, hospital, key
):
    response = send(corpus("a01_admission.hl7"), key)

    segments = ack(response)
    assert segments["MSA"][1:3] == ["AA", "CHV-0001"]
    # Sender and receiver swapped.
    assert segments["MSH"][2:4] == ["TSN", "TSN"]
    assert segments["MSH"][4:6] == ["CPAGE", "CH-VILLEFRANCHE^1.2.250.1.71.4.2.2.690780416^ISO"]
    assert segments["MSH"][8] == "ACK^A01^ACK"
    assert "ERR" not in segments
    message = stored("CHV-0001")
    assert (message.organization, message.status, message.patient) == (
        hospital,
        Status.PROCESSED,
        dupont,
    )
    assert (message.event, message.visit_number) == ("A01", "V1001")
    event = message.timeline_event
    assert (event.patient, event.kind, event.source, event.organization) == (
        dupont,
        Kind.HOSPITAL_ADMISSION,
        TimelineEvent.Source.HL7,
        hospital,
    )
    assert event.title == f"Admission à l'hôpital : {HOSPITAL_NAME}"
    assert event.occurred_at == datetime.datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
    # ZBE-7 was sent in ISO-8859-1 (MSH-18 8859/1).
    assert event.body == "Service : Unité de soins intensifs cardiologiques"
    assert set(
        AuditEvent.objects.filter(patient_id=dupont.pk, actor=None).values_list(
            "object_type", "action"
        )
    ) == {("inbound_message", "create"), ("timeline_event", "create")}


def test_admission_alerts_the_gp_the_referent_and_the_care_team_only(world, dupont, key):
    send(corpus("a01_admission.hl7"), key)

    message = stored("CHV-0001")
    alerts = Alert.objects.filter(patient=dupont, kind=Alert.Kind.HOSPITAL_ADMISSION)
    expected = {
        world.users["team_member"],  # the GP
        world.users["read_only_member"],
        world.users["coordinator_following"],  # the pathway's referent
    }
    assert {alert.assignee for alert in alerts} == expected
    assert alerts.count() == len(expected)
    for alert in alerts:
        assert alert.message == f"Admission à l'hôpital : {HOSPITAL_NAME}"
        assert alert.dedupe_key == f"adt:{message.pk}:{alert.assignee_id}"
    assert set(
        Notification.objects.filter(alert__in=alerts).values_list("recipient", flat=True)
    ) == {user.pk for user in expected}
    for persona in (
        "ended_member",
        "objected_professional",
        "outsider",
        "coordinator_not_following",
        "service_referral_accepted",
        "break_glass_active",
        "administrator",
    ):
        assert not Alert.objects.filter(assignee=world.users[persona]).exists(), persona


@pytest.mark.parametrize(
    ("name", "event", "kind", "alert"),
    [
        ("a02_transfer.hl7", "A02", Kind.HOSPITAL_TRANSFER, None),
        ("a04_emergency.hl7", "A04", Kind.EMERGENCY_VISIT, Alert.Kind.EMERGENCY_VISIT),
        ("a04_outpatient.hl7", "A04", None, None),
        ("a05_preadmission.hl7", "A05", None, None),
        ("a06_outpatient_to_inpatient.hl7", "A06", Kind.HOSPITAL_ADMISSION, "hospital_admission"),
        ("a07_inpatient_to_outpatient.hl7", "A07", None, None),
        ("a08_update.hl7", "A08", None, None),
    ],
)
def test_each_event_has_its_effect(world, dupont, key, name, event, kind, alert):
    segments = ack(send(corpus(name), key))

    assert segments["MSA"][1] == "AA"
    message = InboundMessage.objects.get()
    assert (message.event, message.status, message.patient) == (event, Status.PROCESSED, dupont)
    events = TimelineEvent.objects.filter(patient=dupont, source=TimelineEvent.Source.HL7)
    if kind is None:
        assert not events.exists()
        assert message.timeline_event is None
    else:
        assert list(events) == [message.timeline_event]
        assert message.timeline_event.kind == kind
    alerts = Alert.objects.filter(patient=dupont)
    assert set(alerts.values_list("kind", flat=True)) == ({alert} if alert else set())


def test_a_discharge_dates_the_heart_failure_discharge_steps(client, world, dupont, key):
    install_pathway_templates()
    heart_failure = PathwayTemplate.objects.get(code="insuffisance-cardiaque", is_current=True)
    client.force_login(world.users["coordinator_following"])
    enrolled_on = timezone.localdate()
    client.post(
        reverse("pathways:pathway_enrol", args=[dupont.pk]),
        {"template": heart_failure.pk, "origin": "hospital", "enrolled_on": enrolled_on},
    )
    steps = Step.objects.filter(pathway__patient=dupont, pathway__template=heart_failure)
    due = dict(steps.values_list("template_step__name", "due_on"))
    # Counted from the discharge: no date until the hospital reports it.
    assert due["Visite infirmière à domicile"] is None
    assert due["Consultation du médecin traitant"] is None
    assert due["Consultation du cardiologue"] == enrolled_on + datetime.timedelta(days=60)

    segments = ack(send(corpus("a03_discharge.hl7"), key))

    assert segments["MSA"][1] == "AA"
    event = stored("CHV-0003").timeline_event
    assert event.kind == Kind.HOSPITAL_DISCHARGE
    assert event.occurred_at == datetime.datetime(2026, 3, 10, 14, 30, tzinfo=PARIS)
    after = dict(steps.values_list("template_step__name", "due_on"))
    assert after["Visite infirmière à domicile"] == datetime.date(2026, 3, 12)
    assert after["Consultation du médecin traitant"] == datetime.date(2026, 3, 17)
    assert after["Consultation du cardiologue"] == due["Consultation du cardiologue"]
    assert Alert.objects.filter(patient=dupont, kind=Alert.Kind.HOSPITAL_DISCHARGE).count() == 3

    # The discharge cancelled (A13), the steps it dated are undated again.
    send(corpus("a13_cancel_discharge.hl7"), key)

    assert stored("CHV-0013").timeline_event.corrects == event
    undone = dict(steps.values_list("template_step__name", "due_on"))
    assert undone["Visite infirmière à domicile"] is None
    assert undone["Consultation du médecin traitant"] is None


def test_a_discharge_also_dates_the_steps_counted_from_a_discharge_step(world, dupont, key):
    pathway = dupont.pathways.get()
    relative = StepTemplate.RelativeTo
    enrolled = pathway.enrolled_on
    dated_by = {}
    for order, (name, days, relative_to, due_on) in enumerate(
        [
            ("Bilan d'entrée", 3, relative.ENROLMENT, enrolled + datetime.timedelta(days=3)),
            ("Suivi du bilan", 4, relative.PREVIOUS_STEP, enrolled + datetime.timedelta(days=7)),
            ("Visite de retour", 2, relative.DISCHARGE, None),
            ("Contrôle après la visite", 5, relative.PREVIOUS_STEP, None),  # after the visit
        ],
        start=1,
    ):
        step_template = StepTemplate.objects.create(
            template=pathway.template,
            order=order,
            name=name,
            responsible_profession="nurse",
            deadline_days=days,
            relative_to=relative_to,
        )
        dated_by[name] = Step.objects.create(
            pathway=pathway, template_step=step_template, due_on=due_on
        )

    send(corpus("a03_discharge.hl7"), key)

    due = {name: Step.objects.get(pk=step.pk).due_on for name, step in dated_by.items()}
    assert due == {
        "Bilan d'entrée": enrolled + datetime.timedelta(days=3),
        "Suivi du bilan": enrolled + datetime.timedelta(days=7),
        "Visite de retour": datetime.date(2026, 3, 12),
        "Contrôle après la visite": datetime.date(2026, 3, 17),
    }
    send(corpus("a13_cancel_discharge.hl7"), key)
    due = {name: Step.objects.get(pk=step.pk).due_on for name, step in dated_by.items()}
    assert (due["Visite de retour"], due["Contrôle après la visite"]) == (None, None)
    assert due["Suivi du bilan"] == enrolled + datetime.timedelta(days=7)


# --- Cancellations ---


@pytest.mark.parametrize(
    ("original", "cancellation", "kind"),
    [
        ("a01_admission.hl7", "a11_cancel_admission.hl7", Kind.HOSPITAL_ADMISSION),
        ("a02_transfer.hl7", "a12_cancel_transfer.hl7", Kind.HOSPITAL_TRANSFER),
        ("a03_discharge.hl7", "a13_cancel_discharge.hl7", Kind.HOSPITAL_DISCHARGE),
    ],
)
def test_a_cancellation_marks_the_event_entered_in_error(
    world, dupont, key, original, cancellation, kind
):
    send(corpus(original), key)
    event = TimelineEvent.objects.get(patient=dupont, kind=kind)

    segments = ack(send(corpus(cancellation), key))

    assert segments["MSA"][1] == "AA"
    message = InboundMessage.objects.latest("pk")
    assert message.status == Status.PROCESSED
    correction = message.timeline_event
    assert (correction.kind, correction.corrects, correction.patient) == (
        Kind.ENTERED_IN_ERROR,
        event,
        dupont,
    )
    assert correction.source == TimelineEvent.Source.HL7
    # The original is kept as it was (append-only).
    assert TimelineEvent.objects.get(pk=event.pk).kind == kind
    # The alerts of an admission or a discharge that did not happen are resolved.
    raised = Alert.objects.filter(patient=dupont)
    assert not raised.exclude(status=Alert.Status.RESOLVED).exists()
    assert all("annulé" in alert.resolution_comment for alert in raised)

    # The same cancellation with another MSH-10 corrects nothing twice.
    again = corpus(cancellation).replace(b"|CHV-00", b"|CHV-99")
    assert ack(send(again, key))["MSA"][1] == "AA"
    assert TimelineEvent.objects.filter(corrects=event).count() == 1


def test_a_cancellation_of_an_unknown_movement_waits_in_quarantine(world, dupont, key):
    segments = ack(send(corpus("a11_cancel_admission.hl7"), key))

    assert segments["MSA"][1] == "AA"
    assert "attente" in segments["MSA"][3]
    message = stored("CHV-0011")
    assert message.status == Status.QUARANTINED
    assert "V1001" in message.reason
    assert not TimelineEvent.objects.filter(kind=Kind.ENTERED_IN_ERROR).exists()


# --- Identity matching ---


def _lefevre(make_patient, birth_place: str) -> Patient:
    return make_patient(
        birth_last_name="Lefevre",
        first_names="heloise anne",
        birth_date=datetime.date(1962, 2, 14),
        sex=Patient.Sex.FEMALE,
        birth_place_insee=birth_place,
    )


def test_strict_traits_match_without_case_or_accents(make_patient, key):
    patient = _lefevre(make_patient, "13055")

    ack(send(corpus("a01_traits_utf8.hl7"), key))

    message = stored("CHV-0101")
    assert (message.status, message.patient) == (Status.PROCESSED, patient)
    assert message.timeline_event.patient == patient


def test_a_different_birth_place_is_another_person(make_patient, key):
    _lefevre(make_patient, "13001")

    segments = ack(send(corpus("a01_traits_utf8.hl7"), key))

    assert segments["MSA"][1] == "AA"
    message = stored("CHV-0101")
    assert (message.status, message.patient) == (Status.QUARANTINED, None)
    assert not TimelineEvent.objects.filter(source=TimelineEvent.Source.HL7).exists()


def test_an_ins_is_trusted_only_from_a_qualified_identity(dupont, key):
    validated = corpus("a01_ins_validated_only.hl7")

    ack(send(validated, key))
    qualified = validated.replace(b"|VALI", b"|QUAL").replace(b"CHV-0102", b"CHV-0202")
    ack(send(qualified, key))

    # VALI: the INS is not trusted, and the birth name DUPOND matches nobody.
    assert stored("CHV-0102").status == Status.QUARANTINED
    # QUAL: the INS designates the record whatever the spelling of the name.
    assert (stored("CHV-0202").status, stored("CHV-0202").patient) == (Status.PROCESSED, dupont)


def test_an_unknown_patient_waits_in_quarantine(dupont, key):
    segments = ack(send(corpus("a01_unknown_patient.hl7"), key))

    assert segments["MSA"][1:3] == ["AA", "CHV-0103"]
    assert "rapprochement d'identité" in segments["MSA"][3]
    message = stored("CHV-0103")
    assert (message.status, message.patient, message.timeline_event) == (
        Status.QUARANTINED,
        None,
        None,
    )
    assert "Aucun dossier" in message.reason
    assert not Alert.objects.exists()


def test_ambiguous_traits_wait_in_quarantine_naming_the_records(make_patient, key):
    records = [
        make_patient(
            birth_last_name="MARTIN",
            first_names="Jean",
            birth_date=datetime.date(1950, 1, 15),
            sex=Patient.Sex.MALE,
        )
        for _ in range(2)
    ]

    ack(send(corpus("a01_ambiguous.hl7"), key))

    message = stored("CHV-0104")
    assert message.status == Status.QUARANTINED
    assert "Plusieurs dossiers" in message.reason
    for record in records:
        assert f"n° {record.pk}" in message.reason


def test_a_merged_record_stands_for_its_survivor(make_patient, key):
    kept = make_patient(
        birth_last_name="DUPONT",
        first_names="Marie Louise",
        birth_date=datetime.date(1945, 5, 8),
        birth_place_insee="69123",
    )
    make_patient(
        birth_last_name="DUPONT",
        first_names="Marie",
        birth_date=datetime.date(1945, 5, 8),
        birth_place_insee="69123",
        nir=DUPONT_NIR,
        identity_status=Patient.IdentityStatus.QUALIFIED,
        merged_into=kept,
    )

    ack(send(corpus("a01_admission.hl7"), key))

    message = stored("CHV-0001")
    assert (message.status, message.patient) == (Status.PROCESSED, kept)
    assert message.timeline_event.patient == kept


def test_an_identity_merge_waits_for_an_administrator(world, dupont, key):
    other = world.other_patient

    segments = ack(send(corpus("a40_merge.hl7"), key))

    assert segments["MSA"][1] == "AA"
    message = stored("CHV-0040")
    assert message.status == Status.QUARANTINED
    assert "Fusion d'identités" in message.reason
    assert not Patient.objects.filter(merged_into__isnull=False).exists()
    assert not TimelineEvent.objects.filter(patient__in=[dupont, other], source="hl7").exists()


# --- Duplicates ---


def test_a_message_delivered_twice_has_one_effect(world, dupont, key):
    first = ack(send(corpus("a01_admission.hl7"), key))
    second = ack(send(corpus("a01_admission.hl7"), key))

    assert first["MSA"][1:3] == second["MSA"][1:3] == ["AA", "CHV-0001"]
    message = InboundMessage.objects.get()
    assert message.duplicates == 1
    assert TimelineEvent.objects.filter(patient=dupont, source="hl7").count() == 1
    assert Alert.objects.filter(patient=dupont).count() == 3


def test_the_same_message_from_another_organisation_is_not_a_duplicate(world, dupont, key):
    other = Organization.objects.create(kind=Organization.Kind.HOSPITAL, name="Clinique du Parc")
    other_key = OrganizationToken.issue(organization=other, name="ADT")[1]

    send(corpus("a01_admission.hl7"), key)
    send(corpus("a01_admission.hl7"), other_key)

    assert InboundMessage.objects.filter(control_id="CHV-0001").count() == 2
    assert InboundMessage.objects.filter(duplicates__gt=0).count() == 0


def test_a_concurrent_duplicate_is_recognised_by_the_unique_constraint(
    world, dupont, hospital, key, monkeypatch
):
    """The other delivery committed between our look-up and our insert: the insert fails
    on the unique (organisation, MSH-10), inside a savepoint, and the message is a repeat."""
    send(corpus("a01_admission.hl7"), key)
    real_duplicate = hospital_feed._duplicate
    calls = []

    def missed_once(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real_duplicate(**kwargs)

    monkeypatch.setattr(hospital_feed, "_duplicate", missed_once)

    segments = ack(send(corpus("a01_admission.hl7"), key))

    assert len(calls) == 2
    assert segments["MSA"][1:3] == ["AA", "CHV-0001"]
    assert InboundMessage.objects.get().duplicates == 1
    assert TimelineEvent.objects.filter(patient=dupont, source="hl7").count() == 1


# --- What cannot be read ---


@pytest.mark.parametrize(
    ("name", "code", "location", "reason"),
    [
        ("no_msh.hl7", "AR", "MSH^1", "MSH : le message ne commence pas par un segment MSH"),
        ("bad_encoding.hl7", "AR", "MSH^1^2", "MSH-2 : caractères d'encodage invalides"),
        ("missing_control_id.hl7", "AR", "MSH^1^10", "MSH-10 : identifiant du message absent"),
        ("missing_message_type.hl7", "AR", "MSH^1^9", "MSH-9 : type de message absent"),
        ("wrong_version.hl7", "AR", "MSH^1^12", "MSH-12 : version HL7 2.3.1 non prise en charge"),
        ("unknown_event.hl7", "AR", "MSH^1^9", "MSH-9 : événement A99 non pris en charge"),
        ("unsupported_type.hl7", "AR", "MSH^1^9", "MSH-9 : type de message ORU non pris en"),
        ("missing_pid.hl7", "AE", "PID^1", "PID : segment absent"),
        ("truncated.hl7", "AE", "PID^1^5", "PID-5 : nom du patient absent"),
        ("bad_birth_date.hl7", "AE", "PID^1^7", "PID-7 : date de naissance illisible"),
        ("bad_sex.hl7", "AE", "PID^1^8", "PID-8 : sexe inconnu"),
        ("bad_admit_date.hl7", "AE", "PV1^1^44", "PV1-44 : date d'admission illisible"),
        ("far_future_discharge.hl7", "AE", "PV1^1^45", "PV1-45 : date de sortie illisible"),
        ("cancel_without_visit.hl7", "AE", "PV1^1^19", "PV1-19 : numéro de venue absent"),
    ],
)
def test_a_malformed_message_is_refused_naming_segment_and_field_and_kept(
    dupont, hospital, key, name, code, location, reason
):
    body = corpus(f"malformed/{name}")

    segments = ack(send(body, key))

    assert segments["MSA"][1] == code
    assert segments["ERR"][2] == location
    assert segments["ERR"][4] == "E"
    assert segments["ERR"][8].startswith(reason)
    message = InboundMessage.objects.get()
    assert (message.organization, message.status) == (hospital, Status.REJECTED)
    assert message.reason.startswith(reason)
    assert message.raw == body.decode("iso-8859-1")
    assert not TimelineEvent.objects.filter(source="hl7").exists()

    # Sent again, it is read again (its MSH-10 was not claimed) and refused again.
    assert ack(send(body, key))["MSA"][1] == code
    assert InboundMessage.objects.filter(status=Status.REJECTED).count() == 2


@pytest.mark.parametrize(
    "body",
    [b"", b"\x00\xff\xfe\x0b\x1c", "MSH|^~\\&|É|".encode("utf-16"), b"MSH|^~\\&" + b"|" * 5000],
)
def test_garbage_is_answered_with_a_reject_never_a_server_error(hospital, key, body):
    segments = ack(send(body, key))

    assert segments["MSA"][1] == "AR"
    assert InboundMessage.objects.get().status == Status.REJECTED


def test_a_mllp_framed_body_is_rejected_not_unwrapped(hospital, key):
    framed = b"\x0b" + corpus("a01_admission.hl7") + b"\x1c\r"

    assert ack(send(framed, key))["MSA"][1] == "AR"


# --- Authentication ---


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer ", "Bearer tsno_unknown", "Basic dXNlcjpwYXNz", "Token {key}", "revoked"],
)
def test_without_a_valid_token_nothing_is_read_or_kept(hospital, key, authorization):
    if authorization == "revoked":
        OrganizationToken.objects.update(revoked_at=timezone.now())
        authorization = f"Bearer {key}"
    headers = {"authorization": authorization.format(key=key)} if authorization else {}

    response = Client().post(
        URL, corpus("a01_admission.hl7"), content_type="text/plain", headers=headers
    )

    assert response.status_code == 401
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "Jeton" in response.content.decode()
    assert not InboundMessage.objects.exists()


def test_a_valid_token_is_accepted_whatever_the_textual_content_type(hospital, key):
    response = Client().post(
        URL,
        corpus("a01_unknown_patient.hl7"),
        content_type="application/x-www-form-urlencoded",  # curl --data-binary's default
        headers={"authorization": f"Bearer {key}"},
    )

    assert ack(response)["MSA"][1] == "AA"
    assert InboundMessage.objects.get().organization == hospital
    assert OrganizationToken.objects.get().last_used_at is not None


def test_the_endpoint_only_takes_posts(key):
    response = Client().get(URL, headers={"authorization": f"Bearer {key}"})

    assert response.status_code == 405


# --- The administrators' quarantine ---

PAGES = ("pathways:hospital_feed", "pathways:inbound_message")


def _quarantined(key) -> InboundMessage:
    send(corpus("a01_unknown_patient.hl7"), key)
    return stored("CHV-0103")


def _url(name: str, message: InboundMessage) -> str:
    return reverse(name, args=[message.pk]) if name != "pathways:hospital_feed" else reverse(name)


@pytest.mark.parametrize(
    "persona",
    ["team_member", "coordinator_following", "outsider", "ars_analyst", "the_patient"],
)
def test_the_quarantine_is_for_administrators_only(client, world, key, persona):
    message = _quarantined(key)
    client.force_login(world.users[persona])

    for name in PAGES:
        assert client.get(_url(name, message)).status_code == 404
    attach = client.post(
        reverse("pathways:inbound_message_attach", args=[message.pk]),
        {"patient": world.patient.pk},
    )
    dismiss = client.post(
        reverse("pathways:inbound_message_dismiss", args=[message.pk]), {"reason": "Hors champ"}
    )
    assert attach.status_code == dismiss.status_code == 404
    assert InboundMessage.objects.get(pk=message.pk).status == Status.QUARANTINED


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, key):
    message = _quarantined(key)

    for name in PAGES:
        response = client.get(_url(name, message))
        assert response.status_code == 302
        assert "/comptes/login/" in response.url


def test_the_quarantine_lists_the_message_traits_and_reason(client, administrator, key):
    message = _quarantined(key)
    send(corpus("a40_merge.hl7"), key)
    send(corpus("malformed/bad_sex.hl7"), key)

    page = client.get(reverse("pathways:hospital_feed"))

    assert page.status_code == 200
    content = page.content.decode()
    assert content.count('data-testid="inbound-message"') == 2  # quarantined only
    assert "BERNARD Paul Henri" in content
    assert "02/11/1938" in content
    assert "Aucun dossier ne correspond" in content
    assert "Fusion d&#x27;identités" in content
    assert reverse("pathways:inbound_message", args=[message.pk]) in content
    every = client.get(reverse("pathways:hospital_feed"), {"statut": "all"}).content.decode()
    assert every.count('data-testid="inbound-message"') == 3
    assert AuditEvent.objects.filter(
        actor=administrator, object_type="inbound_message_list"
    ).exists()


def test_attaching_shows_the_chosen_identity_then_applies_the_message(
    client, world, administrator, make_patient, key
):
    message = _quarantined(key)
    bernard = make_patient(
        birth_last_name="BERNARD",
        first_names="Paul",
        birth_date=datetime.date(1938, 11, 2),
        sex=Patient.Sex.MALE,
        gp=world.patient.gp,
    )
    detail = reverse("pathways:inbound_message", args=[message.pk])

    candidates = client.get(detail).content.decode()
    confirmation = client.get(detail, {"patient": bernard.pk}).content.decode()
    response = client.post(
        reverse("pathways:inbound_message_attach", args=[message.pk]), {"patient": bernard.pk}
    )

    assert f"n° {bernard.pk}" in candidates  # born the same day: proposed
    assert 'data-testid="chosen-identity"' in confirmation
    assert "BERNARD" in confirmation
    assert "Confirmer le rattachement" in confirmation
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.patient, message.resolved_by) == (
        Status.RESOLVED,
        bernard,
        administrator,
    )
    assert message.resolved_at is not None
    event = message.timeline_event
    assert (event.patient, event.kind, event.source) == (
        bernard,
        Kind.HOSPITAL_ADMISSION,
        TimelineEvent.Source.HL7,
    )
    assert AuditEvent.objects.filter(
        actor=administrator, patient_id=bernard.pk, object_type="timeline_event", action="create"
    ).exists()
    assert AuditEvent.objects.filter(
        actor=administrator, patient_id=bernard.pk, object_type="inbound_message", action="update"
    ).exists()
    # The GP is not in Bernard's care team: they may not see him, so no alert.
    assert not Alert.objects.filter(patient=bernard).exists()


def test_an_unknown_record_number_is_refused_before_confirmation(client, administrator, key):
    message = _quarantined(key)

    page = client.get(reverse("pathways:inbound_message", args=[message.pk]), {"patient": 999999})
    attach = client.post(
        reverse("pathways:inbound_message_attach", args=[message.pk]), {"patient": 999999}
    )

    assert "Aucun dossier ne porte le n° 999999" in page.content.decode()
    assert 'data-testid="chosen-identity"' not in page.content.decode()
    assert attach.status_code == 400
    assert InboundMessage.objects.get(pk=message.pk).status == Status.QUARANTINED


def test_dismissing_needs_a_reason_and_keeps_the_quarantine_reason(client, administrator, key):
    message = _quarantined(key)
    url = reverse("pathways:inbound_message_dismiss", args=[message.pk])

    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 400
    assert InboundMessage.objects.get(pk=message.pk).status == Status.QUARANTINED

    response = client.post(url, {"reason": "Patient non suivi sur le territoire."})

    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.resolved_by) == (Status.DISMISSED, administrator)
    assert message.reason.startswith("Aucun dossier ne correspond")
    assert message.reason.endswith("Écarté : Patient non suivi sur le territoire.")
    # Once handled, it is no longer in quarantine: attaching it is refused.
    again = client.post(
        reverse("pathways:inbound_message_attach", args=[message.pk]),
        {
            "patient": Patient.objects.create(
                birth_last_name="X", first_names="Y", birth_date=datetime.date(1990, 1, 1), sex="M"
            ).pk
        },
    )
    assert again.status_code == 400
    assert "plus en quarantaine" in again.content.decode()
    assert InboundMessage.objects.get(pk=message.pk).status == Status.DISMISSED


def test_an_attached_cancellation_corrects_the_chosen_record_only(
    client, world, dupont, administrator, key
):
    send(corpus("a01_admission.hl7"), key)
    admission = TimelineEvent.objects.get(patient=dupont, kind=Kind.HOSPITAL_ADMISSION)
    # The cancellation's identity designates someone else: it waits in quarantine.
    cancellation = corpus("a11_cancel_admission.hl7").replace(b"DUPONT^", b"DURAND^")
    Patient.objects.create(
        birth_last_name="DURAND",
        first_names="Marie",
        birth_date=datetime.date(1945, 5, 8),
        sex=Patient.Sex.FEMALE,
    )
    send(cancellation.replace(b"245056912304534^^^ASIP", b"^^^ASIP"), key)
    message = stored("CHV-0011")
    assert message.status == Status.QUARANTINED
    url = reverse("pathways:inbound_message_attach", args=[message.pk])

    wrong = client.post(url, {"patient": world.other_patient.pk})
    right = client.post(url, {"patient": dupont.pk})

    assert wrong.status_code == 400
    assert "Aucun mouvement de la venue n° V1001" in wrong.content.decode()
    assert right.status_code == 302
    assert TimelineEvent.objects.get(corrects=admission).kind == Kind.ENTERED_IN_ERROR


# --- The commands ---


def test_issue_api_token_prints_a_key_that_authenticates_once_shown(hospital):
    out = io.StringIO()

    call_command("issue_api_token", organization=hospital.finess, name="Flux ADT", stdout=out)

    key, sentence = out.getvalue().splitlines()
    token = OrganizationToken.authenticate(key)
    assert token is not None
    assert (token.organization, token.name) == (hospital, "Flux ADT")
    assert token.key_hash != key
    assert "ne sera plus jamais affichée" in sentence


@pytest.mark.parametrize("finess", ["690000000", None])
def test_issue_api_token_needs_a_known_organisation(hospital, finess):
    with pytest.raises(CommandError):
        call_command("issue_api_token", organization=finess, stdout=io.StringIO())
    assert not OrganizationToken.objects.exists()


@pytest.mark.parametrize("qualified", [True, False])
def test_hl7_example_is_a_message_the_feed_applies(dupont, hospital, key, qualified):
    if not qualified:  # no INS in the message: matched by its traits
        Patient.objects.filter(pk=dupont.pk).update(
            identity_status=Patient.IdentityStatus.PROVISIONAL
        )
    out = io.StringIO()

    call_command("hl7_example", patient=dupont.pk, event="A01", visit="V42", stdout=out)

    text = out.getvalue()
    identity = read_adt(text).identity
    assert (identity.ins == DUPONT_NIR, identity.is_qualified) == (qualified, qualified)
    assert ack(send(text, key))["MSA"][1] == "AA"
    message = InboundMessage.objects.get()
    assert (message.status, message.patient, message.visit_number) == (
        Status.PROCESSED,
        dupont,
        "V42",
    )
    assert message.timeline_event.kind == Kind.HOSPITAL_ADMISSION


def test_hl7_example_discharge_then_cancellation_round_trip(dupont, hospital, key):
    for event in ("A01", "A03", "A13"):
        out = io.StringIO()
        call_command(
            "hl7_example",
            patient=dupont.pk,
            event=event,
            visit="V7",
            organization=hospital.finess,
            cr=True,
            stdout=out,
        )
        assert ack(send(out.getvalue(), key))["MSA"][1] == "AA"

    discharge = TimelineEvent.objects.get(patient=dupont, kind=Kind.HOSPITAL_DISCHARGE)
    assert TimelineEvent.objects.filter(corrects=discharge).exists()


def test_hl7_example_finds_the_patient_by_their_account(world, hospital):
    out = io.StringIO()
    call_command("hl7_example", patient=world.users["the_patient"].email.upper(), stdout=out)
    assert read_adt(out.getvalue()).identity.birth_name == world.patient.birth_last_name.upper()


def test_hl7_example_needs_a_patient_and_a_sender(world):
    with pytest.raises(CommandError):
        call_command("hl7_example", patient=999999, stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("hl7_example", patient="personne@nulle-part.test", stdout=io.StringIO())
    with pytest.raises(CommandError):  # no hospital in the directory
        call_command("hl7_example", patient=world.patient.pk, stdout=io.StringIO())


def test_the_django_admin_lists_messages_and_tokens_without_secrets(client, world, key):
    send(corpus("a01_unknown_patient.hl7"), key)
    token = OrganizationToken.objects.get()
    client.force_login(world.users["administrator"])  # staff and superuser

    messages = client.get(reverse("admin:pathways_inboundmessage_changelist"))
    tokens = client.get(reverse("admin:professionals_organizationtoken_changelist"))
    token_page = client.get(
        reverse("admin:professionals_organizationtoken_change", args=[token.pk])
    )

    assert messages.status_code == tokens.status_code == token_page.status_code == 200
    assert "CHV-0103" in messages.content.decode()
    assert "BERNARD" not in messages.content.decode()  # no raw message in the list
    for page in (tokens, token_page):
        assert token.hint in page.content.decode()
        assert token.key_hash not in page.content.decode()
        assert key not in page.content.decode()
    assert client.get(reverse("admin:pathways_inboundmessage_add")).status_code == 403
