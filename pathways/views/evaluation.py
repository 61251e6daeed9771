"""Evaluation reports for the ARS: the page where an analyst asks for a report and
follows its building (the row of a report being built polls itself with htmx), and the
downloads. Only aggregates: no patient is ever named here."""

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pathways.access import can_extract_pseudonymised, can_request_evaluation
from pathways.evaluation.extract import pseudonymised_extract
from pathways.evaluation.queries import EvaluationQuery
from pathways.models import EvaluationReport, PathwayTemplate
from pathways.services.evaluation import request_report
from tsn.audit import record_access
from tsn.models import AuditEvent, Commune
from tsn.widgets import DateInput, PlainSelect

RECENT_REPORTS = 50


def _scopes() -> list:
    templates = (
        PathwayTemplate.objects.order_by("code", "-is_current", "-version")
        .distinct("code")
        .values_list("code", "name")
    )
    sectors = Commune.objects.exclude(sector="").order_by("sector").values_list("sector", flat=True)
    return [
        ("", gettext_lazy("Territoire entier")),
        (gettext_lazy("Un parcours"), [(f"parcours:{code}", name) for code, name in templates]),
        (gettext_lazy("Un secteur"), [(f"secteur:{name}", name) for name in sectors.distinct()]),
    ]


class ReportForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("Du"),
        widget=DateInput(attrs={"class": "form-control"}),
    )
    end = forms.DateField(
        label=gettext_lazy("Au"),
        widget=DateInput(attrs={"class": "form-control"}),
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("Périmètre"),
        required=False,
        widget=PlainSelect(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = _scopes()

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise ValidationError(_("La date de début doit précéder la date de fin."))
            if end >= timezone.localdate():
                raise ValidationError(_("La période doit être terminée (au plus tard hier)."))
            if end - start > datetime.timedelta(days=3 * 366):
                raise ValidationError(_("La période ne peut dépasser trois ans."))
        kind, _sep, value = data.get("scope", "").partition(":")
        data["template_code"] = value if kind == "parcours" else ""
        data["sector"] = value if kind == "secteur" else ""
        return data


def _last_year() -> dict:
    today = timezone.localdate()
    return {
        "start": datetime.date(today.year - 1, 1, 1),
        "end": datetime.date(today.year - 1, 12, 31),
    }


def _allowed(request: HttpRequest) -> None:
    """The reports are the ARS analysts' and the administrators' (others: no such page)."""
    if not can_request_evaluation(request.user):
        raise Http404


def evaluation_reports(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    extract_form = ReportForm(initial=_last_year(), prefix="extrait")
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            request_report(
                user=request.user,
                start=data["start"],
                end=data["end"],
                template_code=data["template_code"],
                sector=data["sector"],
            )
            messages.success(request, _("Rapport demandé : il se construit ci-dessous."))
            return redirect("pathways:evaluation_reports")
        status = 400
    else:
        form = ReportForm(initial=_last_year())
        status = 200
    return _page(request, form, extract_form, status)


def _page(request: HttpRequest, form: ReportForm, extract_form: ReportForm, status: int):
    reports = _labelled(EvaluationReport.objects.select_related("requested_by")[:RECENT_REPORTS])
    return render(
        request,
        "pathways/evaluation/reports.html",
        {
            "form": form,
            "reports": reports,
            "extract_form": extract_form,
            "may_extract": can_extract_pseudonymised(request.user),
        },
        status=status,
    )


def pseudonymised_extract_download(request: HttpRequest) -> HttpResponse:
    """The research extract of a period (administrators; every download audited)."""
    if not can_extract_pseudonymised(request.user):
        raise Http404
    if request.method != "POST":
        return redirect("pathways:evaluation_reports")
    form = ReportForm(request.POST, prefix="extrait")
    if not form.is_valid():
        return _page(request, ReportForm(initial=_last_year()), form, 400)
    data = form.cleaned_data
    query = EvaluationQuery(data["start"], data["end"], data["template_code"], data["sector"])
    content, lines = pseudonymised_extract(query, timezone.now())
    record_access(
        request=request,
        action=AuditEvent.Action.EXPORT,
        object_type="pseudonymised_extract",
        patient_id=None,
        object_id=f"{query.start}/{query.end}/{data['scope']}/{lines}",
    )
    name = f"extrait-pseudonymise-{query.start}-{query.end}.csv"
    return HttpResponse(
        content,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _labelled(reports) -> list[EvaluationReport]:
    """The reports, each with its `scope_label` (one query for the templates' names)."""
    reports = list(reports)
    names = dict(
        PathwayTemplate.objects.filter(code__in={r.template_code for r in reports})
        .order_by("code", "-is_current", "-version")
        .distinct("code")
        .values_list("code", "name")
    )
    for report in reports:
        if report.template_code:
            name = names.get(report.template_code, report.template_code)
            report.scope_label = _("Parcours « %(name)s »") % {"name": name}
        elif report.sector:
            report.scope_label = _("Secteur « %(sector)s »") % {"sector": report.sector}
        else:
            report.scope_label = _("Territoire entier")
    return reports


def evaluation_report_row(request: HttpRequest, report_pk: int) -> HttpResponse:
    """One report's row, polled by the page while the report is being built."""
    _allowed(request)
    report = get_object_or_404(
        EvaluationReport.objects.select_related("requested_by"), pk=report_pk
    )
    return render(
        request, "pathways/evaluation/reports.html#report_row", {"report": _labelled([report])[0]}
    )


def evaluation_report_file(request: HttpRequest, report_pk: int, kind: str) -> FileResponse:
    _allowed(request)
    report = get_object_or_404(EvaluationReport, pk=report_pk, status=EvaluationReport.Status.DONE)
    file = report.pdf if kind == "pdf" else report.csv
    name = f"rapport-evaluation-{report.period_start}-{report.period_end}.{kind}"
    try:
        content = file.open("rb")
    except FileNotFoundError:  # (the media folder lost it: rebuilding the report remakes it)
        raise Http404 from None
    return FileResponse(content, as_attachment=True, filename=name)
