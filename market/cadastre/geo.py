"""Formation outlines: GeoJSON polygons checked against Kazakhstan, and their area."""

from __future__ import annotations

import json
import math
from itertools import pairwise
from numbers import Real

from flask_babel import lazy_gettext as _l

from market.core.errors import DomainError

# Kazakhstan's rough bounding box (the same as for points of sites and formations).
LON_MIN, LON_MAX = 46.0, 88.0
LAT_MIN, LAT_MAX = 40.0, 56.0
MAX_POINTS = 5000
MAX_TEXT = 1_000_000  # characters of pasted GeoJSON: 5000 points need far fewer
EARTH_RADIUS_M = 6_378_137.0  # WGS 84 equatorial radius
DIGITS = 7  # ~1 cm: more decimals in coordinates are noise


class OutlineError(DomainError):
    """The outline is not an acceptable polygon; shown next to the outline field."""

    field = "outline"


def in_kazakhstan(lat: float, lon: float) -> bool:
    return LAT_MIN <= lat <= LAT_MAX and LON_MIN <= lon <= LON_MAX


def _number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _polygon_of(value):
    """The Polygon geometry inside a Polygon, a Feature or a one-feature FeatureCollection."""
    if not isinstance(value, dict):
        raise OutlineError(_l("Контур должен быть объектом GeoJSON типа Polygon."))
    kind = value.get("type")
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise OutlineError(_l("В контуре должен быть ровно один полигон."))
        value = features[0]
        kind = value.get("type") if isinstance(value, dict) else None
    if kind == "Feature":
        value = value.get("geometry")
        kind = value.get("type") if isinstance(value, dict) else None
    if kind == "MultiPolygon":
        raise OutlineError(_l("Контур должен быть одним полигоном (Polygon), а не MultiPolygon."))
    if kind != "Polygon":
        raise OutlineError(_l("Контур должен быть объектом GeoJSON типа Polygon "
                              "(или Feature с геометрией Polygon)."))
    return value


def _check_position(position, ring_no: int, point_no: int) -> list[float]:
    where = {"ring": ring_no, "n": point_no}
    if (not isinstance(position, list | tuple) or len(position) not in (2, 3)
            or not all(_number(c) for c in position)):
        raise OutlineError(_l("Контур %(ring)s, точка %(n)s: ожидается пара чисел [долгота, широта]."),
                           **where)
    lon, lat = float(position[0]), float(position[1])
    if not in_kazakhstan(lat, lon):
        if in_kazakhstan(lon, lat):
            raise OutlineError(_l("Контур %(ring)s, точка %(n)s: похоже, перепутаны широта и долгота — "
                                  "в GeoJSON сначала долгота, затем широта."), **where)
        raise OutlineError(_l("Контур %(ring)s, точка %(n)s вне территории Казахстана "
                              "(долгота 46–88, широта 40–56)."), **where)
    return [round(lon, DIGITS), round(lat, DIGITS)]


def validate_outline(value) -> dict | None:
    """A clean GeoJSON Polygon from a Polygon, a Feature or JSON text; None for nothing.

    Rings must be closed, have at least 4 positions ([lon, lat], altitude dropped) inside
    Kazakhstan; at most MAX_POINTS positions in all. Raises OutlineError (a DomainError).
    """
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) > MAX_TEXT:
            raise OutlineError(_l("Контур слишком большой: не больше %(max)s точек."), max=MAX_POINTS)
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            raise OutlineError(_l("Контур не читается как JSON: вставьте GeoJSON целиком, "
                                  "начиная с «{».")) from None
    polygon = _polygon_of(value)
    rings = polygon.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise OutlineError(_l("У полигона нет координат."))
    total = sum(len(r) for r in rings if isinstance(r, list))
    if total > MAX_POINTS:
        raise OutlineError(_l("Контур слишком большой: не больше %(max)s точек."), max=MAX_POINTS)
    clean = []
    for ring_no, ring in enumerate(rings, start=1):
        if not isinstance(ring, list):
            raise OutlineError(_l("Контур %(ring)s: ожидается список точек."), ring=ring_no)
        points = [_check_position(p, ring_no, n) for n, p in enumerate(ring, start=1)]
        if len(points) < 4:
            raise OutlineError(_l("Контур %(ring)s: нужно не меньше 4 точек (первая повторяется в конце)."),
                               ring=ring_no)
        if points[0] != points[-1]:
            raise OutlineError(_l("Контур %(ring)s не замкнут: последняя точка должна совпадать с первой."),
                               ring=ring_no)
        if len({tuple(p) for p in points}) < 3 or _ring_area_m2(points) == 0:
            raise OutlineError(_l("Контур %(ring)s вырожден: у него нет площади."), ring=ring_no)
        clean.append(points)
    return {"type": "Polygon", "coordinates": clean}


def _ring_area_m2(ring) -> float:
    """Area of a ring on the sphere (signed sum of Chamberlain & Duquette), in m²."""
    if len(ring) < 4:
        return 0.0
    total = 0.0
    for (lon1, lat1), (lon2, lat2) in pairwise(ring):
        total += math.radians(lon2 - lon1) * (2 + math.sin(math.radians(lat1)) +
                                               math.sin(math.radians(lat2)))
    return abs(total * EARTH_RADIUS_M * EARTH_RADIUS_M / 2.0)


def polygon_area_ha(polygon) -> float:
    """Area of a GeoJSON Polygon (outer ring minus holes) in hectares, spherical approximation."""
    if not polygon:
        return 0.0
    rings = [[(float(p[0]), float(p[1])) for p in ring] for ring in polygon["coordinates"]]
    area = _ring_area_m2(rings[0]) - sum(_ring_area_m2(r) for r in rings[1:])
    return max(area, 0.0) / 10_000.0


def centroid(polygon) -> tuple[float, float] | None:
    """The mean of the outer ring's vertices as (lat, lon): good enough to place a marker."""
    if not polygon:
        return None
    ring = polygon["coordinates"][0][:-1]
    return (sum(p[1] for p in ring) / len(ring), sum(p[0] for p in ring) / len(ring))
