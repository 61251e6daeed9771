"""Remote monitoring: the measurements API (pathways/api.py), storing and converting them
(patients/services.py), the thresholds and their alerts (pathways/services/monitoring.py),
the chart page (pathways/views/monitoring.py), and the rules of the catalogue and of
revised templates. Through HTTP first."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.catalogue import install_pathway_templates
from pathways.models import Alert, MonitoringRule, Notification, Pathway, PathwayTemplate
from pathways.services.pathway import StepDraft, revise_template
from patients.models import CareTeamMember, ConsentRecord, Observation
from professionals.models import Organization, OrganizationToken, PractitionerRole
from tsn.models import AuditEvent

URL = "/api/observations/"
Rule = MonitoringRule.Comparison
URGENT, WARNING = Alert.Severity.URGENT, Alert.Severity.WARNING
TZ = timezone.get_current_timezone()


def days_ago(days: int, hour: int = 8) -> datetime.datetime:
    """A moment of a past day, local time (never in the future, whatever the hour now)."""
    day = timezone.localdate() - datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=TZ)


def item(patient, kind="weight", value=72.4, unit="kg", at=None, **extra) -> dict:
    at = at or days_ago(1)
    return {
        "patient": patient if isinstance(patient, int) else patient.pk,
        "kind": kind,
        "value": value,
        "unit": unit,
        "measured_at": at.isoformat() if isinstance(at, datetime.datetime) else at,
        **extra,
    }


def post(client, body, *, key: str | None = None, raw: bytes | None = None, **headers):
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    data = raw if raw is not None else json.dumps(body)
    headers.setdefault("content_type", "application/json")
    return client.post(URL, data=data, **headers)


@pytest.fixture
def gp_session(client, world):
    client.force_login(world.users["team_member"])
    return client


@pytest.fixture
def heart_rules(world) -> dict[str, MonitoringRule]:
    """The heart-failure thresholds, and the diabetes ones, on the world's active pathway."""
    template = world.patient.pathways.get().template
    specs = {
        "weight_rise": ("weight", Rule.RISE, "2", URGENT, 3),
        "spo2_below": ("spo2", Rule.BELOW, "90", URGENT, None),
        "heart_rate_above": ("heart_rate", Rule.ABOVE, "120", WARNING, None),
        "systolic_below": ("systolic_bp", Rule.BELOW, "90", WARNING, None),
        "glucose_above": ("glucose", Rule.ABOVE, "16.5", WARNING, None),
        "glucose_below": ("glucose", Rule.BELOW, "3.0", URGENT, None),
    }
    return {
        name: MonitoringRule.objects.create(
            template=template,
            kind=kind,
            comparison=comparison,
            threshold=Decimal(threshold),
            severity=severity,
            window_days=window,
        )
        for name, (kind, comparison, threshold, severity, window) in specs.items()
    }


@pytest.fixture
def practice(world) -> Organization:
    """The GP's practice, where the GP currently works."""
    practice = Organization.objects.create(
        kind=Organization.Kind.GP_PRACTICE, name="Maison de santé des Tilleuls"
    )
    PractitionerRole.objects.create(
        professional=world.users["team_member"].professional, organization=practice
    )
    return practice


@pytest.fixture
def token_key(practice) -> str:
    return OrganizationToken.issue(organization=practice, name="Plateforme de télésurveillance")[1]


@pytest.fixture
def stranger_key(db) -> str:
    """A token of an organisation where nobody of the patient's care team works."""
    elsewhere = Organization.objects.create(kind=Organization.Kind.PHARMACY, name="Pharmacie")
    return OrganizationToken.issue(organization=elsewhere, name="Pilulier connecté")[1]


