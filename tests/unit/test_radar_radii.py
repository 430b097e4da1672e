"""Wind radii for the map: per track point, how far the gale and storm winds reach along 16 bearings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from xiaobao.radar.radii import BEARINGS, wind_radii
from xiaobao.radar.tracks import interpolate_hourly, make_track
from xiaobao.radar.windfield import wind_at_sites


def northward_track(pressure: float = 950.0):  # type: ignore[no-untyped-def]
    t0 = datetime(2023, 7, 27, tzinfo=UTC)
    times = [t0 + timedelta(hours=6 * k) for k in range(4)]
    return interpolate_hourly(make_track(times, [20.0, 21.0, 22.0, 23.0], [120.0] * 4, [pressure] * 4))


def test_radii_shape_order_and_asymmetry() -> None:
    tr = northward_track()
    gale, storm = wind_radii(tr)
    assert len(gale) == len(storm) == len(tr)
    assert all(len(r) == BEARINGS for r in gale)
    i = 6
    assert all(g >= s for g, s in zip(gale[i], storm[i], strict=True))
    # moving north in the northern hemisphere: stronger to the right (east, bearing 90°) than the left
    east, west = gale[i][BEARINGS // 4], gale[i][3 * BEARINGS // 4]
    assert east > west > 0


def test_radius_agrees_with_the_site_wind() -> None:
    """A site just inside the gale radius east of the centre gets gale-force wind at that hour; one well
    outside does not."""
    tr = northward_track()
    gale, _ = wind_radii(tr)
    i = 9
    r = gale[i][BEARINGS // 4]
    lat, lon = float(tr.lat[i]), float(tr.lon[i])
    km = 111.12 * np.cos(np.radians(lat))
    sub = make_track(
        tr.time[i - 1 : i + 1], tr.lat[i - 1 : i + 1], tr.lon[i - 1 : i + 1], tr.pressure[i - 1 : i + 1]
    )
    inside = wind_at_sites(sub, np.array([lat]), np.array([lon + (r - 6) / km]))
    outside = wind_at_sites(sub, np.array([lat]), np.array([lon + (r + 20) / km]))
    assert inside.max_wind[0] >= 17.2 > outside.max_wind[0]


def test_weak_storm_has_no_storm_radius() -> None:
    _, storm = wind_radii(northward_track(pressure=1002.0))
    assert max(max(r) for r in storm) == 0
