"""The REST API of pathways, steps, the care plan, referrals and alerts
(pathways/rest_api.py, pathways/serializers.py), through HTTP with personal tokens."""

import datetime

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from pathways.catalogue import install_pathway_templates
from pathways.models import Alert, CarePlan, Pathway, PathwayTemplate, Referral, Step
from pathways.services.pathway import change_pathway_status, enrol_patient
from patients.models import ConsentRecord, TimelineEvent
from professionals.models import SupportService
from tsn.models import ApiToken, AuditEvent

HEART = "insuffisance-cardiaque"
Status = Pathway.Status


@pytest.fixture
def api(client):
    """`api(user)`: the test client, authenticated as `user` with a personal token."""

    def as_user(user):
        _token, key = ApiToken.issue(user=user, name="test")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        return client

    return as_user


def _post(client, url: str, data: dict | None = None, **headers):
    return client.post(url, data or {}, content_type="application/json", **headers)


def _put(client, url: str, data: dict, **headers):
    return client.put(url, data, content_type="application/json", **headers)


def _error(response, status: int) -> dict:
    """The only error of an error answer, after checking its shape: both languages."""
    assert response.status_code == status, response.content
    (error,) = response.json()["errors"]
    assert error["message_fr"] and error["message_en"]
    return error


def _audits(user, **fields):
    return AuditEvent.objects.filter(actor=user, **fields)


def _request(user):
    request = RequestFactory().post("/")
    request.user = user
    return request


@pytest.fixture
def heart(db) -> PathwayTemplate:
    install_pathway_templates()
    return PathwayTemplate.objects.get(code=HEART, is_current=True)


@pytest.fixture
def heart_pathway(world, heart) -> Pathway:
    """The patient's active heart-failure pathway (enrolled and activated by its referent)."""
    request = _request(world.users["coordinator_following"])
    pathway = enrol_patient(request=request, patient=world.patient, template=heart, origin="gp")
    return change_pathway_status(request=request, pathway=pathway, to=Status.ACTIVE, informed=True)


def _step(pathway: Pathway, order: int) -> Step:
    return pathway.steps.select_related("template_step").get(template_step__order=order)


def _url(name: str, world, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs={"patient_id": world.patient.pk, **kwargs})


# --- Pathway templates ---------------------------------------------------------------------


def test_the_templates_in_force_with_their_steps(api, world, heart, django_assert_max_num_queries):
    PathwayTemplate.objects.create(code="ancien", name="Ancien modèle", is_current=False)
    client = api(world.users["coordinator_following"])

    with django_assert_max_num_queries(4):
        response = client.get(reverse("api:pathway_templates"))

    assert response.status_code == 200
    by_code = {template["code"]: template for template in response.json()["results"]}
    assert "ancien" not in by_code
    assert [step["order"] for step in by_code[HEART]["steps"]] == list(range(1, 9))
    assert by_code[HEART]["steps"][5]["blocking"] is True


# --- Pathways ------------------------------------------------------------------------------


def test_enrolment_proposes_the_pathway_with_its_steps(api, world, heart):
    coordinator = world.users["coordinator_following"]
    service = SupportService.objects.get(name="Appui à la coordination")
    client = api(coordinator)

    response = _post(
        client,
        _url("pathways", world),
        {
            "template": HEART,
            "origin": "hospital",
            "referent": coordinator.professional.pk,
            "support_service": service.pk,
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    pathway = Pathway.objects.get(pk=body["id"], patient=world.patient)
    assert pathway.status == Status.PROPOSED and pathway.template == heart
    assert body["status"] == "proposed" and body["origin"] == "hospital"
    assert body["next_statuses"] == ["active", "exited"]
    assert body["referent"]["id"] == coordinator.professional.pk
    assert body["support_service"]["name"] == "Appui à la coordination"
    assert [step["order"] for step in body["steps"]] == list(range(1, 9))
    assert {step["status"] for step in body["steps"]} == {"planned"}
    # The GP of the care team takes the GP's steps, as on the page.
    assert body["steps"][1]["assignee"]["id"] == world.patient.gp_id
    assert _audits(
        coordinator, patient_id=world.patient.pk, object_type="pathway", action="update"
    ).exists()


def test_enrolment_by_an_older_version_or_twice_is_refused_by_the_service(api, world, heart):
    old = PathwayTemplate.objects.create(
        code="ancien", version=1, name="Ancien modèle", is_current=False
    )
    client = api(world.users["coordinator_following"])

    stale = _error(
        _post(client, _url("pathways", world), {"template_id": old.pk, "origin": "gp"}), 400
    )
    both = _error(
        _post(
            client,
            _url("pathways", world),
            {"template": HEART, "template_id": heart.pk, "origin": "gp"},
        ),
        400,
    )
    assert stale["code"] == "template_not_current"
    assert both["code"] == "template_required"
    assert _post(client, _url("pathways", world), {"template": HEART, "origin": "gp"}).status_code
    twice = _error(_post(client, _url("pathways", world), {"template": HEART, "origin": "gp"}), 400)

    assert twice["code"] == "already_enrolled"
    assert twice["message_fr"] == "Le patient suit déjà ce parcours."
    assert twice["message_en"] == "The patient is already in this pathway."
    assert world.patient.pathways.filter(template=heart).count() == 1


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"origin": "gp"}, None, "template_required"),
        ({"template": "inconnu", "origin": "gp"}, "template", "does_not_exist"),
        ({"template_id": 10**20, "origin": "gp"}, "template_id", "does_not_exist"),
        ({"template": HEART, "origin": "martien"}, "origin", "invalid_choice"),
        ({"template": HEART}, "origin", "required"),
        ({"template": HEART, "origin": "gp", "referent": "x"}, "referent", "incorrect_type"),
    ],
)
def test_enrolment_input_errors_are_400_in_both_languages(api, world, heart, data, field, code):
    client = api(world.users["coordinator_following"])

    error = _error(_post(client, _url("pathways", world), data), 400)

    assert (error["field"], error["code"]) == (field, code)
    if code in ("required", "invalid_choice", "does_not_exist"):  # DRF's, translated
        assert error["message_fr"] != error["message_en"]
    assert not world.patient.pathways.filter(template=heart).exists()


