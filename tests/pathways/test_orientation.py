"""The orientation tool (pathways/orientation.py, pathways/views/orientation.py): the
services covering a commune for the needs chosen, nearest first, and the one-click
referral from a patient's file; through HTTP first."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pathways.models import Referral
from professionals.models import Organization, SupportService
from tsn.models import AuditEvent, Commune

# The tests place organisations due north of Lyon's centre (45.76 N, 4.84 E, the
# `commune` fixture): along a meridian the great-circle distance is R x the latitude
# difference in radians, i.e. 6371 km x pi / 180 = 111.2 km per degree.
LYON = (45.76, 4.84)
CARD = re.compile(
    r'<li class="card[^"]*" data-testid="service" data-service="(\d+)">(.*?)</li>', re.S
)
DISTANCE = re.compile(r'data-testid="distance">([\d,]+) km<')
FORM = re.compile(
    r'<form method="post" action="([^"]+)"[^>]*data-testid="refer">(.*?)</form>', re.S
)


@pytest.fixture
def make_service(commune):
    """A service covering `communes` (default: Lyon), run by its own organisation."""

    def make(name, category="home_help", *, at=None, communes=None, org_commune=None, **fields):
        latitude, longitude = at or (None, None)
        organization = Organization.objects.create(
            kind=Organization.Kind.HOME_HELP,
            name=f"Association {name}",
            commune=org_commune,
            latitude=latitude,
            longitude=longitude,
        )
        service = SupportService.objects.create(
            organization=organization, name=name, category=category, **fields
        )
        service.communes.set(communes if communes is not None else [commune])
        return service

    return make


@pytest.fixture
def professional(client, make_professional):
    """A GP with no patient: the standalone page needs none."""
    user = make_professional().user
    client.force_login(user)
    return user


def _search(client, url=None, **params):
    response = client.get(url or reverse("pathways:orientation"), params)
    assert response.status_code == 200
    return response.content.decode()


def _cards(page: str) -> list[tuple[int, str]]:
    """(service pk, card's HTML) of each result, in the page's order."""
    return [(int(pk), body) for pk, body in CARD.findall(page)]


def _distance(card: str) -> float | None:
    found = DISTANCE.search(card)
    return float(found.group(1).replace(",", ".")) if found else None


def _patient_url(world) -> str:
    return reverse("pathways:patient_orientation", args=[world.patient.pk])


# --- Matching -----------------------------------------------------------------------------


def test_only_services_of_the_chosen_needs_covering_the_commune_are_listed(
    client, professional, make_service, commune
):
    elsewhere = Commune.objects.create(
        insee_code="69259", name="Vénissieux", postcodes=["69200"], latitude=45.70, longitude=4.88
    )
    home_help = make_service("Aide Lyon", "home_help")
    meals = make_service("Repas Lyon", "meals")
    make_service("Aide Vénissieux", "home_help", communes=[elsewhere])
    make_service("Gériatrie Lyon", "geriatric_evaluation")
    make_service("Repas nulle part", "meals", communes=[])

    page = _search(client, besoin=["home_help", "meals"], commune="69123")

    assert {pk for pk, _card in _cards(page)} == {home_help.pk, meals.pk}
    assert "2 services pour Lyon (69123)" in page


def test_the_nearest_come_first_with_their_distances(client, professional, make_service):
    lat, lon = LYON
    far = make_service("Loin", at=(lat + 0.10, lon))  # 11.1 km
    near = make_service("Près", at=(lat + 0.02, lon))  # 2.2 km
    middle = make_service("Milieu", "meals", at=(lat + 0.05, lon))  # 5.6 km
    nowhere = make_service("Sans adresse")  # no position, no commune: last

    page = _search(client, besoin=["home_help", "meals"], commune="Lyon")

    cards = _cards(page)
    assert [pk for pk, _card in cards] == [near.pk, middle.pk, far.pk, nowhere.pk]
    distances = [_distance(card) for _pk, card in cards]
    assert distances[:3] == [
        pytest.approx(2.22, abs=0.5),
        pytest.approx(5.56, abs=0.5),
        pytest.approx(11.12, abs=0.5),
    ]
    assert distances[3] is None
    assert "2,2 km" in page  # French number format


def test_an_organisation_without_a_position_is_at_its_communes_centre(
    client, professional, make_service
):
    caluire = Commune.objects.create(
        insee_code="69034",
        name="Caluire-et-Cuire",
        postcodes=["69300"],
        latitude=LYON[0] + 0.04,  # 4.4 km north of Lyon's centre
        longitude=LYON[1],
    )
    placed = make_service("Placée", at=(LYON[0] + 0.06, LYON[1]))  # 6.7 km
    by_commune = make_service("Par sa commune", org_commune=caluire)

    cards = _cards(_search(client, besoin="home_help", commune="69123"))

    assert [pk for pk, _card in cards] == [by_commune.pk, placed.pk]
    assert _distance(cards[0][1]) == pytest.approx(4.45, abs=0.5)


def test_at_the_same_distance_the_shortest_known_wait_comes_first(
    client, professional, make_service
):
    here = (LYON[0] + 0.03, LYON[1])
    unknown = make_service("A sans délai connu", at=here)
    slow = make_service("B lent", at=here, waiting_days=20)
    quick = make_service("C rapide", at=here, waiting_days=3)
    also_quick = make_service("D rapide aussi", at=here, waiting_days=3)

    cards = _cards(_search(client, besoin="home_help", commune="69123"))

    assert [pk for pk, _card in cards] == [quick.pk, also_quick.pk, slow.pk, unknown.pk]


def test_a_result_shows_what_a_coordinator_needs_to_choose(client, professional, make_service):
    known = make_service(
        "SAAD Les Tilleuls",
        at=LYON,
        waiting_days=12,
        capacity=30,
        response_days=4,
        eligibility="Personnes de plus de 60 ans, GIR 1 à 4.",
    )
    Organization.objects.filter(pk=known.organization_id).update(
        address="12 rue des Tilleuls",
        postcode="69003",
        phone="04 72 00 00 00",
        mssante_address="saad.tilleuls@mssante.test",
    )
    unknown = make_service("SAAD du Parc", at=LYON)

    cards = dict(_cards(_search(client, besoin="home_help", commune="69123")))

    card = html.unescape(cards[known.pk])
    assert "Aide à domicile — Association SAAD Les Tilleuls" in card
    assert "12 rue des Tilleuls · 69003" in card
    assert "04 72 00 00 00" in card
    assert "saad.tilleuls@mssante.test" in card
    assert "Délai d'attente : 12 jours" in card
    assert "Capacité : 30 places" in card
    assert "Réponse attendue sous 4 jours" in card
    assert "Personnes de plus de 60 ans, GIR 1 à 4." in card
    assert f'href="{reverse("professionals:service", args=[known.pk])}"' in card
    other = html.unescape(cards[unknown.pk])
    assert "Délai d'attente" not in other
    assert "Capacité" not in other
    assert "Réponse attendue sous 5 jours" in other


def test_a_commune_is_found_by_name_accents_and_case_ignored(client, professional, make_service):
    venissieux = Commune.objects.create(
        insee_code="69259", name="Vénissieux", postcodes=["69200"], latitude=45.70, longitude=4.88
    )
    service = make_service("Aide Vénissieux", communes=[venissieux])

    page = _search(client, besoin="home_help", commune="VENISSIEUX")

    assert [pk for pk, _card in _cards(page)] == [service.pk]


# --- Invalid input ------------------------------------------------------------------------


def test_an_unknown_commune_or_need_is_said_in_french(client, professional, make_service):
    make_service("Aide Lyon")
    assert len(_cards(_search(client, besoin="home_help", commune="Lyon"))) == 1

    unknown_commune = html.unescape(_search(client, besoin="home_help", commune="Atlantide"))
    unknown_need = html.unescape(_search(client, besoin="teleportation", commune="Lyon"))
    nothing = html.unescape(_search(client, commune=""))

    assert "Commune inconnue : vérifiez son nom ou saisissez son code INSEE." in unknown_commune
    assert "Besoin inconnu : « teleportation »." in unknown_need
    assert "Cochez au moins un besoin." in nothing
    assert "Indiquez la commune du domicile." in nothing
    for page in (unknown_commune, unknown_need, nothing):
        assert _cards(page) == []


def test_an_ambiguous_commune_name_needs_its_insee_code(client, professional, make_service):
    homonyms = [
        Commune.objects.create(
            insee_code=code, name="Sainte-Foy", postcodes=["69110"], latitude=45.7, longitude=4.8
        )
        for code in ("69202", "71999")
    ]
    service = make_service("Aide Sainte-Foy", communes=homonyms[:1])

    ambiguous = html.unescape(_search(client, besoin="home_help", commune="sainte-foy"))
    by_code = _search(client, besoin="home_help", commune="69202")

    assert "Plusieurs communes portent ce nom : saisissez son code INSEE." in ambiguous
    assert _cards(ambiguous) == []
    assert [pk for pk, _card in _cards(by_code)] == [service.pk]


# --- From the patient's file --------------------------------------------------------------


def test_the_patient_page_starts_from_the_patients_commune_and_is_traced(
    client, world, make_service
):
    service = make_service("Aide Lyon")
    gp = world.users["team_member"]
    client.force_login(gp)
    url = _patient_url(world)

    first_visit = _search(client, url)
    search = _search(client, url, besoin="home_help")  # a shared link without the commune

    assert re.search(r'<input type="text" name="commune" value="69123"', first_visit)
    assert _cards(first_visit) == []
    assert [pk for pk, _card in _cards(search)] == [service.pk]
    traces = AuditEvent.objects.filter(
        actor=gp, patient_id=world.patient.pk, object_type="orientation"
    )
    assert list(traces.values_list("outcome", flat=True)) == ["allowed", "allowed"]


@pytest.mark.parametrize("persona", ["outsider", "ars_analyst", "the_patient"])
def test_those_who_may_not_see_the_patient_or_orient_get_404(client, world, make_service, persona):
    make_service("Aide Lyon")
    user = world.users[persona]
    client.force_login(user)

    response = client.get(_patient_url(world), {"besoin": "home_help"})

    assert response.status_code == 404
    denied = AuditEvent.objects.filter(actor=user, patient_id=world.patient.pk)
    if user.is_clinical:  # the access check ran, and says so
        assert list(denied.values_list("outcome", flat=True)) == ["denied"]
    else:  # not a clinical page for them: no look at the patient at all
        assert not denied.exists()
        assert client.get(reverse("pathways:orientation")).status_code == 404


def test_a_result_refers_the_patient_in_one_click(client, world, make_service):
    service = make_service("SAAD Les Tilleuls", response_days=4)
    make_service("Repas Lyon", "meals")
    gp = world.users["team_member"]
    client.force_login(gp)
    page = _search(client, _patient_url(world), besoin=["meals", "home_help"])
    card = dict(_cards(page))[service.pk]

    # Submit the result's form as the browser would: its action, its fields as filled in.
    action, form = FORM.search(card).groups()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    fields["reason"] = html.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", form, re.S)[1])
    response = client.post(html.unescape(action), fields, follow=True)

    assert response.redirect_chain == [
        (reverse("pathways:referrals", args=[world.patient.pk]), 302)
    ]
    referral = world.patient.referrals.get(service=service)
    assert referral.reason == "Besoins repérés : aide à domicile, portage de repas"
    assert referral.sent_by == gp.professional
    assert referral.status == Referral.Status.SENT
    assert "Demande envoyée à SAAD Les Tilleuls" in response.content.decode()

    # The same click again: the referrals page says why nothing was sent.
    again = client.post(html.unescape(action), fields)
    assert again.status_code == 400
    assert "Une demande à ce service est déjà en cours pour ce patient." in html.unescape(
        again.content.decode()
    )
    assert world.patient.referrals.filter(service=service).count() == 1


@pytest.mark.parametrize(
    ("persona", "may_refer"), [("team_member", True), ("read_only_member", False)]
)
def test_only_a_writer_sees_the_send_button(client, world, make_service, persona, may_refer):
    make_service("Aide Lyon")
    client.force_login(world.users[persona])

    page = _search(client, _patient_url(world), besoin="home_help")

    assert len(_cards(page)) == 1
    assert ("Adresser le patient" in page) is may_refer
    assert (reverse("pathways:referral_send", args=[world.patient.pk]) in page) is may_refer


def test_the_standalone_page_offers_no_referral(client, professional, make_service):
    service = make_service("Aide Lyon")

    page = _search(client, besoin="home_help", commune="69123")

    assert [pk for pk, _card in _cards(page)] == [service.pk]
    assert "Adresser le patient" not in page


def test_the_patient_file_links_to_the_orientation_for_professionals(client, world):
    url = _patient_url(world)
    client.force_login(world.users["team_member"])
    assert (
        f'href="{url}"'
        in client.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()
    )
    client.force_login(world.users["the_patient"])
    assert (
        url not in client.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()
    )


def test_the_page_costs_the_same_queries_for_2_or_10_services(
    client, world, make_service, commune, django_assert_num_queries
):
    client.force_login(world.users["team_member"])
    url = _patient_url(world)
    for n in range(2):
        make_service(f"Aide {n}", at=(LYON[0] + n / 100, LYON[1]), org_commune=commune)
    with CaptureQueriesContext(connection) as few:
        assert len(_cards(_search(client, url, besoin="home_help"))) == 2
    for n in range(2, 10):
        make_service(f"Aide {n}", at=(LYON[0] + n / 100, LYON[1]), org_commune=commune)

    with django_assert_num_queries(len(few.captured_queries)):
        assert len(_cards(_search(client, url, besoin="home_help"))) == 10


# --- The catalogue, maintained in the admin -----------------------------------------------


def test_the_results_follow_the_admins_changes_to_a_service(client, world, make_service, commune):
    villeurbanne = Commune.objects.create(
        insee_code="69266", name="Villeurbanne", postcodes=["69100"], latitude=45.77, longitude=4.88
    )
    service = make_service("Aide Lyon", at=LYON, response_days=5)
    client.force_login(world.users["administrator"])

    response = client.post(
        reverse("admin:professionals_supportservice_change", args=[service.pk]),
        {
            "organization": service.organization_id,
            "name": service.name,
            "category": service.category,
            "description": "",
            "eligibility": "Sortie d'hospitalisation de moins de 30 jours.",
            "communes": [villeurbanne.pk],
            "capacity": "",
            "waiting_days": "",
            "response_days": 5,
            "members": [],
            "on_duty": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    client.force_login(world.users["team_member"])
    assert _cards(_search(client, besoin="home_help", commune="69123")) == []
    cards = _cards(_search(client, besoin="home_help", commune="Villeurbanne"))
    assert [pk for pk, _card in cards] == [service.pk]
    assert "Sortie d&#x27;hospitalisation de moins de 30 jours." in cards[0][1]
