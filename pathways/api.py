"""POST /api/observations/: remote-monitoring measurements sent by an organisation's
machine (`Authorization: Bearer <key>`) or by a professional's browser session.

The body is one measurement or a list of them (at most `MAX_ITEMS`):
`{"patient": <id>, "kind": "weight", "value": 72.4, "unit": "kg",
"measured_at": "2026-03-01T08:30:00+01:00", "device": "..."}`. Either every item is valid
and stored, or none is: a 400 lists each item's errors, in French and in English. A
patient one may not send data about, and a patient that does not exist, get the same
404. Token requests are exempt from CSRF (no cookie is involved); session requests are
checked as any form post. Whatever the input, the answer is JSON, never a 500.
"""

import datetime
import json
from decimal import Decimal

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from pathways.services.monitoring import receive_observations
from patients.access import (
    PatientsNotFound,
    PatientsReadOnly,
    get_patients_for_token,
    get_patients_for_writing,
)
from patients.services import InvalidObservations, ObservationInput, validate_observation
from professionals.models import OrganizationToken

MAX_ITEMS = 500
# A PostgreSQL bigint: a larger id cannot exist (and must not reach the database).
MAX_ID = 2**63 - 1
FIELDS = ("patient", "kind", "value", "unit", "measured_at", "device")

# The French message of each error (a gettext string, French being the source language)
# and its English twin, with the same %(name)s parameters. The service's own errors
# (kind, unit, value, measured_at, device) bring their French message; their English
# one is here.
ENGLISH = {
    "unknown_kind": "Field 'kind': unknown measurement '%(kind)s' (accepted: %(kinds)s).",
    "unit_not_accepted": (
        "Field 'unit': unit '%(unit)s' is not accepted for '%(kind)s'"
        " (accepted UCUM units: %(units)s)."
    ),
    "out_of_range": (
        "Field 'value': outside the plausible range for '%(kind)s' (%(low)s to %(high)s %(unit)s)."
    ),
    "naive_datetime": (
        "Field 'measured_at': the time zone offset is missing (e.g. 2026-03-01T08:30:00+01:00)."
    ),
    "future": "Field 'measured_at': the measurement time is in the future.",
    "too_old": "Field 'measured_at': the measurement time is before the year 2000.",
    "too_long": "Field 'device': at most %(max)s characters.",
    "required": "Field '%(field)s': required.",
    "not_patient_id": "Field 'patient': a patient id (a positive integer) is expected.",
    "not_number": "Field '%(field)s': a number is expected.",
    "not_string": "Field '%(field)s': a string is expected.",
    "not_datetime": (
        "Field 'measured_at': an ISO 8601 date and time is expected"
        " (e.g. 2026-03-01T08:30:00+01:00)."
    ),
    "not_object": "Each measurement must be a JSON object.",
    "malformed_json": "The request body is not valid JSON.",
    "not_a_batch": "The body must be a measurement (a JSON object) or a list of them.",
    "empty": "No measurement was sent.",
    "too_many": "At most %(max)s measurements per request.",
    "too_large": "The request body is too large.",
    "unsupported_media_type": "The request body must be JSON (Content-Type: application/json).",
    "method_not_allowed": "Only POST is allowed.",
    "not_authenticated": (
        "Authentication required: an organisation token (Authorization: Bearer) or a session."
    ),
    "invalid_token": "Invalid or revoked token.",
    "csrf": "CSRF check failed: send the CSRF token with a session request.",
    "not_found": "Field 'patient': patient not found.",
    "read_only": "Field 'patient': you may not add data to this patient's record.",
}
FRENCH = {
    "required": _("Champ « %(field)s » : obligatoire."),
    "not_patient_id": _(
        "Champ « patient » : un identifiant de patient (nombre entier positif) est attendu."
    ),
    "not_number": _("Champ « %(field)s » : un nombre est attendu."),
    "not_string": _("Champ « %(field)s » : une chaîne de caractères est attendue."),
    "not_datetime": _(
        "Champ « measured_at » : une date et heure ISO 8601 est attendue "
        "(par exemple 2026-03-01T08:30:00+01:00)."
    ),
    "not_object": _("Chaque mesure est un objet JSON."),
    "malformed_json": _("Le corps de la requête n'est pas un JSON valide."),
    "not_a_batch": _("Le corps de la requête est une mesure (objet JSON) ou une liste de mesures."),
    "empty": _("Aucune mesure n'a été envoyée."),
    "too_many": _("Au plus %(max)s mesures par envoi."),
    "too_large": _("Le corps de la requête est trop volumineux."),
    "unsupported_media_type": _(
        "Le corps de la requête doit être en JSON (Content-Type: application/json)."
    ),
    "method_not_allowed": _("Seule la méthode POST est acceptée."),
    "not_authenticated": _(
        "Authentification requise : jeton d'organisation (Authorization: Bearer) ou session."
    ),
    "invalid_token": _("Jeton invalide ou révoqué."),
    "csrf": _("Vérification CSRF échouée : joignez le jeton CSRF à une requête de session."),
    "not_found": _("Champ « patient » : patient introuvable."),
    "read_only": _(
        "Champ « patient » : vous ne pouvez pas ajouter de données au dossier de ce patient."
    ),
}


