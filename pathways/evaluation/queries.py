"""The evaluation's aggregate SQL: each statement reads the base tables once for both
periods (the one reported and the one before, same length) and returns a few grouped
rows. Nothing here masks or names anything: `pathways/evaluation/indicators.py` turns
the rows into published figures. The benchmark's floor runs these very statements.

Parameters (`EvaluationQuery.params`): `d0` <= `d1` < `d2` are dates (the previous
period is [d0, d1), the reported one [d1, d2)), `t0`, `t1`, `t2` the same instants at
local midnight, `template` a pathway template code or "", `sector` a sector name or "",
`today` the date the report is computed on. Each statement's rows start with `cur`, 1
for the reported period and 0 for the previous one.

The scope (the pathways counted): every pathway, or those of one template (all its
versions), or those of the patients living in one sector. A pathway is *followed* during
a period when it was enrolled before the period ended, had not ended before it began,
and is not still waiting for the patient's consent (proposed).
"""

import dataclasses
import datetime

from django.db import connection

_SCOPED = """
scoped AS (
    SELECT pw.id, pw.patient_id, pw.status, pw.origin, pw.enrolled_on, pw.ended_on,
           pw.referent_id, t.code
      FROM pathways_pathway pw
      JOIN pathways_pathwaytemplate t ON t.id = pw.template_id
      JOIN patients_patient p ON p.id = pw.patient_id
      LEFT JOIN tsn_commune c ON c.id = p.commune_id
     WHERE (%(template)s = '' OR t.code = %(template)s)
       AND (%(sector)s = '' OR c.sector = %(sector)s)
),
followed AS (
    SELECT s.*, f.cur
      FROM scoped s
     CROSS JOIN LATERAL (VALUES (1, %(d1)s::date, %(d2)s::date),
                                (0, %(d0)s::date, %(d1)s::date)) AS f (cur, since, until)
     WHERE s.status <> 'proposed'
       AND s.enrolled_on < f.until
       AND (s.ended_on IS NULL OR s.ended_on >= f.since)
)"""

# A timeline entry not marked entered in error (by a later correcting entry).
_STANDING = "NOT EXISTS (SELECT 1 FROM patients_timelineevent x WHERE x.corrects_id = {0}.id)"

# The period an instant or a date falls in (1: reported, 0: previous).
_CUR_T = "CASE WHEN {0} >= %(t1)s THEN 1 ELSE 0 END"
_CUR_D = "CASE WHEN {0} >= %(d1)s THEN 1 ELSE 0 END"

# Patients followed, and per followed patient at the end of each period: a GP, a
# qualified identity, no referent on any followed pathway, care-team members.
FOLLOWED = f"""
WITH {_SCOPED},
per_patient AS (
    SELECT cur, patient_id, bool_or(referent_id IS NOT NULL) AS has_referent
      FROM followed GROUP BY cur, patient_id
)
SELECT pp.cur,
       count(*) AS patients,
       count(*) FILTER (WHERE p.gp_id IS NOT NULL) AS with_gp,
       count(*) FILTER (WHERE p.identity_status = 'qualified') AS qualified,
       count(*) FILTER (WHERE NOT pp.has_referent) AS without_referent,
       avg(team.members) AS team_mean,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY team.members) AS team_median
  FROM per_patient pp
  JOIN patients_patient p ON p.id = pp.patient_id
 CROSS JOIN LATERAL (
       SELECT count(*) AS members FROM patients_careteammember m
        WHERE m.patient_id = pp.patient_id
          AND m.start < CASE pp.cur WHEN 1 THEN %(d2)s::date ELSE %(d1)s::date END
          AND (m."end" IS NULL
               OR m."end" >= CASE pp.cur WHEN 1 THEN %(d2)s::date ELSE %(d1)s::date END)
 ) AS team
 GROUP BY pp.cur
"""  # noqa: S608 - constants only  # nosec B608

