"""Referrals of the demo's pathways to the territory's support services, the services'
answers, and what goes with them (timeline events, "no answer" alerts).

About one followed pathway in three asks one or two services for help: of a category that
fits its template, covering the patient's commune (or, when none does, anywhere). Each
service gets one or two members from its organisation's staff, who answer. Statuses and
timestamps follow the moves of `pathways/services/referral.py`: most are answered within
the service's response time, some late, the most recent ones are still waiting.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from pathways.demo.accounts import ProfessionalAccounts
from pathways.demo.bulk import copy_rows, next_id
from pathways.demo.context import Context
from pathways.demo.coordination import Draws, Member, Records
from pathways.demo.directory import Directory
from pathways.demo.population import PathwayPlan, PatientPlan, Population
from pathways.models import Alert, Pathway, Referral
from patients.models import CareTeamMember, TimelineEvent
from professionals.models import Professional, SupportService

Category = SupportService.Category
Profession = Professional.Profession
Role = CareTeamMember.Role
Status = Referral.Status
DAY = datetime.timedelta(days=1)

# Share of the followed pathways with referrals; of those, share with two.
WITH_REFERRALS = 0.3
TWO_REFERRALS = 0.25
# The services' answers: within their response time, refused, cancelled by the sender.
WITHIN_CLOCK = 0.78
REFUSED = 0.12
CANCELLED_UNANSWERED = 0.05
# As the scan writes it (pathways/services/scan.py).
UNANSWERED_MESSAGE = "Demande sans réponse du service {service}"

CATEGORIES: dict[str, dict[str, int]] = {
    "insuffisance-cardiaque": {
        Category.THERAPEUTIC_EDUCATION: 40,
        Category.HOME_NURSING: 20,
        Category.MEALS: 15,
        Category.HOME_HELP: 15,
        Category.SOCIAL_ASSESSMENT: 5,
        Category.CAREGIVER_RESPITE: 5,
    },
    "personne-agee-fragile": {
        Category.HOME_HELP: 30,
        Category.GERIATRIC_EVALUATION: 20,
        Category.SOCIAL_ASSESSMENT: 20,
        Category.CAREGIVER_RESPITE: 12,
        Category.MEALS: 10,
        Category.HOME_NURSING: 8,
    },
    "diabete-type-2": {
        Category.THERAPEUTIC_EDUCATION: 60,
        Category.HOME_NURSING: 15,
        Category.SOCIAL_ASSESSMENT: 10,
        Category.MEALS: 10,
        Category.MENTAL_HEALTH: 5,
    },
    "apres-cancer": {
        Category.MENTAL_HEALTH: 30,
        Category.SOCIAL_ASSESSMENT: 25,
        Category.HOME_HELP: 15,
        Category.THERAPEUTIC_EDUCATION: 15,
        Category.HOME_NURSING: 10,
        Category.PALLIATIVE_SUPPORT: 5,
    },
    "soins-palliatifs-domicile": {
        Category.PALLIATIVE_SUPPORT: 45,
        Category.HOME_NURSING: 20,
        Category.CAREGIVER_RESPITE: 15,
        Category.HOME_HELP: 15,
        Category.MENTAL_HEALTH: 5,
    },
}
REASONS: dict[str, tuple[str, ...]] = {
    Category.HOME_HELP: (
        "Besoin d'aide pour la toilette et les repas depuis le retour à domicile.",
        "Aide au ménage et aux courses à mettre en place.",
    ),
    Category.HOME_NURSING: (
        "Soins d'hygiène et surveillance quotidienne à domicile, sur prescription du médecin "
        "traitant.",
        "Prise en charge en SSIAD demandée à la sortie d'hospitalisation.",
    ),
    Category.SOCIAL_ASSESSMENT: (
        "Évaluation sociale et ouverture des droits (APA) à prévoir.",
        "Difficultés financières signalées par l'entourage : évaluation sociale demandée.",
    ),
    Category.GERIATRIC_EVALUATION: (
        "Chutes répétées et perte d'autonomie : évaluation gériatrique demandée.",
        "Troubles de la mémoire récents, avis gériatrique souhaité.",
    ),
    Category.THERAPEUTIC_EDUCATION: (
        "Inscription au programme d'éducation thérapeutique.",
        "Patient demandeur d'ateliers sur l'alimentation et le traitement.",
    ),
    Category.PALLIATIVE_SUPPORT: (
        "Appui pour la prise en charge de la douleur et l'accompagnement à domicile.",
        "Aggravation de l'état général : avis de l'équipe de soins palliatifs souhaité.",
    ),
    Category.MEALS: (
        "Portage de repas (régime sans sel) à mettre en place.",
        "Patient ne cuisinant plus : portage de repas demandé.",
    ),
    Category.CAREGIVER_RESPITE: (
        "Aidant épuisé : solution de répit à organiser.",
        "Accueil de jour souhaité deux jours par semaine.",
    ),
    Category.MENTAL_HEALTH: (
        "Syndrome anxio-dépressif : demande de suivi psychologique.",
        "Idées noires rapportées par l'entourage : avis spécialisé demandé.",
    ),
}
REFUSALS = (
    "Capacité atteinte : pas de place avant plusieurs semaines.",
    "Patient hors de notre zone d'intervention.",
    "Critères d'éligibilité non remplis.",
    "Prise en charge déjà assurée par un autre service.",
)
# Who answers for a service: professions of its organisation's staff, preferred first.
STAFF: dict[str, tuple[str, ...]] = {
    Category.HOME_HELP: (Profession.HOME_HELP,),
    Category.MEALS: (Profession.HOME_HELP,),
    Category.HOME_NURSING: (Profession.NURSE,),
    Category.SOCIAL_ASSESSMENT: (Profession.SOCIAL_WORKER,),
    Category.GERIATRIC_EVALUATION: (Profession.PHYSICIAN, Profession.NURSE),
    Category.THERAPEUTIC_EDUCATION: (Profession.NURSE, Profession.DIETITIAN),
    Category.PALLIATIVE_SUPPORT: (Profession.PHYSICIAN, Profession.NURSE),
    Category.CAREGIVER_RESPITE: (Profession.NURSE,),
    Category.MENTAL_HEALTH: (Profession.PSYCHOLOGIST, Profession.NURSE, Profession.PHYSICIAN),
}
# Care-team roles who send referrals besides the referent (home help members only read).
SENDERS = {Role.GP: 5, Role.NURSE: 2, Role.SOCIAL_WORKER: 1, Role.SPECIALIST: 1, Role.HOSPITAL: 1}


@dataclass(frozen=True)
class _Service:
    id: int
    name: str
    category: str
    response_days: int
    communes: frozenset[int]
    members: tuple[int, ...]


def _services(ctx: Context, directory: Directory, accounts: ProfessionalAccounts):
    """The services one can be referred to, with the members who answer (added now)."""
    staff: dict[int, list[int]] = defaultdict(list)
    demo = set(directory.demo.values())
    for professional, organization in sorted(directory.workplace.items()):
        if professional not in demo:
            staff[organization].append(professional)
    covered: dict[int, set[int]] = defaultdict(set)
    for service, commune in SupportService.communes.through.objects.values_list(
        "supportservice_id", "commune_id"
    ):
        covered[service].add(commune)
    services = []
    Members = SupportService.members.through
    members = []
    rows = (
        SupportService.objects.exclude(category=Category.COORDINATION)
        .order_by("pk")
        .values_list("pk", "name", "category", "response_days", "organization_id")
    )
    for pk, name, category, response_days, organization in rows:
        people = staff[organization]
        preferred = [
            p
            for profession in STAFF[category]
            for p in people
            if accounts.professions[p] == profession
        ]
        pool = preferred or people
        chosen = tuple(ctx.rng.sample(pool, min(len(pool), ctx.rng.randint(1, 2))))
        members += [Members(supportservice_id=pk, professional_id=p) for p in chosen]
        services.append(_Service(pk, name, category, response_days, frozenset(covered[pk]), chosen))
    Members.objects.bulk_create(members, batch_size=5000)
    by_category: dict[str, list[_Service]] = defaultdict(list)
    for service in services:
        if service.members:
            by_category[service.category].append(service)
    return by_category


@dataclass(frozen=True)
class _Event:
    """Writes a referral's timeline entries."""

    records: Records
    directory: Directory
    patient: int
    pathway: int
    service: str

    def __call__(self, at: datetime.datetime, author: int, title: str, body: str = "") -> None:
        self.records.events.append(
            (
                self.patient,
                at,
                TimelineEvent.Kind.MESSAGE,
                author,
                self.directory.workplace.get(author),
                title.format(service=self.service),
                body,
                self.pathway,
            )
        )


