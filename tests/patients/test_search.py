"""Patient search and "my patients" lists, through HTTP."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.models import CareTeamMember, Patient
from tests.conftest import valid_nir
from tsn.models import AuditEvent

SEARCH = reverse("patients:search")


def found(response) -> list[Patient]:
    assert response.status_code == 200
    return response.context["patients"]


@pytest.mark.parametrize(
    "persona", ["team_member", "coordinator_following", "read_only_member", "break_glass_active"]
)
def test_search_lists_the_patient_to_those_who_see_it(client, world, persona):
    client.force_login(world.users[persona])
    assert world.patient in found(client.get(SEARCH))
    assert world.other_patient not in found(client.get(SEARCH))


@pytest.mark.parametrize(
    "persona",
    ["outsider", "ended_member", "objected_professional", "coordinator_not_following"],
)
def test_search_never_returns_a_patient_one_may_not_see(client, world, persona):
    client.force_login(world.users[persona])
    patient = world.patient
    for query in (
        {},
        {"nom": patient.birth_last_name},
        {"naissance": patient.birth_date.strftime("%d/%m/%Y")},
    ):
        assert patient not in found(client.get(SEARCH, query))


@pytest.mark.parametrize("persona", ["ars_analyst", "the_patient", "administrator"])
def test_search_is_404_for_non_clinical_users(client, world, persona):
    client.force_login(world.users[persona])
    assert client.get(SEARCH).status_code == 404


def test_one_audit_event_per_list(client, world):
    gp = world.users["team_member"]
    client.force_login(gp)
    client.get(SEARCH, {"nom": "dupont"})
    event = AuditEvent.objects.get(actor=gp, object_type="patient_list")
    assert (event.patient_id, event.action) == (None, AuditEvent.Action.READ)


@pytest.fixture
def gp_with_patients(make_professional, make_patient):
    gp = make_professional()

    def follow(**fields) -> Patient:
        patient = make_patient(**fields)
        CareTeamMember.objects.create(patient=patient, professional=gp, role="gp")
        return patient

    return gp, follow


def test_search_by_name_ignores_accents_and_case(client, gp_with_patients):
    gp, follow = gp_with_patients
    helene = follow(birth_last_name="LEFÈVRE", first_names="Hélène")
    married = follow(birth_last_name="MARTIN", used_last_name="Béranger", first_names="Anne")
    follow(birth_last_name="DURAND", first_names="Paul")
    client.force_login(gp.user)
    assert found(client.get(SEARCH, {"nom": "lefevre"})) == [helene]
    assert found(client.get(SEARCH, {"nom": "helene lef"})) == [helene]
    assert found(client.get(SEARCH, {"nom": "BERANGER"})) == [married]


def test_search_by_birth_date_and_ins(client, gp_with_patients):
    gp, follow = gp_with_patients
    nir = valid_nir("1450875123456")
    born = follow(birth_date=datetime.date(1950, 3, 14), nir=nir, identity_status="qualified")
    follow(birth_date=datetime.date(1951, 3, 14))
    client.force_login(gp.user)
    assert found(client.get(SEARCH, {"naissance": "14/03/1950"})) == [born]
    assert found(client.get(SEARCH, {"ins": f"{nir[:7]} {nir[7:]}"})) == [born]
    assert found(client.get(SEARCH, {"ins": valid_nir("1450875123457")})) == []
    response = client.get(SEARCH, {"naissance": "1950-03-14"})
    assert response.context["form"].errors["naissance"]


def test_a_nir_of_an_invisible_patient_finds_nothing(client, world, make_professional):
    world.patient.nir = valid_nir("2450875123456")
    world.patient.save(update_fields=["nir"])
    client.force_login(make_professional().user)
    assert found(client.get(SEARCH, {"ins": world.patient.nir})) == []


def test_my_patients_filters(client, gp_with_patients, make_patient):
    gp, follow = gp_with_patients
    mine_as_gp = follow(gp=gp, identity_status="validated")
    in_team = follow()
    ended = make_patient(gp=gp)  # GP on file but no longer in the team: not visible
    CareTeamMember.objects.create(
        patient=ended,
        professional=gp,
        role="gp",
        start=datetime.date(2020, 1, 1),
        end=datetime.date(2020, 12, 31),
    )
    client.force_login(gp.user)
    assert found(client.get(SEARCH, {"parmi": "medecin_traitant"})) == [mine_as_gp]
    assert set(found(client.get(SEARCH, {"parmi": "equipe"}))) == {mine_as_gp, in_team}
    assert found(client.get(SEARCH, {"identite": "validated"})) == [mine_as_gp]


def test_merged_records_disappear(client, gp_with_patients):
    gp, follow = gp_with_patients
    kept = follow(birth_last_name="ROBERT")
    merged = follow(birth_last_name="ROBERT")
    merged.merged_into = kept
    merged.save(update_fields=["merged_into"])
    client.force_login(gp.user)
    assert found(client.get(SEARCH, {"nom": "robert"})) == [kept]


def test_keyset_pages_cover_every_patient_once(client, gp_with_patients, settings):
    gp, follow = gp_with_patients
    patients = [follow(birth_last_name=f"NOM{n % 7}") for n in range(120)]
    client.force_login(gp.user)
    seen = []
    response = client.get(SEARCH)
    while True:
        seen += found(response)
        if not response.context["next_query"]:
            break
        response = client.get(f"{SEARCH}?{response.context['next_query']}")
    assert len(seen) == 120
    assert set(seen) == set(patients)
    assert [p.birth_last_name for p in seen] == sorted(p.birth_last_name for p in seen)


def test_list_queries_do_not_grow_with_rows(client, gp_with_patients, make_professional):
    gp, follow = gp_with_patients
    follow(gp=make_professional())
    client.force_login(gp.user)
    client.get(SEARCH)
    with CaptureQueriesContext(connection) as few:
        client.get(SEARCH)
    for _n in range(20):
        follow(gp=make_professional())
    with CaptureQueriesContext(connection) as many:
        assert len(found(client.get(SEARCH))) == 21
    assert len(many) == len(few)
    assert not any("COUNT(" in query["sql"].upper() for query in many.captured_queries)
