"""What every endpoint of the REST API shares: errors as JSON in French and in English,
keyset pagination, throttling (authentication: tsn/authentication.py; the schema:
tsn/openapi.py).

An error answer is always `{"errors": [{"code", "field", "message_fr", "message_en"}]}`.
French is the source language of our messages, so a message is written once (a gettext
string) and its English text comes from the translation catalogue.
"""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

# --- Errors --------------------------------------------------------------------------------

# The message of each error code the framework raises, in French (the source language).
MESSAGES = {
    "not_authenticated": _(
        "Authentification requise : un jeton d'API (Authorization: Bearer) ou une session."
    ),
    "authentication_failed": _("Jeton d'API invalide ou révoqué."),
    "permission_denied": _("Vous n'avez pas le droit de faire cette action."),
    "csrf": _("Vérification CSRF échouée : joignez le jeton CSRF à une requête de session."),
    "not_found": _("Introuvable, ou vous n'y avez pas accès."),
    "method_not_allowed": _("Méthode %(method)s non acceptée sur cette adresse."),
    "not_acceptable": _("Format de réponse demandé non disponible."),
    "unsupported_media_type": _(
        "Le corps de la requête doit être en JSON (Content-Type: application/json)."
    ),
    "parse_error": _("Le corps de la requête n'est pas un JSON valide."),
    "too_large": _("Le corps de la requête est trop volumineux."),
    "throttled": _("Trop de requêtes : réessayez dans %(wait)s secondes."),
    "invalid": _("Requête invalide."),
}


def entry(code: str, message_fr: str, message_en: str, field: str | None = None) -> dict:
    return {"code": code, "field": field, "message_fr": message_fr, "message_en": message_en}


def bilingual(message: object, params: dict | None = None) -> tuple[str, str]:
    """A message in French and in English. `message` is a gettext string (lazy, or the
    French msgid as rendered under French)."""
    with translation.override("fr"):
        french = str(message) % _rendered(params) if params else str(message)
    with translation.override("en"):
        english = gettext(str(message))
        english = english % _rendered(params) if params else english
    return french, english


def _rendered(params: dict) -> dict:
    """Parameters in the active language (a lazy label, such as a status, translates too)."""
    return {
        name: str(value) if isinstance(value, Promise) else value for name, value in params.items()
    }


class ApiError(exceptions.APIException):
    """An error answer made of entries (see `entry`)."""

    def __init__(self, status: int, entries: list[dict]) -> None:
        super().__init__()
        self.status_code = status
        self.entries = entries

    @classmethod
    def of(cls, status: int, code: str, message: object, field: str | None = None, **params):
        return cls(status, [entry(code, *bilingual(message, params), field=field)])


def _detail_entries(detail: object, field: str | None = None) -> Iterable[tuple[str, str, str]]:
    """(field path, message, code) of each error of a serializer's `errors`."""
    if isinstance(detail, dict):
        for name, inner in detail.items():
            if isinstance(name, int):  # an item of a list (DRF keys them by index)
                path = f"{field}[{name}]"
            else:
                path = name if field is None else f"{field}.{name}"
            yield from _detail_entries(inner, None if name == "non_field_errors" else path)
    elif isinstance(detail, list):
        for index, inner in enumerate(detail):
            nested = isinstance(inner, dict | list)
            yield from _detail_entries(inner, f"{field}[{index}]" if nested and field else field)
    else:
        yield field, str(detail), getattr(detail, "code", "invalid")


def validated(serializer_class: type[serializers.Serializer], **kwargs) -> dict:
    """The serializer's validated data, or an ApiError (400) listing every error in both
    languages (the checks run again under English when, and only when, the input is wrong)."""
    with translation.override("fr"):
        serializer = serializer_class(**kwargs)
        if serializer.is_valid():
            return serializer.validated_data
        french = list(_detail_entries(serializer.errors))
    with translation.override("en"):
        check = serializer_class(**kwargs)
        check.is_valid()
        english = list(_detail_entries(check.errors))
    if len(english) != len(french):  # the same checks: never, but never lose the French
        english = french
    raise ApiError(
        400,
        [
            entry(code, message_fr, message_en, field=field)
            for (field, message_fr, code), (_f, message_en, _c) in zip(french, english, strict=True)
        ],
    )