def test_the_list_and_the_detail_give_the_pathways_with_their_steps(
    api, world, heart_pathway, django_assert_max_num_queries
):
    client = api(world.users["read_only_member"])

    with django_assert_max_num_queries(7):
        listed = client.get(_url("pathways", world))
    detail = client.get(_url("pathway", world, pathway_id=heart_pathway.pk))

    assert listed.status_code == 200
    results = listed.json()["results"]
    assert results[0]["id"] == heart_pathway.pk  # newest first
    assert {pathway["template"]["code"] for pathway in results} == {"ic", HEART}
    assert detail.status_code == 200
    assert detail.json() == next(p for p in results if p["id"] == heart_pathway.pk)
    assert len(detail.json()["steps"]) == 8
    reader = world.users["read_only_member"]
    assert _audits(reader, object_type="pathways", outcome="allowed").count() == 1
    assert _audits(reader, object_type="pathway", object_id=str(heart_pathway.pk)).count() == 1


def test_the_list_costs_the_same_queries_for_more_pathways(
    api, world, heart, django_assert_max_num_queries
):
    request = _request(world.users["coordinator_following"])
    install_pathway_templates()
    for template in PathwayTemplate.objects.filter(is_current=True).exclude(code="ic"):
        enrol_patient(request=request, patient=world.patient, template=template, origin="gp")
    client = api(world.users["team_member"])

    with django_assert_max_num_queries(7):
        response = client.get(_url("pathways", world))

    assert response.status_code == 200
    assert len(response.json()["results"]) == 6
    assert sum(len(pathway["steps"]) for pathway in response.json()["results"]) > 30


def test_a_pathway_of_another_patient_is_not_found(api, world, heart):
    request = _request(world.users["coordinator_following"])
    elsewhere = enrol_patient(
        request=request, patient=world.other_patient, template=heart, origin="gp"
    )
    client = api(world.users["coordinator_following"])

    assert client.get(_url("pathway", world, pathway_id=elsewhere.pk)).status_code == 404
    response = _post(
        client, _url("pathway_status", world, pathway_id=elsewhere.pk), {"to": "exited"}
    )
    assert _error(response, 404)["code"] == "not_found"


def test_activation_needs_the_patient_informed_then_records_it(api, world, heart):
    request = _request(world.users["coordinator_following"])
    pathway = enrol_patient(request=request, patient=world.patient, template=heart, origin="gp")
    client = api(world.users["coordinator_following"])
    url = _url("pathway_status", world, pathway_id=pathway.pk)

    refused = _error(_post(client, url, {"to": "active"}), 400)
    assert refused["code"] == "not_informed"
    assert refused["message_fr"] != refused["message_en"]
    pathway.refresh_from_db()
    assert pathway.status == Status.PROPOSED

    response = _post(client, url, {"to": "active", "informed": True})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "active"
    assert response.json()["next_statuses"] == ["suspended", "completed", "exited"]
    assert ConsentRecord.objects.filter(
        patient=world.patient, kind=ConsentRecord.Kind.INFORMATION_GIVEN
    ).exists()


