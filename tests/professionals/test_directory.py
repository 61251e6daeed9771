"""The directory: name search forgiving accents and typos, filters, distance from a commune,
pages per entry, the pickers' search, and the search made for a patient
(professionals/directory.py, professionals/views.py)."""

import datetime
import math
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.models import Referral
from professionals.models import Organization, Professional, SupportService
from tsn.models import AuditEvent, Commune

NURSE = Professional.Profession.NURSE
ENTRY_NAME = re.compile(r'<h3 class="h6 mb-1">\s*<a href="[^"]+">([^<]+)</a>')


def _km(a: Commune, b: Commune) -> float:
    """An equirectangular estimate, independent of the code under test (good to 0.5 %
    at these distances)."""
    dy = (b.latitude - a.latitude) * 111.2
    dx = (b.longitude - a.longitude) * 111.2 * math.cos(math.radians((a.latitude + b.latitude) / 2))
    return math.hypot(dx, dy)


@pytest.fixture
def coordinator(client, world):
    client.force_login(world.users["coordinator_following"])
    return world.users["coordinator_following"]


def _names(page: str) -> list[str]:
    return [name.strip() for name in ENTRY_NAME.findall(page)]


def _directory(client, **params) -> str:
    response = client.get(reverse("professionals:directory"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_a_name_is_found_despite_accents_case_and_a_typo(client, coordinator, places, practising):
    practising(places["villeurbanne"], last_name="Dupont-Sénéchal", first_name="Marie-Noëlle")
    practising(places["lyon"], last_name="Garnier", first_name="Paul")

    for typed in ("dupont-senechal", "DUPOND SENECHAL", "sénéchal marie", "Dupomt"):
        assert _names(_directory(client, q=typed)) == ["Dupont-Sénéchal Marie-Noëlle"], typed
    assert _names(_directory(client, q="Lefebvre")) == []


def test_near_a_commune_the_nearest_come_first_within_the_radius(
    client, coordinator, places, practising
):
    practising(places["vienne"], last_name="Lointaine")
    practising(places["villeurbanne"], last_name="Voisine")
    practising(places["lyon"], last_name="Ici")
    practising(places["villeurbanne"], profession=Professional.Profession.PHARMACIST)

    assert _names(_directory(client, commune="Lyon", profession=NURSE)) == ["Ici Claire"]
    near = _directory(client, commune="lyon", rayon=10, profession=NURSE)
    assert _names(near) == ["Ici Claire", "Voisine Claire"]
    far = _directory(client, commune="69123", rayon=50, profession=NURSE)
    assert _names(far) == ["Ici Claire", "Voisine Claire", "Lointaine Claire"]
    shown = [
        float(km.replace(",", "."))
        for km in re.findall(r'data-testid="distance">([\d,.]+) km', far)
    ]
    expected = [
        0,
        _km(places["lyon"], places["villeurbanne"]),
        _km(places["lyon"], places["vienne"]),
    ]
    assert shown == pytest.approx(expected, abs=0.15)


def test_filters_profession_and_new_patients(client, coordinator, places, practising):
    practising(places["lyon"], last_name="Ouverte")
    practising(places["lyon"], last_name="Complète", accepts_new_patients=False)
    practising(places["lyon"], profession=Professional.Profession.PHYSIOTHERAPIST, last_name="Kiné")

    assert _names(_directory(client, commune="Lyon", profession=NURSE, nouveaux="on")) == [
        "Ouverte Claire"
    ]
    assert "Kiné Claire" not in _directory(client, commune="Lyon", profession=NURSE)


def test_an_ended_place_of_practice_no_longer_places_a_professional(
    client, coordinator, places, practising
):
    moved = practising(places["lyon"], last_name="Partie")
    moved.roles.update(end=timezone.localdate())

    assert _names(_directory(client, commune="Lyon")) == []
    page = client.get(reverse("professionals:professional", args=[moved.pk])).content.decode()
    assert "Aucun lieu d'exercice en cours." in page


def test_organisations_by_name_and_kind_closed_ones_left_out(client, coordinator, places):
    Organization.objects.create(
        kind=Organization.Kind.PHARMACY, name="Pharmacie des Gratte-Ciel",
        commune=places["villeurbanne"], latitude=45.7702, longitude=4.8800,
    )  # fmt: skip
    Organization.objects.create(
        kind=Organization.Kind.PHARMACY, name="Pharmacie du Pont", commune=places["lyon"],
        closed_on=datetime.date(2026, 1, 1),
    )  # fmt: skip
    Organization.objects.create(kind=Organization.Kind.EHPAD, name="EHPAD Les Gratte-Ciel")

    page = _directory(client, type="organization", q="grate ciel", categorie="pharmacy")
    assert _names(page) == ["Pharmacie des Gratte-Ciel"]
    assert _names(_directory(client, type="organization", q="pharmacie")) == [
        "Pharmacie des Gratte-Ciel"
    ]


def test_services_near_a_commune_are_those_covering_it(client, coordinator, places, organization):
    covering = SupportService.objects.create(
        organization=organization, name="SSIAD du Rhône", category="home_nursing", waiting_days=12
    )
    covering.communes.add(places["villeurbanne"])
    SupportService.objects.create(
        organization=organization, name="SSIAD de l'Isère", category="home_nursing"
    ).communes.add(places["vienne"])

    page = _directory(client, type="service", commune="Villeurbanne", categorie="home_nursing")
    assert _names(page) == ["SSIAD du Rhône"]
    assert "Délai d'attente : 12 jours" in page


def test_for_a_patient_the_search_starts_at_home_and_offers_the_actions(
    client, world, coordinator, places, practising, organization
):
    patient = world.patient
    patient.commune = places["villeurbanne"]
    patient.save()
    nurse = practising(places["villeurbanne"], last_name="Dupont-Sénéchal")
    service = SupportService.objects.create(
        organization=organization, name="SSIAD de Villeurbanne", category="home_nursing"
    )
    service.communes.add(places["villeurbanne"])

    page = _directory(client, q="dupond senechal", patient=patient.pk)
    assert _names(page) == ["Dupont-Sénéchal Claire"]
    assert 'value="69266"' in page  # the patient's commune, pre-filled
    assert AuditEvent.objects.filter(
        object_type="directory_search", patient_id=patient.pk, actor=coordinator
    ).exists()
    response = client.post(
        reverse("patients:care_team_add", args=[patient.pk]),
        {"member-professional": nurse.pk, "member-role": re.search(
            r'name="member-role" value="(\w+)"', page).group(1)},
    )  # fmt: skip
    assert response.status_code == 302
    assert patient.care_team.get(professional=nurse).role == "nurse"

    services = _directory(client, type="service", q="ssiad vilerbane", patient=patient.pk)
    reason = re.search(r'name="reason"[^>]*>([^<]+)</textarea>', services).group(1)
    response = client.post(
        reverse("pathways:referral_send", args=[patient.pk]),
        {"service": service.pk, "reason": reason},
    )
    assert response.status_code == 302
    referral = Referral.objects.get(patient=patient, service=service)
    assert referral.reason == "Demande d'intervention : Soins infirmiers à domicile."


def test_a_patient_outside_ones_reach_is_not_found(client, world, make_patient):
    client.force_login(world.users["outsider"])
    response = client.get(reverse("professionals:directory"), {"patient": world.patient.pk})
    assert response.status_code == 404


@pytest.mark.parametrize("persona", ["ars_analyst", "the_patient"])
def test_the_directory_is_for_professionals(client, world, persona, organization):
    client.force_login(world.users[persona])
    for url in (
        reverse("professionals:directory"),
        reverse("professionals:organization", args=[organization.pk]),
    ):
        assert client.get(url, {"q": "cab"}).status_code == 404


def test_an_unknown_commune_is_said_in_french(client, coordinator):
    page = _directory(client, commune="Nulle-Part-sur-Loire")
    assert "Commune inconnue ou ambiguë" in page


def test_the_pickers_search_reads_a_profession_word_and_forgives_typos(
    client, coordinator, places, practising
):
    nurse = practising(places["lyon"], last_name="Lefèvre")
    physician = practising(
        places["lyon"], profession=Professional.Profession.PHYSICIAN, last_name="Lefèvre"
    )
    search = reverse("professionals:search")

    both = client.get(search, {"q": "lefebvre"}).content.decode()
    assert f'value="{nurse.pk}"' in both and f'value="{physician.pk}"' in both
    nurses = client.get(search, {"q": "infirmière lefevre"}).content.decode()
    assert f'value="{nurse.pk}"' in nurses and f'value="{physician.pk}"' not in nurses
    assert "Lyon" in nurses  # where they practise, to tell namesakes apart


def test_a_search_costs_the_same_queries_for_2_or_12_results(
    client, coordinator, places, practising
):
    for n in range(2):
        practising(places["villeurbanne"], last_name=f"Bernard{n}")
    with CaptureQueriesContext(connection) as few:
        _directory(client, q="bernard", commune="Lyon", rayon=20)
    for n in range(2, 12):
        practising(places["villeurbanne"], last_name=f"Bernard{n}")
    with CaptureQueriesContext(connection) as many:
        assert len(_names(_directory(client, q="bernard", commune="Lyon", rayon=20))) == 12
    assert len(many) == len(few)


def test_entry_pages_show_places_services_and_coverage(
    client, coordinator, places, practising, organization
):
    nurse = practising(
        places["lyon"], last_name="Perrin", mssante_address="perrin@infirmier.mssante.fr"
    )
    service = SupportService.objects.create(
        organization=organization, name="Portage de repas", category="meals", capacity=40
    )
    service.communes.add(places["lyon"], places["villeurbanne"])
    service.members.add(nurse)

    page = client.get(reverse("professionals:professional", args=[nurse.pk])).content.decode()
    assert "perrin@infirmier.mssante.fr" in page and "Portage de repas" in page
    page = client.get(reverse("professionals:service", args=[service.pk])).content.decode()
    assert "Lyon, Villeurbanne" in page and "40 places" in page
    page = client.get(
        reverse("professionals:organization", args=[organization.pk])
    ).content.decode()
    assert "Portage de repas" in page
