"""The portal's pages for a patient or an authorised caregiver: the record's home (care team,
pathways and coming steps, care plan), the shared timeline, documents, messages with the
coordination, who accessed the record, and the patient's objections.

Every page reaches the record through `portal_patient`, which checks and traces the access.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from pathways.models import CarePlanVersion, Pathway, Step
from pathways.pdf import render_pdf
from patients.access import can_read_access_log
from patients.models import CareTeamMember, ConsentRecord, Document, LiaisonMessage, Patient
from patients.services import record_professional_objection, withdraw_objection
from portal.access import portal_patient, portal_records
from portal.presenting import labelled_goals_and_actions, with_organisations
from portal.services import post_message_to_coordination
from professionals.models import Professional
from tsn.audit import record_access
from tsn.audit_search import page_before
from tsn.keyset import cursor_after, older_than, parse_cursor
from tsn.models import AuditEvent, User
from tsn.periods import in_effect_on

TIMELINE_PAGE_SIZE = 20
MESSAGES_SHOWN = 50


def records(request: HttpRequest) -> HttpResponse:
    """The user's records: straight to the only one, or the list (a caregiver of several)."""
    patients = portal_records(request)
    if len(patients) == 1:
        return redirect("portal:home", pk=patients[0].pk)
    if patients:  # their names are shown: a traced access, as the mentions list
        record_access(
            request=request,
            action=AuditEvent.Action.READ,
            object_type="portal_records",
            patient_id=None,
            object_id=str(len(patients)),
        )
    return render(request, "portal/records.html", {"patients": patients})


def _care_team(patient: Patient) -> list[CareTeamMember]:
    return list(
        CareTeamMember.objects.filter(in_effect_on(timezone.localdate()), patient=patient)
        .select_related("professional")
        .order_by("role", "professional__last_name")
    )


def _current_care_plan(patient: Patient) -> CarePlanVersion | None:
    return (
        CarePlanVersion.objects.filter(care_plan__patient=patient)
        .select_related("referent")
        .order_by("-number")
        .first()
    )


def _action(request: HttpRequest) -> str:
    """The trace of a portal page: a read, or an update when the user sends something (the
    patient's own statements, not a clinical write: no write access is needed)."""
    return AuditEvent.Action.UPDATE if request.method == "POST" else AuditEvent.Action.READ


def _is_the_patient(user: User, patient: Patient) -> bool:
    """The patient themself, not a caregiver: objections are theirs (403 for a caregiver, as
    for who accessed the record)."""
    return patient.user_id == user.pk


def home(request: HttpRequest, pk: int) -> HttpResponse:
    patient = portal_patient(request, pk)
    today = timezone.localdate()
    pathways = list(
        Pathway.objects.filter(patient=patient, status=Pathway.Status.ACTIVE)
        .select_related("template", "referent")
        .prefetch_related(
            Prefetch(
                "steps",
                queryset=Step.objects.filter(status__in=Step.OPEN_STATUSES)
                .filter(Q(scheduled_at__date__gte=today) | Q(scheduled_at=None))
                .select_related("template_step", "assignee")
                .order_by("scheduled_at", "due_on", "template_step__order"),
                to_attr="coming_steps",
            )
        )
        .order_by("enrolled_on")
    )
    recent = list(
        patient.timeline.filter(shared_with_patient=True)
        .select_related("author")
        .order_by("-occurred_at", "-id")[:5]
    )
    return render(
        request,
        "portal/home.html",
        {
            "patient": patient,
            "is_the_patient": _is_the_patient(request.user, patient),
            "team": _care_team(patient),
            "pathways": pathways,
            "care_plan": _current_care_plan(patient),
            "recent_events": recent,
        },
    )


def care_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """The current care plan (PPCS) in plain words: goals, who does what, preferences."""
    patient = portal_patient(request, pk, object_type="care_plan")
    version = _current_care_plan(patient)
    return render(
        request,
        "portal/care_plan.html",
        {
            "patient": patient,
            "version": version,
            **labelled_goals_and_actions(version),
        },
    )


def timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """The events the care team shared with the patient, newest first, page by page."""
    patient = portal_patient(request, pk, object_type="timeline")
    events = patient.timeline.filter(shared_with_patient=True)
    cursor = parse_cursor(request.GET.get("before"))
    if cursor:
        events = events.filter(older_than("occurred_at", cursor))
    page = list(
        events.select_related("author", "organization").order_by("-occurred_at", "-id")[
            : TIMELINE_PAGE_SIZE + 1
        ]
    )
    next_cursor = None
    if len(page) > TIMELINE_PAGE_SIZE:
        page = page[:TIMELINE_PAGE_SIZE]
        next_cursor = cursor_after(page[-1].occurred_at, page[-1].pk)
    return render(
        request,
        "portal/timeline.html",
        {"patient": patient, "events": page, "next_cursor": next_cursor},
    )


