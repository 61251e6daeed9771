"""The directory in the REST API: the /annuaire/ searches and one entry of each
(professionals/api.py, professionals/serializers.py)."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse

from professionals.models import Organization, PractitionerRole, Professional, SupportService
from tsn.models import ApiToken, AuditEvent

NURSE = Professional.Profession.NURSE


@pytest.fixture
def api(client):
    """`api(user)`: the test client, authenticated as `user` with a personal token."""

    def as_user(user):
        _token, key = ApiToken.issue(user=user, name="test")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        return client

    return as_user


@pytest.fixture
def reader(api, make_user):
    """Any signed-in person reads the directory: here, a coordinator without a record."""
    return api(make_user())


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    (error,) = response.json()["errors"]
    assert error["message_fr"] and error["message_en"]
    return error


def _search(client, kind: str, **params) -> list[dict]:
    response = client.get(reverse(f"api:directory_{kind}"), params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _names(results: list[dict]) -> list[str]:
    return [f"{row['last_name']} {row['first_name']}" for row in results]


# --- Professionals -------------------------------------------------------------------------


def test_a_name_is_found_despite_accents_and_typos_with_the_places(reader, places, practising):
    found = practising(places["villeurbanne"], last_name="Dupont-Sénéchal", first_name="Marie")
    practising(places["lyon"], last_name="Garnier", first_name="Paul")

    for typed in ("dupont-senechal", "DUPOND SENECHAL", "Dupomt"):
        assert _names(_search(reader, "professionals", q=typed)) == ["Dupont-Sénéchal Marie"]
    (row,) = _search(reader, "professionals", q="senechal")
    assert row["id"] == found.pk and row["rpps"] == found.rpps
    assert row["distance_km"] is None
    assert row["places"] == [
        {
            "site": "Cabinet",
            "address": "1 rue de la République",
            "postcode": "69100",
            "commune": "Villeurbanne",
            "phone": "0478000000",
        }
    ]
    assert _search(reader, "professionals", q="Lefebvre") == []


def test_near_a_commune_the_nearest_first_within_the_radius(reader, places, practising):
    practising(places["vienne"], last_name="Lointaine")
    practising(places["villeurbanne"], last_name="Voisine")
    practising(places["lyon"], last_name="Ici")
    practising(places["lyon"], profession=Professional.Profession.PHARMACIST, last_name="Officine")

    in_lyon = _search(reader, "professionals", commune="Lyon", profession=NURSE)
    near = _search(reader, "professionals", commune="lyon", radius=10, profession=NURSE)
    far = _search(reader, "professionals", commune="69123", radius=50, profession=NURSE)

    assert _names(in_lyon) == ["Ici Claire"]
    assert _names(near) == ["Ici Claire", "Voisine Claire"]
    assert _names(far) == ["Ici Claire", "Voisine Claire", "Lointaine Claire"]
    distances = [row["distance_km"] for row in far]
    assert distances[0] == pytest.approx(0, abs=0.01)
    assert distances == sorted(distances) and 20 < distances[2] < 35


def test_profession_and_new_patients_filters(reader, places, practising):
    practising(places["lyon"], last_name="Ouverte")
    practising(places["lyon"], last_name="Complète", accepts_new_patients=False)

    everyone = _search(reader, "professionals", commune="Lyon", profession=NURSE)
    accepting = _search(reader, "professionals", commune="Lyon", profession=NURSE, accepting="true")

    assert sorted(_names(everyone)) == ["Complète Claire", "Ouverte Claire"]
    assert _names(accepting) == ["Ouverte Claire"]


@pytest.mark.parametrize(
    ("params", "field", "code", "translated"),
    [
        ({}, None, "no_criteria", False),
        ({"q": "  "}, None, "no_criteria", False),
        ({"commune": "Atlantide"}, "commune", "commune", True),
        ({"q": "x", "radius": 10}, "radius", "radius_without_commune", False),
        ({"commune": "Lyon", "radius": 1000}, "radius", "max_value", True),
        ({"commune": "Lyon", "radius": "loin"}, "radius", "invalid", True),
        ({"profession": "astronaute"}, "profession", "invalid_choice", True),
        ({"q": "x" * 101}, "q", "max_length", True),
    ],
)
def test_bad_search_parameters_are_400_in_both_languages(
    reader, places, params, field, code, translated
):
    error = _error(reader.get(reverse("api:directory_professionals"), params), 400)

    assert (error["field"], error["code"]) == (field, code)
    if translated:
        assert error["message_fr"] != error["message_en"]


def test_a_search_costs_the_same_queries_for_2_or_12_results(
    reader, places, practising, django_assert_max_num_queries
):
    for n in range(2):
        practising(places["lyon"], last_name=f"Petit{n}")
    with django_assert_max_num_queries(5):
        assert len(_search(reader, "professionals", commune="Lyon", radius=5)) == 2
    for n in range(10):
        practising(places["villeurbanne"], last_name=f"Grand{n}")
    with django_assert_max_num_queries(5):
        assert len(_search(reader, "professionals", commune="Lyon", radius=5)) == 12


# --- Organisations and services -------------------------------------------------------------


def test_organisations_by_name_kind_and_commune_closed_ones_left_out(
    reader, places, django_assert_max_num_queries
):
    open_one = Organization.objects.create(
        kind=Organization.Kind.PHARMACY, name="Pharmacie du Parc", commune=places["villeurbanne"]
    )
    Organization.objects.create(
        kind=Organization.Kind.PHARMACY,
        name="Pharmacie du Parc (ancienne)",
        commune=places["lyon"],
        closed_on=datetime.date(2024, 1, 1),
    )
    Organization.objects.create(
        kind=Organization.Kind.EHPAD, name="EHPAD du Parc", commune=places["vienne"]
    )

    with django_assert_max_num_queries(5):
        by_name = _search(reader, "organizations", q="parc", category="pharmacy")
    near = _search(reader, "organizations", commune="Lyon", radius=10)

    assert [row["id"] for row in by_name] == [open_one.pk]
    assert by_name[0]["commune"] == {"insee_code": "69266", "name": "Villeurbanne"}
    assert by_name[0]["distance_km"] is None
    assert [row["name"] for row in near] == ["Pharmacie du Parc"]
    assert 0 < near[0]["distance_km"] < 10
    # A services' category is not an organisation's kind.
    assert _error(reader.get(reverse("api:directory_organizations"), {"category": "meals"}), 400)


def test_services_by_category_and_the_communes_they_cover(
    reader, places, organization, django_assert_max_num_queries
):
    covering = SupportService.objects.create(
        organization=organization, name="Portage Est", category=SupportService.Category.MEALS
    )
    covering.communes.add(places["villeurbanne"])
    SupportService.objects.create(
        organization=organization, name="Portage Sud", category=SupportService.Category.MEALS
    ).communes.add(places["vienne"])
    SupportService.objects.create(
        organization=organization, name="Aide Est", category=SupportService.Category.HOME_HELP
    ).communes.add(places["villeurbanne"])

    with django_assert_max_num_queries(5):
        meals = _search(reader, "services", category="meals")
    covering_villeurbanne = _search(reader, "services", commune="Villeurbanne", category="meals")

    assert sorted(row["name"] for row in meals) == ["Portage Est", "Portage Sud"]
    assert [row["id"] for row in covering_villeurbanne] == [covering.pk]
    assert covering_villeurbanne[0]["organization"]["name"] == "Cabinet des Lilas"
    bad = _error(reader.get(reverse("api:directory_services"), {"category": "pharmacy"}), 400)
    assert bad["message_fr"] != bad["message_en"]


# --- Entries -------------------------------------------------------------------------------


def test_entries_give_places_services_and_coverage(
    reader, places, practising, organization, django_assert_max_num_queries
):
    nurse = practising(places["lyon"], last_name="Roux")
    PractitionerRole.objects.create(
        professional=nurse,
        organization=organization,
        start=datetime.date(2010, 1, 1),
        end=datetime.date(2015, 1, 1),
    )
    service = SupportService.objects.create(
        organization=organization, name="Soins à domicile", category="home_nursing"
    )
    service.members.add(nurse)
    service.communes.add(places["lyon"], places["villeurbanne"])

    with django_assert_max_num_queries(6):
        professional = reader.get(reverse("api:directory_professional", args=[nurse.pk]))
    with django_assert_max_num_queries(6):
        org = reader.get(reverse("api:directory_organization", args=[organization.pk]))
    with django_assert_max_num_queries(6):
        entry = reader.get(reverse("api:directory_service", args=[service.pk]))

    assert professional.status_code == 200
    assert [role["site_name"] for role in professional.json()["roles"]] == ["Cabinet"]
    assert [s["name"] for s in professional.json()["support_services"]] == ["Soins à domicile"]
    assert org.status_code == 200
    assert [s["id"] for s in org.json()["support_services"]] == [service.pk]
    assert entry.status_code == 200
    assert [c["name"] for c in entry.json()["communes"]] == ["Lyon", "Villeurbanne"]
    for name in ("directory_professional", "directory_organization", "directory_service"):
        assert _error(reader.get(reverse(f"api:{name}", args=[999_999_999])), 404)


# --- Who reads it ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["the_patient", "ars_analyst", "outsider"])
def test_any_signed_in_person_reads_the_directory_and_nothing_is_audited(
    api, world, places, practising, persona
):
    practising(places["lyon"], last_name="Garnier")
    before = AuditEvent.objects.count()

    results = _search(api(world.users[persona]), "professionals", q="garnier")

    assert _names(results) == ["Garnier Claire"]
    assert AuditEvent.objects.count() == before


def test_anonymous_requests_are_401(client, places):
    error = _error(client.get(reverse("api:directory_professionals"), {"q": "x"}), 401)
    assert error["code"] == "not_authenticated"


def test_searches_are_throttled(reader, places, settings):
    settings.TSN_API_THROTTLE_RATES = {**settings.TSN_API_THROTTLE_RATES, "search": "2/min"}
    cache.clear()
    try:
        url = reverse("api:directory_services")
        answers = [reader.get(url, {"q": "portage"}).status_code for _ in range(3)]
        throttled = reader.get(reverse("api:directory_organizations"), {"q": "x"})
        entry = reader.get(reverse("api:directory_service", args=[1]))
    finally:
        cache.clear()

    assert answers == [200, 200, 429]
    assert _error(throttled, 429)["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert entry.status_code == 404  # entries are not searches: not throttled
