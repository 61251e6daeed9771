"""The demo territory's directory: territory and communes, organisations, professionals
and their practice, support services."""

import bisect
import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from pathways.catalogue import CATALOGUE
from pathways.demo.accounts import DEMO_ACCOUNTS_BY_KEY
from pathways.demo.bulk import copy_rows, next_id
from pathways.demo.context import Context, ascii_slug
from pathways.demo.territory import SECTORS, create_territory
from professionals.models import Organization, PractitionerRole, Professional
from tsn.identifiers import with_luhn_key
from tsn.models import Commune

Kind = Organization.Kind
Profession = Professional.Profession

DEMO_DAC_NAME = "DAC Rhône-Est — Dispositif d'appui à la coordination"
GENERAL_PRACTICE = "Médecine générale"


# Organisations per kind at scale 1 (about 3,000) and the minimum at any scale.
ORGANIZATION_COUNTS: dict[str, tuple[int, int]] = {
    Kind.GP_PRACTICE: (850, 4),
    Kind.MSP: (70, 2),
    Kind.HEALTH_CENTRE: (45, 1),
    Kind.NURSING_PRACTICE: (800, 3),
    Kind.HOSPITAL: (22, 2),
    Kind.EHPAD: (160, 1),
    Kind.SSIAD: (30, 1),
    Kind.HAD: (6, 1),
    Kind.PHARMACY: (470, 2),
    Kind.LABORATORY: (75, 1),
    Kind.DAC: (1, 1),
    Kind.CPTS: (12, 1),
    Kind.SOCIAL_SERVICE: (60, 1),
    Kind.HOME_HELP: (120, 2),
    Kind.OTHER: (280, 2),
}
# Establishments registered in FINESS.
FINESS_KINDS = {
    Kind.MSP,
    Kind.HEALTH_CENTRE,
    Kind.HOSPITAL,
    Kind.EHPAD,
    Kind.SSIAD,
    Kind.HAD,
    Kind.PHARMACY,
    Kind.LABORATORY,
    Kind.DAC,
}
PLACE_SUFFIXES = (
    "du Parc",
    "des Tilleuls",
    "de la Gare",
    "du Centre",
    "des Platanes",
    "de la Mairie",
    "du Château",
    "des Écoles",
    "de l'Église",
    "du Marché",
    "des Cèdres",
    "du Lac",
    "des Vignes",
    "de la Source",
    "du Moulin",
    "des Acacias",
    "de la Poste",
    "du Stade",
)
RESIDENCES = (
    "Les Tilleuls",
    "Les Magnolias",
    "La Roseraie",
    "Le Clos fleuri",
    "Les Jardins d'Aurore",
    "Le Val d'Ozon",
    "Les Balcons de l'Ain",
    "La Maison du Lac",
    "Les Glycines",
    "Bellevue",
)
OTHER_ORGANIZATIONS = (
    "Centre d'imagerie médicale",
    "Cabinet de masso-kinésithérapie",
    "Cabinet dentaire",
    "Cabinet de psychologie",
    "Cabinet de cardiologie",
    "Cabinet de diététique",
    "Cabinet d'ergothérapie",
    "Cabinet de sages-femmes",
)

