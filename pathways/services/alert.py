"""Raising alerts, and what a person does with them: acknowledge, resolve with a comment.

An alert is raised with its notifications (the outbox) in the caller's transaction;
their delivery is enqueued for after the commit (`pathways/services/notification.py`).
A dedupe key allows at most one unresolved alert per key (a database constraint), so
raising the same alert twice, or from two processes at once, leaves one.

Acknowledging and resolving work on many alerts at once (the worklist's bulk actions)
with one conditional UPDATE, so an alert already handled by someone else is left as it
is, and leave one audit event per alert changed. Only alerts about patients the user may
see are touched."""

# The SQL here is ours: f-strings insert only column lists and placeholders.
# ruff: noqa: S608

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext

from pathways.access import visible_alerts
from pathways.models import Alert, Notification, Pathway
from patients.models import BreakGlassAccess
from tsn.audit import audit_event
from tsn.celery import enqueue_on_commit
from tsn.models import AuditEvent


@dataclass(frozen=True)
class AlertDraft:
    patient_id: int
    kind: str
    message: str
    dedupe_key: str
    assignee_id: int | None
    severity: int = Alert.Severity.WARNING
    due_at: datetime.datetime | None = None
    pathway_id: int | None = None
    step_id: int | None = None


# The columns a source of alerts provides, in this order (a scan's SELECT, or VALUES).
ALERT_COLUMNS = (
    "patient_id, kind, severity, message, due_at, assignee_id, dedupe_key, pathway_id, step_id"
)


def insert_alerts(source_sql: str, params: dict, *, once_per_key: bool = False) -> list[int]:
    """Insert the alerts a SELECT of `ALERT_COLUMNS` yields, skipping those whose key has an
    unresolved alert (or, with `once_per_key`, any alert: what a person resolved is not
    raised again by the next scan); returns the new alerts' ids. Set-based: one statement."""
    already = "AND NOT EXISTS (SELECT 1 FROM pathways_alert a WHERE a.dedupe_key = c.dedupe_key)"
    sql = f"""
        INSERT INTO pathways_alert ({ALERT_COLUMNS}, status, created_at, escalation_level,
                                    resolution_comment)
        SELECT {ALERT_COLUMNS}, 'open', %(now)s, 0, ''
        FROM ({source_sql}) AS c ({ALERT_COLUMNS})
        WHERE TRUE {already if once_per_key else ""}
        ON CONFLICT DO NOTHING
        RETURNING id
    """  # column lists and our own SELECT  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": timezone.now(), **params})
        return [row[0] for row in cursor.fetchall()]


