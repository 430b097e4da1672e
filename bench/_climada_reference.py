"""Print CLIMADA 6.1.0 reference wind speeds for tests/unit/test_radar_windfield.py.

Runs ONLY inside bench/.venv-climada (CLIMADA is GPL-3.0 and never a dependency of xiaobao):

    HOME=bench/.venv-climada/home bench/.venv-climada/bin/python bench/_climada_reference.py

For each case (track + model) it calls ``TropCyclone.from_tracks(TCTracks([track]), centroids,
model=..., ignore_distance_to_coast=True, store_windfields=True, intensity_thres=0)`` and prints, per
site, the wind speed |v| (m/s) at every track node (from the stored wind-field vectors), rounded to
4 decimals, as a Python literal pasted into the test. Tracks and sites are defined in CASES below
and repeated verbatim in the test.
"""

from __future__ import annotations

import pprint

import numpy as np
import xarray as xr
from climada.hazard import Centroids, TCTracks, TropCyclone

H = np.timedelta64(3600, "s")

# (name, model, hours since start, lat, lon, central pressure hPa, env hPa, vmax kn, rmw nm (0 = CLIMADA
#  estimates it from pressure), sites [(lat, lon), ...])
CASES = [
    (
        "wnw_h08",
        "H08",
        [0, 1, 2, 2.5, 3.5, 4.5, 5.5, 6.5],
        [21.0, 21.12, 21.25, 21.3, 21.42, 21.55, 21.66, 21.8],
        [121.0, 120.82, 120.63, 120.55, 120.37, 120.2, 120.0, 119.82],
        [960, 955, 950, 948, 950, 955, 962, 970],
        [1008] * 8,
        [80] * 8,
        [0] * 8,
        [
            (21.42, 120.62),
            (21.9, 120.4),
            (21.42, 119.0),
            (19.0, 120.4),
            (21.44, 120.38),
            (24.2, 120.4),
            (21.2, 121.1),
            (22.0, 119.9),
        ],
    ),
    (
        "wnw_h1980",
        "H1980",
        [0, 1, 2, 2.5, 3.5, 4.5, 5.5, 6.5],
        [21.0, 21.12, 21.25, 21.3, 21.42, 21.55, 21.66, 21.8],
        [121.0, 120.82, 120.63, 120.55, 120.37, 120.2, 120.0, 119.82],
        [960, 955, 950, 948, 950, 955, 962, 970],
        [1008] * 8,
        [80, 84, 88, 90, 88, 84, 78, 70],
        [20, 20, 19, 18, 18, 19, 21, 24],
        [
            (21.42, 120.62),
            (21.9, 120.4),
            (21.42, 119.0),
            (19.0, 120.4),
            (21.44, 120.38),
            (24.2, 120.4),
            (21.2, 121.1),
            (22.0, 119.9),
        ],
    ),
    (
        "fast_ne_h08",  # 0.45 deg/h north and east: faster than the 30 kn cap
        "H08",
        [0, 1, 2, 3, 4],
        [30.0, 30.45, 30.9, 31.35, 31.8],
        [125.0, 125.45, 125.9, 126.35, 126.8],
        [965, 966, 968, 970, 975],
        [1010] * 5,
        [70] * 5,
        [25, 25, 26, 27, 28],
        [(31.35, 126.8), (31.35, 125.9), (32.0, 126.0), (30.5, 126.6), (31.0, 127.5)],
    ),
    (
        "south_h08",
        "H08",
        [0, 1, 2, 3, 4, 5],
        [-15.0, -15.2, -15.4, -15.6, -15.8, -16.0],
        [150.0, 149.9, 149.8, 149.7, 149.6, 149.5],
        [940, 940, 938, 938, 941, 945],
        [1006] * 6,
        [100] * 6,
        [15] * 6,
        [(-15.6, 150.0), (-15.6, 149.4), (-15.2, 149.7), (-16.5, 149.7), (-17.0, 148.0)],
    ),
]


def track(case) -> xr.Dataset:  # type: ignore[no-untyped-def]
    name, _model, hours, lat, lon, pres, env, vmax, rmw, _sites = case
    hours = np.asarray(hours, dtype=float)
    t = np.datetime64("2023-07-27T00:00:00") + (hours * 3600).astype("timedelta64[s]")
    step = np.diff(hours)
    step = np.concatenate([step[:1], step])
    n = hours.size
    return xr.Dataset(
        {
            "time_step": ("time", step),
            "radius_max_wind": ("time", np.asarray(rmw, dtype=float)),
            "radius_oci": ("time", np.zeros(n)),
            "max_sustained_wind": ("time", np.asarray(vmax, dtype=float)),
            "central_pressure": ("time", np.asarray(pres, dtype=float)),
            "environmental_pressure": ("time", np.asarray(env, dtype=float)),
            "basin": ("time", np.full(n, "WP")),
        },
        coords={
            "time": t.astype("datetime64[ns]"),
            "lat": ("time", np.asarray(lat, float)),
            "lon": ("time", np.asarray(lon, float)),
        },
        attrs={
            "max_sustained_wind_unit": "kn",
            "central_pressure_unit": "mb",
            "name": name,
            "sid": name,
            "orig_event_flag": True,
            "data_provider": "test",
            "id_no": 1.0,
            "category": 3,
        },
    )


out = {}
for case in CASES:
    sites = np.asarray(case[-1], dtype=float)
    cen = Centroids(lat=sites[:, 0], lon=sites[:, 1])
    haz = TropCyclone.from_tracks(
        TCTracks([track(case)]),
        cen,
        model=case[1],
        ignore_distance_to_coast=True,
        store_windfields=True,
        intensity_thres=0.0,
    )
    wf = haz.windfields[0].toarray().reshape(len(case[2]), sites.shape[0], 2)
    speed = np.linalg.norm(wf, axis=-1)  # (nodes, sites)
    out[case[0]] = [[round(float(v), 4) for v in speed[:, j]] for j in range(sites.shape[0])]
pprint.pprint(out, width=110)
