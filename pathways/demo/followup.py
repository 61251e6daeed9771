"""The demo patients' pathways, their steps and the coordination alerts they raised, plus
the timeline events that go with them (inclusion, hospital stay, steps done, exit)."""

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext as _

from pathways.catalogue import CATALOGUE_BY_CODE, install_pathway_templates
from pathways.demo.bulk import copy_rows, next_id
from pathways.demo.context import Context
from pathways.demo.directory import Directory
from pathways.demo.population import HEART_FAILURE, PathwayPlan, PatientPlan, Population
from pathways.models import Alert, Pathway, Step, StepTemplate, Transition
from patients.models import CareTeamMember, TimelineEvent
from professionals.models import Organization

Status = Pathway.Status
StepStatus = Step.Status
Role = CareTeamMember.Role
Kind = TimelineEvent.Kind
Source = TimelineEvent.Source
OPEN = (StepStatus.PLANNED, StepStatus.SCHEDULED)

DONE_OUTCOMES = (
    "Réalisé, sans difficulté particulière.",
    "Réalisé ; compte rendu transmis à l'équipe de soins.",
    "Réalisé avec le patient et son aidant.",
    "Réalisé ; points de vigilance notés dans le PPCS.",
)
SKIPPED_OUTCOMES = (
    "Non nécessaire au vu de l'évolution.",
    "Refus du patient.",
    "Déjà réalisé lors d'un précédent suivi.",
)

ORIGIN_WEIGHTS = (
    (Pathway.Origin.GP, 55),
    (Pathway.Origin.HOSPITAL, 15),
    (Pathway.Origin.PROFESSIONAL, 10),
    (Pathway.Origin.PATIENT_FAMILY, 10),
    (Pathway.Origin.SOCIAL_SERVICES, 8),
    (Pathway.Origin.OTHER, 2),
)
PLACES = (
    "Domicile du patient",
    "Cabinet du professionnel",
    "Téléconsultation (lien envoyé au patient)",
)

# A timeline event: (patient, occurred_at, recorded_at, kind, author, organization, title,
# body, source, pathway).
Event = tuple[
    int,
    datetime.datetime,
    datetime.datetime,
    str,
    int | None,
    int | None,
    str,
    str,
    str,
    int | None,
]


@dataclass(frozen=True)
class StepRow:
    """A step template as stored, with the care-team member who usually does it."""

    id: int
    name: str
    deadline_days: int
    after_previous: bool
    required: bool
    blocking: bool
    validates_care_plan: bool
    # Key into PatientPlan.team: a care-team role, or a profession for allied roles.
    doer: str


def _step_rows() -> dict[str, tuple[int, str, list[StepRow]]]:
    """Template code -> (template id, name, its steps in order)."""
    templates = {t.pk: t for t in install_pathway_templates()}
    rows: dict[str, tuple[int, str, list[StepRow]]] = {
        t.code: (t.pk, t.name, []) for t in templates.values()
    }
    for step in StepTemplate.objects.filter(template__in=list(templates)).order_by(
        "template", "order"
    ):
        code = templates[step.template_id].code
        specs = CATALOGUE_BY_CODE[code].steps
        role = specs[step.order - 1].role if step.order <= len(specs) else Role.OTHER
        rows[code][2].append(
            StepRow(
                id=step.pk,
                name=step.name,
                deadline_days=step.deadline_days,
                after_previous=step.relative_to == StepTemplate.RelativeTo.PREVIOUS_STEP,
                required=step.required,
                blocking=step.blocking,
                validates_care_plan=step.validates_care_plan,
                doer=step.responsible_profession if role == Role.OTHER else role,
            )
        )
    return rows


