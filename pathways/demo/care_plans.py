"""The demo patients' personalised care plans (PPCS): one per patient followed in a
pathway (most of them), its versions over the pathways' life, the GP's validations, and
what goes with them (timeline events, review alerts).

A care plan follows the patient's pathways in order (each one an "episode"): a version is
written some days after the inclusion, reviewed about every six months while the pathway
runs, and closed at its end. Where the pathway has a step done by the GP's validation of
the care plan (`PathwayPlan.care_plan_step`), the validation is that step: at the moment it
was done if it was, nowhere in the episode if it was not.
"""

import datetime
import json
from dataclasses import dataclass

from pathways.catalogue import CATALOGUE_BY_CODE
from pathways.demo.accounts import ProfessionalAccounts
from pathways.demo.bulk import copy_rows, next_id
from pathways.demo.context import Context
from pathways.demo.coordination import Draws, Member, Records
from pathways.demo.directory import Directory
from pathways.demo.population import PathwayPlan, PatientPlan, Population
from pathways.models import Alert, CarePlan, CarePlanVersion, Pathway, Step
from patients.models import CareTeamMember, TimelineEvent

Role = CareTeamMember.Role
Status = Pathway.Status
Goal = CarePlanVersion.GoalStatus
Action = CarePlanVersion.ActionKind
Domain = CarePlanVersion.Domain
DOMAINS = tuple(Domain.values)
DAY = datetime.timedelta(days=1)

# Share of the patients followed in a pathway who have a care plan, besides those whose
# pathway step "care plan validated by the GP" is done, and the demo patient, who always
# have one (about three in four in all).
WITH_CARE_PLAN = 0.6
MAX_VERSIONS = 3
# Share of the care plans closed by a last version when the pathway ends.
CLOSED_AT_THE_END = 0.85
# The next review is due about six months after a version.
REVIEW_DAYS = (170, 190)
# As the review scan writes it (pathways/services/scan.py).
REVIEW_MESSAGE = "La date de révision du PPCS est passée"


@dataclass(frozen=True)
class Content:
    """What a template's care plans are made of."""

    needs: dict[str, str]
    # (text, target)
    goals: tuple[tuple[str, str], ...]
    # (text, kind, who usually does it: a key of PatientPlan.team, or None)
    actions: tuple[tuple[str, str, str | None], ...]