def test_a_move_the_pathway_may_not_make_is_explained(api, world, heart_pathway):
    client = api(world.users["coordinator_following"])
    url = _url("pathway_status", world, pathway_id=heart_pathway.pk)

    refused = _error(_post(client, url, {"to": "proposed"}), 400)
    no_reason = _error(_post(client, url, {"to": "exited", "reason": "  "}), 400)
    bad = _error(_post(client, url, {"to": "ailleurs"}), 400)

    assert refused["code"] == "not_allowed"
    assert refused["message_fr"] == "Un parcours « Actif » ne peut pas passer à « Proposé »."
    assert refused["message_en"].startswith("A “")
    assert (no_reason["code"], no_reason["message_en"]) == (
        "reason_required",
        "Give the exit reason.",
    )
    assert (bad["field"], bad["code"]) == ("to", "invalid_choice")
    heart_pathway.refresh_from_db()
    assert heart_pathway.status == Status.ACTIVE

    exited = _post(client, url, {"to": "exited", "reason": "Déménagement"})
    assert exited.status_code == 200
    assert (exited.json()["status"], exited.json()["exit_reason"]) == ("exited", "Déménagement")


# --- Steps ---------------------------------------------------------------------------------


def test_a_step_is_scheduled_assigned_then_done(api, world, heart_pathway, make_professional):
    step = _step(heart_pathway, 3)
    nurse = make_professional()
    client = api(world.users["coordinator_following"])
    when = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)

    scheduled = _post(
        client,
        _url("step_schedule", world, step_id=step.pk),
        {"scheduled_at": when.isoformat(), "place": "Domicile"},
    )
    assigned = _post(client, _url("step_assign", world, step_id=step.pk), {"assignee": nurse.pk})
    done = _post(
        client, _url("step_complete", world, step_id=step.pk), {"outcome": "Balance installée."}
    )

    assert scheduled.status_code == 200, scheduled.content
    assert scheduled.json()["status"] == "scheduled"
    assert scheduled.json()["place"] == "Domicile"
    assert assigned.status_code == 200
    assert assigned.json()["assignee"]["id"] == nurse.pk
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["outcome"]) == ("done", "Balance installée.")
    step.refresh_from_db()
    assert (step.status, step.assignee, step.outcome) == ("done", nurse, "Balance installée.")
    assert TimelineEvent.objects.filter(
        patient=world.patient, kind=TimelineEvent.Kind.PATHWAY_STEP, body="Balance installée."
    ).exists()
    coordinator = world.users["coordinator_following"]
    assert _audits(coordinator, object_type="step", object_id=str(step.pk)).count() == 3


def test_step_moves_the_service_refuses_are_400_in_both_languages(api, world, heart_pathway):
    client = api(world.users["coordinator_following"])
    blocking, after = _step(heart_pathway, 6), _step(heart_pathway, 7)
    done = _step(heart_pathway, 3)
    assert _post(client, _url("step_complete", world, step_id=done.pk)).status_code == 200

    blocked = _error(_post(client, _url("step_complete", world, step_id=after.pk)), 400)
    skipped = _error(
        _post(client, _url("step_skip", world, step_id=blocking.pk), {"reason": "Refus"}), 400
    )
    again = _error(_post(client, _url("step_complete", world, step_id=done.pk)), 400)

    assert blocked["code"] == "blocked"
    assert blocked["message_fr"] == (
        "Cette étape attend l'étape « PPCS validé par le médecin traitant »."
    )
    assert blocked["message_en"] != blocked["message_fr"]
    assert skipped["code"] == "blocking"
    assert skipped["message_fr"] != skipped["message_en"]
    assert again["code"] == "not_allowed"
    assert again["message_fr"] == "Cette étape est déjà « Réalisée »."
    after.refresh_from_db()
    assert after.status == Step.Status.PLANNED


@pytest.mark.parametrize(
    ("action", "data", "field", "code"),
    [
        ("step_schedule", {}, "scheduled_at", "required"),
        ("step_schedule", {"scheduled_at": "demain"}, "scheduled_at", "invalid"),
        ("step_assign", {}, "assignee", "required"),
        ("step_assign", {"assignee": 2**63}, "assignee", "does_not_exist"),
        ("step_complete", {"done_at": "2099-01-01T10:00:00+01:00"}, "done_at", "future"),
        ("step_skip", {"reason": ""}, "reason", "blank"),
    ],
)
def test_step_input_errors(api, world, heart_pathway, action, data, field, code):
    step = _step(heart_pathway, 4)
    assignee = step.assignee_id
    client = api(world.users["coordinator_following"])

    error = _error(_post(client, _url(action, world, step_id=step.pk), data), 400)

    assert (error["field"], error["code"]) == (field, code)
    assert error["message_fr"] != error["message_en"]
    step.refresh_from_db()
    assert (step.status, step.assignee_id) == (Step.Status.PLANNED, assignee)


