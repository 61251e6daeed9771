"""Distances between points: the Python and SQL forms agree, and a missing position gives
no distance rather than a wrong one."""

import pytest

from professionals.models import Organization
from tsn.geo import distance_km, distance_km_from

# Lyon's and Paris's town halls, about 392 km apart as the crow flies.
LYON = (45.7676, 4.8344)
PARIS = (48.8566, 2.3522)


def test_the_distance_between_lyon_and_paris_is_about_392_km():
    assert distance_km(*LYON, *PARIS) == pytest.approx(392, abs=2)
    assert distance_km(*LYON, *LYON) == 0


def test_sql_and_python_distances_agree_and_a_missing_position_has_no_distance(commune):
    in_paris = Organization.objects.create(
        kind=Organization.Kind.HOSPITAL,
        name="Hôtel de ville",
        commune=commune,
        latitude=PARIS[0],
        longitude=PARIS[1],
    )
    no_latitude = Organization.objects.create(
        kind=Organization.Kind.HOSPITAL, name="Sans latitude", commune=commune, longitude=2.0
    )
    unplaced = Organization.objects.create(
        kind=Organization.Kind.HOSPITAL, name="Sans position", commune=commune
    )

    distances = dict(
        Organization.objects.annotate(
            d=distance_km_from(*LYON, "latitude", "longitude")
        ).values_list("pk", "d")
    )

    assert distances[in_paris.pk] == pytest.approx(distance_km(*LYON, *PARIS), rel=1e-9)
    assert distances[no_latitude.pk] is None
    assert distances[unplaced.pk] is None
