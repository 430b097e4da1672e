"""One radar run: track + sites → ranked table with wind, gale arrival, expected loss and the visit plan.

Used by ``xiaobao radar run``; no database, no settings. Times in the table are Asia/Shanghai.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from xiaobao.radar import tracks
from xiaobao.radar.loss import LossResult, assess
from xiaobao.radar.plan import SHANGHAI, Assignment, Candidate, PlanSettings, plan_visits
from xiaobao.radar.sites import Site
from xiaobao.radar.windfield import Model

TrackFormat = Literal["auto", "ibtracs", "cma", "forecast", "advisories"]


def detect_format(path: Path) -> TrackFormat:
    if path.suffix.lower() == ".txt":
        return "cma"
    head = path.read_bytes()[:4096].decode("utf-8", errors="replace").lower()
    lines = [ln for ln in head.splitlines() if ln.strip() and not ln.startswith("#")]
    first = lines[0] if lines else ""
    if "time_utc" in first:
        return "advisories"
    if first.startswith("sid,") or ",iso_time," in first:
        return "ibtracs"
    return "forecast"


def load_track(path: Path, fmt: TrackFormat = "auto", sid: str | None = None) -> tracks.Track:
    """Read one track (the first storm, or ``sid``) and interpolate it to hourly steps."""
    kind = detect_format(path) if fmt == "auto" else fmt
    if kind == "advisories":
        tr = tracks.read_advisories_csv(path)
    elif kind == "forecast":
        tr = tracks.read_forecast_csv(path)
    else:
        many = (
            tracks.read_ibtracs_csv(path, sid=sid) if kind == "ibtracs" else tracks.read_cma_best_track(path)
        )
        if sid is not None:
            many = [t for t in many if sid in (t.sid, t.name)] or many[:0]
        if not many:
            raise ValueError(f"{path.name}: no storm {sid or ''} in the file")
        tr = many[0]
    return tracks.interpolate_hourly(tr)


@dataclass(frozen=True)
class RunResult:
    sites: Sequence[Site]
    loss: LossResult
    assignments: list[Assignment]  # rank order
    reference: datetime


def run(
    track_hourly: tracks.Track,
    sites: Sequence[Site],
    *,
    model: Model = "H08",
    reference: datetime | None = None,
    settings: PlanSettings | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    ref = reference or track_hourly.time[0].astype("datetime64[s]").astype(datetime).replace(tzinfo=UTC)
    res = assess(track_hourly, sites, model=model, reference_time=ref, progress=progress)
    cands = [
        Candidate(
            key=i,
            branch=s.branch,
            expected_loss=float(res.expected_loss[i]),
            gale_arrival=None
            if np.isnat(res.gale_arrival[i])
            else res.gale_arrival[i].astype(datetime).replace(tzinfo=UTC),
        )
        for i, s in enumerate(sites)
    ]
    return RunResult(sites, res, plan_visits(cands, ref, settings), ref)


COLUMNS = [
    "rank",
    "name",
    "branch",
    "policy_no",
    "address",
    "lat",
    "lon",
    "approximate",
    "industry",
    "construction",
    "max_wind_ms",
    "gale_arrival",
    "hours_until_gale",
    "hours_above_gale",
    "mdr",
    "sum_insured",
    "expected_loss",
    "status",
    "inspector",
    "visit_start",
    "visit_end",
    "reason",
]


def _local(t: datetime | None) -> str:
    return "" if t is None else t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def table_rows(result: RunResult) -> list[dict[str, object]]:
    res = result.loss
    rows: list[dict[str, object]] = []
    for a in result.assignments:
        i = a.key
        s = result.sites[i]
        arr = res.gale_arrival[i]
        hours = float(res.hours_until_gale[i])
        rows.append(
            {
                "rank": a.rank,
                "name": s.name,
                "branch": s.branch,
                "policy_no": s.policy_no,
                "address": s.address,
                "lat": round(s.lat, 5),
                "lon": round(s.lon, 5),
                "approximate": "yes" if s.approximate else "",
                "industry": s.industry,
                "construction": s.construction,
                "max_wind_ms": round(float(res.max_wind[i]), 1),
                "gale_arrival": "" if np.isnat(arr) else _local(arr.astype(datetime).replace(tzinfo=UTC)),
                "hours_until_gale": "" if math.isnan(hours) else round(hours, 1),
                "hours_above_gale": round(float(res.hours_above_gale[i]), 1),
                "mdr": round(float(res.mdr[i]), 5),
                "sum_insured": round(s.total_sum_insured, 2),
                "expected_loss": round(float(res.expected_loss[i]), 2),
                "status": a.status,
                "inspector": a.slot.inspector if a.slot else "",
                "visit_start": _local(a.slot.start) if a.slot else "",
                "visit_end": _local(a.slot.end) if a.slot else "",
                "reason": a.reason,
            }
        )
    return rows


def write_table(path: Path, rows: list[dict[str, object]]) -> None:
    """Write ``rows`` as .csv (UTF-8 with BOM, opens in Excel) or .xlsx."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "radar"
        ws.append(COLUMNS)
        for r in rows:
            ws.append([r[c] for c in COLUMNS])
        ws.freeze_panes = "A2"
        wb.save(path)
    elif path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            w.writeheader()
            w.writerows(rows)
    else:
        raise ValueError(f"{path.name}: output must be .xlsx or .csv")