def _notify(alert_ids: list[int]) -> list[int]:
    """Write the notifications of these alerts for their assignees (or the delegate of an
    absent assignee), on the channels each recipient chose; in-app ones are delivered by
    being written. Returns the e-mail notifications to send now (not those of a digest)."""
    if not alert_ids:
        return []
    now = timezone.now()
    sql = """
        WITH recipient AS (
            SELECT a.id AS alert_id, a.kind,
                   CASE WHEN ap.delegate_id IS NOT NULL
                         AND ap.absent_from <= %(today)s
                         AND (ap.absent_until IS NULL OR ap.absent_until >= %(today)s)
                        THEN ap.delegate_id ELSE a.assignee_id END AS user_id
            FROM pathways_alert a
            LEFT JOIN pathways_notificationpreference ap ON ap.user_id = a.assignee_id
            WHERE a.id = ANY(%(ids)s) AND a.assignee_id IS NOT NULL
        )
        INSERT INTO pathways_notification
            (alert_id, recipient_id, channel, status, digest, attempts, next_attempt_at,
             last_error, created_at, sent_at)
        SELECT r.alert_id, r.user_id, ch.channel,
               CASE WHEN ch.channel = 'in_app' THEN 'sent' ELSE 'pending' END,
               ch.channel = 'email' AND COALESCE(p.email_digest, FALSE),
               0, %(now)s, '', %(now)s,
               CASE WHEN ch.channel = 'in_app' THEN %(now)s::timestamptz END
        FROM recipient r
        JOIN tsn_user u ON u.id = r.user_id AND u.is_active
        LEFT JOIN pathways_notificationpreference p ON p.user_id = r.user_id
        CROSS JOIN (VALUES ('in_app'), ('email')) AS ch (channel)
        WHERE p.id IS NULL
           OR r.kind = ANY(CASE ch.channel WHEN 'in_app' THEN p.in_app_kinds
                                           ELSE p.email_kinds END)
        ON CONFLICT DO NOTHING
        RETURNING id, channel, digest
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": alert_ids, "now": now, "today": timezone.localdate()})
        rows = cursor.fetchall()
    return [
        pk for pk, channel, digest in rows if channel == Notification.Channel.EMAIL and not digest
    ]


def notify_alerts(alert_ids: list[int]) -> None:
    """Notify the assignees of these alerts, in the caller's transaction; e-mails are
    enqueued for after the commit (and picked up by the relay if the broker is down)."""
    from pathways.tasks import deliver_notifications_task  # tasks call services

    to_send = _notify(alert_ids)
    for start in range(0, len(to_send), 500):
        enqueue_on_commit(deliver_notifications_task, to_send[start : start + 500])


@transaction.atomic
def raise_alerts(drafts: Iterable[AlertDraft]) -> list[int]:
    """Raise these alerts (each skipped if its key has an unresolved alert) and notify
    their assignees; returns the ids of the alerts created."""
    drafts = list(drafts)
    if not drafts:
        return []
    columns = [field.strip() for field in ALERT_COLUMNS.split(",")]
    params = {
        f"{column}_{n}": getattr(draft, column)
        for n, draft in enumerate(drafts)
        for column in columns
    }
    rows = ", ".join(
        "(" + ", ".join(f"%({column}_{n})s" for column in columns) + ")" for n in range(len(drafts))
    )
    # Placeholders only: the values are parameters.
    typed = (
        "SELECT patient_id::bigint, kind::varchar, severity::smallint, message::varchar,"
        " due_at::timestamptz, assignee_id::bigint, dedupe_key::varchar, pathway_id::bigint,"
        f" step_id::bigint FROM (VALUES {rows}) AS v ({ALERT_COLUMNS})"  # placeholders only  # nosec B608
    )
    alert_ids = insert_alerts(typed, params)
    notify_alerts(alert_ids)
    return alert_ids


def alert_break_glass(*, access: BreakGlassAccess) -> list[int]:
    """Tell the referent coordinators of the patient's open pathways that someone broke
    the glass (an unassigned alert if there is none, for the worklists)."""
    referents = set(
        Pathway.objects.filter(patient_id=access.patient_id)
        .exclude(status__in=Pathway.CLOSED_STATUSES)
        .exclude(referent__user=None)
        .values_list("referent__user", flat=True)
    ) or {None}
    message = gettext("Accès en bris de glace au dossier par %(name)s.") % {"name": access.user}
    return raise_alerts(
        AlertDraft(
            patient_id=access.patient_id,
            kind=Alert.Kind.BREAK_GLASS,
            severity=Alert.Severity.URGENT,
            message=message,
            assignee_id=referent,
            due_at=access.started_at,
            dedupe_key=f"break_glass:{access.pk}:{referent or 0}",
        )
        for referent in sorted(referents, key=lambda pk: pk or 0)
    )


def _visible(request: HttpRequest, alert_ids: Iterable[int]):
    alerts = Alert.objects.filter(pk__in=list(alert_ids))
    patient_ids = set(alerts.values_list("patient_id", flat=True))
    return visible_alerts(request.user, alerts, only=patient_ids)


def _audit(request: HttpRequest, changed: list[tuple[int, int]]) -> None:
    AuditEvent.objects.bulk_create(
        audit_event(
            request=request,
            patient_id=patient_id,
            action=AuditEvent.Action.UPDATE,
            object_type="alert",
            object_id=pk,
        )
        for pk, patient_id in changed
    )


@transaction.atomic
def acknowledge_alerts(*, request: HttpRequest, alert_ids: Iterable[int]) -> int:
    """Open alerts become acknowledged by the user; returns how many changed."""
    alerts = _visible(request, alert_ids).filter(status=Alert.Status.OPEN)
    changed = list(alerts.select_for_update().values_list("pk", "patient_id"))
    Alert.objects.filter(pk__in=[pk for pk, _ in changed]).update(
        status=Alert.Status.ACKNOWLEDGED,
        acknowledged_at=timezone.now(),
        acknowledged_by=request.user,
    )
    _audit(request, changed)
    return len(changed)


@transaction.atomic
def resolve_alerts(*, request: HttpRequest, alert_ids: Iterable[int], comment: str = "") -> int:
    """Open or acknowledged alerts become resolved, with the comment; returns how many."""
    now = timezone.now()
    alerts = _visible(request, alert_ids).exclude(status=Alert.Status.RESOLVED)
    changed = list(alerts.select_for_update().values_list("pk", "patient_id"))
    Alert.objects.filter(pk__in=[pk for pk, _ in changed]).update(
        status=Alert.Status.RESOLVED,
        resolved_at=now,
        resolved_by=request.user,
        resolution_comment=comment,
        acknowledged_at=Coalesce(F("acknowledged_at"), now),
        acknowledged_by=Coalesce(F("acknowledged_by"), request.user.pk),
    )
    _audit(request, changed)
    return len(changed)
