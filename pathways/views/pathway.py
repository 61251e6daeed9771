"""A patient's pathways: enrolment, a pathway's steps and status, one step's actions."""

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from pathways.models import Pathway, PathwayTemplate, Step, Transition
from pathways.services.pathway import (
    assign_step,
    change_pathway_status,
    complete_step,
    enrol_patient,
    information_given,
    schedule_step,
    skip_step,
)
from patients.access import can_write_patient, get_patient_for
from patients.models import CareTeamMember, Patient
from patients.views.team import ProfessionalChoiceField
from professionals.models import Professional, SupportService
from tsn.periods import in_effect_on
from tsn.widgets import DateInput


class EnrolmentForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Parcours"),
        queryset=PathwayTemplate.objects.filter(is_current=True).order_by("name"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    origin = forms.ChoiceField(
        label=_("Origine de la demande"),
        choices=Pathway.Origin.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    support_service = forms.ModelChoiceField(
        label=_("Service qui suit le patient"),
        queryset=SupportService.objects.filter(
            category=SupportService.Category.COORDINATION
        ).order_by("name"),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    referent = forms.ModelChoiceField(
        label=_("Coordinateur·rice référent·e"),
        queryset=Professional.objects.filter(
            profession=Professional.Profession.COORDINATOR
        ).order_by("last_name", "first_name"),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    enrolled_on = forms.DateField(
        label=_("Date d'inclusion"),
        widget=DateInput(attrs={"class": "form-control"}),
    )


class StatusForm(forms.Form):
    to = forms.ChoiceField(choices=Pathway.Status.choices, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Motif"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )
    informed = forms.BooleanField(
        label=_(
            "Le patient a reçu l'information sur le partage de ses données et ne s'y oppose pas"
        ),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label=_("Rendez-vous le"),
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
        ),
    )
    place = forms.CharField(
        label=_("Lieu ou lien de téléconsultation"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


class AssignForm(forms.Form):
    """The professional in charge: one of the care team, or anyone from the directory."""

    member = forms.ModelChoiceField(
        label=_("Dans l'équipe de soins"),
        queryset=Professional.objects.none(),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    professional = ProfessionalChoiceField(required=False)

    def __init__(self, *args, team: list[Professional], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = Professional.objects.filter(
            pk__in=[p.pk for p in team]
        ).order_by("last_name", "first_name")

    def clean(self) -> dict:
        data = super().clean()
        data["assignee"] = data.get("professional") or data.get("member")
        if data["assignee"] is None:
            raise ValidationError(
                _("Choisissez un membre de l'équipe de soins ou un professionnel de l'annuaire.")
            )
        return data


class DoneForm(forms.Form):
    done_at = forms.DateTimeField(
        label=_("Réalisée le"),
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
        ),
    )
    outcome = forms.CharField(
        label=_("Compte rendu"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )

    def clean_done_at(self) -> datetime.datetime:
        done_at = self.cleaned_data["done_at"]
        if done_at > timezone.now() + datetime.timedelta(minutes=5):
            raise ValidationError(_("Une étape ne peut pas être réalisée dans le futur."))
        return done_at


class SkipForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


STEP_FORMS = {"schedule": ScheduleForm, "assign": AssignForm, "done": DoneForm, "skip": SkipForm}


def _active_team(patient: Patient) -> list[Professional]:
    return [
        member.professional
        for member in CareTeamMember.objects.filter(in_effect_on(timezone.localdate()))
        .filter(patient=patient)
        .select_related("professional")
        .order_by("professional__last_name")
    ]


def _default_enrolment(request: HttpRequest) -> dict[str, object]:
    """The coordinator enrolling is the referent, in the service they belong to."""
    initial: dict[str, object] = {"enrolled_on": timezone.localdate()}
    professional = getattr(request.user, "professional", None)
    if professional is not None and professional.profession == Professional.Profession.COORDINATOR:
        initial["referent"] = professional
        initial["support_service"] = (
            professional.support_services.filter(category=SupportService.Category.COORDINATION)
            .order_by("pk")
            .first()
        )
    return initial


def _with_steps(pathways):
    steps = Step.objects.select_related("template_step", "assignee").order_by(
        "template_step__order"
    )
    return pathways.select_related("template", "referent", "support_service").prefetch_related(
        Prefetch("steps", queryset=steps)
    )


def pathway_list(request: HttpRequest, pk: int, *, form: EnrolmentForm | None = None):
    """The patient's pathways, current and past, and the enrolment form for writers."""
    patient = get_patient_for(request, pk, object_type="pathways")
    pathways = list(_with_steps(patient.pathways.order_by("-enrolled_on", "-pk")))
    return render(
        request,
        "pathways/pathway_list.html",
        {
            "patient": patient,
            "pathways": pathways,
            "today": timezone.localdate(),
            "can_write": can_write_patient(request.user, patient),
            "form": form or EnrolmentForm(initial=_default_enrolment(request)),
        },
        status=400 if form is not None else 200,
    )


@require_POST
def pathway_enrol(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for(request, pk, write=True, object_type="pathway")
    form = EnrolmentForm(request.POST)
    if form.is_valid():
        try:
            pathway = enrol_patient(request=request, patient=patient, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                gettext("Parcours proposé : il deviendra actif une fois le patient informé."),
            )
            return redirect("pathways:pathway_detail", pk=patient.pk, pathway_pk=pathway.pk)
    return pathway_list(request, pk, form=form)


def _pathway_page(
    request: HttpRequest, patient: Patient, pathway_pk: int, *, status_form=None, status=200
) -> HttpResponse:
    pathway = get_object_or_404(_with_steps(patient.pathways.all()), pk=pathway_pk)
    transitions = (
        Transition.objects.filter(pathway=pathway)
        .select_related("actor", "step__template_step")
        .order_by("-at", "-pk")
    )
    can_write = can_write_patient(request.user, patient)
    return render(
        request,
        "pathways/pathway_detail.html",
        {
            "patient": patient,
            "pathway": pathway,
            "steps": list(pathway.steps.all()),
            "transitions": list(transitions),
            "today": timezone.localdate(),
            "can_write": can_write,
            "can_act": can_write and pathway.status == Pathway.Status.ACTIVE,
            "moves": pathway.TRANSITIONS.get(pathway.status, ()),
            "informed": information_given(patient),
            "status_form": status_form or StatusForm(),
        },
        status=status,
    )


def pathway_detail(request: HttpRequest, pk: int, pathway_pk: int) -> HttpResponse:
    patient = get_patient_for(request, pk, object_type="pathway", object_id=pathway_pk)
    return _pathway_page(request, patient, pathway_pk)


@require_POST
def pathway_status(request: HttpRequest, pk: int, pathway_pk: int) -> HttpResponse:
    """Activate, suspend, resume, complete or exit."""
    patient = get_patient_for(request, pk, write=True, object_type="pathway", object_id=pathway_pk)
    pathway = get_object_or_404(
        patient.pathways.select_related("template", "patient"), pk=pathway_pk
    )
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            change_pathway_status(request=request, pathway=pathway, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                gettext("Parcours « %(status)s ».") % {"status": pathway.get_status_display()},
            )
            return redirect("pathways:pathway_detail", pk=patient.pk, pathway_pk=pathway.pk)
    return _pathway_page(request, patient, pathway_pk, status_form=form, status=400)


def _step_of(patient: Patient, pathway_pk: int, step_pk: int) -> Step:
    return get_object_or_404(
        Step.objects.select_related(
            "template_step", "assignee", "pathway__template", "pathway__patient"
        ),
        pk=step_pk,
        pathway_id=pathway_pk,
        pathway__patient=patient,
    )


def _step_page(
    request: HttpRequest, patient: Patient, step: Step, *, bound=None, status=200
) -> HttpResponse:
    team = _active_team(patient)
    now = timezone.localtime().replace(second=0, microsecond=0)
    forms_by_action = {
        "schedule": ScheduleForm(
            initial={"scheduled_at": step.scheduled_at or now, "place": step.place}
        ),
        "assign": AssignForm(team=team, initial={"member": step.assignee_id}),
        "done": DoneForm(initial={"done_at": now}),
        "skip": SkipForm(),
    }
    if bound is not None:
        forms_by_action[bound[0]] = bound[1]
    return render(
        request,
        "pathways/step_detail.html",
        {
            "patient": patient,
            "pathway": step.pathway,
            "step": step,
            "today": timezone.localdate(),
            "can_write": can_write_patient(request.user, patient),
            "forms": forms_by_action,
            "open": step.status in Step.OPEN_STATUSES,
        },
        status=status,
    )


def step_detail(request: HttpRequest, pk: int, pathway_pk: int, step_pk: int) -> HttpResponse:
    patient = get_patient_for(request, pk, object_type="step", object_id=step_pk)
    return _step_page(request, patient, _step_of(patient, pathway_pk, step_pk))


@require_POST
def step_update(request: HttpRequest, pk: int, pathway_pk: int, step_pk: int) -> HttpResponse:
    """Schedule, assign, complete or skip a step (the `action` field says which)."""
    patient = get_patient_for(request, pk, write=True, object_type="step", object_id=step_pk)
    step = _step_of(patient, pathway_pk, step_pk)
    action = request.POST.get("action", "")
    if action not in STEP_FORMS:
        return _step_page(request, patient, step, status=400)
    kwargs = {"team": _active_team(patient)} if action == "assign" else {}
    form = STEP_FORMS[action](request.POST, **kwargs)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "schedule":
                schedule_step(request=request, step=step, **data)
            elif action == "assign":
                assign_step(request=request, step=step, assignee=data["assignee"])
            elif action == "done":
                complete_step(request=request, step=step, **data)
            else:
                skip_step(request=request, step=step, reason=data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("L'étape est mise à jour."))
            return redirect("pathways:pathway_detail", pk=patient.pk, pathway_pk=pathway_pk)
    return _step_page(request, patient, step, bound=(action, form), status=400)