# New inclusions (followed pathways enrolled in the period), by template, origin, sector,
# commune, and age band x sex (age at enrolment).
INCLUSIONS = f"""
WITH {_SCOPED}
SELECT {_CUR_D.format("s.enrolled_on")} AS cur,
       s.code, s.origin, coalesce(c.sector, '') AS sector, c.insee_code, c.name AS commune,
       a.band AS age_band,
       p.sex,
       count(*) AS n,
       GROUPING(s.code, s.origin, coalesce(c.sector, ''), c.insee_code, c.name, a.band, p.sex)
           AS grouping
  FROM scoped s
  JOIN patients_patient p ON p.id = s.patient_id
  LEFT JOIN tsn_commune c ON c.id = p.commune_id
 CROSS JOIN LATERAL (
       SELECT CASE WHEN y < 60 THEN '0-59' WHEN y < 75 THEN '60-74'
                   WHEN y < 85 THEN '75-84' ELSE '85+' END AS band
         FROM extract(year FROM age(s.enrolled_on, p.birth_date)) AS y) a
 WHERE s.status <> 'proposed' AND s.enrolled_on >= %(d0)s AND s.enrolled_on < %(d2)s
 GROUP BY GROUPING SETS (
       (1), (1, s.code), (1, s.origin), (1, coalesce(c.sector, '')),
       (1, c.insee_code, c.name), (1, a.band, p.sex))
"""  # noqa: S608 - constants only  # nosec B608

# Professionals and organisations active: authors, and their organisations, of the
# timeline entries of the followed patients during the period.
ACTIVE_PROFESSIONALS = f"""
WITH {_SCOPED},
patients AS (SELECT DISTINCT cur, patient_id FROM followed),
actors AS (
    -- (One pass: the distinct author x organisation pairs are few, a hash holds them.)
    SELECT {_CUR_T.format("e.occurred_at")} AS cur, e.author_id, e.organization_id
      FROM patients_timelineevent e
      JOIN patients pa ON pa.patient_id = e.patient_id
       AND pa.cur = {_CUR_T.format("e.occurred_at")}
     WHERE e.occurred_at >= %(t0)s AND e.occurred_at < %(t2)s
       AND e.kind <> 'entered_in_error'
     GROUP BY 1, 2, 3
)
SELECT cur, count(DISTINCT author_id) AS professionals,
       count(DISTINCT organization_id) AS organizations
  FROM actors
 GROUP BY cur
"""  # noqa: S608 - constants only  # nosec B608

# Steps of the scoped pathways due in the period (done on time or not; skipped ones
# left out), and the delay from enrolment to each step done in the period, per step of
# each template (all versions together, by name).
STEPS_DUE = f"""
WITH {_SCOPED}
SELECT {_CUR_D.format("st.due_on")} AS cur,
       count(*) AS due,
       count(*) FILTER (WHERE st.status = 'done'
                        AND (st.done_at AT TIME ZONE %(tz)s)::date <= st.due_on) AS on_time
  FROM pathways_step st
  JOIN scoped s ON s.id = st.pathway_id
 WHERE st.due_on >= %(d0)s AND st.due_on < %(d2)s AND st.status <> 'skipped'
 GROUP BY 1
"""  # noqa: S608 - constants only  # nosec B608

STEP_DELAYS = f"""
WITH {_SCOPED}
SELECT {_CUR_T.format("st.done_at")} AS cur, s.code, tst.name,
       min(tst."order") AS step_order,
       count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY d.days) AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY d.days) AS p90
  FROM pathways_step st
  JOIN scoped s ON s.id = st.pathway_id
  JOIN pathways_steptemplate tst ON tst.id = st.template_step_id
 CROSS JOIN LATERAL (
       SELECT (st.done_at AT TIME ZONE %(tz)s)::date - s.enrolled_on AS days) d
 WHERE st.status = 'done' AND st.done_at >= %(t0)s AND st.done_at < %(t2)s
 GROUP BY 1, 2, 3
"""  # noqa: S608 - constants only  # nosec B608

