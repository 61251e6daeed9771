"""Who calls the API: a person with a personal token or a browser session (DRF's
SessionAuthentication), or an organisation's machine (professionals/authentication.py).
Kept apart from tsn/rest.py: DRF imports these classes while it loads its own views."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tsn.models import ApiToken


def bearer_key(request: Request) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, or None without one."""
    scheme, _space, key = get_authorization_header(request).decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip()


class PersonalTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer tsnp_…`: the software acts as the token's user."""

    def authenticate(self, request: Request):
        key = bearer_key(request)
        if key is None or not key.startswith(ApiToken.PREFIX):
            return None
        token = ApiToken.authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed()
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="tsn"'


class IsPerson(BasePermission):
    """A signed-in, active person (session or personal token): the default."""

    def has_permission(self, request: Request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_active)


class IsClinical(IsPerson):
    """Coordinators and professionals: the roles that work on nominative records."""

    def has_permission(self, request: Request, view) -> bool:
        return super().has_permission(request, view) and request.user.is_clinical
