"""Floors: bare Django views that fetch the same rows as a page with one raw SQL query.

They run behind the same middleware (session, authentication, CSP) as the real pages, so
the ratio page/floor measures what the ORM, the access rules, the audit and the templates
add on top of the unavoidable work.
"""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from pathways.worklist import WorklistFilters, worklist_params, worklist_sql

_OPEN = "('planned', 'scheduled')"
# Unread liaison-notebook mentions of user %(u)s, per patient (the home pages list them).
_UNREAD_MENTIONS = """
  (SELECT json_agg(json_build_array(u.patient_id, u.n)) FROM (
     SELECT lm.patient_id, count(*) AS n FROM patients_liaisonmessage lm
     JOIN patients_liaisonmessage_mentions mm
       ON mm.liaisonmessage_id = lm.id AND mm.user_id = %(u)s
     LEFT JOIN patients_seenmark sm
       ON sm.user_id = %(u)s AND sm.patient_id = lm.patient_id AND sm.part = 'liaison'
     WHERE sm.seen_at IS NULL OR lm.sent_at > sm.seen_at
     GROUP BY lm.patient_id) u)"""
_CLOSED = "('completed', 'exited')"


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _professional_id(request: HttpRequest) -> int | None:
    rows = _rows("SELECT id FROM professionals_professional WHERE user_id = %s", [request.user.pk])
    return rows[0][0] if rows else None


def professional_home(request: HttpRequest) -> JsonResponse:
    today = timezone.localdate()
    rows = _rows(
        f"""
        SELECT p.id, p.first_name, p.last_name, p.profession, p.rpps, {_UNREAD_MENTIONS},
          (SELECT array_agg(o.name ORDER BY o.name) FROM professionals_practitionerrole r
             JOIN professionals_organization o ON o.id = r.organization_id
            WHERE r.professional_id = p.id AND r.start <= %(d)s
              AND (r."end" IS NULL OR r."end" > %(d)s)),
          (SELECT count(DISTINCT m.patient_id) FROM patients_careteammember m
            WHERE m.professional_id = p.id AND m.start <= %(d)s
              AND (m."end" IS NULL OR m."end" > %(d)s)),
          (SELECT count(*) FROM patients_patient WHERE gp_id = p.id),
          s.open, s.overdue
        FROM professionals_professional p,
          LATERAL (SELECT count(*) AS open, count(*) FILTER (WHERE st.due_on < %(d)s) AS overdue
                     FROM pathways_step st JOIN pathways_pathway pw ON pw.id = st.pathway_id
                    WHERE st.assignee_id = p.id AND st.status IN {_OPEN}
                      AND pw.status NOT IN {_CLOSED}) s
        WHERE p.user_id = %(u)s
        """,  # noqa: S608 - constants only  # nosec B608
        {"d": today, "u": request.user.pk},
    )
    return JsonResponse({"rows": rows}, safe=False)


def coordinator_home(request: HttpRequest) -> JsonResponse:
    today = timezone.localdate()
    rows = _rows(
        f"""
        WITH mine AS (SELECT id, patient_id, status FROM pathways_pathway WHERE referent_id = %(p)s)
        SELECT
          (SELECT json_object_agg(status, n) FROM
             (SELECT status, count(*) n FROM mine GROUP BY status) g),
          (SELECT count(*) FROM pathways_alert a WHERE a.status = 'open' AND a.patient_id IN
             (SELECT patient_id FROM mine WHERE status NOT IN {_CLOSED})),
          (SELECT count(*) FROM pathways_step st WHERE st.status IN {_OPEN}
             AND st.due_on < %(d)s
             AND st.pathway_id IN (SELECT id FROM mine WHERE status NOT IN {_CLOSED})),
          (SELECT array_agg(s.name) FROM professionals_supportservice s
             JOIN professionals_supportservice_members m ON m.supportservice_id = s.id
            WHERE m.professional_id = %(p)s),
          {_UNREAD_MENTIONS}
        """,  # noqa: S608 - constants only  # nosec B608
        {"p": _professional_id(request), "d": today, "u": request.user.pk},
    )
    return JsonResponse({"rows": rows}, safe=False)