# Referrals sent in the period for the patients followed during it: first answer of the service
# (acknowledgement or response), answers within the service's clock (among those whose
# clock has run out or that were answered).
REFERRALS = f"""
WITH {_SCOPED},
patients AS (SELECT DISTINCT cur, patient_id FROM followed)
SELECT {_CUR_T.format("r.sent_at")} AS cur,
       count(*) AS sent,
       count(*) FILTER (WHERE first.at IS NOT NULL) AS answered,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY first.days) AS first_median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY first.days) AS first_p90,
       count(*) FILTER (WHERE r.responded_at IS NOT NULL OR r.respond_by < %(now)s)
           AS clock_over,
       count(*) FILTER (WHERE r.responded_at <= r.respond_by) AS within_clock
  FROM pathways_referral r
  JOIN patients pa ON pa.patient_id = r.patient_id
   AND pa.cur = {_CUR_T.format("r.sent_at")}
 CROSS JOIN LATERAL (
       SELECT least(r.acknowledged_at, r.responded_at) AS at,
              extract(epoch FROM least(r.acknowledged_at, r.responded_at) - r.sent_at)
                  / 86400 AS days) AS first
 WHERE r.sent_at >= %(t0)s AND r.sent_at < %(t2)s
 GROUP BY 1
"""  # noqa: S608 - constants only  # nosec B608

# Care plans: days from enrolment to the patient's first care plan validated since (for
# the pathways enrolled in the period); reviews due in the period (a version's next
# review date) and those done in time (a later version saved by that date).
CARE_PLANS = f"""
WITH {_SCOPED},
enrolled AS (
    SELECT {_CUR_D.format("s.enrolled_on")} AS cur, s.patient_id, s.enrolled_on
      FROM scoped s
     WHERE s.status <> 'proposed' AND s.enrolled_on >= %(d0)s AND s.enrolled_on < %(d2)s
),
to_validation AS (
    SELECT e.cur,
           (SELECT min(v.validated_at AT TIME ZONE %(tz)s)::date - e.enrolled_on
              FROM pathways_careplan cp
              JOIN pathways_careplanversion v ON v.care_plan_id = cp.id
             WHERE cp.patient_id = e.patient_id
               AND (v.validated_at AT TIME ZONE %(tz)s)::date >= e.enrolled_on) AS days
      FROM enrolled e
),
reviews AS (
    SELECT {_CUR_D.format("v.next_review_on")} AS cur,
           EXISTS (SELECT 1 FROM pathways_careplanversion later
                    WHERE later.care_plan_id = v.care_plan_id AND later.number > v.number
                      AND (later.created_at AT TIME ZONE %(tz)s)::date <= v.next_review_on)
               AS reviewed
      FROM pathways_careplanversion v
      JOIN pathways_careplan cp ON cp.id = v.care_plan_id
     WHERE v.next_review_on >= %(d0)s AND v.next_review_on < %(d2)s
       AND v.next_review_on < %(today)s
       AND cp.patient_id IN (SELECT patient_id FROM scoped)
)
SELECT 'validation' AS measure, cur, count(*) AS n, count(days) AS done,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY days) AS p90
  FROM to_validation GROUP BY cur
UNION ALL
SELECT 'review', cur, count(*), count(*) FILTER (WHERE reviewed), NULL, NULL
  FROM reviews GROUP BY cur
"""  # noqa: S608 - constants only  # nosec B608

# Alerts raised in the period for the patients followed during it, by kind: how many, how many
# escalated, and the hours to their acknowledgement.
ALERTS = f"""
WITH {_SCOPED},
patients AS (SELECT DISTINCT cur, patient_id FROM followed)
SELECT {_CUR_T.format("a.created_at")} AS cur, a.kind,
       count(*) AS raised,
       count(*) FILTER (WHERE a.escalation_level > 0) AS escalated,
       count(a.acknowledged_at) AS acknowledged,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM a.acknowledged_at - a.created_at) / 3600)
           AS ack_median_hours,
       GROUPING(a.kind) AS grouping
  FROM pathways_alert a
  JOIN patients pa ON pa.patient_id = a.patient_id
   AND pa.cur = {_CUR_T.format("a.created_at")}
 WHERE a.created_at >= %(t0)s AND a.created_at < %(t2)s
 GROUP BY GROUPING SETS ((1, a.kind), (1))
"""  # noqa: S608 - constants only  # nosec B608

