"""Enrolment, the life of a pathway and of its steps, and template versions.

Every change of status is claimed with a conditional UPDATE (`WHERE status = <the status
the user saw>`): of two users completing the same step at once, one changes it and the
other is told it is already done. Each change leaves a `Transition` and a timeline event.
"""

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from pathways.models import (
    MonitoringRule,
    Pathway,
    PathwayTemplate,
    Step,
    StepTemplate,
    Transition,
)
from patients.models import CareTeamMember, ConsentRecord, Patient, TimelineEvent
from patients.services import add_timeline_event
from professionals.models import Professional, SupportService
from tsn.periods import in_effect_on

Status = Pathway.Status
StepStatus = Step.Status

# Who usually does a step of a given profession, among the care team.
_ROLE_OF_PROFESSION = {
    Professional.Profession.PHYSICIAN: CareTeamMember.Role.GP,
    Professional.Profession.NURSE: CareTeamMember.Role.NURSE,
    Professional.Profession.PHARMACIST: CareTeamMember.Role.PHARMACIST,
    Professional.Profession.PHYSIOTHERAPIST: CareTeamMember.Role.PHYSIOTHERAPIST,
    Professional.Profession.SOCIAL_WORKER: CareTeamMember.Role.SOCIAL_WORKER,
    Professional.Profession.HOME_HELP: CareTeamMember.Role.HOME_HELP,
}


def _record(
    *,
    request: HttpRequest,
    pathway: Pathway,
    to_status: str,
    from_status: str = "",
    step: Step | None = None,
    reason: str = "",
) -> Transition:
    return Transition.objects.create(
        pathway=pathway,
        step=step,
        actor=request.user,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
    )


def _event(
    *, request: HttpRequest, pathway: Pathway, kind: str, title: str, body: str = "", **fields
) -> TimelineEvent:
    # The steps of their pathway are the patient's own appointments: on their portal too.
    return add_timeline_event(
        request=request,
        patient=pathway.patient,
        kind=kind,
        title=title[:200],
        body=body,
        pathway=pathway,
        shared_with_patient=True,
        **fields,
    )


def default_assignees(patient: Patient, template: PathwayTemplate) -> dict[int, Professional]:
    """Step template id -> the active care-team member of the matching role, if any."""
    members = {
        member.role: member.professional
        for member in CareTeamMember.objects.filter(in_effect_on(timezone.localdate()))
        .filter(patient=patient)
        .select_related("professional")
        .order_by("start", "pk")
    }
    assignees = {}
    for step in template.steps.all():
        role = _ROLE_OF_PROFESSION.get(step.responsible_profession)
        if role in members:
            assignees[step.pk] = members[role]
    return assignees


def due_dates(
    steps: Iterable[StepTemplate],
    start: datetime.date,
    discharged_on: datetime.date | None = None,
) -> dict[int, datetime.date | None]:
    """Step template id -> due date, counted from enrolment, from the previous step's, or
    from the hospital discharge; None for a step counted from a discharge not yet known
    (the hospital feed dates it) and for a step counted from such an undated step."""
    dates: dict[int, datetime.date | None] = {}
    previous: datetime.date | None = start
    for step in steps:
        if step.relative_to == StepTemplate.RelativeTo.DISCHARGE:
            base = discharged_on
        elif step.relative_to == StepTemplate.RelativeTo.PREVIOUS_STEP:
            base = previous
        else:
            base = start
        due = base + datetime.timedelta(days=step.deadline_days) if base else None
        dates[step.pk] = previous = due
    return dates


# A discharge this recent is the one a new pathway follows.
RECENT_DISCHARGE = datetime.timedelta(days=30)