# Professionals per group at scale 1 (about 20,000) and the minimum at any scale.
# A group is a profession, with "specialist" for physicians other than GPs.
PROFESSIONAL_COUNTS: dict[str, tuple[int, int]] = {
    "gp": (1750, 8),
    "specialist": (2300, 20),
    Profession.NURSE: (7250, 10),
    Profession.PHARMACIST: (1500, 3),
    Profession.PHYSIOTHERAPIST: (2100, 2),
    Profession.MIDWIFE: (450, 1),
    Profession.DENTIST: (950, 1),
    Profession.DIETITIAN: (300, 1),
    Profession.PSYCHOLOGIST: (900, 1),
    Profession.OCCUPATIONAL_THERAPIST: (250, 1),
    Profession.SOCIAL_WORKER: (600, 2),
    Profession.COORDINATOR: (150, 3),
    Profession.HOME_HELP: (1500, 2),
    # (Appended last: the groups above draw the same random numbers as before.)
    Profession.SPEECH_THERAPIST: (450, 1),
    Profession.ORTHOPTIST: (120, 1),
    Profession.PODIATRIST: (300, 1),
    Profession.PSYCHOMOTOR_THERAPIST: (100, 1),
    Profession.OTHER: (150, 1),
}
# Specialties of specialists, with weights; the pathways' specialties come first so that
# even the smallest territory has each of them.
PATHWAY_SPECIALTIES = tuple(dict.fromkeys(spec.specialty for spec in CATALOGUE))
SPECIALTIES: dict[str, int] = {
    "Cardiologie": 10,
    "Gériatrie": 6,
    "Endocrinologie-diabétologie": 4,
    "Oncologie médicale": 5,
    "Médecine palliative": 2,
    "Ophtalmologie": 6,
    "Pneumologie": 5,
    "Néphrologie": 3,
    "Neurologie": 4,
    "Psychiatrie": 10,
    "Médecine interne": 4,
    "Rhumatologie": 3,
    "Gastro-entérologie": 4,
    "Médecine d'urgence": 8,
    "Radiologie": 8,
    "Biologie médicale": 4,
    "Anesthésie-réanimation": 8,
    "Pédiatrie": 5,
}
# Where each group works: organisation kinds with weights.
WORKPLACES: dict[str, dict[str, int]] = {
    "gp": {Kind.GP_PRACTICE: 70, Kind.MSP: 20, Kind.HEALTH_CENTRE: 10},
    "specialist": {Kind.HOSPITAL: 75, Kind.OTHER: 20, Kind.HEALTH_CENTRE: 5},
    Profession.NURSE: {
        Kind.NURSING_PRACTICE: 55,
        Kind.HOSPITAL: 25,
        Kind.SSIAD: 7,
        Kind.EHPAD: 6,
        Kind.MSP: 4,
        Kind.HAD: 3,
    },
    Profession.PHARMACIST: {Kind.PHARMACY: 90, Kind.HOSPITAL: 10},
    Profession.PHYSIOTHERAPIST: {Kind.OTHER: 70, Kind.MSP: 20, Kind.HOSPITAL: 10},
    Profession.MIDWIFE: {Kind.HOSPITAL: 60, Kind.MSP: 20, Kind.OTHER: 20},
    Profession.DENTIST: {Kind.OTHER: 80, Kind.HEALTH_CENTRE: 20},
    Profession.DIETITIAN: {Kind.HOSPITAL: 50, Kind.OTHER: 50},
    Profession.PSYCHOLOGIST: {Kind.OTHER: 60, Kind.HOSPITAL: 40},
    Profession.OCCUPATIONAL_THERAPIST: {Kind.HOSPITAL: 50, Kind.SSIAD: 30, Kind.OTHER: 20},
    Profession.SOCIAL_WORKER: {Kind.SOCIAL_SERVICE: 60, Kind.HOSPITAL: 30, Kind.DAC: 10},
    Profession.COORDINATOR: {Kind.DAC: 70, Kind.CPTS: 20, Kind.MSP: 10},
    Profession.HOME_HELP: {Kind.HOME_HELP: 100},
    Profession.SPEECH_THERAPIST: {Kind.OTHER: 80, Kind.HOSPITAL: 20},
    Profession.ORTHOPTIST: {Kind.OTHER: 100},
    Profession.PODIATRIST: {Kind.OTHER: 90, Kind.MSP: 10},
    Profession.PSYCHOMOTOR_THERAPIST: {Kind.OTHER: 70, Kind.HOSPITAL: 30},
    Profession.OTHER: {Kind.OTHER: 60, Kind.HOSPITAL: 40},
}
SPECIALTY_WORKPLACES = {
    "Biologie médicale": {Kind.LABORATORY: 100},
    "Radiologie": {Kind.OTHER: 70, Kind.HOSPITAL: 30},
    "Médecine palliative": {Kind.HAD: 50, Kind.HOSPITAL: 50},
    "Gériatrie": {Kind.HOSPITAL: 100},
}
# The first groups are forced to the minimum workplaces every pool needs.
FORCED_WORKPLACES = {
    Profession.NURSE: (Kind.NURSING_PRACTICE, Kind.NURSING_PRACTICE, Kind.SSIAD, Kind.HAD),
    Profession.SOCIAL_WORKER: (Kind.SOCIAL_SERVICE,),
    Profession.COORDINATOR: (Kind.DAC, Kind.DAC, Kind.DAC),
    Profession.PHARMACIST: (Kind.PHARMACY,),
}
FUNCTIONS = {
    "gp": "Médecin généraliste",
    Profession.NURSE: "Infirmier·ère",
    Profession.PHARMACIST: "Pharmacien·ne",
    Profession.PHYSIOTHERAPIST: "Masseur-kinésithérapeute",
    Profession.MIDWIFE: "Sage-femme",
    Profession.DENTIST: "Chirurgien-dentiste",
    Profession.DIETITIAN: "Diététicien·ne",
    Profession.PSYCHOLOGIST: "Psychologue",
    Profession.OCCUPATIONAL_THERAPIST: "Ergothérapeute",
    Profession.SOCIAL_WORKER: "Assistant·e de service social",
    Profession.COORDINATOR: "Coordinateur·rice de parcours",
    Profession.HOME_HELP: "Auxiliaire de vie sociale",
    Profession.SPEECH_THERAPIST: "Orthophoniste",
    Profession.ORTHOPTIST: "Orthoptiste",
    Profession.PODIATRIST: "Pédicure-podologue",
    Profession.PSYCHOMOTOR_THERAPIST: "Psychomotricien·ne",
    Profession.OTHER: "Audioprothésiste",
}
# Professions registered in RPPS (11 digits) and, for the others with a number, ADELI.
RPPS_PROFESSIONS = {
    Profession.PHYSICIAN,
    Profession.NURSE,
    Profession.PHARMACIST,
    Profession.PHYSIOTHERAPIST,
    Profession.MIDWIFE,
    Profession.DENTIST,
}
ADELI_PROFESSIONS = {
    Profession.DIETITIAN,
    Profession.PSYCHOLOGIST,
    Profession.OCCUPATIONAL_THERAPIST,
    Profession.SPEECH_THERAPIST,
    Profession.ORTHOPTIST,
    Profession.PODIATRIST,
    Profession.PSYCHOMOTOR_THERAPIST,
    Profession.OTHER,
}
MSSANTE_DOMAINS = {
    Profession.PHYSICIAN: "medecin.mssante.fr",
    Profession.NURSE: "infirmier.mssante.fr",
    Profession.PHARMACIST: "pharmacien.mssante.fr",
    Profession.PHYSIOTHERAPIST: "masseur-kinesitherapeute.mssante.fr",
    Profession.MIDWIFE: "sage-femme.mssante.fr",
    Profession.DENTIST: "chirurgien-dentiste.mssante.fr",
}
# Nurses who go to patients' homes (the others work in wards and nursing homes).
HOME_NURSING_KINDS = {Kind.NURSING_PRACTICE, Kind.SSIAD, Kind.HAD, Kind.MSP}