def test_a_step_is_skipped_with_its_reason(api, world, heart_pathway):
    step = _step(heart_pathway, 4)
    client = api(world.users["coordinator_following"])

    response = _post(
        client, _url("step_skip", world, step_id=step.pk), {"reason": "Pas de pharmacie"}
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["outcome"]) == (
        "skipped",
        "Pas de pharmacie",
    )


def test_a_step_of_another_patient_is_not_found(api, world, heart):
    request = _request(world.users["coordinator_following"])
    elsewhere = enrol_patient(
        request=request, patient=world.other_patient, template=heart, origin="gp"
    )
    step = elsewhere.steps.first()
    client = api(world.users["coordinator_following"])

    response = _post(client, _url("step_skip", world, step_id=step.pk), {"reason": "x"})

    assert _error(response, 404)["code"] == "not_found"
    step.refresh_from_db()
    assert step.status == Step.Status.PLANNED


# --- Care plan -----------------------------------------------------------------------------


def _plan(**fields) -> dict:
    return {
        "general_information": "Vit seul, au 2e étage sans ascenseur.",
        "next_review_on": "2027-03-01",
        "needs": {"health": "Insuffisance cardiaque.", "autonomy": "Aide pour la toilette."},
        "goals": [{"text": "Stabiliser le poids", "target": "± 1 kg", "status": "in_progress"}],
        "actions": [{"text": "Pesée quotidienne", "kind": "care", "due_on": "2027-01-15"}],
        "preferences": "Rester à domicile.",
    } | fields


def test_the_care_plan_is_saved_under_if_match_and_read_with_its_etag(api, world):
    gp = world.users["team_member"]
    client = api(gp)
    url = _url("care_plan", world)

    assert _error(client.get(url), 404)["code"] == "not_found"
    missing = _error(_put(client, url, _plan()), 428)
    assert missing["code"] == "if_match_required"
    assert not CarePlan.objects.filter(patient=world.patient).exists()

    first = _put(client, url, _plan(), HTTP_IF_MATCH='"0"')
    assert first.status_code == 201, first.content
    assert first["ETag"] == '"1"'
    assert first.json()["number"] == 1
    read = client.get(url)
    assert read.status_code == 200 and read["ETag"] == '"1"'
    assert read.json()["needs"]["autonomy"] == "Aide pour la toilette."
    assert read.json()["actions"][0] | {"owner_name": ""} == {
        "text": "Pesée quotidienne",
        "kind": "care",
        "owner": None,
        "owner_name": "",
        "due_on": "2027-01-15",
    }

    stale = _put(client, url, _plan(preferences="Autre"), HTTP_IF_MATCH='"0"')
    assert _error(stale, 412)["code"] == "stale"
    assert stale["ETag"] == '"1"'
    second = _put(client, url, _plan(preferences="Entrer en EHPAD."), HTTP_IF_MATCH='"1"')
    assert second.status_code == 200, second.content
    assert second["ETag"] == '"2"'
    assert second.json()["preferences"] == "Entrer en EHPAD."
    assert client.get(url).json()["number"] == 2
    plan = CarePlan.objects.get(patient=world.patient)
    assert plan.current_version == 2
    assert _audits(gp, object_type="care_plan", action="create").count() == 1
    assert _audits(gp, object_type="care_plan", action="update", object_id="2").count() == 1


def test_a_version_the_care_plan_never_had_is_a_412_and_a_bad_if_match_a_400(api, world):
    client = api(world.users["team_member"])
    url = _url("care_plan", world)

    never = _put(client, url, _plan(), HTTP_IF_MATCH='"5"')
    bad = _put(client, url, _plan(), HTTP_IF_MATCH="*")

    assert _error(never, 412)["code"] == "stale" and never["ETag"] == '"0"'
    assert (_error(bad, 400)["code"], bad.json()["errors"][0]["field"]) == (
        "invalid_if_match",
        "If-Match",
    )
    assert not CarePlan.objects.filter(patient=world.patient).exists()


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"goals": [{"text": "Marcher", "status": "?"}]}, "goals[0].status", "invalid_choice"),
        ({"actions": [{"text": "Visite", "kind": "care", "owner": 10**20}]},
         "actions[0].owner", "does_not_exist"),
        ({"next_review_on": "bientôt"}, "next_review_on", "invalid"),
        ({"needs": {"cuisine": "Repas"}}, None, "needs_domain"),
    ],
)  # fmt: skip
def test_care_plan_input_errors_are_400_in_both_languages(api, world, change, field, code):
    client = api(world.users["team_member"])

    error = _error(
        _put(client, _url("care_plan", world), _plan(**change), HTTP_IF_MATCH='"0"'), 400
    )

    assert (error["field"], error["code"]) == (field, code)
    assert error["message_fr"] != error["message_en"]
    assert not CarePlan.objects.filter(patient=world.patient).exists()


