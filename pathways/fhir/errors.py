"""FHIR errors: every refusal of the FHIR API is an OperationOutcome, its `details.text`
in French (for the person who reads it), its `diagnostics` in English (for the developer
who reads the logs), never the REST API's `{"errors": [...]}`."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response


def operation_outcome(code: str, details: str, diagnostics: str) -> dict:
    """An OperationOutcome with one error issue (`code`: an IssueType code)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": code,
                "details": {"text": details},
                "diagnostics": diagnostics,
            }
        ],
    }


class FhirError(exceptions.APIException):
    """A refusal the FHIR API states itself (bad parameter, unknown resource type...)."""

    def __init__(self, status: int, code: str, details: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status_code = status
        self.code = code
        self.details = details
        self.diagnostics = diagnostics


def invalid(details: str, diagnostics: str) -> FhirError:
    """A 400 for a malformed request (a date, a _count, a reference...)."""
    return FhirError(400, "invalid", details, diagnostics)


def not_found() -> FhirError:
    """The same 404 for what does not exist and for what one may not know exists."""
    return FhirError(
        404,
        "not-found",
        _("Ressource introuvable, ou vous n'y avez pas accès."),
        "Resource not found.",
    )


def _translated(exc: Exception) -> FhirError | None:
    """The OperationOutcome-ready form of an exception raised by Django or DRF."""
    if isinstance(exc, FhirError):
        return exc
    if isinstance(exc, Http404 | exceptions.NotFound):
        return not_found()
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return FhirError(
            401,
            "security",
            _("Authentification requise : un jeton d'API valide (Authorization: Bearer)."),
            "Authentication required: a valid API token (Authorization: Bearer) or a session.",
        )
    if isinstance(exc, DjangoPermissionDenied | exceptions.PermissionDenied):
        return FhirError(
            403,
            "forbidden",
            _("Vous n'avez pas le droit de lire cette ressource."),
            "You may not read this resource.",
        )
    if isinstance(exc, exceptions.Throttled):
        return FhirError(
            429,
            "throttled",
            _("Trop de requêtes : réessayez plus tard."),
            "Too many requests: try again later (see Retry-After).",
        )
    if isinstance(exc, exceptions.MethodNotAllowed | exceptions.NotAcceptable):
        return FhirError(
            exc.status_code,
            "not-supported",
            _("Cette API FHIR est en lecture seule, au format JSON."),
            f"Not supported: {exc.detail}",
        )
    if isinstance(exc, exceptions.APIException):
        return FhirError(exc.status_code, "processing", _("Requête refusée."), str(exc.detail))
    return None


def fhir_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler for the FHIR views (None lets a bug be a 500, logged)."""
    error = _translated(exc)
    if error is None:
        return None
    headers = {}
    if error.status_code == 401:
        headers["WWW-Authenticate"] = getattr(exc, "auth_header", None) or 'Bearer realm="tsn"'
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait + 0.999))
    body = operation_outcome(error.code, str(error.details), error.diagnostics)
    return Response(body, status=error.status_code, headers=headers)
