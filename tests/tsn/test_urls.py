"""Deny by default: every URL needs a signed-in user unless it is on this short list."""

import pytest
from django.db import DatabaseError
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Views that anyone may reach: signing in and its recovery, the language switch,
# the health check, allauth's sign-up page (which answers that sign-up is closed), and a
# professional's calendar feed (its secret token is the key; calendar apps cannot sign in).
PUBLIC_ROUTES = {
    "account_login",
    "account_logout",
    "account_signup",
    "account_inactive",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_confirm_email",
    "account_email_verification_sent",
    "account_confirm_login_code",
    "mfa_authenticate",
    "set_language",
    "healthz",
    "calendar_feed",
    # The hospital feed (HL7 v2 ADT): the establishment's machine signs with its token
    # (401 without one; nothing is read or kept).
    "inbound_hl7v2",
    # The notification count polled by every page: 204 (nothing to show) once signed out.
    "notification_badge",
    # Pro Santé Connect (professionals/pro_sante_connect.py): starting a login, PSC's
    # return, and allauth's pages around them (a login cancelled at PSC; the social sign-up
    # page, which only ever answers that sign-up is closed). 404 when PSC is not configured.
    "openid_connect_login",
    "openid_connect_callback",
    "socialaccount_login_cancelled",
    "socialaccount_signup",
    # The link of a portal invitation's e-mail (portal/invitation_link.py): its secret key is the
    # credential; it opens an account once the patient's birth date is confirmed.
    "invitation",
}


def _routes(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _is_public(view) -> bool:
    return getattr(view, "login_required", True) is False


# The REST and FHIR APIs authenticate each request themselves (token or session, DRF):
# exempt from the login redirect, they answer 401. These need no credential at all: the
# OpenAPI schema and its docs, FHIR's CapabilityStatement, and the JSON 404s.
PUBLIC_API_VIEWS = {
    "SpectacularAPIView",
    "SpectacularSwaggerSplitView",
    "no_such_endpoint",  # /api/<anything else>: 404
    "Metadata",  # /fhir/metadata
    "Unknown",  # /fhir/<anything else>: 404 OperationOutcome
}
API_PREFIXES = ("api/", "fhir/")


def _is_api(route: str, view) -> bool:
    return route.startswith(API_PREFIXES) and hasattr(view, "cls")


def test_only_listed_routes_are_public():
    public = {
        pattern.name or route
        for route, pattern in _routes(get_resolver())
        if _is_public(pattern.callback)
        and not route.startswith("admin/")
        and not _is_api(route, pattern.callback)
    }
    assert public == PUBLIC_ROUTES


def test_api_routes_need_a_credential_unless_listed():
    from rest_framework.permissions import AllowAny

    anonymous_allowed = {
        pattern.callback.cls.__name__
        for route, pattern in _routes(get_resolver())
        if _is_api(route, pattern.callback)
        for permission in pattern.callback.initkwargs.get(
            "permission_classes", pattern.callback.cls.permission_classes
        )
        if permission is AllowAny
    }
    assert anonymous_allowed == PUBLIC_API_VIEWS


def test_admin_pages_need_staff(client, make_user):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    client.force_login(make_user())
    assert client.get(reverse("admin:index")).status_code == 302


def test_signup_is_closed(client, db):
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    assert b'name="password1"' not in response.content


@pytest.mark.django_db
def test_healthz_answers_without_login(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_database(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("tsn.views.connection.cursor", broken_cursor)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503


@pytest.mark.parametrize(
    "path", ["/patients/99999999999999999999/", "/patients/123456789012345678901/fil/"]
)
def test_ids_too_large_for_the_database_are_not_found(client, make_user, path):
    client.force_login(make_user())
    assert client.get(path).status_code == 404