@dataclass(frozen=True)
class DemoProfessional:
    """The professional behind a demo account (same key), at a fixed place in the directory."""

    key: str
    group: str
    specialty: str
    workplace: str
    sector: int


DEMO_PROFESSIONALS = (
    DemoProfessional("coordination", Profession.COORDINATOR, "", Kind.DAC, 0),
    DemoProfessional("medecin", "gp", GENERAL_PRACTICE, Kind.MSP, 0),
    DemoProfessional("infirmiere", Profession.NURSE, "", Kind.NURSING_PRACTICE, 0),
    DemoProfessional("hopital", "specialist", "Cardiologie", Kind.HOSPITAL, 0),
    DemoProfessional("medecin.externe", "gp", GENERAL_PRACTICE, Kind.GP_PRACTICE, 3),
)


@dataclass
class Directory:
    """What later phases pick from: communes, organisations and pools of professionals."""

    commune_ids: list[int] = field(default_factory=list)
    commune_postcodes: list[str] = field(default_factory=list)
    commune_sectors: list[int] = field(default_factory=list)
    commune_cumulative_population: list[int] = field(default_factory=list)
    birth_insee_codes: list[str] = field(default_factory=list)
    organizations_by_kind: dict[str, list[int]] = field(default_factory=dict)
    dac_id: int = 0
    dac_service_id: int = 0
    # Professional id -> the organisation they currently work in.
    workplace: dict[int, int] = field(default_factory=dict)
    # Pools by sector (index into SECTORS) or by specialty; demo professionals are in none.
    gps: dict[int, list[int]] = field(default_factory=dict)
    home_nurses: dict[int, list[int]] = field(default_factory=dict)
    pharmacists: dict[int, list[int]] = field(default_factory=dict)
    physiotherapists: dict[int, list[int]] = field(default_factory=dict)
    home_helpers: dict[int, list[int]] = field(default_factory=dict)
    social_workers: list[int] = field(default_factory=list)
    specialists: dict[str, list[int]] = field(default_factory=dict)
    hospital_physicians: list[int] = field(default_factory=list)
    allied: dict[str, list[int]] = field(default_factory=dict)
    dac_coordinators: list[int] = field(default_factory=list)
    demo: dict[str, int] = field(default_factory=dict)
    organizations: list[Organization] = field(default_factory=list)

    def pick_commune(self, ctx: Context) -> int:
        """A commune index, weighted by population."""
        total = self.commune_cumulative_population[-1]
        return bisect.bisect_right(self.commune_cumulative_population, ctx.rng.randrange(total))


