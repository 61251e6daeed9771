"""The OpenAPI schema's shared parts: the error answers of every operation."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from tsn.rest import ErrorSerializer


class ApiSchema(AutoSchema):
    """Documents the error answers every operation may give, in one place: 401, 403 and
    404 unless public, 400 when it takes input, 415 with a body, 429 on a throttled
    endpoint; an operation may add its own with @extend_schema."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = []
        if self.method in ("POST", "PUT", "PATCH") or self._has_query_filters():
            codes.append("400")
        if not getattr(self.view, "public", False):
            # 404 also on lists: a filter may name a record one may not know exists.
            codes += ["401", "403", "404"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("415")
        if getattr(self.view, "throttle_scope", None):
            codes.append("429")
        for code in codes:
            responses.setdefault(code, self._get_response_for_code(ErrorSerializer, code))
        return responses

    def _has_query_filters(self) -> bool:
        return bool(getattr(self.view, "query_serializer", None)) or self._is_list_view()


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tsn.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "Personal API token (tsnp_…): the software acts as its user. Created on the "
                "page Jetons d'API, or with manage.py issue_api_token EMAIL."
            ),
        }


class OrganizationTokenScheme(OpenApiAuthenticationExtension):
    target_class = "professionals.authentication.OrganizationTokenAuthentication"
    name = "organizationToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "Organisation token (tsno_…) for machines: the patients with a current "
                "care-team member practising in the organisation. Issued in the admin."
            ),
        }
