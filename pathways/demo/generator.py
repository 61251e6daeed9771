"""Build the demo territory, phase by phase, in one transaction."""

import datetime
from collections.abc import Callable

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pathways.demo import bulk
from pathways.demo.accounts import (
    ProfessionalAccounts,
    create_demo_accounts,
    delete_demo_accounts,
)
from pathways.demo.care_plans import build_care_plans
from pathways.demo.context import Context
from pathways.demo.coordination import Records, teams_of
from pathways.demo.directory import Directory, build_directory
from pathways.demo.followup import build_followup
from pathways.demo.liaison import build_liaison
from pathways.demo.monitoring import build_monitoring
from pathways.demo.population import Population, build_population
from pathways.demo.referrals import build_referrals
from pathways.demo.satisfaction import build_satisfaction
from pathways.demo.support import build_support_services
from pathways.demo.timeline import build_timeline
from pathways.models import (
    Alert,
    CarePlan,
    CarePlanVersion,
    Pathway,
    PathwayTemplate,
    Referral,
    Step,
    Transition,
)
from patients.models import (
    Caregiver,
    CareTeamMember,
    ConsentRecord,
    LiaisonMessage,
    Observation,
    Patient,
    TimelineEvent,
)
from professionals.models import Organization, PractitionerRole, Professional, SupportService
from tsn.models import Commune, Territory, User

# Tables loaded in bulk: their foreign keys and secondary indexes are rebuilt at the end.
BULK_TABLES = (
    Professional,
    PractitionerRole,
    Patient,
    CareTeamMember,
    Caregiver,
    ConsentRecord,
    Pathway,
    Step,
    Transition,
    Alert,
    TimelineEvent,
    CarePlan,
    CarePlanVersion,
    Referral,
    LiaisonMessage,
    LiaisonMessage.mentions.through,
)
SUMMARY = (
    (Commune, gettext_lazy("communes")),
    (Organization, gettext_lazy("organisations")),
    (Professional, gettext_lazy("professionnels")),
    (PractitionerRole, gettext_lazy("exercices")),
    (SupportService, gettext_lazy("services d'appui")),
    (Patient, gettext_lazy("patients")),
    (CareTeamMember, gettext_lazy("membres d'équipes de soins")),
    (Caregiver, gettext_lazy("aidants")),
    (ConsentRecord, gettext_lazy("consentements et oppositions")),
    (PathwayTemplate, gettext_lazy("modèles de parcours")),
    (Pathway, gettext_lazy("parcours")),
    (Step, gettext_lazy("étapes")),
    (Transition, gettext_lazy("changements de statut")),
    (Alert, gettext_lazy("alertes")),
    (TimelineEvent, gettext_lazy("événements")),
    (Observation, gettext_lazy("mesures de télésurveillance")),
    (CarePlan, gettext_lazy("PPCS")),
    (CarePlanVersion, gettext_lazy("versions du PPCS")),
    (Referral, gettext_lazy("demandes d'appui")),
    (LiaisonMessage, gettext_lazy("messages de liaison")),
)


class DemoAlreadySeeded(Exception):
    """The database already holds a territory; reseeding needs an explicit reset."""


def seed_demo(
    *,
    scale: float = 0.01,
    seed: int = 1,
    reset: bool = False,
    log: Callable[[str], None] = lambda message: None,
    today: datetime.date | None = None,
) -> dict[str, int]:
    """Build the demo territory at `scale` (1 = 1.4 million inhabitants); return counts."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    ctx = Context(scale=scale, seed=seed, today=today or timezone.localdate(), log=log)
    with transaction.atomic():
        if Territory.objects.exists() and not reset:
            raise DemoAlreadySeeded
        with connection.cursor() as cursor:
            # Check foreign keys at each statement, not at commit: keeps the queue of
            # pending checks empty so tables can be altered and truncated in between.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cursor.execute("SET LOCAL work_mem = '256MB'")
        if reset:
            with ctx.phase(_("Remise à zéro")):
                bulk.truncate_app_tables()
        delete_demo_accounts()
        users = create_demo_accounts()
        set_aside = bulk.drop_indexes(*(model._meta.db_table for model in BULK_TABLES))
        directory = build_directory(ctx, users)
        build_support_services(ctx, directory)
        population = build_population(ctx, directory, users)
        first_name, last_name = population.demo_patient_name
        User.objects.filter(pk=users["patient"]).update(first_name=first_name, last_name=last_name)
        pathway_events = build_followup(ctx, directory, population, users)
        build_timeline(ctx, directory, population, pathway_events)
        build_monitoring(ctx, directory, population, users)
        build_coordination(ctx, directory, population, users)
        with ctx.phase(_("Questionnaires de satisfaction")):
            build_satisfaction(ctx, population)
        with ctx.phase(_("Index et clés étrangères")):
            bulk.restore_indexes(set_aside)
    with ctx.phase(_("Statistiques (ANALYZE)")):
        bulk.analyze()
    return {str(label): model.objects.count() for model, label in SUMMARY}


def build_coordination(
    ctx: Context, directory: Directory, population: Population, demo_users: dict[str, int]
) -> None:
    """Care plans, referrals and liaison notebooks, then the accounts of the professionals
    who wrote them and the timeline events and alerts that go with them (the tables' foreign
    keys are checked when they are rebuilt, after all of it)."""
    accounts = ProfessionalAccounts.load(directory.demo, demo_users)
    teams = teams_of(population)
    records = Records()
    with ctx.phase(_("Plans personnalisés de coordination (PPCS)")):
        build_care_plans(ctx, directory, population, teams, accounts, records)
    with ctx.phase(_("Demandes d'appui")):
        build_referrals(ctx, directory, population, teams, accounts, records)
    with ctx.phase(_("Cahiers de liaison")):
        build_liaison(ctx, directory, population, teams, accounts)
    with ctx.phase(_("Comptes des professionnels, événements et alertes associés")):
        accounts.write()
        records.write()
