"""Wind radii per track point for the map: how far from the centre the gale (>= 17.2 m/s, 8级) and storm
(>= 24.5 m/s, 10级) winds reach, along 16 bearings (the field is asymmetric: stronger to the right of the
motion). Uses the public ``windfield`` functions on one node at a time (pure numpy)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from xiaobao.radar.tracks import Track
from xiaobao.radar.windfield import GALE_MS, ONE_LAT_KM, Model, node_params, wind_speeds

STORM_MS = 24.5
"""Beaufort 10 (storm, 10级风圈) lower bound, m/s."""
BEARINGS = 16
STEP_KM = 5.0
MAX_KM = 300.0

FloatArray = npt.NDArray[np.float64]


def _ring(lat0: float, lon0: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    dist = np.arange(STEP_KM, MAX_KM + STEP_KM / 2, STEP_KM)
    theta = np.radians(np.arange(BEARINGS) * 360.0 / BEARINGS)  # 0 = north, clockwise
    d = np.repeat(dist[None, :], BEARINGS, axis=0)  # (B, D)
    north = d * np.cos(theta)[:, None]
    east = d * np.sin(theta)[:, None]
    lat = lat0 + north / ONE_LAT_KM
    lon = lon0 + east / (ONE_LAT_KM * np.cos(np.radians(lat0)))
    return lat.ravel(), lon.ravel(), d


def wind_radii(track_hourly: Track, model: Model = "H08") -> tuple[list[list[int]], list[list[int]]]:
    """(gale radii, storm radii): per track point, ``BEARINGS`` distances in km (0: not reached). The first
    point has no translation speed and gets the radii of the second (as its wind would)."""
    n = len(track_hourly)
    gale: list[list[int]] = []
    storm: list[list[int]] = []
    if n < 2:
        return [[0] * BEARINGS] * n, [[0] * BEARINGS] * n
    p = node_params(track_hourly, model)
    fields = ("lat", "lon", "time_step_s", "dp_pa", "rmw_m", "coriolis", "vtrans_v", "vtrans_u")
    for i in range(1, n):
        sub = replace(
            p,
            **{f: getattr(p, f)[i - 1 : i + 1] for f in (*fields, "vtrans_norm", "hol_b")},
        )
        lat, lon, d = _ring(float(p.lat[i]), float(p.lon[i]))
        speed = wind_speeds(sub, lat, lon, model)[1].reshape(d.shape)
        for thr, out in ((GALE_MS, gale), (STORM_MS, storm)):
            reach = np.where(speed >= thr, d, 0.0).max(axis=1)
            out.append([int(round(r)) for r in reach])
    return [gale[0], *gale], [storm[0], *storm]