def ars_home(request: HttpRequest) -> JsonResponse:
    rows = _rows(
        """
        SELECT
          (SELECT count(DISTINCT patient_id) FROM pathways_pathway WHERE status = 'active'),
          (SELECT json_agg(x) FROM (SELECT t.code, count(*) FROM pathways_pathway p
             JOIN pathways_pathwaytemplate t ON t.id = p.template_id GROUP BY t.code) x),
          (SELECT json_object_agg(status, n) FROM
             (SELECT status, count(*) n FROM pathways_pathway GROUP BY status) g)
        """,
        [],
    )
    return JsonResponse({"rows": rows}, safe=False)


def patient_home(request: HttpRequest) -> JsonResponse:
    today = timezone.localdate()
    rows = _rows(
        """
        SELECT pt.birth_last_name, pt.first_names, pt.birth_date, g.last_name,
          (SELECT json_agg(json_build_array(pr.first_name, pr.last_name, m.role)
                           ORDER BY pr.last_name, pr.first_name)
             FROM patients_careteammember m
             JOIN professionals_professional pr ON pr.id = m.professional_id
            WHERE m.patient_id = pt.id AND m.start <= %(d)s
              AND (m."end" IS NULL OR m."end" > %(d)s)),
          (SELECT json_agg(json_build_array(t.name, pw.enrolled_on) ORDER BY pw.enrolled_on)
             FROM pathways_pathway pw JOIN pathways_pathwaytemplate t ON t.id = pw.template_id
            WHERE pw.patient_id = pt.id AND pw.status = 'active')
        FROM patients_patient pt LEFT JOIN professionals_professional g ON g.id = pt.gp_id
        WHERE pt.user_id = %(u)s
        """,
        {"d": today, "u": request.user.pk},
    )
    return JsonResponse({"rows": rows}, safe=False)


# One keyset page of a timeline: the events with their author, organisation, document and
# the corrections that mark them in error (what the patient file shows), newest first.
_TIMELINE_PAGE = """
    SELECT e.id, e.occurred_at, e.recorded_at, e.kind, e.title, e.body, e.source,
      a.first_name, a.last_name, o.name, d.id, d.original_name, d.size,
      c.title, c.occurred_at,
      (SELECT json_agg(json_build_array(x.id, x.body, x.recorded_at, xa.first_name, xa.last_name)
                       ORDER BY x.recorded_at, x.id)
         FROM patients_timelineevent x
         LEFT JOIN professionals_professional xa ON xa.id = x.author_id
        WHERE x.corrects_id = e.id)
    FROM patients_timelineevent e
    LEFT JOIN professionals_professional a ON a.id = e.author_id
    LEFT JOIN professionals_organization o ON o.id = e.organization_id
    LEFT JOIN patients_document d ON d.event_id = e.id
    LEFT JOIN patients_timelineevent c ON c.id = e.corrects_id
    WHERE e.patient_id = %(p)s AND (e.occurred_at, e.id) < (%(t)s, %(i)s)
    ORDER BY e.occurred_at DESC, e.id DESC
    LIMIT 50
"""


def _timeline_rows(request: HttpRequest, pk: int, before: str) -> JsonResponse:
    occurred_at, _, event_id = before.rpartition(",")
    params = {"p": pk, "t": occurred_at, "i": int(event_id)}
    return JsonResponse({"rows": _rows(_TIMELINE_PAGE, params)}, safe=False)


def timeline_first_page(request: HttpRequest, pk: int) -> JsonResponse:
    return _timeline_rows(request, pk, "infinity,0")


def timeline_deep_page(request: HttpRequest, pk: int) -> JsonResponse:
    return _timeline_rows(request, pk, request.GET["before"])