# --- Storing: units, conversion, validation ------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "unit", "stored"),
    [
        ("weight", 72.4, "kg", "72.40"),
        ("weight", 160, "[lb_av]", "72.57"),
        ("weight", 72400, "g", "72.40"),
        ("glucose", 180, "mg/dL", "9.99"),
        ("glucose", 1.8, "g/L", "9.99"),
        ("glucose", 5.5, "mmol/L", "5.50"),
        ("systolic_bp", 128, "mm[Hg]", "128.00"),
        ("spo2", 97, "%", "97.00"),
        ("heart_rate", 64, "/min", "64.00"),
    ],
)
def test_a_value_is_stored_in_the_canonical_unit_beside_what_was_sent(
    gp_session, world, kind, value, unit, stored
):
    response = post(gp_session, item(world.patient, kind, value, unit, device="Balance"))

    assert response.status_code == 201, response.json()
    observation = Observation.objects.get(pk=response.json()["ids"][0])
    assert observation.value == Decimal(stored)
    assert observation.unit == Observation.UNITS[kind][0]
    assert (observation.sent_value, observation.sent_unit) == (Decimal(str(value)), unit)
    assert observation.recorded_by == world.users["team_member"]
    assert observation.device == "Balance"
    assert observation.measured_at == days_ago(1)


NOW_PLUS_10_MIN = "future"


@pytest.mark.parametrize(
    ("field", "changes", "french", "english"),
    [
        ("kind", {"kind": "temperature"}, "mesure « temperature » inconnue", "unknown"),
        ("unit", {"unit": "lb"}, "l'unité « lb » n'est pas acceptée", "not accepted"),
        ("unit", {"kind": "spo2", "unit": "kg", "value": 95}, "« saturation", "“oxygen sat"),
        ("value", {"value": 900}, "hors des limites plausibles", "plausible range"),
        ("value", {"kind": "spo2", "unit": "%", "value": 40}, "de 50 à 100 %", "50 to 100"),
        ("value", {"value": 0}, "hors des limites", "plausible"),
        ("value", {"value": "72"}, "un nombre est attendu", "a number"),
        ("value", {"value": True}, "un nombre est attendu", "a number"),
        ("measured_at", {"at": "2026-03-01T08:30:00"}, "fuseau horaire manque", "time zone"),
        ("measured_at", {"at": "2026-03-01"}, "fuseau horaire manque", "time zone"),
        ("measured_at", {"at": NOW_PLUS_10_MIN}, "dans le futur", "in the future"),
        ("measured_at", {"at": "1999-12-31T23:00:00+00:00"}, "antérieure à l'an 2000", "2000"),
        ("measured_at", {"at": "hier matin"}, "ISO 8601", "ISO 8601"),
        ("patient", {"patient": "12"}, "identifiant de patient", "patient identifier"),
        ("patient", {"patient": 10**30}, "identifiant de patient", "patient identifier"),
        ("device", {"device": "x" * 101}, "100 caractères au plus", "100 characters"),
        ("device", {"device": 12}, "chaîne de caractères", "a string"),
    ],
)
def test_an_invalid_field_is_a_400_naming_it_in_french_and_english(
    gp_session, world, field, changes, french, english
):
    changes = dict(changes)
    if changes.get("at") == NOW_PLUS_10_MIN:
        changes["at"] = timezone.now() + datetime.timedelta(minutes=10)
    body = item(world.patient, at=changes.pop("at", None)) | changes
    audit_before = AuditEvent.objects.count()

    response = post(gp_session, body)

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (0, field)
    assert f"« {field} »" in error["message_fr"] and french in error["message_fr"]
    assert f"“{field}”" in error["message_en"] and english in error["message_en"]
    # The English text is all English: the measurement's name too.
    assert "poids" not in error["message_en"] and "saturation en" not in error["message_en"]
    assert not Observation.objects.exists()
    assert AuditEvent.objects.count() == audit_before


def test_a_missing_field_is_required(gp_session, world):
    body = item(world.patient)
    del body["unit"]

    response = post(gp_session, body)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "index": 0,
            "code": "required",
            "field": "unit",
            "message_fr": "Champ « unit » : obligatoire.",
            "message_en": "Field “unit”: required.",
        }
    ]


