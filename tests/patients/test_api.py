"""The patient record through the REST API: tokens, access, audit, timeline keyset pages,
writes, errors in French and English, throttling."""

import datetime
import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from patients.models import CareTeamMember, Document, LiaisonMessage, TimelineEvent
from professionals.models import Organization, OrganizationToken, PractitionerRole
from tests.conftest import valid_nir
from tsn.models import ApiToken, AuditEvent

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def gp_key(world) -> str:
    return ApiToken.issue(user=world.users["team_member"], name="Logiciel du cabinet")[1]


@pytest.fixture
def events(world) -> list[TimelineEvent]:
    """Seven notes an hour apart, newest last; one of them a consultation."""
    start = timezone.now() - datetime.timedelta(days=1)
    created = [
        TimelineEvent.objects.create(
            patient=world.patient,
            occurred_at=start + datetime.timedelta(hours=hour),
            kind="consultation" if hour == 3 else "note",
            title=f"Événement {hour}",
        )
        for hour in range(7)
    ]
    TimelineEvent.objects.create(
        patient=world.other_patient, occurred_at=start, kind="note", title="Autre patient"
    )
    return created


def test_a_gp_reads_the_timeline_with_a_personal_token_newest_first(client, world, events, gp_key):
    url = reverse("api:timeline", args=[world.patient.pk])
    response = client.get(url, **bearer(gp_key))
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [e.pk for e in events[::-1]]
    assert response.json()["next"] is None
    event = AuditEvent.objects.get(object_type="timeline")
    assert event.actor == world.users["team_member"]
    assert event.patient_id == world.patient.pk
    assert event.outcome == AuditEvent.Outcome.ALLOWED
    assert event.api_token == f"personal:{ApiToken.objects.get().pk}"
    assert ApiToken.objects.get().last_used_at is not None


def test_timeline_pages_follow_next_to_the_end_without_gaps_or_repeats(
    client, world, events, gp_key
):
    url = reverse("api:timeline", args=[world.patient.pk]) + "?limit=3"
    seen, pages = [], 0
    while url:
        body = client.get(url, **bearer(gp_key)).json()
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    assert seen == [e.pk for e in events[::-1]]
    assert pages == 3


def test_timeline_filters_are_the_pages_filters(client, world, events, gp_key):
    url = reverse("api:timeline", args=[world.patient.pk])
    response = client.get(url, {"kind": "consultation"}, **bearer(gp_key))
    assert [row["title"] for row in response.json()["results"]] == ["Événement 3"]
    day = timezone.localdate(events[0].occurred_at) - datetime.timedelta(days=3)
    response = client.get(url, {"end": day.isoformat()}, **bearer(gp_key))
    assert response.json()["results"] == []


def test_a_timeline_page_costs_the_same_queries_whatever_its_size(
    client, world, events, gp_key, django_assert_max_num_queries
):
    url = reverse("api:timeline", args=[world.patient.pk])
    # token, access check, audit, merged records, page (+ savepoints of the token update)
    with django_assert_max_num_queries(9):
        response = client.get(url, {"limit": 200}, **bearer(gp_key))
    assert len(response.json()["results"]) == 7


@pytest.mark.parametrize(
    ("query", "field"),
    [({"before": "hier,12"}, "before"), ({"kind": "grog"}, "kind"), ({"start": "31/02"}, "start")],
)
def test_bad_timeline_parameters_get_a_400_in_both_languages(client, world, gp_key, query, field):
    url = reverse("api:timeline", args=[world.patient.pk])
    response = client.get(url, query, **bearer(gp_key))
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert error["message_fr"] and error["message_en"]
    assert error["message_fr"] != error["message_en"]