# Liaison-notebook messages written in the period about the patients followed during it.
MESSAGES = f"""
WITH {_SCOPED},
patients AS (SELECT DISTINCT cur, patient_id FROM followed)
SELECT {_CUR_T.format("m.sent_at")} AS cur, count(*) AS messages
  FROM patients_liaisonmessage m
  JOIN patients pa ON pa.patient_id = m.patient_id
   AND pa.cur = {_CUR_T.format("m.sent_at")}
 WHERE m.sent_at >= %(t0)s AND m.sent_at < %(t2)s
 GROUP BY 1
"""  # noqa: S608 - constants only  # nosec B608

# Hospital outcomes of the patients followed during the period, from the hospital feed's
# timeline entries (those marked entered in error left out): discharges, readmitted
# within 30 days, seen at home by their GP or a nurse within 7 days; hospital days (each
# discharge's stay since the last admission before it, within a year, with no other
# discharge between them); emergency visits not followed by an admission within 24 hours.
HOSPITAL = f"""
WITH {_SCOPED},
patients AS (SELECT DISTINCT cur, patient_id FROM followed),
events AS (
    SELECT e.id, e.patient_id, e.kind, e.occurred_at, {_CUR_T.format("e.occurred_at")} AS cur
      FROM patients_timelineevent e
     WHERE e.kind IN ('hospital_admission', 'hospital_discharge', 'emergency_visit')
       AND e.occurred_at >= %(t0)s AND e.occurred_at < %(t2)s
       AND {_STANDING.format("e")}
),
mine AS (
    SELECT ev.* FROM events ev
      JOIN patients pa ON pa.patient_id = ev.patient_id AND pa.cur = ev.cur
)
SELECT m.cur,
       count(*) FILTER (WHERE m.kind = 'hospital_discharge') AS discharges,
       count(*) FILTER (WHERE m.kind = 'hospital_discharge' AND EXISTS (
           SELECT 1 FROM patients_timelineevent a
            WHERE a.patient_id = m.patient_id AND a.kind = 'hospital_admission'
              AND a.occurred_at > m.occurred_at
              AND a.occurred_at <= m.occurred_at + interval '30 days'
              AND {_STANDING.format("a")})) AS readmitted,
       count(*) FILTER (WHERE m.kind = 'hospital_discharge' AND EXISTS (
           SELECT 1 FROM patients_timelineevent c
             JOIN patients_patient p ON p.id = c.patient_id
             LEFT JOIN professionals_professional au ON au.id = c.author_id
            WHERE c.patient_id = m.patient_id
              AND c.kind IN ('consultation', 'home_visit')
              AND c.occurred_at > m.occurred_at
              AND c.occurred_at <= m.occurred_at + interval '7 days'
              AND (c.author_id = p.gp_id OR au.profession = 'nurse')
              AND {_STANDING.format("c")})) AS contact_7_days,
       sum(stay.days) FILTER (WHERE m.kind = 'hospital_discharge') AS hospital_days,
       count(stay.days) FILTER (WHERE m.kind = 'hospital_discharge') AS stays,
       count(*) FILTER (WHERE m.kind = 'emergency_visit' AND NOT EXISTS (
           SELECT 1 FROM patients_timelineevent a
            WHERE a.patient_id = m.patient_id AND a.kind = 'hospital_admission'
              AND a.occurred_at >= m.occurred_at
              AND a.occurred_at <= m.occurred_at + interval '24 hours'
              AND {_STANDING.format("a")}))
           AS emergencies_not_admitted
  FROM mine m
  LEFT JOIN LATERAL (
       SELECT (m.occurred_at AT TIME ZONE %(tz)s)::date
              - (max(a.occurred_at) AT TIME ZONE %(tz)s)::date AS days
         FROM patients_timelineevent a
        WHERE m.kind = 'hospital_discharge'
          AND a.patient_id = m.patient_id AND a.kind = 'hospital_admission'
          AND a.occurred_at <= m.occurred_at
          AND a.occurred_at > m.occurred_at - interval '365 days'
          AND {_STANDING.format("a")}
          AND NOT EXISTS (
              SELECT 1 FROM patients_timelineevent d
               WHERE d.patient_id = m.patient_id AND d.kind = 'hospital_discharge'
                 AND d.occurred_at > a.occurred_at AND d.occurred_at < m.occurred_at
                 AND {_STANDING.format("d")})
  ) AS stay ON true
 GROUP BY m.cur
"""  # noqa: S608 - constants only  # nosec B608