def test_a_clock_up_to_five_minutes_ahead_is_tolerated(gp_session, world):
    ahead = timezone.now() + datetime.timedelta(minutes=4)

    response = post(gp_session, item(world.patient, at=ahead))

    assert response.status_code == 201


def test_a_batch_is_stored_whole_or_not_at_all(gp_session, world):
    batch = [
        item(world.patient, at=days_ago(3)),
        item(world.patient, "spo2", 95, "kg"),
        item(world.patient, "heart_rate", 64, "/min", at="2026-03-01T08:00:00"),
    ]

    refused = post(gp_session, batch)

    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(1, "unit"), (2, "measured_at")]
    assert not Observation.objects.exists()

    batch[1]["unit"], batch[2]["measured_at"] = "%", days_ago(2).isoformat()
    stored = post(gp_session, batch)

    assert stored.status_code == 201
    body = stored.json()
    assert len(body["ids"]) == 3
    assert [i["index"] for i in body["items"]] == [0, 1, 2]
    assert set(Observation.objects.values_list("pk", flat=True)) == set(body["ids"])


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{", 400),
        (b"NaN", 400),
        (b'{"patient": 1, "kind": "weight", "value": NaN}', 400),
        (b'"du texte"', 400),
        (b"[1, 2]", 400),
        (b"[]", 400),
        (b"\xff\xfe\x00", 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (b"1" * 5000, 400),
        (
            b'{"patient": 1, "kind": "weight", "value": 1e999999999, "unit": "kg",'
            b' "measured_at": "2026-03-01T08:00:00+01:00"}',
            400,
        ),
        (
            b'{"patient": 1, "kind": "weight", "value": -1e-999999999, "unit": "g",'
            b' "measured_at": "2026-03-01T08:00:00+01:00"}',
            400,
        ),
        (b'{"patient": 1, "kind": ["weight"], "value": {}, "unit": null}', 400),
    ],
)
def test_malformed_input_is_a_json_400_never_a_500(gp_session, world, raw, status):
    response = post(gp_session, None, raw=raw)

    assert response.status_code == status
    errors = response.json()["errors"]
    assert errors and all(e["message_fr"] and e["message_en"] for e in errors)
    assert not Observation.objects.exists()


def test_too_many_items_and_a_wrong_content_type_are_refused(gp_session, world):
    too_many = post(gp_session, [item(world.patient)] * 501)
    not_json = post(gp_session, None, raw=b"patient=1", content_type="text/plain")
    not_post = gp_session.get(URL)

    assert too_many.status_code == 400
    assert "500" in too_many.json()["errors"][0]["message_en"]
    assert not_json.status_code == 415
    assert not_post.status_code == 405
    assert not Observation.objects.exists()


# --- Who may send: sessions, organisation tokens, CSRF ---------------------------------------


def test_an_organisation_token_sends_for_a_patient_of_a_team_member_working_there(
    client, world, practice, token_key
):
    response = post(client, item(world.patient), key=token_key)

    assert response.status_code == 201
    observation = Observation.objects.get()
    assert observation.organization == practice
    assert observation.recorded_by is None
    token = OrganizationToken.objects.get()
    [audit] = AuditEvent.objects.filter(action="create", object_type="observation")
    assert (audit.actor, audit.patient_id) == (None, world.patient.pk)
    assert audit.object_id == f"token:{token.pk}"
    assert token.last_used_at is not None


