"""Multi-factor authentication for the territory's staff.

When `TSN_REQUIRE_MFA` is on (the default outside the demo), every account but the
patients' must have a second factor (an authenticator application or a security key): one
without is sent to the enrolment page on every request until it has one, and cannot remove
its last one. A login through Pro Santé Connect is strong by itself (the e-CPS card or app).
allauth asks the second factor at login for every account that has one.
"""

import base64
import hashlib
from urllib.parse import urlsplit

from allauth.account.authentication import get_authentication_records
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext_lazy as _

from tsn.models import User
from tsn.rest import API_PATHS, bilingual, entry

# The factors that count: recovery codes only stand in for them.
SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
# The session remembers that its user has one, so that the check costs no query.
ENROLLED_SESSION_KEY = "tsn_mfa_enrolled"
# What an account without a second factor may still reach: enrolment, and leaving.
ENROLMENT_URL_NAMES = {
    "mfa_index",
    "mfa_activate_totp",
    "mfa_add_webauthn",
    "mfa_reauthenticate",
    "mfa_reauthenticate_webauthn",
    "mfa_generate_recovery_codes",
    "mfa_view_recovery_codes",
    "mfa_download_recovery_codes",
    "account_logout",
    "account_reauthenticate",
    "set_language",
    "healthz",
}
ENROL = _(
    "Votre compte doit être protégé par une double authentification : activez une "
    "application d'authentification (TOTP) ou une clé de sécurité pour continuer."
)
API_ENROL = _(
    "Ce compte doit d'abord activer la double authentification (page « Double "
    "authentification » de son compte)."
)


def requires_mfa(user: User) -> bool:
    return settings.TSN_REQUIRE_MFA and user.role != User.Role.PATIENT


def has_second_factor(user: User) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTORS).exists()


def logged_in_through_pro_sante_connect(request: HttpRequest) -> bool:
    return any(
        record.get("method") == "socialaccount" and record.get("provider") == "psc"
        for record in get_authentication_records(request, request.user)
    )


def is_protected(request: HttpRequest) -> bool:
    """Whether the signed-in user of `request` satisfies the requirement (one query at most
    per session, until they have a second factor)."""
    if request.session.get(ENROLLED_SESSION_KEY):
        return True
    if has_second_factor(request.user) or logged_in_through_pro_sante_connect(request):
        request.session[ENROLLED_SESSION_KEY] = True
        return True
    return False


class RequireMfa:
    """Middleware: sends an account that needs a second factor and has none to enrolment."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = request.user
        if (
            not user.is_authenticated
            or not requires_mfa(user)
            or request.resolver_match.url_name in ENROLMENT_URL_NAMES
            or is_protected(request)
        ):
            return None
        if request.path.startswith(API_PATHS):
            french, english = bilingual(API_ENROL)
            return JsonResponse({"errors": [entry("mfa_required", french, english)]}, status=403)
        enrolment = reverse("mfa_index")
        if request.htmx:
            if _on_enrolment_page(request):
                # A fragment of the enrolment page itself (the bell's count): nothing to
                # show; sending that page to enrolment would reload it without end.
                return HttpResponse(status=204)
            return HttpResponse(headers={"HX-Redirect": enrolment})
        messages.warning(request, ENROL)
        return HttpResponseRedirect(enrolment)


def _on_enrolment_page(request: HttpRequest) -> bool:
    """Whether an htmx request comes from one of the pages still reachable without a
    second factor (its HX-Current-URL)."""
    path = urlsplit(request.htmx.current_url_abs_path or "").path
    try:
        return resolve(path).url_name in ENROLMENT_URL_NAMES
    except Resolver404:
        return False


def _fernet_key(secret_key: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(f"tsn.mfa:{secret_key}".encode()).digest())


class MfaAdapter(DefaultMFAAdapter):
    """The TOTP keys are stored encrypted with a key derived from SECRET_KEY (those derived
    from SECRET_KEY_FALLBACKS still decrypt, so that the secret key can be rotated)."""

    def _cipher(self) -> MultiFernet:
        keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        return MultiFernet([Fernet(_fernet_key(key)) for key in keys])

    def encrypt(self, text: str) -> str:
        return self._cipher().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return self._cipher().decrypt(encrypted_text.encode()).decode()

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """The last second factor of an account that needs one stays."""
        if authenticator.type not in SECOND_FACTORS or not requires_mfa(authenticator.user):
            return True
        return (
            Authenticator.objects.filter(user_id=authenticator.user_id, type__in=SECOND_FACTORS)
            .exclude(pk=authenticator.pk)
            .exists()
        )
