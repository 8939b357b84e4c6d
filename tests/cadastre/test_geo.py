"""Outline validation and area: GeoJSON polygons inside Kazakhstan."""

from __future__ import annotations

import json
import math

import pytest

from market.cadastre.geo import MAX_POINTS, OutlineError, polygon_area_ha, validate_outline
from market.core.errors import DomainError
from tests.cadastre.conftest import OUTLINE


def _ring(points):
    return {"type": "Polygon", "coordinates": [points]}


def test_good_polygon_is_returned_clean():
    assert validate_outline(OUTLINE) == OUTLINE


def test_feature_and_json_string_are_accepted():
    feature = {"type": "Feature", "properties": {"name": "x"}, "geometry": OUTLINE}
    assert validate_outline(feature) == OUTLINE
    assert validate_outline(json.dumps(feature)) == OUTLINE
    assert validate_outline("  " + json.dumps(OUTLINE) + "\n") == OUTLINE
    # geojson.io exports a FeatureCollection of one feature
    assert validate_outline({"type": "FeatureCollection", "features": [feature]}) == OUTLINE


def test_altitude_is_dropped_and_noise_digits_rounded():
    ring = [[74.95, 46.86, 350], [74.99, 46.86, 351], [74.99, 46.84, 352], [74.95, 46.84, 350],
            [74.95, 46.86, 350]]
    ring[1][0] = 74.990000000001
    ring = [[p[0], p[1], p[2]] for p in ring]
    assert validate_outline(_ring(ring)) == OUTLINE


def test_nothing_is_none():
    assert validate_outline(None) is None
    assert validate_outline("") is None
    assert validate_outline("   \n") is None


def test_hole_is_allowed():
    hole = [[74.96, 46.855], [74.97, 46.855], [74.97, 46.85], [74.96, 46.85], [74.96, 46.855]]
    polygon = {"type": "Polygon", "coordinates": [OUTLINE["coordinates"][0], hole]}
    assert validate_outline(polygon) == polygon
    assert polygon_area_ha(polygon) < polygon_area_ha(OUTLINE)


@pytest.mark.parametrize(("value", "words"), [
    (_ring([[74.95, 46.86], [74.99, 46.86], [74.99, 46.84], [74.95, 46.84]]), "не замкнут"),
    (_ring([[74.95, 46.86], [74.99, 46.86], [74.95, 46.86]]), "не меньше 4"),
    (_ring([[10.0, 46.86], [74.99, 46.86], [74.99, 46.84], [10.0, 46.86]]), "вне территории"),
    (_ring([[46.86, 74.95], [46.86, 74.99], [46.84, 74.99], [46.86, 74.95]]), "перепутаны"),
    (_ring([[74.95, 46.86], [74.96, 46.86], [74.97, 46.86], [74.95, 46.86]]), "вырожден"),
    (_ring([["74.95", 46.86], [74.99, 46.86], [74.99, 46.84], ["74.95", 46.86]]), "пара чисел"),
    (_ring([[True, 46.86], [74.99, 46.86], [74.99, 46.84], [True, 46.86]]), "пара чисел"),
    (_ring([[74.95], [74.99, 46.86], [74.99, 46.84], [74.95]]), "пара чисел"),
    ("{not json", "JSON"),
    ("Балхаш, шлакоотвал", "JSON"),
    ('{"type": "Polygon", "coordinates": [[[NaN, 46.86], [74.99, 46.86], [74.99, 46.84], '
     '[NaN, 46.86]]]}', "пара чисел"),
    ("[" * 100_000 + "]" * 100_000, "JSON"),
    ({"type": "Point", "coordinates": [74.95, 46.86]}, "Polygon"),
    ({"type": "MultiPolygon", "coordinates": [OUTLINE["coordinates"]]}, "MultiPolygon"),
    ({"type": "Feature", "geometry": None}, "Polygon"),
    ({"type": "FeatureCollection", "features": []}, "ровно один"),
    ({"type": "Polygon", "coordinates": []}, "нет координат"),
    ({"type": "Polygon", "coordinates": "x"}, "нет координат"),
    ({"type": "Polygon", "coordinates": [5]}, "список точек"),
    ([1, 2, 3], "Polygon"),
    (42, "Polygon"),
])
def test_bad_outlines_are_refused_with_a_message(value, words):
    with pytest.raises(OutlineError) as info:
        validate_outline(value)
    assert isinstance(info.value, DomainError)
    assert info.value.field == "outline"
    assert words in str(info.value)


def test_too_many_points():
    n = MAX_POINTS  # + the closing point = MAX_POINTS + 1
    ring = [[75 + 0.01 * math.cos(2 * math.pi * i / n), 46.85 + 0.01 * math.sin(2 * math.pi * i / n)]
            for i in range(n)]
    ring.append(ring[0])
    with pytest.raises(OutlineError, match="5000"):
        validate_outline(_ring(ring))
    assert validate_outline(_ring([*ring[: n - 1], ring[0]])) is not None


def test_area_of_a_known_rectangle():
    # 0.04° of longitude × 0.02° of latitude at 46.85° N: ≈ 3.05 km × 2.22 km ≈ 677 ha
    width = 0.04 * 111_319.5 * math.cos(math.radians(46.85))
    height = 0.02 * 111_319.5
    assert polygon_area_ha(OUTLINE) == pytest.approx(width * height / 10_000, rel=0.01)


def test_area_does_not_depend_on_ring_direction():
    reverse = {"type": "Polygon", "coordinates": [list(reversed(OUTLINE["coordinates"][0]))]}
    assert polygon_area_ha(reverse) == pytest.approx(polygon_area_ha(OUTLINE))
    assert polygon_area_ha(None) == 0.0
