"""Satisfaction and experience questionnaires (issue 11): which ones are due, the
catalogue of their questions, the form, the writing of an answer, and the pages.

Patients and caregivers answer on the portal, about one pathway: "after inclusion"
(`INCLUSION_DELAY` after the enrolment, once they have met the coordination) and "at
pathway end" (within `END_WINDOW` of a completed pathway; an exit, a death among others,
asks nothing). Clinical users (professionals and coordinators) answer once per calendar
quarter. The scores feed the evaluation report (pathways/evaluation/: aggregates only,
small counts masked); the comment, free text, is shown to its author only and never
logged.
"""

import datetime
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, Exists, OuterRef, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from pathways.models import Pathway
from patients.models import Patient
from portal.access import portal_patient
from portal.models import SatisfactionResponse
from tsn.models import AuditEvent, User

Kind = SatisfactionResponse.RespondentKind
Moment = SatisfactionResponse.Moment
Question = SatisfactionResponse.Question

# "After inclusion" waits two weeks: the patient has met the coordination by then, and
# has something to say about it.
INCLUSION_DELAY = datetime.timedelta(days=14)
# "At pathway end" is asked for three months after a completed pathway, then dropped.
END_WINDOW = datetime.timedelta(days=90)
SCORES = range(1, 6)
COMMENT_MAX_LENGTH = 2000

# The scale, the same for every question: agreement with the statement.
SCALE = {
    1: _("Pas du tout d'accord"),
    2: _("Plutôt pas d'accord"),
    3: _("Ni d'accord ni pas d'accord"),
    4: _("Plutôt d'accord"),
    5: _("Tout à fait d'accord"),
}

# The statements each kind of respondent is asked to rate, in order (the short labels
# of the reports are the Question choices). Patients and caregivers answer the same ones.
_ABOUT_THE_PATHWAY: dict[str, Promise] = {
    Question.INFORMED: _("J'ai reçu des informations claires sur le parcours et son déroulement."),
    Question.LISTENED: _("Je me suis senti·e écouté·e par les professionnels."),
    Question.COORDINATION: _("Les professionnels qui interviennent se coordonnent bien entre eux."),
    Question.WHOM_TO_CALL: _("Je sais qui appeler en cas de besoin ou de question."),
    Question.OVERALL: _("Dans l'ensemble, je suis satisfait·e de l'accompagnement."),
}
CATALOGUE: dict[str, dict[str, Promise]] = {
    Kind.PATIENT: _ABOUT_THE_PATHWAY,
    Kind.CAREGIVER: _ABOUT_THE_PATHWAY,
    Kind.PROFESSIONAL: {
        Question.DAC_COORDINATION: _(
            "La coordination avec le dispositif d'appui (DAC) est efficace pour mes patients."
        ),
        Question.USEFULNESS: _("La plateforme est utile à ma pratique."),
        Question.TIME_SAVED: _("La plateforme me fait gagner du temps."),
        Question.OVERALL: _("Dans l'ensemble, je suis satisfait·e de la plateforme."),
    },
}

NOT_A_MESSAGE = _(
    "Ce commentaire n'est pas transmis à votre équipe : pour une question sur votre suivi, "
    "contactez-la directement."
)
ALREADY_ANSWERED = _("Vous avez déjà répondu à ce questionnaire. Merci !")
THANKS = _("Merci pour vos réponses : elles nous aident à améliorer l'accompagnement.")


# --- Which questionnaires are due ---------------------------------------------------------


def quarter_start(day: datetime.date) -> datetime.date:
    """The first day of the calendar quarter of `day`."""
    return datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def respondent_kind(user: User, patient: Patient) -> str:
    """How a portal user answers about this record: as the patient, or as a caregiver."""
    return Kind.PATIENT if patient.user_id == user.pk else Kind.CAREGIVER


def due_pathways(user: User, patient: Patient, today: datetime.date) -> QuerySet[Pathway]:
    """The patient's pathways about which `user` has a questionnaire to answer, each
    annotated with `due_moment` (inclusion or end): one query."""
    answered = SatisfactionResponse.objects.filter(
        respondent=user, pathway=OuterRef("pk"), moment=OuterRef("due_moment")
    )
    return (
        Pathway.objects.filter(patient=patient)
        .annotate(
            due_moment=Case(
                When(
                    status=Pathway.Status.ACTIVE,
                    enrolled_on__lte=today - INCLUSION_DELAY,
                    then=Value(Moment.INCLUSION),
                ),
                When(
                    status=Pathway.Status.COMPLETED,
                    ended_on__gte=today - END_WINDOW,
                    then=Value(Moment.END),
                ),
                default=None,
                output_field=CharField(),
            )
        )
        .filter(due_moment__isnull=False)
        .exclude(Exists(answered))
        .select_related("template")
        .order_by("enrolled_on", "pk")
    )


def answered_about(user: User, patient: Patient) -> QuerySet[SatisfactionResponse]:
    """What `user` has answered about the patient's pathways, newest first: one query."""
    return (
        SatisfactionResponse.objects.filter(respondent=user, pathway__patient=patient)
        .select_related("pathway__template")
        .order_by("-submitted_at", "-pk")
    )


def quarterly_due(user: User, today: datetime.date) -> bool:
    """Whether a clinical user has this quarter's questionnaire still to answer (one
    query; none for any other user)."""
    if not user.is_authenticated or not user.is_clinical:
        return False
    return not SatisfactionResponse.objects.filter(
        respondent=user, moment=Moment.QUARTERLY, quarter_start=quarter_start(today)
    ).exists()