def test_a_session_write_is_audited_once_per_patient_touched(client, world, make_patient):
    coordinator = world.users["coordinator_following"]
    second = make_patient()
    Pathway.objects.create(
        patient=second,
        template=world.patient.pathways.get().template,
        status=Pathway.Status.ACTIVE,
        support_service=world.patient.pathways.get().support_service,
        referent=coordinator.professional,
    )
    client.force_login(coordinator)
    batch = [item(world.patient), item(world.patient, "spo2", 96, "%"), item(second)]

    response = post(client, batch)

    assert response.status_code == 201
    audits = AuditEvent.objects.filter(action="create", object_type="observation")
    assert sorted(audits.values_list("patient_id", flat=True)) == sorted(
        [world.patient.pk, second.pk]
    )
    assert {a.actor for a in audits} == {coordinator}


def _not_found(response) -> tuple:
    return response.status_code, response.json()


def test_not_allowed_and_unknown_patients_get_the_same_404(client, world, token_key, stranger_key):
    unknown = world.patient.pk + 1_000_000
    client.force_login(world.users["outsider"])
    outsider = _not_found(post(client, item(world.patient)))
    client.force_login(world.users["team_member"])
    unknown_by_session = _not_found(post(client, item(unknown)))
    client.logout()
    stranger_token = _not_found(post(client, item(world.patient), key=stranger_key))
    unknown_by_token = _not_found(post(client, item(unknown), key=token_key))

    assert outsider == unknown_by_session == stranger_token == unknown_by_token
    status, body = outsider
    assert status == 404
    assert body["errors"] == [
        {
            "index": 0,
            "code": "not_found",
            "field": "patient",
            "message_fr": "Champ « patient » : patient introuvable.",
            "message_en": "Field “patient”: patient not found.",
        }
    ]
    assert not Observation.objects.exists()
    denied = AuditEvent.objects.filter(outcome="denied", object_type="observation")
    assert denied.count() == 4


def test_one_unreachable_patient_refuses_the_whole_batch(gp_session, world):
    batch = [item(world.patient), item(world.other_patient), item(world.patient, at=days_ago(2))]

    response = post(gp_session, batch)

    assert response.status_code == 404
    assert [e["index"] for e in response.json()["errors"]] == [1]
    assert not Observation.objects.exists()


@pytest.mark.parametrize("lost", ["role_ended", "membership_ended", "objection"])
def test_a_token_loses_a_patient_with_the_link_through_its_organisation(
    client, world, practice, token_key, lost
):
    gp = world.users["team_member"].professional
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    if lost == "role_ended":
        PractitionerRole.objects.filter(organization=practice).update(
            start=yesterday - datetime.timedelta(days=30), end=yesterday
        )
    elif lost == "membership_ended":
        CareTeamMember.objects.filter(patient=world.patient, professional=gp).update(
            start=yesterday - datetime.timedelta(days=30), end=yesterday
        )
    else:
        ConsentRecord.objects.create(
            patient=world.patient, kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION, professional=gp
        )

    response = post(client, item(world.patient), key=token_key)

    assert response.status_code == 404


def test_a_read_only_member_may_not_send(client, world):
    client.force_login(world.users["read_only_member"])

    response = post(client, item(world.patient))

    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "patient"
    assert not Observation.objects.exists()


def test_no_credentials_or_a_bad_token_is_a_401(client, world, token_key):
    OrganizationToken.objects.update(revoked_at=timezone.now())

    anonymous = post(client, item(world.patient))
    revoked = post(client, item(world.patient), key=token_key)
    garbage = post(client, item(world.patient), key="tsno_nope")
    basic = post(client, item(world.patient), HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")

    assert [r.status_code for r in (anonymous, revoked, garbage, basic)] == [401] * 4
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert not Observation.objects.exists()


def test_session_posts_keep_their_csrf_protection(world, practice, token_key):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["team_member"])

    without = post(browser, item(world.patient))

    assert without.status_code == 403
    assert "CSRF" in without.json()["errors"][0]["message_en"]
    assert not Observation.objects.exists()

    browser.get(reverse("patients:detail", args=[world.patient.pk]))
    csrf = browser.cookies["csrftoken"].value
    with_token = post(browser, item(world.patient), HTTP_X_CSRFTOKEN=csrf)
    machine = post(Client(enforce_csrf_checks=True), item(world.patient), key=token_key)

    assert with_token.status_code == 201
    assert machine.status_code == 201