def documents(request: HttpRequest, pk: int) -> HttpResponse:
    """The documents of the events shared with the patient."""
    patient = portal_patient(request, pk, object_type="documents")
    shared = (
        Document.objects.filter(patient=patient, event__shared_with_patient=True)
        .select_related("event")
        .order_by("-uploaded_at", "-id")
    )
    return render(request, "portal/documents.html", {"patient": patient, "documents": shared})


class MessageForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Votre message à l'équipe de coordination"),
        max_length=4000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
    )


def conversation(request: HttpRequest, pk: int) -> HttpResponse:
    """The liaison messages addressed to the user, their own, and a message to write."""
    patient = portal_patient(request, pk, object_type="liaison", action=_action(request))
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            post_message_to_coordination(
                author=request.user, patient=patient, body=form.cleaned_data["body"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Votre message a été transmis à l'équipe de coordination."))
            return redirect("portal:conversation", pk=patient.pk)
    shown = list(
        LiaisonMessage.objects.filter(patient=patient)
        .filter(Q(mentions=request.user) | Q(author=request.user))
        .distinct()
        .select_related("author")
        .order_by("-sent_at", "-id")[:MESSAGES_SHOWN]
    )
    return render(
        request,
        "portal/conversation.html",
        {"patient": patient, "liaison_messages": shown, "form": form},
    )


def access_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Who accessed my record: every trace, newest first (the patient's own page)."""
    patient = portal_patient(request, pk, also=can_read_access_log, object_type="access_log")
    events, next_cursor = page_before(
        AuditEvent.objects.filter(patient_id=patient.pk).select_related("actor"),
        parse_cursor(request.GET.get("before")),
    )
    return render(
        request,
        "portal/access_log.html",
        {"patient": patient, "events": with_organisations(events), "next_cursor": next_cursor},
    )


def access_log_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole access log of the record as a PDF (the traces kept: one year by default)."""
    patient = portal_patient(
        request,
        pk,
        also=can_read_access_log,
        object_type="access_log_pdf",
        action=AuditEvent.Action.EXPORT,
    )
    events = list(
        AuditEvent.objects.filter(patient_id=patient.pk)
        .select_related("actor")
        .order_by("-occurred_at", "-id")
    )
    pdf = render_pdf(
        "portal/access_log_pdf.html",
        {"patient": patient, "events": with_organisations(events), "now": timezone.now()},
        request,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="acces-dossier-{patient.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


class ObjectionForm(forms.Form):
    professional = forms.ModelChoiceField(
        label=gettext_lazy("Professionnel"),
        queryset=Professional.objects.none(),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, team: list[CareTeamMember], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["professional"].queryset = Professional.objects.filter(
            pk__in=[member.professional_id for member in team]
        ).order_by("last_name", "first_name")


def objections(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient objects to a named professional of their team seeing the record (from
    their next request on), and withdraws an objection."""
    patient = portal_patient(
        request, pk, also=_is_the_patient, object_type="consent", action=_action(request)
    )
    team = _care_team(patient)
    form = ObjectionForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        professional = form.cleaned_data["professional"]
        record_professional_objection(
            patient=patient, professional=professional, recorded_by=request.user
        )
        messages.success(
            request,
            _("%(name)s ne peut plus consulter votre dossier.") % {"name": professional},
        )
        return redirect("portal:objections", pk=patient.pk)
    current = list(
        ConsentRecord.objects.filter(
            patient=patient,
            kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
            withdrawn_at=None,
        )
        .select_related("professional")
        .order_by("-recorded_at")
    )
    return render(
        request,
        "portal/objections.html",
        {"patient": patient, "form": form, "objections": current},
    )


@require_POST
def objection_withdraw(request: HttpRequest, pk: int, objection_pk: int) -> HttpResponse:
    patient = portal_patient(
        request, pk, also=_is_the_patient, object_type="consent", action=AuditEvent.Action.UPDATE
    )
    objection = get_object_or_404(
        ConsentRecord,
        pk=objection_pk,
        patient=patient,
        kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
    )
    withdraw_objection(objection=objection)
    messages.success(
        request,
        _("%(name)s peut de nouveau consulter votre dossier.") % {"name": objection.professional},
    )
    return redirect("portal:objections", pk=patient.pk)
