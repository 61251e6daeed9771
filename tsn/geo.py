"""Distances on the ground between points given in WGS84 degrees (communes' centres,
establishments' positions): the haversine formula, in SQL for querysets and in Python.

A commune's centre is precise enough for "near the patient's home": the orientation
tool and the directory sort by these distances and filter by a radius.
"""

import math

from django.db.models import Case, Expression, F, FloatField, Value, When
from django.db.models.functions import ASin, Cos, Least, Power, Radians, Sin, Sqrt
from django.db.models.lookups import IsNull

EARTH_RADIUS_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points, in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def distance_km_from(
    latitude: float, longitude: float, lat_field: str | Expression, lon_field: str | Expression
) -> Expression:
    """A queryset expression: the distance from a point to the row's position (two field
    names, or expressions), in kilometres (NULL when the row has no position)."""
    lat = F(lat_field) if isinstance(lat_field, str) else lat_field
    lon = F(lon_field) if isinstance(lon_field, str) else lon_field
    here = Value(math.radians(latitude), output_field=FloatField())
    there = Radians(lat)
    half_dphi = (there - here) / 2
    half_dlambda = (Radians(lon) - Value(math.radians(longitude))) / 2
    a = Power(Sin(half_dphi), 2) + Cos(here) * Cos(there) * Power(Sin(half_dlambda), 2)
    # (Rounding can push the term just above 1, where asin is undefined. LEAST ignores a
    # NULL argument, hence the explicit test for a missing position.)
    distance = Value(2 * EARTH_RADIUS_KM) * ASin(Sqrt(Least(a, Value(1.0))))
    has_position = IsNull(lat, False) & IsNull(lon, False)
    return Case(When(has_position, then=distance), default=None, output_field=FloatField())
