"""Remote monitoring (télésurveillance): measurements received, checked against the
thresholds of the patient's active pathways, and the alerts they raise.

The check is set-based: a batch of any size costs a fixed number of queries (the rules
with their pathways, the GPs, the objections, and one query per rise window), never one
per observation. A crossed rule raises one alert per recipient (the pathway's referent
coordinator and the patient's GP) and per day of measurement, whatever the number of
crossings that day: the dedupe key says so."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Min, OuterRef, Subquery
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pathways.models import Alert, MonitoringRule, Pathway
from pathways.services.alert import AlertDraft, raise_alerts
from patients.models import ConsentRecord, Observation, Patient
from patients.services import ObservationInput, record_observations
from professionals.models import OrganizationToken

Comparison = MonitoringRule.Comparison


@dataclass(frozen=True)
class _Rule:
    """A rule of one active pathway of one patient, with who hears of its crossings."""

    pk: int
    patient_id: int
    pathway_id: int
    kind: str
    comparison: str
    threshold: Decimal
    window_days: int | None
    severity: int
    referent_id: int | None
    referent_user_id: int | None


def _rules_of_active_pathways(patient_ids: set[int], kinds: set[str]) -> list[_Rule]:
    rows = MonitoringRule.objects.filter(
        template__pathways__patient_id__in=patient_ids,
        template__pathways__status=Pathway.Status.ACTIVE,
        kind__in=kinds,
    ).values_list(
        "pk",
        "template__pathways__patient_id",
        "template__pathways__id",
        "kind",
        "comparison",
        "threshold",
        "window_days",
        "severity",
        "template__pathways__referent_id",
        "template__pathways__referent__user_id",
    )
    return [_Rule(*row) for row in rows]


def _lowest_before(observations: Sequence[Observation], window_days: int) -> dict[int, Decimal]:
    """Observation id -> the lowest value of the same patient and kind measured in the
    `window_days` days before it (observations with none are left out). One query."""
    earlier = (
        Observation.objects.filter(
            patient_id=OuterRef("patient_id"),
            kind=OuterRef("kind"),
            measured_at__lt=OuterRef("measured_at"),
            measured_at__gte=OuterRef("measured_at") - datetime.timedelta(days=window_days),
        )
        .order_by()
        .values("patient_id")
        .annotate(lowest=Min("value"))
        .values("lowest")
    )
    rows = (
        Observation.objects.filter(pk__in=[o.pk for o in observations])
        .annotate(lowest=Subquery(earlier))
        .exclude(lowest=None)
        .values_list("pk", "lowest")
    )
    return dict(rows)


def _crosses(rule: _Rule, value: Decimal, lowest: Decimal | None) -> bool:
    if rule.comparison == Comparison.ABOVE:
        return value > rule.threshold
    if rule.comparison == Comparison.BELOW:
        return value < rule.threshold
    return lowest is not None and value - lowest >= rule.threshold


def threshold_message(kind: str) -> str:
    """Neutral: which kind of threshold, never the value (it reaches e-mail subjects)."""
    with translation.override(settings.LANGUAGE_CODE):
        label = str(Observation.Kind(kind).label)
        return _("Seuil de télésurveillance dépassé : %(kind)s") % {
            "kind": label[:1].lower() + label[1:]
        }


def check_monitoring_rules(observations: Sequence[Observation]) -> dict[int, set[int]]:
    """Check new observations (stored) against the rules of their patients' active
    pathways; raise an alert per crossed rule, recipient and day of measurement for the
    pathway's referent coordinator and the patient's GP (not for one the patient objected
    to). Returns observation id -> ids of the rules it crossed."""
    if not observations:
        return {}
    patient_ids = {o.patient_id for o in observations}
    rules = _rules_of_active_pathways(patient_ids, {o.kind for o in observations})
    if not rules:
        return {}
    lowest: dict[tuple[int, int], Decimal] = {}
    for window in sorted({r.window_days for r in rules if r.comparison == Comparison.RISE}):
        rising = {(r.patient_id, r.kind) for r in rules if r.window_days == window}
        candidates = [o for o in observations if (o.patient_id, o.kind) in rising]
        for pk, value in _lowest_before(candidates, window).items():
            lowest[pk, window] = value
    gp_of = {
        pk: (gp_id, user_id)
        for pk, gp_id, user_id in Patient.objects.filter(
            pk__in=patient_ids, gp__isnull=False
        ).values_list("pk", "gp_id", "gp__user_id")
    }
    objected = set(
        ConsentRecord.objects.filter(
            patient_id__in=patient_ids,
            kind=ConsentRecord.Kind.PROFESSIONAL_OBJECTION,
            withdrawn_at__isnull=True,
        ).values_list("patient_id", "professional_id")
    )
    rules_by_series: dict[tuple[int, str], list[_Rule]] = {}
    for rule in rules:
        rules_by_series.setdefault((rule.patient_id, rule.kind), []).append(rule)

    crossed: dict[int, set[int]] = {}
    drafts: dict[str, AlertDraft] = {}
    now = timezone.now()
    for observation in observations:
        for rule in rules_by_series.get((observation.patient_id, observation.kind), ()):
            low = lowest.get((observation.pk, rule.window_days))
            if not _crosses(rule, observation.value, low):
                continue
            crossed.setdefault(observation.pk, set()).add(rule.pk)
            day = timezone.localdate(observation.measured_at)
            recipients = (
                (rule.referent_id, rule.referent_user_id),
                gp_of.get(observation.patient_id, (None, None)),
            )
            for professional_id, user_id in recipients:
                if user_id is None or (observation.patient_id, professional_id) in objected:
                    continue
                key = f"monitoring:{rule.pk}:{observation.patient_id}:{day:%Y-%m-%d}:{user_id}"
                drafts.setdefault(
                    key,
                    AlertDraft(
                        patient_id=observation.patient_id,
                        kind=Alert.Kind.MONITORING_THRESHOLD,
                        message=threshold_message(rule.kind),
                        dedupe_key=key,
                        assignee_id=user_id,
                        severity=rule.severity,
                        due_at=now,
                        pathway_id=rule.pathway_id,
                    ),
                )
    raise_alerts(drafts.values())
    return crossed


@transaction.atomic
def receive_observations(
    *,
    request: HttpRequest,
    observations: Sequence[ObservationInput],
    token: OrganizationToken | None = None,
) -> list[tuple[Observation, bool]]:
    """Store a batch of measurements (all or none) and raise the alerts of the thresholds
    they cross, in one transaction; returns each stored observation and whether it
    crossed a threshold. The caller has checked access to the patients."""
    stored = record_observations(request=request, observations=observations, token=token)
    crossed = check_monitoring_rules(stored)
    return [(observation, observation.pk in crossed) for observation in stored]
