"""The professional's appointments as a calendar feed: the settings page (their secret
address, renewed at will) and the public feed itself (iCalendar)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from pathways.models import CalendarFeed
from pathways.services.calendar import (
    calendar_ics,
    delete_calendar_feed,
    feed_for_token,
    renew_calendar_feed,
)
from professionals.models import Professional


class FeedActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("renew", "renew"), ("delete", "delete")],
        error_messages={
            "required": _("Choisissez une action."),
            "invalid_choice": _("Cette action n'existe pas."),
        },
    )


def _professional(request: HttpRequest) -> Professional:
    professional = getattr(request.user, "professional", None)
    if not request.user.is_clinical or professional is None:
        raise Http404
    return professional


def calendar_settings(request: HttpRequest) -> HttpResponse:
    """The user's secret feed address and how to subscribe; create, renew or delete it."""
    professional = _professional(request)
    if request.method == "POST":
        form = FeedActionForm(request.POST)
        if form.is_valid():
            if form.cleaned_data["action"] == "renew":
                renew_calendar_feed(professional=professional)
                messages.success(
                    request,
                    gettext(
                        "Nouvelle adresse créée : l'ancienne ne fonctionne plus. "
                        "Abonnez votre agenda à la nouvelle."
                    ),
                )
            else:
                delete_calendar_feed(professional=professional)
                messages.success(request, gettext("Votre agenda n'est plus publié."))
            return redirect("pathways:calendar_settings")
        status = 400
    else:
        form, status = None, 200
    feed = CalendarFeed.objects.filter(professional=professional).first()
    feed_url = (
        request.build_absolute_uri(reverse("pathways:calendar_feed", args=[feed.token]))
        if feed
        else ""
    )
    return render(
        request,
        "pathways/calendar_settings.html",
        {"feed": feed, "feed_url": feed_url, "form": form},
        status=status,
    )


@login_not_required
@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The appointments of the professional whose secret address this is (no login: calendar
    applications cannot sign in; the address is the secret)."""
    feed = feed_for_token(token)
    if feed is None:
        raise Http404
    content = calendar_ics(
        feed=feed,
        record_url=lambda patient_id: request.build_absolute_uri(
            reverse("patients:detail", args=[patient_id])
        ),
    )
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="tsn.ics"'
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
