"""Referrals to support services: a patient's referrals and the send form (patient-scoped),
and the service's inbox, where its members read a referral and answer it."""

import itertools

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, DateTimeField, F, When
from django.forms.models import ModelChoiceIterator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from pathways.access import get_referral_for_service, referrals_for_service_member
from pathways.models import Pathway, Referral
from pathways.services.referral import (
    accept_referral,
    acknowledge_referral,
    cancel_referral,
    complete_referral,
    refuse_referral,
    send_referral,
)
from patients.access import can_write_patient, get_patient_for
from patients.models import Patient
from professionals.models import Professional, SupportService
from tsn.audit import record_access
from tsn.models import AuditEvent

INBOX_PAGE_SIZE = 50
Status = Referral.Status


class GroupedByCategory(ModelChoiceIterator):
    """The services as <optgroup>s, one per category (the queryset is ordered by it)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        labels = dict(SupportService.Category.choices)
        for category, services in itertools.groupby(self.queryset, key=lambda s: s.category):
            yield (labels.get(category, category), [self.choice(s) for s in services])


class ServiceChoiceField(forms.ModelChoiceField):
    iterator = GroupedByCategory

    def label_from_instance(self, service: SupportService) -> str:
        return gettext("%(name)s — %(organization)s (réponse sous %(days)s j)") % {
            "name": service.name,
            "organization": service.organization.name,
            "days": service.response_days,
        }


class ReferralForm(forms.Form):
    service = ServiceChoiceField(
        label=_("Service"),
        queryset=SupportService.objects.select_related("organization").order_by(
            "category", "name", "pk"
        ),
        empty_label=_("Choisissez un service"),
        error_messages={
            "required": _("Choisissez le service à solliciter."),
            "invalid_choice": _("Ce service n'existe pas dans l'annuaire."),
        },
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    reason = forms.CharField(
        label=_("Motif de la demande"),
        max_length=5000,
        error_messages={"required": _("Indiquez le motif de la demande.")},
        help_text=_("Ce que vous attendez du service ; il le lit avant d'accepter la demande."),
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
    )
    pathway = forms.ModelChoiceField(
        label=_("Parcours concerné"),
        queryset=Pathway.objects.none(),
        required=False,
        empty_label=_("Aucun"),
        error_messages={
            "invalid_choice": _("Ce parcours n'est pas un parcours en cours du patient.")
        },
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, patient: Patient, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        pathways = self.fields["pathway"]
        pathways.queryset = (
            patient.pathways.exclude(status__in=Pathway.CLOSED_STATUSES)
            .select_related("template")
            .order_by("-enrolled_on", "-pk")
        )
        pathways.label_from_instance = lambda pathway: pathway.template.name


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif de l'annulation"),
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )


class RespondForm(forms.Form):
    ACTIONS = {
        "acknowledge": Status.ACKNOWLEDGED,
        "accept": Status.ACCEPTED,
        "refuse": Status.REFUSED,
        "done": Status.DONE,
    }

    action = forms.ChoiceField(
        choices=[(action, action) for action in ACTIONS],
        error_messages={
            "required": _("Choisissez une réponse."),
            "invalid_choice": _("Cette réponse n'existe pas."),
        },
        widget=forms.HiddenInput,
    )
    refusal_reason = forms.CharField(
        label=_("Motif du refus"),
        required=False,
        max_length=5000,
        help_text=_("Le professionnel qui a envoyé la demande le lira."),
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("action") == "refuse" and not data.get("refusal_reason", "").strip():
            self.add_error("refusal_reason", _("Indiquez le motif du refus."))
        return data


# --- A patient's referrals (patient-scoped) ---


def _render_referrals(
    request: HttpRequest,
    patient: Patient,
    *,
    form: ReferralForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    referrals = list(
        patient.referrals.select_related(
            "service__organization", "sent_by", "responded_by", "pathway__template"
        ).order_by("-sent_at", "-pk")
    )
    can_write = can_write_patient(request.user, patient)
    for referral in referrals:
        referral.late = referral.is_late(now)
        referral.cancellable = can_write and referral.may_become(Status.CANCELLED)
    return render(
        request,
        "pathways/referral_list.html",
        {
            "patient": patient,
            "referrals": referrals,
            "can_write": can_write,
            "form": form or ReferralForm(patient=patient),
            "error": error,
        },
        status=status,
    )


def referrals(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's referrals with their answers and clocks, and the send form for writers."""
    patient = get_patient_for(request, pk, object_type="referrals")
    return _render_referrals(request, patient)


