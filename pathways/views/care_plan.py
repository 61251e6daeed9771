"""The personalised care plan (PPCS) of a patient: read, edit (optimistic locking), validate
(the GP), past versions, and the printable document, as a page and as a PDF."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from pathways.access import can_validate_care_plan
from pathways.models import CarePlan, CarePlanVersion
from pathways.pdf import render_pdf
from pathways.services.care_plan import (
    CarePlanContent,
    StaleCarePlan,
    care_plan_people,
    changed_sections,
    save_care_plan,
    validate_care_plan,
)
from patients.access import can_write_patient, get_patient_for
from patients.models import CareTeamMember, Patient
from professionals.models import Professional
from tsn.models import AuditEvent
from tsn.periods import in_effect_on
from tsn.widgets import DateInput

Version = CarePlanVersion
TEXTAREA = {"rows": 3, "class": "form-control"}


class CarePlanForm(forms.Form):
    base_version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    general_information = forms.CharField(
        label=_("Informations générales"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs=TEXTAREA),
    )
    referent = forms.ModelChoiceField(
        label=_("Référent du PPCS"),
        queryset=Professional.objects.none(),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    next_review_on = forms.DateField(
        label=_("Prochaine révision"),
        required=False,
        widget=DateInput(attrs={"class": "form-control"}),
    )
    preferences = forms.CharField(
        label=_("Préférences et projet du patient"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs=TEXTAREA),
    )

    def __init__(self, *args, people, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["referent"].queryset = people
        for domain, label in Version.Domain.choices:
            self.fields[f"need_{domain}"] = forms.CharField(
                label=label,
                required=False,
                max_length=20_000,
                widget=forms.Textarea(attrs=TEXTAREA),
            )

    @property
    def need_fields(self) -> list[forms.BoundField]:
        return [self[f"need_{domain}"] for domain in Version.Domain.values]


class GoalForm(forms.Form):
    text = forms.CharField(
        label=_("Objectif"), max_length=500, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    target = forms.CharField(
        label=_("Cible"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    # Initial values equal to what a blank row posts, so that blank rows are skipped.
    status = forms.ChoiceField(
        label=_("État"),
        choices=Version.GoalStatus.choices,
        initial=Version.GoalStatus.PLANNED,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    comment = forms.CharField(
        label=_("Commentaire (ou raison si non atteint)"),
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


class ActionForm(forms.Form):
    text = forms.CharField(
        label=_("Action"), max_length=500, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    kind = forms.ChoiceField(
        label=_("Nature"),
        choices=Version.ActionKind.choices,
        initial=Version.ActionKind.CARE,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    owner = forms.ModelChoiceField(
        label=_("Qui"),
        queryset=Professional.objects.none(),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    due_on = forms.DateField(
        label=_("Pour le"),
        required=False,
        widget=DateInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args, people, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people


GoalFormSet = forms.formset_factory(GoalForm, extra=2, can_delete=True, max_num=50)
ActionFormSet = forms.formset_factory(ActionForm, extra=2, can_delete=True, max_num=50)


def _versions(patient: Patient) -> list[CarePlanVersion]:
    """Every version, newest first (a care plan has tens of versions, not thousands)."""
    return list(
        Version.objects.filter(care_plan__patient=patient)
        .select_related("author", "referent", "validated_by")
        .order_by("-number")
    )


def _not_achieved(versions: list[CarePlanVersion]) -> list[dict]:
    """The goals marked not achieved in any version, each once, from the first version
    that says so: the care plan's log of goals not achieved."""
    logged: dict[str, dict] = {}
    for version in reversed(versions):
        for goal in version.goals:
            if goal["status"] == Version.GoalStatus.NOT_ACHIEVED and goal["text"] not in logged:
                logged[goal["text"]] = {**goal, "number": version.number, "at": version.created_at}
    return list(logged.values())


def _document(patient: Patient, versions: list[CarePlanVersion], number: int | None) -> dict:
    """What the care-plan document shows, for version `number` (default: the current)."""
    chosen = next((v for v in versions if v.number == number), None) if number else versions[0]
    if chosen is None:
        raise Http404
    team = (
        CareTeamMember.objects.filter(in_effect_on(timezone.localdate()))
        .filter(patient=patient)
        .select_related("professional")
        .order_by("role", "professional__last_name")
    )
    return {
        "patient": patient,
        "version": chosen,
        "is_current": chosen.number == versions[0].number,
        "needs": [
            (label, chosen.needs.get(domain, "")) for domain, label in Version.Domain.choices
        ],
        "goal_statuses": dict(Version.GoalStatus.choices),
        "action_kinds": dict(Version.ActionKind.choices),
        "team": list(team),
        "caregivers": list(patient.caregivers.order_by("last_name", "first_name")),
        "not_achieved": _not_achieved([v for v in versions if v.number <= chosen.number]),
        "review_overdue": chosen.next_review_on is not None
        and chosen.next_review_on < timezone.localdate(),
    }


def _version_number(request: HttpRequest) -> int | None:
    raw = request.GET.get("version", "")
    return int(raw) if raw.isdigit() else None


