"""Tele-expertise: a patient's requests and the ask form (patient-scoped), and the
expert's inbox, where the specialist reads the question and its documents and answers."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, DateTimeField, F, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from pathways.access import get_tele_expertise_for_expert, tele_expertise_for_expert
from pathways.models import TeleExpertiseRequest
from pathways.services.tele_expertise import (
    DEFAULT_ANSWER_DAYS,
    MAX_ANSWER_DAYS,
    answer_tele_expertise,
    ask_tele_expertise,
    cancel_tele_expertise,
)
from patients.access import can_write_patient, get_patient_for
from patients.models import Document, Patient
from patients.views.team import ProfessionalChoiceField
from tsn.audit import record_access
from tsn.models import AuditEvent

INBOX_PAGE_SIZE = 50
Status = TeleExpertiseRequest.Status


class AskForm(forms.Form):
    # Named "professional": the directory picker posts its radio buttons under this name.
    professional = ProfessionalChoiceField(label=_("Professionnel requis"))
    question = forms.CharField(
        label=_("Question"),
        max_length=20_000,
        error_messages={"required": _("Posez votre question.")},
        widget=forms.Textarea(attrs={"rows": 5, "class": "form-control"}),
    )
    documents = forms.ModelMultipleChoiceField(
        label=_("Documents joints"),
        queryset=Document.objects.none(),
        required=False,
        error_messages={
            "invalid_choice": _("Ce document n'appartient pas au dossier de ce patient."),
            "invalid_pk_value": _("Ce document n'appartient pas au dossier de ce patient."),
        },
        widget=forms.CheckboxSelectMultiple,
    )
    answer_within_days = forms.IntegerField(
        label=_("Réponse attendue sous (jours)"),
        required=False,
        min_value=1,
        max_value=MAX_ANSWER_DAYS,
        initial=DEFAULT_ANSWER_DAYS,
        help_text=_("%(days)s jours si vous laissez vide.") % {"days": DEFAULT_ANSWER_DAYS},
        error_messages={
            "invalid": _("Indiquez un nombre de jours."),
            "min_value": _("Le délai de réponse est d'au moins un jour."),
            "max_value": _("Le délai de réponse est d'au plus %(limit_value)s jours."),
        },
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args, patient: Patient, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].queryset = patient.documents.order_by("-uploaded_at", "-pk")

    def clean_answer_within_days(self) -> int:
        return self.cleaned_data["answer_within_days"] or DEFAULT_ANSWER_DAYS


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Votre réponse"),
        max_length=20_000,
        error_messages={"required": _("Rédigez votre réponse.")},
        widget=forms.Textarea(attrs={"rows": 6, "class": "form-control"}),
    )


# --- A patient's tele-expertise requests (patient-scoped) ---


def _render_requests(
    request: HttpRequest,
    patient: Patient,
    *,
    form: AskForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    can_write = can_write_patient(request.user, patient)
    requests = list(
        patient.tele_expertise_requests.select_related("requester", "expert")
        .prefetch_related("documents")
        .order_by("-asked_at", "-pk")
    )
    for item in requests:
        item.late = item.is_late(now)
        item.cancellable = (
            can_write and item.status == Status.ASKED and item.requester.user_id == request.user.pk
        )
    return render(
        request,
        "pathways/tele_expertise_list.html",
        {
            "patient": patient,
            "requests": requests,
            "can_write": can_write,
            "form": form or AskForm(patient=patient),
            "error": error,
        },
        status=status,
    )


def tele_expertise(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's tele-expertise requests with their answers, and the ask form."""
    patient = get_patient_for(request, pk, object_type="tele_expertise")
    return _render_requests(request, patient)


