"""Every patient-scoped route, for every persona, from one declarative table.

Expected answers derive from the policy table of test_access.py (who sees, who writes):
404 for a record one may not know exists, 403 for a visible record one may not change
(or whose access log one may not read), the login page for anonymous visitors. Each
request that reaches the access check leaves exactly one audit event with the matching
outcome. A meta-test fails when a patient-scoped route is missing from the table.

The portal's pages are for patient accounts: any other account gets 404 before the access
check (no record is read, so nothing to trace).
"""

import pytest
from django.urls import URLPattern, get_resolver, reverse

from tests.patients.test_access import MAY_WRITE, SEES_THE_PATIENT
from tsn.models import AuditEvent

ALLOW, FORBID, HIDE, LOGIN = "allow", "forbid", "hide", "login"

# route name -> (HTTP method, what it needs, and optionally {URL argument: key of the
# `objects` fixture} where the argument's name alone does not say which object). Needs:
# "read", "write", "access_log", "break_glass", "care_plan_validation", "clinical_read" (a
# page for the territory's professionals only), "portal" (the patient and their caregivers),
# "portal_patient_only" (the patient themself), "own_export" (the archive of whom asked for
# it: the patient's), "portal_invitation" (the referent coordinators).
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
    "portal:home": ("get", "portal"),
    "portal:questionnaires": ("get", "portal"),
    "portal:questionnaire": ("get", "portal"),
    "portal:care_plan": ("get", "portal"),
    "portal:timeline": ("get", "portal"),
    "portal:documents": ("get", "portal"),
    "portal:conversation": ("post", "portal"),
    "portal:access_log": ("get", "portal_patient_only"),
    "portal:access_log_pdf": ("get", "portal_patient_only"),
    "portal:objections": ("get", "portal_patient_only"),
    "portal:objection_withdraw": ("post", "portal_patient_only"),
    "portal:exports": ("post", "portal"),
    "portal:export_status": ("get", "own_export"),
    "portal:export_download": ("get", "own_export"),
    "portal:invitations": ("get", "portal_invitation"),
    "portal:invite_patient": ("post", "portal_invitation"),
    "portal:invite_caregiver": (
        "post",
        "portal_invitation",
        {"caregiver_pk": "caregiver_without_account_pk"},
    ),
    "portal:caregiver_access": ("post", "portal_invitation"),
    "portal:revoke_invitation": ("post", "portal_invitation"),
}
PORTAL_NEEDS = {"portal", "portal_patient_only", "own_export"}
PORTAL_USERS = {"the_patient", "another_patient", "authorised_caregiver", "expired_caregiver"}
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
    if not SEES_THE_PATIENT[persona] or (need in PORTAL_NEEDS and persona not in PORTAL_USERS):
        return HIDE
    if need == "portal":
        return ALLOW
    if need == "portal_patient_only":
        return ALLOW if persona == "the_patient" else FORBID
    if need == "own_export":
        return ALLOW if persona == "the_patient" else HIDE
    if need == "portal_invitation":
        return ALLOW if persona == "coordinator_following" else FORBID
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


def expected_trace(persona: str, need: str, want: str) -> str | None:
    """The outcome of the access check's audit event, None where none is expected."""
    if want == LOGIN or need == "break_glass":
        return None
    if need == "clinical_read" and persona not in CLINICAL:
        return None
    if need in PORTAL_NEEDS and persona not in PORTAL_USERS:
        return None
    if need == "own_export" and SEES_THE_PATIENT[persona]:
        # A caregiver may open the record, not the archive the patient asked for (404).
        return AuditEvent.Outcome.ALLOWED
    return AuditEvent.Outcome.ALLOWED if want == ALLOW else AuditEvent.Outcome.DENIED


def route_url(name: str, pk: int, objects: dict) -> str:
    pattern = _patient_routes()[name]
    _method, _need, *rest = ROUTES[name]
    keys = rest[0] if rest else {}
    kwargs = {"pk": pk} | {
        key: objects[keys.get(key, key)] for key in pattern.pattern.converters if key != "pk"
    }
    return reverse(name, kwargs=kwargs)


# The URL namespaces whose routes take a patient's id as `pk`.
PATIENT_SCOPED_NAMESPACES = ("patients", "pathways", "portal")


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
    method, need, *_keys = ROUTES[route]
    user = world.users[persona]
    if user is not None:
        client.force_login(user)
    before = AuditEvent.objects.count()
    response = getattr(client, method)(route_url(route, world.patient.pk, objects))
    want = expected(persona, need)
    assert outcome_of(response) == want, (response.status_code, response.get("Location"))

    checks = AuditEvent.objects.filter(pk__gt=0).order_by("pk")[before:]
    access_checks = [e for e in checks if e.actor == user and e.patient_id == world.patient.pk]
    trace = expected_trace(persona, need, want)
    if trace is None:
        assert access_checks == []  # no access check happened: nothing to trace
        return
    assert access_checks[0].outcome == trace
    if want != ALLOW or method == "get":
        assert len(access_checks) == 1