def build_directory(ctx: Context, demo_users: dict[str, int]) -> Directory:
    with ctx.phase(_("Territoire et communes")):
        communes = create_territory(ctx)
    directory = Directory(
        commune_ids=communes.ids,
        commune_postcodes=communes.postcodes,
        commune_sectors=communes.sectors,
        commune_cumulative_population=communes.cumulative_population,
        birth_insee_codes=communes.insee_codes,
    )
    with ctx.phase(_("Organisations")):
        organizations = _create_organizations(ctx, directory, communes.objects)
    with ctx.phase(_("Professionnels et exercices")):
        _create_professionals(ctx, directory, organizations, demo_users)
    directory.organizations = organizations
    return directory


def _finess_numbers(ctx: Context, departement: str, count: int) -> list[str]:
    return [
        with_luhn_key(f"{departement}{number:06d}")
        for number in ctx.rng.sample(range(1, 1_000_000), count)
    ]


def _siret(ctx: Context) -> str:
    siren = with_luhn_key(f"{ctx.rng.randrange(10_000_000, 100_000_000)}")
    return with_luhn_key(f"{siren}{ctx.rng.randrange(1, 10_000):04d}")


def _organization_name(ctx: Context, kind: str, index: int, commune: Commune) -> str:
    rng = ctx.rng
    place = commune.name
    match kind:
        case Kind.GP_PRACTICE:
            return f"Cabinet médical {rng.choice(PLACE_SUFFIXES)} — {place}"
        case Kind.MSP:
            return f"Maison de santé pluriprofessionnelle de {place}"
        case Kind.HEALTH_CENTRE:
            return f"Centre de santé {rng.choice(PLACE_SUFFIXES)} — {place}"
        case Kind.NURSING_PRACTICE:
            return f"Cabinet infirmier {rng.choice(PLACE_SUFFIXES)} — {place}"
        case Kind.HOSPITAL:
            if index == 0:
                return f"Centre hospitalier de {place}"
            return rng.choice(
                (
                    f"Hôpital de proximité de {place}",
                    f"Clinique {ctx.fake.last_name()}",
                    f"Centre hospitalier de {place}",
                )
            )
        case Kind.EHPAD:
            return f"EHPAD {rng.choice(RESIDENCES)} — {place}"
        case Kind.SSIAD:
            return f"SSIAD de {place}"
        case Kind.HAD:
            return f"HAD {SECTORS[index % len(SECTORS)].name}"
        case Kind.PHARMACY:
            return f"Pharmacie {rng.choice(PLACE_SUFFIXES)} — {place}"
        case Kind.LABORATORY:
            return f"Laboratoire de biologie médicale de {place}"
        case Kind.DAC:
            return DEMO_DAC_NAME
        case Kind.CPTS:
            return f"CPTS {SECTORS[index % len(SECTORS)].name}"
        case Kind.SOCIAL_SERVICE:
            return rng.choice(
                (f"Maison départementale de la solidarité de {place}", f"CCAS de {place}")
            )
        case Kind.HOME_HELP:
            return rng.choice((f"ADMR {place}", f"Service d'aide à domicile de {place}"))
        case _:
            return f"{rng.choice(OTHER_ORGANIZATIONS)} — {place}"