def test_the_referent_and_owners_are_of_the_care_team_or_following(api, world, make_professional):
    client = api(world.users["team_member"])
    stranger = make_professional()
    coordinator = world.users["coordinator_following"].professional
    url = _url("care_plan", world)

    refused = _put(client, url, _plan(referent=stranger.pk), HTTP_IF_MATCH='"0"')
    saved = _put(
        client,
        url,
        _plan(
            referent=coordinator.pk,
            actions=[{"text": "Visite", "kind": "support", "owner": world.patient.gp_id}],
        ),
        HTTP_IF_MATCH='"0"',
    )

    assert _error(refused, 400)["field"] == "referent"
    assert saved.status_code == 201, saved.content
    assert saved.json()["referent"]["id"] == coordinator.pk
    assert saved.json()["actions"][0]["owner"] == world.patient.gp_id
    assert saved.json()["actions"][0]["owner_name"] == str(world.patient.gp)


def test_only_the_gp_validates_the_current_version_once(api, world, heart_pathway):
    gp = world.users["team_member"]
    url = _url("care_plan_validate", world)
    no_plan = _error(_post(api(gp), url, {"version": 1}), 400)
    assert no_plan["code"] == "no_care_plan" and no_plan["message_en"] != no_plan["message_fr"]
    _put(api(gp), _url("care_plan", world), _plan(), HTTP_IF_MATCH='"0"')

    coordinator = _error(_post(api(world.users["coordinator_following"]), url, {"version": 1}), 403)
    zero = _error(_post(api(gp), url, {"version": 0}), 400)
    assert (zero["field"], zero["code"]) == ("version", "min_value")
    assert zero["message_fr"] != zero["message_en"]
    stale = _error(_post(api(gp), url, {"version": 2}), 400)
    validated = _post(api(gp), url, {"version": 1})
    again = _error(_post(api(gp), url, {"version": 1}), 400)

    assert coordinator["code"] == "permission_denied"
    assert stale["code"] == "stale"
    assert validated.status_code == 200, validated.content
    assert validated.json()["validated_by"]["id"] == world.patient.gp_id
    assert (again["code"], again["message_en"]) == (
        "already_validated",
        "This version is already validated.",
    )
    # The pathway's step "care plan validated by the GP" is done with it.
    assert _step(heart_pathway, 6).status == Step.Status.DONE


# --- Referrals -----------------------------------------------------------------------------


def test_a_patients_referrals_are_listed_and_one_is_sent(api, world, django_assert_max_num_queries):
    coordinator = world.users["coordinator_following"]
    geriatrics = SupportService.objects.get(name="Équipe mobile gériatrique")
    client = api(coordinator)
    pathway = world.patient.pathways.get()

    sent = _post(
        client,
        _url("referrals", world),
        {"service": geriatrics.pk, "reason": "Évaluation des chutes.", "pathway": pathway.pk},
    )
    with django_assert_max_num_queries(6):
        listed = client.get(_url("referrals", world))

    assert sent.status_code == 201, sent.content
    body = sent.json()
    referral = Referral.objects.get(pk=body["id"])
    assert (referral.patient, referral.service, referral.pathway) == (
        world.patient,
        geriatrics,
        pathway,
    )
    assert body["status"] == "sent" and body["late"] is False
    assert body["sent_by"]["id"] == coordinator.professional.pk
    assert listed.status_code == 200
    assert listed.json()["results"][0]["id"] == referral.pk
    assert {r["service"]["name"] for r in listed.json()["results"]} == {
        "Équipe mobile gériatrique",
        "Aide à domicile Rhône-Est",
        "Portage de repas",
    }
    assert _audits(coordinator, object_type="referral", action="create").count() == 1


def test_sending_twice_or_without_reason_or_for_another_pathway_is_refused(api, world, heart):
    request = _request(world.users["coordinator_following"])
    elsewhere = enrol_patient(
        request=request, patient=world.other_patient, template=heart, origin="gp"
    )
    meals = SupportService.objects.get(name="Portage de repas")
    client = api(world.users["coordinator_following"])
    url = _url("referrals", world)

    twice = _error(_post(client, url, {"service": meals.pk, "reason": "Encore"}), 400)
    blank = _error(_post(client, url, {"service": meals.pk, "reason": ""}), 400)
    other = _error(
        _post(client, url, {"service": meals.pk, "reason": "x", "pathway": elsewhere.pk}), 400
    )

    assert twice["code"] == "already_referred"
    assert twice["message_fr"] != twice["message_en"]
    assert (blank["field"], blank["code"]) == ("reason", "blank")
    assert (other["field"], other["code"]) == ("pathway", "does_not_exist")
    assert world.patient.referrals.filter(service=meals).count() == 1


