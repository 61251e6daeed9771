"""The hospital feed's messages, for the territory's administrators: the quarantine
(messages no record could be chosen for), attached to a record or dismissed."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from pathways.hl7 import identity_for_review
from pathways.models import InboundMessage
from pathways.services.hospital_feed import (
    attach_quarantined_message,
    dismiss_quarantined_message,
    review_candidates,
    survivor,
)
from patients.models import Patient
from tsn.audit import record_access
from tsn.models import AuditEvent, User

Status = InboundMessage.Status
PAGE_SIZE = 100
ALL = "all"


def _administrator(request: HttpRequest) -> None:
    if request.user.role != User.Role.ADMINISTRATOR:
        raise Http404


class FeedFilterForm(forms.Form):
    statut = forms.ChoiceField(
        label=gettext_lazy("Statut"),
        required=False,
        choices=[(ALL, gettext_lazy("Tous")), *Status.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )


class AttachForm(forms.Form):
    patient = forms.IntegerField(
        label=gettext_lazy("Numéro TSN du dossier"),
        min_value=1,
        max_value=10**18 - 1,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )

    def clean_patient(self) -> Patient:
        pk = self.cleaned_data["patient"]
        patient = Patient.objects.filter(pk=pk).select_related("commune").first()
        if patient is None:
            raise ValidationError(_("Aucun dossier ne porte le n° %(pk)s.") % {"pk": pk})
        return survivor(patient)


class DismissForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Motif"),
        min_length=5,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        help_text=gettext_lazy("Par exemple : patient non suivi sur le territoire."),
    )


def hospital_feed(request: HttpRequest) -> HttpResponse:
    """The messages received, the quarantined ones by default, newest first."""
    _administrator(request)
    form = FeedFilterForm(request.GET or None)
    status = form.cleaned_data["statut"] if form.is_valid() else ""
    status = status or Status.QUARANTINED
    received = InboundMessage.objects.select_related("organization").order_by("-received_at", "-pk")
    if status != ALL:
        received = received.filter(status=status)
    page = list(received[: PAGE_SIZE + 1])
    rows = [(message, identity_for_review(message.raw)) for message in page[:PAGE_SIZE]]
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="inbound_message_list",
        patient_id=None,
        object_id=str(len(rows)),
    )
    return render(
        request,
        "pathways/inbound_message_list.html",
        {
            "form": form,
            "status": status,
            "rows": rows,
            "more": len(page) > PAGE_SIZE,
            "quarantined": Status.QUARANTINED,
        },
    )


def _detail(
    request: HttpRequest,
    message: InboundMessage,
    *,
    attach_form: AttachForm | None = None,
    dismiss_form: DismissForm | None = None,
    status: int = 200,
) -> HttpResponse:
    identity = identity_for_review(message.raw)
    quarantined = message.status == Status.QUARANTINED
    candidates = review_candidates(identity) if quarantined and identity else []
    if attach_form is None and "patient" in request.GET:
        attach_form = AttachForm(request.GET)
    chosen = attach_form.cleaned_data["patient"] if attach_form and attach_form.is_valid() else None
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="inbound_message",
        object_id=message.pk,
        patient_id=message.patient_id,
    )
    # The identities shown to compare with the message's are reads of those records.
    shown = {candidate.pk for candidate, _strict in candidates} | ({chosen.pk} if chosen else set())
    for patient_id in sorted(shown):
        record_access(
            request=request,
            action=AuditEvent.Action.READ,
            object_type="inbound_message",
            object_id=message.pk,
            patient_id=patient_id,
        )
    return render(
        request,
        "pathways/inbound_message_detail.html",
        {
            "message": message,
            "identity": identity,
            "quarantined": quarantined,
            "candidates": candidates,
            "chosen": chosen,
            "attach_form": attach_form or AttachForm(),
            "dismiss_form": dismiss_form or DismissForm(),
        },
        status=status,
    )


def _message(message_pk: int) -> InboundMessage:
    return get_object_or_404(
        InboundMessage.objects.select_related("organization", "patient", "resolved_by"),
        pk=message_pk,
    )


def inbound_message(request: HttpRequest, message_pk: int) -> HttpResponse:
    """One message: its traits, the records that resemble it; with ?patient=<n°>, the
    chosen record's identity to confirm the attachment."""
    _administrator(request)
    return _detail(request, _message(message_pk))


@require_POST
def inbound_message_attach(request: HttpRequest, message_pk: int) -> HttpResponse:
    _administrator(request)
    message = _message(message_pk)
    form = AttachForm(request.POST)
    if form.is_valid():
        try:
            attach_quarantined_message(
                request=request, message=message, patient=form.cleaned_data["patient"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Message rattaché au dossier n° %(pk)s.")
                % {"pk": form.cleaned_data["patient"].pk},
            )
            return redirect("pathways:hospital_feed")
    return _detail(request, message, attach_form=form, status=400)


@require_POST
def inbound_message_dismiss(request: HttpRequest, message_pk: int) -> HttpResponse:
    _administrator(request)
    message = _message(message_pk)
    form = DismissForm(request.POST)
    if form.is_valid():
        try:
            dismiss_quarantined_message(
                request=request, message=message, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Message écarté."))
            return redirect("pathways:hospital_feed")
    return _detail(request, message, dismiss_form=form, status=400)