class _FollowUpFactory:
    def __init__(self, ctx: Context, directory: Directory, demo_users: dict[str, int]) -> None:
        self.ctx = ctx
        self.directory = directory
        self.templates = _step_rows()
        self.pathways: list[tuple] = []
        self.steps: list[tuple] = []
        self.alerts: list[tuple] = []
        self.events: list[Event] = []
        # (pathway, step, actor, at, from_status, to_status, reason)
        self.transitions: list[tuple] = []
        self.next_pathway = next_id(Pathway)
        self.next_step = next_id(Step)
        # Only the demo professionals have accounts to assign alerts to.
        self.user_of = {directory.demo[key]: demo_users[key] for key in directory.demo}
        self.hospitals = directory.organizations_by_kind[Organization.Kind.HOSPITAL]

    def day(self, days: int) -> datetime.timedelta:
        return datetime.timedelta(days=days)

    def done_date(
        self, base: datetime.date, due: datetime.date, cutoff: datetime.date
    ) -> datetime.date | None:
        """When a step was done: near its due date, sometimes late, always before cutoff."""
        rng = self.ctx.rng
        late = rng.randint(1, 20) if rng.random() < 0.2 else 0
        latest = min(due + self.day(late), cutoff - self.day(1))
        if latest < base:
            return None
        earliest = max(base, latest - self.day(10))
        return earliest + self.day(rng.randint(0, (latest - earliest).days))

    def add(self, plan: PatientPlan, pathway: PathwayPlan) -> None:
        ctx, rng = self.ctx, self.ctx.rng
        template_id, template_name, steps = self.templates[pathway.template]
        pathway_id = self.next_pathway
        self.next_pathway += 1
        status, enrolled = pathway.status, pathway.enrolled_on
        cutoff = pathway.ended_on or ctx.today
        previous_reference, blocked = enrolled, False
        done_dates = []
        for step in steps:
            base = previous_reference if step.after_previous else enrolled
            due = base + self.day(step.deadline_days)
            assignee = (
                pathway.referent if step.doer == Role.COORDINATOR else plan.team.get(step.doer)
            )
            done = None
            state = StepStatus.PLANNED
            if status == Status.PROPOSED:
                pass
            elif blocked:
                state = (
                    StepStatus.SKIPPED
                    if status in {Status.COMPLETED, Status.EXITED}
                    else (StepStatus.PLANNED)
                )
            elif status == Status.COMPLETED:
                if step.required or rng.random() < 0.7:
                    done = self.done_date(base, due, cutoff)
                state = StepStatus.DONE if done else StepStatus.SKIPPED
            elif status == Status.EXITED:
                if due < cutoff and rng.random() < 0.75:
                    done = self.done_date(base, due, cutoff)
                state = StepStatus.DONE if done else StepStatus.SKIPPED
            else:
                roll = rng.random()
                if due < ctx.today and roll < 0.85:
                    done = self.done_date(base, due, ctx.today)
                elif due >= ctx.today and roll < 0.2:
                    done = self.done_date(base, min(due, ctx.today - self.day(1)), ctx.today)
                if done:
                    state = StepStatus.DONE
                elif due < ctx.today and not step.required and roll < 0.9:
                    state = StepStatus.SKIPPED
                else:
                    state = StepStatus.SCHEDULED if rng.random() < 0.35 else StepStatus.PLANNED
            done_at = ctx.working_time(done) if done else None
            outcome = ""
            if state == StepStatus.DONE:
                outcome = rng.choice(DONE_OUTCOMES)
                done_dates.append(done)
            elif state == StepStatus.SKIPPED:
                outcome = rng.choice(SKIPPED_OUTCOMES)
            scheduled_at, place = None, ""
            if state == StepStatus.SCHEDULED:
                # Appointments fall in the coming weeks, in working hours.
                day = max(due, ctx.today + self.day(rng.randint(1, 21)))
                scheduled_at = ctx.at(day, rng.randint(8, 17), rng.choice((0, 15, 30, 45)))
                place = rng.choice(PLACES)
            step_id = self.next_step
            self.next_step += 1
            self.step_transitions(pathway, pathway_id, step_id, state, done_at, outcome)
            self.steps.append(
                (
                    step_id,
                    pathway_id,
                    step.id,
                    due,
                    assignee,
                    state,
                    scheduled_at,
                    place,
                    done_at,
                    outcome,
                )
            )
            if step.validates_care_plan:
                pathway.care_plan_step = (state, done_at)
            if not blocked:
                self.step_alerts(
                    plan, pathway, pathway_id, step, step_id, due, state, done_at, assignee
                )
            # Nothing after an unfinished blocking step can be done.
            blocked = blocked or (step.blocking and state != StepStatus.DONE)
            if done_at is not None:
                self.events.append(
                    (
                        plan.patient_id,
                        done_at,
                        done_at,
                        Kind.PATHWAY_STEP,
                        assignee,
                        self.directory.workplace.get(assignee),
                        f"Étape réalisée : {step.name}"[:200],
                        outcome,
                        Source.MANUAL,
                        pathway_id,
                    )
                )
            previous_reference = done or due
        ended_on = pathway.ended_on
        if status == Status.COMPLETED:
            last = max(done_dates, default=enrolled)
            ended_on = min(last + self.day(rng.randint(1, 14)), ctx.today - self.day(1))
        pathway.id, pathway.closed_on = pathway_id, ended_on
        self.pathways.append(
            (
                pathway_id,
                ctx.working_time(enrolled),
                ctx.now,
                plan.patient_id,
                template_id,
                status,
                self.directory.dac_service_id,
                pathway.referent,
                self.origin(pathway),
                enrolled,
                ended_on,
                pathway.exit_reason,
            )
        )
        self.pathway_transitions(pathway, pathway_id, ended_on)
        self.pathway_events(plan, pathway, pathway_id, template_name, ended_on)
        self.pathway_alerts(plan, pathway, pathway_id)

    def actor(self, professional: int | None) -> int | None:
        """The account behind a professional (only the demo ones have one)."""
        return self.user_of.get(professional)

    def pathway_transitions(
        self, pathway: PathwayPlan, pathway_id: int, ended_on: datetime.date | None
    ) -> None:
        ctx, referent = self.ctx, self.actor(pathway.referent)
        enrolled = ctx.working_time(pathway.enrolled_on)
        moves = [("", Status.PROPOSED, enrolled, "")]
        if pathway.status != Status.PROPOSED:
            moves.append((Status.PROPOSED, Status.ACTIVE, enrolled, ""))
        if pathway.status == Status.SUSPENDED:
            suspended = ctx.working_time(max(pathway.enrolled_on, ctx.today - self.day(40)))
            moves.append((Status.ACTIVE, Status.SUSPENDED, suspended, "Hospitalisation prolongée"))
        if ended_on is not None:
            ended = ctx.working_time(ended_on)
            moves.append((Status.ACTIVE, pathway.status, ended, pathway.exit_reason))
        self.transitions += [
            (pathway_id, None, referent, at, old, new, reason) for old, new, at, reason in moves
        ]

    def step_transitions(
        self,
        pathway: PathwayPlan,
        pathway_id: int,
        step_id: int,
        state: str,
        done_at: datetime.datetime | None,
        outcome: str,
    ) -> None:
        """Planned steps have no transition of their own (created with the pathway)."""
        ctx, referent = self.ctx, self.actor(pathway.referent)
        # A step scheduled or skipped lately, never before the pathway began.
        lately = min(max(ctx.at(pathway.enrolled_on, 17), ctx.now - self.day(7)), ctx.now)
        if state == StepStatus.DONE:
            self.transitions.append(
                (pathway_id, step_id, referent, done_at, StepStatus.PLANNED, state, "")
            )
        elif state in (StepStatus.SCHEDULED, StepStatus.SKIPPED):
            reason = outcome if state == StepStatus.SKIPPED else ""
            self.transitions.append(
                (pathway_id, step_id, referent, lately, StepStatus.PLANNED, state, reason)
            )

    def origin(self, pathway: PathwayPlan) -> str:
        """Who asked for the pathway: mostly the hospital after a heart-failure stay."""
        if pathway.template == HEART_FAILURE and self.ctx.chance(0.8):
            return Pathway.Origin.HOSPITAL
        origins, weights = zip(*ORIGIN_WEIGHTS, strict=True)
        return self.ctx.rng.choices(origins, weights)[0]

    def pathway_events(
        self,
        plan: PatientPlan,
        pathway: PathwayPlan,
        pathway_id: int,
        name: str,
        ended_on: datetime.date | None,
    ) -> None:
        """The hospital stay that led to a heart-failure pathway (from the hospital feed, so
        in no pathway), then the inclusion and the end, which belong to it."""
        ctx, rng = self.ctx, self.ctx.rng
        dac = self.directory.dac_id
        patient = plan.patient_id
        if pathway.template == HEART_FAILURE:
            doctor = plan.team.get(Role.HOSPITAL)
            hospital = self.directory.workplace.get(doctor) or rng.choice(self.hospitals)
            admitted = ctx.at(
                pathway.enrolled_on - self.day(rng.randint(5, 12)), rng.randint(0, 23)
            )
            discharged = ctx.working_time(pathway.enrolled_on - self.day(rng.randint(0, 1)))
            self.events += [
                (
                    patient,
                    admitted,
                    admitted + datetime.timedelta(minutes=2),
                    Kind.HOSPITAL_ADMISSION,
                    doctor,
                    hospital,
                    "Admission en cardiologie",
                    "Hospitalisation pour décompensation cardiaque.",
                    Source.HL7,
                    None,
                ),
                (
                    patient,
                    discharged,
                    discharged + datetime.timedelta(minutes=2),
                    Kind.HOSPITAL_DISCHARGE,
                    doctor,
                    hospital,
                    "Sortie d'hospitalisation (cardiologie)",
                    "Retour à domicile. Lettre de liaison et ordonnance de sortie transmises.",
                    Source.HL7,
                    None,
                ),
            ]
        if pathway.status == Status.PROPOSED:
            return
        included = ctx.working_time(pathway.enrolled_on)
        self.events.append(
            (
                patient,
                included,
                included,
                Kind.NOTE,
                pathway.referent,
                dac,
                f"Inclusion dans le parcours « {name} »"[:200],
                "Parcours proposé par le médecin traitant et accepté par le patient.",
                Source.SYSTEM,
                pathway_id,
            )
        )
        if ended_on is not None:
            ended = ctx.working_time(ended_on)
            title = (
                f"Fin du parcours « {name} »"
                if pathway.status == Status.COMPLETED
                else f"Sortie du parcours : {pathway.exit_reason}"
            )
            self.events.append(
                (
                    patient,
                    ended,
                    ended,
                    Kind.NOTE,
                    pathway.referent,
                    dac,
                    title[:200],
                    "Synthèse transmise au médecin traitant.",
                    Source.SYSTEM,
                    pathway_id,
                )
            )

    def alert(
        self,
        patient: int,
        kind: str,
        severity: int,
        message: str,
        status: str,
        created: datetime.datetime,
        key: str,
        assignee: int | None,
        resolved: datetime.datetime | None = None,
        *,
        pathway_id: int | None = None,
        step_id: int | None = None,
    ) -> None:
        rng, now = self.ctx.rng, self.ctx.now
        acknowledged = None
        if status != Alert.Status.OPEN:
            acknowledged = min(created + datetime.timedelta(hours=rng.randint(1, 72)), now)
            if resolved is not None:
                acknowledged = min(acknowledged, resolved)
        if status == Alert.Status.RESOLVED and resolved is None:
            resolved = min(acknowledged + datetime.timedelta(hours=rng.randint(1, 96)), now)
        self.alerts.append(
            (
                patient,
                kind,
                severity,
                message[:250],
                created + datetime.timedelta(days=3),
                status,
                self.user_of.get(assignee),
                key,
                pathway_id,
                step_id,
                created,
                acknowledged,
                resolved,
                "",
                # The seeded alerts are history: their escalation, if any, is behind them
                # (a fresh demo's first escalation run has nothing to send).
                Alert.MAX_ESCALATION_LEVEL,
            )
        )

    def step_alerts(
        self,
        plan: PatientPlan,
        pathway: PathwayPlan,
        pathway_id: int,
        step: StepRow,
        step_id: int,
        due: datetime.date,
        state: str,
        done_at: datetime.datetime | None,
        assignee: int | None,
    ) -> None:
        ctx, rng = self.ctx, self.ctx.rng
        if due >= ctx.today or state == StepStatus.SKIPPED:
            return
        created = ctx.at(due, 23)
        key = f"step_overdue:{step_id}:{due}"  # as the scan names it (pathways/services/scan.py)
        message = f"Étape en retard : {step.name}"
        who = assignee if assignee in self.user_of else pathway.referent
        late_days = (ctx.today - due).days
        severity = Alert.Severity.URGENT if late_days > 30 else Alert.Severity.WARNING
        if state in OPEN and pathway.status == Status.ACTIVE:
            # Every late step has had its alert (the scan finds nothing new on a fresh
            # demo); most were dealt with, the others are on the worklists.
            roll = rng.random()
            status = (
                Alert.Status.OPEN
                if roll < 0.25
                else Alert.Status.ACKNOWLEDGED
                if roll < 0.4
                else Alert.Status.RESOLVED
            )
            self.alert(
                plan.patient_id,
                Alert.Kind.STEP_OVERDUE,
                severity,
                message,
                status,
                created,
                key,
                who,
                pathway_id=pathway_id,
                step_id=step_id,
            )
        elif done_at is not None and done_at.date() > due and rng.random() < 0.5:
            self.alert(
                plan.patient_id,
                Alert.Kind.STEP_OVERDUE,
                Alert.Severity.WARNING,
                message,
                Alert.Status.RESOLVED,
                created,
                key,
                who,
                resolved=done_at,
                pathway_id=pathway_id,
                step_id=step_id,
            )

    def pathway_alerts(self, plan: PatientPlan, pathway: PathwayPlan, pathway_id: int) -> None:
        ctx, rng = self.ctx, self.ctx.rng
        patient, enrolled = plan.patient_id, pathway.enrolled_on
        if pathway.template == HEART_FAILURE:
            recent = (ctx.today - enrolled).days <= 10 and pathway.status in {
                Status.PROPOSED,
                Status.ACTIVE,
            }
            status = (
                rng.choice((Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED))
                if recent
                else Alert.Status.RESOLVED
            )
            self.alert(
                patient,
                Alert.Kind.HOSPITAL_DISCHARGE,
                Alert.Severity.URGENT,
                "Sortie d'hospitalisation : organiser le retour à domicile",
                status,
                min(ctx.at(enrolled, 8), ctx.now - datetime.timedelta(hours=2)),
                f"hospital_discharge:{patient}:{enrolled:%Y%m%d}",
                pathway.referent,
            )
        # (The care-plan review alerts follow from the care plans: `coordination`.)
        if pathway.status == Status.SUSPENDED and rng.random() < 0.5:
            self.alert(
                patient,
                Alert.Kind.NO_CONTACT,
                Alert.Severity.WARNING,
                "Aucun contact avec le patient depuis plus de 30 jours",
                Alert.Status.OPEN,
                ctx.now - datetime.timedelta(days=rng.randint(1, 20)),
                f"no_contact:{patient}",
                pathway.referent,
            )