def test_the_sender_side_cancels_a_referral(api, world):
    referral = world.patient.referrals.get(service__name="Portage de repas")
    client = api(world.users["coordinator_following"])
    url = _url("referral_cancel", world, referral_id=referral.pk)

    cancelled = _post(client, url, {"reason": "Fille disponible."})
    again = _error(_post(client, url), 400)

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CANCELLED
    assert again["code"] == "not_allowed"
    assert again["message_fr"] == "Une demande « Annulée » ne peut pas passer à « Annulée »."
    assert again["message_en"].startswith("A “")


def test_a_referral_of_another_patient_is_not_cancelled(api, world):
    other = Referral.objects.create(
        patient=world.other_patient,
        service=SupportService.objects.get(name="Portage de repas"),
        sent_by=world.patient.gp,
        reason="Repas",
        respond_by=timezone.now() + datetime.timedelta(days=5),
    )
    client = api(world.users["coordinator_following"])

    response = _post(client, _url("referral_cancel", world, referral_id=other.pk))

    assert _error(response, 404)["code"] == "not_found"
    other.refresh_from_db()
    assert other.status == Referral.Status.SENT


def test_the_service_inbox_lists_its_referrals_with_the_patient(
    api, world, django_assert_max_num_queries
):
    member = world.users["service_referral_pending"]
    client = api(member)

    with django_assert_max_num_queries(5):
        inbox = client.get(reverse("api:referral_inbox"))
    awaiting = client.get(reverse("api:referral_inbox"), {"status": "awaiting"})
    accepted = client.get(reverse("api:referral_inbox"), {"status": "accepted"})
    bad = _error(client.get(reverse("api:referral_inbox"), {"status": "bientôt"}), 400)

    assert inbox.status_code == 200
    (referral,) = inbox.json()["results"]
    assert referral["service"]["name"] == "Portage de repas"
    assert referral["patient"]["birth_last_name"] == world.patient.birth_last_name
    assert referral["patient"]["commune"]["name"] == "Lyon"
    assert [r["id"] for r in awaiting.json()["results"]] == [referral["id"]]
    assert accepted.json()["results"] == []
    assert (bad["field"], bad["code"]) == ("status", "invalid_choice")
    assert _audits(member, object_type="referral_list", object_id="1").exists()
    # Others' inboxes do not show it; a patient has no inbox.
    others = api(world.users["coordinator_not_following"]).get(reverse("api:referral_inbox"))
    assert others.json()["results"] == []
    assert _error(api(world.users["the_patient"]).get(reverse("api:referral_inbox")), 403)


def test_the_service_acknowledges_accepts_and_completes(api, world):
    referral = world.patient.referrals.get(service__name="Portage de repas")
    member = world.users["service_referral_pending"]
    client = api(member)

    read = client.get(reverse("api:service_referral", args=[referral.pk]))
    steps = [
        _post(client, reverse(f"api:referral_{action}", args=[referral.pk]))
        for action in ("acknowledge", "accept", "complete")
    ]

    assert read.status_code == 200 and read.json()["reason"] == "Portage de repas le midi."
    assert [(r.status_code, r.json()["status"]) for r in steps] == [
        (200, "acknowledged"),
        (200, "accepted"),
        (200, "done"),
    ]
    assert steps[1].json()["responded_by"]["id"] == member.professional.pk
    referral.refresh_from_db()
    assert referral.status == Referral.Status.DONE
    assert _audits(
        member, object_type="referral", action="update", patient_id=world.patient.pk
    ).count()


def test_the_service_refuses_with_a_reason(api, world):
    referral = world.patient.referrals.get(service__name="Portage de repas")
    client = api(world.users["service_referral_pending"])
    url = reverse("api:referral_refuse", args=[referral.pk])

    no_reason = _error(_post(client, url), 400)
    refused = _post(client, url, {"reason": "Hors secteur."})
    late = _error(_post(client, reverse("api:referral_accept", args=[referral.pk])), 400)

    assert (no_reason["field"], no_reason["code"]) == ("reason", "required")
    assert refused.status_code == 200
    assert (refused.json()["status"], refused.json()["refusal_reason"]) == (
        "refused",
        "Hors secteur.",
    )
    assert late["code"] == "not_allowed"
    assert late["message_fr"] == "Une demande « Refusée » ne peut pas passer à « Acceptée »."