# --- Thresholds and alerts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "unit", "value", "crossed"),
    [
        ("spo2", "%", 90, False),
        ("spo2", "%", 89.99, True),
        ("heart_rate", "/min", 120, False),
        ("heart_rate", "/min", 121, True),
        ("systolic_bp", "mm[Hg]", 90, False),
        ("systolic_bp", "mm[Hg]", 89, True),
        ("diastolic_bp", "mm[Hg]", 40, False),
        ("glucose", "mmol/L", 16.5, False),
        ("glucose", "mmol/L", 16.51, True),
        ("glucose", "mmol/L", 3.0, False),
        ("glucose", "mmol/L", 2.99, True),
        ("glucose", "g/L", 0.5, True),
    ],
)
def test_a_threshold_is_crossed_beyond_its_value_not_at_it(
    gp_session, world, heart_rules, kind, unit, value, crossed
):
    response = post(gp_session, item(world.patient, kind, value, unit))

    assert response.status_code == 201
    assert response.json()["items"][0]["threshold_crossed"] is crossed
    assert Alert.objects.filter(kind="monitoring_threshold").exists() is crossed


@pytest.mark.parametrize(
    ("earlier", "new", "crossed"),
    [
        ([(2, 70.0)], 72.0, True),
        ([(2, 70.0)], 71.99, False),
        ([(1, 71.0), (2, 70.0), (3, 71.5)], 72.0, True),  # the lowest of the window counts
        ([(4, 70.0), (1, 71.0)], 72.0, False),  # four days ago is outside the window
        ([], 90.0, False),  # nothing to compare with
    ],
)
def test_a_weight_rise_compares_with_the_lowest_weight_of_the_window(
    gp_session, world, heart_rules, earlier, new, crossed
):
    for days, weight in earlier:
        before = post(gp_session, item(world.patient, value=weight, at=days_ago(days, 7)))
        assert before.status_code == 201
    response = post(gp_session, item(world.patient, value=new, at=days_ago(0, 0)))

    assert response.status_code == 201
    assert response.json()["items"][0]["threshold_crossed"] is crossed


def test_a_rise_within_one_batch_counts_the_batchs_earlier_measurements(
    gp_session, world, heart_rules
):
    batch = [
        item(world.patient, value=70.0, at=days_ago(3)),
        item(world.patient, value=71.0, at=days_ago(2)),
        item(world.patient, value=72.5, at=days_ago(1)),
    ]

    response = post(gp_session, batch)

    assert [i["threshold_crossed"] for i in response.json()["items"]] == [False, False, True]


def test_a_crossing_alerts_the_referent_and_the_gp_and_nobody_else(gp_session, world, heart_rules):
    response = post(gp_session, item(world.patient, "spo2", 86, "%", at=days_ago(1)))

    assert response.json()["items"][0]["threshold_crossed"] is True
    alerts = Alert.objects.filter(kind=Alert.Kind.MONITORING_THRESHOLD)
    assert {a.assignee for a in alerts} == {
        world.users["team_member"],
        world.users["coordinator_following"],
    }
    rule = heart_rules["spo2_below"]
    day = days_ago(1).date()
    for alert in alerts:
        assert alert.patient == world.patient
        assert alert.severity == URGENT
        assert alert.pathway == world.patient.pathways.get()
        assert alert.message == "Seuil de télésurveillance dépassé : saturation en oxygène (SpO2)"
        assert "86" not in alert.message
        assert alert.dedupe_key == (
            f"monitoring:{rule.pk}:{world.patient.pk}:{day:%Y-%m-%d}:{alert.assignee_id}"
        )
    recipients = set(Notification.objects.values_list("recipient", flat=True))
    assert recipients == {world.users["team_member"].pk, world.users["coordinator_following"].pk}


