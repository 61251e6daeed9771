"""Session lifetimes: a session ends after `TSN_SESSION_IDLE_SECONDS` without a request
(30 minutes) and in any case `TSN_SESSION_MAX_SECONDS` after the login (12 hours).

Django gives the session a new key at login; allauth's user sessions list every session of
an account (page « Sessions ») so that its owner can end the others; disabling an account
ends all of its sessions.
"""

import time

from allauth.usersessions.adapter import get_adapter as usersessions_adapter
from allauth.usersessions.models import UserSession
from allauth.usersessions.views import ListUserSessionsView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tsn.models import User

STARTED = "tsn_started"
SEEN = "tsn_seen"
# Activity is written down at most once a minute, not at every request.
SEEN_RESOLUTION_SECONDS = 60

IDLE = _("Votre session a expiré après %(minutes)s minutes sans activité : reconnectez-vous.")
TOO_LONG = _("Votre session a atteint sa durée maximale de %(hours)s heures : reconnectez-vous.")


@receiver(user_logged_in)
def _start_the_clocks(sender, request: HttpRequest, user: User, **kwargs) -> None:
    now = int(time.time())
    request.session[STARTED] = now
    request.session[SEEN] = now


@receiver(post_save, sender=User)
def _end_the_sessions_of_a_disabled_account(
    sender, instance: User, created: bool, **kwargs
) -> None:
    if not created and not instance.is_active:
        usersessions_adapter().end_sessions(UserSession.objects.filter(user_id=instance.pk))


def expiry_message(request: HttpRequest, now: int):
    """Why the session of `request` is over, or None while it lasts."""
    started = request.session.setdefault(STARTED, now)
    seen = request.session.get(SEEN, now)
    if now - started > settings.TSN_SESSION_MAX_SECONDS:
        return TOO_LONG % {"hours": settings.TSN_SESSION_MAX_SECONDS // 3600}
    if now - seen > settings.TSN_SESSION_IDLE_SECONDS:
        return IDLE % {"minutes": settings.TSN_SESSION_IDLE_SECONDS // 60}
    return None


class SessionTimeouts:
    """Middleware: logs out a session past its idle or absolute limit; otherwise notes the
    activity. The request then goes on anonymous (a page redirects to the login, an API
    answers 401)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            message = expiry_message(request, now)
            if message is not None:
                logout(request)
                messages.info(request, message)
                if request.htmx:
                    return HttpResponse(headers={"HX-Redirect": reverse("account_login")})
            elif now - request.session.get(SEEN, 0) >= SEEN_RESOLUTION_SECONDS:
                request.session[SEEN] = now
                UserSession.objects.filter(session_key=request.session.session_key).update(
                    last_seen_at=timezone.now()
                )
        return self.get_response(request)


class SessionList(ListUserSessionsView):
    """allauth's page of the account's sessions, which also states their limits."""

    def get_context_data(self, **kwargs) -> dict:
        return super().get_context_data(
            idle_minutes=settings.TSN_SESSION_IDLE_SECONDS // 60,
            max_hours=settings.TSN_SESSION_MAX_SECONDS // 3600,
            **kwargs,
        )
