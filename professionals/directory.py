"""Searching the territory's directory: professionals, organisations and support services,
by name (accents, case and typos forgiven: tsn/search.py), kind, profession or category,
commune or distance from a commune.

Each search is one query for the rows (the name condition served by a trigram index, the
distance computed in SQL for the matching rows only) and, for professionals, one for
their current places of practice (plain columns: an ORM subquery of JSON objects took
longer to build than PostgreSQL took to run it).
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass

from django.db.models import F, FloatField, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from professionals.models import (
    ORGANIZATION_SEARCH_NAME,
    PROFESSIONAL_SEARCH_NAME,
    SERVICE_SEARCH_NAME,
    Organization,
    PractitionerRole,
    Professional,
    SupportService,
)
from tsn.geo import distance_km_from
from tsn.models import Commune
from tsn.periods import in_effect_on
from tsn.search import name_match, searched

RESULTS = 30


class Kind:
    PROFESSIONAL = "professional"
    ORGANIZATION = "organization"
    SERVICE = "service"


@dataclass(frozen=True)
class DirectoryQuery:
    kind: str = Kind.PROFESSIONAL
    name: str = ""
    profession: str = ""  # a Professional.Profession value
    category: str = ""  # an Organization.Kind (organisations) or SupportService.Category
    commune: Commune | None = None
    # Within this many km of the commune's centre; None: in the commune itself (for
    # services: covering it).
    radius_km: int | None = None
    accepting_only: bool = False  # professionals taking new patients

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.profession or self.category or self.commune)


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def split_profession(text: str) -> tuple[str, str]:
    """A picker's query such as "infirmière dupont" as (profession, name): a word that
    begins a profession's name (4 letters at least, accents ignored) picks it."""
    words = text.split()
    for index, word in enumerate(words):
        folded = _folded(word)
        if len(folded) < 4:
            continue
        for value, label in Professional.Profession.choices:
            if any(part.startswith(folded) for part in re.split(r"[^a-z]+", _folded(str(label)))):
                return value, " ".join(words[:index] + words[index + 1 :])
    return "", text


def find_communes(text: str) -> list[Commune]:
    """The communes the text typed may mean: an INSEE code, or a name with accents and
    case ignored; at most two (two: the name is ambiguous, the INSEE code decides)."""
    text = text.strip()
    if not text:
        return []
    return list(
        Commune.objects.filter(
            Q(insee_code=text.upper()) | Q(name__unaccent__iexact=text)
        ).order_by("insee_code")[:2]
    )


def find_commune(text: str) -> Commune | None:
    """The commune typed (None when unknown or when two communes share the name)."""
    communes = find_communes(text)
    return communes[0] if len(communes) == 1 else None


def _near(query: DirectoryQuery) -> QuerySet[Commune]:
    """The communes the search covers (one, or those within the radius)."""
    commune = query.commune
    if query.radius_km is None:
        return Commune.objects.filter(pk=commune.pk)
    distance = distance_km_from(commune.latitude, commune.longitude, "latitude", "longitude")
    return Commune.objects.alias(distance=distance).filter(distance__lte=query.radius_km)


def _by_name(rows: QuerySet, query: DirectoryQuery, searched_form) -> QuerySet:
    """Rows whose name matches, the best match first (then the nearest, by name)."""
    if not query.name:
        return rows
    return rows.alias(search_name=searched_form).filter(
        search_name__trigram_word_similar=searched(query.name)
    )


def _ordering(query: DirectoryQuery, *names: str) -> list:
    order = []
    if query.name:
        order.append(F("score").desc())
    if query.commune is not None:
        order.append(F("distance").asc(nulls_last=True))
    return [*order, *names, "pk"]


def search_professionals(query: DirectoryQuery, today: datetime.date) -> list[dict]:
    current = in_effect_on(today)
    rows = _by_name(Professional.objects.all(), query, PROFESSIONAL_SEARCH_NAME)
    if query.profession:
        rows = rows.filter(profession=query.profession)
    if query.accepting_only:
        rows = rows.filter(accepts_new_patients=True)
    if query.name:
        rows = rows.annotate(score=name_match(query.name, "search_name"))
    if query.commune is not None:
        near = _near(query).values("pk")
        places = PractitionerRole.objects.filter(current).filter(
            Q(commune__in=near) | Q(commune__isnull=True, organization__commune__in=near)
        )
        rows = rows.filter(pk__in=places.values("professional_id"))
        rows = rows.annotate(distance=_nearest_place(query.commune, today))
    rows = rows.order_by(*_ordering(query, "last_name", "first_name"))
    columns = [*PROFESSIONAL_COLUMNS, *(["distance"] if query.commune is not None else [])]
    return _described(list(rows.values(*columns)[:RESULTS]), today)


# What a result shows of a professional (plain rows: a page lists 30 of them).
PROFESSIONAL_COLUMNS = (
    "pk", "last_name", "first_name", "profession", "specialty", "rpps",
    "accepts_new_patients", "mssante_address",
)  # fmt: skip


def by_rpps_number(digits: str) -> list[dict]:
    """Professionals whose RPPS number starts with these digits (the pickers)."""
    rows = Professional.objects.filter(rpps__startswith=digits).order_by("rpps")
    return _described(list(rows.values(*PROFESSIONAL_COLUMNS)[:RESULTS]), timezone.localdate())


