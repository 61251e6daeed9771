"""Identity vigilance: possible duplicates and merging, for administrators only."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from patients.models import Patient, TimelineEvent
from patients.services import merge_patients
from tsn.models import AuditEvent, User

DUPLICATES = reverse("patients:duplicates")
MERGE = reverse("patients:merge")
BORN = datetime.date(1940, 2, 29)


@pytest.fixture
def admin(make_user) -> User:
    return make_user(role=User.Role.ADMINISTRATOR)


@pytest.fixture
def twins(make_patient):
    """Two records of one person, one with accents; a namesake born another day; a stranger."""
    first = make_patient(birth_last_name="LEFÈVRE", first_names="Hélène Marie", birth_date=BORN)
    second = make_patient(birth_last_name="LEFEVRE", first_names="Helene", birth_date=BORN)
    make_patient(birth_last_name="LEFEVRE", first_names="Helene", birth_date=BORN.replace(day=28))
    make_patient(birth_last_name="DURAND", first_names="Paul", birth_date=BORN, sex="M")
    return first, second


def pairs(response) -> list[tuple[int, int, bool]]:
    assert response.status_code == 200
    return [(pair.first.pk, pair.second.pk, pair.strict) for pair in response.context["pairs"]]


def test_strict_traits_duplicates_are_listed(client, admin, twins):
    client.force_login(admin)
    assert pairs(client.get(DUPLICATES)) == [(twins[0].pk, twins[1].pk, True)]
    event = AuditEvent.objects.get(actor=admin, object_type="duplicate_list")
    assert event.patient_id is None


def test_close_names_born_the_same_day_are_listed(client, admin, make_patient):
    first = make_patient(birth_last_name="DUBOIS", first_names="Jeanne", birth_date=BORN)
    second = make_patient(
        birth_last_name="DUBOIS", first_names="Jeanne", birth_date=BORN, sex=Patient.Sex.MALE
    )
    make_patient(birth_last_name="DUBOISE", first_names="Jeannine", birth_date=BORN)
    client.force_login(admin)
    found = pairs(client.get(DUPLICATES))
    assert (first.pk, second.pk, False) in found  # same names, another sex: not strict
    assert all(not strict for _a, _b, strict in found)


@pytest.mark.parametrize("role", [r for r in User.Role.values if r != User.Role.ADMINISTRATOR])
def test_other_roles_get_404(client, make_user, twins, role):
    client.force_login(make_user(role=role))
    assert client.get(DUPLICATES).status_code == 404
    query = {"a": twins[0].pk, "b": twins[1].pk}
    assert client.get(MERGE, query).status_code == 404
    response = client.post(f"{MERGE}?a={twins[0].pk}&b={twins[1].pk}", {"kept": twins[0].pk})
    assert response.status_code == 404
    assert not Patient.objects.filter(merged_into__isnull=False).exists()


def test_an_administrator_merges_two_records_with_a_reason(client, admin, twins):
    kept, merged = twins
    url = f"{MERGE}?a={kept.pk}&b={merged.pk}"
    client.force_login(admin)
    assert client.get(url).status_code == 200
    response = client.post(url, {"kept": kept.pk, "reason": "Même personne, pièce d'identité vue."})
    assert response.status_code == 302
    merged.refresh_from_db()
    assert merged.merged_into == kept
    assert (
        AuditEvent.objects.filter(
            actor=admin, object_type="patient_merge", action=AuditEvent.Action.UPDATE
        ).count()
        == 2
    )
    notes = TimelineEvent.objects.filter(source=TimelineEvent.Source.SYSTEM)
    assert {note.patient_id for note in notes} == {kept.pk, merged.pk}
    assert all(note.body == "Même personne, pièce d'identité vue." for note in notes)
    # A merged record is no longer a possible duplicate, nor mergeable again.
    assert pairs(client.get(DUPLICATES)) == []
    assert client.get(url).status_code == 404


def test_a_merge_needs_a_reason(client, admin, twins):
    client.force_login(admin)
    response = client.post(f"{MERGE}?a={twins[0].pk}&b={twins[1].pk}", {"kept": twins[1].pk})
    assert response.status_code == 400
    assert not Patient.objects.filter(merged_into__isnull=False).exists()


@pytest.mark.parametrize("query", ["", "?a=1", "?a=x&b=2", "?a=5&b=5", "?a=999999&b=999998"])
def test_bad_pairs_are_404(client, admin, query):
    client.force_login(admin)
    assert client.get(f"{MERGE}{query}").status_code == 404


def test_merge_service_refuses_twice_and_itself(admin, twins, make_patient):
    kept, merged = twins
    with pytest.raises(ValidationError):
        merge_patients(kept=kept, merged=kept, reason="erreur", actor=admin)
    merge_patients(kept=kept, merged=merged, reason="doublon", actor=admin)
    with pytest.raises(ValidationError):
        merge_patients(kept=make_patient(), merged=merged, reason="encore", actor=admin)
    with pytest.raises(ValidationError):
        merge_patients(kept=merged, merged=make_patient(), reason="encore", actor=admin)