CONTENT: dict[str, Content] = {
    "insuffisance-cardiaque": Content(
        needs={
            Domain.HEALTH: "Insuffisance cardiaque, décompensation récente ayant motivé "
            "l'hospitalisation. Traitement diurétique à ajuster.",
            Domain.AUTONOMY: "Essoufflement à l'effort, périmètre de marche réduit.",
            Domain.PSYCHOLOGICAL: "Inquiétude vis-à-vis d'une nouvelle hospitalisation.",
            Domain.SOCIAL: "Vit seul·e ; un proche passe deux fois par semaine.",
            Domain.ENVIRONMENT: "Logement au deuxième étage sans ascenseur.",
        },
        goals=(
            ("Éviter une réhospitalisation pour décompensation", "Aucune hospitalisation à 6 mois"),
            ("Repérer les signes d'alerte", "Pesée chaque matin, carnet de suivi tenu"),
            ("Suivre un régime pauvre en sel", "Moins de 6 g de sel par jour"),
            ("Reprendre une activité physique adaptée", "20 minutes de marche par jour"),
        ),
        actions=(
            ("Surveillance du poids et des œdèmes", Action.CARE, Role.NURSE),
            ("Consultation de cardiologie", Action.CARE, Role.SPECIALIST),
            ("Séances d'éducation thérapeutique", Action.PREVENTION, Role.NURSE),
            ("Conciliation médicamenteuse", Action.CARE, Role.PHARMACIST),
            ("Portage de repas sans sel", Action.SUPPORT, None),
        ),
    ),
    "personne-agee-fragile": Content(
        needs={
            Domain.HEALTH: "Chutes à répétition, polymédication.",
            Domain.AUTONOMY: "Aide nécessaire pour la toilette, les courses et les repas.",
            Domain.ENVIRONMENT: "Salle de bains inadaptée, tapis et escaliers à risque.",
            Domain.SOCIAL: "Aidant principal fatigué, demande de répit.",
            Domain.PSYCHOLOGICAL: "Isolement, moral fluctuant.",
        },
        goals=(
            ("Prévenir les chutes", "Aucune chute à 3 mois"),
            ("Maintenir la personne à domicile", "Pas d'entrée en établissement non souhaitée"),
            ("Soulager l'aidant", "Une demi-journée de répit par semaine"),
            ("Sécuriser la prise des médicaments", "Pilulier préparé chaque semaine"),
        ),
        actions=(
            ("Aménagement de la salle de bains", Action.SUPPORT, "occupational_therapist"),
            ("Mise en place de l'aide à domicile", Action.SUPPORT, Role.HOME_HELP),
            ("Bilan partagé de médication", Action.CARE, Role.PHARMACIST),
            ("Évaluation gériatrique", Action.CARE, Role.SPECIALIST),
            ("Dossier d'allocation personnalisée d'autonomie", Action.SUPPORT, Role.SOCIAL_WORKER),
            ("Préparation hebdomadaire du pilulier", Action.CARE, Role.NURSE),
        ),
    ),
    "diabete-type-2": Content(
        needs={
            Domain.HEALTH: "Diabète de type 2 déséquilibré, HbA1c au-dessus de l'objectif.",
            Domain.PSYCHOLOGICAL: "Lassitude vis-à-vis du traitement.",
            Domain.AUTONOMY: "Autonome ; difficultés à adapter l'alimentation.",
            Domain.SOCIAL: "Horaires de travail décalés.",
        },
        goals=(
            ("Améliorer l'équilibre glycémique", "HbA1c inférieure à 7 % à 6 mois"),
            ("Dépister les complications", "Fond d'œil et examen des pieds faits dans l'année"),
            ("Perdre du poids", "Moins 3 kg à 6 mois"),
            ("Adapter l'alimentation", "Trois repas équilibrés par jour"),
        ),
        actions=(
            ("Consultation diététique", Action.PREVENTION, "dietitian"),
            ("Examen des pieds", Action.PREVENTION, Role.NURSE),
            ("Suivi des glycémies capillaires", Action.CARE, Role.NURSE),
            ("Consultation d'endocrinologie", Action.CARE, Role.SPECIALIST),
            ("Programme d'éducation thérapeutique", Action.PREVENTION, None),
        ),
    ),
    "apres-cancer": Content(
        needs={
            Domain.HEALTH: "Fatigue persistante après les traitements.",
            Domain.PSYCHOLOGICAL: "Anxiété liée aux examens de surveillance.",
            Domain.SOCIAL: "Reprise du travail à préparer.",
            Domain.AUTONOMY: "Autonome, activité physique réduite.",
        },
        goals=(
            ("Retrouver une activité physique régulière", "30 minutes trois fois par semaine"),
            ("Réduire la fatigue", "Fatigue évaluée sous 4 sur 10"),
            ("Préparer la reprise du travail", "Visite de pré-reprise faite"),
            ("Respecter le calendrier de surveillance", "Examens de contrôle faits à date"),
        ),
        actions=(
            ("Activité physique adaptée", Action.PREVENTION, Role.PHYSIOTHERAPIST),
            ("Consultations de psychologue", Action.SUPPORT, "psychologist"),
            ("Consultation de surveillance en oncologie", Action.CARE, Role.SPECIALIST),
            ("Accompagnement social et professionnel", Action.SUPPORT, Role.SOCIAL_WORKER),
        ),
    ),
    "soins-palliatifs-domicile": Content(
        needs={
            Domain.HEALTH: "Douleurs mal contrôlées, fatigue importante.",
            Domain.PSYCHOLOGICAL: "Souhaite être accompagné·e à domicile jusqu'au bout.",
            Domain.SOCIAL: "Entourage présent, besoin de relais la nuit.",
            Domain.ENVIRONMENT: "Lit médicalisé et matériel à installer.",
        },
        goals=(
            ("Soulager la douleur", "Douleur évaluée sous 3 sur 10"),
            ("Respecter le souhait de rester à domicile", "Pas d'hospitalisation non souhaitée"),
            ("Soutenir l'entourage", "Relais organisé pour l'aidant"),
        ),
        actions=(
            ("Adaptation du traitement antalgique", Action.CARE, Role.GP),
            ("Passages infirmiers matin et soir", Action.CARE, Role.NURSE),
            ("Installation du matériel médical", Action.SUPPORT, Role.PHARMACIST),
            ("Soutien psychologique de l'entourage", Action.SUPPORT, "psychologist"),
            ("Solutions de répit pour l'aidant", Action.SUPPORT, Role.SOCIAL_WORKER),
        ),
    ),
}
PREFERENCES = (
    "Souhaite rester à domicile le plus longtemps possible.",
    "Préfère les rendez-vous le matin.",
    "Souhaite que sa famille soit informée des changements de traitement.",
    "Souhaite éviter une nouvelle hospitalisation si c'est possible.",
    "Souhaite garder ses activités au club du quartier.",
    "",
)
REVIEW_NOTES = (
    "Réévaluation à six mois avec le patient : situation stable.",
    "Révision après une hospitalisation : plan d'actions adapté.",
    "Réévaluation en réunion de concertation pluriprofessionnelle.",
    "Révision avec le patient et son aidant : objectifs mis à jour.",
)
NOT_ACHIEVED = (
    "Objectif revu avec le patient, trop ambitieux pour l'instant.",
    "Hospitalisation intercurrente.",
    "Le patient ne souhaite pas poursuivre.",
)