def _create_organizations(
    ctx: Context, directory: Directory, communes: list[Commune]
) -> list[Organization]:
    rng = ctx.rng
    counts = {kind: ctx.count(n, minimum) for kind, (n, minimum) in ORGANIZATION_COUNTS.items()}
    counts[Kind.DAC] = 1
    finess_by_departement = {
        departement: _finess_numbers(ctx, departement, sum(counts[k] for k in FINESS_KINDS))
        for departement in dict.fromkeys(s.departement for s in SECTORS)
    }
    # The first ones of each kind go to sectors in turn, so every sector gets one of each
    # where possible; hospitals go to the largest towns.
    first_in_sector = {
        sector: communes.index(next(c for c in communes if c.sector == SECTORS[sector].name))
        for sector in range(len(SECTORS))
    }
    organizations = []
    for kind, count in counts.items():
        for index in range(count):
            if kind == Kind.HOSPITAL:
                commune_index = min(index, len(communes) - 1)
            elif index < len(SECTORS) and kind != Kind.DAC:
                commune_index = first_in_sector[index]
            else:
                commune_index = directory.pick_commune(ctx)
            commune = communes[commune_index]
            name = _organization_name(ctx, kind, index, commune)
            finess = (
                finess_by_departement[commune.insee_code[:2]].pop()
                if kind in FINESS_KINDS
                else None
            )
            mssante = ""
            if kind in {Kind.HOSPITAL, Kind.MSP, Kind.DAC, Kind.HAD, Kind.SSIAD, Kind.EHPAD}:
                mssante = f"secretariat@{ascii_slug(name)[:40].strip('-')}.mssante.fr"
            organizations.append(
                Organization(
                    kind=kind,
                    name=name,
                    finess=finess,
                    siret=_siret(ctx) if rng.random() < 0.8 else "",
                    address=ctx.fake.street_address(),
                    postcode=commune.postcodes[0],
                    commune=commune,
                    phone=ctx.phone(),
                    mssante_address=mssante,
                    created_at=ctx.now,
                )
            )
    Organization.objects.bulk_create(organizations, batch_size=2000)
    by_kind: dict[str, list[int]] = {kind: [] for kind in counts}
    for organization in organizations:
        by_kind[organization.kind].append(organization.pk)
    directory.organizations_by_kind = by_kind
    directory.dac_id = by_kind[Kind.DAC][0]
    return organizations


def _professional_groups(ctx: Context) -> list[tuple[str, str]]:
    """(group, specialty) for every generated professional, in a shuffled order."""
    rng = ctx.rng
    groups: list[tuple[str, str]] = []
    for group, (n, minimum) in PROFESSIONAL_COUNTS.items():
        count = ctx.count(n, minimum)
        if group == "gp":
            groups += [(group, GENERAL_PRACTICE)] * count
        elif group == "specialist":
            names = list(SPECIALTIES)
            forced = [*PATHWAY_SPECIALTIES, "Ophtalmologie", "Biologie médicale"]
            forced += PATHWAY_SPECIALTIES[:1] * 3  # several cardiologists, even when tiny
            rest = rng.choices(names, weights=list(SPECIALTIES.values()), k=count - len(forced))
            groups += [(group, specialty) for specialty in forced + rest]
        elif group == Profession.NURSE:
            groups += [
                (group, "Infirmier·ère en pratique avancée" if rng.random() < 0.03 else "")
                for _ in range(count)
            ]
        else:
            groups += [(group, "")] * count
    return groups