def test_repeated_crossings_raise_one_alert_per_person_and_day(gp_session, world, heart_rules):
    same_day = [
        item(world.patient, "heart_rate", 130, "/min", at=days_ago(1, 7)),
        item(world.patient, "heart_rate", 135, "/min", at=days_ago(1, 9)),
    ]
    post(gp_session, same_day)
    post(gp_session, item(world.patient, "heart_rate", 140, "/min", at=days_ago(1, 18)))

    assert Alert.objects.filter(kind="monitoring_threshold").count() == 2

    post(gp_session, item(world.patient, "heart_rate", 128, "/min", at=days_ago(0, 0)))

    per_person = Alert.objects.values_list("assignee").distinct().count()
    assert Alert.objects.filter(kind="monitoring_threshold").count() == 4
    assert per_person == 2


def test_no_alert_to_a_gp_the_patient_objected_to(client, world, heart_rules):
    ConsentRecord.objects.create(
        patient=world.patient,
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
        professional=world.patient.gp,
    )
    client.force_login(world.users["coordinator_following"])

    response = post(client, item(world.patient, "spo2", 85, "%"))

    assert response.json()["items"][0]["threshold_crossed"] is True
    assert list(Alert.objects.values_list("assignee", flat=True)) == [
        world.users["coordinator_following"].pk
    ]


def test_only_the_rules_of_active_pathways_apply(gp_session, world, heart_rules):
    Pathway.objects.filter(patient=world.patient).update(status=Pathway.Status.SUSPENDED)

    response = post(gp_session, item(world.patient, "spo2", 80, "%"))

    assert response.json()["items"][0]["threshold_crossed"] is False
    assert not Alert.objects.exists()