def build_followup(
    ctx: Context, directory: Directory, population: Population, demo_users: dict[str, int]
) -> list[Event]:
    """Create pathways, steps and alerts; return the timeline events that go with them."""
    with ctx.phase(_("Parcours, étapes et alertes")):
        factory = _FollowUpFactory(ctx, directory, demo_users)
        for plan in population.patients:
            for pathway in plan.pathways:
                factory.add(plan, pathway)
        copy_rows(
            Pathway,
            [
                "id",
                "created_at",
                "updated_at",
                "patient",
                "template",
                "status",
                "support_service",
                "referent",
                "origin",
                "enrolled_on",
                "ended_on",
                "exit_reason",
            ],
            factory.pathways,
        )
        copy_rows(
            Step,
            [
                "id",
                "pathway",
                "template_step",
                "due_on",
                "assignee",
                "status",
                "scheduled_at",
                "place",
                "done_at",
                "outcome",
            ],
            factory.steps,
        )
        copy_rows(
            Transition,
            ["pathway", "step", "actor", "at", "from_status", "to_status", "reason"],
            factory.transitions,
        )
        copy_rows(
            Alert,
            [
                "patient",
                "kind",
                "severity",
                "message",
                "due_at",
                "status",
                "assignee",
                "dedupe_key",
                "pathway",
                "step",
                "created_at",
                "acknowledged_at",
                "resolved_at",
                "resolution_comment",
                "escalation_level",
            ],
            factory.alerts,
        )
    return factory.events