def _create_professionals(
    ctx: Context,
    directory: Directory,
    organizations: list[Organization],
    demo_users: dict[str, int],
) -> None:
    rng, fake = ctx.rng, ctx.fake
    by_kind = directory.organizations_by_kind
    commune_sector = dict(zip(directory.commune_ids, directory.commune_sectors, strict=True))
    organization_sector = {org.pk: commune_sector[org.commune_id] for org in organizations}
    organization_kind = {org.pk: org.kind for org in organizations}
    first_id = next_id(Professional)
    groups = _professional_groups(ctx)
    demo_count = len(DEMO_PROFESSIONALS)
    rpps_numbers = iter(rng.sample(range(1, 100_000_000), len(groups) + demo_count))
    adeli_numbers = iter(rng.sample(range(1, 1_000_000), len(groups) + demo_count))
    mailbox_uses: dict[str, int] = {}
    forced = {group: list(kinds) for group, kinds in FORCED_WORKPLACES.items()}
    professionals, roles = [], []
    pools_by_sector = {
        "gp": directory.gps,
        Profession.PHARMACIST: directory.pharmacists,
        Profession.PHYSIOTHERAPIST: directory.physiotherapists,
        Profession.HOME_HELP: directory.home_helpers,
    }
    for sector in range(len(SECTORS)):
        for pool in (*pools_by_sector.values(), directory.home_nurses):
            pool[sector] = []

    def workplace_for(group: str, specialty: str, demo: DemoProfessional | None) -> int:
        if demo is not None:
            candidates = [
                pk for pk in by_kind[demo.workplace] if organization_sector[pk] == demo.sector
            ] or by_kind[demo.workplace]
            return candidates[0]
        if forced.get(group):
            return rng.choice(by_kind[forced[group].pop(0)])
        places = SPECIALTY_WORKPLACES.get(specialty) or WORKPLACES[group]
        kind = rng.choices(list(places), weights=list(places.values()))[0]
        return rng.choice(by_kind[kind])

    people: list[tuple[str, str, DemoProfessional | None]] = [
        (d.group, d.specialty, d) for d in DEMO_PROFESSIONALS
    ] + [(group, specialty, None) for group, specialty in groups]
    for offset, (group, specialty, demo) in enumerate(people):
        pk = first_id + offset
        profession = Profession.PHYSICIAN if group in {"gp", "specialist"} else group
        if demo is not None:
            account = DEMO_ACCOUNTS_BY_KEY[demo.key]
            first_name, last_name = account.first_name, account.last_name
        else:
            female = rng.random() < (0.85 if profession == Profession.NURSE else 0.55)
            first_name = fake.first_name_female() if female else fake.first_name_male()
            last_name = fake.last_name()
        rpps = (
            with_luhn_key(f"10{next(rpps_numbers):08d}") if profession in RPPS_PROFESSIONS else None
        )
        adeli = (
            with_luhn_key(f"69{next(adeli_numbers):06d}") if profession in ADELI_PROFESSIONS else ""
        )
        mssante = ""
        if profession in MSSANTE_DOMAINS:
            mailbox = f"{ascii_slug(first_name)}.{ascii_slug(last_name)}"
            uses = mailbox_uses.get(mailbox, 0) + 1
            mailbox_uses[mailbox] = uses
            suffix = "" if uses == 1 else str(uses)
            mssante = f"{mailbox}{suffix}@{MSSANTE_DOMAINS[profession]}"
        organization_id = workplace_for(group, specialty, demo)
        accepts = rng.random() < 0.7 if group == "gp" else True
        professionals.append(
            (
                pk,
                ctx.now,
                ctx.now,
                rpps,
                adeli,
                last_name,
                first_name,
                profession,
                specialty,
                ctx.phone() if rng.random() < 0.85 else "",
                mssante,
                accepts,
                demo_users.get(demo.key) if demo else None,
            )
        )
        start = ctx.days_ago(rng.randint(60, 25 * 365))
        if rng.random() < 0.05:
            # An earlier practice, ended before the current one began.
            earlier_start = start - datetime.timedelta(days=rng.randint(400, 3000))
            roles.append(
                (
                    pk,
                    rng.choice(organizations).pk,
                    FUNCTIONS.get(group, specialty),
                    earlier_start,
                    start - datetime.timedelta(days=rng.randint(1, 300)),
                )
            )
        roles.append((pk, organization_id, FUNCTIONS.get(group, specialty), start, None))
        directory.workplace[pk] = organization_id
        if demo is not None:
            directory.demo[demo.key] = pk
            continue
        sector = organization_sector[organization_id]
        kind = organization_kind[organization_id]
        if group in pools_by_sector:
            if group != Profession.PHARMACIST or kind == Kind.PHARMACY:
                pools_by_sector[group][sector].append(pk)
        elif group == Profession.NURSE and kind in HOME_NURSING_KINDS:
            directory.home_nurses[sector].append(pk)
        elif group == "specialist":
            directory.specialists.setdefault(specialty, []).append(pk)
            if kind == Kind.HOSPITAL:
                directory.hospital_physicians.append(pk)
        elif group == Profession.SOCIAL_WORKER:
            directory.social_workers.append(pk)
        elif group == Profession.COORDINATOR and kind == Kind.DAC:
            directory.dac_coordinators.append(pk)
        elif group in ADELI_PROFESSIONS:
            directory.allied.setdefault(group, []).append(pk)
    copy_rows(
        Professional,
        [
            "id",
            "created_at",
            "updated_at",
            "rpps",
            "adeli",
            "last_name",
            "first_name",
            "profession",
            "specialty",
            "phone",
            "mssante_address",
            "accepts_new_patients",
            "user",
        ],
        professionals,
    )
    copy_rows(PractitionerRole, ["professional", "organization", "function", "start", "end"], roles)
