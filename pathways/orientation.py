"""The orientation tool: which support services of the territory can meet a patient's
needs near home.

The services of the chosen categories that cover the patient's commune, nearest first:
one query whatever their number, the distance from the commune's centre computed in SQL
(professionals/directory.py) and the organisation and its commune joined.
"""

from collections.abc import Collection

from django.db.models import F
from django.utils.translation import gettext

from professionals.directory import distance_to_organization
from professionals.models import SupportService
from tsn.models import Commune


def services_for(categories: Collection[str], commune: Commune) -> list[SupportService]:
    """The services of these categories covering the commune, nearest first, then the
    shortest known wait, then by name; each with its `distance` in km from the commune's
    centre to the organisation (its own position, else its commune's centre; None when
    neither is known: last)."""
    distance = distance_to_organization(commune, "organization__")
    return list(
        SupportService.objects.filter(category__in=categories, communes=commune)
        .annotate(distance=distance)
        .select_related("organization__commune")
        .order_by(
            F("distance").asc(nulls_last=True),
            F("waiting_days").asc(nulls_last=True),
            "name",
            "pk",
        )
    )


def referral_reason(categories: Collection[str]) -> str:
    """The reason a referral from the orientation starts with: the needs chosen, e.g.
    "Besoins repérés : aide à domicile, portage de repas"."""
    needs = [
        str(label)[:1].lower() + str(label)[1:]
        for value, label in SupportService.Category.choices
        if value in categories
    ]
    return gettext("Besoins repérés : %(needs)s") % {"needs": ", ".join(needs)}
