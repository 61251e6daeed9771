"""The patient file: identity band, shared timeline (keyset pages), posting and corrections."""

import datetime
import itertools
from dataclasses import dataclass

from django import forms
from django.apps import apps
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from patients.access import can_read_access_log, can_write_patient, get_patient_for
from patients.models import ConsentRecord, Patient, SeenMark, TimelineEvent
from patients.services import add_timeline_event, mark_entered_in_error, mark_seen
from professionals.models import Organization
from tsn.keyset import cursor_after, older_than, parse_cursor
from tsn.widgets import DateInput

PAGE_SIZE = 50
# The pathways shown in the band, with their referent coordinators.
SHOWN_PATHWAY_STATUSES = ("active",)
POSTABLE_KINDS = (
    TimelineEvent.Kind.NOTE,
    TimelineEvent.Kind.CONSULTATION,
    TimelineEvent.Kind.HOME_VISIT,
)


class TimelineFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Nature"),
        required=False,
        choices=[("", _("Toutes")), *TimelineEvent.Kind.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    # Validated as a number only: the choices (organisations of this timeline) are listed
    # on the full page; an unknown one simply matches nothing.
    organization = forms.IntegerField(
        label=_("Organisation"),
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    # Validated as a number only, like the organisation: the choices are the patient's
    # pathways, listed on the full page.
    pathway = forms.IntegerField(
        label=pgettext_lazy("one pathway", "Parcours"),
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    start = forms.DateField(
        label=_("Du"),
        required=False,
        widget=DateInput(attrs={"class": "form-control form-control-sm"}),
    )
    end = forms.DateField(
        label=_("Au"),
        required=False,
        widget=DateInput(attrs={"class": "form-control form-control-sm"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        # Ids of its own: the record's page also shows the event form, whose "kind" field
        # would otherwise share its id (and its label would name the wrong field).
        kwargs.setdefault("auto_id", "filtre_%s")
        super().__init__(*args, **kwargs)

    def filter(self, events: QuerySet[TimelineEvent]) -> QuerySet[TimelineEvent]:
        """`events` narrowed by the valid filters (an invalid one is ignored)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if data.get("kind"):
            events = events.filter(kind=data["kind"])
        if data.get("organization"):
            events = events.filter(organization_id=data["organization"])
        if data.get("pathway"):
            events = events.filter(pathway_id=data["pathway"])
        if data.get("start"):
            events = events.filter(occurred_at__gte=_day_start(data["start"]))
        if data.get("end"):
            events = events.filter(
                occurred_at__lt=_day_start(data["end"] + datetime.timedelta(days=1))
            )
        return events


class TimelineEventForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Nature"),
        choices=[(kind.value, kind.label) for kind in POSTABLE_KINDS],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    title = forms.CharField(
        label=_("Titre"), max_length=200, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    body = forms.CharField(
        label=_("Contenu"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
    )
    occurred_at = forms.DateTimeField(
        label=_("Date de l'événement"),
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
        ),
    )

    shared_with_patient = forms.BooleanField(
        label=_("Partager avec le patient et ses aidants"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input ms-2"}),
        help_text=_("L'événement apparaîtra sur leur portail ; il ne pourra plus être retiré."),
    )

    def clean_occurred_at(self) -> datetime.datetime:
        occurred_at = self.cleaned_data["occurred_at"]
        if occurred_at > timezone.now() + datetime.timedelta(minutes=5):
            raise ValidationError(_("L'événement ne peut pas être dans le futur."), code="future")
        return occurred_at


class DocumentForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier (PDF, JPEG ou PNG)"),
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ".pdf,.jpg,.jpeg,.png"}
        ),
    )
    title = forms.CharField(
        label=_("Titre"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        help_text=_("Par défaut, le nom du fichier."),
    )

    def __init__(self, *args, **kwargs) -> None:
        # Ids of its own: its "title" would otherwise share the event form's id on the page.
        kwargs.setdefault("auto_id", "document_%s")
        super().__init__(*args, **kwargs)


class CorrectionForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif de la correction"),
        max_length=2000,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )


@dataclass
class TimelineDay:
    day: datetime.date
    events: list["TimelineEntry"]
    continued: bool = False


@dataclass(slots=True)
class Correction:
    recorded_at: datetime.datetime
    author: str
    body: str


@dataclass(slots=True)
class TimelineEntry:
    """What the timeline shows of one event, computed once (the template only prints)."""

    pk: int
    occurred_at: datetime.datetime
    kind: str
    kind_label: str
    time_label: str
    byline: str
    title: str
    body: str
    is_new: bool
    error_url: str
    corrects_id: int | None
    corrects_title: str
    corrects_occurred_at: datetime.datetime | None
    document_pk: int | None
    document_name: str
    document_size: int | None
    page_corrections: list[Correction]


@dataclass
class TimelinePage:
    days: list[TimelineDay]
    next_query: str


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _parse_seen(value: str) -> datetime.datetime | None:
    try:
        seen = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return seen if timezone.is_aware(seen) else None


# The columns a timeline entry needs, in the order TimelineEntry is built from them.
_ROW = (
    "id", "occurred_at", "recorded_at", "kind", "title", "body", "source", "corrects_id",
    "author__first_name", "author__last_name", "organization__name",
    "document__id", "document__original_name", "document__size",
    "corrects__title", "corrects__occurred_at",
)  # fmt: skip


def timeline_page(
    patient: Patient,
    query: QueryDict,
    *,
    before: tuple[datetime.datetime, int] | None,
    seen_before: datetime.datetime | None,
) -> TimelinePage:
    """One keyset page of the timeline, newest first, grouped by day: two queries."""
    events = TimelineFilterForm(query).filter(
        TimelineEvent.objects.filter(patient_id__in=patient.record_ids())
    )
    if before is not None:
        events = events.filter(older_than("occurred_at", before))
    # Plain rows, not model instances: a page is read 50 rows at a time, all day long.
    rows = list(events.order_by("-occurred_at", "-id").values_list(*_ROW)[: PAGE_SIZE + 1])
    page_rows, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    corrections: dict[int, list[Correction]] = {}
    if page_rows:
        for corrects_id, recorded_at, first, last, body in (
            TimelineEvent.objects.filter(corrects_id__in=[row[0] for row in page_rows])
            .order_by("recorded_at", "id")
            .values_list(
                "corrects_id", "recorded_at", "author__first_name", "author__last_name", "body"
            )
        ):
            author = f"{first} {last}" if last else ""
            corrections.setdefault(corrects_id, []).append(Correction(recorded_at, author, body))
    # Labels translated once per page, not once per event (get_FOO_display translates all).
    kinds, sources = dict(TimelineEvent.Kind.choices), dict(TimelineEvent.Source.choices)
    # The correction page of an event is the timeline's URL + "<event id>/erreur/" (a test
    # holds it to reverse()): one reverse() per page instead of one per event.
    timeline_url = reverse("patients:timeline", args=[patient.pk])
    page = []
    for (
        pk, occurred_at, recorded_at, kind, title, body, source, corrects_id,
        author_first, author_last, organization, document_pk, document_name, document_size,
        corrects_title, corrects_occurred_at,
    ) in page_rows:  # fmt: skip
        by = f"{author_first} {author_last}" if author_last else sources.get(source, source)
        page.append(
            TimelineEntry(
                pk=pk,
                occurred_at=occurred_at,
                kind=kind,
                kind_label=kinds.get(kind, kind),
                time_label=timezone.localtime(occurred_at).strftime("%H:%M"),
                byline=f"{by} · {organization}" if organization else by,
                title=title,
                body=body,
                is_new=seen_before is not None and recorded_at > seen_before,
                error_url=f"{timeline_url}{pk}/erreur/",
                corrects_id=corrects_id,
                corrects_title=corrects_title or "",
                corrects_occurred_at=corrects_occurred_at,
                document_pk=document_pk,
                document_name=document_name or "",
                document_size=document_size,
                page_corrections=corrections.get(pk, []),
            )
        )
    days = [
        TimelineDay(day=day, events=list(group))
        for day, group in itertools.groupby(
            page, key=lambda event: timezone.localdate(event.occurred_at)
        )
    ]
    if days and before is not None and days[0].day == timezone.localdate(before[0]):
        days[0].continued = True
    next_query = ""
    if more:
        params = query.copy()
        last = page[-1]
        params["before"] = cursor_after(last.occurred_at, last.pk)
        if seen_before is not None:
            params["vu"] = seen_before.isoformat()
        next_query = params.urlencode()
    return TimelinePage(days=days, next_query=next_query)


def _header(patient: Patient) -> dict[str, object]:
    """The identity band: pathways and their referents, alerts, caregivers, consent."""
    every_pathway = list(
        patient.pathways.select_related("template", "referent").order_by("enrolled_on", "id")
    )
    pathways = [p for p in every_pathway if p.status in SHOWN_PATHWAY_STATUSES]
    consent = {
        kind: Exists(
            ConsentRecord.objects.filter(patient=OuterRef("pk"), kind=kind, withdrawn_at=None)
        )
        for kind in (ConsentRecord.Kind.INFORMATION_GIVEN, ConsentRecord.Kind.SHARING_OBJECTION)
    }
    # Pathways sit above patients: their steps are named, not imported.
    overdue = (
        apps.get_model("pathways", "Step")
        .objects.filter(
            pathway__patient=OuterRef("pk"),
            pathway__status__in=SHOWN_PATHWAY_STATUSES,
            status__in=("planned", "scheduled"),
            due_on__lt=timezone.localdate(),
        )
        .order_by()
        .values("pathway__patient")
        .annotate(n=Count("pk"))
        .values("n")
    )
    figures = (
        Patient.objects.filter(pk=patient.pk)
        .values("pk")
        .annotate(
            overdue_steps=Coalesce(Subquery(overdue), 0),
            open_alerts=Count("alerts", filter=~Q(alerts__status="resolved")),
            information_given=consent[ConsentRecord.Kind.INFORMATION_GIVEN],
            sharing_objection=consent[ConsentRecord.Kind.SHARING_OBJECTION],
        )
        .get()
    )
    return {
        "every_pathway": every_pathway,
        "pathways": pathways,
        "referents": list(
            {p.referent_id: p.referent for p in pathways if p.referent is not None}.values()
        ),
        "open_alerts": figures["open_alerts"],
        "overdue_steps": figures["overdue_steps"],
        "caregivers": list(patient.caregivers.order_by("last_name", "first_name")),
        "information_given": figures["information_given"],
        "sharing_objection": figures["sharing_objection"],
    }


def render_record(
    request: HttpRequest,
    patient: Patient,
    *,
    event_form: TimelineEventForm | None = None,
    document_form: forms.Form | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole patient file; the caller has already called get_patient_for."""
    before = None
    if request.GET.get("before"):
        before = parse_cursor(request.GET["before"])
        if before is None:
            return HttpResponseBadRequest()
    seen_before = mark_seen(user=request.user, patient=patient, part=SeenMark.Part.TIMELINE)
    filters = TimelineFilterForm(request.GET)
    organizations = Organization.objects.filter(
        pk__in=patient.timeline.exclude(organization=None).values("organization_id")
    ).order_by("name")
    filters.fields["organization"].widget.choices = [("", gettext("Toutes"))] + [
        (organization.pk, organization.name) for organization in organizations
    ]
    header = _header(patient)
    filters.fields["pathway"].widget.choices = [("", gettext("Tous"))] + [
        (
            pathway.pk,
            gettext("%(name)s, depuis le %(date)s (%(status)s)")
            % {
                "name": pathway.template.name,
                "date": date_format(pathway.enrolled_on, "SHORT_DATE_FORMAT"),
                "status": pathway.get_status_display(),
            },
        )
        for pathway in header["every_pathway"]
    ]
    can_write = can_write_patient(request.user, patient)
    context = {
        "patient": patient,
        **header,
        "filters": filters,
        "filtered": any(request.GET.get(name) for name in filters.fields),
        "timeline": timeline_page(patient, request.GET, before=before, seen_before=seen_before),
        "seen_before": seen_before,
        "can_write": can_write,
        "can_read_access_log": can_read_access_log(request.user, patient),
        "event_form": event_form
        or TimelineEventForm(initial={"occurred_at": timezone.localtime().replace(second=0)}),
        "document_form": document_form or DocumentForm(),
    }
    return render(request, "patients/patient_detail.html", context, status=status)


def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient file and the first page of its timeline."""
    patient = get_patient_for(request, pk)
    return render_record(request, patient)


def timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """The next timeline page, for the "load more" button (htmx fragment)."""
    patient = get_patient_for(request, pk, object_type="timeline")
    before = parse_cursor(request.GET.get("before", ""))
    if before is None:
        return HttpResponseBadRequest()
    page = timeline_page(
        patient, request.GET, before=before, seen_before=_parse_seen(request.GET.get("vu", ""))
    )
    return render(
        request,
        "patients/patient_detail.html#timeline-page",
        {
            "patient": patient,
            "timeline": page,
            "can_write": can_write_patient(request.user, patient),
        },
    )


@require_POST
def post_event(request: HttpRequest, pk: int) -> HttpResponse:
    """A note, consultation or home-visit summary written from the patient file."""
    patient = get_patient_for(request, pk, write=True, object_type="timeline_event")
    form = TimelineEventForm(request.POST)
    if not form.is_valid():
        return render_record(request, patient, event_form=form, status=400)
    add_timeline_event(request=request, patient=patient, **form.cleaned_data)
    messages.success(request, gettext("L'événement a été ajouté au fil du patient."))
    return redirect("patients:detail", pk=patient.pk)


@require_http_methods(["GET", "POST"])
def mark_event_in_error(request: HttpRequest, pk: int, event_pk: int) -> HttpResponse:
    """Mark an event as entered in error: a correcting event is added, the old one stays."""
    patient = get_patient_for(
        request, pk, write=True, object_type="timeline_event", object_id=event_pk
    )
    event = get_object_or_404(
        TimelineEvent.objects.select_related("author", "organization"), pk=event_pk, patient=patient
    )
    form = CorrectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mark_entered_in_error(request=request, event=event, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("L'événement est marqué comme saisi par erreur."))
            return redirect("patients:detail", pk=patient.pk)
    return render(
        request,
        "patients/timeline_event_error.html",
        {"patient": patient, "event": event, "form": form},
        status=400 if request.method == "POST" else 200,
    )