@require_POST
def referral_send(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for(request, pk, write=True, object_type="referral")
    form = ReferralForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            referral = send_referral(
                request=request,
                patient=patient,
                service=form.cleaned_data["service"],
                reason=form.cleaned_data["reason"],
                pathway=form.cleaned_data["pathway"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                gettext("Demande envoyée à %(service)s : réponse attendue avant le %(date)s.")
                % {
                    "service": referral.service.name,
                    "date": date_format(
                        timezone.localtime(referral.respond_by), "SHORT_DATETIME_FORMAT"
                    ),
                },
            )
            return redirect("pathways:referrals", pk=patient.pk)
    return _render_referrals(request, patient, form=form, status=400)


@require_POST
def referral_cancel(request: HttpRequest, pk: int, referral_pk: int) -> HttpResponse:
    patient = get_patient_for(
        request, pk, write=True, object_type="referral", object_id=referral_pk
    )
    referral = get_object_or_404(
        Referral.objects.select_related("service", "pathway"), pk=referral_pk, patient=patient
    )
    referral.patient = patient
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _render_referrals(
            request, patient, error=" ".join(form.errors["reason"]), status=400
        )
    try:
        cancel_referral(request=request, referral=referral, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        return _render_referrals(request, patient, error=" ".join(error.messages), status=400)
    messages.success(request, gettext("Demande annulée."))
    return redirect("pathways:referrals", pk=patient.pk)


# --- The service's inbox (members of the service the referral was sent to) ---


class InboxFilterForm(forms.Form):
    AWAITING = "en_attente"

    statut = forms.ChoiceField(
        label=_("Statut"),
        required=False,
        choices=[("", _("Tous")), (AWAITING, _("En attente de réponse")), *Status.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    service = forms.TypedChoiceField(
        label=_("Service"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    def __init__(self, *args, services: list[SupportService], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", _("Tous"))] + [(s.pk, s.name) for s in services]

    def filter(self, referrals):
        """`referrals` narrowed by the valid filters (an invalid one is ignored)."""
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        if data.get("statut") == self.AWAITING:
            referrals = referrals.filter(status__in=Referral.AWAITING_STATUSES)
        elif data.get("statut"):
            referrals = referrals.filter(status=data["statut"])
        if data.get("service"):
            referrals = referrals.filter(service_id=data["service"])
        return referrals


def _service_member(request: HttpRequest) -> Professional:
    """The professional behind the request (the inboxes are theirs); 404 for other users."""
    professional = getattr(request.user, "professional", None)
    if not request.user.is_clinical or professional is None:
        raise Http404
    return professional


def referral_inbox(request: HttpRequest) -> HttpResponse:
    """The referrals sent to the user's services: awaiting ones first, by response clock."""
    professional = _service_member(request)
    services = list(professional.support_services.order_by("name", "pk"))
    filters = InboxFilterForm(request.GET, services=services)
    referrals = filters.filter(referrals_for_service_member(request.user))
    referrals = (
        referrals.select_related("patient__commune", "service", "sent_by")
        .annotate(
            awaiting_until=Case(
                When(status__in=Referral.AWAITING_STATUSES, then=F("respond_by")),
                default=None,
                output_field=DateTimeField(),
            )
        )
        .order_by(F("awaiting_until").asc(nulls_last=True), "-sent_at", "-pk")
    )
    page = Paginator(referrals, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for referral in page:
        referral.late = referral.is_late(now)
    # A list of names is an access to patient data too: one trace per page shown.
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="referral_list",
        patient_id=None,
        object_id=str(len(page.object_list)),
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "pathways/referral_inbox.html",
        {
            "filters": filters,
            "page": page,
            "services": services,
            "query": query.urlencode(),
        },
    )


def _render_detail(
    request: HttpRequest, referral: Referral, *, form: RespondForm | None = None, status=200
) -> HttpResponse:
    moves = referral.TRANSITIONS.get(referral.status, ())
    return render(
        request,
        "pathways/referral_detail.html",
        {
            "referral": referral,
            "patient": referral.patient,
            "late": referral.is_late(),
            # The record opens to the service once it has taken the patient on.
            "shows_record": referral.status in (Status.ACCEPTED, Status.DONE),
            "may": {action: to in moves for action, to in RespondForm.ACTIONS.items()},
            "form": form or RespondForm(),
        },
        status=status,
    )


def referral_detail(request: HttpRequest, referral_pk: int) -> HttpResponse:
    """What the service needs to answer: who the patient is, why, and who is asking."""
    referral = get_referral_for_service(request, referral_pk)
    return _render_detail(request, referral)


def _done_message(action: str) -> str:
    return {
        "acknowledge": gettext("Réception de la demande confirmée."),
        "accept": gettext("Demande acceptée : le dossier du patient vous est désormais ouvert."),
        "refuse": gettext("Demande refusée ; le motif est transmis à l'envoyeur."),
        "done": gettext("Demande marquée comme réalisée."),
    }[action]


@require_POST
def referral_respond(request: HttpRequest, referral_pk: int) -> HttpResponse:
    referral = get_referral_for_service(request, referral_pk, write=True)
    form = RespondForm(request.POST)
    if form.is_valid():
        action = form.cleaned_data["action"]
        try:
            if action == "acknowledge":
                acknowledge_referral(request=request, referral=referral)
            elif action == "accept":
                accept_referral(request=request, referral=referral)
            elif action == "refuse":
                refuse_referral(
                    request=request, referral=referral, reason=form.cleaned_data["refusal_reason"]
                )
            else:
                complete_referral(request=request, referral=referral)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _done_message(action))
            return redirect("pathways:referral_detail", referral_pk=referral.pk)
    return _render_detail(request, referral, form=form, status=400)
