"""Periods with a start date and an optional end date (care-team memberships, roles).

The end date is exclusive: a membership ended today no longer counts today, so ending
one cuts the access at once.
"""

import datetime

from django.db.models import Q


def in_effect_on(day: datetime.date, prefix: str = "") -> Q:
    """Rows whose period covers ``day``: started on or before it, not ended on or before it.

    The SQL twin of ``CareTeamMember.is_active()``. ``prefix`` reaches a related period,
    e.g. ``"care_team__"``.
    """
    return Q(**{f"{prefix}start__lte": day}) & (
        Q(**{f"{prefix}end__isnull": True}) | Q(**{f"{prefix}end__gt": day})
    )
