"""The periodic rules over the whole territory, and the escalation of alerts left open.

Each scan is one INSERT ... SELECT over all active pathways (no loop over rows), and is
idempotent: the dedupe key of what it raises is unique among unresolved alerts (two scans
at once leave one alert), and a key already raised is not raised again once a person
resolved it (a new due date, review date or silence makes a new key)."""

import datetime
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pathways.models import Alert
from pathways.services.alert import insert_alerts, notify_alerts
from patients.models import TimelineEvent

# Timeline events that count as contact with a followed patient (not the platform's own
# records of pathway changes, nor corrections).
CONTACT_KINDS = (
    TimelineEvent.Kind.CONSULTATION,
    TimelineEvent.Kind.HOME_VISIT,
    TimelineEvent.Kind.HOSPITAL_ADMISSION,
    TimelineEvent.Kind.HOSPITAL_DISCHARGE,
    TimelineEvent.Kind.EMERGENCY_VISIT,
    TimelineEvent.Kind.NOTE,
    TimelineEvent.Kind.MESSAGE,
    TimelineEvent.Kind.MEASUREMENT,
    TimelineEvent.Kind.TELE_EXPERTISE,
)

# The SQL below is ours: f-strings only insert constants and joins; values are parameters.
# ruff: noqa: S608

# The user account of a professional, if active: joined as <alias>_user.
_USER_OF = (
    "LEFT JOIN professionals_professional {alias} ON {alias}.id = {fk} "
    "LEFT JOIN tsn_user {alias}_user ON {alias}_user.id = {alias}.user_id "
    "AND {alias}_user.is_active"
)

STEP_OVERDUE = f"""
    SELECT p.patient_id, 'step_overdue',
           CASE WHEN st.required THEN {Alert.Severity.WARNING} ELSE {Alert.Severity.INFO} END,
           replace(%(message)s, '{{step}}', st.name),
           (s.due_on::timestamp AT TIME ZONE %(tz)s),
           COALESCE(assignee_user.id, referent_user.id),
           'step_overdue:' || s.id || ':' || s.due_on,
           p.id, s.id
    FROM pathways_step s
    JOIN pathways_steptemplate st ON st.id = s.template_step_id
    JOIN pathways_pathway p ON p.id = s.pathway_id
    {_USER_OF.format(alias="assignee", fk="s.assignee_id")}
    {_USER_OF.format(alias="referent", fk="p.referent_id")}
    WHERE s.status IN ('planned', 'scheduled')
      AND s.due_on < %(today)s
      AND s.due_on + st.grace_days < %(today)s
      AND p.status = 'active'
      -- A step waiting for an earlier blocking step is not late by its own doing: the
      -- blocking step raises the alert (as pathways/services/pathway.py _blocked_by).
      AND NOT EXISTS (
          SELECT 1 FROM pathways_step b
          JOIN pathways_steptemplate bt ON bt.id = b.template_step_id
          WHERE b.pathway_id = s.pathway_id AND bt.blocking AND bt."order" < st."order"
            AND b.status <> 'done'
      )
"""  # constants only  # nosec B608

REFERRAL_UNANSWERED = f"""
    SELECT r.patient_id, 'referral_unanswered', {Alert.Severity.WARNING},
           replace(%(message)s, '{{service}}', svc.name),
           r.respond_by, sender_user.id,
           'referral_unanswered:' || r.id,
           r.pathway_id, NULL::bigint
    FROM pathways_referral r
    JOIN professionals_supportservice svc ON svc.id = r.service_id
    {_USER_OF.format(alias="sender", fk="r.sent_by_id")}
    WHERE r.status IN ('sent', 'acknowledged') AND r.respond_by < %(now)s
"""  # constants only  # nosec B608

# The referent of the patient's most recent active pathway is told.
CARE_PLAN_REVIEW = f"""
    SELECT cp.patient_id, 'care_plan_review', {Alert.Severity.INFO},
           %(message)s,
           (cp.next_review_on::timestamp AT TIME ZONE %(tz)s),
           referent_user.id,
           'care_plan_review:' || cp.id || ':' || cp.next_review_on,
           p.id, NULL::bigint
    FROM pathways_careplan cp
    JOIN LATERAL (
        SELECT id, referent_id FROM pathways_pathway
        WHERE patient_id = cp.patient_id AND status = 'active'
        ORDER BY enrolled_on DESC, id DESC LIMIT 1
    ) p ON TRUE
    {_USER_OF.format(alias="referent", fk="p.referent_id")}
    WHERE cp.next_review_on < %(today)s
"""  # constants only  # nosec B608

# The last contact is found newest-first on the timeline's keyset index.
NO_CONTACT = f"""
    SELECT p.patient_id, 'no_contact', {Alert.Severity.WARNING},
           replace(%(message)s, '{{days}}', t.no_contact_days::text),
           %(now)s::timestamptz,
           referent_user.id,
           'no_contact:' || p.id || ':'
               || COALESCE((last.occurred_at AT TIME ZONE %(tz)s)::date, p.enrolled_on),
           p.id, NULL::bigint
    FROM pathways_pathway p
    JOIN pathways_pathwaytemplate t ON t.id = p.template_id AND t.no_contact_days IS NOT NULL
    LEFT JOIN LATERAL (
        SELECT e.occurred_at FROM patients_timelineevent e
        WHERE e.patient_id = p.patient_id AND e.kind = ANY(%(contact_kinds)s)
        ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1
    ) last ON TRUE
    {_USER_OF.format(alias="referent", fk="p.referent_id")}
    WHERE p.status = 'active'
      AND p.enrolled_on < %(today)s - t.no_contact_days
      AND (last.occurred_at IS NULL
           OR last.occurred_at < %(now)s - make_interval(days => t.no_contact_days))
"""  # constants only  # nosec B608