class _ReferralFactory:
    def __init__(
        self,
        ctx: Context,
        directory: Directory,
        teams: dict[int, list[Member]],
        accounts: ProfessionalAccounts,
        records: Records,
    ) -> None:
        self.ctx, self.rng, self.draw = ctx, ctx.rng, Draws(ctx)
        self.directory, self.teams, self.accounts, self.records = (
            directory,
            teams,
            accounts,
            records,
        )
        self.services = _services(ctx, directory, accounts)
        self.rows: list[tuple] = []
        self.next_referral = next_id(Referral)

    def office_hours(
        self, moment: datetime.datetime, after: datetime.datetime
    ) -> datetime.datetime:
        """The moment moved into the working day (8:00-19:00), never before `after`."""
        if moment.hour < 8:
            moment = moment.replace(
                hour=self.draw.between(8, 10), minute=self.draw.between(0, 11) * 5
            )
        elif moment.hour >= 19:
            moment = moment.replace(
                hour=self.draw.between(15, 18), minute=self.draw.between(0, 11) * 5
            )
        return max(moment, after + datetime.timedelta(minutes=self.draw.between(10, 90)))

    def received(self, sent: datetime.datetime, answer: datetime.datetime) -> datetime.datetime:
        """When the service acknowledged a referral it answered (or was withdrawn) later."""
        moment = sent + (answer - sent) * self.rng.uniform(0.05, 0.5)
        return min(self.office_hours(moment, sent), answer)

    def service(self, plan: PatientPlan, category: str) -> _Service | None:
        candidates = self.services.get(category)
        if not candidates:
            return None
        covering = [s for s in candidates if plan.commune in s.communes]
        return self.draw.pick(covering or candidates)

    def sender(self, plan: PatientPlan, pathway: PathwayPlan, day: datetime.date) -> int:
        """The referent, or a care-team member who may write the record."""
        rng = self.rng
        if rng.random() < 0.55:
            return pathway.referent
        members = [m for m in self.teams[plan.patient_id] if m.role in SENDERS and m.on(day)]
        if not members:
            return pathway.referent
        return rng.choices(members, [SENDERS[m.role] for m in members])[0].professional

    def add(self, plan: PatientPlan, pathway: PathwayPlan) -> None:
        ctx, rng = self.ctx, self.rng
        stop = min(pathway.closed_on or ctx.today, ctx.today)
        span = (stop - pathway.enrolled_on).days
        if span < 3 or rng.random() >= WITH_REFERRALS:
            return
        weights = dict(CATEGORIES[pathway.template])
        count = 2 if rng.random() < TWO_REFERRALS else 1
        for _ in range(count):
            category = rng.choices(list(weights), list(weights.values()))[0]
            del weights[category]
            service = self.service(plan, category)
            if service is not None:
                day = pathway.enrolled_on + DAY * self.draw.between(1, span - 1)
                self.referral(plan, pathway, service, category, day)

    def referral(
        self,
        plan: PatientPlan,
        pathway: PathwayPlan,
        service: _Service,
        category: str,
        day: datetime.date,
    ) -> None:
        ctx, rng, now = self.ctx, self.rng, self.ctx.now
        pk = self.next_referral
        self.next_referral += 1
        sender = self.sender(plan, pathway, day)
        sent = self.draw.moment(day)
        # As `send_referral` sets it: whole days of 24 hours (across a change of time too).
        respond_by = sent.astimezone(datetime.UTC) + DAY * service.response_days
        reason = self.draw.pick(REASONS[category])
        status = Status.SENT
        acknowledged = responded = responder = closed = None
        refusal = ""
        waited_until = None  # when it stopped waiting for the answer (None: still waiting)
        if rng.random() < CANCELLED_UNANSWERED:
            cancel = self.office_hours(
                sent + DAY * rng.uniform(0.3, service.response_days + 3), sent
            )
            if rng.random() < 0.5:
                acknowledged = self.received(sent, cancel)
            if cancel < now:
                status, closed, waited_until = Status.CANCELLED, cancel, cancel
        else:
            if rng.random() < WITHIN_CLOCK:
                answer = sent + (respond_by - sent) * rng.uniform(0.05, 0.98)
            else:
                answer = respond_by + datetime.timedelta(hours=rng.uniform(2, 12 * 24))
            answer = self.office_hours(answer, sent)
            if rng.random() < 0.65:
                acknowledged = self.received(sent, answer)
            if answer < now:
                responder = self.draw.pick(service.members)
                responded = waited_until = answer
                acknowledged = acknowledged or answer
                if rng.random() < REFUSED:
                    status, closed, refusal = Status.REFUSED, answer, self.draw.pick(REFUSALS)
                else:
                    status = Status.ACCEPTED
                    roll = rng.random()
                    if pathway.closed_on is not None or roll < 0.75:
                        if roll < 0.93:
                            status, closed = Status.DONE, answer + DAY * rng.uniform(3, 45)
                        else:
                            status, closed = Status.CANCELLED, answer + DAY * rng.uniform(1, 20)
                        closed = self.office_hours(closed, answer)
                        if closed >= now:
                            status, closed = Status.ACCEPTED, None
        if status in Referral.AWAITING_STATUSES:
            if acknowledged is not None and acknowledged < now:
                status = Status.ACKNOWLEDGED
            else:
                acknowledged = None
            if pathway.closed_on is not None:
                # The pathway ended meanwhile: the coordination withdrew the referral.
                status = Status.CANCELLED
                closed = waited_until = max(
                    self.draw.moment(pathway.closed_on),
                    (acknowledged or sent) + datetime.timedelta(hours=1),
                )
        changed = max(t for t in (sent, acknowledged, responded, closed) if t is not None)
        # Who sent it and who answered did it on the platform, with an account.
        self.accounts.user(sender, sent)
        if responder is not None:
            self.accounts.user(responder, responded)
        self.rows.append(
            (
                pk,
                sent,
                changed,
                plan.patient_id,
                service.id,
                pathway.id,
                sender,
                sent,
                reason,
                respond_by,
                status,
                acknowledged,
                responded,
                responder,
                refusal,
                closed,
            )
        )
        # The timeline entries the referral's moves wrote (as the referral services do).
        event = _Event(self.records, self.directory, plan.patient_id, pathway.id, service.name)
        event(sent, sender, "Demande d'appui envoyée : {service}", reason)
        if responded is not None and status != Status.REFUSED:
            event(responded, responder, "Demande d'appui acceptée : {service}")
        if status == Status.REFUSED:
            event(closed, responder, "Demande d'appui refusée : {service}", refusal)
        elif status == Status.DONE:
            event(closed, responder, "Demande d'appui réalisée : {service}")
        elif status == Status.CANCELLED:
            event(closed, sender, "Demande d'appui annulée : {service}")
        if waited_until is None or waited_until > respond_by:
            created = min(respond_by + datetime.timedelta(minutes=self.draw.between(1, 15)), now)
            if respond_by < now:
                self.records.alert(
                    ctx,
                    patient=plan.patient_id,
                    kind=Alert.Kind.REFERRAL_UNANSWERED,
                    severity=Alert.Severity.WARNING,
                    message=UNANSWERED_MESSAGE.format(service=service.name),
                    due_at=respond_by,
                    created=created,
                    # The scan assigns it to the sender's account, if active: demo ones only.
                    assignee=self.accounts.demo_users.get(sender),
                    key=f"referral_unanswered:{pk}",
                    pathway=pathway.id,
                    handled=waited_until,
                )


def build_referrals(
    ctx: Context,
    directory: Directory,
    population: Population,
    teams: dict[int, list[Member]],
    accounts: ProfessionalAccounts,
    records: Records,
) -> None:
    factory = _ReferralFactory(ctx, directory, teams, accounts, records)
    for plan in population.patients:
        for pathway in plan.pathways:
            if pathway.status != Pathway.Status.PROPOSED:
                factory.add(plan, pathway)
    copy_rows(
        Referral,
        [
            "id",
            "created_at",
            "updated_at",
            "patient",
            "service",
            "pathway",
            "sent_by",
            "sent_at",
            "reason",
            "respond_by",
            "status",
            "acknowledged_at",
            "responded_at",
            "responded_by",
            "refusal_reason",
            "closed_at",
        ],
        factory.rows,
    )
