"""A user's notifications: the badge, the list, their preferences; and, for
administrators, the e-mails that could not be sent."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from pathways.models import Alert, Notification, NotificationPreference
from pathways.services.notification import (
    inbox,
    retry_failed_notifications,
    save_notification_preference,
    unread_count,
)
from tsn.audit import record_access
from tsn.keyset import cursor_after, parse_cursor
from tsn.models import AuditEvent, User
from tsn.widgets import DateInput

PAGE_SIZE = 30


def _clinical(request: HttpRequest) -> None:
    """Alerts go to coordinators and professionals; other accounts have no such page."""
    if not request.user.is_clinical:
        raise Http404


@login_not_required
def notification_badge(request: HttpRequest) -> HttpResponse:
    """The unread count in the navigation bar, polled by htmx (no patient data in it).
    Once the session has ended, "nothing new" (204, which htmx does not swap) rather than
    the sign-in redirect, whose page would land inside the badge."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    _clinical(request)
    return render(
        request, "pathways/notification_badge.html", {"unread": unread_count(request.user)}
    )


def notifications(request: HttpRequest) -> HttpResponse:
    """The user's in-app notifications, newest first; those shown become read."""
    _clinical(request)
    items, more = inbox(request.user, parse_cursor(request.GET.get("before")), PAGE_SIZE)
    if items:
        record_access(
            request=request,
            action=AuditEvent.Action.READ,
            object_type="patient_list",
            patient_id=None,
            object_id=str(len(items)),
        )
    unread = [item.pk for item in items if item.read_at is None]
    Notification.objects.filter(pk__in=unread).update(read_at=timezone.now())
    last = items[-1] if items else None
    return render(
        request,
        "pathways/notifications.html",
        {
            "items": items,
            "unread": set(unread),
            "next_cursor": cursor_after(last.created_at, last.pk) if more and last else "",
        },
    )


class PreferenceForm(forms.ModelForm):
    in_app_kinds = forms.MultipleChoiceField(
        label=_("Alertes signalées dans TSN"),
        choices=Alert.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    email_kinds = forms.MultipleChoiceField(
        label=_("Alertes signalées par e-mail"),
        choices=Alert.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    delegate_email = forms.EmailField(
        label=_("Suppléant pendant une absence (adresse e-mail de son compte TSN)"),
        required=False,
    )

    class Meta:
        model = NotificationPreference
        fields = [
            "in_app_kinds",
            "email_kinds",
            "email_digest",
            "quiet_start",
            "quiet_end",
            "absent_from",
            "absent_until",
        ]
        widgets = {
            "quiet_start": forms.TimeInput(attrs={"type": "time"}),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}),
            "absent_from": DateInput(),
            "absent_until": DateInput(),
        }

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if self.instance.delegate_id:
            self.initial["delegate_email"] = self.instance.delegate.email

    def clean_delegate_email(self) -> User | None:
        email = self.cleaned_data["delegate_email"]
        if not email:
            return None
        delegate = User.objects.filter(
            email__iexact=email,
            is_active=True,
            role__in=(User.Role.PROFESSIONAL, User.Role.COORDINATOR),
        ).first()
        if delegate is None:
            raise ValidationError(
                gettext("Aucun compte de professionnel ou de coordinateur actif à cette adresse.")
            )
        if delegate.pk == self.user.pk:
            raise ValidationError(gettext("Choisissez une autre personne que vous-même."))
        return delegate

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("quiet_start")) != bool(data.get("quiet_end")):
            raise ValidationError(
                gettext("Indiquez le début et la fin des heures sans e-mail, ou aucun des deux.")
            )
        if data.get("absent_from") and not data.get("delegate_email"):
            self.add_error(
                "delegate_email", gettext("Pendant une absence, indiquez qui vous supplée.")
            )
        start, end = data.get("absent_from"), data.get("absent_until")
        if start and end and end < start:
            self.add_error("absent_until", gettext("La fin de l'absence précède son début."))
        return data


def _preference(user: User) -> NotificationPreference:
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(
        user=user
    )


def notification_preferences(request: HttpRequest) -> HttpResponse:
    """Channels per alert kind, the daily digest, quiet hours, a delegate while absent."""
    _clinical(request)
    form = PreferenceForm(
        request.POST or None, instance=_preference(request.user), user=request.user
    )
    if request.method == "POST" and form.is_valid():
        save_notification_preference(
            preference=form.instance, delegate=form.cleaned_data["delegate_email"]
        )
        messages.success(request, gettext("Vos préférences de notification sont enregistrées."))
        return redirect("pathways:notification_preferences")
    return render(request, "pathways/notification_preferences.html", {"form": form})


def _administrator(request: HttpRequest) -> None:
    if request.user.role != User.Role.ADMINISTRATOR:
        raise Http404


def failed_notifications(request: HttpRequest) -> HttpResponse:
    """The e-mails given up after their last try, for an administrator to retry."""
    _administrator(request)
    failed = (
        Notification.objects.filter(status=Notification.Status.FAILED)
        .select_related("recipient", "alert")
        .order_by("-created_at")[:200]
    )
    return render(request, "pathways/notifications_failed.html", {"failed": failed})


@require_POST
def failed_notifications_retry(request: HttpRequest) -> HttpResponse:
    _administrator(request)
    ids = [int(value) for value in request.POST.getlist("notification") if value.isdigit()]
    count = retry_failed_notifications(ids=ids)
    messages.success(
        request,
        ngettext("%(count)d envoi relancé.", "%(count)d envois relancés.", count)
        % {"count": count},
    )
    return redirect("pathways:failed_notifications")