# --- The form and the writing of an answer ------------------------------------------------


class QuestionnaireForm(forms.Form):
    """One required radio set of scores 1..5 per question of the respondent's kind, and
    an optional comment."""

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        for code, statement in CATALOGUE[kind].items():
            self.fields[code] = forms.TypedChoiceField(
                label=statement,
                choices=list(SCALE.items()),
                coerce=int,
                widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                error_messages={
                    "required": _("Choisissez une réponse à cette question."),
                    "invalid_choice": _("Choisissez une réponse de 1 à 5."),
                },
            )
        self.fields["comment"] = forms.CharField(
            label=_("Un commentaire ? (facultatif)"),
            required=False,
            max_length=COMMENT_MAX_LENGTH,
            widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
            help_text="" if kind == Kind.PROFESSIONAL else NOT_A_MESSAGE,
        )

    def question_fields(self) -> list[forms.BoundField]:
        return [self[code] for code in CATALOGUE[self.kind]]

    @property
    def answers(self) -> dict[str, int]:
        return {code: self.cleaned_data[code] for code in CATALOGUE[self.kind]}


def _check_answers(kind: str, answers: dict[str, int]) -> None:
    if set(answers) != set(CATALOGUE[kind]):
        raise ValidationError(_("Répondez à toutes les questions."), code="incomplete")
    if any(type(score) is not int or score not in SCORES for score in answers.values()):
        raise ValidationError(_("Choisissez une réponse de 1 à 5."), code="score")


@transaction.atomic
def record_response(
    *,
    respondent: User,
    kind: str,
    moment: str,
    answers: dict[str, int],
    comment: str = "",
    pathway: Pathway | None = None,
    quarter: datetime.date | None = None,
) -> SatisfactionResponse:
    """Save one questionnaire's answers (ValidationError when incomplete, out of the
    scale, or already answered)."""
    _check_answers(kind, answers)
    try:
        # A savepoint: a second answer sent twice at once fails on the unique constraint.
        with transaction.atomic():
            return SatisfactionResponse.objects.create(
                respondent=respondent,
                respondent_kind=kind,
                moment=moment,
                pathway=pathway,
                quarter_start=quarter,
                answers=answers,
                comment=comment,
            )
    except IntegrityError as error:
        raise ValidationError(ALREADY_ANSWERED, code="already_answered") from error


# --- Pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    pathway: Pathway
    moment: str

    @property
    def moment_label(self) -> str:
        return Moment(self.moment).label


def questionnaires(request: HttpRequest, pk: int) -> HttpResponse:
    """The record's questionnaires for the portal's user: those due, those answered."""
    patient = portal_patient(request, pk, object_type="satisfaction_questionnaire")
    due = [
        Due(pathway, pathway.due_moment)
        for pathway in due_pathways(request.user, patient, timezone.localdate())
    ]
    answered = list(answered_about(request.user, patient))
    return render(
        request,
        "portal/questionnaires.html",
        {"patient": patient, "due": due, "answered": answered},
    )


def questionnaire(request: HttpRequest, pk: int, moment: str, pathway_pk: int) -> HttpResponse:
    """One pathway's questionnaire (after inclusion, at its end): the form, and its answers."""
    posted = request.method == "POST"
    patient = portal_patient(
        request,
        pk,
        object_type="satisfaction_response" if posted else "satisfaction_questionnaire",
        object_id=pathway_pk,
        action=AuditEvent.Action.CREATE if posted else AuditEvent.Action.READ,
    )
    if moment not in (Moment.INCLUSION, Moment.END):
        raise Http404
    pathway = (
        due_pathways(request.user, patient, timezone.localdate())
        .filter(pk=pathway_pk, due_moment=moment)
        .first()
    )
    if pathway is None:
        answered = SatisfactionResponse.objects.filter(
            respondent=request.user, pathway__patient=patient, pathway=pathway_pk, moment=moment
        )
        if not answered.exists():
            raise Http404
        messages.info(request, ALREADY_ANSWERED)
        return redirect("portal:questionnaires", pk=patient.pk)
    kind = respondent_kind(request.user, patient)
    form = QuestionnaireForm(request.POST if posted else None, kind=kind)
    if posted and form.is_valid():
        try:
            record_response(
                respondent=request.user,
                kind=kind,
                moment=moment,
                answers=form.answers,
                comment=form.cleaned_data["comment"],
                pathway=pathway,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, THANKS)
            return redirect("portal:questionnaires", pk=patient.pk)
    return render(
        request,
        "portal/questionnaire_form.html",
        {"patient": patient, "pathway": pathway, "moment": Moment(moment), "form": form},
        status=400 if form.errors else 200,
    )


def questionnaire_pro(request: HttpRequest) -> HttpResponse:
    """This quarter's questionnaire of a professional or coordinator (404 for others)."""
    if not request.user.is_clinical:
        raise Http404
    today = timezone.localdate()
    quarter = quarter_start(today)
    due = quarterly_due(request.user, today)
    form = QuestionnaireForm(
        request.POST if request.method == "POST" and due else None, kind=Kind.PROFESSIONAL
    )
    if form.is_bound and form.is_valid():
        try:
            record_response(
                respondent=request.user,
                kind=Kind.PROFESSIONAL,
                moment=Moment.QUARTERLY,
                answers=form.answers,
                comment=form.cleaned_data["comment"],
                quarter=quarter,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, THANKS)
            return redirect("home")
    return render(
        request,
        "portal/questionnaire_pro.html",
        {"form": form, "due": due, "quarter": quarter},
        status=400 if form.errors else 200,
    )
