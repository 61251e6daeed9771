"""The territory's pathway templates: read by every professional, revised by coordinators
and administrators. A revision is a new version; running pathways keep their own."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from pathways.access import can_revise_templates
from pathways.models import PathwayTemplate, StepTemplate
from pathways.services.pathway import StepDraft, revise_template
from professionals.models import Professional


class TemplateForm(forms.Form):
    name = forms.CharField(
        label=_("Nom"), max_length=200, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )
    no_contact_days = forms.IntegerField(
        label=_("Alerte si aucun contact depuis (jours)"),
        help_text=_("Laisser vide : pas d'alerte de ce type pour ce parcours."),
        required=False,
        min_value=1,
        max_value=365,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )


class StepForm(forms.Form):
    name = forms.CharField(
        label=_("Étape"), max_length=200, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    # Initial values equal to what a blank row posts, so that blank rows are skipped.
    responsible_profession = forms.ChoiceField(
        label=_("Profession responsable"),
        choices=Professional.Profession.choices,
        initial=Professional.Profession.PHYSICIAN,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    deadline_days = forms.IntegerField(
        label=_("Délai (jours)"),
        min_value=0,
        max_value=3650,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    grace_days = forms.IntegerField(
        label=_("Tolérance avant alerte (jours)"),
        required=False,
        min_value=0,
        max_value=365,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    relative_to = forms.ChoiceField(
        label=_("Compté depuis"),
        choices=StepTemplate.RelativeTo.choices,
        initial=StepTemplate.RelativeTo.ENROLMENT,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    required = forms.BooleanField(
        label=_("Obligatoire"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    blocking = forms.BooleanField(
        label=_("Bloque les étapes suivantes"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    validates_care_plan = forms.BooleanField(
        label=_("Réalisée par la validation du PPCS"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


StepFormSet = forms.formset_factory(StepForm, extra=2, can_delete=True, max_num=40)


def _clinical(request: HttpRequest) -> None:
    if not request.user.is_clinical:
        raise Http404


def template_list(request: HttpRequest) -> HttpResponse:
    _clinical(request)
    templates = (
        PathwayTemplate.objects.filter(is_current=True)
        .annotate(step_count=Count("steps"))
        .order_by("name")
    )
    return render(
        request,
        "pathways/template_list.html",
        {"templates": templates, "can_revise": can_revise_templates(request.user)},
    )


def template_detail(request: HttpRequest, template_pk: int) -> HttpResponse:
    _clinical(request)
    template = get_object_or_404(
        PathwayTemplate.objects.prefetch_related(
            Prefetch("steps", queryset=StepTemplate.objects.order_by("order"))
        ),
        pk=template_pk,
    )
    versions = (
        PathwayTemplate.objects.filter(code=template.code)
        .annotate(running=Count("pathways"))
        .order_by("-version")
    )
    return render(
        request,
        "pathways/template_detail.html",
        {
            "template": template,
            "versions": versions,
            "can_revise": can_revise_templates(request.user) and template.is_current,
        },
    )


def template_revise(request: HttpRequest, template_pk: int) -> HttpResponse:
    """Edit the current version: saving creates the next one."""
    if not can_revise_templates(request.user):
        raise Http404
    template = get_object_or_404(PathwayTemplate, pk=template_pk, is_current=True)
    if request.method == "POST":
        form = TemplateForm(request.POST)
        steps = StepFormSet(request.POST, prefix="etapes")
        if form.is_valid() and steps.is_valid():
            drafts = [
                StepDraft(**{k: v for k, v in data.items() if k != "DELETE"})
                for data in steps.cleaned_data
                if data and not data.get("DELETE")
            ]
            try:
                revised = revise_template(template=template, steps=drafts, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    gettext(
                        "Version %(version)d enregistrée : les nouvelles inclusions l'utilisent."
                    )
                    % {"version": revised.version},
                )
                return redirect("pathways:template_detail", template_pk=revised.pk)
        status = 400
    else:
        form = TemplateForm(
            initial={
                "name": template.name,
                "description": template.description,
                "no_contact_days": template.no_contact_days,
            }
        )
        steps = StepFormSet(
            prefix="etapes",
            initial=list(
                template.steps.order_by("order").values(
                    "name",
                    "responsible_profession",
                    "deadline_days",
                    "grace_days",
                    "relative_to",
                    "required",
                    "blocking",
                    "validates_care_plan",
                )
            ),
        )
        status = 200
    return render(
        request,
        "pathways/template_form.html",
        {"template": template, "form": form, "steps": steps},
        status=status,
    )