# Satisfaction questionnaires (portal/questionnaires.py) sent in the period: per kind of
# respondent and question, the answers, their mean score (1 to 5) and those scoring 4 or
# 5; per kind, the questionnaires. Patients' and caregivers' answers are about a scoped
# pathway; professionals' are about the territory, so counted for the whole territory only.
SATISFACTION = f"""
WITH {_SCOPED}
SELECT {_CUR_T.format("r.submitted_at")} AS cur, r.respondent_kind AS kind, a.key AS question,
       count(*) AS n,
       avg(a.value::int) AS mean,
       count(*) FILTER (WHERE a.value::int >= 4) AS satisfied,
       count(DISTINCT r.id) AS responses,
       GROUPING(a.key) AS grouping
  FROM portal_satisfactionresponse r
 CROSS JOIN LATERAL jsonb_each_text(r.answers) AS a
 WHERE r.submitted_at >= %(t0)s AND r.submitted_at < %(t2)s
   AND (r.pathway_id IN (SELECT id FROM scoped)
        OR (r.pathway_id IS NULL AND %(template)s = '' AND %(sector)s = ''))
 GROUP BY GROUPING SETS ((1, r.respondent_kind, a.key), (1, r.respondent_kind))
"""  # noqa: S608 - constants only  # nosec B608

STATEMENTS = {
    "followed": FOLLOWED,
    "inclusions": INCLUSIONS,
    "active_professionals": ACTIVE_PROFESSIONALS,
    "steps_due": STEPS_DUE,
    "step_delays": STEP_DELAYS,
    "referrals": REFERRALS,
    "care_plans": CARE_PLANS,
    "alerts": ALERTS,
    "messages": MESSAGES,
    "hospital": HOSPITAL,
    "satisfaction": SATISFACTION,
}


@dataclasses.dataclass(frozen=True)
class EvaluationQuery:
    """The parameters of every statement: two periods of the same length, a scope."""

    start: datetime.date  # first day of the period reported
    end: datetime.date  # its last day
    template: str = ""
    sector: str = ""

    @property
    def previous_start(self) -> datetime.date:
        """The first day of the previous period: as many whole months before when the
        period is whole months (2024 for 2025, leap day or not), else as many days."""
        day_after = self.end + datetime.timedelta(days=1)
        if self.start.day == 1 and day_after.day == 1:
            months = (day_after.year - self.start.year) * 12 + day_after.month - self.start.month
            index = self.start.year * 12 + self.start.month - 1 - months
            return datetime.date(index // 12, index % 12 + 1, 1)
        return self.start - (day_after - self.start)

    def params(self, now: datetime.datetime) -> dict:
        from django.utils import timezone

        tz = timezone.get_current_timezone()
        day_after = self.end + datetime.timedelta(days=1)

        def midnight(day: datetime.date) -> datetime.datetime:
            return datetime.datetime.combine(day, datetime.time(), tzinfo=tz)

        return {
            "d0": self.previous_start,
            "d1": self.start,
            "d2": day_after,
            "t0": midnight(self.previous_start),
            "t1": midnight(self.start),
            "t2": midnight(day_after),
            "template": self.template,
            "sector": self.sector,
            "now": now,
            "today": timezone.localdate(now),
            "tz": str(tz),
        }


def run(statement: str, params: dict) -> list[dict]:
    """The statement's rows as dicts (column name -> value)."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
