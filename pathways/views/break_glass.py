"""Break-the-glass: a professional outside the care team opens a record for a limited
time, with a reason; the referent coordinators are alerted in the same transaction."""

from django import forms
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from pathways.services.alert import alert_break_glass
from patients.models import Patient
from patients.services import open_break_glass


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
    if not request.user.is_clinical:
        raise Http404
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Existence is revealed only once the justification is given (and audited).
        patient = Patient.objects.filter(pk=pk).first()
        if patient is None:
            raise Http404
        with transaction.atomic():
            access = open_break_glass(
                request=request, patient=patient, reason=form.cleaned_data["reason"]
            )
            alert_break_glass(access=access)
        return redirect("patients:detail", pk=pk)
    return render(request, "pathways/break_glass_form.html", {"form": form, "pk": pk})
