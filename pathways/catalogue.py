"""The territory's standard pathway templates, as data, and their installation.

Step names are data (French, as the coordinators write them), not interface strings.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from pathways.models import Alert, MonitoringRule, PathwayTemplate, StepTemplate
from patients.models import CareTeamMember, Observation
from professionals.models import Professional

Profession = Professional.Profession
Role = CareTeamMember.Role
ENROLMENT = StepTemplate.RelativeTo.ENROLMENT
PREVIOUS_STEP = StepTemplate.RelativeTo.PREVIOUS_STEP
DISCHARGE = StepTemplate.RelativeTo.DISCHARGE
Measure = Observation.Kind
ABOVE, BELOW, RISE = (
    MonitoringRule.Comparison.ABOVE,
    MonitoringRule.Comparison.BELOW,
    MonitoringRule.Comparison.RISE,
)
URGENT, WARNING = Alert.Severity.URGENT, Alert.Severity.WARNING


@dataclass(frozen=True)
class StepSpec:
    name: str
    profession: str
    deadline_days: int
    # The care-team role that usually does the step (who it is assigned to).
    role: str
    relative_to: str = ENROLMENT
    required: bool = True
    blocking: bool = False
    # Done when the GP validates the care plan (PPCS).
    validates_care_plan: bool = False
    # Days past the due date before the step's lateness raises an alert.
    grace_days: int = 0


@dataclass(frozen=True)
class RuleSpec:
    """A remote-monitoring threshold, in the kind's canonical unit (Observation.UNITS)."""

    kind: str
    comparison: str
    threshold: Decimal
    severity: int
    # For a rise: compared with the lowest value of this many previous days.
    window_days: int | None = None


@dataclass(frozen=True)
class TemplateSpec:
    code: str
    name: str
    description: str
    # The medical specialty of the specialist usually involved.
    specialty: str
    steps: tuple[StepSpec, ...]
    # Days without any contact with the patient before the referent is alerted.
    no_contact_days: int | None = None
    rules: tuple[RuleSpec, ...] = ()