# A place of practice as read: its own fields (from the RPPS file), then its organisation's.
_PLACE_COLUMNS = (
    "professional_id", "site_name", "address", "postcode", "phone", "commune__name",
    "organization__name", "organization__address", "organization__postcode",
    "organization__phone", "organization__commune__name",
)  # fmt: skip


def _places(professional_ids: list[int], today: datetime.date) -> dict[int, list[dict]]:
    """The current places of practice of these professionals, in one query (plain
    columns: the place's own address and phone, else its organisation's)."""
    places: dict[int, list[dict]] = {pk: [] for pk in professional_ids}
    rows = (
        PractitionerRole.objects.filter(in_effect_on(today), professional_id__in=professional_ids)
        .order_by("start", "pk")
        .values_list(*_PLACE_COLUMNS)
    )
    for pk, site, address, postcode, phone, commune, *organization in rows:
        o_name, o_address, o_postcode, o_phone, o_commune = organization
        places[pk].append(
            {
                "site": o_name or site,
                "address": address or o_address or "",
                "postcode": postcode or o_postcode or "",
                "commune": commune or o_commune or "",
                "phone": phone or o_phone or "",
            }
        )
    return places


# An id put in a reversed URL, then replaced by each row's (one reverse() per page).
_STAND_IN = 900000001


def _described(professionals: list[dict], today: datetime.date) -> list[dict]:
    """Each result's places, and its profession and places as text, written once per page
    (a page of 30 professionals otherwise spends most of its time in the template)."""
    places = _places([professional["pk"] for professional in professionals], today)
    professions = dict(Professional.Profession.choices)
    phone = gettext("Tél.")
    page = reverse("professionals:professional", args=[_STAND_IN])
    for professional in professionals:
        professional.setdefault("distance", None)
        professional["url"] = page.replace(str(_STAND_IN), str(professional["pk"]))
        professional["profession_label"] = professions.get(professional["profession"], "")
        professional["places"] = places[professional["pk"]]
        professional["place_lines"] = [
            _place_line(place, phone) for place in professional["places"]
        ]
    return professionals


def _place_line(place: dict, phone_label: str) -> str:
    """Site · address · postcode commune · phone, the parts that are known."""
    town = " ".join(filter(None, [place["postcode"], place["commune"]]))
    phone = f"{phone_label} {place['phone']}" if place["phone"] else ""
    return " · ".join(filter(None, [place["site"], place["address"], town, phone]))


def _nearest_place(commune: Commune, today: datetime.date) -> Subquery:
    """The distance from the commune to the professional's nearest current place of
    practice (the organisation's position, else the commune of the place)."""
    place = PractitionerRole.objects.filter(in_effect_on(today), professional=OuterRef("pk"))
    place = place.annotate(
        lat=Coalesce(
            "organization__latitude", "commune__latitude", "organization__commune__latitude"
        ),
        lon=Coalesce(
            "organization__longitude", "commune__longitude", "organization__commune__longitude"
        ),
    )
    nearest = (
        place.annotate(d=distance_km_from(commune.latitude, commune.longitude, "lat", "lon"))
        .order_by()
        .values("professional")
        .annotate(nearest=Min("d"))
        .values("nearest")
    )
    return Subquery(nearest, output_field=FloatField())


def search_organizations(query: DirectoryQuery) -> list[Organization]:
    rows = _by_name(
        Organization.objects.filter(closed_on__isnull=True), query, ORGANIZATION_SEARCH_NAME
    )
    if query.category:
        rows = rows.filter(kind=query.category)
    if query.name:
        rows = rows.annotate(score=name_match(query.name, "search_name"))
    if query.commune is not None:
        rows = rows.filter(commune__in=_near(query).values("pk"))
        rows = rows.annotate(distance=distance_to_organization(query.commune, ""))
    rows = rows.select_related("commune")
    return list(rows.order_by(*_ordering(query, "name"))[:RESULTS])


def distance_to_organization(commune: Commune, prefix: str):
    """The distance from the commune to an organisation: its own position (FINESS), else
    its commune's centre."""
    return distance_km_from(
        commune.latitude,
        commune.longitude,
        Coalesce(f"{prefix}latitude", f"{prefix}commune__latitude"),
        Coalesce(f"{prefix}longitude", f"{prefix}commune__longitude"),
    )


def search_services(query: DirectoryQuery) -> list[SupportService]:
    rows = _by_name(SupportService.objects.all(), query, SERVICE_SEARCH_NAME)
    if query.category:
        rows = rows.filter(category=query.category)
    if query.name:
        rows = rows.annotate(score=name_match(query.name, "search_name"))
    if query.commune is not None:
        # A service is near when it covers the commune (or one within the radius).
        covered = SupportService.communes.through.objects.filter(
            commune__in=_near(query).values("pk")
        )
        rows = rows.filter(pk__in=covered.values("supportservice_id"))
        rows = rows.annotate(distance=distance_to_organization(query.commune, "organization__"))
    rows = rows.select_related("organization", "organization__commune")
    return list(rows.order_by(*_ordering(query, "name"))[:RESULTS])


def search(query: DirectoryQuery, today: datetime.date) -> list:
    if query.is_empty:
        return []
    if query.kind == Kind.ORGANIZATION:
        return search_organizations(query)
    if query.kind == Kind.SERVICE:
        return search_services(query)
    return search_professionals(query, today)
