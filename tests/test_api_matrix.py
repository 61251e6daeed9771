"""Every patient-scoped API route, for every persona, from one declarative table: the
route x persona matrix of the pages (tests/patients/test_access_matrix.py), through the
REST API with personal tokens.

Expected answers derive from the same policy table (who sees, who writes): 404 for a
record one may not know exists, 403 for a write one may not make, 401 without a
credential. Each request that reaches the access check leaves exactly one audit event
with the matching outcome. A meta-test fails when a patient-scoped API route is missing.
"""

import io
import json

import pytest
from django.urls import get_resolver, reverse

from pathways.models import PathwayTemplate
from professionals.models import SupportService
from tests.patients.test_access import SEES_THE_PATIENT
from tests.patients.test_access_matrix import ALLOW, HIDE, expected
from tsn.models import ApiToken, AuditEvent

UNAUTHENTICATED = "unauthenticated"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# (route name, method) -> (what it needs, the body of a valid request)
ROUTES = {
    ("api:patient", "get"): ("read", None),
    ("api:care_team", "get"): ("read", None),
    ("api:timeline", "get"): ("read", None),
    ("api:timeline", "post"): ("write", {"kind": "note", "title": "Appel"}),
    ("api:documents", "get"): ("read", None),
    ("api:documents", "post"): ("write", "upload"),
    ("api:document_content", "get"): ("read", None),
    ("api:messages", "get"): ("read", None),
    ("api:messages", "post"): ("write", {"body": "Passage prévu demain."}),
    ("api:observations", "get"): ("read", None),
    ("api:pathways", "get"): ("read", None),
    ("api:pathways", "post"): ("write", {"template": "fragilite", "origin": "gp"}),
    ("api:pathway", "get"): ("read", None),
    ("api:pathway_status", "post"): ("write", {"to": "suspended", "reason": "Vacances"}),
    ("api:step_schedule", "post"): ("write", {"scheduled_at": "2030-05-04T09:30:00+02:00"}),
    ("api:step_assign", "post"): ("write", "assign"),
    ("api:step_complete", "post"): ("write", {"outcome": "Visite faite."}),
    ("api:step_skip", "post"): ("write", {"reason": "Hospitalisé."}),
    ("api:care_plan", "get"): ("read", None),
    ("api:care_plan", "put"): ("write", {"preferences": "Rester à domicile."}),
    ("api:care_plan_validate", "post"): ("care_plan_validation", {"version": 1}),
    ("api:referrals", "get"): ("read", None),
    ("api:referrals", "post"): ("write", "referral"),
    ("api:referral_cancel", "post"): ("write", {"reason": "Plus nécessaire."}),
}

# URL keyword -> the key of the `objects` fixture naming that object.
OBJECT_KEYS = {
    "document_id": "document_pk",
    "pathway_id": "pathway_pk",
    "step_id": "step_pk",
    "referral_id": "referral_pk",
}


def _api_patient_routes() -> dict[str, object]:
    """ "api:name" -> pattern, for every API route whose URL carries a `patient_id`."""
    for resolver in get_resolver().url_patterns:
        if getattr(resolver, "namespace", None) == "api":
            return {
                f"api:{pattern.name}": pattern
                for pattern in resolver.url_patterns
                if "patient_id" in pattern.pattern.converters
            }
    return {}


def test_every_patient_scoped_api_route_is_in_the_table():
    assert set(_api_patient_routes()) == {name for name, _method in ROUTES}


def api_outcome(response) -> str:
    if response.status_code == 401:
        return UNAUTHENTICATED
    return {403: "forbid", 404: HIDE}.get(response.status_code, ALLOW)


@pytest.mark.parametrize(("route", "method"), ROUTES)
@pytest.mark.parametrize("persona", SEES_THE_PATIENT)
def test_api_route_answers_each_persona_and_audits_it(
    client, world, objects, settings, tmp_path, route, method, persona
):
    settings.MEDIA_ROOT = tmp_path
    PathwayTemplate.objects.create(code="fragilite", name="Fragilité de la personne âgée")
    need, body = ROUTES[(route, method)]
    user = world.users[persona]
    headers = {}
    if user is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {ApiToken.issue(user=user, name='t')[1]}"
    pattern = _api_patient_routes()[route]
    kwargs = {"patient_id": world.patient.pk} | {
        key: objects[OBJECT_KEYS[key]] for key in pattern.pattern.converters if key != "patient_id"
    }
    url = reverse(route, kwargs=kwargs)
    before = AuditEvent.objects.count()
    if body == "upload":
        upload = io.BytesIO(PNG)
        upload.name = "scan.png"
        response = client.post(url, {"file": upload}, **headers)
    elif body is not None:
        if body == "assign":
            body = {"assignee": world.patient.gp_id}
        elif body == "referral":
            service = SupportService.objects.get(name="Équipe mobile gériatrique")
            body = {"service": service.pk, "reason": "Évaluation gériatrique à domicile."}
        call = getattr(client, method)
        if method == "put":
            headers["HTTP_IF_MATCH"] = '"1"'
        response = call(url, json.dumps(body), content_type="application/json", **headers)
    else:
        response = getattr(client, method)(url, **headers)

    want = expected(persona, need)
    if want == "login":
        assert api_outcome(response) == UNAUTHENTICATED
        assert AuditEvent.objects.count() == before
        return
    assert api_outcome(response) == want, (response.status_code, response.content[:300])
    assert response.status_code != 400, response.json()
    checks = [
        e
        for e in AuditEvent.objects.order_by("pk")[before:]
        if e.actor == user and e.patient_id == world.patient.pk
    ]
    assert checks[0].outcome == (
        AuditEvent.Outcome.ALLOWED if want == ALLOW else AuditEvent.Outcome.DENIED
    )
    if want != ALLOW or method == "get":
        assert len(checks) == 1
