"""Identity vigilance for the territory's administrators: possible duplicate records."""

from dataclasses import dataclass

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from patients.models import Patient
from tsn.audit import record_access
from tsn.models import AuditEvent, User

MAX_PAIRS = 100
# pg_trgm similarity of "birth name + first names" above which two records born the same
# day are worth a look.
CLOSE_NAMES = 0.6

# Pairs born the same day (a hash join on birth_date, not a comparison of every pair):
# same strict traits after removing accents and case, or names close by trigrams.
_DUPLICATES_SQL = f"""
SELECT first_id, second_id, score, strict FROM (
    SELECT a.id AS first_id, b.id AS second_id,
        similarity(
            unaccent(lower(a.birth_last_name || ' ' || a.first_names)),
            unaccent(lower(b.birth_last_name || ' ' || b.first_names))
        ) AS score,
        (
            unaccent(upper(a.birth_last_name)) = unaccent(upper(b.birth_last_name))
            AND split_part(unaccent(upper(a.first_names)), ' ', 1)
                = split_part(unaccent(upper(b.first_names)), ' ', 1)
            AND a.sex = b.sex
        ) AS strict
    FROM {Patient._meta.db_table} a
    JOIN {Patient._meta.db_table} b ON a.birth_date = b.birth_date AND a.id < b.id
) AS pairs
WHERE strict OR score >= %s
ORDER BY strict DESC, score DESC, first_id, second_id
LIMIT %s
"""  # noqa: S608 (only our own table name is interpolated)


@dataclass(frozen=True)
class DuplicatePair:
    first: Patient
    second: Patient
    score: float
    strict: bool


def possible_duplicates(limit: int = MAX_PAIRS) -> list[DuplicatePair]:
    """Pairs of records that may be the same person, the surest first."""
    with connection.cursor() as cursor:
        cursor.execute(_DUPLICATES_SQL, [CLOSE_NAMES, limit])
        rows = cursor.fetchall()
    patients = Patient.objects.select_related("commune").in_bulk(
        {pk for first, second, _score, _strict in rows for pk in (first, second)}
    )
    return [
        DuplicatePair(patients[first], patients[second], score, strict)
        for first, second, score, strict in rows
    ]


def duplicates(request: HttpRequest) -> HttpResponse:
    """Possible duplicates, for the administrators in charge of identity vigilance."""
    if request.user.role != User.Role.ADMINISTRATOR:
        raise Http404
    pairs = possible_duplicates()
    record_access(
        request=request,
        action=AuditEvent.Action.READ,
        object_type="duplicate_list",
        patient_id=None,
        object_id=str(len(pairs)),
    )
    return render(request, "patients/duplicates.html", {"pairs": pairs})