def _error(code: str, **params: object) -> ValidationError:
    return ValidationError(FRENCH[code], code=code, params=params)


def _entry(index: int | None, field: str | None, error: ValidationError) -> dict:
    params = error.params or {}
    with translation.override("fr"):
        french = str(error.message) % params if params else str(error.message)
    return {
        "index": index,
        "field": field,
        "message_fr": french,
        "message_en": ENGLISH[error.code] % params if params else ENGLISH[error.code],
    }


def _errors(status: int, entries: list[dict], **headers: str) -> JsonResponse:
    response = JsonResponse({"errors": entries}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _fail(status: int, code: str, **params: object) -> JsonResponse:
    extra = {"WWW-Authenticate": 'Bearer realm="tsn"'} if status == 401 else {}
    return _errors(status, [_entry(None, None, _error(code, **params))], **extra)


class _CsrfCheck(CsrfViewMiddleware):
    """The CSRF middleware's check, on demand: tells the reason instead of rendering a page."""

    def _reject(self, request: HttpRequest, reason: str) -> str:
        return reason


def _csrf_fails(request: HttpRequest) -> bool:
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    return check.process_view(request, None, (), {}) is not None


def _reject_constant(name: str) -> None:
    raise ValueError(f"not a JSON number: {name}")


def _parse_item(item: object) -> tuple[ObservationInput | None, dict[str, ValidationError]]:
    """An item's input shape (types and presence), before the service checks its values."""
    if not isinstance(item, dict):
        return None, {"": _error("not_object")}
    errors: dict[str, ValidationError] = {}
    for field in FIELDS[:-1]:
        if item.get(field) is None:
            errors[field] = _error("required", field=field)
    patient = item.get("patient")
    if "patient" not in errors and (
        isinstance(patient, bool) or not isinstance(patient, int) or not 0 < patient <= MAX_ID
    ):
        errors["patient"] = _error("not_patient_id")
    value = item.get("value")
    if "value" not in errors and (isinstance(value, bool) or not isinstance(value, int | Decimal)):
        errors["value"] = _error("not_number", field="value")
    for field in ("kind", "unit", "measured_at", "device"):
        if field not in errors and field in item and not isinstance(item[field], str | None):
            errors[field] = _error("not_string", field=field)
    measured_at = None
    if "measured_at" not in errors:
        try:
            measured_at = datetime.datetime.fromisoformat(item["measured_at"])
        except ValueError:
            errors["measured_at"] = _error("not_datetime")
    if errors:
        return None, errors
    return (
        ObservationInput(
            patient_id=patient,
            kind=item["kind"],
            value=Decimal(value),
            unit=item["unit"],
            measured_at=measured_at,
            device=(item.get("device") or "").strip(),
        ),
        {},
    )


def _authenticate(request: HttpRequest) -> tuple[OrganizationToken | None, JsonResponse | None]:
    """The organisation's token, or None for a session; or the response refusing both."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _space, key = header.partition(" ")
        token = (
            OrganizationToken.authenticate(key.strip())
            if scheme.lower() == "bearer" and key.strip()
            else None
        )
        if token is None:
            return None, _fail(401, "invalid_token")
        return token, None
    if not request.user.is_authenticated:
        return None, _fail(401, "not_authenticated")
    if _csrf_fails(request):
        return None, _fail(403, "csrf")
    return None, None


# Machines have no session (login_not_required) nor CSRF cookie (csrf_exempt); a session
# request is checked for CSRF by _authenticate.
@csrf_exempt
@login_not_required
def observations(request: HttpRequest) -> JsonResponse:
    """Receive measurements; 201 with each one's id and whether it crossed a threshold."""
    if request.method != "POST":
        response = _fail(405, "method_not_allowed")
        response["Allow"] = "POST"
        return response
    token, refusal = _authenticate(request)
    if refusal is not None:
        return refusal
    if request.content_type != "application/json":
        return _fail(415, "unsupported_media_type")
    try:
        body = json.loads(request.body, parse_float=Decimal, parse_constant=_reject_constant)
    except RequestDataTooBig:
        return _fail(413, "too_large")
    except (ValueError, RecursionError):
        return _fail(400, "malformed_json")
    items = [body] if isinstance(body, dict) else body
    if not isinstance(items, list):
        return _fail(400, "not_a_batch")
    if not items:
        return _fail(400, "empty")
    if len(items) > MAX_ITEMS:
        return _fail(400, "too_many", max=MAX_ITEMS)

    # Every item's errors at once: first its shape, then its values (the service's checks).
    parsed: list[ObservationInput] = []
    entries = []
    with translation.override("fr"):
        now = timezone.now()
        for index, item in enumerate(items):
            observation, shape_errors = _parse_item(item)
            if observation is not None:
                try:
                    validate_observation(observation, now=now)
                except ValidationError as error:
                    shape_errors = {field: found[0] for field, found in error.error_dict.items()}
                else:
                    parsed.append(observation)
            entries += [
                _entry(index, field or None, error) for field, error in shape_errors.items()
            ]
    if entries:
        return _errors(400, entries)

    patient_ids = {item.patient_id for item in parsed}
    try:
        if token is not None:
            get_patients_for_token(request, token, patient_ids, object_type="observation")
        else:
            get_patients_for_writing(request, patient_ids, object_type="observation")
    except PatientsNotFound as refused:
        return _refuse(404, "not_found", parsed, refused.pks)
    except PatientsReadOnly as refused:
        return _refuse(403, "read_only", parsed, refused.pks)

    try:
        with translation.override("fr"):
            received = receive_observations(request=request, observations=parsed, token=token)
    except InvalidObservations as invalid:
        return _errors(
            400,
            [
                _entry(index, field, found[0])
                for index, fields in sorted(invalid.by_index.items())
                for field, found in fields.items()
            ],
        )
    return JsonResponse(
        {
            "ids": [observation.pk for observation, _crossed in received],
            "items": [
                {"index": index, "id": observation.pk, "threshold_crossed": crossed}
                for index, (observation, crossed) in enumerate(received)
            ],
        },
        status=201,
    )


def _refuse(status: int, code: str, parsed: list[ObservationInput], pks: list[int]) -> JsonResponse:
    """The items about the refused patients; the same answer whether a patient does not
    exist or may not be reached."""
    refused = set(pks)
    return _errors(
        status,
        [
            _entry(index, "patient", _error(code))
            for index, item in enumerate(parsed)
            if item.patient_id in refused
        ],
    )