def recent_discharge(patient: Patient, on: datetime.date) -> datetime.date | None:
    """The day of the patient's latest hospital discharge in the month before `on` (from
    the hospital feed or recorded by hand), unless it was entered in error."""
    moment = (
        TimelineEvent.objects.filter(
            patient=patient,
            kind=TimelineEvent.Kind.HOSPITAL_DISCHARGE,
            occurred_at__date__gte=on - RECENT_DISCHARGE,
            corrections__isnull=True,
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    return timezone.localdate(moment) if moment else None


@transaction.atomic
def enrol_patient(
    *,
    request: HttpRequest,
    patient: Patient,
    template: PathwayTemplate,
    origin: str,
    referent: Professional | None = None,
    support_service: SupportService | None = None,
    enrolled_on: datetime.date | None = None,
    assignees: Mapping[int, Professional] | None = None,
) -> Pathway:
    """Propose a pathway to the patient: the steps of the template's version, with due
    dates and assignees (given, or the care team's member of the matching role)."""
    if not template.is_current:
        raise ValidationError(
            _("Cette version du modèle a été remplacée : choisissez la version en vigueur."),
            code="template_not_current",
        )
    if patient.pathways.filter(
        template__code=template.code, status__in=[Status.PROPOSED, Status.ACTIVE, Status.SUSPENDED]
    ).exists():
        raise ValidationError(_("Le patient suit déjà ce parcours."), code="already_enrolled")
    enrolled_on = enrolled_on or timezone.localdate()
    steps = list(template.steps.order_by("order"))
    chosen = default_assignees(patient, template) | dict(assignees or {})
    pathway = Pathway.objects.create(
        patient=patient,
        template=template,
        origin=origin,
        referent=referent,
        support_service=support_service,
        enrolled_on=enrolled_on,
    )
    due = due_dates(steps, enrolled_on, recent_discharge(patient, enrolled_on))
    Step.objects.bulk_create(
        Step(pathway=pathway, template_step=step, due_on=due[step.pk], assignee=chosen.get(step.pk))
        for step in steps
    )
    _record(request=request, pathway=pathway, to_status=Status.PROPOSED)
    _event(
        request=request,
        pathway=pathway,
        kind=TimelineEvent.Kind.NOTE,
        title=_("Proposition d'inclusion dans le parcours « %(name)s »") % {"name": template.name},
    )
    return pathway


def information_given(patient: Patient) -> bool:
    return patient.consents.filter(
        kind=ConsentRecord.Kind.INFORMATION_GIVEN, withdrawn_at__isnull=True
    ).exists()


@transaction.atomic
def change_pathway_status(
    *, request: HttpRequest, pathway: Pathway, to: str, reason: str = "", informed: bool = False
) -> Pathway:
    """Activate, suspend, resume, complete or exit a pathway.

    Activation needs the patient's information recorded (`informed` records it now);
    completion needs every required step done or skipped; exit needs a reason."""
    if not pathway.may_become(to):
        raise ValidationError(
            _("Un parcours « %(from)s » ne peut pas passer à « %(to)s »."),
            code="not_allowed",
            params={"from": Status(pathway.status).label, "to": Status(to).label},
        )
    if to == Status.ACTIVE and pathway.status == Status.PROPOSED:
        if informed and not information_given(pathway.patient):
            ConsentRecord.objects.create(
                patient=pathway.patient,
                kind=ConsentRecord.Kind.INFORMATION_GIVEN,
                recorded_by=request.user,
                note=_("Recueilli à l'inclusion dans le parcours."),
            )
        elif not information_given(pathway.patient):
            raise ValidationError(
                _("Le parcours devient actif une fois l'information du patient tracée."),
                code="not_informed",
            )
    if (
        to == Status.COMPLETED
        and pathway.steps.filter(
            template_step__required=True, status__in=Step.OPEN_STATUSES
        ).exists()
    ):
        raise ValidationError(
            _("Des étapes obligatoires restent à réaliser ou à déclarer non réalisées."),
            code="required_steps_open",
        )
    if to == Status.EXITED and not reason.strip():
        raise ValidationError(_("Indiquez le motif de sortie."), code="reason_required")
    closing = to in Pathway.CLOSED_STATUSES
    changes = {"status": to, "updated_at": timezone.now()}
    if closing:
        changes["ended_on"] = timezone.localdate()
    if to == Status.EXITED:
        changes["exit_reason"] = reason
    claimed = Pathway.objects.filter(pk=pathway.pk, status=pathway.status).update(**changes)
    if not claimed:
        raise ValidationError(
            _("Le parcours vient d'être modifié par quelqu'un d'autre : rechargez la page."),
            code="concurrent_change",
        )
    from_status = pathway.status
    for field, value in changes.items():
        setattr(pathway, field, value)
    _record(request=request, pathway=pathway, from_status=from_status, to_status=to, reason=reason)
    _event(
        request=request,
        pathway=pathway,
        kind=TimelineEvent.Kind.NOTE,
        title=_status_title(from_status, to) % {"name": pathway.template.name},
        body=reason,
    )
    return pathway


def _status_title(from_status: str, to: str) -> str:
    if from_status == Status.SUSPENDED and to == Status.ACTIVE:
        return _("Parcours « %(name)s » repris")
    return {
        Status.ACTIVE: _("Parcours « %(name)s » actif"),
        Status.SUSPENDED: _("Parcours « %(name)s » suspendu"),
        Status.COMPLETED: _("Parcours « %(name)s » terminé"),
        Status.EXITED: _("Sortie du parcours « %(name)s »"),
    }[to]


def _blocked_by(step: Step) -> Step | None:
    """The earlier blocking step not yet done, which this step has to wait for."""
    return (
        Step.objects.filter(
            pathway_id=step.pathway_id,
            template_step__blocking=True,
            template_step__order__lt=step.template_step.order,
        )
        .exclude(status=StepStatus.DONE)
        .select_related("template_step")
        .order_by("template_step__order")
        .first()
    )


def _check_step_may_move(step: Step, to: str) -> None:
    if step.pathway.status != Status.ACTIVE:
        raise ValidationError(
            _("Les étapes d'un parcours « %(status)s » ne peuvent pas être modifiées."),
            code="pathway_not_active",
            params={"status": Status(step.pathway.status).label},
        )
    if to != StepStatus.SCHEDULED and not step.may_become(to):
        raise ValidationError(
            _("Cette étape est déjà « %(status)s »."),
            code="not_allowed",
            params={"status": StepStatus(step.status).label},
        )
    if to in (StepStatus.SCHEDULED, StepStatus.DONE):
        blocker = _blocked_by(step)
        if blocker is not None:
            raise ValidationError(
                _("Cette étape attend l'étape « %(name)s »."),
                code="blocked",
                params={"name": blocker.template_step.name},
            )


def _claim(step: Step, **changes) -> None:
    """Apply `changes` if the step still has the status the user saw, else refuse."""
    if not Step.objects.filter(pk=step.pk, status=step.status).update(**changes):
        raise ValidationError(
            _("L'étape vient d'être modifiée par quelqu'un d'autre : rechargez la page."),
            code="concurrent_change",
        )


@transaction.atomic
def schedule_step(
    *,
    request: HttpRequest,
    step: Step,
    scheduled_at: datetime.datetime,
    place: str = "",
    assignee: Professional | None = None,
) -> Step:
    """Give the step an appointment (date, place or video link, professional)."""
    if step.status not in Step.OPEN_STATUSES:
        raise ValidationError(
            _("Cette étape est déjà « %(status)s »."),
            code="not_allowed",
            params={"status": StepStatus(step.status).label},
        )
    _check_step_may_move(step, StepStatus.SCHEDULED)
    assignee = assignee or step.assignee
    _claim(
        step,
        status=StepStatus.SCHEDULED,
        scheduled_at=scheduled_at,
        place=place,
        assignee=assignee,
    )
    from_status = step.status
    step.status, step.scheduled_at, step.place, step.assignee = (
        StepStatus.SCHEDULED,
        scheduled_at,
        place,
        assignee,
    )
    if from_status != StepStatus.SCHEDULED:
        _record(
            request=request,
            pathway=step.pathway,
            step=step,
            from_status=from_status,
            to_status=StepStatus.SCHEDULED,
        )
    return step


@transaction.atomic
def assign_step(*, request: HttpRequest, step: Step, assignee: Professional | None) -> Step:
    """Change who is responsible for an open step (no change of status)."""
    if step.status not in Step.OPEN_STATUSES:
        raise ValidationError(
            _("Cette étape est déjà « %(status)s »."),
            code="not_allowed",
            params={"status": StepStatus(step.status).label},
        )
    _claim(step, assignee=assignee)
    step.assignee = assignee
    return step


def _reschedule_followers(step: Step, done_on: datetime.date) -> None:
    """Steps counted from this one now count from the day it was done."""
    following = (
        Step.objects.filter(
            pathway_id=step.pathway_id,
            template_step__order=step.template_step.order + 1,
            template_step__relative_to=StepTemplate.RelativeTo.PREVIOUS_STEP,
            status__in=Step.OPEN_STATUSES,
        )
        .select_related("template_step")
        .first()
    )
    if following is not None:
        due = done_on + datetime.timedelta(days=following.template_step.deadline_days)
        Step.objects.filter(pk=following.pk).update(due_on=due)


@transaction.atomic
def complete_step(
    *,
    request: HttpRequest,
    step: Step,
    done_at: datetime.datetime | None = None,
    outcome: str = "",
) -> Step:
    """Mark the step done, with its outcome note, on the timeline."""
    _check_step_may_move(step, StepStatus.DONE)
    done_at = done_at or timezone.now()
    _claim(step, status=StepStatus.DONE, done_at=done_at, outcome=outcome)
    event = _event(
        request=request,
        pathway=step.pathway,
        kind=TimelineEvent.Kind.PATHWAY_STEP,
        title=_("Étape réalisée : %(name)s") % {"name": step.template_step.name},
        body=outcome,
        occurred_at=done_at,
    )
    Step.objects.filter(pk=step.pk).update(timeline_event=event)
    from_status = step.status
    step.status, step.done_at, step.outcome, step.timeline_event = (
        StepStatus.DONE,
        done_at,
        outcome,
        event,
    )
    _record(
        request=request,
        pathway=step.pathway,
        step=step,
        from_status=from_status,
        to_status=StepStatus.DONE,
    )
    _reschedule_followers(step, timezone.localdate(done_at))
    return step


@transaction.atomic
def skip_step(*, request: HttpRequest, step: Step, reason: str) -> Step:
    """Declare a step not done, with the reason (never a blocking one)."""
    _check_step_may_move(step, StepStatus.SKIPPED)
    if step.template_step.blocking:
        raise ValidationError(
            _("Une étape bloquante ne peut pas être déclarée non réalisée."), code="blocking"
        )
    if not reason.strip():
        raise ValidationError(_("Indiquez pourquoi l'étape n'est pas réalisée."), code="reason")
    _claim(step, status=StepStatus.SKIPPED, outcome=reason)
    from_status = step.status
    step.status, step.outcome = StepStatus.SKIPPED, reason
    _record(
        request=request,
        pathway=step.pathway,
        step=step,
        from_status=from_status,
        to_status=StepStatus.SKIPPED,
        reason=reason,
    )
    _event(
        request=request,
        pathway=step.pathway,
        kind=TimelineEvent.Kind.PATHWAY_STEP,
        title=_("Étape non réalisée : %(name)s") % {"name": step.template_step.name},
        body=reason,
    )
    return step


def complete_care_plan_validation_steps(
    *, request: HttpRequest, patient: Patient, outcome: str
) -> list[Step]:
    """The open "care plan validated by the GP" steps of the patient's active pathways,
    done now (called inside the validation's transaction)."""
    steps = Step.objects.filter(
        pathway__patient=patient,
        pathway__status=Status.ACTIVE,
        template_step__validates_care_plan=True,
        status__in=Step.OPEN_STATUSES,
    ).select_related("pathway__patient", "pathway__template", "template_step")
    return [complete_step(request=request, step=step, outcome=outcome) for step in steps]


@dataclass(frozen=True)
class StepDraft:
    """A step of a template version being written."""

    name: str
    responsible_profession: str
    deadline_days: int
    relative_to: str = StepTemplate.RelativeTo.ENROLMENT
    required: bool = True
    blocking: bool = False
    validates_care_plan: bool = False
    # Days past the due date before an overdue step raises an alert (None: none).
    grace_days: int | None = 0


@transaction.atomic
def revise_template(
    *,
    template: PathwayTemplate,
    name: str,
    description: str,
    steps: list[StepDraft],
    no_contact_days: int | None = None,
) -> PathwayTemplate:
    """Save an edited template as a new version, which becomes the current one; pathways
    already running keep the version they were enrolled with."""
    if not steps:
        raise ValidationError(_("Un modèle de parcours a au moins une étape."), code="no_step")
    current = PathwayTemplate.objects.select_for_update().get(pk=template.pk)
    if not current.is_current:
        raise ValidationError(
            _("Une version plus récente de ce modèle existe : repartez de celle-ci."),
            code="stale_template",
        )
    latest = PathwayTemplate.objects.filter(code=current.code).aggregate(n=Max("version"))["n"]
    PathwayTemplate.objects.filter(pk=current.pk).update(is_current=False)
    revised = PathwayTemplate.objects.create(
        code=current.code,
        version=latest + 1,
        name=name,
        description=description,
        is_current=True,
        no_contact_days=no_contact_days,
    )
    StepTemplate.objects.bulk_create(
        StepTemplate(
            template=revised,
            order=order,
            name=draft.name,
            responsible_profession=draft.responsible_profession,
            deadline_days=draft.deadline_days,
            relative_to=draft.relative_to,
            required=draft.required,
            blocking=draft.blocking,
            validates_care_plan=draft.validates_care_plan,
            grace_days=draft.grace_days or 0,
        )
        for order, draft in enumerate(steps, start=1)
    )
    # The remote-monitoring thresholds carry over to the new version unchanged.
    MonitoringRule.objects.bulk_create(
        MonitoringRule(
            template=revised,
            kind=rule.kind,
            comparison=rule.comparison,
            threshold=rule.threshold,
            window_days=rule.window_days,
            severity=rule.severity,
        )
        for rule in current.monitoring_rules.order_by("pk")
    )
    return revised
