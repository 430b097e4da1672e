"""CLIMADA side of bench/radar.py: runs ONLY inside bench/.venv-climada (CLIMADA 6.1.0, GPL-3.0).

Not part of xiaobao and never imported by it: bench/radar.py starts this file with the CLIMADA venv's
interpreter. It reads the track and sites that bench/radar.py wrote (xiaobao's own units: m/s, km,
hPa), builds CLIMADA's track dataset in CLIMADA's units (knots, nautical miles, hPa, hours), computes
``TropCyclone.from_tracks(..., model="H08", ignore_distance_to_coast=True)`` on the sites as centroids
(every other argument at its default) and writes the dense intensity (m/s; CLIMADA zeroes values
below 17.5 m/s) to a .npy file plus a JSON line with the timing and the process's peak RSS.

Usage: python _climada_wind.py TRACK.npz SITES.npz OUT.npy [--chunk N] [--warmup N] [--model H08]
       [--resolve OTHER.npy]
  --chunk N : call from_tracks on consecutive slices of N centroids and add up the times (for
              machines where one call on every site would not fit in memory); 0 = one call.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np
import xarray as xr

KNOTS_PER_MS = 3600.0 / 1852.0


def climada_track(npz: dict) -> xr.Dataset:
    t = npz["time_s"].astype("datetime64[s]").astype("datetime64[ns]")
    n = t.size
    ds = xr.Dataset(
        {
            "time_step": ("time", npz["time_step_h"].astype(float)),
            "radius_max_wind": ("time", npz["rmw_km"] / 1.852),
            "radius_oci": ("time", np.zeros(n)),
            "max_sustained_wind": ("time", npz["max_wind_ms"] * KNOTS_PER_MS),
            "central_pressure": ("time", npz["pressure_hpa"].astype(float)),
            "environmental_pressure": ("time", npz["env_pressure_hpa"].astype(float)),
            "basin": ("time", np.full(n, "WP", dtype="<U2")),
        },
        coords={
            "time": t,
            "lat": ("time", npz["lat"].astype(float)),
            "lon": ("time", npz["lon"].astype(float)),
        },
        attrs={
            "max_sustained_wind_unit": "kn",
            "central_pressure_unit": "mb",
            "name": "DOKSURI",
            "sid": "2023198N14133",
            "orig_event_flag": True,
            "data_provider": "xiaobao bench (advisories, hourly)",
            "id_no": 2023198014133.0,
            "category": 4,
        },
    )
    return ds


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("track")
    ap.add_argument("sites")
    ap.add_argument("out")
    ap.add_argument("--chunk", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=10_000)
    ap.add_argument("--model", default="H08")
    ap.add_argument("--resolve", default=None, help="other result (.npy); see module docstring")
    args = ap.parse_args()

    import climada
    from climada.hazard import Centroids, TCTracks, TropCyclone

    tr = dict(np.load(args.track))
    st = np.load(args.sites)
    lat, lon = st["lat"], st["lon"]
    tracks = TCTracks([climada_track(tr)])
    n = lat.size

    def run(lo: int, hi: int, **kw: float) -> tuple[np.ndarray, float]:
        cen = Centroids(lat=lat[lo:hi], lon=lon[lo:hi])
        t0 = time.perf_counter()
        haz = TropCyclone.from_tracks(tracks, cen, model=args.model, ignore_distance_to_coast=True, **kw)
        el = time.perf_counter() - t0
        return np.asarray(haz.intensity.toarray()).ravel(), el

    if args.warmup:
        run(0, min(n, args.warmup))
    out = np.zeros(n)
    total = 0.0
    step = args.chunk if args.chunk > 0 else n
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        vals, el = run(lo, hi)
        out[lo:hi] = vals
        total += el
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    resolved = 0
    if args.resolve:
        # Sites that CLIMADA zeroed (< 17.5 m/s) but the other result has >= 17.5: recompute CLIMADA's
        # own value there with intensity_thres=0 (untimed), so a comparison near the threshold sees
        # CLIMADA's number instead of the 0 it stores.
        other = np.load(args.resolve)
        idx = np.flatnonzero((out == 0) & (other >= 17.5))
        resolved = int(idx.size)
        if resolved:
            cen = Centroids(lat=lat[idx], lon=lon[idx])
            haz = TropCyclone.from_tracks(
                tracks, cen, model=args.model, ignore_distance_to_coast=True, intensity_thres=0.0
            )
            out[idx] = np.asarray(haz.intensity.toarray()).ravel()
    np.save(args.out, out)
    print(
        json.dumps(
            {
                "climada_version": climada.__version__ if hasattr(climada, "__version__") else "?",
                "seconds": total,
                "calls": -(-n // step),
                "peak_mb": peak_mb,
                "sites": n,
                "resolved": resolved,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
