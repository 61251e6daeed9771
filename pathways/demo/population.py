"""The demo territory's followed patients: identity (INS), GP, care team, caregivers,
consent, and the plan of their pathways (materialised by `followup`)."""

import datetime
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from pathways.catalogue import CATALOGUE, CATALOGUE_BY_CODE, PREVIOUS_STEP, TemplateSpec
from pathways.demo.bulk import copy_rows, next_id
from pathways.demo.context import HISTORY_DAYS, Context, ascii_slug
from pathways.demo.directory import Directory
from pathways.models import Pathway
from patients.models import Caregiver, CareTeamMember, ConsentRecord, Patient
from tsn.identifiers import nir_key

Role = CareTeamMember.Role
Status = Pathway.Status
Identity = Patient.IdentityStatus
HEART_FAILURE = "insuffisance-cardiaque"

# Birth places outside the territory: départements (weights) and countries (INSEE codes).
OTHER_DEPARTEMENTS = {
    "01": 6,
    "07": 3,
    "26": 3,
    "38": 8,
    "42": 6,
    "69": 10,
    "71": 3,
    "73": 2,
    "74": 2,
    "13": 3,
    "75": 4,
    "59": 2,
    "63": 2,
    "21": 2,
    "39": 2,
    "2A": 0.2,
    "2B": 0.2,
}
COUNTRIES = {"350": 5, "352": 6, "351": 3, "139": 4, "127": 3, "134": 2, "109": 1, "208": 1}
IDENTITY_STATUSES = {
    Identity.QUALIFIED: 68,
    Identity.RETRIEVED: 10,
    Identity.VALIDATED: 8,
    Identity.PROVISIONAL: 14,
}
PRIMARY_STATUSES = {
    Status.PROPOSED: 8,
    Status.ACTIVE: 55,
    Status.SUSPENDED: 5,
    Status.COMPLETED: 20,
    Status.EXITED: 12,
}
EXIT_REASONS = (
    "Entrée en EHPAD",
    "Déménagement hors du territoire",
    "Refus de poursuivre le parcours",
    "Hospitalisation de longue durée",
    "Objectifs atteints, relais par le médecin traitant",
)
# Probability of each care-team role (besides the GP) by pathway template, in priority
# order: the team is capped at six active members.
TEAM_NEEDS: dict[str | None, dict[str, float]] = {
    None: {
        Role.NURSE: 0.55,
        Role.SPECIALIST: 0.25,
        Role.PHARMACIST: 0.5,
        Role.HOSPITAL: 0.06,
        Role.SOCIAL_WORKER: 0.03,
        Role.HOME_HELP: 0.05,
        Role.PHYSIOTHERAPIST: 0.12,
        Role.OTHER: 0.05,
    },
    "insuffisance-cardiaque": {
        Role.NURSE: 0.95,
        Role.SPECIALIST: 0.85,
        Role.PHARMACIST: 0.7,
        Role.HOSPITAL: 0.5,
        Role.SOCIAL_WORKER: 0.1,
        Role.HOME_HELP: 0.15,
        Role.PHYSIOTHERAPIST: 0.15,
        Role.OTHER: 0.2,
    },
    "personne-agee-fragile": {
        Role.NURSE: 0.9,
        Role.SPECIALIST: 0.5,
        Role.PHARMACIST: 0.6,
        Role.HOSPITAL: 0.1,
        Role.SOCIAL_WORKER: 0.6,
        Role.HOME_HELP: 0.7,
        Role.PHYSIOTHERAPIST: 0.3,
        Role.OTHER: 0.3,
    },
    "diabete-type-2": {
        Role.NURSE: 0.6,
        Role.SPECIALIST: 0.6,
        Role.PHARMACIST: 0.6,
        Role.HOSPITAL: 0.05,
        Role.SOCIAL_WORKER: 0.05,
        Role.HOME_HELP: 0.03,
        Role.PHYSIOTHERAPIST: 0.05,
        Role.OTHER: 0.6,
    },
    "apres-cancer": {
        Role.NURSE: 0.5,
        Role.SPECIALIST: 0.9,
        Role.PHARMACIST: 0.5,
        Role.HOSPITAL: 0.4,
        Role.SOCIAL_WORKER: 0.2,
        Role.HOME_HELP: 0.05,
        Role.PHYSIOTHERAPIST: 0.4,
        Role.OTHER: 0.4,
    },
    "soins-palliatifs-domicile": {
        Role.NURSE: 1.0,
        Role.SPECIALIST: 0.8,
        Role.PHARMACIST: 0.8,
        Role.HOSPITAL: 0.3,
        Role.SOCIAL_WORKER: 0.5,
        Role.HOME_HELP: 0.4,
        Role.PHYSIOTHERAPIST: 0.1,
        Role.OTHER: 0.3,
    },
}
# The allied professional (care-team role "other") each pathway usually involves.
ALLIED_FOR = {
    None: "psychologist",
    "insuffisance-cardiaque": "dietitian",
    "personne-agee-fragile": "occupational_therapist",
    "diabete-type-2": "dietitian",
    "apres-cancer": "psychologist",
    "soins-palliatifs-domicile": "psychologist",
}
RELATIONSHIPS = (
    ("Conjoint·e", True),
    ("Fille", True),
    ("Fils", True),
    ("Belle-fille", False),
    ("Petite-fille", True),
    ("Neveu", True),
    ("Sœur", True),
    ("Frère", True),
    ("Voisine", False),
    ("Ami·e", False),
)


