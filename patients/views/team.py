"""The care team, caregivers and the patient's objections to named professionals."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.access import can_invite_to_portal, can_write_patient, get_patient_for
from patients.models import Caregiver, CareTeamMember, ConsentRecord, Patient
from patients.services import (
    add_care_team_member,
    add_caregiver,
    end_care_team_membership,
    record_professional_objection,
    withdraw_objection,
)
from professionals.models import Professional
from tsn.periods import in_effect_on


class PickedInDirectory(forms.HiddenInput):
    """No input of its own: the directory search fragment posts radio buttons of this name."""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        return ""


class ProfessionalChoiceField(forms.ModelChoiceField):
    """A professional picked in the directory search (its id is posted)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            queryset=Professional.objects.all(),
            widget=PickedInDirectory,
            error_messages={
                "required": gettext_lazy("Choisissez un professionnel dans l'annuaire."),
                "invalid_choice": gettext_lazy("Ce professionnel n'existe pas dans l'annuaire."),
            },
            **kwargs,
        )


class CareTeamMemberForm(forms.Form):
    professional = ProfessionalChoiceField()
    role = forms.ChoiceField(
        label=gettext_lazy("Rôle"),
        choices=CareTeamMember.Role.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    read_only = forms.BooleanField(
        label=gettext_lazy("Lecture seule"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class CaregiverForm(forms.ModelForm):
    class Meta:
        model = Caregiver
        fields = ["last_name", "first_name", "relationship", "phone", "email", "is_trusted_person"]
        widgets = {
            "last_name": forms.TextInput(attrs={"class": "form-control"}),
            "first_name": forms.TextInput(attrs={"class": "form-control"}),
            "relationship": forms.TextInput(attrs={"class": "form-control"}),
            "phone": forms.TextInput(attrs={"class": "form-control"}),
            "email": forms.EmailInput(attrs={"class": "form-control"}),
            "is_trusted_person": forms.CheckboxInput(attrs={"class": "form-check-input"}),
        }


class ObjectionForm(forms.Form):
    professional = ProfessionalChoiceField()
    note = forms.CharField(
        label=gettext_lazy("Commentaire"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


def _render_team(
    request: HttpRequest, patient: Patient, status: int = 200, **forms_
) -> HttpResponse:
    today = timezone.localdate()
    members = (
        patient.care_team.select_related("professional")
        .annotate(
            ended=Case(
                When(in_effect_on(today), then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("ended", "-start", "pk")
    )
    objections = (
        patient.consents.filter(kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION)
        .select_related("professional", "recorded_by")
        .order_by("-recorded_at", "-pk")
    )
    can_write = request.method == "POST" or can_write_patient(request.user, patient)
    context = {
        "patient": patient,
        "members": members,
        "caregivers": patient.caregivers.order_by("-is_trusted_person", "last_name", "pk"),
        "objections": objections,
        "can_write": can_write,
        # The portal's invitations: a section the page loads from the portal (htmx).
        "can_invite": can_write and can_invite_to_portal(request.user, patient),
        "member_form": forms_.get("member_form") or CareTeamMemberForm(prefix="member"),
        "caregiver_form": forms_.get("caregiver_form") or CaregiverForm(prefix="caregiver"),
        "objection_form": forms_.get("objection_form") or ObjectionForm(prefix="objection"),
        "today": today,
    }
    return render(request, "patients/care_team.html", context, status=status)


def care_team(request: HttpRequest, pk: int) -> HttpResponse:
    """Members (active and ended), caregivers and objections, with the forms to change them."""
    patient = get_patient_for(request, pk, object_type="care_team")
    return _render_team(request, patient)


def _not_post(request: HttpRequest) -> HttpResponse | None:
    """405 for anything but POST, once the access check has run (outsiders get their 404)."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    return None


def add_member(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for(request, pk, write=request.method == "POST", object_type="care_team")
    if refused := _not_post(request):
        return refused
    form = CareTeamMemberForm(request.POST, prefix="member")
    if form.is_valid():
        try:
            member = add_care_team_member(
                patient=patient,
                professional=form.cleaned_data["professional"],
                role=form.cleaned_data["role"],
                read_only=form.cleaned_data["read_only"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("%(name)s a rejoint l'équipe de soins.") % {"name": member.professional}
            )
            return redirect("patients:care_team", pk=patient.pk)
    return _render_team(request, patient, status=400, member_form=form)


def end_member(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    patient = get_patient_for(
        request,
        pk,
        write=request.method == "POST",
        object_type="care_team_member",
        object_id=member_pk,
    )
    if refused := _not_post(request):
        return refused
    member = get_object_or_404(patient.care_team.select_related("professional"), pk=member_pk)
    end_care_team_membership(member=member)
    messages.success(
        request,
        _("%(name)s ne fait plus partie de l'équipe de soins.") % {"name": member.professional},
    )
    return redirect("patients:care_team", pk=patient.pk)


def add_caregiver_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for(request, pk, write=request.method == "POST", object_type="caregiver")
    if refused := _not_post(request):
        return refused
    form = CaregiverForm(request.POST, prefix="caregiver")
    if form.is_valid():
        add_caregiver(patient=patient, **form.cleaned_data)
        messages.success(request, _("Aidant enregistré."))
        return redirect("patients:care_team", pk=patient.pk)
    return _render_team(request, patient, status=400, caregiver_form=form)


def add_objection(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for(request, pk, write=request.method == "POST", object_type="consent")
    if refused := _not_post(request):
        return refused
    form = ObjectionForm(request.POST, prefix="objection")
    if form.is_valid():
        record_professional_objection(
            patient=patient,
            professional=form.cleaned_data["professional"],
            recorded_by=request.user,
            note=form.cleaned_data["note"],
        )
        messages.success(
            request, _("Opposition enregistrée : ce professionnel n'a plus accès au dossier.")
        )
        return redirect("patients:care_team", pk=patient.pk)
    return _render_team(request, patient, status=400, objection_form=form)


def withdraw_objection_view(request: HttpRequest, pk: int, consent_pk: int) -> HttpResponse:
    patient = get_patient_for(
        request, pk, write=request.method == "POST", object_type="consent", object_id=consent_pk
    )
    if refused := _not_post(request):
        return refused
    objection = get_object_or_404(
        patient.consents.filter(kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION), pk=consent_pk
    )
    withdraw_objection(objection=objection)
    messages.success(request, _("Opposition retirée."))
    return redirect("patients:care_team", pk=patient.pk)