def _django_validation_entries(error: DjangoValidationError) -> list[dict]:
    """A service's ValidationError: French msgid + params, so both languages are at hand."""
    fields = error.error_dict if hasattr(error, "error_dict") else {None: error.error_list}
    entries = []
    for field, errors in fields.items():
        for item in errors:
            for inner in item.error_list if hasattr(item, "error_list") else [item]:
                french, english = bilingual(inner.message, inner.params)
                name = None if field in (None, "__all__") else field
                entries.append(entry(inner.code or "invalid", french, english, field=name))
    return entries


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every error of the API as `{"errors": [...]}` in French and English."""
    headers = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError.of(413, "too_large", MESSAGES["too_large"])
    elif isinstance(exc, DjangoValidationError):
        exc = ApiError(400, _django_validation_entries(exc))

    if isinstance(exc, ApiError):
        entries = exc.entries
    elif isinstance(exc, exceptions.ValidationError):
        # Raised by a view outside `validated()`: the one language it was rendered in.
        entries = [
            entry(code, message, message, field=field)
            for field, message, code in _detail_entries(exc.detail)
        ]
    elif isinstance(exc, exceptions.APIException):
        code = exc.default_code
        params: dict = {}
        if isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF"):
            code = "csrf"
        elif isinstance(exc, exceptions.MethodNotAllowed):
            params = {"method": context["request"].method}
        elif isinstance(exc, exceptions.Throttled):
            params = {"wait": exc.wait and int(exc.wait + 0.999)}
        message = MESSAGES.get(code)
        if message is None:
            entries = [entry(code, str(exc.detail), str(exc.detail))]
        else:
            entries = [entry(code, *bilingual(message, params))]
    else:
        return None  # a bug: Django's 500 page and the error log, never hidden

    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait + 0.999))
    status = exc.status_code
    if status == 401 and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = 'Bearer realm="tsn"'
    return Response({"errors": entries}, status=status, headers=headers)


class ErrorEntrySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Code stable de l'erreur (not_found, required…).")
    field = serializers.CharField(
        allow_null=True, help_text="Champ concerné (chemin), ou null pour la requête entière."
    )
    message_fr = serializers.CharField()
    message_en = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    errors = ErrorEntrySerializer(many=True)


# --- Input fields -------------------------------------------------------------------------


class DateTimeField(serializers.DateTimeField):
    """A date and time of care: between 1950 and 2100 (a typo such as year 0459 is refused,
    not stored and shown back with the odd offsets of old local times)."""

    EARLIEST = datetime.datetime(1950, 1, 1, tzinfo=datetime.UTC)
    LATEST = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)
    default_error_messages = {
        "out_of_range": _("Date et heure hors de la plage acceptée (de 1950 à 2100).")
    }

    def to_internal_value(self, value: object) -> datetime.datetime:
        moment = super().to_internal_value(value)
        if not self.EARLIEST <= moment < self.LATEST:
            self.fail("out_of_range")
        return moment


# --- Pagination and throttling ------------------------------------------------------------


class KeysetPagination(CursorPagination):
    """Pages by an opaque cursor on the list's order (no OFFSET, no COUNT); `limit` up to
    200 (50 by default)."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-id"


class ScopedThrottle(SimpleRateThrottle):
    """Requests per user (or token, or address) on the endpoints naming a `throttle_scope`;
    quotas in `settings.TSN_API_THROTTLE_RATES`, read when the request comes (so a
    deployment, or a test, can change them)."""

    def __init__(self) -> None:  # the rate depends on the view: set in allow_request
        pass

    def allow_request(self, request: Request, view) -> bool:
        self.scope = getattr(view, "throttle_scope", None)
        if self.scope is None:
            return True
        self.rate = settings.TSN_API_THROTTLE_RATES[self.scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view) -> str:
        if request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        elif request.auth is not None:
            ident = f"{type(request.auth).__name__}:{request.auth.pk}"
        else:
            ident = self.get_ident(request)
        return f"throttle:{self.scope}:{ident}"


# --- Language ----------------------------------------------------------------------------


class FrenchForTheApi:
    """Middleware: API requests run in French, the source language of our messages, so
    that an error's French text is its msgid and its English text comes from the
    catalogue, whatever Accept-Language says (each answer carries both)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PATHS):
            translation.activate("fr")
            request.LANGUAGE_CODE = "fr"
        return self.get_response(request)


API_PATHS = ("/api/", "/fhir/")


# --- Routes --------------------------------------------------------------------------------


def authenticated_by_the_api(patterns: list) -> list:
    """Mark API routes exempt from the login redirect of LoginRequiredMiddleware: each
    authenticates itself (token or session) and answers 401 in JSON."""
    for pattern in patterns:
        login_not_required(pattern.callback)
    return patterns
