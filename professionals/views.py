"""Directory pages: the search page, a page per professional, organisation and support
service, and the search fragment of the pickers (care team, assignee, tele-expertise)."""

import re

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.access import can_write_patient, get_patient_for
from patients.models import CareTeamMember, Patient
from professionals.directory import (
    DirectoryQuery,
    Kind,
    by_rpps_number,
    find_commune,
    search,
    search_professionals,
    split_profession,
)
from professionals.models import Organization, PractitionerRole, Professional, SupportService
from tsn.periods import in_effect_on
from tsn.widgets import PlainSelect

# The form field the picked professional is posted as, e.g. "member-professional".
_FIELD_NAME = re.compile(r"^[a-z_-]{1,50}$")
RADII = (5, 10, 20, 50)
# The care-team role a professional joins with, from their profession.
_CARE_TEAM_ROLES = {
    Professional.Profession.NURSE: CareTeamMember.Role.NURSE,
    Professional.Profession.PHARMACIST: CareTeamMember.Role.PHARMACIST,
    Professional.Profession.PHYSICIAN: CareTeamMember.Role.SPECIALIST,
    Professional.Profession.PHYSIOTHERAPIST: CareTeamMember.Role.PHYSIOTHERAPIST,
    Professional.Profession.SOCIAL_WORKER: CareTeamMember.Role.SOCIAL_WORKER,
    Professional.Profession.HOME_HELP: CareTeamMember.Role.HOME_HELP,
    Professional.Profession.COORDINATOR: CareTeamMember.Role.COORDINATOR,
}


def _clinical(request: HttpRequest) -> None:
    """The directory is for the territory's professionals (others: no such page)."""
    if not request.user.is_clinical:
        raise Http404