CATALOGUE: tuple[TemplateSpec, ...] = (
    TemplateSpec(
        code="insuffisance-cardiaque",
        no_contact_days=15,
        name="Insuffisance cardiaque — retour à domicile après hospitalisation",
        description=(
            "Accompagnement du retour à domicile après une hospitalisation pour "
            "décompensation cardiaque : surveillance rapprochée, éducation thérapeutique "
            "et consultation de cardiologie dans les deux mois."
        ),
        specialty="Cardiologie",
        steps=(
            # Dated by the hospital feed's discharge message (HAS: nurse within 48 hours,
            # GP within 7 days of the return home).
            StepSpec(
                "Visite infirmière à domicile",
                Profession.NURSE,
                2,
                Role.NURSE,
                relative_to=DISCHARGE,
            ),
            StepSpec(
                "Consultation du médecin traitant",
                Profession.PHYSICIAN,
                7,
                Role.GP,
                relative_to=DISCHARGE,
            ),
            StepSpec(
                "Mise en place du suivi du poids et de la télésurveillance",
                Profession.NURSE,
                7,
                Role.NURSE,
            ),
            StepSpec(
                "Conciliation médicamenteuse en officine",
                Profession.PHARMACIST,
                10,
                Role.PHARMACIST,
                required=False,
            ),
            StepSpec(
                "Éducation thérapeutique : signes d'alerte et régime pauvre en sel",
                Profession.NURSE,
                30,
                Role.NURSE,
            ),
            StepSpec(
                "PPCS validé par le médecin traitant",
                Profession.PHYSICIAN,
                30,
                Role.GP,
                blocking=True,
                validates_care_plan=True,
            ),
            StepSpec("Consultation du cardiologue", Profession.PHYSICIAN, 60, Role.SPECIALIST),
            StepSpec(
                "Réévaluation à trois mois par la coordination",
                Profession.COORDINATOR,
                90,
                Role.COORDINATOR,
            ),
        ),
        # The ESC/HAS warning signs of decompensation followed at home.
        rules=(
            RuleSpec(Measure.WEIGHT, RISE, Decimal(2), URGENT, window_days=3),
            RuleSpec(Measure.SPO2, BELOW, Decimal(90), URGENT),
            RuleSpec(Measure.HEART_RATE, ABOVE, Decimal(120), WARNING),
            RuleSpec(Measure.SYSTOLIC_BP, BELOW, Decimal(90), WARNING),
        ),
    ),
    TemplateSpec(
        code="personne-agee-fragile",
        no_contact_days=30,
        name="Personne âgée fragile à domicile",
        description=(
            "Repérage et évaluation de la fragilité, aides au maintien à domicile et plan "
            "personnalisé de coordination en santé pour une personne âgée vivant chez elle."
        ),
        specialty="Gériatrie",
        steps=(
            StepSpec("Repérage de la fragilité (grille ICOPE)", Profession.NURSE, 15, Role.NURSE),
            StepSpec(
                "Évaluation gériatrique standardisée", Profession.PHYSICIAN, 45, Role.SPECIALIST
            ),
            StepSpec(
                "Évaluation sociale et ouverture des droits (APA)",
                Profession.SOCIAL_WORKER,
                30,
                Role.SOCIAL_WORKER,
            ),
            StepSpec(
                "Bilan partagé de médication",
                Profession.PHARMACIST,
                30,
                Role.PHARMACIST,
                required=False,
            ),
            StepSpec(
                "Visite d'adaptation du logement",
                Profession.OCCUPATIONAL_THERAPIST,
                60,
                Role.OTHER,
                required=False,
            ),
            StepSpec(
                "PPCS validé par le médecin traitant",
                Profession.PHYSICIAN,
                60,
                Role.GP,
                blocking=True,
                validates_care_plan=True,
            ),
            StepSpec(
                "Mise en place des aides à domicile",
                Profession.HOME_HELP,
                15,
                Role.HOME_HELP,
                relative_to=PREVIOUS_STEP,
            ),
            StepSpec("Réévaluation à six mois", Profession.COORDINATOR, 180, Role.COORDINATOR),
        ),
        # Hypotension: falls, over-treatment of blood pressure. The frail person's other
        # warning sign, weight loss (5 % in a month), is a fall, not a rise: not expressible
        # with these rules, it is left to the care team's weighing.
        rules=(RuleSpec(Measure.SYSTOLIC_BP, BELOW, Decimal(90), WARNING),),
    ),
    TemplateSpec(
        code="diabete-type-2",
        no_contact_days=120,
        name="Diabète de type 2",
        description=(
            "Suivi coordonné du diabète de type 2 : bilan initial, dépistage des "
            "complications, diététique et éducation thérapeutique."
        ),
        specialty="Endocrinologie-diabétologie",
        steps=(
            StepSpec(
                "Consultation du médecin traitant et bilan initial (HbA1c)",
                Profession.PHYSICIAN,
                15,
                Role.GP,
            ),
            StepSpec(
                "Examen des pieds et gradation du risque podologique",
                Profession.NURSE,
                60,
                Role.NURSE,
            ),
            StepSpec("Consultation diététique", Profession.DIETITIAN, 45, Role.OTHER),
            StepSpec("Examen du fond d'œil", Profession.PHYSICIAN, 90, Role.SPECIALIST),
            StepSpec(
                "Programme d'éducation thérapeutique",
                Profession.NURSE,
                90,
                Role.NURSE,
                required=False,
            ),
            StepSpec(
                "Contrôle de l'HbA1c à trois mois",
                Profession.PHYSICIAN,
                90,
                Role.GP,
                relative_to=PREVIOUS_STEP,
            ),
            StepSpec(
                "Avis d'endocrinologie si objectif glycémique non atteint",
                Profession.PHYSICIAN,
                30,
                Role.SPECIALIST,
                relative_to=PREVIOUS_STEP,
                required=False,
            ),
        ),
        # Marked hyperglycaemia (3 g/L), and level-2 hypoglycaemia (0.54 g/L).
        rules=(
            RuleSpec(Measure.GLUCOSE, ABOVE, Decimal("16.5"), WARNING),
            RuleSpec(Measure.GLUCOSE, BELOW, Decimal("3.0"), URGENT),
        ),
    ),
    TemplateSpec(
        code="apres-cancer",
        no_contact_days=90,
        name="Après-cancer : suivi à domicile",
        description=(
            "Relais ville-hôpital après la fin des traitements actifs d'un cancer : "
            "programme personnalisé de l'après-cancer, soins de support, surveillance."
        ),
        specialty="Oncologie médicale",
        steps=(
            StepSpec(
                "Consultation de fin de traitement et remise du PPAC",
                Profession.PHYSICIAN,
                15,
                Role.SPECIALIST,
            ),
            StepSpec(
                "Consultation de relais par le médecin traitant",
                Profession.PHYSICIAN,
                30,
                Role.GP,
                blocking=True,
            ),
            StepSpec(
                "Soutien psychologique",
                Profession.PSYCHOLOGIST,
                60,
                Role.OTHER,
                required=False,
            ),
            StepSpec(
                "Activité physique adaptée",
                Profession.PHYSIOTHERAPIST,
                60,
                Role.PHYSIOTHERAPIST,
                required=False,
            ),
            StepSpec(
                "Évaluation sociale et retour à l'emploi",
                Profession.SOCIAL_WORKER,
                90,
                Role.SOCIAL_WORKER,
                required=False,
            ),
            StepSpec(
                "Consultation de surveillance oncologique à six mois",
                Profession.PHYSICIAN,
                180,
                Role.SPECIALIST,
            ),
        ),
    ),
    TemplateSpec(
        code="soins-palliatifs-domicile",
        no_contact_days=7,
        name="Soins palliatifs à domicile",
        description=(
            "Organisation des soins palliatifs au domicile : évaluation par l'équipe de "
            "soins palliatifs, prescriptions anticipées, soutien des aidants."
        ),
        specialty="Médecine palliative",
        steps=(
            StepSpec("Visite infirmière et plan de soins", Profession.NURSE, 2, Role.NURSE),
            StepSpec(
                "Évaluation par l'équipe mobile de soins palliatifs",
                Profession.PHYSICIAN,
                5,
                Role.SPECIALIST,
            ),
            StepSpec(
                "Prescriptions anticipées personnalisées",
                Profession.PHYSICIAN,
                7,
                Role.GP,
                blocking=True,
            ),
            StepSpec(
                "Mise à disposition du matériel médical au domicile",
                Profession.PHARMACIST,
                3,
                Role.PHARMACIST,
                relative_to=PREVIOUS_STEP,
            ),
            StepSpec(
                "Directives anticipées et personne de confiance recueillies",
                Profession.PHYSICIAN,
                15,
                Role.GP,
                required=False,
            ),
            StepSpec(
                "Soutien des aidants et solutions de répit",
                Profession.SOCIAL_WORKER,
                15,
                Role.SOCIAL_WORKER,
            ),
            StepSpec(
                "Réunion de concertation pluriprofessionnelle",
                Profession.COORDINATOR,
                21,
                Role.COORDINATOR,
            ),
        ),
    ),
)