@dataclass
class PathwayPlan:
    template: str
    status: str
    enrolled_on: datetime.date
    ended_on: datetime.date | None
    exit_reason: str
    referent: int
    # Filled in by `followup` once the pathway is made: its id, the day it ended (the
    # completed ones' end follows from their steps), and the status and completion time
    # of its step done by the GP's validation of the care plan, if its template has one.
    id: int = 0
    closed_on: datetime.date | None = None
    care_plan_step: tuple[str, datetime.datetime | None] | None = None


@dataclass
class PatientPlan:
    patient_id: int
    gp: int
    # Who does what in the care team (active members): role -> professional id; the
    # allied professionals (role "other") under their profession.
    team: dict[str, int] = field(default_factory=dict)
    pathways: list[PathwayPlan] = field(default_factory=list)
    commune: int = 0


@dataclass
class Population:
    patients: list[PatientPlan] = field(default_factory=list)
    # (patient, professional, role, start, end) for every care-team membership.
    members: list[tuple[int, int, str, datetime.date, datetime.date | None]] = field(
        default_factory=list
    )
    demo_patient_id: int = 0
    demo_patient_name: tuple[str, str] = ("", "")


def horizon(spec: TemplateSpec) -> int:
    """Days from enrolment to the last step's due date when every step is on time."""
    offsets, previous = [], 0
    for step in spec.steps:
        base = previous if step.relative_to == PREVIOUS_STEP else 0
        previous = base + step.deadline_days
        offsets.append(previous)
    return max(offsets)


def _upper_ascii(name: str) -> str:
    """Birth names as the INS writes them: capitals, no diacritics."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return plain.upper()


def _pick(ctx: Context, pool: dict[int, list[int]], sector: int) -> int:
    """Someone from the patient's sector, or from anywhere when the sector has nobody."""
    rng = ctx.rng
    if pool[sector] and rng.random() < 0.9:
        return rng.choice(pool[sector])
    index = rng.randrange(sum(len(members) for members in pool.values()))
    for members in pool.values():
        if index < len(members):
            return members[index]
        index -= len(members)
    raise AssertionError("unreachable: the index is below the total size")