@pytest.mark.parametrize("persona", ["coordinator_not_following", "team_member", "the_patient"])
def test_a_referral_is_not_found_outside_its_service(api, world, persona):
    referral = world.patient.referrals.get(service__name="Portage de repas")
    user = world.users[persona]
    client = api(user)

    read = client.get(reverse("api:service_referral", args=[referral.pk]))
    accept = _post(client, reverse("api:referral_accept", args=[referral.pk]))
    unknown = _post(client, reverse("api:referral_accept", args=[999_999_999]))

    assert _error(read, 404)["code"] == "not_found"
    assert _error(accept, 404)["code"] == "not_found"
    assert _error(unknown, 404)["code"] == "not_found"
    referral.refresh_from_db()
    assert referral.status == Referral.Status.SENT
    assert (
        _audits(user, object_type="referral", outcome="denied", patient_id=world.patient.pk).count()
        == 2
    )


# --- Alerts --------------------------------------------------------------------------------


def _alert(patient, n: int = 0, **fields) -> Alert:
    return Alert.objects.create(
        patient=patient,
        kind=fields.pop("kind", Alert.Kind.NO_CONTACT),
        message=f"Alerte {n}",
        dedupe_key=f"test:{patient.pk}:{n}",
        **fields,
    )


def test_the_alerts_of_the_patients_one_sees_newest_first(
    api, world, django_assert_max_num_queries
):
    now = timezone.now()
    mine = [
        _alert(world.patient, n, created_at=now - datetime.timedelta(hours=n)) for n in range(12)
    ]
    _alert(
        world.patient,
        99,
        kind=Alert.Kind.HOSPITAL_ADMISSION,
        status="resolved",
        created_at=now - datetime.timedelta(days=2),
    )
    hidden = _alert(world.other_patient, 100)
    coordinator = world.users["coordinator_following"]
    client = api(coordinator)

    with django_assert_max_num_queries(5):
        response = client.get(reverse("api:alerts"), {"limit": 5})

    assert response.status_code == 200
    body = response.json()
    assert [a["id"] for a in body["results"]] == [a.pk for a in mine[:5]]
    assert body["results"][0]["patient_name"] == str(world.patient)
    rest = client.get(body["next"]).json()["results"]
    assert hidden.pk not in [a["id"] for a in body["results"] + rest]
    assert _audits(coordinator, object_type="alert_list", object_id="5").exists()


def test_alert_filters(api, world):
    _alert(world.patient, 1)
    admission = _alert(world.patient, 2, kind=Alert.Kind.HOSPITAL_ADMISSION)
    resolved = _alert(world.patient, 3, status="resolved")
    client = api(world.users["team_member"])

    def ids(**params) -> list[int]:
        response = client.get(reverse("api:alerts"), params)
        assert response.status_code == 200, response.content
        return [alert["id"] for alert in response.json()["results"]]

    assert ids(kind="hospital_admission") == [admission.pk]
    assert ids(status="resolved") == [resolved.pk]
    assert len(ids(patient=world.patient.pk)) == 3
    assert ids(patient=world.other_patient.pk) == []
    bad = _error(client.get(reverse("api:alerts"), {"patient": "x"}), 400)
    huge = _error(client.get(reverse("api:alerts"), {"patient": 10**20}), 400)
    assert (bad["field"], huge["field"]) == ("patient", "patient")
    assert bad["message_fr"] != bad["message_en"]


def test_outsiders_see_no_alert_and_non_clinical_users_no_list(api, world):
    _alert(world.patient)

    assert api(world.users["outsider"]).get(reverse("api:alerts")).json()["results"] == []
    assert _error(api(world.users["the_patient"]).get(reverse("api:alerts")), 403)
    assert _error(api(world.users["ars_analyst"]).get(reverse("api:alerts")), 403)


def test_an_alert_is_acknowledged_then_resolved_each_idempotently(api, world):
    alert = _alert(world.patient)
    coordinator = world.users["coordinator_following"]
    client = api(coordinator)
    acknowledge = reverse("api:alert_acknowledge", args=[alert.pk])
    resolve = reverse("api:alert_resolve", args=[alert.pk])

    first = _post(client, acknowledge)
    alert.refresh_from_db()
    acknowledged_at = alert.acknowledged_at
    second = _post(client, acknowledge)

    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == second.json()["status"] == "acknowledged"
    assert first.json()["acknowledged_by"] == coordinator.pk
    alert.refresh_from_db()
    assert alert.acknowledged_at == acknowledged_at
    changes = _audits(coordinator, object_type="alert", object_id=str(alert.pk), action="update")
    # Each request is traced (the access check), and the one change by the service.
    assert changes.count() == 3

    long = _error(_post(client, resolve, {"comment": "x" * 2001}), 400)
    assert (long["field"], long["code"]) == ("comment", "max_length")
    resolved = _post(client, resolve, {"comment": "Appel au patient : tout va bien."})
    again = _post(client, resolve, {"comment": "Autre"})
    assert resolved.json()["status"] == "resolved"
    assert again.status_code == 200
    assert again.json()["resolution_comment"] == "Appel au patient : tout va bien."