CATALOGUE_BY_CODE: dict[str, TemplateSpec] = {spec.code: spec for spec in CATALOGUE}


def _install_rules(template: PathwayTemplate, rules: tuple[RuleSpec, ...]) -> None:
    MonitoringRule.objects.bulk_create(
        MonitoringRule(
            template=template,
            kind=rule.kind,
            comparison=rule.comparison,
            threshold=rule.threshold,
            window_days=rule.window_days,
            severity=rule.severity,
        )
        for rule in rules
    )


@transaction.atomic
def install_pathway_templates() -> list[PathwayTemplate]:
    """Create version 1 of each catalogue template (and its steps and monitoring rules)
    unless it exists; a template whose versions never had monitoring rules (installed
    before there were any) gets the catalogue's on its current version."""
    templates = []
    never_had_rules = {spec.code for spec in CATALOGUE} - set(
        MonitoringRule.objects.values_list("template__code", flat=True).distinct()
    )
    for spec in CATALOGUE:
        template, created = PathwayTemplate.objects.get_or_create(
            code=spec.code,
            version=1,
            defaults={
                "name": spec.name,
                "description": spec.description,
                "no_contact_days": spec.no_contact_days,
                # Only one version of a code is current; a newer one may already be.
                "is_current": not PathwayTemplate.objects.filter(
                    code=spec.code, is_current=True
                ).exists(),
            },
        )
        if created:
            StepTemplate.objects.bulk_create(
                StepTemplate(
                    template=template,
                    order=order,
                    name=step.name,
                    responsible_profession=step.profession,
                    deadline_days=step.deadline_days,
                    relative_to=step.relative_to,
                    required=step.required,
                    blocking=step.blocking,
                    validates_care_plan=step.validates_care_plan,
                    grace_days=step.grace_days,
                )
                for order, step in enumerate(spec.steps, start=1)
            )
        if spec.rules and spec.code in never_had_rules:
            current = PathwayTemplate.objects.filter(code=spec.code, is_current=True).first()
            _install_rules(current or template, spec.rules)
        templates.append(template)
    return templates
