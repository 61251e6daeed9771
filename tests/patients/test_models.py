import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from patients.models import Patient
from tests.conftest import valid_nir

Status = Patient.IdentityStatus


@pytest.fixture
def qualified(make_patient) -> Patient:
    return make_patient(nir=valid_nir(), identity_status=Status.QUALIFIED)


@pytest.mark.parametrize(
    ("path", "final"),
    [
        ([Status.RETRIEVED, Status.QUALIFIED], Status.QUALIFIED),
        ([Status.VALIDATED, Status.QUALIFIED], Status.QUALIFIED),
        ([Status.VALIDATED], Status.VALIDATED),
    ],
)
def test_allowed_identity_paths(make_patient, path, final):
    patient = make_patient(nir=valid_nir())
    for status in path:
        patient.change_identity_status(status)
    patient.save(update_fields=["identity_status"])
    patient.refresh_from_db()
    assert patient.identity_status == final


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (Status.PROVISIONAL, Status.QUALIFIED),
        (Status.RETRIEVED, Status.VALIDATED),
        (Status.VALIDATED, Status.RETRIEVED),
        (Status.QUALIFIED, Status.RETRIEVED),
    ],
)
def test_impossible_identity_steps_are_refused_in_french(make_patient, start, target):
    patient = make_patient(nir=valid_nir(), identity_status=start)
    with pytest.raises(ValidationError) as excinfo:
        patient.change_identity_status(target)
    assert "Passage impossible" in str(excinfo.value)
    assert patient.identity_status == start


def test_retrieval_needs_an_ins(make_patient):
    patient = make_patient()
    with pytest.raises(ValidationError) as excinfo:
        patient.change_identity_status(Status.RETRIEVED)
    assert "matricule INS" in str(excinfo.value)
    assert patient.identity_status == Status.PROVISIONAL


@pytest.mark.parametrize(
    ("trait", "value"),
    [
        ("birth_last_name", "DURAND"),
        ("first_names", "Marie"),
        ("birth_date", datetime.date(1945, 5, 9)),
        ("sex", Patient.Sex.MALE),
        ("birth_place_insee", "69124"),
        ("nir", valid_nir("2850569123046")),
    ],
)
def test_changing_a_strict_trait_drops_to_provisional(qualified, trait, value):
    changed = qualified.change_strict_traits(**{trait: value})
    assert changed == [trait]
    assert qualified.identity_status == Status.PROVISIONAL


def test_setting_the_same_traits_keeps_the_status(qualified):
    changed = qualified.change_strict_traits(
        birth_last_name=qualified.birth_last_name, birth_date=qualified.birth_date
    )
    assert changed == []
    assert qualified.identity_status == Status.QUALIFIED


def test_used_names_are_not_strict_traits(qualified):
    with pytest.raises(ValueError, match="used_last_name"):
        qualified.change_strict_traits(used_last_name="MARTIN")


def test_ins_is_shown_only_when_qualified(make_patient):
    nir = valid_nir()
    patient = make_patient(nir=nir, identity_status=Status.RETRIEVED)
    assert patient.ins == ""
    patient.change_identity_status(Status.QUALIFIED)
    assert patient.ins == nir


def test_database_refuses_a_qualified_identity_without_nir(make_patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_patient(identity_status=Status.QUALIFIED)


def test_invalid_nir_key_gets_a_french_message_and_nothing_is_saved(commune):
    patient = Patient(
        birth_last_name="DUPONT",
        first_names="Marie",
        birth_date=datetime.date(1945, 5, 8),
        sex=Patient.Sex.FEMALE,
        commune=commune,
        nir="285056912304500",
    )
    with pytest.raises(ValidationError) as excinfo:
        patient.full_clean()
    assert "NIR invalide" in str(excinfo.value.message_dict["nir"])
    assert not Patient.objects.exists()


def test_age(make_patient):
    patient = make_patient(birth_date=datetime.date(1945, 5, 8))
    assert patient.age(on=datetime.date(2026, 5, 7)) == 80
    assert patient.age(on=datetime.date(2026, 5, 8)) == 81
