"""The FHIR R4 read API's views: the CapabilityStatement, read by id, search (a Bundle of
keyset pages) and `Patient/{id}/$everything`, all in `application/fhir+json`, every
refusal an OperationOutcome."""

from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from pathways.fhir.capability import capability_statement
from pathways.fhir.endpoints import ENDPOINTS
from pathways.fhir.errors import FhirError, fhir_exception_handler
from pathways.fhir.everything import bundle_entry, everything, everything_bundle
from pathways.fhir.search import encode_cursor, parse_search
from professionals.authentication import IsPersonOrMachine

# What `_format` may ask for: JSON only.
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}


class FhirJsonRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "json"


class FhirNegotiation(BaseContentNegotiation):
    """FHIR JSON whatever the Accept header says (clients send application/json too);
    a `_format` other than JSON is refused (406)."""

    def select_parser(self, request: Request, parsers: list):
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list, format_suffix=None):
        # An unencoded "+" arrives as a space: "application/fhir json".
        asked = request.query_params.get("_format", "").split(";")[0].strip().replace(" ", "+")
        if asked and asked not in JSON_FORMATS:
            raise exceptions.NotAcceptable()
        return renderers[0], renderers[0].media_type


class FhirView(APIView):
    """What every FHIR view shares: JSON rendering, OperationOutcome errors, and people
    or organisations' machines as clients."""

    renderer_classes = [FhirJsonRenderer]
    parser_classes: list = []
    content_negotiation_class = FhirNegotiation
    permission_classes = [IsPersonOrMachine]
    metadata_class = None  # OPTIONS: 405 (the CapabilityStatement says what is served)
    schema = None  # not in the REST API's OpenAPI schema: /fhir/metadata describes it

    def get_exception_handler(self):
        return fhir_exception_handler


def _base_url(request: HttpRequest) -> str:
    """The FHIR base, e.g. https://tsn.example/fhir/."""
    return request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")


class Metadata(FhirView):
    """GET /fhir/metadata: public, it describes the interface, never data."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request: Request) -> Response:
        return Response(capability_statement(_base_url(request)))


class Read(FhirView):
    """GET /fhir/{type}/{id}."""

    def get(self, request: Request, resource_type: str, resource_id: str) -> Response:
        return Response(ENDPOINTS[resource_type].read(request, resource_id))


class Search(FhirView):
    """GET /fhir/{type}?params: a searchset Bundle, one keyset page of it."""

    throttle_scope = "search"

    def get(self, request: Request, resource_type: str) -> Response:
        endpoint = ENDPOINTS[resource_type]
        strict = "handling=strict" in request.headers.get("Prefer", "").replace(" ", "")
        search = parse_search(
            request.query_params,
            endpoint.params,
            strict=strict,
            cursor_length=endpoint.cursor_length,
        )
        found, next_key = endpoint.search(request, search)
        base = _base_url(request)
        query = [*search.applied, ("_count", str(search.count))]
        links = [{"relation": "self", "url": f"{base}{resource_type}?{urlencode(query)}"}]
        if search.cursor is not None:
            links[0]["url"] += "&" + urlencode({"_cursor": encode_cursor(search.cursor)})
        if next_key is not None:
            after = urlencode([*query, ("_cursor", encode_cursor(next_key))])
            links.append({"relation": "next", "url": f"{base}{resource_type}?{after}"})
        return Response(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "link": links,
                "entry": [bundle_entry(base, resource) for resource in found],
            }
        )


class Everything(FhirView):
    """GET /fhir/Patient/{id}/$everything: the whole record in one Bundle (an export)."""

    throttle_scope = "export"

    def get(self, request: Request, pk: str) -> Response:
        return Response(everything_bundle(_base_url(request), everything(request, int(pk))))


class Unknown(FhirView):
    """Any other address under /fhir/: an unknown resource type or a malformed id."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request: Request, path: str) -> Response:
        raise FhirError(
            404,
            "not-found",
            _("Adresse FHIR inconnue : type de ressource non servi, ou identifiant invalide."),
            f"Unknown FHIR address '{path}': not a resource type served here, or a bad id.",
        )