class _PatientFactory:
    def __init__(self, ctx: Context, directory: Directory) -> None:
        self.ctx = ctx
        self.directory = directory
        self.nir_bodies: set[str] = set()
        self.all_specialties = list(directory.specialists)
        self.allied_all = [pk for pool in directory.allied.values() for pk in pool]

    def identity(self, *, demo: bool) -> tuple:
        """(birth name, first names, used names, birth date, sex, birthplace, NIR, status, age).

        The demo patient is elderly, with a qualified identity.
        """
        ctx, rng, fake = self.ctx, self.ctx.rng, self.ctx.fake
        if demo:
            age = rng.randint(65, 97)
        else:
            age = rng.choices(
                (rng.randint(75, 99), rng.randint(60, 74), rng.randint(25, 59)),
                weights=(55, 30, 15),
            )[0]
        birth_date = ctx.today - datetime.timedelta(days=age * 365 + rng.randint(0, 364))
        roll = rng.random()
        sex = Patient.Sex.FEMALE if roll < 0.56 else Patient.Sex.MALE
        if roll > 0.9995 and not demo:
            sex = Patient.Sex.UNDETERMINED
        female = sex == Patient.Sex.FEMALE
        given = fake.first_name_female if female else fake.first_name_male
        first_names = " ".join(dict.fromkeys(given() for _ in range(rng.choice((1, 2, 2, 3)))))
        birth_last_name = _upper_ascii(fake.last_name())
        used_last_name = ""
        if female and age > 25 and rng.random() < 0.4:
            used_last_name = _upper_ascii(fake.last_name())
        used_first_name = ""
        if " " in first_names and rng.random() < 0.08:
            used_first_name = first_names.split(" ")[1]
        place = rng.random()
        if place < 0.55:
            birthplace = rng.choice(self.directory.birth_insee_codes)
        elif place < 0.9:
            departement = rng.choices(
                list(OTHER_DEPARTEMENTS), weights=list(OTHER_DEPARTEMENTS.values())
            )[0]
            birthplace = f"{departement}{rng.randint(1, 400):03d}"
        else:
            birthplace = "99" + rng.choices(list(COUNTRIES), weights=list(COUNTRIES.values()))[0]
        status = rng.choices(list(IDENTITY_STATUSES), weights=list(IDENTITY_STATUSES.values()))[0]
        if demo:
            status = Identity.QUALIFIED
        has_nir = status in Patient.STATUSES_WITH_INS or rng.random() < (
            0.7 if status == Identity.VALIDATED else 0.25
        )
        if sex == Patient.Sex.UNDETERMINED:
            status, has_nir = Identity.PROVISIONAL, False
        nir = None
        if has_nir:
            while True:
                body = (
                    f"{1 if sex == Patient.Sex.MALE else 2}{birth_date.year % 100:02d}"
                    f"{birth_date.month:02d}{birthplace}{rng.randint(1, 999):03d}"
                )
                if body not in self.nir_bodies:
                    break
            self.nir_bodies.add(body)
            nir = body + nir_key(body)
        return (
            birth_last_name,
            first_names,
            used_last_name,
            used_first_name,
            birth_date,
            sex,
            birthplace,
            nir,
            status,
            age,
        )

    def team(
        self, template: str | None, sector: int, gp: int, *, coordinator: int | None
    ) -> dict[str, int]:
        """Active care-team members besides the GP: role (or allied profession) -> id."""
        ctx, rng, directory = self.ctx, self.ctx.rng, self.directory
        team: dict[str, int] = {Role.GP: gp}
        limit = 5 if coordinator is None else 4
        for role, probability in TEAM_NEEDS[template].items():
            if len(team) > limit:
                break
            if rng.random() >= probability:
                continue
            match role:
                case Role.NURSE:
                    team[role] = _pick(ctx, directory.home_nurses, sector)
                case Role.PHARMACIST:
                    team[role] = _pick(ctx, directory.pharmacists, sector)
                case Role.PHYSIOTHERAPIST:
                    team[role] = _pick(ctx, directory.physiotherapists, sector)
                case Role.HOME_HELP:
                    team[role] = _pick(ctx, directory.home_helpers, sector)
                case Role.SOCIAL_WORKER:
                    team[role] = rng.choice(directory.social_workers)
                case Role.HOSPITAL:
                    team[role] = rng.choice(directory.hospital_physicians)
                case Role.SPECIALIST:
                    specialty = (
                        CATALOGUE_BY_CODE[template].specialty
                        if template
                        else rng.choice(self.all_specialties)
                    )
                    team[role] = rng.choice(directory.specialists[specialty])
                case Role.OTHER:
                    allied = ALLIED_FOR[template]
                    team[allied] = rng.choice(directory.allied.get(allied) or self.allied_all)
        if len(team) == 1:
            team[Role.PHARMACIST] = _pick(ctx, directory.pharmacists, sector)
        if coordinator is not None:
            team[Role.COORDINATOR] = coordinator
        return team


