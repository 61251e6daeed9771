"""POST /api/observations/: remote-monitoring measurements sent by an organisation's
machine (`Authorization: Bearer tsno_…`), a professional's software (personal token) or
browser session.

The body is one measurement or a list of them (at most `MAX_ITEMS`):
`{"patient": <id>, "kind": "weight", "value": 72.4, "unit": "kg",
"measured_at": "2026-03-01T08:30:00+01:00", "device": "..."}`. Either every item is valid
and stored, or none is: a 400 lists each item's errors, in French and in English. A
patient one may not send data about, and a patient that does not exist, get the same
404. Session requests are checked for CSRF (DRF's SessionAuthentication). Whatever the
input, the answer is JSON, never a 500. Each error carries `index` (the item) besides the
API's usual `code`, `field`, `message_fr`, `message_en` (tsn/rest.py).
"""

import datetime
import json
from decimal import Decimal

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from pathways.services.monitoring import receive_observations
from patients.access import (
    PatientsNotFound,
    PatientsReadOnly,
    get_patients_for_token,
    get_patients_for_writing,
)
from patients.models import Observation
from patients.services import InvalidObservations, ObservationInput, validate_observation
from professionals.authentication import IsPersonOrMachine, machine_token
from tsn.rest import ErrorSerializer, bilingual, entry

MAX_ITEMS = 500
# A PostgreSQL bigint: a larger id cannot exist (and must not reach the database).
MAX_ID = 2**63 - 1
FIELDS = ("patient", "kind", "value", "unit", "measured_at", "device")

# The message of each error of the request's shape, in French (the source language; the
# English comes from the catalogue). The service's own errors (kind, unit, value,
# measured_at, device) bring theirs.
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
    "not_found": _("Champ « patient » : patient introuvable."),
    "read_only": _(
        "Champ « patient » : vous ne pouvez pas ajouter de données au dossier de ce patient."
    ),
}


def _error(code: str, **params: object) -> ValidationError:
    return ValidationError(FRENCH[code], code=code, params=params)


def _entry(index: int | None, field: str | None, error: ValidationError) -> dict:
    return {"index": index} | entry(
        error.code, *bilingual(error.message, error.params), field=field
    )


def _errors(status: int, entries: list[dict]) -> Response:
    return Response({"errors": entries}, status=status)


def _fail(status: int, code: str, **params: object) -> Response:
    return _errors(status, [_entry(None, None, _error(code, **params))])


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


class ObservationItemSerializer(serializers.Serializer):
    """One measurement (the documentation of the body; the view reads it itself, to keep
    exact decimals and to report every item's errors at once)."""

    patient = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=Observation.Kind.choices)
    value = serializers.DecimalField(max_digits=12, decimal_places=3)
    unit = serializers.CharField(help_text="UCUM : kg, g, [lb_av], mm[Hg], /min, %, mmol/L…")
    measured_at = serializers.DateTimeField(help_text="Avec son fuseau horaire.")
    device = serializers.CharField(required=False, allow_blank=True, max_length=100)


class ReceivedItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    id = serializers.IntegerField()
    threshold_crossed = serializers.BooleanField()


class ReceivedSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField())
    items = ReceivedItemSerializer(many=True)


class JsonBody(BaseParser):
    """The body is read by the view (exact decimals, every error at once): accept JSON,
    refuse anything else with 415."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> None:
        return None


# Machines have no session: the API authenticates the request (token or session), so the
# login redirect does not apply.
@login_not_required
@extend_schema(
    tags=["monitoring"],
    request=PolymorphicProxySerializer(
        component_name="ObservationBatch",
        serializers=[ObservationItemSerializer, ObservationItemSerializer(many=True)],
        resource_type_field_name=None,
        many=False,
    ),
    responses={201: ReceivedSerializer, 413: ErrorSerializer},
)
@api_view(["POST"])
@permission_classes([IsPersonOrMachine])
@parser_classes([JsonBody])
def observations(request: Request) -> Response:
    """Receive measurements (one, or a list of up to 500); 201 with each one's id and
    whether it crossed a threshold of the patient's pathways. All are stored or none."""
    token = machine_token(request)
    if request.content_type.split(";")[0].strip() != "application/json":
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
        entries += [_entry(index, field or None, error) for field, error in shape_errors.items()]
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
    return Response(
        {
            "ids": [observation.pk for observation, _crossed in received],
            "items": [
                {"index": index, "id": observation.pk, "threshold_crossed": crossed}
                for index, (observation, crossed) in enumerate(received)
            ],
        },
        status=201,
    )


def _refuse(status: int, code: str, parsed: list[ObservationInput], pks: list[int]) -> Response:
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
