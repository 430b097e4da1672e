"""Per-site wind, damage ratio, expected loss and time to gale for one track (pure numpy).

Steps: ``windfield.wind_at_sites`` on the hourly track (max wind, gale arrival, hours above gale) →
``vulnerability.mdr_for_classes`` by construction/occupancy → ground-up loss per coverage = sum insured ×
MDR (one MDR per site for every coverage) → the site's deductible and limit apply once to the site total
(``vulnerability.expected_loss``: per policy and event) and the net is shared among the coverages in
proportion to their ground-up loss. ``hours_until_gale`` counts from ``reference_time`` (default: the
track's first time); negative if the gale is already there, NaN if it never comes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from xiaobao.radar.sites import Site
from xiaobao.radar.tracks import Track
from xiaobao.radar.vulnerability import expected_loss, mdr_for_classes
from xiaobao.radar.windfield import Model, WindResult, wind_at_sites

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LossResult:
    """Arrays of shape (S,) in site order; ``loss_by_coverage[c]`` too."""

    max_wind: FloatArray
    gale_arrival: npt.NDArray[np.datetime64]
    hours_until_gale: FloatArray
    hours_above_gale: FloatArray
    mdr: FloatArray
    loss_by_coverage: dict[str, FloatArray]
    expected_loss: FloatArray
    reference_time: np.datetime64
    model: str


def to_datetime64(t: datetime | np.datetime64) -> np.datetime64:
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError("reference_time must be timezone-aware")
        return np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "s")
    return t.astype("datetime64[s]")


def wind_in_chunks(
    track_hourly: Track,
    lat: FloatArray,
    lon: FloatArray,
    model: Model = "H08",
    *,
    chunk: int = 500,
    progress: Callable[[int], None] | None = None,
) -> WindResult:
    """``wind_at_sites`` over slices of ``chunk`` sites, calling ``progress(done)`` after each slice."""
    n = lat.size
    parts: list[WindResult] = []
    for start in range(0, n, chunk):
        parts.append(
            wind_at_sites(track_hourly, lat[start : start + chunk], lon[start : start + chunk], model)
        )
        if progress is not None:
            progress(min(n, start + chunk))
    if not parts:
        return wind_at_sites(track_hourly, lat, lon, model)
    return WindResult(
        np.concatenate([p.max_wind for p in parts]),
        np.concatenate([p.gale_arrival for p in parts]),
        np.concatenate([p.hours_above_gale for p in parts]),
        model,
    )


def assess(
    track_hourly: Track,
    sites: Sequence[Site],
    *,
    model: Model = "H08",
    reference_time: datetime | np.datetime64 | None = None,
    progress: Callable[[int], None] | None = None,
) -> LossResult:
    """Wind and expected loss per site; see the module docstring."""
    lat = np.array([s.lat for s in sites], dtype=np.float64)
    lon = np.array([s.lon for s in sites], dtype=np.float64)
    wind = wind_in_chunks(track_hourly, lat, lon, model, progress=progress)
    ratio = mdr_for_classes(wind.max_wind, [s.construction for s in sites], [s.occupancy for s in sites])
    coverages: dict[str, None] = {}
    for s in sites:
        for c in s.sums_insured:
            coverages.setdefault(c, None)
    ground = {
        c: np.array([s.sums_insured.get(c, 0.0) for s in sites], dtype=np.float64) * ratio for c in coverages
    }
    total_ground = np.sum(list(ground.values()), axis=0) if ground else np.zeros(len(sites))
    ded = np.array([s.deductible for s in sites], dtype=np.float64)
    lim = np.array([s.limit for s in sites], dtype=np.float64)
    total_si = np.array([s.total_sum_insured for s in sites], dtype=np.float64)
    net = expected_loss(total_si, ratio, ded, lim)
    share = np.divide(net, total_ground, out=np.zeros_like(net), where=total_ground > 0)
    by_cov = {c: g * share for c, g in ground.items()}
    ref = (
        to_datetime64(reference_time)
        if reference_time is not None
        else track_hourly.time[0].astype("datetime64[s]")
    )
    secs = (wind.gale_arrival - ref).astype("timedelta64[s]").astype("int64").astype(np.float64)
    hours = np.where(np.isnat(wind.gale_arrival), np.nan, secs / 3600.0)
    return LossResult(
        max_wind=wind.max_wind,
        gale_arrival=wind.gale_arrival,
        hours_until_gale=hours,
        hours_above_gale=wind.hours_above_gale,
        mdr=ratio,
        loss_by_coverage=by_cov,
        expected_loss=net,
        reference_time=ref,
        model=model,
    )
