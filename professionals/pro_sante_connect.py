"""Pro Santé Connect (PSC), the national OpenID Connect of health professionals (e-CPS app
or CPS card), as a way into an existing account.

A professional is recognised by the RPPS number PSC vouches for (its `SubjectNameID` is the
IDNPS: "8" followed by the RPPS), never by the e-mail address it sends, and no account is
ever created here: accounts are opened by the territory's administrators (tsn/accounts.py).
Settings: the "Pro Santé Connect" section of tsn/settings.py.
"""

import functools
import logging
import re
from enum import StrEnum
from typing import NoReturn

import requests
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from allauth.socialaccount.providers.openid_connect import views as openid_connect_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from professionals.models import Professional
from tsn.models import User

PROVIDER_ID = "psc"
# The IDNPS of a professional registered in the RPPS: the RPPS number prefixed with "8"
# (other prefixes: ADELI, students, staff of establishments... who have no RPPS).
_RPPS_IDNPS = re.compile(r"^8(\d{11})$")

logger = logging.getLogger(__name__)


class Refusal(StrEnum):
    """Why a PSC login is refused (logged, and chooses the message shown)."""

    NOT_AN_RPPS_IDENTIFIER = "not_an_rpps_identifier"
    UNKNOWN_RPPS = "unknown_rpps"
    NO_ACCOUNT = "no_account"
    INACTIVE_ACCOUNT = "inactive_account"
    LINKED_TO_ANOTHER_ACCOUNT = "linked_to_another_account"
    WEAK_AUTHENTICATION = "weak_authentication"


def rpps_from_idnps(idnps: object) -> str | None:
    """The RPPS number inside a PSC `SubjectNameID`, None if it is not an RPPS one."""
    if not isinstance(idnps, str):
        return None
    match = _RPPS_IDNPS.match(idnps)
    return match.group(1) if match else None


def _claims(sociallogin: SocialLogin) -> tuple[dict, dict]:
    """(userinfo, ID token claims) of the login, as allauth's OpenID Connect provider keeps them."""
    data = sociallogin.account.extra_data or {}
    return data.get("userinfo") or {}, data.get("id_token") or {}


def _account_for(rpps: str) -> User | Refusal:
    """The active account of the professional with this RPPS, or why there is none."""
    professional = Professional.objects.filter(rpps=rpps).select_related("user").first()
    if professional is None:
        return Refusal.UNKNOWN_RPPS
    if professional.user is None:
        return Refusal.NO_ACCOUNT
    if not professional.user.is_active:
        return Refusal.INACTIVE_ACCOUNT
    return professional.user


def _refuse(request: HttpRequest, reason: Refusal, rpps: str | None = None) -> NoReturn:
    # No name, no e-mail, no identifier: the reason is enough to answer the professional,
    # who is shown their own RPPS number to give to the administrators.
    logger.warning("Pro Santé Connect login refused: %s", reason)
    raise ImmediateHttpResponse(
        render(
            request,
            "professionals/pro_sante_connect_refused.html",
            {
                "rpps": rpps,
                "weak_authentication": reason == Refusal.WEAK_AUTHENTICATION,
                "linked_elsewhere": reason == Refusal.LINKED_TO_ANOTHER_ACCOUNT,
            },
            status=403,
        )
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Social logins sign in existing accounts only: PSC ones matched by RPPS."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False

    def can_authenticate_by_email(self, login: SocialLogin, email: str) -> bool:
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Point a PSC login at the account of the professional with its RPPS number, or
        refuse it. Checked at every login: an account deactivated, or a professional whose
        account changed, since the first connection does not get in through the old link."""
        if sociallogin.account.provider != PROVIDER_ID:
            return
        userinfo, id_token = _claims(sociallogin)
        required_level = sociallogin.provider.app.settings.get("auth_params", {}).get("acr_values")
        # The level asked for travels through the browser: check the one PSC vouches for.
        if required_level and id_token.get("acr") != required_level:
            _refuse(request, Refusal.WEAK_AUTHENTICATION)
        rpps = rpps_from_idnps(userinfo.get("SubjectNameID") or id_token.get("SubjectNameID"))
        if rpps is None:
            _refuse(request, Refusal.NOT_AN_RPPS_IDENTIFIER)
        user = _account_for(rpps)
        if isinstance(user, Refusal):
            _refuse(request, user, rpps)
        if sociallogin.is_existing:
            if sociallogin.user.pk != user.pk:
                _refuse(request, Refusal.LINKED_TO_ANOTHER_ACCOUNT, rpps)
            return
        if sociallogin.state.get("process") == AuthProcess.CONNECT:
            # Connecting PSC from one's account page: only to the account of that RPPS
            # (allauth then connects it to the signed-in user).
            if request.user.pk != user.pk:
                _refuse(request, Refusal.LINKED_TO_ANOTHER_ACCOUNT, rpps)
            return
        # First PSC login of this professional: link it to their account, then allauth
        # signs them in as an existing user.
        sociallogin.connect(request, user)

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        logger.warning(
            "Social login failed (%s): %s %s",
            getattr(provider, "sub_id", provider),
            error,
            type(exception).__name__ if exception else "",
        )


def _provider_outage_shown(view):
    """allauth's OpenID Connect views read the provider's discovery document before their own
    error handling: a provider out of reach would be a server error. Show it as a failed
    login instead."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, provider_id: str) -> HttpResponse:
        try:
            return view(request, provider_id=provider_id)
        except requests.RequestException as error:
            provider = get_social_adapter(request).get_provider(request, provider_id)
            return render_authentication_error(request, provider, exception=error)

    return wrapped


login = _provider_outage_shown(openid_connect_views.login)
callback = _provider_outage_shown(openid_connect_views.callback)
