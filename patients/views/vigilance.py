"""Identity vigilance for the territory's administrators: possible duplicate records."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.models import Patient
from patients.services import merge_patients
from tsn.audit import client_ip, record_access
from tsn.models import AuditEvent, User

MAX_PAIRS = 100
# pg_trgm similarity of "birth name + first names" above which two records born the same
# day are worth a look.
CLOSE_NAMES = 0.6

# Pairs born the same day (a hash join on birth_date, not a comparison of every pair):
# same strict traits after removing accents and case, or names close by trigrams.
_DUPLICATES_SQL = f"""
SELECT first_id, second_id, score, strict FROM (
    SELECT a.id AS first_id, b.id AS second_id,
        similarity(
            unaccent(lower(a.birth_last_name || ' ' || a.first_names)),
            unaccent(lower(b.birth_last_name || ' ' || b.first_names))
        ) AS score,
        (
            unaccent(upper(a.birth_last_name)) = unaccent(upper(b.birth_last_name))
            AND split_part(unaccent(upper(a.first_names)), ' ', 1)
                = split_part(unaccent(upper(b.first_names)), ' ', 1)
            AND a.sex = b.sex
        ) AS strict
    FROM {Patient._meta.db_table} a
    JOIN {Patient._meta.db_table} b ON a.birth_date = b.birth_date AND a.id < b.id
    WHERE a.merged_into_id IS NULL AND b.merged_into_id IS NULL
) AS pairs
WHERE strict OR score >= %s
ORDER BY strict DESC, score DESC, first_id, second_id
LIMIT %s
"""  # noqa: S608 (only our own table name is interpolated)  # nosec B608


@dataclass(frozen=True)
class DuplicatePair:
    first: Patient
    second: Patient
    score: float
    strict: bool


def possible_duplicates(limit: int = MAX_PAIRS) -> list[DuplicatePair]:
    """Pairs of records that may be the same person, the surest first."""
    with connection.cursor() as cursor:
        cursor.execute(_DUPLICATES_SQL, [CLOSE_NAMES, limit])
        rows = cursor.fetchall()
    patients = Patient.objects.select_related("commune").in_bulk(
        {pk for first, second, _score, _strict in rows for pk in (first, second)}
    )
    return [
        DuplicatePair(patients[first], patients[second], score, strict)
        for first, second, score, strict in rows
    ]


def duplicates(request: HttpRequest) -> HttpResponse:
    """Possible duplicates, for the administrators in charge of identity vigilance."""
    if request.user.role != User.Role.ADMINISTRATOR:
        raise Http404
    pairs = possible_duplicates()
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="duplicate_list",
        patient_id=None,
        object_id=str(len(pairs)),
    )
    return render(request, "patients/duplicates.html", {"pairs": pairs})


class MergeForm(forms.Form):
    kept = forms.TypedChoiceField(
        label=gettext_lazy("Dossier à conserver"),
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Motif de la fusion"),
        min_length=10,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        help_text=gettext_lazy(
            "Par exemple : même personne, identité vérifiée sur pièce d'identité. "
            "Le motif est conservé dans les deux dossiers."
        ),
    )

    def __init__(self, *args, pair: tuple[Patient, Patient], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kept"].choices = [
            (patient.pk, f"n° {patient.pk} — {patient.birth_last_name} {patient.first_names}")
            for patient in pair
        ]


def _ids(request: HttpRequest) -> tuple[int, int]:
    try:
        first, second = int(request.GET["a"]), int(request.GET["b"])
    except (KeyError, ValueError):
        raise Http404 from None
    if first == second:
        raise Http404
    return first, second


def merge(request: HttpRequest) -> HttpResponse:
    """Compare two records (?a=&b=) and merge one into the other, with a reason."""
    if request.user.role != User.Role.ADMINISTRATOR:
        raise Http404
    ids = _ids(request)
    found = (
        Patient.objects.select_related("commune", "gp")
        .filter(pk__in=ids, merged_into__isnull=True)
        .in_bulk()
    )
    if len(found) != 2:
        raise Http404
    pair = (found[ids[0]], found[ids[1]])
    form = MergeForm(request.POST or None, pair=pair)
    if request.method == "POST" and form.is_valid():
        kept = found[form.cleaned_data["kept"]]
        merged = pair[1] if kept is pair[0] else pair[0]
        try:
            merge_patients(
                kept=kept,
                merged=merged,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                client_ip=client_ip(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Le dossier n° %(merged)s a été fusionné dans le dossier n° %(kept)s.")
                % {"merged": merged.pk, "kept": kept.pk},
            )
            return redirect("patients:duplicates")
    for patient in pair:
        record_access(
            request=request,
            action=AuditEvent.Action.READ,
            object_type="patient_merge",
            patient_id=patient.pk,
        )
    return render(
        request,
        "patients/merge_form.html",
        {"pair": pair, "form": form},
        status=400 if request.method == "POST" else 200,
    )