def _template_for(ctx: Context, age: int) -> str:
    if age >= 75:
        weights = (30, 45, 10, 8, 7)
    elif age >= 60:
        weights = (30, 5, 35, 25, 5)
    else:
        weights = (8, 0, 50, 40, 2)
    return ctx.rng.choices([spec.code for spec in CATALOGUE], weights=weights)[0]


def _plan_pathways(
    ctx: Context, age: int, referent: int, *, forced: str | None = None
) -> list[PathwayPlan]:
    """The patient's current pathway and, for some, an earlier closed one."""
    rng = ctx.rng
    template = forced or _template_for(ctx, age)
    status = (
        Status.ACTIVE
        if forced
        else rng.choices(list(PRIMARY_STATUSES), weights=list(PRIMARY_STATUSES.values()))[0]
    )
    spec = CATALOGUE_BY_CODE[template]
    ended_on, exit_reason = None, ""
    if status == Status.PROPOSED:
        enrolled = ctx.days_ago(rng.randint(0, 10))
    elif status == Status.ACTIVE:
        enrolled = ctx.days_ago(rng.randint(3, 30) if forced else rng.randint(0, 420))
    elif status == Status.SUSPENDED:
        enrolled = ctx.days_ago(rng.randint(30, 500))
    elif status == Status.COMPLETED:
        # The end date follows from the steps (set when they are generated).
        enrolled = ctx.days_ago(rng.randint(horizon(spec) + 40, HISTORY_DAYS - 10))
    else:
        since = rng.randint(30, HISTORY_DAYS - 10)
        enrolled = ctx.days_ago(since)
        ended_on = enrolled + datetime.timedelta(
            days=rng.randint(10, min(horizon(spec), since - 1))
        )
        exit_reason = rng.choice(EXIT_REASONS)
    plans = [PathwayPlan(template, status, enrolled, ended_on, exit_reason, referent)]
    if status in {Status.PROPOSED, Status.ACTIVE, Status.SUSPENDED} and rng.random() < 0.15:
        earlier = rng.choice([spec.code for spec in CATALOGUE if spec.code != template])
        earlier_enrolled = ctx.days_ago(rng.randint(700, HISTORY_DAYS - 5))
        gap = (enrolled - earlier_enrolled).days
        earlier_horizon = horizon(CATALOGUE_BY_CODE[earlier])
        if gap > earlier_horizon + 40:
            plans.insert(
                0, PathwayPlan(earlier, Status.COMPLETED, earlier_enrolled, None, "", referent)
            )
        elif gap > 40:
            plans.insert(
                0,
                PathwayPlan(
                    earlier,
                    Status.EXITED,
                    earlier_enrolled,
                    earlier_enrolled + datetime.timedelta(days=rng.randint(10, gap - 20)),
                    rng.choice(EXIT_REASONS),
                    referent,
                ),
            )
    return plans


def build_population(ctx: Context, directory: Directory, demo_users: dict[str, int]) -> Population:
    with ctx.phase(_("Patients, équipes de soins, aidants et consentements")):
        return _build_population(ctx, directory, demo_users)