@require_POST
def tele_expertise_ask(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for(request, pk, write=True, object_type="tele_expertise")
    form = AskForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            asked = ask_tele_expertise(
                request=request,
                patient=patient,
                expert=form.cleaned_data["professional"],
                question=form.cleaned_data["question"],
                documents=form.cleaned_data["documents"],
                answer_within_days=form.cleaned_data["answer_within_days"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                gettext("Question envoyée à %(expert)s.") % {"expert": asked.expert},
            )
            return redirect("pathways:tele_expertise", pk=patient.pk)
    return _render_requests(request, patient, form=form, status=400)


@require_POST
def tele_expertise_cancel(request: HttpRequest, pk: int, request_pk: int) -> HttpResponse:
    patient = get_patient_for(
        request, pk, write=True, object_type="tele_expertise", object_id=request_pk
    )
    asked = get_object_or_404(
        TeleExpertiseRequest.objects.select_related("requester", "expert"),
        pk=request_pk,
        patient=patient,
    )
    asked.patient = patient
    try:
        cancel_tele_expertise(request=request, tele_expertise=asked)
    except ValidationError as error:
        return _render_requests(request, patient, error=" ".join(error.messages), status=400)
    messages.success(request, gettext("Demande de télé-expertise annulée."))
    return redirect("pathways:tele_expertise", pk=patient.pk)


# --- The expert's inbox ---


class InboxFilterForm(forms.Form):
    statut = forms.ChoiceField(
        label=_("Statut"),
        required=False,
        choices=[("", _("Tous")), *Status.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )


def tele_expertise_inbox(request: HttpRequest) -> HttpResponse:
    """The questions addressed to the user: unanswered ones first, by deadline."""
    if not request.user.is_clinical or getattr(request.user, "professional", None) is None:
        raise Http404
    filters = InboxFilterForm(request.GET)
    requests = tele_expertise_for_expert(request.user)
    if filters.is_valid() and filters.cleaned_data["statut"]:
        requests = requests.filter(status=filters.cleaned_data["statut"])
    requests = (
        requests.select_related("patient", "requester")
        .annotate(
            open_until=Case(
                When(status=Status.ASKED, then=F("answer_by")),
                default=None,
                output_field=DateTimeField(),
            )
        )
        .order_by(F("open_until").asc(nulls_last=True), "-asked_at", "-pk")
    )
    page = Paginator(requests, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for item in page:
        item.late = item.is_late(now)
    # A list of names is an access to patient data too: one trace per page shown.
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="tele_expertise_list",
        patient_id=None,
        object_id=str(len(page.object_list)),
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "pathways/tele_expertise_inbox.html",
        {"filters": filters, "page": page, "query": query.urlencode()},
    )


def _render_detail(
    request: HttpRequest,
    asked: TeleExpertiseRequest,
    *,
    form: AnswerForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "pathways/tele_expertise_detail.html",
        {
            "asked": asked,
            "patient": asked.patient,
            "documents": list(asked.documents.order_by("uploaded_at", "pk")),
            "late": asked.is_late(),
            "form": form or AnswerForm(),
        },
        status=status,
    )


def tele_expertise_detail(request: HttpRequest, request_pk: int) -> HttpResponse:
    """The question, who the patient is (names, sex, age), the documents, the answer form."""
    asked = get_tele_expertise_for_expert(request, request_pk)
    return _render_detail(request, asked)


@require_POST
def tele_expertise_answer(request: HttpRequest, request_pk: int) -> HttpResponse:
    asked = get_tele_expertise_for_expert(request, request_pk, write=True)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            answer_tele_expertise(
                request=request, tele_expertise=asked, answer=form.cleaned_data["answer"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("Réponse envoyée ; elle figure au fil du patient."))
            return redirect("pathways:tele_expertise_detail", request_pk=asked.pk)
    return _render_detail(request, asked, form=form, status=400)


def tele_expertise_document(request: HttpRequest, request_pk: int, document_pk: int):
    """A document attached to the request, as an attachment; no other document of the record."""
    asked = get_tele_expertise_for_expert(
        request, request_pk, object_type="document", object_id=document_pk
    )
    if asked.status == Status.CANCELLED:
        raise Http404
    document = get_object_or_404(asked.documents.all(), pk=document_pk)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
