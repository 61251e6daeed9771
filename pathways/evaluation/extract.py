"""The pseudonymised extract for research: one line per pathway followed during the
period, for the patients whose identity is qualified, identified by a keyed hash of their
INS (HMAC-SHA256 with the territory's key, TSN_PSEUDONYMISATION_KEY), so that researchers
can match it with other sources pseudonymised by the same key without ever seeing the
INS. No name, no address, no free text; the birth year, not the date. Administrators
only, and every extract is audited (pathways/views/evaluation.py)."""

import csv
import hashlib
import hmac
import io

from django.conf import settings
from django.db import connection

from pathways.evaluation.queries import EvaluationQuery
from tsn.spreadsheets import safe_cell

_EXTRACT = """
SELECT p.nir, extract(year FROM p.birth_date)::int AS birth_year, p.sex, t.code,
       pw.status, pw.origin, pw.enrolled_on, pw.ended_on,
       (SELECT count(*) FROM patients_timelineevent e
         WHERE e.patient_id = p.id AND e.kind = 'hospital_admission'
           AND e.occurred_at >= %(t1)s AND e.occurred_at < %(t2)s) AS admissions,
       (SELECT count(*) FROM patients_timelineevent e
         WHERE e.patient_id = p.id AND e.kind = 'emergency_visit'
           AND e.occurred_at >= %(t1)s AND e.occurred_at < %(t2)s) AS emergency_visits
  FROM pathways_pathway pw
  JOIN pathways_pathwaytemplate t ON t.id = pw.template_id
  JOIN patients_patient p ON p.id = pw.patient_id
  LEFT JOIN tsn_commune c ON c.id = p.commune_id
 WHERE p.identity_status = 'qualified' AND p.nir IS NOT NULL
   AND pw.status <> 'proposed'
   AND pw.enrolled_on < %(d2)s AND (pw.ended_on IS NULL OR pw.ended_on >= %(d1)s)
   AND (%(template)s = '' OR t.code = %(template)s)
   AND (%(sector)s = '' OR c.sector = %(sector)s)
 ORDER BY pw.id
"""

HEADER = (
    "pseudonyme",
    "annee_naissance",
    "sexe",
    "parcours",
    "statut",
    "origine",
    "date_inclusion",
    "date_fin",
    "admissions_periode",
    "passages_urgences_periode",
)


def pseudonym(nir: str) -> str:
    """The keyed hash of an INS: the same INS and key always give the same pseudonym."""
    key = settings.TSN_PSEUDONYMISATION_KEY.encode()
    return hmac.new(key, nir.encode(), hashlib.sha256).hexdigest()


def pseudonymised_extract(query: EvaluationQuery, now) -> tuple[bytes, int]:
    """The extract as CSV (`;`, UTF-8 with BOM) and its number of lines."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    lines = 0
    with connection.cursor() as cursor:
        cursor.execute(_EXTRACT, query.params(now))
        for nir, *columns in cursor:
            writer.writerow([pseudonym(nir), *(safe_cell(str(c or "")) for c in columns)])
            lines += 1
    return out.getvalue().encode(), lines
