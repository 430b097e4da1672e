"""Risk-radar wind-field benchmark (issue 5): xiaobao's Holland (2008) field against CLIMADA 6.1.0.

1. Track: Typhoon Doksuri (2023) from ``shared/data/doksuri_2023_advisories.csv`` through
   ``tracks.read_advisories_csv``, ``tracks.interpolate_hourly`` (72 hourly nodes, 2023-07-25 03:00 to
   the Fujian landfall 2023-07-28 01:55 UTC) and ``tracks.estimate_rmw``; environmental pressure
   1010 hPa.
2. Sites: ``--sites`` (1,000,000) uniformly random points (seed ``--seed``) in the 4 x 4 degree box
   centred on the landfall (24.7N 118.6E): 22.7-26.7N, 116.6-120.6E.
3. Ours: a subprocess of this interpreter runs ``windfield.wind_at_sites(track, lat, lon, "H08")``
   once on the first 10,000 sites (warm-up) and then once, timed, on all sites; ours_s is that call's
   wall time, peak_mb is the subprocess's peak resident set (``ru_maxrss``: interpreter, numpy, the
   input and output arrays and the computation, everything the process ever held).
4. CLIMADA: a subprocess of ``bench/.venv-climada`` (``bash bench/climada_env.sh`` creates it) runs
   ``bench/_climada_wind.py``: the same track in CLIMADA's units (knots, nautical miles, hPa, hourly
   ``time_step``), the same sites as ``Centroids``, ``TropCyclone.from_tracks(tracks, centroids,
   model="H08", ignore_distance_to_coast=True)`` with every other argument at its default; warm-up on
   10,000 sites, then one timed call (climada_s; building ``Centroids`` is not timed). With
   ``--climada-chunk N`` it makes one call per N sites instead and climada_s is the sum.
5. Compare: max |ours - CLIMADA| over sites with >= 17.5 m/s in either result. CLIMADA stores 0 below
   17.5 m/s (``intensity_thres``); for sites where ours is >= 17.5 but CLIMADA stored 0, CLIMADA's
   own value is recomputed (untimed) with ``intensity_thres=0`` so the difference is real, not 17.5.

Last line on stdout:
    radar: sites=<n> ours_s=<n> climada_s=<n> speedup=<climada/ours> max_abs_diff_ms=<n> peak_mb=<n>
Target: speedup >= 30, max_abs_diff_ms <= 0.1, peak_mb <= 2000.

Run: .venv/bin/python bench/radar.py [--sites 1000000] [--seed 20230728] [--climada-chunk 0]
     [--model H08] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIMADA_VENV = Path(os.environ.get("XIAOBAO_CLIMADA_VENV", ROOT / "bench" / ".venv-climada"))
ADVISORIES = ROOT.parent / "shared" / "data" / "doksuri_2023_advisories.csv"
LANDFALL = (24.7, 118.6)
HALF_BOX_DEG = 2.0
THRESHOLD_MS = 17.5


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def build_inputs(workdir: Path, n_sites: int, seed: int) -> tuple[Path, Path]:
    from xiaobao.radar import tracks

    src = Path(os.environ.get("XIAOBAO_BENCH_TRACK", ADVISORIES))
    tr = tracks.estimate_rmw(tracks.interpolate_hourly(tracks.read_advisories_csv(src)))
    track_path = workdir / "track.npz"
    np.savez(
        track_path,
        time_s=tr.time.astype("datetime64[s]").astype(np.int64),
        lat=tr.lat,
        lon=tr.lon,
        pressure_hpa=tr.pressure,
        env_pressure_hpa=tr.env_pressure,
        max_wind_ms=tr.max_wind,
        rmw_km=tr.rmw,
        time_step_h=tr.time_step_hours,
    )
    rng = np.random.default_rng(seed)
    lat = rng.uniform(LANDFALL[0] - HALF_BOX_DEG, LANDFALL[0] + HALF_BOX_DEG, n_sites)
    lon = rng.uniform(LANDFALL[1] - HALF_BOX_DEG, LANDFALL[1] + HALF_BOX_DEG, n_sites)
    sites_path = workdir / "sites.npz"
    np.savez(sites_path, lat=lat, lon=lon)
    log(
        f"track: {len(tr)} nodes {tr.time[0]} .. {tr.time[-1]}, pressure {tr.pressure.min():.0f}-"
        f"{tr.pressure.max():.0f} hPa, rmw {np.nanmin(tr.rmw):.1f}-{np.nanmax(tr.rmw):.1f} km; "
        f"sites: {n_sites} in {LANDFALL[0] - HALF_BOX_DEG}-{LANDFALL[0] + HALF_BOX_DEG}N "
        f"{LANDFALL[1] - HALF_BOX_DEG}-{LANDFALL[1] + HALF_BOX_DEG}E (seed {seed})"
    )
    return track_path, sites_path


def ours_worker(track_path: str, sites_path: str, out_path: str, model: str) -> int:
    """Runs in its own process: warm-up, one timed call, JSON line with seconds and peak RSS."""
    from xiaobao.radar.tracks import make_track
    from xiaobao.radar.windfield import wind_at_sites

    z = np.load(track_path)
    tr = make_track(
        z["time_s"].astype("datetime64[s]"),
        z["lat"],
        z["lon"],
        z["pressure_hpa"],
        z["max_wind_ms"],
        z["rmw_km"],
        z["env_pressure_hpa"],
        name="DOKSURI",
    )
    st = np.load(sites_path)
    lat, lon = st["lat"], st["lon"]
    wind_at_sites(tr, lat[:10_000], lon[:10_000], model)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    res = wind_at_sites(tr, lat, lon, model)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    np.savez(
        out_path,
        max_wind=res.max_wind,
        hours=res.hours_above_gale,
        arrival=res.gale_arrival.astype(np.int64),
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))
    return 0


def run_json(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        log(proc.stderr[-4000:])
        raise SystemExit(f"radar bench: {cmd[1]} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20230728)
    ap.add_argument("--model", default="H08", choices=["H08"])
    ap.add_argument("--climada-chunk", type=int, default=0)
    ap.add_argument("--keep", type=Path, default=None, help="keep inputs and outputs in this directory")
    ap.add_argument("--ours-worker", nargs=3, metavar=("TRACK", "SITES", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ours_worker:
        return ours_worker(*args.ours_worker, args.model)

    climada_py = CLIMADA_VENV / "bin" / "python"
    if not climada_py.exists():
        print(
            f"radar bench: the CLIMADA environment {CLIMADA_VENV} is missing; create it with\n"
            f"    bash bench/climada_env.sh\n(needs python3.11 and PyPI; CLIMADA is GPL and is used only here)",
            file=sys.stderr,
        )
        return 2

    with tempfile.TemporaryDirectory(prefix="radar-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        track_path, sites_path = build_inputs(work, args.sites, args.seed)

        ours_out = work / "ours.npz"
        log("ours: running ...")
        ours = run_json(
            [
                sys.executable,
                __file__,
                "--model",
                args.model,
                "--ours-worker",
                str(track_path),
                str(sites_path),
                str(ours_out),
            ]
        )
        log(f"ours: {ours['seconds']:.3f} s, peak RSS {ours['peak_mb']:.0f} MB")
        o = np.load(ours_out)
        ours_wind = o["max_wind"]
        np.save(work / "ours_wind.npy", ours_wind)

        cl_out = work / "climada_wind.npy"
        env = dict(os.environ)
        env["HOME"] = str(CLIMADA_VENV / "home")  # CLIMADA's ~/climada data dir stays inside the venv
        env.pop("PYTHONPATH", None)
        cmd = [
            str(climada_py),
            str(ROOT / "bench" / "_climada_wind.py"),
            str(track_path),
            str(sites_path),
            str(cl_out),
            "--chunk",
            str(args.climada_chunk),
            "--model",
            args.model,
            "--resolve",
            str(work / "ours_wind.npy"),
        ]
        log("climada: running TropCyclone.from_tracks ...")
        cl = run_json(cmd, env)
        log(
            f"climada: {cl['seconds']:.3f} s in {cl['calls']} call(s), peak RSS {cl['peak_mb']:.0f} MB, "
            f"{cl['resolved']} site(s) below its 17.5 m/s threshold recomputed untimed with intensity_thres=0"
        )
        cw = np.load(cl_out)

    sel = (ours_wind >= THRESHOLD_MS) | (cw >= THRESHOLD_MS)
    diff = np.abs(ours_wind - cw)[sel]
    max_diff = float(diff.max()) if diff.size else 0.0
    gale = int((ours_wind >= 17.2).sum())
    log(
        f"compare: {int(sel.sum())} sites >= {THRESHOLD_MS} m/s in either (ours {int((ours_wind >= THRESHOLD_MS).sum())}, "
        f"climada {int((cw >= THRESHOLD_MS).sum())}); max |diff| {max_diff:.2e} m/s, mean {float(diff.mean()) if diff.size else 0:.2e}; "
        f"ours max {ours_wind.max():.2f} m/s; {gale} sites with gale (>= 17.2 m/s)"
    )
    speedup = cl["seconds"] / ours["seconds"]
    print(
        f"radar: sites={args.sites} ours_s={ours['seconds']:.3f} climada_s={cl['seconds']:.2f} "
        f"speedup={speedup:.1f} max_abs_diff_ms={max_diff:.6f} peak_mb={ours['peak_mb']:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
