"""Organisation tokens on the REST and FHIR APIs: a machine (a hospital's interface
engine, a monitoring platform) has no account; its token is `request.auth` and its user
is anonymous, so it reaches only the endpoints that say they accept machines, and only
the patients `patients.access` grants its organisation."""

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from professionals.models import OrganizationToken
from tsn.authentication import IsPerson, bearer_key


class OrganizationTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer tsno_…`: an organisation's machine."""

    def authenticate(self, request: Request):
        key = bearer_key(request)
        if key is None or not key.startswith(OrganizationToken.PREFIX):
            return None
        token = OrganizationToken.authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed()
        return AnonymousUser(), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="tsn"'


def machine_token(request: Request) -> OrganizationToken | None:
    """The organisation token the request was authenticated with, if any."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, OrganizationToken) else None


class IsPersonOrMachine(IsPerson):
    """A person, or an organisation's machine (the endpoints that accept machines)."""

    def has_permission(self, request: Request, view) -> bool:
        return machine_token(request) is not None or super().has_permission(request, view)
