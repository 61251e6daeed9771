"""The demo's remote monitoring: six weeks of daily weight, SpO2 and heart rate for the
heart-failure patients of the demo GP and of the demo coordinator (at most
`MAX_PATIENTS`, whatever the scale), so that their charts are not empty; a few of them,
the demo patient first, with a weight rise over the last days and the alerts it raised."""

import datetime
import random
from decimal import Decimal

from django.utils.translation import gettext as _

from pathways.demo.bulk import copy_rows
from pathways.demo.context import Context
from pathways.demo.directory import Directory
from pathways.demo.population import HEART_FAILURE, PatientPlan, Population
from pathways.models import Alert, MonitoringRule, Pathway
from pathways.services.monitoring import threshold_message
from patients.models import CareTeamMember, Observation

MAX_PATIENTS = 60
DAYS = 42
# One patient in RISING_EVERY (and the demo patient) gains weight over the last days.
RISING_EVERY = 4
Kind = Observation.Kind
WEIGHT, SPO2, HEART_RATE = Kind.WEIGHT, Kind.SPO2, Kind.HEART_RATE
DEVICES = {
    WEIGHT: "Balance connectée",
    SPO2: "Oxymètre de pouls connecté",
    HEART_RATE: "Oxymètre de pouls connecté",
}
TENTHS = Decimal("0.1")


def _followed(population: Population, gp: int, coordinator: int) -> list[PatientPlan]:
    """The demo GP's and the demo coordinator's patients in an active heart-failure
    pathway, the demo patient first."""
    plans = [
        plan
        for plan in population.patients
        if any(
            pathway.template == HEART_FAILURE
            and pathway.status == Pathway.Status.ACTIVE
            and (plan.gp == gp or pathway.referent == coordinator)
            for pathway in plan.pathways
        )
    ]
    plans.sort(key=lambda plan: (plan.patient_id != population.demo_patient_id, plan.patient_id))
    return plans[:MAX_PATIENTS]


class _Series:
    """One patient's measurements, day by day."""

    def __init__(self, ctx: Context, rng: random.Random, plan: PatientPlan, directory: Directory):
        self.ctx, self.rng, self.plan = ctx, rng, plan
        self.organization = directory.workplace.get(plan.team.get(CareTeamMember.Role.NURSE))
        self.rows: list[tuple] = []

    def add(self, kind: str, value: Decimal, at: datetime.datetime) -> None:
        unit = Observation.UNITS[kind][0]
        self.rows.append(
            (
                self.plan.patient_id,
                kind,
                value,
                unit,
                value,
                unit,
                at,
                at + datetime.timedelta(minutes=self.rng.randint(1, 20)),
                DEVICES[kind],
                self.organization,
            )
        )

    def build(self, *, rising: bool) -> datetime.datetime | None:
        """Add the six weeks; return when the last weight was taken if it rose."""
        ctx, rng = self.ctx, self.rng
        weight = Decimal(rng.randint(580, 980)) / 10
        weights: list[Decimal] = []
        last_weight_at = None
        for offset in range(DAYS, 0, -1):
            day = ctx.days_ago(offset)
            late = rising and offset <= 2
            if rng.random() < 0.06 and offset > 3:
                continue  # a forgotten morning
            weighed = weight + Decimal(round(rng.gauss(0, 0.25), 1))
            if rising and offset == 1:
                # Water retention: well over 2 kg above the two days before (in the window).
                weighed = min(weights[-2:]) + Decimal(rng.randint(23, 30)) / 10
            elif late:
                weighed += Decimal(rng.randint(8, 12)) / 10
            weighed = weighed.quantize(TENTHS)
            weights.append(weighed)
            last_weight_at = ctx.at(day, 7, rng.randrange(0, 45))
            self.add(WEIGHT, weighed, last_weight_at)
            checked_at = ctx.at(day, 8, rng.randrange(0, 60))
            spo2 = rng.randint(91, 93) if late else rng.randint(93, 98)
            self.add(SPO2, Decimal(spo2), checked_at)
            pulse = rng.randint(92, 104) if late else rng.randint(60, 86)
            self.add(HEART_RATE, Decimal(pulse), checked_at)
        return last_weight_at if rising else None


def build_monitoring(
    ctx: Context, directory: Directory, population: Population, demo_users: dict[str, int]
) -> None:
    with ctx.phase(_("Télésurveillance")):
        _build_monitoring(ctx, directory, population, demo_users)


def _build_monitoring(
    ctx: Context, directory: Directory, population: Population, demo_users: dict[str, int]
) -> None:
    # Its own generator: the other phases draw the same numbers with or without this one.
    rng = random.Random(f"{ctx.seed}:monitoring")  # noqa: S311 (demo data, not secrets)  # nosec B311
    gp, coordinator = directory.demo["medecin"], directory.demo["coordination"]
    plans = _followed(population, gp, coordinator)
    rows: list[tuple] = []
    rises: dict[int, datetime.datetime] = {}
    for index, plan in enumerate(plans):
        series = _Series(ctx, rng, plan, directory)
        rose_at = series.build(rising=index % RISING_EVERY == 0)
        rows += series.rows
        if rose_at is not None:
            rises[plan.patient_id] = rose_at
    copy_rows(
        Observation,
        [
            "patient",
            "kind",
            "value",
            "unit",
            "sent_value",
            "sent_unit",
            "measured_at",
            "recorded_at",
            "device",
            "organization",
        ],
        rows,
    )
    _raise_rise_alerts(ctx, rises, {gp: demo_users["medecin"]}, coordinator, demo_users)


def _raise_rise_alerts(
    ctx: Context,
    rises: dict[int, datetime.datetime],
    gp_users: dict[int, int],
    coordinator: int,
    demo_users: dict[str, int],
) -> None:
    """The open alerts of the weight rises, for the demo accounts among the recipients
    (the referent coordinator and the GP), keyed as the monitoring service keys them."""
    pathways = Pathway.objects.filter(
        patient_id__in=list(rises),
        template__code=HEART_FAILURE,
        status=Pathway.Status.ACTIVE,
    ).values_list("pk", "patient_id", "template_id", "referent_id", "patient__gp_id")
    rule_of = dict(
        MonitoringRule.objects.filter(
            template__code=HEART_FAILURE, kind=WEIGHT, comparison=MonitoringRule.Comparison.RISE
        ).values_list("template_id", "pk")
    )
    message = threshold_message(WEIGHT)
    alerts = []
    for pathway_id, patient_id, template_id, referent, patient_gp in pathways:
        rule = rule_of.get(template_id)
        if rule is None:
            continue
        at = rises[patient_id] + datetime.timedelta(minutes=3)
        recipients = {
            demo_users["coordination"] if referent == coordinator else None,
            gp_users.get(patient_gp),
        } - {None}
        for user in sorted(recipients):
            alerts.append(
                (
                    patient_id,
                    Alert.Kind.MONITORING_THRESHOLD,
                    Alert.Severity.URGENT,
                    message,
                    at,
                    Alert.Status.OPEN,
                    user,
                    f"monitoring:{rule}:{patient_id}:{rises[patient_id]:%Y-%m-%d}:{user}",
                    pathway_id,
                    at,
                    "",
                    # History already: the first escalation run has nothing to send.
                    Alert.MAX_ESCALATION_LEVEL,
                )
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
            "created_at",
            "resolution_comment",
            "escalation_level",
        ],
        alerts,
    )
