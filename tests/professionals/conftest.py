"""Fixtures of the directory's tests (pages and API): communes with coordinates and
professionals practising in them."""

import datetime

import pytest

from professionals.models import PractitionerRole, Professional
from tsn.models import Commune

NURSE = Professional.Profession.NURSE


@pytest.fixture
def places(commune) -> dict[str, Commune]:
    """Lyon (the `commune` fixture), Villeurbanne next door, Vienne 27 km south."""
    return {
        "lyon": commune,
        "villeurbanne": Commune.objects.create(
            insee_code="69266", name="Villeurbanne", postcodes=["69100"],
            latitude=45.7719, longitude=4.8902, population=150_000,
        ),
        "vienne": Commune.objects.create(
            insee_code="38544", name="Vienne", postcodes=["38200"],
            latitude=45.5255, longitude=4.8747, population=30_000,
        ),
    }  # fmt: skip


@pytest.fixture
def practising(make_professional):
    def make(commune: Commune, profession=NURSE, **fields) -> Professional:
        professional = make_professional(profession, with_user=False, **fields)
        PractitionerRole.objects.create(
            professional=professional,
            site_name="Cabinet",
            address="1 rue de la République",
            postcode=commune.postcodes[0],
            commune=commune,
            phone="0478000000",
            start=datetime.date(2020, 1, 1),
        )
        return professional

    return make
