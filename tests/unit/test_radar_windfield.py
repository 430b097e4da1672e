"""Unit tests for xiaobao.radar.windfield: Holland profiles, asymmetry, per-site results (no DB).

Reference storm (stated once, used throughout): centre 20.0N 120.0E, central pressure 950 hPa,
environmental 1010 hPa (dp = 6000 Pa), RMW 40 km, hourly nodes, air density 1.15 kg/m^3.
Hand computation for the stationary case (dp/dt = 0, v_t = 0):
  H08  b_s = -4.4e-5 * 60^2 + 0.01 * 60 - 0.014 * 20 + 1 = 1.1616
  f = 2 * 7.29e-5 * sin(20 deg) = 4.98665e-5 1/s;  r f / 2 at r = 40 km = 0.99733 m/s
  V(R) = sqrt(b_s / rho * dp / e + (R f / 2)^2) - R f / 2 = sqrt(2229.55 + 0.99467) - 0.99733 = 46.232 m/s
  H80 with vmax = 45 m/s: vg = 50, B = 50^2 * e * 1.15 / 6000 = 1.30254, V(R) = 0.9 * (sqrt(2500 + 0.99467) - 0.99733)
      = 44.111 m/s
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from xiaobao.radar.tracks import interpolate_hourly, make_track, read_advisories_csv
from xiaobao.radar.windfield import (
    MAX_TRANSLATION_MS,
    holland_profile,
    node_params,
    v_max_holland_2008,
    wind_at_sites,
    wind_speeds,
)

LAT0, LON0 = 20.0, 120.0
KM_LAT = 1.0 / 111.12  # degrees of latitude per km (CLIMADA's equirectangular metric)


def storm(n: int = 4, dlat_per_h: float = 0.0, *, lat0: float = LAT0, max_wind: float = 45.0):
    return make_track(
        np.datetime64("2023-07-27T00", "h") + np.arange(n).astype("timedelta64[h]"),
        lat=lat0 + dlat_per_h * np.arange(n),
        lon=np.full(n, LON0),
        pressure=np.full(n, 950.0),
        max_wind=max_wind,
        rmw=40.0,
    )


def km_east(km: float, lat: float = LAT0) -> float:
    return LON0 + km * KM_LAT / math.cos(math.radians(lat))


def test_h08_reference_value_at_rmw() -> None:
    p = node_params(storm(), "H08")
    b = -4.4e-5 * 60**2 + 0.01 * 60 - 0.014 * 20 + 1.0
    assert b == pytest.approx(1.1616)
    np.testing.assert_allclose(p.hol_b, b)
    f = 2 * 7.29e-5 * math.sin(math.radians(20))
    c = 40_000 * f / 2
    expected = math.sqrt(b / 1.15 * 6000 / math.e + c * c) - c
    assert expected == pytest.approx(46.232, abs=1e-3)
    speed = wind_speeds(p, np.array([LAT0 + 40 * KM_LAT]), np.array([LON0]), "H08")
    assert speed[0, 0] == 0.0  # first node: no wind (backward differences, as CLIMADA)
    np.testing.assert_allclose(speed[1:, 0], expected, rtol=1e-9)
    # without Coriolis the peak equals Holland (2008) v_max = sqrt(b dp / (rho e))
    assert v_max_holland_2008(np.array(b), np.array(6000.0)) == pytest.approx(
        math.sqrt(b * 6000 / (1.15 * math.e))
    )


def test_h80_reference_value_and_uses_max_wind() -> None:
    p = node_params(storm(max_wind=45.0), "H80")
    b = 50.0**2 * math.e * 1.15 / 6000
    np.testing.assert_allclose(p.hol_b, b)
    c = 40_000 * 2 * 7.29e-5 * math.sin(math.radians(20)) / 2
    expected = 0.9 * (math.sqrt(2500 + c * c) - c)
    assert expected == pytest.approx(44.111, abs=1e-3)
    site = (np.array([LAT0 + 40 * KM_LAT]), np.array([LON0]))
    assert wind_speeds(p, *site, "H80")[1, 0] == pytest.approx(expected, rel=1e-9)
    # H80 follows the recorded max wind (about vmax at RMW, less the Coriolis term); H08 ignores it
    weaker = node_params(storm(max_wind=35.0), "H80")
    assert wind_speeds(weaker, *site, "H80")[1, 0] < expected - 5
    h08_a = wind_at_sites(storm(max_wind=45.0), *site, "H08").max_wind
    h08_b = wind_at_sites(storm(max_wind=35.0), *site, "H08").max_wind
    np.testing.assert_array_equal(h08_a, h08_b)
    # B is clipped to [1, 2.5] (H80) and [0.81, 2.025] (H08)
    assert node_params(storm(max_wind=10.0), "H80").hol_b[0] == 1.0
    assert node_params(storm(max_wind=90.0), "H80").hol_b[0] == 2.5


def test_profile_peaks_at_rmw_and_decays() -> None:
    r = np.linspace(1_000, 300_000, 2991)  # 100 m spacing
    v = holland_profile(r, np.array(40_000.0), np.array(1.1616), np.array(6000.0), np.array(0.0))
    assert r[np.argmax(v)] == pytest.approx(40_000, abs=100)  # cyclostrophic: exactly at RMW
    vc = holland_profile(r, np.array(40_000.0), np.array(1.1616), np.array(6000.0), np.array(4.98665e-5))
    assert r[np.argmax(vc)] == pytest.approx(40_000, abs=2_000)  # Coriolis moves it only slightly
    assert np.all(np.diff(vc[r > 45_000]) < 0)


def test_symmetric_without_translation() -> None:
    p = node_params(storm(), "H08")
    d = 60.0
    lat = np.array([LAT0 + d * KM_LAT, LAT0 - d * KM_LAT, LAT0, LAT0])
    lon = np.array([LON0, LON0, km_east(d), km_east(-d)])
    s = wind_speeds(p, lat, lon, "H08")[1]
    np.testing.assert_allclose(s, s[0], rtol=1e-12)


@pytest.mark.parametrize("model", ["H08", "H80"])
def test_right_of_motion_is_stronger_in_northern_hemisphere(model: str) -> None:
    t = storm(4, dlat_per_h=0.2)  # moving north at 0.2 * 111.12 km/h = 6.173 m/s
    p = node_params(t, model)  # type: ignore[arg-type]
    vt = 0.2 * 111_120 / 3600
    assert p.vtrans_norm[1] == pytest.approx(vt)
    lat_node = float(t.lat[2])
    for d in (30.0, 40.0, 80.0):
        lat = np.array([lat_node, lat_node])
        lon = np.array([km_east(d, lat_node), km_east(-d, lat_node)])  # right (east), left (west)
        right, left = wind_speeds(p, lat, lon, model)[2]  # type: ignore[arg-type]
        corr = min(1.0, 40.0 / d)
        # translation adds on the right and subtracts on the left: difference 2 * v_t * min(1, R/r)
        assert right - left == pytest.approx(2 * vt * corr, rel=1e-9)
        assert right > left


def test_left_of_motion_is_stronger_in_southern_hemisphere() -> None:
    t = storm(4, dlat_per_h=-0.2, lat0=-20.0)  # moving south
    p = node_params(t, "H08")
    lat_node = float(t.lat[2])
    lat = np.array([lat_node, lat_node])
    west, east = wind_speeds(p, lat, np.array([km_east(-40, lat_node), km_east(40, lat_node)]), "H08")[2]
    # facing south, the left is the east side; clockwise rotation there blows southward, with the motion
    assert east > west


def test_translation_speed_is_capped_at_30_knots() -> None:
    p = node_params(storm(3, dlat_per_h=1.0), "H08")  # 111 km/h
    assert p.vtrans_norm[1] == pytest.approx(MAX_TRANSLATION_MS)
    assert MAX_TRANSLATION_MS == pytest.approx(15.4333, abs=1e-4)


def test_cutoff_radius() -> None:
    p = node_params(storm(), "H08")
    s = wind_speeds(p, np.array([LAT0 + 290 * KM_LAT, LAT0 + 310 * KM_LAT]), np.array([LON0, LON0]), "H08")
    assert s[1, 0] > 0 and s[1, 1] == 0.0


def test_gale_arrival_and_hours() -> None:
    t = storm(6)
    res = wind_at_sites(
        t, np.array([LAT0 + 40 * KM_LAT, LAT0 + 305 * KM_LAT, 30.0]), np.array([LON0, LON0, LON0])
    )
    assert res.max_wind[0] == pytest.approx(46.232, abs=1e-3)
    assert res.gale_arrival[0] == t.time[1]  # node 0 carries no wind
    assert res.hours_above_gale[0] == 5.0
    assert res.max_wind[1] == 0.0 and np.isnat(res.gale_arrival[1]) and res.hours_above_gale[1] == 0
    assert res.max_wind[2] == 0.0  # outside the bounding box


def test_chunking_gives_identical_results_and_is_fast() -> None:
    h = interpolate_hourly(read_advisories_csv("/work/shared/data/doksuri_2023_advisories.csv"))
    rng = np.random.default_rng(5)
    lat, lon = rng.uniform(22, 27, 5000), rng.uniform(116, 121, 5000)
    t0 = time.perf_counter()
    a = wind_at_sites(h, lat, lon)
    elapsed = time.perf_counter() - t0
    b = wind_at_sites(h, lat, lon, chunk_elements=5000)
    np.testing.assert_array_equal(a.max_wind, b.max_wind)
    np.testing.assert_array_equal(a.gale_arrival, b.gale_arrival)
    np.testing.assert_allclose(a.hours_above_gale, b.hours_above_gale, rtol=1e-12)
    assert elapsed < 1.0
    assert (a.max_wind >= 17.2).sum() > 500


def test_doksuri_landfall_wind_at_jinjiang_is_plausible() -> None:
    h = interpolate_hourly(read_advisories_csv("/work/shared/data/doksuri_2023_advisories.csv"))
    res = wind_at_sites(h, np.array([24.8]), np.array([118.6]), "H08")
    # CMA reported 50 m/s (2-min) at landfall near Jinjiang; the H08 estimate must be of that order
    assert 35.0 <= res.max_wind[0] <= 65.0
    assert res.gale_arrival[0] < np.datetime64("2023-07-28T01:55:00")
    assert res.hours_above_gale[0] >= 3
    h80 = wind_at_sites(h, np.array([24.8]), np.array([118.6]), "H80")
    assert 30.0 <= h80.max_wind[0] <= 65.0


def test_unknown_model_rejected() -> None:
    with pytest.raises(ValueError, match="unknown wind model"):
        node_params(storm(), "ER11")  # type: ignore[arg-type]