def _build_population(ctx: Context, directory: Directory, demo_users: dict[str, int]) -> Population:
    rng, fake = ctx.rng, ctx.fake
    demo = directory.demo
    count = ctx.count(150_000, 150)
    first_id = next_id(Patient)
    # Patients of the demo GP, and of the "external" GP who shares none with other demo
    # accounts; the first of the demo GP's is the demo patient.
    with_demo_gp = max(30, min(round(count * 0.0008), count // 5))
    with_external_gp = max(10, min(round(count * 0.0002), count // 10))
    chosen = rng.sample(range(count), with_demo_gp + with_external_gp)
    demo_gp_patients = set(chosen[:with_demo_gp])
    external_patients = set(chosen[with_demo_gp:])
    demo_patient = chosen[0]
    demo_rate = with_demo_gp / count
    # A few patients object to sharing; at least one, even in the smallest territory.
    sharing_objectors = set(rng.sample(range(count), max(1, round(count * 0.003))))
    objection_recorded = False
    factory = _PatientFactory(ctx, directory)
    population = Population()
    patients, caregivers, consents = [], [], []
    for index in range(count):
        pk = first_id + index
        is_demo_patient = index == demo_patient
        external = index in external_patients
        (
            birth_last_name,
            first_names,
            used_last_name,
            used_first_name,
            birth_date,
            sex,
            birthplace,
            nir,
            status,
            age,
        ) = factory.identity(demo=is_demo_patient)
        commune = directory.pick_commune(ctx)
        sector = directory.commune_sectors[commune]
        if index in demo_gp_patients:
            gp = demo["medecin"]
        elif external:
            gp = demo["medecin.externe"]
        else:
            gp = _pick(ctx, directory.gps, sector)
        # Pathways (none for the external GP's patients, so no demo coordinator sees them).
        pathways: list[PathwayPlan] = []
        if not external and (is_demo_patient or rng.random() < 0.82):
            referent = (
                demo["coordination"]
                if index in demo_gp_patients or rng.random() < demo_rate * 2
                else rng.choice(directory.dac_coordinators)
            )
            pathways = _plan_pathways(
                ctx, age, referent, forced=HEART_FAILURE if is_demo_patient else None
            )
        current = pathways[-1] if pathways else None
        coordinator = (
            current.referent
            if current
            and current.status in {Status.ACTIVE, Status.SUSPENDED}
            and rng.random() < 0.3
            else None
        )
        team = factory.team(
            current.template if current else None, sector, gp, coordinator=coordinator
        )
        if is_demo_patient:
            team[Role.NURSE] = demo["infirmiere"]
            team[Role.HOSPITAL] = demo["hopital"]
            essential = {Role.GP, Role.NURSE, Role.HOSPITAL, Role.SPECIALIST, Role.COORDINATOR}
            for key in [k for k in team if k not in essential][: max(0, len(team) - 6)]:
                del team[key]
            population.demo_patient_id = pk
        elif not external:
            if Role.NURSE in team and (
                (index in demo_gp_patients and rng.random() < 0.6) or rng.random() < demo_rate
            ):
                team[Role.NURSE] = demo["infirmiere"]
            if (Role.HOSPITAL in team or len(team) < 6) and (
                (index in demo_gp_patients and rng.random() < 0.25)
                or (
                    Role.HOSPITAL in team
                    and current is not None
                    and current.template == HEART_FAILURE
                    and rng.random() < demo_rate * 3
                )
            ):
                team[Role.HOSPITAL] = demo["hopital"]
        plan = PatientPlan(pk, gp, team, pathways, commune=directory.commune_ids[commune])
        population.patients.append(plan)
        # Memberships: the GP for years, the others since before the first pathway.
        earliest = min((p.enrolled_on for p in pathways), default=ctx.days_ago(30))
        for key, professional in team.items():
            role = key if key in Role.values else Role.OTHER
            if role == Role.GP:
                start = ctx.days_ago(rng.randint(365, 15 * 365))
            else:
                start = min(earliest, ctx.days_ago(rng.randint(30, 5 * 365))) - datetime.timedelta(
                    days=rng.randint(0, 30)
                )
            population.members.append((pk, professional, role, start, None))
        former = None
        if rng.random() < 0.12:
            role = Role.GP if rng.random() < 0.4 else Role.NURSE
            pool = directory.gps if role == Role.GP else directory.home_nurses
            former = _pick(ctx, pool, sector)
            if former not in team.values():
                start = ctx.days_ago(rng.randint(1500, 3000))
                end = start + datetime.timedelta(days=rng.randint(180, 1400))
                population.members.append((pk, former, role, start, min(end, ctx.days_ago(31))))
            else:
                former = None
        last_name = used_last_name or birth_last_name
        patients.append(
            (
                pk,
                ctx.at(earliest, 9),
                ctx.now,
                birth_last_name,
                first_names,
                used_last_name,
                used_first_name,
                birth_date,
                sex,
                birthplace,
                nir,
                status,
                fake.street_address(),
                directory.commune_postcodes[commune],
                directory.commune_ids[commune],
                ctx.phone(mobile=rng.random() < 0.6) if rng.random() < 0.9 else "",
                f"{ascii_slug(first_names.split(' ')[0], '.')}.{ascii_slug(last_name, '.')}"
                f"{rng.randint(1, 99)}@example.org"
                if rng.random() < 0.25
                else "",
                gp,
                demo_users["patient"] if is_demo_patient else None,
            )
        )
        # Caregivers, mostly for the elderly; the demo patient has a trusted person.
        if is_demo_patient or rng.random() < (0.35 if age >= 70 else 0.1):
            for rank in range(2 if rng.random() < 0.15 else 1):
                relationship, family = rng.choice(RELATIONSHIPS)
                female = rng.random() < 0.6
                caregivers.append(
                    (
                        ctx.at(earliest, 10),
                        ctx.now,
                        pk,
                        last_name.title() if family else fake.last_name(),
                        fake.first_name_female() if female else fake.first_name_male(),
                        relationship,
                        ctx.phone(mobile=True),
                        f"aidant{pk}.{rank}@example.org" if rng.random() < 0.4 else "",
                        rank == 0 and (is_demo_patient or rng.random() < 0.6),
                    )
                )
        # Consent: information given to most; a few objections.
        if is_demo_patient or rng.random() < 0.92:
            consents.append(
                (
                    pk,
                    ConsentRecord.Kind.INFORMATION_GIVEN,
                    None,
                    ctx.at(earliest, 11),
                    None,
                    "Information orale délivrée, document remis.",
                )
            )
        if (
            former is not None
            and not is_demo_patient
            and (not objection_recorded or rng.random() < 0.1)
        ):
            objection_recorded = True
            consents.append(
                (
                    pk,
                    ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
                    former,
                    ctx.at(earliest, 11),
                    None,
                    "Le patient ne souhaite plus que ce professionnel accède à son dossier.",
                )
            )
        elif index in sharing_objectors and not is_demo_patient:
            recorded = ctx.at(ctx.days_ago(rng.randint(30, 900)), 14)
            withdrawn = recorded + datetime.timedelta(days=20) if rng.random() < 0.5 else None
            consents.append(
                (
                    pk,
                    ConsentRecord.Kind.SHARING_OBJECTION,
                    None,
                    recorded,
                    withdrawn,
                    "Opposition au partage exprimée lors de la consultation.",
                )
            )
    copy_rows(
        Patient,
        [
            "id",
            "created_at",
            "updated_at",
            "birth_last_name",
            "first_names",
            "used_last_name",
            "used_first_name",
            "birth_date",
            "sex",
            "birth_place_insee",
            "nir",
            "identity_status",
            "address",
            "postcode",
            "commune",
            "phone",
            "email",
            "gp",
            "user",
        ],
        patients,
    )
    copy_rows(
        CareTeamMember,
        ["patient", "professional", "role", "read_only", "start", "end"],
        (
            (patient, professional, role, role == Role.HOME_HELP, start, end)
            for patient, professional, role, start, end in population.members
        ),
    )
    copy_rows(
        Caregiver,
        [
            "created_at",
            "updated_at",
            "patient",
            "last_name",
            "first_name",
            "relationship",
            "phone",
            "email",
            "is_trusted_person",
        ],
        caregivers,
    )
    copy_rows(
        ConsentRecord,
        ["patient", "kind", "professional", "recorded_at", "withdrawn_at", "note"],
        consents,
    )
    demo_record = patients[population.demo_patient_id - first_id]
    population.demo_patient_name = (demo_record[4].split(" ")[0], demo_record[5] or demo_record[3])
    return population
