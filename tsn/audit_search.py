"""The territory-wide audit search for administrators: filters and keyset pages."""

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tsn.keyset import Cursor, cursor_after, older_than
from tsn.models import AuditEvent
from tsn.widgets import DateInput

PAGE_SIZE = 100


class AuditSearchForm(forms.Form):
    actor = forms.EmailField(
        label=_("Adresse e-mail de la personne"),
        required=False,
        widget=forms.EmailInput(attrs={"class": "form-control"}),
    )
    patient = forms.IntegerField(
        label=_("Numéro de dossier patient"),
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", _("Toutes")), *AuditEvent.Action.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    outcome = forms.ChoiceField(
        label=_("Résultat"),
        required=False,
        choices=[("", _("Tous")), *AuditEvent.Outcome.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    since = forms.DateField(
        label=_("Depuis le"),
        required=False,
        widget=DateInput(attrs={"class": "form-control"}),
    )
    until = forms.DateField(
        label=_("Jusqu'au"),
        required=False,
        widget=DateInput(attrs={"class": "form-control"}),
    )
    break_glass_only = forms.BooleanField(
        label=_("Bris de glace seulement"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def events(self) -> QuerySet[AuditEvent]:
        """The matching events, newest first (call on a valid form)."""
        data = self.cleaned_data
        events = AuditEvent.objects.all()
        if data["actor"]:
            events = events.filter(actor__email=data["actor"].lower())
        if data["patient"]:
            events = events.filter(patient_id=data["patient"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["outcome"]:
            events = events.filter(outcome=data["outcome"])
        if data["since"]:
            events = events.filter(occurred_at__date__gte=data["since"])
        if data["until"]:
            events = events.filter(occurred_at__date__lte=data["until"])
        if data["break_glass_only"]:
            events = events.exclude(break_glass_reason="")
        return events


def page_before(
    events: QuerySet[AuditEvent], cursor: Cursor | None
) -> tuple[list[AuditEvent], str | None]:
    """One keyset page of audit events older than `cursor`, newest first, and the cursor of
    the next page (the territory's search and a record's access log both use it)."""
    if cursor:
        events = events.filter(older_than("occurred_at", cursor))
    rows = list(events.select_related("actor").order_by("-occurred_at", "-id")[: PAGE_SIZE + 1])
    if len(rows) <= PAGE_SIZE:
        return rows, None
    last = rows[PAGE_SIZE - 1]
    return rows[:PAGE_SIZE], cursor_after(last.occurred_at, last.pk)
