"""Delivering notifications: the outbox's other end.

E-mail notifications are claimed before they are sent: a conditional UPDATE over rows
picked with `FOR UPDATE SKIP LOCKED` sets a lease (`claimed_until`), so two workers never
send the same one, and a worker killed mid-send leaves a row another takes over once the
lease has passed. A failure is retried with exponential backoff and jitter; after
`Notification.MAX_ATTEMPTS` the notification is `failed`, listed for administrators.

E-mails carry no health data: a neutral sentence and a link to the notifications page."""

import datetime
import random
from collections import defaultdict

import structlog
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from pathways.models import Notification, NotificationPreference
from patients.access import visible_patients
from patients.models import Patient
from tsn.celery import enqueue_on_commit
from tsn.keyset import Cursor, older_than
from tsn.models import User

log = structlog.get_logger(__name__)

_CLAIM = """
    UPDATE pathways_notification SET claimed_until = %(lease)s
    WHERE id IN (
        SELECT id FROM pathways_notification
        WHERE status = 'pending' AND channel = 'email' AND digest = %(digest)s
          AND next_attempt_at <= %(now)s
          AND (claimed_until IS NULL OR claimed_until < %(now)s)
          {only}
        ORDER BY next_attempt_at
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id
"""


def _claim(
    *, ids: list[int] | None, digest: bool, limit: int
) -> tuple[list[int], datetime.datetime]:
    now = timezone.now()
    lease = now + datetime.timedelta(seconds=settings.TSN_NOTIFICATION_LEASE_SECONDS)
    sql = _CLAIM.format(only="AND id = ANY(%(ids)s)" if ids is not None else "")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql, {"lease": lease, "now": now, "digest": digest, "limit": limit, "ids": ids}
        )
        return [row[0] for row in cursor.fetchall()], lease


def retry_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff with jitter: about base x 2^(attempts - 1), between 50 and 100 %."""
    ceiling = settings.TSN_NOTIFICATION_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    return datetime.timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # noqa: S311 - jitter  # nosec B311


def _link() -> str:
    return settings.TSN_BASE_URL + reverse("pathways:notifications")


def _message(recipient: User, count: int, message_id: str) -> EmailMessage:
    with translation.override(settings.LANGUAGE_CODE):
        subject = (
            _("TSN : une nouvelle alerte de coordination")
            if count == 1
            else _("TSN : vos alertes de coordination du jour")
        )
        body = "\n\n".join(
            [
                _("Bonjour,"),
                ngettext(
                    "Une alerte de coordination vous attend sur TSN.",
                    "%(count)d alertes de coordination vous attendent sur TSN.",
                    count,
                )
                % {"count": count},
                _("Pour la consulter, connectez-vous : %(link)s") % {"link": _link()},
                _(
                    "Ce message ne contient volontairement aucune information sur les "
                    "patients. Merci de ne pas y répondre."
                ),
            ]
        )
    return EmailMessage(
        subject=subject,
        body=body,
        to=[recipient.email],
        # Stable per notification: a relay or mail client can drop a re-sent copy.
        headers={"Message-ID": message_id},
    )


def _record_sent(ids: list[int], lease: datetime.datetime) -> None:
    Notification.objects.filter(pk__in=ids, claimed_until=lease).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), claimed_until=None
    )


def _record_failure(notifications: list[Notification], error: Exception) -> None:
    # The error's type only: an SMTP refusal quotes addresses.
    log.warning(
        "notification_failed",
        notification_ids=[notification.pk for notification in notifications],
        error=type(error).__name__,
    )
    now = timezone.now()
    for notification in notifications:
        notification.attempts += 1
        notification.last_error = f"{type(error).__name__}: {error}"[:1000]
        notification.claimed_until = None
        if notification.attempts >= Notification.MAX_ATTEMPTS:
            notification.status = Notification.Status.FAILED
        else:
            notification.next_attempt_at = now + retry_delay(notification.attempts)
    Notification.objects.bulk_update(
        notifications, ["attempts", "last_error", "claimed_until", "status", "next_attempt_at"]
    )


def _quiet_until(preference: NotificationPreference | None) -> datetime.datetime | None:
    """The end of the recipient's quiet hours if they are in them now, else None."""
    now = timezone.localtime()
    if preference is None or not preference.in_quiet_hours(now.time()):
        return None
    end = now.replace(
        hour=preference.quiet_end.hour, minute=preference.quiet_end.minute, second=0, microsecond=0
    )
    return end if end > now else end + datetime.timedelta(days=1)


def _claimed(ids: list[int]) -> QuerySet[Notification]:
    return Notification.objects.filter(pk__in=ids).select_related(
        "recipient__notification_preference"
    )


