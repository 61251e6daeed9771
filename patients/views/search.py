"""Finding a patient among those one may see, and the "my patients" lists."""

from django import forms
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Patient
from professionals.models import Professional
from tsn.audit import record_access
from tsn.models import AuditEvent
from tsn.periods import in_effect_on

PAGE_SIZE = 50


class PatientSearchForm(forms.Form):
    ALL = "tous"
    MY_GP_PATIENTS = "medecin_traitant"
    MY_CARE_TEAMS = "equipe"
    SCOPES = [
        (ALL, _("Tous les patients que je peux voir")),
        (MY_GP_PATIENTS, _("Dont je suis le médecin traitant")),
        (MY_CARE_TEAMS, _("Dont je fais partie de l'équipe de soins")),
    ]

    nom = forms.CharField(
        label=_("Nom ou prénom"),
        required=False,
        max_length=100,
        help_text=_("Nom de naissance, nom utilisé ou prénom ; les accents sont ignorés."),
        widget=forms.TextInput(attrs={"class": "form-control", "type": "search"}),
    )
    naissance = forms.DateField(
        label=_("Date de naissance"),
        required=False,
        input_formats=["%d/%m/%Y"],
        help_text=_("jj/mm/aaaa"),
        widget=forms.DateInput(
            format="%d/%m/%Y", attrs={"class": "form-control", "placeholder": "jj/mm/aaaa"}
        ),
    )
    ins = forms.CharField(
        label=_("Matricule INS (NIR)"),
        required=False,
        max_length=21,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    parmi = forms.ChoiceField(
        label=_("Parmi"),
        required=False,
        choices=SCOPES,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    identite = forms.ChoiceField(
        label=_("Statut de l'identité"),
        required=False,
        choices=[("", _("Tous")), *Patient.IdentityStatus.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def clean_ins(self) -> str:
        return "".join(self.cleaned_data["ins"].split()).upper()


def filter_patients(patients, *, data: dict, professional: Professional | None):
    """Narrow a visible queryset with the search form's cleaned data."""
    for term in data.get("nom", "").split()[:4]:
        patients = patients.filter(
            Q(birth_last_name__unaccent__icontains=term)
            | Q(used_last_name__unaccent__icontains=term)
            | Q(first_names__unaccent__icontains=term)
            | Q(used_first_name__unaccent__icontains=term)
        )
    if data.get("naissance"):
        patients = patients.filter(birth_date=data["naissance"])
    if data.get("ins"):
        patients = patients.filter(nir=data["ins"])
    if data.get("identite"):
        patients = patients.filter(identity_status=data["identite"])
    scope = data.get("parmi")
    if scope == PatientSearchForm.MY_GP_PATIENTS:
        patients = patients.filter(gp=professional) if professional else patients.none()
    elif scope == PatientSearchForm.MY_CARE_TEAMS:
        patients = (
            patients.filter(
                in_effect_on(timezone.localdate(), prefix="care_team__"),
                care_team__professional=professional,
            ).distinct()
            if professional
            else patients.none()
        )
    return patients


def _parse_after(value: str) -> tuple[str, int]:
    name, _sep, pk = value.rpartition("~")
    if not pk.isdigit():
        raise Http404
    return name, int(pk)


def search(request: HttpRequest) -> HttpResponse:
    """Search the patients one may see; 50 a page, by birth name (keyset, no count)."""
    if not request.user.is_clinical:
        raise Http404
    form = PatientSearchForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    professional = getattr(request.user, "professional", None)
    patients = filter_patients(
        Patient.objects.visible_to(request.user).filter(merged_into__isnull=True),
        data=data,
        professional=professional,
    )
    after = request.GET.get("apres", "")
    if after:
        name, pk = _parse_after(after)
        patients = patients.filter(Q(birth_last_name__gt=name) | Q(birth_last_name=name, pk__gt=pk))
    rows = list(
        patients.select_related("gp", "commune").order_by("birth_last_name", "pk")[: PAGE_SIZE + 1]
    )
    next_after = ""
    if len(rows) > PAGE_SIZE:
        last = rows[PAGE_SIZE - 1]
        next_after = f"{last.birth_last_name}~{last.pk}"
    # A list of names is an access to patient data too: one trace per list shown.
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="patient_list",
        patient_id=None,
        object_id=str(len(rows[:PAGE_SIZE])),
    )
    query = request.GET.copy()
    query.pop("apres", None)
    first_query = query.urlencode()
    if next_after:
        query["apres"] = next_after
    return render(
        request,
        "patients/patient_search.html",
        {
            "form": form,
            "patients": rows[:PAGE_SIZE],
            "next_query": query.urlencode() if next_after else "",
            "is_later_page": bool(after),
            "first_query": first_query,
        },
    )