def test_checking_a_batch_costs_the_same_queries_whatever_its_size(gp_session, world, heart_rules):
    def batch(size: int) -> list[dict]:
        kinds = [("weight", 75, "kg"), ("spo2", 85, "%"), ("heart_rate", 130, "/min")]
        return [
            item(world.patient, *kinds[n % 3], at=days_ago(1 + n // 3, 7 + n % 3))
            for n in range(size)
        ]

    with CaptureQueriesContext(connection) as few:
        assert post(gp_session, batch(3)).status_code == 201
    Observation.objects.all().delete()
    Alert.objects.all().delete()
    with CaptureQueriesContext(connection) as many:
        assert post(gp_session, batch(60)).status_code == 201

    assert len(many) == len(few)


# --- The chart page --------------------------------------------------------------------------


def _chart_url(patient) -> str:
    return reverse("pathways:monitoring", args=[patient.pk])


def _measure(patient, kind, value, at) -> Observation:
    unit = Observation.UNITS[kind][0]
    return Observation.objects.create(
        patient=patient,
        kind=kind,
        value=Decimal(str(value)),
        unit=unit,
        sent_value=Decimal(str(value)),
        sent_unit=unit,
        measured_at=at,
    )


def test_the_chart_page_draws_each_kind_with_its_thresholds(gp_session, world, heart_rules):
    for days, weight in ((20, 70.4), (10, 71.0), (1, 73.2)):
        _measure(world.patient, "weight", weight, days_ago(days))
    _measure(world.patient, "spo2", 95, days_ago(3))
    _measure(world.patient, "spo2", 88, days_ago(2))
    _measure(world.patient, "heart_rate", 70, days_ago(120))  # older than 90 days

    response = gp_session.get(_chart_url(world.patient))

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('data-testid="chart"') == 2
    assert 'data-testid="chart-weight"' in page and 'data-testid="chart-spo2"' in page
    assert "chart-heart_rate" not in page
    assert 'data-threshold="90"' in page  # SpO2 below 90 %, a dashed line
    assert "hausse d'au moins 2,0 kg" in page and "des 3 jours précédents" in page
    assert "<title>" in page and "73,2" in page  # tooltips and table, the French way
    assert "<table" in page and "<details" in page
    assert "style=" not in page and "<script>" not in page.split("</main>")[0].split("<main")[1]
    assert AuditEvent.objects.filter(
        actor=world.users["team_member"],
        patient_id=world.patient.pk,
        action="read",
        object_type="observation",
    ).exists()


def test_the_chart_page_without_measurements_says_so(gp_session, world):
    response = gp_session.get(_chart_url(world.patient))

    assert 'data-testid="no-measurement"' in response.content.decode()


def test_the_chart_page_is_hidden_from_an_outsider(client, world):
    client.force_login(world.users["outsider"])

    assert client.get(_chart_url(world.patient)).status_code == 404


def test_the_chart_page_queries_do_not_grow_with_measurements(gp_session, world, heart_rules):
    _measure(world.patient, "weight", 70, days_ago(5))
    with CaptureQueriesContext(connection) as few:
        assert gp_session.get(_chart_url(world.patient)).status_code == 200
    for days in range(1, 40):
        for kind, value in (("weight", 71), ("spo2", 94), ("heart_rate", 80), ("glucose", 6)):
            _measure(world.patient, kind, value, days_ago(days, 9))
    with CaptureQueriesContext(connection) as many:
        assert gp_session.get(_chart_url(world.patient)).status_code == 200

    assert len(many) == len(few)


def test_the_patient_file_links_to_the_chart_page(gp_session, world):
    page = gp_session.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()

    assert f'href="{_chart_url(world.patient)}"' in page


# --- The catalogue's rules and template versions ----------------------------------------------


def test_the_catalogue_installs_its_monitoring_rules_once(db):
    install_pathway_templates()
    install_pathway_templates()

    heart = MonitoringRule.objects.filter(template__code="insuffisance-cardiaque")
    diabetes = MonitoringRule.objects.filter(template__code="diabete-type-2")
    assert set(heart.values_list("kind", "comparison", "threshold", "window_days", "severity")) == {
        ("weight", "rise", Decimal("2.00"), 3, URGENT),
        ("spo2", "below", Decimal("90.00"), None, URGENT),
        ("heart_rate", "above", Decimal("120.00"), None, WARNING),
        ("systolic_bp", "below", Decimal("90.00"), None, WARNING),
    }
    assert set(diabetes.values_list("kind", "comparison", "threshold", "severity")) == {
        ("glucose", "above", Decimal("16.50"), WARNING),
        ("glucose", "below", Decimal("3.00"), URGENT),
    }
    assert not MonitoringRule.objects.filter(template__code="apres-cancer").exists()


def test_templates_installed_before_the_rules_get_them_on_their_current_version(db):
    install_pathway_templates()
    MonitoringRule.objects.all().delete()
    old = PathwayTemplate.objects.get(code="insuffisance-cardiaque")
    revised = revise_template(
        template=old,
        name=old.name,
        description="v2",
        steps=[StepDraft("Visite", "nurse", 2)],
    )

    install_pathway_templates()

    assert not old.monitoring_rules.exists()
    assert revised.monitoring_rules.count() == 4


def test_a_revised_template_keeps_the_monitoring_rules(db):
    install_pathway_templates()
    template = PathwayTemplate.objects.get(code="insuffisance-cardiaque", is_current=True)
    steps = [StepDraft("Visite", "nurse", 2)]

    revised = revise_template(template=template, name=template.name, description="", steps=steps)

    def rules(of: PathwayTemplate) -> set[tuple]:
        return set(
            of.monitoring_rules.values_list(
                "kind", "comparison", "threshold", "window_days", "severity"
            )
        )

    assert rules(revised) == rules(template)
    assert len(rules(revised)) == 4
    assert template.monitoring_rules.count() == 4  # the old version keeps its own