class DirectoryForm(forms.Form):
    type = forms.ChoiceField(
        label=_("Rechercher"),
        required=False,
        choices=[
            (Kind.PROFESSIONAL, _("Professionnels")),
            (Kind.ORGANIZATION, _("Établissements et structures")),
            (Kind.SERVICE, _("Services d'appui")),
        ],
        widget=PlainSelect(attrs={"class": "form-select"}),
    )
    q = forms.CharField(
        label=_("Nom"),
        required=False,
        max_length=100,
        help_text=_("Les accents et les fautes de frappe sont tolérés."),
        widget=forms.TextInput(attrs={"class": "form-control", "type": "search"}),
    )
    profession = forms.ChoiceField(
        label=_("Profession"),
        required=False,
        choices=[("", _("Toutes")), *Professional.Profession.choices],
        widget=PlainSelect(attrs={"class": "form-select"}),
    )
    categorie = forms.ChoiceField(
        label=_("Catégorie (établissements, services)"),
        required=False,
        choices=[
            ("", _("Toutes")),
            (_("Établissements"), Organization.Kind.choices),
            (_("Services d'appui"), SupportService.Category.choices),
        ],
        widget=PlainSelect(attrs={"class": "form-select"}),
    )
    commune = forms.CharField(
        label=_("Commune (nom ou code INSEE)"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    rayon = forms.TypedChoiceField(
        label=_("Distance"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Dans la commune")), *((r, _("À moins de %d km") % r) for r in RADII)],
        widget=PlainSelect(attrs={"class": "form-select"}),
    )
    nouveaux = forms.BooleanField(
        label=_("Accepte de nouveaux patients"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    patient = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean_commune(self) -> str:
        text = self.cleaned_data["commune"].strip()
        if text and find_commune(text) is None:
            raise forms.ValidationError(
                _("Commune inconnue ou ambiguë : précisez son code INSEE."), code="commune"
            )
        return text

    def query(self) -> DirectoryQuery:
        """The valid criteria (an invalid one is left out and shown as an error)."""
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        kind = data.get("type") or Kind.PROFESSIONAL
        category = data.get("categorie", "")
        valid_categories = (
            Organization.Kind.values
            if kind == Kind.ORGANIZATION
            else SupportService.Category.values
        )
        return DirectoryQuery(
            kind=kind,
            name=data.get("q", "").strip(),
            profession=data.get("profession", "") if kind == Kind.PROFESSIONAL else "",
            category=category if category in valid_categories else "",
            commune=find_commune(data.get("commune", "")),
            radius_km=data.get("rayon"),
            accepting_only=data.get("nouveaux", False) and kind == Kind.PROFESSIONAL,
        )


def directory(request: HttpRequest) -> HttpResponse:
    """Search the directory; from a patient file (?patient=), near the patient's home,
    with the actions that involve a result in the patient's care."""
    _clinical(request)
    data = request.GET.copy()
    patient = _patient_context(request, data)
    form = DirectoryForm(data)
    query = form.query()
    results = search(query, timezone.localdate())
    may_act = patient is not None and can_write_patient(request.user, patient)
    if may_act and query.kind == Kind.PROFESSIONAL:
        for professional in results:
            professional["care_team_role"] = _CARE_TEAM_ROLES.get(
                professional["profession"], CareTeamMember.Role.OTHER
            )
    return render(
        request,
        "professionals/directory.html",
        {
            "form": form,
            "query": query,
            "results": results,
            "patient": patient,
            "may_act": may_act,
            "searched": not query.is_empty,
        },
    )


def _patient_context(request: HttpRequest, data) -> Patient | None:
    """The patient the search is made for (access checked and traced); their commune is
    the default place."""
    pk = data.get("patient", "")
    if not pk.isdigit():
        data.pop("patient", None)
        return None
    patient = get_patient_for(request, int(pk), object_type="directory_search")
    if "commune" not in data and patient.commune is not None:
        data["commune"] = patient.commune.insee_code
    return patient


def professional_detail(request: HttpRequest, professional_pk: int) -> HttpResponse:
    _clinical(request)
    professional = get_object_or_404(Professional, pk=professional_pk)
    roles = (
        professional.roles.filter(in_effect_on(timezone.localdate()))
        .select_related("organization", "commune", "organization__commune")
        .order_by("start", "pk")
    )
    return render(
        request,
        "professionals/professional_detail.html",
        {
            "professional": professional,
            "roles": roles,
            "services": professional.support_services.select_related("organization"),
        },
    )


def organization_detail(request: HttpRequest, organization_pk: int) -> HttpResponse:
    _clinical(request)
    organization = get_object_or_404(
        Organization.objects.select_related("commune"), pk=organization_pk
    )
    professionals = (
        PractitionerRole.objects.filter(
            in_effect_on(timezone.localdate()), organization=organization
        )
        .select_related("professional")
        .order_by("professional__last_name", "professional__first_name", "pk")
    )
    return render(
        request,
        "professionals/organization_detail.html",
        {
            "organization": organization,
            "services": organization.support_services.order_by("name"),
            "roles": professionals[:200],
        },
    )


def service_detail(request: HttpRequest, service_pk: int) -> HttpResponse:
    _clinical(request)
    service = get_object_or_404(
        SupportService.objects.select_related("organization", "organization__commune"),
        pk=service_pk,
    )
    return render(
        request,
        "professionals/service_detail.html",
        {"service": service, "communes": service.communes.order_by("name")},
    )


def _picked(text: str) -> list[dict]:
    profession, name = split_profession(text)
    query = DirectoryQuery(name=name, profession=profession)
    return search_professionals(query, timezone.localdate()) if not query.is_empty else []


def search_picker(request: HttpRequest) -> HttpResponse:
    """Professionals matching ?q= by name (accents and typos forgiven): an htmx fragment of
    radio buttons named after ?champ=, to sit inside the caller's form."""
    _clinical(request)
    text = request.GET.get("q", "").strip()
    field_name = request.GET.get("champ", "professional")
    if not _FIELD_NAME.match(field_name):
        field_name = "professional"
    professionals = []
    if len(text) >= 2:
        professionals = by_rpps_number(text) if text.isdigit() else _picked(text)
    return render(
        request,
        "professionals/professional_search.html#results",
        {"professionals": professionals, "query": text, "field_name": field_name},
    )
