"""Every patient-scoped route, for every persona, from one declarative table.

Expected answers derive from the policy table of test_access.py (who sees, who writes):
404 for a record one may not know exists, 403 for a visible record one may not change
(or whose access log one may not read), the login page for anonymous visitors. Each
request that reaches the access check leaves exactly one audit event with the matching
outcome. A meta-test fails when a patient-scoped route is missing from the table.
"""

import pytest
from django.urls import URLPattern, get_resolver, reverse

from tests.patients.test_access import MAY_WRITE, SEES_THE_PATIENT
from tsn.models import AuditEvent

ALLOW, FORBID, HIDE, LOGIN = "allow", "forbid", "hide", "login"

# route name -> (HTTP method, what it needs: "read", "write", "access_log", "break_glass",
# "care_plan_validation", "clinical_read": a page for the territory's professionals only)
ROUTES = {
    "patients:detail": ("get", "read"),
    "patients:timeline": ("get", "read"),
    "patients:post_event": ("post", "write"),
    "patients:event_in_error": ("post", "write"),
    "patients:document_upload": ("post", "write"),
    "patients:document_download": ("get", "read"),
    "patients:liaison": ("get", "read"),
    "patients:care_team": ("get", "read"),
    "patients:care_team_add": ("post", "write"),
    "patients:care_team_end": ("post", "write"),
    "patients:caregiver_add": ("post", "write"),
    "patients:objection_add": ("post", "write"),
    "patients:objection_withdraw": ("post", "write"),
    "patients:access_log": ("get", "access_log"),
    "pathways:break_glass": ("get", "break_glass"),
    "pathways:pathways": ("get", "read"),
    "pathways:pathway_enrol": ("post", "write"),
    "pathways:pathway_detail": ("get", "read"),
    "pathways:pathway_status": ("post", "write"),
    "pathways:step": ("get", "read"),
    "pathways:step_update": ("post", "write"),
    "pathways:care_plan": ("get", "read"),
    "pathways:care_plan_edit": ("post", "write"),
    "pathways:care_plan_validate": ("post", "care_plan_validation"),
    "pathways:care_plan_version": ("get", "read"),
    "pathways:care_plan_print": ("get", "read"),
    "pathways:care_plan_pdf": ("get", "read"),
    "pathways:referrals": ("get", "read"),
    "pathways:referral_send": ("post", "write"),
    "pathways:referral_cancel": ("post", "write"),
    "pathways:tele_expertise": ("get", "read"),
    "pathways:tele_expertise_ask": ("post", "write"),
    "pathways:tele_expertise_cancel": ("post", "write"),
    "pathways:monitoring": ("get", "read"),
    "pathways:patient_orientation": ("get", "clinical_read"),
}
ACCESS_LOG_READERS = {"coordinator_following", "the_patient"}
CLINICAL = {
    "team_member",
    "read_only_member",
    "ended_member",
    "coordinator_following",
    "coordinator_not_following",
    "service_referral_accepted",
    "service_referral_pending",
    "objected_professional",
    "outsider",
    "break_glass_active",
    "break_glass_expired",
}


def expected(persona: str, need: str) -> str:
    if persona == "anonymous":
        return LOGIN
    if need == "break_glass":
        return ALLOW if persona in CLINICAL else HIDE
    if not SEES_THE_PATIENT[persona]:
        return HIDE
    if need == "clinical_read":
        return ALLOW if persona in CLINICAL else HIDE
    if need == "write":
        return ALLOW if persona in MAY_WRITE else FORBID
    if need == "access_log":
        return ALLOW if persona in ACCESS_LOG_READERS else FORBID
    if need == "care_plan_validation":  # the patient's GP only
        return ALLOW if persona == "team_member" else FORBID
    return ALLOW


def outcome_of(response) -> str:
    if response.status_code == 302 and "/comptes/login/" in response.url:
        return LOGIN
    return {403: FORBID, 404: HIDE}.get(response.status_code, ALLOW)


def route_url(name: str, pk: int, objects: dict) -> str:
    pattern = _patient_routes()[name]
    kwargs = {"pk": pk} | {key: objects[key] for key in pattern.pattern.converters if key != "pk"}
    return reverse(name, kwargs=kwargs)


# The URL namespaces whose routes take a patient's id as `pk`.
PATIENT_SCOPED_NAMESPACES = ("patients", "pathways")


def _patient_routes() -> dict[str, URLPattern]:
    """ "namespace:name" -> pattern, for every route whose URL carries a patient's `pk`."""
    routes = {}
    for resolver in get_resolver().url_patterns:
        namespace = getattr(resolver, "namespace", None)
        if namespace in PATIENT_SCOPED_NAMESPACES:
            for pattern in resolver.url_patterns:
                if "pk" in pattern.pattern.converters:
                    routes[f"{namespace}:{pattern.name}"] = pattern
    return routes


def test_every_patient_scoped_route_is_in_the_table():
    assert set(_patient_routes()) == set(ROUTES)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("persona", SEES_THE_PATIENT)
def test_route_answers_each_persona_and_audits_it(client, world, objects, route, persona):
    method, need = ROUTES[route]
    user = world.users[persona]
    if user is not None:
        client.force_login(user)
    before = AuditEvent.objects.count()
    response = getattr(client, method)(route_url(route, world.patient.pk, objects))
    want = expected(persona, need)
    assert outcome_of(response) == want, (response.status_code, response.get("Location"))

    checks = AuditEvent.objects.filter(pk__gt=0).order_by("pk")[before:]
    access_checks = [e for e in checks if e.actor == user and e.patient_id == world.patient.pk]
    if (
        want == LOGIN
        or need == "break_glass"
        or (need == "clinical_read" and persona not in CLINICAL)
    ):
        assert access_checks == []  # no access check happened: nothing to trace
        return
    first = access_checks[0]
    assert first.outcome == (
        AuditEvent.Outcome.ALLOWED if want == ALLOW else AuditEvent.Outcome.DENIED
    )
    if want != ALLOW or method == "get":
        assert len(access_checks) == 1
