"""The orientation tool (pathways/orientation.py): the support services that cover a
commune for the needs chosen, nearest first; standalone, or from a patient's file (their
commune by default, and a referral sent from a result in one click)."""

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from pathways.orientation import referral_reason, services_for
from patients.access import can_write_patient, get_patient_for
from patients.models import Patient
from professionals.directory import find_communes
from professionals.models import SupportService
from tsn.models import Commune


class OrientationForm(forms.Form):
    """A GET form: a search is a link one can share or bookmark."""

    besoin = forms.MultipleChoiceField(
        label=_("Besoins du patient"),
        choices=SupportService.Category.choices,
        error_messages={
            "required": _("Cochez au moins un besoin."),
            "invalid_choice": _("Besoin inconnu : « %(value)s »."),
        },
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    commune = forms.CharField(
        label=_("Commune du domicile"),
        max_length=100,
        help_text=_("Son nom ou son code INSEE."),
        error_messages={"required": _("Indiquez la commune du domicile.")},
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def clean_commune(self) -> Commune:
        communes = find_communes(self.cleaned_data["commune"])
        if not communes:
            raise ValidationError(
                _("Commune inconnue : vérifiez son nom ou saisissez son code INSEE."),
                code="unknown_commune",
            )
        if len(communes) > 1:
            raise ValidationError(
                _("Plusieurs communes portent ce nom : saisissez son code INSEE."),
                code="ambiguous_commune",
            )
        return communes[0]


def _clinical(request: HttpRequest) -> None:
    """The orientation is for the territory's professionals (others: no such page)."""
    if not request.user.is_clinical:
        raise Http404


def orientation(request: HttpRequest) -> HttpResponse:
    """Find the services covering a commune, without a patient."""
    _clinical(request)
    return _render(request)


def patient_orientation(request: HttpRequest, pk: int) -> HttpResponse:
    """Find the services near a patient's home, and refer the patient to one."""
    _clinical(request)
    patient = get_patient_for(request, pk, object_type="orientation")
    return _render(request, patient)


def _render(request: HttpRequest, patient: Patient | None = None) -> HttpResponse:
    home = {"commune": patient.commune.insee_code} if patient and patient.commune else {}
    if request.GET:
        data = request.GET.copy()
        for name, value in home.items():
            data.setdefault(name, value)
        form = OrientationForm(data)
    else:
        form = OrientationForm(initial=home)
    services, reason = [], ""
    if form.is_valid():  # (an unbound form, the first visit, is not)
        needs = form.cleaned_data["besoin"]
        services = services_for(needs, form.cleaned_data["commune"])
        reason = referral_reason(needs)
    return render(
        request,
        "pathways/orientation.html",
        {
            "form": form,
            "patient": patient,
            "services": services,
            "reason": reason,
            "may_refer": patient is not None and can_write_patient(request.user, patient),
        },
    )
