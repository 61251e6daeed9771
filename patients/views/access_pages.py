"""Break-the-glass and the record's access log."""

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from patients.access import can_read_access_log, get_patient_for
from patients.models import Patient
from patients.services import open_break_glass
from tsn.audit_search import page_before
from tsn.keyset import parse_cursor
from tsn.models import AuditEvent


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label=_("Justification"),
        min_length=15,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        help_text=_(
            "Pourquoi devez-vous accéder à ce dossier sans faire partie de l'équipe de soins ? "
            "L'accès dure 4 heures, il est tracé et le coordinateur référent est prévenu."
        ),
    )


def break_glass(request: HttpRequest, pk: int) -> HttpResponse:
    """A professional outside the team opens a record for a limited time, with a reason."""
    if not request.user.is_clinical:
        raise Http404
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Existence is revealed only once the justification is given (and audited).
        patient = Patient.objects.filter(pk=pk).first()
        if patient is None:
            raise Http404
        open_break_glass(request=request, patient=patient, reason=form.cleaned_data["reason"])
        return redirect("patients:detail", pk=pk)
    return render(request, "patients/break_glass_form.html", {"form": form, "pk": pk})


def access_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Who accessed this record, when, and why for break-the-glass."""
    patient = get_patient_for(request, pk, also=can_read_access_log, object_type="access_log")
    events, next_cursor = page_before(
        AuditEvent.objects.filter(patient_id=patient.pk), parse_cursor(request.GET.get("before"))
    )
    return render(
        request,
        "patients/access_log.html",
        {"patient": patient, "events": events, "next_cursor": next_cursor},
    )