@dataclass
class _Version:
    episode: PathwayPlan
    created: datetime.datetime
    author: int  # professional
    next_review_on: datetime.date | None
    general_information: str
    needs: dict[str, str]
    goals: list[dict]
    actions: list[dict]
    preferences: str
    validated_by: int | None = None
    validated_at: datetime.datetime | None = None


def _gp_on(team: list[Member], day: datetime.date) -> int | None:
    """The patient's GP on `day`, if they had one then."""
    return next((m.professional for m in team if m.role == Role.GP and m.on(day)), None)


class _CarePlanFactory:
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
        self.care_plans: list[tuple] = []
        self.versions: list[tuple] = []
        self.next_care_plan = next_id(CarePlan)
        self.next_version = next_id(CarePlanVersion)
        self.encoded: dict[tuple, str] = {}

    # --- Content ---------------------------------------------------------------------

    def owner(self, plan: PatientPlan, key: str | None, day: datetime.date) -> int | None:
        """Who does an action: the team member of that role (or profession) on `day`."""
        professional = plan.team.get(key) if key else None
        team = self.teams[plan.patient_id]
        if professional is None or not any(
            m.professional == professional and m.on(day) for m in team
        ):
            return None
        return professional

    def actions(self, plan: PatientPlan, content: Content, day: datetime.date) -> list[dict]:
        rng = self.rng
        chosen = rng.sample(content.actions, self.draw.between(2, min(4, len(content.actions))))
        rows = []
        for text, kind, key in chosen:
            owner = self.owner(plan, key, day)
            due = day + datetime.timedelta(days=self.draw.between(14, 90))
            rows.append(
                {
                    "text": text,
                    "kind": kind,
                    "owner": owner,
                    "owner_name": self.accounts.name(owner) if owner else "",
                    "due_on": due.isoformat() if rng.random() < 0.8 else "",
                }
            )
        return rows

    def first_content(
        self, plan: PatientPlan, episode: PathwayPlan, day: datetime.date, previous: _Version | None
    ) -> tuple[str, dict, list[dict], list[dict], str]:
        """(general information, needs, goals, actions, preferences) of an episode's first
        version (the care plan's first, or the one written at a later inclusion)."""
        rng = self.rng
        content = CONTENT[episode.template]
        name = CATALOGUE_BY_CODE[episode.template].name
        domains = rng.sample(list(content.needs), self.draw.between(2, min(4, len(content.needs))))
        needs = {domain: content.needs[domain] for domain in DOMAINS if domain in domains}
        goals = [
            {
                "text": text,
                "target": target,
                "status": Goal.IN_PROGRESS if rng.random() < 0.6 else Goal.PLANNED,
                "comment": "",
            }
            for text, target in rng.sample(content.goals, self.draw.between(2, 3))
        ]
        if previous is None:
            information = (
                "PPCS élaboré avec le patient et son entourage lors de l'inclusion dans le "
                f"parcours « {name} »."
            )
            preferences = self.draw.pick(PREFERENCES)
        else:
            information = f"PPCS actualisé à l'inclusion dans le parcours « {name} »."
            preferences = previous.preferences
        return information, needs, goals, self.actions(plan, content, day), preferences

    def reviewed_goals(self, goals: list[dict], *, closing: bool) -> list[dict]:
        """The goals one review (or the closing) later."""
        rng, reviewed = self.rng, []
        for goal in goals:
            status, comment = goal["status"], goal["comment"]
            roll = rng.random()
            if status == Goal.PLANNED:
                if closing:
                    status, comment = Goal.NOT_ACHIEVED, "Non engagé avant la fin du parcours."
                elif roll < 0.7:
                    status = Goal.IN_PROGRESS
            elif status == Goal.IN_PROGRESS:
                if roll < (0.6 if closing else 0.35):
                    status = Goal.ACHIEVED
                elif roll < (0.85 if closing else 0.45):
                    status, comment = Goal.NOT_ACHIEVED, self.draw.pick(NOT_ACHIEVED)
            reviewed.append({**goal, "status": status, "comment": comment})
        return reviewed

    # --- Versions ----------------------------------------------------------------------

    def author(self, plan: PatientPlan, episode: PathwayPlan, day: datetime.date) -> int:
        """The referent coordinator, or sometimes the GP, writes the care plan."""
        gp = _gp_on(self.teams[plan.patient_id], day)
        return gp if gp is not None and self.rng.random() < 0.3 else episode.referent

    def validation(
        self, plan: PatientPlan, created: datetime.datetime, stop: datetime.date, chance: float
    ) -> tuple[int | None, datetime.datetime | None]:
        """The GP validates the version some days after it was written, most of the time."""
        rng = self.rng
        if rng.random() >= chance:
            return None, None
        day = created.date() + datetime.timedelta(days=self.draw.between(1, 21))
        gp = _gp_on(self.teams[plan.patient_id], day)
        if day >= stop or day >= self.ctx.today or gp is None:
            return None, None
        return gp, self.draw.moment(day)

    def review_date(self, day: datetime.date) -> datetime.date:
        return day + datetime.timedelta(days=self.draw.between(*REVIEW_DAYS))

    def episode_versions(
        self,
        plan: PatientPlan,
        episode: PathwayPlan,
        versions: list[_Version],
        *,
        next_start: datetime.date | None,
        demo: bool,
    ) -> None:
        """Add the episode's versions: the first, reviews, the closing one. `next_start`:
        when the patient's next pathway began (None for the last one)."""
        last = next_start is None
        ctx, rng = self.ctx, self.rng
        stop = min(episode.closed_on or ctx.today, ctx.today)
        span = (stop - episode.enrolled_on).days
        step = episode.care_plan_step
        validated_step = step[1] if step and step[0] == Step.Status.DONE else None
        # The GP validates (and so does the step) only where the template's step allows it.
        may_validate = step is None or validated_step is not None
        previous = versions[-1] if versions else None
        if validated_step is not None:
            low = max(ctx.at(episode.enrolled_on, 8), validated_step - 25 * DAY)
            if previous is not None:
                low = max(low, previous.created + datetime.timedelta(hours=1))
            created = (
                low + (validated_step - low) * rng.uniform(0.2, 0.9)
                if low < validated_step
                else validated_step - datetime.timedelta(minutes=30)
            )
            # Written in working hours that day, if that is still before the validation.
            during_the_day = self.draw.moment(created.date())
            if low <= during_the_day < validated_step:
                created = during_the_day
            validated_by, validated_at = plan.gp, validated_step
        else:
            offset = self.draw.between(3, 30)
            if offset >= span:
                if span > 4:
                    offset = self.draw.between(3, span - 1)
                elif demo and span >= 2:
                    offset = self.draw.between(1, span - 1)
                else:
                    return
            created = self.draw.moment(episode.enrolled_on + offset * DAY)
            if previous is not None and created <= previous.created:
                created = previous.created + datetime.timedelta(hours=1)
            validated_by, validated_at = (
                self.validation(plan, created, stop, 0.85) if may_validate else (None, None)
            )
        day = created.date()
        information, needs, goals, actions, preferences = self.first_content(
            plan, episode, day, previous
        )
        versions.append(
            _Version(
                episode,
                created,
                self.author(plan, episode, day),
                self.review_date(day),
                information,
                needs,
                goals,
                actions,
                preferences,
                validated_by,
                validated_at,
            )
        )
        # Reviews, while the pathway runs (the first episodes of a patient followed again
        # later keep their single version: the care plan's few versions go to the last).
        while last and len(versions) < MAX_VERSIONS:
            current = versions[-1]
            due = current.next_review_on
            if due is None or due >= stop:
                break
            roll = rng.random()
            if roll < 0.7:
                day = due - datetime.timedelta(days=self.draw.between(0, 20))
            elif roll < 0.9:
                day = due + datetime.timedelta(days=self.draw.between(1, 45))
            else:
                break
            if day >= stop:
                break
            created = self.draw.moment(max(day, current.created.date() + DAY))
            validated_by, validated_at = (
                self.validation(plan, created, stop, 0.7) if may_validate else (None, None)
            )
            content = CONTENT[episode.template]
            versions.append(
                _Version(
                    episode,
                    created,
                    self.author(plan, episode, created.date()),
                    self.review_date(created.date()),
                    self.draw.pick(REVIEW_NOTES),
                    current.needs,
                    self.reviewed_goals(current.goals, closing=False),
                    self.actions(plan, content, created.date()),
                    current.preferences,
                    validated_by,
                    validated_at,
                )
            )
        # The care plan closed at the end of the pathway (keeping a version for the next).
        if (
            episode.closed_on is not None
            and len(versions) < MAX_VERSIONS - (0 if last else 1)
            and rng.random() < CLOSED_AT_THE_END
        ):
            current = versions[-1]
            day = episode.closed_on + datetime.timedelta(days=self.draw.between(0, 7))
            if current.created.date() < day < min(ctx.today, next_start or ctx.today):
                reason = episode.exit_reason
                versions.append(
                    _Version(
                        episode,
                        self.draw.moment(day),
                        episode.referent,
                        None,
                        f"Sortie du parcours ({reason}) : PPCS clôturé."
                        if reason
                        else "Fin du parcours : PPCS clôturé, suivi poursuivi par le médecin "
                        "traitant.",
                        current.needs,
                        self.reviewed_goals(current.goals, closing=True),
                        [],
                        current.preferences,
                    )
                )

    def add(self, plan: PatientPlan, *, demo: bool) -> None:
        episodes = [p for p in plan.pathways if p.status != Status.PROPOSED]
        if not episodes:
            return
        forced = demo or any(
            p.care_plan_step is not None and p.care_plan_step[0] == Step.Status.DONE
            for p in episodes
        )
        if not forced and self.rng.random() >= WITH_CARE_PLAN:
            return
        versions: list[_Version] = []
        starts = [episode.enrolled_on for episode in episodes[1:]]
        for episode, next_start in zip(episodes, [*starts, None], strict=True):
            self.episode_versions(plan, episode, versions, next_start=next_start, demo=demo)
        if versions:
            self.write(plan, episodes, versions)

    # --- Rows --------------------------------------------------------------------------

    def json(self, value: dict | list) -> str:
        """Needs and goals as JSON: a few hundred different ones, each encoded once."""
        key = (
            ("needs", *value.items())
            if isinstance(value, dict)
            else ("goals", *(tuple(item.values()) for item in value))
        )
        encoded = self.encoded.get(key)
        if encoded is None:
            encoded = self.encoded[key] = json.dumps(value, ensure_ascii=False)
        return encoded

    def write(self, plan: PatientPlan, episodes: list[PathwayPlan], versions: list[_Version]):
        care_plan = self.next_care_plan
        self.next_care_plan += 1
        patient, workplace = plan.patient_id, self.directory.workplace
        for number, version in enumerate(versions, start=1):
            self.versions.append(
                (
                    self.next_version,
                    care_plan,
                    number,
                    self.accounts.user(version.author, version.created),
                    version.created,
                    version.episode.referent,
                    version.next_review_on,
                    version.general_information,
                    self.json(version.needs),
                    self.json(version.goals),
                    json.dumps(version.actions, ensure_ascii=False),
                    version.preferences,
                    version.validated_by,
                    version.validated_at,
                )
            )
            self.next_version += 1
            self.records.events.append(
                (
                    patient,
                    version.created,
                    TimelineEvent.Kind.NOTE,
                    version.author,
                    workplace.get(version.author),
                    f"PPCS mis à jour (version {number})",
                    "",
                    None,
                )
            )
            if version.validated_at is not None:
                self.records.events.append(
                    (
                        patient,
                        version.validated_at,
                        TimelineEvent.Kind.NOTE,
                        version.validated_by,
                        workplace.get(version.validated_by),
                        f"PPCS validé par le médecin traitant (version {number})",
                        "",
                        None,
                    )
                )
            following = versions[number] if number < len(versions) else None
            self.review_alert(plan, care_plan, episodes, version, following)
        current = versions[-1]
        changed = max(current.created, current.validated_at or current.created)
        self.care_plans.append(
            (
                care_plan,
                versions[0].created,
                changed,
                patient,
                len(versions),
                current.next_review_on,
            )
        )

    def review_alert(
        self,
        plan: PatientPlan,
        care_plan: int,
        episodes: list[PathwayPlan],
        version: _Version,
        following: _Version | None,
    ) -> None:
        """The alert the review scan raised once the version's review date had passed while
        one of the patient's pathways was active (and before the next version)."""
        ctx = self.ctx
        due = version.next_review_on
        if due is None or due >= ctx.today:
            return
        seen: tuple[datetime.datetime, PathwayPlan, datetime.datetime] | None = None
        for episode in episodes:
            start = ctx.at(episode.enrolled_on, 12)
            if episode.closed_on is not None:
                end = ctx.at(episode.closed_on, 12)
            elif episode.status == Status.SUSPENDED:
                end = ctx.at(max(episode.enrolled_on, ctx.today - 40 * DAY), 12)
            else:
                end = ctx.now + DAY
            moment = max(ctx.at(due + DAY, 0), start)
            if moment < end and (seen is None or moment < seen[0]):
                seen = (moment, episode, end)
        if seen is None:
            return
        moment, episode, end = seen
        if moment > ctx.now or (following is not None and moment >= following.created):
            return
        created = min(moment + datetime.timedelta(minutes=self.draw.between(0, 14)), ctx.now)
        # Dealt with by the next version; left as it is when the pathway was only
        # suspended; closed with the pathway otherwise.
        handled = following.created if following is not None else None
        if handled is None and episode.closed_on is not None:
            handled = end
        self.records.alert(
            ctx,
            patient=plan.patient_id,
            kind=Alert.Kind.CARE_PLAN_REVIEW,
            severity=Alert.Severity.INFO,
            message=REVIEW_MESSAGE,
            due_at=ctx.at(due, 0),
            created=created,
            # The scan assigns it to the referent's account, if active: the demo one only.
            assignee=self.accounts.demo_users.get(episode.referent),
            key=f"care_plan_review:{care_plan}:{due.isoformat()}",
            pathway=episode.id,
            handled=handled,
        )


def build_care_plans(
    ctx: Context,
    directory: Directory,
    population: Population,
    teams: dict[int, list[Member]],
    accounts: ProfessionalAccounts,
    records: Records,
) -> None:
    factory = _CarePlanFactory(ctx, directory, teams, accounts, records)
    for plan in population.patients:
        factory.add(plan, demo=plan.patient_id == population.demo_patient_id)
    copy_rows(
        CarePlan,
        ["id", "created_at", "updated_at", "patient", "current_version", "next_review_on"],
        factory.care_plans,
    )
    copy_rows(
        CarePlanVersion,
        [
            "id",
            "care_plan",
            "number",
            "author",
            "created_at",
            "referent",
            "next_review_on",
            "general_information",
            "needs",
            "goals",
            "actions",
            "preferences",
            "validated_by",
            "validated_at",
        ],
        factory.versions,
    )