# The coordinator's worklist: the page's own statement (pathways/worklist.py, raw SQL), run
# bare: what the page adds is the access check, the audit, the rows' display and the
# template.
def worklist(request: HttpRequest) -> JsonResponse:
    filters = WorklistFilters()
    params = worklist_params(request.user, request.user.professional, filters, timezone.localdate())
    return JsonResponse({"rows": _rows(worklist_sql(filters), params)}, safe=False)


# The first page of the caseload list: the coordinator's open pathways, newest first, with
# patient, commune, template, referent and the count of overdue steps.
_CASELOAD = """
    WITH page AS (
      SELECT pw.* FROM pathways_pathway pw
       WHERE pw.support_service_id IN (SELECT supportservice_id
                                         FROM professionals_supportservice_members
                                        WHERE professional_id = %(p)s)
         AND pw.status IN ('proposed', 'active', 'suspended') AND pw.referent_id = %(p)s
       ORDER BY pw.id DESC LIMIT 51)
    SELECT page.id, page.status, page.enrolled_on, pt.used_last_name, pt.birth_last_name,
           pt.first_names, c.name, t.name, r.last_name,
           (SELECT count(*) FROM pathways_step s WHERE s.pathway_id = page.id
              AND s.status IN ('planned', 'scheduled') AND s.due_on < %(d)s),
           (SELECT json_object_agg(status, n) FROM (
              SELECT status, count(*) AS n FROM pathways_pathway
               WHERE referent_id = %(p)s AND status IN ('proposed', 'active', 'suspended')
               GROUP BY status) g)
      FROM page
      JOIN patients_patient pt ON pt.id = page.patient_id
      LEFT JOIN tsn_commune c ON c.id = pt.commune_id
      JOIN pathways_pathwaytemplate t ON t.id = page.template_id
      LEFT JOIN professionals_professional r ON r.id = page.referent_id
     ORDER BY page.id DESC
"""


def caseload(request: HttpRequest) -> JsonResponse:
    params = {"p": _professional_id(request), "d": timezone.localdate()}
    return JsonResponse({"rows": _rows(_CASELOAD, params)}, safe=False)


# A directory search by name: the trigram condition the index serves (the very expression
# of professionals.models.PROFESSIONAL_SEARCH_NAME, as Django writes it), the best matches
# first, with each professional's current places of practice.
_SEARCH_NAME = (
    "tsn_unaccent(lower((COALESCE(p.last_name, '')::text"
    " || COALESCE(' ' || COALESCE(p.first_name, '')::text, ''))))"
)
_DIRECTORY_SEARCH = f"""
    SELECT p.id, p.last_name, p.first_name, p.profession, p.specialty, p.accepts_new_patients,
           p.mssante_address, word_similarity(tsn_unaccent(lower(%(q)s)), {_SEARCH_NAME}) AS score,
           (SELECT json_agg(json_build_array(o.name, r.site_name, coalesce(r.address, o.address),
                                             c.name, oc.name, coalesce(r.phone, o.phone))
                            ORDER BY r.start, r.id)
              FROM professionals_practitionerrole r
              LEFT JOIN professionals_organization o ON o.id = r.organization_id
              LEFT JOIN tsn_commune c ON c.id = r.commune_id
              LEFT JOIN tsn_commune oc ON oc.id = o.commune_id
             WHERE r.professional_id = p.id AND r.start <= %(d)s
               AND (r."end" IS NULL OR r."end" > %(d)s))
      FROM professionals_professional p
     WHERE {_SEARCH_NAME} %%> tsn_unaccent(lower(%(q)s))
     ORDER BY score DESC, p.last_name, p.first_name, p.id
     LIMIT 30
"""  # noqa: S608 - constants only  # nosec B608


def directory_search(request: HttpRequest) -> JsonResponse:
    params = {"q": request.GET["q"], "d": timezone.localdate()}
    return JsonResponse({"rows": _rows(_DIRECTORY_SEARCH, params)}, safe=False)
