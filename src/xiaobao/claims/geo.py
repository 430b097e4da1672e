"""Geocoding a loss place to its district (6-digit division code).

Uses the county/district seats table the radar module ships (Fujian, from cpca): a district named in the place
text wins; otherwise coordinates map to the nearest seat when they lie within ~60 km of one. Places outside the
table's coverage stay un-geocoded (district None) and are flagged, never guessed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from xiaobao.radar.sites import geocode as _geocode_text


@dataclass(frozen=True)
class District:
    code: str
    name: str
    lat: float
    lon: float
    how: str  # text | latlon


MAX_KM = 60.0


@lru_cache(maxsize=1)
def _seats() -> list[tuple[str, str, float, float]]:
    import csv

    from xiaobao.radar.sites import CENTROIDS_CSV

    lines = [ln for ln in CENTROIDS_CSV.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    out = []
    for rec in csv.DictReader(lines):
        code = rec["adcode"][:6]
        if code.endswith("00"):
            continue  # province and prefecture rows: not districts
        out.append((code, rec["name"], float(rec["latitude"]), float(rec["longitude"])))
    return out


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def locate(place_text: str, lat: float | None = None, lon: float | None = None) -> District | None:
    place = _geocode_text(place_text or "")
    if place is not None and not place.adcode[:6].endswith("00"):
        return District(place.adcode[:6], place.name, place.lat, place.lon, "text")
    if lat is not None and lon is not None:
        best = min(_seats(), key=lambda s: _km(lat, lon, s[2], s[3]))
        if _km(lat, lon, best[2], best[3]) <= MAX_KM:
            return District(best[0], best[1], best[2], best[3], "latlon")
    if place is not None:  # only the prefecture city was named: its code, still better than nothing
        return District(place.adcode[:6], place.name, place.lat, place.lon, "text")
    return None


def district_name(code: str | None) -> str:
    if not code:
        return ""
    for c, name, _, _ in _seats():
        if c == code:
            return name
    return code