def _messages() -> dict[str, str]:
    """The scans' messages, in the platform's language (placeholders filled in SQL)."""
    with translation.override(settings.LANGUAGE_CODE):
        return {
            "step_overdue": _("Étape en retard : {step}"),
            "referral_unanswered": _("Demande sans réponse du service {service}"),
            "care_plan_review": _("La date de révision du PPCS est passée"),
            "no_contact": _("Aucun contact enregistré depuis {days} jours"),
        }


def _scan(source_sql: str, message: str, **params: object) -> int:
    now = timezone.now()
    with transaction.atomic():
        alert_ids = insert_alerts(
            source_sql,
            {
                "message": message,
                "now": now,
                "today": timezone.localdate(now),
                "tz": settings.TIME_ZONE,
                **params,
            },
            once_per_key=True,
        )
        notify_alerts(alert_ids)
    return len(alert_ids)


def scan_overdue_steps() -> int:
    return _scan(STEP_OVERDUE, _messages()["step_overdue"])


def scan_unanswered_referrals() -> int:
    return _scan(REFERRAL_UNANSWERED, _messages()["referral_unanswered"])


def scan_care_plan_reviews() -> int:
    return _scan(CARE_PLAN_REVIEW, _messages()["care_plan_review"])


def scan_no_contact() -> int:
    return _scan(NO_CONTACT, _messages()["no_contact"], contact_kinds=list(CONTACT_KINDS))


SCANS: dict[str, Callable[[], int]] = {
    "step_overdue": scan_overdue_steps,
    "referral_unanswered": scan_unanswered_referrals,
    "care_plan_review": scan_care_plan_reviews,
    "no_contact": scan_no_contact,
}


def run_scans() -> dict[str, int]:
    """Every rule once; returns how many alerts each raised."""
    return {name: scan() for name, scan in SCANS.items()}


# The next person for an alert left open: level 1, the referent coordinator of the
# patient's pathway (the alert's own first); level 2, the on-duty coordinator of the
# service following it. A level with nobody (or the current assignee) passes to the next.
_ESCALATE = """
    WITH due AS (
        SELECT a.id, a.escalation_level AS level, a.assignee_id,
               (SELECT pr.user_id FROM pathways_pathway pw
                JOIN professionals_professional pr ON pr.id = pw.referent_id
                JOIN tsn_user u ON u.id = pr.user_id AND u.is_active
                WHERE pw.patient_id = a.patient_id
                  AND pw.status IN ('proposed', 'active', 'suspended')
                ORDER BY pw.id = a.pathway_id DESC, pw.id LIMIT 1) AS referent,
               (SELECT od.user_id FROM pathways_pathway pw
                JOIN professionals_supportservice svc ON svc.id = pw.support_service_id
                JOIN professionals_professional od ON od.id = svc.on_duty_id
                JOIN tsn_user u ON u.id = od.user_id AND u.is_active
                WHERE pw.patient_id = a.patient_id
                  AND pw.status IN ('proposed', 'active', 'suspended')
                ORDER BY pw.id = a.pathway_id DESC, pw.id LIMIT 1) AS on_duty
        FROM pathways_alert a
        WHERE a.status = 'open' AND a.escalation_level < {top}
          AND COALESCE(a.escalated_at, a.created_at) <= CASE a.severity {delays} END
    ),
    target AS (
        SELECT id, level,
               CASE WHEN level = 0 AND referent IS NOT NULL
                         AND referent IS DISTINCT FROM assignee_id THEN 1 ELSE 2 END AS to_level,
               CASE WHEN level = 0 AND referent IS NOT NULL
                         AND referent IS DISTINCT FROM assignee_id THEN referent
                    ELSE on_duty END AS to_user
        FROM due
    )
    UPDATE pathways_alert a
    SET escalation_level = t.to_level, escalated_at = %(now)s,
        assignee_id = COALESCE(t.to_user, a.assignee_id)
    FROM target t
    WHERE a.id = t.id AND a.status = 'open' AND a.escalation_level = t.level
    RETURNING a.id
"""


def escalate_alerts() -> int:
    """Pass every open alert not acknowledged within its delay to the next level and
    notify the new assignee; returns how many alerts moved."""
    now = timezone.now()
    params: dict[str, object] = {"now": now}
    delays = []
    for severity, delay in Alert.ESCALATION_DELAYS.items():
        params[f"limit_{severity}"] = now - delay
        delays.append(f"WHEN {int(severity)} THEN %(limit_{severity})s")
    # Severities without a delay never escalate: their limit is before any alert.
    params["never"] = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    sql = _ESCALATE.format(
        delays=" ".join(delays) + " ELSE %(never)s::timestamptz",
        top=int(Alert.MAX_ESCALATION_LEVEL),
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            alert_ids = [row[0] for row in cursor.fetchall()]
        notify_alerts(alert_ids)
    return len(alert_ids)
