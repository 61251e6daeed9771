"""Evaluation indicators of the territory, for the ARS: aggregates only, small counts masked.

Every figure leaves this module already masked (`tsn.disclosure.mask_small_count`), so no
page or report built on it can show a count of one to four people.
"""

from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Count

from pathways.models import Pathway, PathwayTemplate
from tsn.disclosure import mask_small_count


class Indicator(NamedTuple):
    """A (label, masked count) row; unpacks like a pair in templates."""

    label: str
    value: int | str


@dataclass(frozen=True)
class TerritoryIndicators:
    patients_followed: int | str
    pathways_by_template: list[Indicator]
    pathways_by_status: list[Indicator]


def territory_indicators() -> TerritoryIndicators:
    """Patients with an active pathway; pathways per template and per status (four queries)."""
    patients_followed = Pathway.objects.filter(status=Pathway.Status.ACTIVE).aggregate(
        n=Count("patient", distinct=True)
    )["n"]
    # All versions of a template count together, under the name of its latest version.
    # Counting first and naming the few groups afterwards keeps the count a plain GROUP BY.
    by_template = dict(
        Pathway.objects.values_list("template__code").annotate(n=Count("id")).order_by()
    )
    names = dict(
        PathwayTemplate.objects.filter(code__in=by_template)
        .order_by("code", "-is_current", "-version")
        .distinct("code")
        .values_list("code", "name")
    )
    by_status = dict(Pathway.objects.values_list("status").annotate(n=Count("id")).order_by())
    return TerritoryIndicators(
        patients_followed=mask_small_count(patients_followed),
        pathways_by_template=sorted(
            (Indicator(names[code], mask_small_count(n)) for code, n in by_template.items()),
            key=lambda indicator: indicator.label,
        ),
        pathways_by_status=[
            Indicator(label, mask_small_count(by_status.get(status, 0)))
            for status, label in Pathway.Status.choices
        ],
    )