def _preference(user: User) -> NotificationPreference | None:
    try:
        return user.notification_preference
    except NotificationPreference.DoesNotExist:
        return None


def deliver_notifications(*, ids: list[int] | None = None, limit: int = 100) -> int:
    """Send the e-mail notifications due (those of `ids`, or any); returns how many were sent.

    Each is sent outside any transaction, after its claim committed, then recorded."""
    claimed, lease = _claim(ids=ids, digest=False, limit=limit)
    sent = 0
    for notification in _claimed(claimed):
        quiet_until = _quiet_until(_preference(notification.recipient))
        if quiet_until is not None:
            Notification.objects.filter(pk=notification.pk, claimed_until=lease).update(
                next_attempt_at=quiet_until, claimed_until=None
            )
            continue
        try:
            _message(notification.recipient, 1, f"<notification-{notification.pk}@tsn>").send()
        except Exception as error:  # SMTP refused, timed out...: retried later
            _record_failure([notification], error)
            continue
        _record_sent([notification.pk], lease)
        log.info("notification_sent", notification_id=notification.pk)
        sent += 1
    return sent


def relay_notifications(*, batch: int = 100, max_batches: int = 50) -> int:
    """Deliver what is still pending (broker down, worker killed, retry due), batch after
    batch; returns how many were sent."""
    sent = 0
    for _batch in range(max_batches):
        before = sent
        sent += deliver_notifications(limit=batch)
        if sent == before and not _due_exists():
            break
    return sent


def _due_exists() -> bool:
    now = timezone.now()
    return (
        Notification.objects.filter(
            status=Notification.Status.PENDING,
            channel=Notification.Channel.EMAIL,
            digest=False,
            next_attempt_at__lte=now,
        )
        .exclude(claimed_until__gte=now)
        .exists()
    )


def send_digests(*, limit: int = 5000) -> int:
    """One e-mail per recipient for their pending digest notifications; returns how many
    e-mails were sent."""
    claimed, lease = _claim(ids=None, digest=True, limit=limit)
    by_recipient: dict[int, list[Notification]] = defaultdict(list)
    for notification in _claimed(claimed):
        by_recipient[notification.recipient_id].append(notification)
    sent = 0
    for notifications in by_recipient.values():
        recipient = notifications[0].recipient
        message_id = f"<digest-{notifications[0].pk}-{len(notifications)}@tsn>"
        try:
            _message(recipient, len(notifications), message_id).send()
        except Exception as error:
            _record_failure(notifications, error)
            continue
        _record_sent([n.pk for n in notifications], lease)
        log.info("digest_sent", recipient_id=recipient.pk, notifications=len(notifications))
        sent += 1
    return sent


# --- A user's side: the badge, the list, their preferences ---------------------------------


def unread_count(user: User) -> int:
    return Notification.objects.filter(
        recipient=user, channel=Notification.Channel.IN_APP, read_at__isnull=True
    ).count()


def inbox(user: User, cursor: Cursor | None, size: int) -> tuple[list[Notification], bool]:
    """The user's in-app notifications, newest first after `cursor`, and whether more
    follow. Each carries `patient`: the patient if the user may still see them, else None
    (access can end after the alert was raised). Two queries."""
    rows = Notification.objects.filter(recipient=user, channel=Notification.Channel.IN_APP)
    if cursor is not None:
        rows = rows.filter(older_than("created_at", cursor))
    items = list(rows.select_related("alert__patient").order_by("-created_at", "-id")[: size + 1])
    more = len(items) > size
    items = items[:size]
    patient_ids = {item.alert.patient_id for item in items}
    visible = (
        set(
            visible_patients(
                Patient.objects.filter(pk__in=patient_ids), user, only=patient_ids
            ).values_list("pk", flat=True)
        )
        if patient_ids
        else set()
    )
    for item in items:
        item.patient = item.alert.patient if item.alert.patient_id in visible else None
    return items, more


@transaction.atomic
def save_notification_preference(
    *, preference: NotificationPreference, delegate: User | None
) -> NotificationPreference:
    preference.delegate = delegate
    preference.save()
    return preference


@transaction.atomic
def retry_failed_notifications(*, ids: list[int]) -> int:
    """Failed e-mails go back to the outbox for a fresh series of tries."""
    to_retry = list(
        Notification.objects.filter(pk__in=ids, status=Notification.Status.FAILED).values_list(
            "pk", flat=True
        )
    )
    Notification.objects.filter(pk__in=to_retry).update(
        status=Notification.Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        claimed_until=None,
    )
    from pathways.tasks import deliver_notifications_task  # tasks call services

    if to_retry:
        enqueue_on_commit(deliver_notifications_task, to_retry)
    return len(to_retry)