def care_plan(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for(request, pk, object_type="care_plan")
    versions = _versions(patient)
    context = {
        "patient": patient,
        "versions": versions,
        "can_write": can_write_patient(request.user, patient),
        "can_validate": can_validate_care_plan(request.user, patient),
    }
    if versions:
        context |= _document(patient, versions, None)
    return render(request, "pathways/care_plan_detail.html", context)


def care_plan_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    patient = get_patient_for(request, pk, object_type="care_plan", object_id=number)
    versions = _versions(patient)
    if not versions:
        raise Http404
    context = {"patient": patient, "versions": versions, "past": True}
    return render(
        request, "pathways/care_plan_detail.html", context | _document(patient, versions, number)
    )


def care_plan_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The care plan as a printable page: the PDF's template."""
    patient = get_patient_for(request, pk, object_type="care_plan")
    versions = _versions(patient)
    if not versions:
        raise Http404
    context = _document(patient, versions, _version_number(request))
    return render(request, "pathways/care_plan_document.html", context)


def care_plan_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for(
        request,
        pk,
        action=AuditEvent.Action.EXPORT,
        object_type="care_plan_pdf",
        object_id=request.GET.get("version", ""),
    )
    versions = _versions(patient)
    if not versions:
        raise Http404
    context = _document(patient, versions, _version_number(request))
    pdf = render_pdf("pathways/care_plan_document.html", context, request)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"ppcs-{patient.pk}-v{context['version'].number}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _initial(current: CarePlanVersion | None) -> tuple[dict, list[dict], list[dict]]:
    if current is None:
        return {"base_version": 0}, [], []
    plan = {
        "base_version": current.number,
        "general_information": current.general_information,
        "referent": current.referent_id,
        "next_review_on": current.next_review_on,
        "preferences": current.preferences,
        **{f"need_{domain}": text for domain, text in current.needs.items()},
    }
    actions = [
        {
            "text": a["text"],
            "kind": a["kind"],
            "owner": a["owner"],
            "due_on": a["due_on"] or None,
        }
        for a in current.actions
    ]
    return plan, list(current.goals), actions


def _content(form: CarePlanForm, goals: GoalFormSet, actions: ActionFormSet) -> CarePlanContent:
    data = form.cleaned_data
    kept = [row for row in goals.cleaned_data if row and not row.get("DELETE")]
    done = [row for row in actions.cleaned_data if row and not row.get("DELETE")]
    return CarePlanContent(
        referent=data["referent"],
        next_review_on=data["next_review_on"],
        general_information=data["general_information"],
        needs={domain: data[f"need_{domain}"] for domain in Version.Domain.values},
        goals=[{k: v for k, v in row.items() if k != "DELETE"} for row in kept],
        actions=[{k: v for k, v in row.items() if k != "DELETE"} for row in done],
        preferences=data["preferences"],
    )


def care_plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Write the next version. A version saved by someone else meanwhile is not
    overwritten: the form comes back (409) with what changed."""
    patient = get_patient_for(request, pk, write=True, object_type="care_plan")
    people = care_plan_people(patient)
    versions = _versions(patient)
    current = versions[0] if versions else None
    stale = None
    if request.method == "POST":
        form = CarePlanForm(request.POST, people=people)
        goals = GoalFormSet(request.POST, prefix="objectifs")
        actions = ActionFormSet(request.POST, prefix="actions", form_kwargs={"people": people})
        if form.is_valid() and goals.is_valid() and actions.is_valid():
            try:
                save_care_plan(
                    request=request,
                    patient=patient,
                    base_version=form.cleaned_data["base_version"],
                    content=_content(form, goals, actions),
                )
            except StaleCarePlan as error:
                base = next(
                    (v for v in versions if v.number == form.cleaned_data["base_version"]), None
                )
                stale = {
                    "current": error.current,
                    "sections": changed_sections(base, error.current),
                }
                # The next save starts from the current version, with the user's input.
                form.data = form.data.copy()
                form.data["base_version"] = str(error.current.number)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, gettext("Le PPCS est enregistré."))
                return redirect("pathways:care_plan", pk=patient.pk)
        status = 409 if stale else 400
    else:
        plan, goal_rows, action_rows = _initial(current)
        form = CarePlanForm(initial=plan, people=people)
        goals = GoalFormSet(initial=goal_rows, prefix="objectifs")
        actions = ActionFormSet(
            initial=action_rows, prefix="actions", form_kwargs={"people": people}
        )
        status = 200
    return render(
        request,
        "pathways/care_plan_form.html",
        {
            "patient": patient,
            "form": form,
            "goals": goals,
            "actions": actions,
            "current": current,
            "stale": stale,
        },
        status=status,
    )


@require_POST
def care_plan_validate(request: HttpRequest, pk: int) -> HttpResponse:
    """The GP validates the version they read (the form says which)."""
    patient = get_patient_for(
        request, pk, write=True, also=can_validate_care_plan, object_type="care_plan"
    )
    raw = request.POST.get("version", "")
    if not raw.isdigit() or not CarePlan.objects.filter(patient=patient).exists():
        messages.error(request, gettext("Il n'y a pas de version à valider."))
        return redirect("pathways:care_plan", pk=patient.pk)
    try:
        validate_care_plan(request=request, patient=patient, version_number=int(raw))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, gettext("Vous avez validé le PPCS."))
    return redirect("pathways:care_plan", pk=patient.pk)
