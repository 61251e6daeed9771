"""Evaluation indicators of the territory, for the ARS: aggregates only, small counts masked.

Every figure leaves this module already masked (`tsn.disclosure.mask_small_count`), so no
page or report built on it can show a count of one to four people.
"""

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Subquery

from pathways.models import Pathway, PathwayTemplate
from tsn.disclosure import mask_small_count


@dataclass(frozen=True)
class Indicator:
    label: str
    value: int | str


@dataclass(frozen=True)
class TerritoryIndicators:
    patients_followed: int | str
    pathways_by_template: list[Indicator]
    pathways_by_status: list[Indicator]


def territory_indicators() -> TerritoryIndicators:
    """Patients with an active pathway; pathways per template and per status (three queries)."""
    patients_followed = Pathway.objects.filter(status=Pathway.Status.ACTIVE).aggregate(
        n=Count("patient", distinct=True)
    )["n"]
    # All versions of a template count together, under the name of its latest version.
    template_name = (
        PathwayTemplate.objects.filter(code=OuterRef("template__code"))
        .order_by("-is_current", "-version")
        .values("name")[:1]
    )
    by_template = (
        Pathway.objects.values("template__code")
        .annotate(name=Subquery(template_name), n=Count("id"))
        .order_by("name")
    )
    by_status = dict(Pathway.objects.values_list("status").annotate(n=Count("id")).order_by())
    return TerritoryIndicators(
        patients_followed=mask_small_count(patients_followed),
        pathways_by_template=[
            Indicator(row["name"], mask_small_count(row["n"])) for row in by_template
        ],
        pathways_by_status=[
            Indicator(label, mask_small_count(by_status.get(status, 0)))
            for status, label in Pathway.Status.choices
        ],
    )
