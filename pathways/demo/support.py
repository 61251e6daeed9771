"""The territory's support services, the communes they cover, the DAC's coordinators."""

from django.utils.translation import gettext as _

from pathways.demo.context import Context
from pathways.demo.directory import Directory
from pathways.demo.territory import SECTORS
from professionals.models import Organization, SupportService

Kind = Organization.Kind
Category = SupportService.Category


def build_support_services(ctx: Context, directory: Directory) -> None:
    with ctx.phase(_("Services d'appui")):
        _create_support_services(ctx, directory)


def _create_support_services(ctx: Context, directory: Directory) -> None:
    rng = ctx.rng
    organizations = directory.organizations
    by_kind = directory.organizations_by_kind
    by_pk = {org.pk: org for org in organizations}
    sector_names = [s.name for s in SECTORS]
    communes_of_sector: dict[str, list[int]] = {name: [] for name in sector_names}
    for commune_id, sector in zip(directory.commune_ids, directory.commune_sectors, strict=True):
        communes_of_sector[SECTORS[sector].name].append(commune_id)
    everywhere = directory.commune_ids

    def local(org_id: int) -> list[int]:
        return communes_of_sector[by_pk[org_id].commune.sector]

    # (organisation, name, category, description, eligibility, communes, capacity, waiting)
    plans: list[tuple[int, str, str, str, str, list[int], int | None, int | None]] = [
        (
            directory.dac_id,
            "DAC Rhône-Est — appui aux parcours complexes",
            Category.COORDINATION,
            "Appui aux professionnels pour les situations complexes : évaluation globale, "
            "orientation, coordination du parcours et plan personnalisé de coordination.",
            "Toute personne en situation complexe, quel que soit son âge ou sa pathologie.",
            everywhere,
            None,
            3,
        )
    ]
    for index, org in enumerate(by_kind[Kind.HOME_HELP]):
        plans.append(
            (
                org,
                f"Aide et accompagnement à domicile — {by_pk[org].name}",
                Category.HOME_HELP,
                "Aide à la toilette, au lever, aux repas et à l'entretien du logement.",
                "Personnes âgées ou en situation de handicap ; prise en charge APA possible.",
                local(org),
                rng.randint(40, 300),
                rng.randint(3, 30),
            )
        )
        if index % 3 == 0:
            plans.append(
                (
                    org,
                    f"Portage de repas — {by_pk[org].commune.name}",
                    Category.MEALS,
                    "Livraison de repas équilibrés, régimes adaptés (sans sel, diabétique).",
                    "Personnes de plus de 60 ans ou en sortie d'hospitalisation.",
                    local(org),
                    rng.randint(30, 200),
                    rng.randint(1, 7),
                )
            )
    for org in by_kind[Kind.SSIAD]:
        plans.append(
            (
                org,
                by_pk[org].name,
                Category.HOME_NURSING,
                "Soins infirmiers et d'hygiène à domicile sur prescription médicale.",
                "Personnes de 60 ans et plus, ou en situation de handicap, sur prescription.",
                local(org),
                rng.randint(30, 120),
                rng.randint(7, 45),
            )
        )
    for org in by_kind[Kind.SOCIAL_SERVICE]:
        plans.append(
            (
                org,
                f"Évaluation sociale — {by_pk[org].name}",
                Category.SOCIAL_ASSESSMENT,
                "Évaluation de la situation sociale, accès aux droits, aide aux démarches.",
                "Habitants des communes du secteur.",
                local(org),
                None,
                rng.randint(5, 30),
            )
        )
    for index, org in enumerate(by_kind[Kind.HOSPITAL]):
        hospital = by_pk[org].name
        if index % 2 == 0:
            plans.append(
                (
                    org,
                    f"Évaluation gériatrique — {hospital}",
                    Category.GERIATRIC_EVALUATION,
                    "Hôpital de jour d'évaluation gériatrique et équipe mobile de gériatrie.",
                    "Personnes de 75 ans et plus présentant une fragilité.",
                    everywhere if index == 0 else local(org),
                    rng.randint(5, 20),
                    rng.randint(10, 60),
                )
            )
        if index % 2 == 1 or index == 0:
            plans.append(
                (
                    org,
                    f"Éducation thérapeutique — {hospital}",
                    Category.THERAPEUTIC_EDUCATION,
                    "Programmes d'éducation thérapeutique : insuffisance cardiaque, diabète.",
                    "Patients atteints d'une maladie chronique, sur orientation médicale.",
                    local(org),
                    rng.randint(10, 40),
                    rng.randint(15, 90),
                )
            )
        if index % 3 == 0:
            plans.append(
                (
                    org,
                    f"Centre médico-psychologique — {hospital}",
                    Category.MENTAL_HEALTH,
                    "Consultations de psychiatrie et de psychologie, suivi infirmier.",
                    "Adultes du secteur de psychiatrie.",
                    local(org),
                    None,
                    rng.randint(20, 120),
                )
            )
    plans.append(
        (
            by_kind[Kind.HOSPITAL][0],
            f"Équipe mobile de soins palliatifs — {by_pk[by_kind[Kind.HOSPITAL][0]].name}",
            Category.PALLIATIVE_SUPPORT,
            "Appui aux équipes pour la prise en charge de la douleur et de la fin de vie.",
            "Patients en situation palliative, à domicile ou en établissement.",
            everywhere,
            None,
            rng.randint(2, 10),
        )
    )
    for org in by_kind[Kind.HAD]:
        plans.append(
            (
                org,
                by_pk[org].name,
                Category.PALLIATIVE_SUPPORT,
                "Hospitalisation à domicile : soins palliatifs, pansements complexes, "
                "chimiothérapie.",
                "Sur prescription médicale, patients relevant d'une hospitalisation.",
                everywhere,
                rng.randint(20, 80),
                rng.randint(1, 5),
            )
        )
    for index, org in enumerate(by_kind[Kind.EHPAD]):
        if index % 3 == 0:
            plans.append(
                (
                    org,
                    f"Accueil de jour et hébergement temporaire — {by_pk[org].name}",
                    Category.CAREGIVER_RESPITE,
                    "Accueil de jour et séjours temporaires pour soulager les aidants.",
                    "Personnes âgées vivant à domicile et leurs aidants.",
                    local(org),
                    rng.randint(6, 20),
                    rng.randint(7, 60),
                )
            )
    for index, org in enumerate(by_kind[Kind.MSP]):
        if index % 3 == 1:
            plans.append(
                (
                    org,
                    f"Ateliers d'éducation thérapeutique — {by_pk[org].name}",
                    Category.THERAPEUTIC_EDUCATION,
                    "Ateliers collectifs : diabète, nutrition, activité physique.",
                    "Patients de la maison de santé et du secteur.",
                    local(org),
                    rng.randint(8, 15),
                    rng.randint(15, 60),
                )
            )
    services = [
        SupportService(
            organization_id=org,
            name=name[:200],
            category=category,
            description=description,
            eligibility=eligibility,
            capacity=capacity,
            waiting_days=waiting,
            response_days=rng.choice((2, 3, 5, 7, 10)),
            created_at=ctx.now,
        )
        for org, name, category, description, eligibility, _, capacity, waiting in plans
    ]
    SupportService.objects.bulk_create(services, batch_size=1000)
    directory.dac_service_id = services[0].pk
    Covered = SupportService.communes.through
    Covered.objects.bulk_create(
        (
            Covered(supportservice_id=service.pk, commune_id=commune)
            for service, plan in zip(services, plans, strict=True)
            for commune in plan[5]
        ),
        batch_size=5000,
    )
    Members = SupportService.members.through
    coordinators = [*directory.dac_coordinators, directory.demo["coordination"]]
    Members.objects.bulk_create(
        Members(supportservice_id=directory.dac_service_id, professional_id=pk)
        for pk in coordinators
    )
    # The demo coordinator is on duty: alerts nobody acknowledged in time reach them.
    SupportService.objects.filter(pk=directory.dac_service_id).update(
        on_duty_id=directory.demo["coordination"]
    )
