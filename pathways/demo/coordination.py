"""What the coordination phases share (care plans, referrals, liaison notebooks): the
care teams over time, and the timeline events and alerts that go with what they create.

These phases run after the pathways, steps and timelines exist and read what those
decided (the `Population` and its `PathwayPlan`s): the earlier phases draw the same random
numbers as they would without them.
"""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pathways.demo.bulk import copy_rows
from pathways.demo.context import Context
from pathways.demo.population import Population
from pathways.models import Alert
from patients.models import TimelineEvent

T = TypeVar("T")


class Draws:
    """Quick draws from the context's seeded generator, for the coordination phases' many
    small choices: each from one `random()` (a fraction of `randint`'s cost)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.random = ctx.rng.random
        self.now = ctx.now

    def between(self, low: int, high: int) -> int:
        """An integer from low to high, both included."""
        return low + int(self.random() * (high - low + 1))

    def pick(self, choices: Sequence[T]) -> T:
        return choices[int(self.random() * len(choices))]

    def moment(self, day: datetime.date) -> datetime.datetime:
        """A moment of the working day (8:00 to 18:55), never after the world's present
        (as `Context.working_time`)."""
        minutes = self.between(8 * 12, 18 * 12 + 11) * 5
        moment = self.ctx.at(day, minutes // 60, minutes % 60)
        return min(moment, self.now - datetime.timedelta(minutes=self.between(5, 300)))


@dataclass(frozen=True)
class Member:
    professional: int
    role: str
    start: datetime.date
    end: datetime.date | None

    def on(self, day: datetime.date) -> bool:
        """In the team on `day` (as `tsn.periods.in_effect_on`: the end day is out)."""
        return self.start <= day and (self.end is None or day < self.end)


def teams_of(population: Population) -> dict[int, list[Member]]:
    """Patient -> every care-team membership, past and present."""
    teams: dict[int, list[Member]] = defaultdict(list)
    for patient, professional, role, start, end in population.members:
        teams[patient].append(Member(professional, role, start, end))
    return teams


@dataclass
class Records:
    """Timeline events and alerts that go with what the phases create, written together."""

    # (patient, occurred_at, kind, author, organization, title, body, pathway)
    events: list[tuple] = field(default_factory=list)
    # (patient, kind, severity, message, due_at, status, assignee, key, pathway,
    #  created_at, acknowledged_at, resolved_at)
    alerts: list[tuple] = field(default_factory=list)

    def write(self) -> None:
        copy_rows(
            TimelineEvent,
            [
                "patient",
                "occurred_at",
                "recorded_at",
                "kind",
                "author",
                "organization",
                "title",
                "body",
                "source",
                "pathway",
            ],
            (
                (patient, at, at, kind, author, organization, title[:200], body, "manual", pathway)
                for patient, at, kind, author, organization, title, body, pathway in sorted(
                    self.events, key=lambda event: (event[0], event[1])
                )
            ),
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
                "acknowledged_at",
                "resolved_at",
                "resolution_comment",
                # The seeded alerts are history: their escalation, if any, is behind them.
                "escalation_level",
            ],
            (
                (*alert[:3], alert[3][:250], *alert[4:], "", Alert.MAX_ESCALATION_LEVEL)
                for alert in self.alerts
            ),
        )

    def alert(
        self,
        ctx: Context,
        *,
        patient: int,
        kind: str,
        severity: int,
        message: str,
        due_at: datetime.datetime,
        created: datetime.datetime,
        assignee: int | None,
        key: str,
        pathway: int | None,
        handled: datetime.datetime | None = None,
    ) -> None:
        """An alert raised at `created`: resolved at `handled` (when what it was about was
        dealt with before the present), else still open or acknowledged."""
        rng = ctx.rng
        acknowledged = resolved = None
        if handled is not None and handled < ctx.now:
            resolved = max(handled, created + datetime.timedelta(minutes=1))
            acknowledged = created + (resolved - created) * rng.uniform(0.05, 1.0)
            status = Alert.Status.RESOLVED
        elif rng.random() < 0.35:
            later = created + datetime.timedelta(hours=rng.randint(1, 72))
            acknowledged = max(created, min(later, ctx.now - datetime.timedelta(minutes=1)))
            status = Alert.Status.ACKNOWLEDGED
        else:
            status = Alert.Status.OPEN
        self.alerts.append(
            (
                patient,
                kind,
                severity,
                message,
                due_at,
                status,
                assignee,
                key,
                pathway,
                created,
                acknowledged,
                resolved,
            )
        )
