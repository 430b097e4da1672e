"""Install check for bench/.venv-climada (run by bench/climada_env.sh inside that venv).

Imports climada.hazard and computes a tiny H08 wind field with TropCyclone.from_tracks, offline.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from climada.hazard import Centroids, TCTracks, TropCyclone

n = 6
t = np.datetime64("2023-07-27T00:00") + np.arange(n).astype("timedelta64[h]")
ds = xr.Dataset(
    {
        "time_step": ("time", np.ones(n)),
        "radius_max_wind": ("time", np.full(n, 40 / 1.852)),
        "radius_oci": ("time", np.zeros(n)),
        "max_sustained_wind": ("time", np.full(n, 90.0)),
        "central_pressure": ("time", np.full(n, 950.0)),
        "environmental_pressure": ("time", np.full(n, 1010.0)),
        "basin": ("time", np.full(n, "WP")),
    },
    coords={
        "time": t.astype("datetime64[ns]"),
        "lat": ("time", 20 + 0.1 * np.arange(n)),
        "lon": ("time", np.full(n, 120.0)),
    },
    attrs={
        "max_sustained_wind_unit": "kn",
        "central_pressure_unit": "mb",
        "name": "CHECK",
        "sid": "CHECK",
        "orig_event_flag": True,
        "data_provider": "check",
        "id_no": 1.0,
        "category": 3,
    },
)
cen = Centroids(lat=np.array([20.3, 20.3, 21.0]), lon=np.array([120.4, 119.6, 125.0]))
haz = TropCyclone.from_tracks(TCTracks([ds]), cen, model="H08", ignore_distance_to_coast=True)
v = haz.intensity.toarray().ravel()
print("climada check: intensity (m/s) =", np.round(v, 3))
assert v[0] > v[1] > 0 and v[2] == 0, v
