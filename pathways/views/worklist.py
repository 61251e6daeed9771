"""The coordinator's pages: the worklist (alerts and steps to handle), the caseload list,
the data-quality panel, and the saved filters of the first two."""

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from pathways.models import Alert, Pathway, PathwayTemplate, SavedFilter
from pathways.services.alert import acknowledge_alerts, resolve_alerts
from pathways.worklist import (
    CASELOAD_COLUMNS,
    QUALITY_FILTERS,
    CaseloadFilters,
    WorklistFilters,
    caseload_pathways,
    caseload_rows,
    data_quality,
    visible_ids,
    with_overdue_counts,
    worklist,
)
from professionals.models import Professional
from tsn.audit import record_access
from tsn.models import AuditEvent
from tsn.widgets import PlainSelect

CASELOAD_PAGE = 50


def _template_choices() -> list[tuple[str, str]]:
    current = PathwayTemplate.objects.filter(is_current=True).order_by("name")
    return [("", _("Tous")), *current.values_list("code", "name")]


class WorklistFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Nature"),
        required=False,
        choices=[("", _("Alertes et étapes")), ("alert", _("Alertes")), ("step", _("Étapes"))],
        widget=PlainSelect(attrs={"class": "form-select form-select-sm"}),
    )
    severity = forms.TypedChoiceField(
        label=_("Gravité"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Toutes")), *Alert.Severity.choices],
        widget=PlainSelect(attrs={"class": "form-select form-select-sm"}),
    )
    template = forms.ChoiceField(
        label=pgettext_lazy("one pathway", "Parcours"),
        required=False,
        widget=PlainSelect(attrs={"class": "form-select form-select-sm"}),
    )
    overdue = forms.BooleanField(
        label=_("En retard seulement"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = _template_choices()

    def filters(self) -> WorklistFilters:
        """The valid filters (an invalid value is ignored, never an error page)."""
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        return WorklistFilters(
            kind=data.get("kind", ""),
            severity=data.get("severity"),
            template=data.get("template", ""),
            overdue_only=data.get("overdue", False),
        )


class CaseloadFilterForm(forms.Form):
    template = forms.ChoiceField(
        label=pgettext_lazy("one pathway", "Parcours"),
        required=False,
        widget=PlainSelect(attrs={"class": "form-select form-select-sm"}),
    )
    status = forms.ChoiceField(
        label=_("Statut"),
        required=False,
        choices=[("", _("En cours (proposés, actifs, suspendus)")), *Pathway.Status.choices],
        widget=PlainSelect(attrs={"class": "form-select form-select-sm"}),
    )
    referent = forms.ChoiceField(
        label=_("Référent·e"),
        required=False,
        widget=PlainSelect(attrs={"class": "form-select form-select-sm"}),
    )
    # Typed, not picked in a list of the territory's hundreds of communes.
    commune = forms.CharField(
        label=_("Commune (nom ou code INSEE)"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
    overdue = forms.BooleanField(
        label=_("Avec une étape en retard"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    qualite = forms.ChoiceField(
        label=_("Qualité du dossier"),
        required=False,
        choices=[
            ("", _("Tous les dossiers")),
            ("ins", _("Sans INS qualifiée")),
            ("gp", _("Sans médecin traitant")),
            ("review", _("Révision du PPCS dépassée")),
            ("referent", _("Sans référent·e")),
        ],
        widget=PlainSelect(attrs={"class": "form-select form-select-sm"}),
    )

    def __init__(self, *args, colleagues=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = _template_choices()
        self.fields["referent"].choices = [
            ("me", _("Moi")),
            ("all", _("Tous")),
            ("none", _("Sans référent·e")),
            *((str(pk), f"{first} {last}") for pk, first, last in colleagues),
        ]

    def filters(self) -> CaseloadFilters:
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        return CaseloadFilters(
            template=data.get("template", ""),
            status=data.get("status", ""),
            overdue_only=data.get("overdue", False),
            commune=data.get("commune", "").strip(),
            referent=data.get("referent") or "me",
            quality=data.get("qualite", ""),
        )


class SaveFilterForm(forms.Form):
    name = forms.CharField(
        label=_("Nom du filtre"),
        max_length=80,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
    query = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)
    page = forms.ChoiceField(choices=SavedFilter.Page.choices, widget=forms.HiddenInput)


def _coordinator(request: HttpRequest) -> Professional | None:
    """The coordinator's pages are for clinical accounts (others are told the page does not
    exist); None for an account not yet linked to a professional."""
    if not request.user.is_clinical:
        raise Http404
    return getattr(request.user, "professional", None)


def _trace_list(request: HttpRequest, shown: int) -> None:
    """A list of names is an access to patient data too: one trace per list shown."""
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="patient_list",
        patient_id=None,
        object_id=str(shown),
    )


def _unlinked(request: HttpRequest) -> HttpResponse:
    return render(request, "pathways/unlinked_account.html")


def _filter_query(query: QueryDict, ignored: tuple[str, ...] = ("before",)) -> str:
    params = query.copy()
    for name in ignored:
        params.pop(name, None)
    return params.urlencode()


def _saved(request: HttpRequest, page: str) -> list[SavedFilter]:
    return list(SavedFilter.objects.filter(user=request.user, page=page))


def worklist_page(request: HttpRequest) -> HttpResponse:
    """Open alerts and due or overdue steps of the caseload, most severe first."""
    if _coordinator(request) is None:
        return _unlinked(request)
    form = WorklistFilterForm(request.GET)
    today = timezone.localdate()
    items, more = worklist(request.user, form.filters(), today)
    _trace_list(request, len(items))
    return render(
        request,
        "pathways/worklist.html",
        {
            "form": form,
            "items": items,
            "more": more,
            "today": today,
            "saved_filters": _saved(request, SavedFilter.Page.WORKLIST),
            "save_form": SaveFilterForm(
                initial={"page": SavedFilter.Page.WORKLIST, "query": _filter_query(request.GET)}
            ),
            "filtered": bool(_filter_query(request.GET)),
        },
    )


@require_POST
def alerts_update(request: HttpRequest) -> HttpResponse:
    """Acknowledge or resolve the alerts ticked on the worklist."""
    _coordinator(request)
    ids = [int(value) for value in request.POST.getlist("alert") if value.isdigit()]
    action = request.POST.get("action")
    if not ids or action not in ("acknowledge", "resolve"):
        messages.error(request, gettext("Cochez au moins une alerte et choisissez une action."))
    elif action == "acknowledge":
        count = acknowledge_alerts(request=request, alert_ids=ids)
        messages.success(
            request,
            ngettext(
                "%(count)d alerte prise en compte.", "%(count)d alertes prises en compte.", count
            )
            % {"count": count},
        )
    else:
        comment = request.POST.get("comment", "")[:2000]
        count = resolve_alerts(request=request, alert_ids=ids, comment=comment)
        messages.success(
            request,
            ngettext("%(count)d alerte résolue.", "%(count)d alertes résolues.", count)
            % {"count": count},
        )
    # Back to the worklist as it was filtered (our own path, the filters as a query).
    filters = QueryDict(request.POST.get("filters", "")).urlencode()
    return redirect(f"{reverse('pathways:worklist')}?{filters}" if filters else "pathways:worklist")


def caseload_page(request: HttpRequest) -> HttpResponse:
    """The pathways of the coordinator's services, with filters and counts; keyset pages."""
    professional = _coordinator(request)
    if professional is None:
        return _unlinked(request)
    today = timezone.localdate()
    colleagues = (
        Professional.objects.filter(
            support_services__in=professional.support_services.all(),
            profession=Professional.Profession.COORDINATOR,
        )
        .distinct()
        .order_by("last_name", "first_name")
        .values_list("pk", "first_name", "last_name")
    )
    form = CaseloadFilterForm(request.GET, colleagues=colleagues)
    filters = form.filters()
    pathways = caseload_pathways(professional, filters, today)
    counts = dict(pathways.order_by().values_list("status").annotate(n=Count("pk")))
    # Newest pathways first; the next page starts below the last id shown (keyset).
    page = pathways.order_by("-pk")
    before = request.GET.get("before", "")
    if before.isdigit():
        page = page.filter(pk__lt=int(before))
    rows = list(
        with_overdue_counts(page, today).values_list(*CASELOAD_COLUMNS)[: CASELOAD_PAGE + 1]
    )
    next_query = ""
    if len(rows) > CASELOAD_PAGE:
        rows = rows[:CASELOAD_PAGE]
        params = request.GET.copy()
        params["before"] = str(rows[-1][0])
        next_query = params.urlencode()
    # A service follows its pathways' patients, unless one objected to this professional.
    allowed = visible_ids(request.user, {row[1] for row in rows})
    rows = [row for row in rows if row[1] in allowed]
    _trace_list(request, len(rows))
    return render(
        request,
        "pathways/caseload.html",
        {
            "form": form,
            "pathways": caseload_rows(rows),
            "counts": [(label, counts.get(status, 0)) for status, label in Pathway.Status.choices],
            "total": sum(counts.values()),
            "next_query": next_query,
            "saved_filters": _saved(request, SavedFilter.Page.CASELOAD),
            "save_form": SaveFilterForm(
                initial={"page": SavedFilter.Page.CASELOAD, "query": _filter_query(request.GET)}
            ),
        },
    )


def quality_page(request: HttpRequest) -> HttpResponse:
    """Data quality of the open files of the coordinator's services."""
    professional = _coordinator(request)
    if professional is None:
        return _unlinked(request)
    figures = {f.key: f for f in data_quality(professional, timezone.localdate())}
    return render(
        request,
        "pathways/quality.html",
        {"figures": [figures[key] for key in QUALITY_FILTERS]},
    )


@require_POST
def saved_filter_add(request: HttpRequest) -> HttpResponse:
    _coordinator(request)
    form = SaveFilterForm(request.POST)
    target = {"worklist": "pathways:worklist", "caseload": "pathways:caseload"}
    if not form.is_valid():
        messages.error(request, gettext("Donnez un nom au filtre."))
        return redirect(target.get(request.POST.get("page"), "pathways:worklist"))
    SavedFilter.objects.update_or_create(
        user=request.user,
        page=form.cleaned_data["page"],
        name=form.cleaned_data["name"],
        defaults={"query": form.cleaned_data["query"]},
    )
    messages.success(request, gettext("Filtre enregistré."))
    return redirect(target[form.cleaned_data["page"]])


@require_POST
def saved_filter_delete(request: HttpRequest, filter_pk: int) -> HttpResponse:
    saved = get_object_or_404(SavedFilter, pk=filter_pk, user=request.user)
    saved.delete()
    messages.success(request, gettext("Filtre supprimé."))
    return redirect("pathways:worklist" if saved.page == "worklist" else "pathways:caseload")
