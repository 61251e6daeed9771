"""A professional's caseload on the pathways' side: aggregate figures for their home page."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q

from pathways.models import Alert, Pathway, Step
from professionals.models import Professional

# A completed or exited pathway is no longer followed: its leftovers are nobody's work.
CLOSED_STATUSES = Pathway.CLOSED_STATUSES


def overdue_steps(today: datetime.date) -> Q:
    """The SQL twin of ``Step.is_overdue()``: open and past its due date."""
    return Q(status__in=Step.OPEN_STATUSES, due_on__lt=today)


@dataclass(frozen=True)
class CoordinatorCaseload:
    # (status label, count) for every status, in the statuses' order.
    pathways_by_status: list[tuple[str, int]]
    active_pathways: int
    open_alerts: int
    overdue_steps: int


def coordinator_caseload(professional: Professional, today: datetime.date) -> CoordinatorCaseload:
    """Figures of the pathways a coordinator is the referent of (three queries)."""
    pathways = Pathway.objects.filter(referent=professional)
    counts = dict(pathways.values_list("status").annotate(n=Count("id")).order_by())
    followed = pathways.exclude(status__in=CLOSED_STATUSES)
    return CoordinatorCaseload(
        pathways_by_status=[
            (label, counts.get(status, 0)) for status, label in Pathway.Status.choices
        ],
        active_pathways=counts.get(Pathway.Status.ACTIVE, 0),
        open_alerts=Alert.objects.filter(
            status=Alert.Status.OPEN, patient__in=followed.values("patient")
        ).count(),
        overdue_steps=Step.objects.filter(overdue_steps(today), pathway__in=followed).count(),
    )


@dataclass(frozen=True)
class AssignedSteps:
    open: int
    overdue: int


def assigned_open_steps(professional: Professional, today: datetime.date) -> AssignedSteps:
    """Open steps of followed pathways assigned to the professional, and how many are late."""
    counts = (
        Step.objects.filter(assignee=professional, status__in=Step.OPEN_STATUSES)
        .exclude(pathway__status__in=CLOSED_STATUSES)
        .aggregate(open=Count("id"), overdue=Count("id", filter=overdue_steps(today)))
    )
    return AssignedSteps(open=counts["open"], overdue=counts["overdue"])