@pytest.mark.parametrize("persona", ["outsider", "objected_professional"])
def test_an_alert_about_a_patient_one_does_not_see_is_not_found(api, world, persona):
    alert = _alert(world.patient)
    user = world.users[persona]
    client = api(user)

    response = _post(client, reverse("api:alert_acknowledge", args=[alert.pk]))
    unknown = _post(client, reverse("api:alert_resolve", args=[999_999_999]))

    assert _error(response, 404)["code"] == "not_found"
    assert _error(unknown, 404)["code"] == "not_found"
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN
    denied = _audits(user, object_type="alert", outcome="denied")
    assert denied.filter(patient_id=world.patient.pk, object_id=str(alert.pk)).count() == 1
    assert denied.filter(patient_id=None, object_id="999999999").count() == 1


# --- Every patient-scoped endpoint: outsiders get 404, read-only members 403 on writes -------

PATIENT_SCOPED = [
    ("get", "pathways", {}),
    ("post", "pathways", {}),
    ("get", "pathway", {"pathway_id": 0}),
    ("post", "pathway_status", {"pathway_id": 0}),
    ("post", "step_schedule", {"step_id": 0}),
    ("post", "step_assign", {"step_id": 0}),
    ("post", "step_complete", {"step_id": 0}),
    ("post", "step_skip", {"step_id": 0}),
    ("get", "care_plan", {}),
    ("put", "care_plan", {}),
    ("post", "care_plan_validate", {}),
    ("get", "referrals", {}),
    ("post", "referrals", {}),
    ("post", "referral_cancel", {"referral_id": 0}),
]


def _service(name: str) -> SupportService:
    return SupportService.objects.get(name=name)


def _call(client, world, pathway: Pathway, method: str, name: str, ids: dict):
    """Each endpoint with real ids (of the world's patient) and a valid body."""
    real = {
        "pathway_id": pathway.pk,
        "step_id": _step(pathway, 4).pk,
        "referral_id": world.patient.referrals.get(service__name="Portage de repas").pk,
    }
    url = _url(name, world, **{key: real[key] for key in ids})
    bodies = {
        "pathways": {"template": "diabete-type-2", "origin": "gp"},
        "pathway_status": {"to": "suspended", "reason": "Vacances"},
        "step_schedule": {"scheduled_at": "2030-01-01T10:00:00+01:00"},
        "step_assign": {"assignee": world.patient.gp_id},
        "step_complete": {"outcome": "Fait"},
        "step_skip": {"reason": "Pas utile"},
        "care_plan": _plan(),
        "care_plan_validate": {"version": 1},
        "referrals": {"service": _service("Équipe mobile gériatrique").pk, "reason": "x"},
        "referral_cancel": {},
    }  # fmt: skip
    if method == "get":
        return client.get(url)
    send = client.put if method == "put" else client.post
    return send(url, bodies[name], content_type="application/json", HTTP_IF_MATCH='"0"')


@pytest.mark.parametrize(("method", "name", "ids"), PATIENT_SCOPED)
def test_an_outsider_gets_404_and_is_traced(api, world, heart_pathway, method, name, ids):
    outsider = world.users["outsider"]

    response = _call(api(outsider), world, heart_pathway, method, name, ids)

    assert _error(response, 404)["code"] == "not_found"
    assert _audits(outsider, patient_id=world.patient.pk, outcome="denied").count() == 1


@pytest.mark.parametrize(
    ("method", "name", "ids"), [route for route in PATIENT_SCOPED if route[0] != "get"]
)
def test_a_read_only_member_gets_403_on_writes(api, world, heart_pathway, method, name, ids):
    reader = world.users["read_only_member"]
    before = (Pathway.objects.count(), Referral.objects.count(), TimelineEvent.objects.count())

    response = _call(api(reader), world, heart_pathway, method, name, ids)

    assert _error(response, 403)["code"] == "permission_denied"
    assert _audits(reader, patient_id=world.patient.pk, outcome="denied").count() == 1
    after = (Pathway.objects.count(), Referral.objects.count(), TimelineEvent.objects.count())
    assert after == before


@pytest.mark.parametrize(
    ("method", "name", "ids"), [route for route in PATIENT_SCOPED if route[0] != "get"]
)
def test_the_same_writes_succeed_for_a_writer(api, world, heart_pathway, method, name, ids):
    """The twin of the two tests above: the same requests are valid for the right person."""
    writer = "team_member" if name == "care_plan_validate" else "coordinator_following"
    if name == "care_plan_validate":
        _put(
            api(world.users["team_member"]), _url("care_plan", world), _plan(), HTTP_IF_MATCH='"0"'
        )

    response = _call(api(world.users[writer]), world, heart_pathway, method, name, ids)

    assert response.status_code in (200, 201), response.content