@pytest.mark.parametrize("persona", ["outsider", "ars_analyst", "objected_professional"])
def test_who_may_not_see_the_patient_gets_404_and_a_denied_trace(client, world, events, persona):
    key = ApiToken.issue(user=world.users[persona], name="t")[1]
    response = client.get(reverse("api:timeline", args=[world.patient.pk]), **bearer(key))
    assert response.status_code == 404
    [error] = response.json()["errors"]
    assert error["code"] == "not_found"
    assert "Introuvable" in error["message_fr"]
    assert "not found" in error["message_en"].lower()
    assert AuditEvent.objects.get().outcome == AuditEvent.Outcome.DENIED


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("tsnp_not-a-key"), bearer("tsno_not-a-key"), {"HTTP_AUTHORIZATION": "Basic eA=="}],
)
def test_no_or_a_wrong_credential_gets_401_with_the_scheme(client, world, headers):
    response = client.get(reverse("api:patient", args=[world.patient.pk]), **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["code"] in {"not_authenticated", "authentication_failed"}
    assert not AuditEvent.objects.exists()


def test_a_revoked_token_or_a_disabled_user_is_refused(client, world, gp_key):
    url = reverse("api:patient", args=[world.patient.pk])
    assert client.get(url, **bearer(gp_key)).status_code == 200
    user = world.users["team_member"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get(url, **bearer(gp_key)).status_code == 401
    user.is_active = True
    user.save(update_fields=["is_active"])
    ApiToken.objects.get().revoke()
    assert client.get(url, **bearer(gp_key)).status_code == 401


def test_the_ins_is_given_only_for_a_qualified_identity(client, world, gp_key):
    url = reverse("api:patient", args=[world.patient.pk])
    patient = world.patient
    patient.nir, patient.identity_status = valid_nir(), "validated"
    patient.save(update_fields=["nir", "identity_status"])
    assert client.get(url, **bearer(gp_key)).json()["ins"] is None
    patient.identity_status = "qualified"
    patient.save(update_fields=["identity_status"])
    body = client.get(url, **bearer(gp_key)).json()
    assert body["ins"] == patient.nir
    assert body["gp"]["rpps"] == patient.gp.rpps


def test_posting_a_note_writes_the_timeline_as_the_tokens_user(client, world, gp_key):
    url = reverse("api:timeline", args=[world.patient.pk])
    response = client.post(
        url,
        {"kind": "note", "title": "Appel de la fille", "body": "Va mieux."},
        content_type="application/json",
        **bearer(gp_key),
    )
    assert response.status_code == 201
    event = TimelineEvent.objects.get(pk=response.json()["id"])
    assert event.author.user == world.users["team_member"]
    assert event.source == TimelineEvent.Source.API
    assert AuditEvent.objects.filter(
        object_type="timeline_event", object_id=str(event.pk), action="create"
    ).exists()
    assert event.shared_with_patient is False and response.json()["shared_with_patient"] is False


def test_a_note_posted_shared_reaches_the_patients_portal(client, world, gp_key):
    response = client.post(
        reverse("api:timeline", args=[world.patient.pk]),
        {"kind": "note", "title": "Prochain rendez-vous le 3", "shared_with_patient": True},
        content_type="application/json",
        **bearer(gp_key),
    )
    assert response.status_code == 201
    assert response.json()["shared_with_patient"] is True
    client.force_login(world.users["the_patient"])
    portal = client.get(reverse("portal:timeline", args=[world.patient.pk]))
    assert "Prochain rendez-vous le 3" in portal.content.decode()


def test_invalid_input_lists_every_error_in_french_and_english(client, world, gp_key):
    url = reverse("api:timeline", args=[world.patient.pk])
    tomorrow = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    response = client.post(
        url,
        {"kind": "hospital_admission", "occurred_at": tomorrow},
        content_type="application/json",
        **bearer(gp_key),
    )
    assert response.status_code == 400
    errors = {error["field"]: error for error in response.json()["errors"]}
    assert set(errors) == {"kind", "title", "occurred_at"}
    assert errors["title"]["message_fr"] == "Ce champ est obligatoire."
    assert errors["title"]["message_en"] == "This field is required."
    assert errors["occurred_at"]["code"] == "future"
    assert errors["occurred_at"]["message_en"] == "The event cannot be in the future."
    assert not TimelineEvent.objects.exists()


@pytest.mark.parametrize("moment", ["0459-05-23T08:15:35+00:00", "2100-01-01T00:00:00+00:00"])
def test_a_date_far_out_of_care_is_refused(client, world, gp_key, moment):
    response = client.post(
        reverse("api:timeline", args=[world.patient.pk]),
        {"kind": "note", "title": "x", "occurred_at": moment},
        content_type="application/json",
        **bearer(gp_key),
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "out_of_range"
    assert not TimelineEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "parse_error"),
        ("kind=note", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("[1, 2]", "application/json", 400, "invalid"),
    ],
)
def test_a_malformed_body_is_a_json_error_not_a_500(
    client, world, gp_key, body, content_type, status, code
):
    url = reverse("api:timeline", args=[world.patient.pk])
    response = client.post(url, body, content_type=content_type, **bearer(gp_key))
    assert response.status_code == status
    assert response.json()["errors"][0]["code"] == code


def test_a_read_only_member_may_read_but_not_write(client, world):
    key = ApiToken.issue(user=world.users["read_only_member"], name="t")[1]
    url = reverse("api:timeline", args=[world.patient.pk])
    assert client.get(url, **bearer(key)).status_code == 200
    response = client.post(
        url, {"kind": "note", "title": "x"}, content_type="application/json", **bearer(key)
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"
    assert not TimelineEvent.objects.exists()


def test_a_session_write_needs_the_csrf_token(world):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["team_member"])
    url = reverse("api:timeline", args=[world.patient.pk])
    response = browser.post(url, {"kind": "note", "title": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "csrf"
    assert browser.get(url).status_code == 200


@pytest.fixture
def hospital_token(world, commune) -> str:
    """A token of the hospital where one of the patient's care-team members practises."""
    hospital = Organization.objects.create(kind="hospital", name="CH Est", finess="690000001")
    member = CareTeamMember.objects.filter(patient=world.patient, role="gp").get()
    PractitionerRole.objects.create(professional=member.professional, organization=hospital)
    return OrganizationToken.issue(organization=hospital, name="Interface")[1]


def test_an_organisations_machine_reads_and_writes_its_patients_timeline(
    client, world, events, hospital_token
):
    url = reverse("api:timeline", args=[world.patient.pk])
    assert len(client.get(url, **bearer(hospital_token)).json()["results"]) == 7
    response = client.post(
        url,
        {"kind": "consultation", "title": "Consultation de cardiologie"},
        content_type="application/json",
        **bearer(hospital_token),
    )
    assert response.status_code == 201
    event = TimelineEvent.objects.get(pk=response.json()["id"])
    assert event.author is None
    assert event.organization.name == "CH Est"
    trace = AuditEvent.objects.filter(object_type="timeline_event").get()
    assert trace.actor is None
    assert trace.api_token == f"organization:{OrganizationToken.objects.get().pk}"


def test_a_machine_gets_404_for_a_patient_outside_its_organisation(client, world, hospital_token):
    url = reverse("api:timeline", args=[world.other_patient.pk])
    assert client.get(url, **bearer(hospital_token)).status_code == 404
    assert AuditEvent.objects.get().outcome == AuditEvent.Outcome.DENIED


def test_a_machine_may_not_reach_the_liaison_notebook(client, world, hospital_token):
    response = client.get(
        reverse("api:messages", args=[world.patient.pk]), **bearer(hospital_token)
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


def test_patient_search_finds_only_visible_patients_and_traces_the_list(client, world, gp_key):
    response = client.get(reverse("api:patients"), **bearer(gp_key))
    assert [row["id"] for row in response.json()["results"]] == [world.patient.pk]
    response = client.get(
        reverse("api:patients"), {"name": world.patient.birth_last_name[:4]}, **bearer(gp_key)
    )
    assert [row["id"] for row in response.json()["results"]] == [world.patient.pk]
    assert response.json()["results"][0]["birth_last_name"] == world.patient.birth_last_name
    trace = AuditEvent.objects.filter(object_type="patient_list").last()
    assert trace.object_id == "1"


def test_search_beyond_its_quota_gets_429_with_retry_after(client, world, gp_key, settings):
    cache.clear()
    settings.TSN_API_THROTTLE_RATES = {**settings.TSN_API_THROTTLE_RATES, "search": "2/min"}
    answers = [client.get(reverse("api:patients"), **bearer(gp_key)) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert int(answers[2]["Retry-After"]) > 0
    assert answers[2].json()["errors"][0]["code"] == "throttled"
    # Another user has their own quota.
    other = ApiToken.issue(user=world.users["coordinator_following"], name="t")[1]
    assert client.get(reverse("api:patients"), **bearer(other)).status_code == 200
    cache.clear()


def test_documents_are_uploaded_listed_and_downloaded(client, world, gp_key, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = reverse("api:documents", args=[world.patient.pk])
    upload = io.BytesIO(PNG)
    upload.name = "radio.png"
    response = client.post(url, {"file": upload, "title": "Radio"}, **bearer(gp_key))
    assert response.status_code == 201
    document = Document.objects.get()
    assert document.event.title == "Radio"
    assert [row["id"] for row in client.get(url, **bearer(gp_key)).json()["results"]] == [
        document.pk
    ]
    content = client.get(
        reverse("api:document_content", args=[world.patient.pk, document.pk]), **bearer(gp_key)
    )
    assert content.status_code == 200
    assert b"".join(content.streaming_content) == PNG
    assert content["Content-Type"] == "image/png"


def test_an_upload_that_is_not_a_document_is_refused_in_both_languages(
    client, world, gp_key, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    upload = io.BytesIO(b"#!/bin/sh\necho hello\n")
    upload.name = "script.pdf"
    response = client.post(
        reverse("api:documents", args=[world.patient.pk]), {"file": upload}, **bearer(gp_key)
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "file_type"
    assert error["message_fr"] == "Seuls les fichiers PDF, JPEG et PNG sont acceptés."
    assert error["message_en"] != error["message_fr"]
    assert not Document.objects.exists()


def test_a_document_of_another_patient_is_not_found(client, world, gp_key, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    event = TimelineEvent.objects.create(
        patient=world.other_patient, occurred_at=timezone.now(), kind="document", title="x"
    )
    other = Document.objects.create(
        patient=world.other_patient,
        event=event,
        original_name="x.pdf",
        content_type="application/pdf",
        size=1,
        uploaded_by=world.users["outsider"],
    )
    url = reverse("api:document_content", args=[world.patient.pk, other.pk])
    assert client.get(url, **bearer(gp_key)).status_code == 404


def test_a_liaison_message_mentions_only_the_care_team(client, world, gp_key):
    url = reverse("api:messages", args=[world.patient.pk])
    coordinator = world.users["coordinator_following"]
    outsider = world.users["outsider"]
    refused = client.post(
        url,
        {"body": "Pouvez-vous passer ?", "mentions": [outsider.pk]},
        content_type="application/json",
        **bearer(gp_key),
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "mention_outside_team"
    assert not LiaisonMessage.objects.exists()
    nurse = world.users["read_only_member"]
    response = client.post(
        url,
        {"body": "Pouvez-vous passer ?", "mentions": [nurse.pk]},
        content_type="application/json",
        **bearer(gp_key),
    )
    assert response.status_code == 201, response.json()
    assert response.json()["mentions"] == [nurse.pk]
    listed = client.get(url, **bearer(ApiToken.issue(user=coordinator, name="t")[1])).json()
    assert [row["body"] for row in listed["results"]] == ["Pouvez-vous passer ?"]


def test_the_care_team_lists_current_and_past_members(client, world, gp_key):
    response = client.get(reverse("api:care_team", args=[world.patient.pk]), **bearer(gp_key))
    rows = response.json()["results"]
    assert len(rows) == CareTeamMember.objects.filter(patient=world.patient).count()
    assert {row["professional"]["id"] for row in rows} == set(
        CareTeamMember.objects.filter(patient=world.patient).values_list(
            "professional_id", flat=True
        )
    )


@pytest.mark.parametrize(
    ("url", "content_type"),
    [
        ("/api/alerts/x%0Ay/resolve/", "application/json"),
        ("/api/nulle-part/%0A/", "application/json"),
        ("/fhir/Patient/x%0Ay", "application/fhir+json"),
    ],
)
def test_an_address_with_a_line_break_is_a_machine_readable_404(client, url, content_type):
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith(content_type)
