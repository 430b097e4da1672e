"""Tropical-cyclone tracks: container, readers, hourly interpolation, radius of maximum wind.

Units and shapes (every array of a ``Track`` has shape ``(n,)``, one entry per track node, time ascending):

- ``time``: ``numpy.datetime64[s]``, UTC (naive datetime64 values are UTC by convention).
- ``lat``, ``lon``: degrees north / east (lon may run past 180 for a track crossing the antimeridian).
- ``pressure``: central pressure, hPa.
- ``max_wind``: maximum sustained wind, m/s, with the averaging period of the source given by
  ``wind_averaging`` ("1-min", "2-min", "10-min" or "mixed"). Readers convert knots to m/s but do NOT
  convert between averaging periods: WMO/RSMC Tokyo report 10-minute means, JTWC/USA agencies 1-minute,
  CMA 2-minute. The Holland (2008) wind field uses pressure only, so it does not depend on this; the
  Holland (1980) field uses ``max_wind`` and is only as good as its averaging period.
- ``rmw``: radius of maximum wind, km; NaN where unknown (see ``estimate_rmw``).
- ``env_pressure``: environmental pressure, hPa (default 1010).
- ``lead_hours``: forecast lead time in hours, NaN for observed positions.

Readers raise ``TrackFormatError`` naming the line number (1-based, as shown by an editor) and the field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
TimeArray = npt.NDArray[np.datetime64]

KNOT_TO_MS = 1852.0 / 3600.0
"""One knot in m/s (exact: one nautical mile per hour)."""
NM_TO_KM = 1.852
"""One nautical mile in km (exact)."""
DEFAULT_ENV_PRESSURE_HPA = 1010.0

# CLIMADA's statistical fit of RMW (nautical miles) against central pressure (hPa), IBTrACS 1980-2019,
# r^2 = 0.79 (climada.hazard.tc_tracks.estimate_rmw): piecewise linear through these nodes, constant
# outside [872, 1021] hPa.
RMW_FIT_PRESSURE_HPA = (872.0, 940.0, 980.0, 1021.0)
RMW_FIT_NM = (14.907318, 15.726927, 25.742142, 56.856522)


class TrackFormatError(ValueError):
    """A track file could not be read. ``line`` is 1-based; ``field`` names the column or field."""

    def __init__(self, source: str, line: int | None, field: str | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.problem = problem
        where = source
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Track:
    """One storm's track; see the module docstring for units. Build with ``make_track``."""

    time: TimeArray
    lat: FloatArray
    lon: FloatArray
    pressure: FloatArray
    max_wind: FloatArray
    rmw: FloatArray
    env_pressure: FloatArray
    lead_hours: FloatArray
    name: str = ""
    sid: str = ""
    wind_averaging: str = "1-min"

    def __post_init__(self) -> None:
        n = self.time.shape[0]
        for fname in ("lat", "lon", "pressure", "max_wind", "rmw", "env_pressure", "lead_hours"):
            arr = getattr(self, fname)
            if arr.shape != (n,):
                raise ValueError(f"Track.{fname} has shape {arr.shape}, expected ({n},)")
        if n > 1 and not np.all(np.diff(self.time.astype("int64")) > 0):
            raise ValueError("Track.time must be strictly increasing")

    def __len__(self) -> int:
        return int(self.time.shape[0])

    @property
    def time_step_hours(self) -> FloatArray:
        """Hours since the previous node, shape (n,); the first entry repeats the second (as CLIMADA)."""
        secs = np.diff(self.time.astype("datetime64[s]").astype("int64")).astype(np.float64)
        if secs.size == 0:
            return np.ones(len(self), dtype=np.float64)
        return np.concatenate([secs[:1], secs]) / 3600.0


def _f(values: Iterable[float] | FloatArray | float, n: int) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr), dtype=np.float64)
    return arr.astype(np.float64, copy=True)


def make_track(
    time: Sequence[datetime] | TimeArray,
    lat: Iterable[float] | FloatArray,
    lon: Iterable[float] | FloatArray,
    pressure: Iterable[float] | FloatArray,
    max_wind: Iterable[float] | FloatArray | float = np.nan,
    rmw: Iterable[float] | FloatArray | float = np.nan,
    env_pressure: Iterable[float] | FloatArray | float = DEFAULT_ENV_PRESSURE_HPA,
    lead_hours: Iterable[float] | FloatArray | float = np.nan,
    *,
    name: str = "",
    sid: str = "",
    wind_averaging: str = "1-min",
) -> Track:
    """Build a ``Track``; scalars are broadcast, aware datetimes are converted to UTC."""
    t = _to_datetime64(time)
    n = t.shape[0]
    return Track(
        time=t,
        lat=_f(lat, n),
        lon=_f(lon, n),
        pressure=_f(pressure, n),
        max_wind=_f(max_wind, n),
        rmw=_f(rmw, n),
        env_pressure=_f(env_pressure, n),
        lead_hours=_f(lead_hours, n),
        name=name,
        sid=sid,
        wind_averaging=wind_averaging,
    )


def _to_datetime64(values: Sequence[datetime] | TimeArray) -> TimeArray:
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[s]")
    out = []
    for v in values:
        if isinstance(v, datetime):
            if v.tzinfo is not None:
                v = v.astimezone(UTC).replace(tzinfo=None)
            out.append(np.datetime64(v, "s"))
        else:
            out.append(np.datetime64(v, "s"))
    return np.array(out, dtype="datetime64[s]")


# ---------------------------------------------------------------------------------------------------------
# Radius of maximum wind and interpolation


def estimate_rmw(track: Track) -> Track:
    """Fill missing (NaN, zero or negative) ``rmw`` from central pressure, as CLIMADA does.

    CLIMADA's fit gives RMW in nautical miles as a piecewise-linear function of central pressure through
    (872, 14.907318), (940, 15.726927), (980, 25.742142), (1021, 56.856522) (hPa, nm), constant beyond
    the end nodes; the result is converted to km (x 1.852). Nodes whose pressure is missing stay NaN.
    """
    return replace(track, rmw=rmw_from_pressure(track.rmw, track.pressure))


def rmw_from_pressure(rmw_km: FloatArray, pressure_hpa: FloatArray) -> FloatArray:
    """Array version of ``estimate_rmw``: rmw (km, shape (n,)) with missing entries estimated."""
    rmw = np.asarray(rmw_km, dtype=np.float64).copy()
    pres = np.asarray(pressure_hpa, dtype=np.float64)
    missing = ~(rmw > 0)  # NaN, 0 and negatives
    ok = missing & np.isfinite(pres) & (pres > 0)
    rmw[ok] = np.interp(pres[ok], RMW_FIT_PRESSURE_HPA, RMW_FIT_NM) * NM_TO_KM
    rmw[missing & ~ok] = np.nan
    return rmw


def interpolate_hourly(track: Track, step_hours: float = 1.0) -> Track:
    """Linear interpolation of every variable onto ``start + k * step_hours``.

    The last node is kept when it is not on the grid (e.g. a landfall report at 01:55), so the final
    step may be shorter. Longitude is unwrapped before interpolating, so tracks crossing the
    antimeridian interpolate the short way. NaN values (e.g. unknown rmw) propagate to the steps next to
    them; call ``estimate_rmw`` afterwards to fill them.
    """
    if len(track) < 2:
        return track
    secs = track.time.astype("datetime64[s]").astype("int64")
    step = int(round(step_hours * 3600))
    if step <= 0:
        raise ValueError("step_hours must be positive")
    grid = np.arange(secs[0], secs[-1] + 1, step, dtype=np.int64)
    if grid[-1] != secs[-1]:
        grid = np.append(grid, secs[-1])
    x = secs.astype(np.float64)
    xg = grid.astype(np.float64)
    lon = np.degrees(np.unwrap(np.radians(track.lon)))

    def lin(arr: FloatArray) -> FloatArray:
        return np.interp(xg, x, arr).astype(np.float64)

    return replace(
        track,
        time=grid.astype("datetime64[s]"),
        lat=lin(track.lat),
        lon=lin(lon),
        pressure=lin(track.pressure),
        max_wind=lin(track.max_wind),
        rmw=lin(track.rmw),
        env_pressure=lin(track.env_pressure),
        lead_hours=lin(track.lead_hours),
    )


# ---------------------------------------------------------------------------------------------------------
# Readers


def _read_text(src: str | Path) -> tuple[str, str]:
    """Return (display name, text); ``src`` is a path or the file's text itself (contains a newline)."""
    if isinstance(src, Path) or "\n" not in src:
        p = Path(src)
        return p.name, p.read_text(encoding="utf-8-sig")
    return "<text>", src


def _num(
    source: str, line: int, fieldname: str, raw: str, *, required: bool = True, missing: float = np.nan
) -> float:
    s = raw.strip()
    if s == "":
        if required:
            raise TrackFormatError(source, line, fieldname, "value is missing")
        return missing
    try:
        v = float(s)
    except ValueError:
        raise TrackFormatError(source, line, fieldname, f"not a number: {s!r}") from None
    if not np.isfinite(v):
        raise TrackFormatError(source, line, fieldname, f"not a finite number: {s!r}")
    return v


def _time(source: str, line: int, fieldname: str, raw: str) -> np.datetime64:
    s = raw.strip()
    if not s:
        raise TrackFormatError(source, line, fieldname, "value is missing")
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise TrackFormatError(source, line, fieldname, f"not an ISO date-time: {s!r}") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(dt, "s")


def _check_range(source: str, line: int, fieldname: str, v: float, lo: float, hi: float) -> float:
    if not np.isnan(v) and not lo <= v <= hi:
        raise TrackFormatError(source, line, fieldname, f"{v:g} is outside [{lo:g}, {hi:g}]")
    return v


def _check_increasing(source: str, lines: list[int], times: list[np.datetime64], fieldname: str) -> None:
    for i in range(1, len(times)):
        if times[i] <= times[i - 1]:
            raise TrackFormatError(source, lines[i], fieldname, "time is not after the previous row's")


IBTRACS_AGENCIES = ("wmo", "usa", "cma")


def read_ibtracs_csv(src: str | Path, *, agency: str = "auto", sid: str | None = None) -> list[Track]:
    """Read an IBTrACS v4 CSV (``ibtracs.ALL/WP/...list.v04r01.csv``); one ``Track`` per SID.

    Columns used: SID, NAME, ISO_TIME (UTC, "YYYY-MM-DD HH:MM:SS"), LAT, LON and per agency
    ``WMO_PRES``/``WMO_WIND``, ``USA_PRES``/``USA_WIND``/``USA_RMW``, ``CMA_PRES``/``CMA_WIND``. The second
    line (units) is skipped. Blank cells are missing. Winds are knots in IBTrACS and are converted to m/s;
    USA_RMW is in nautical miles and converted to km. Averaging periods differ: WMO_WIND in the western
    Pacific is RSMC Tokyo's 10-minute mean, USA_WIND 1-minute, CMA_WIND 2-minute; they are not rescaled.

    ``agency``: "wmo", "usa", "cma", or "auto" (per row, the first of WMO, USA, CMA that has a pressure;
    wind from the same agency). ``sid``: keep only that storm.
    """
    if agency != "auto" and agency not in IBTRACS_AGENCIES:
        raise ValueError(f"unknown agency {agency!r}")
    source, text = _read_text(src)
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().upper() for h in next(reader)]
    except StopIteration:
        raise TrackFormatError(source, 1, None, "file is empty") from None
    col = {h: i for i, h in enumerate(header)}
    for needed in ("SID", "ISO_TIME", "LAT", "LON"):
        if needed not in col:
            raise TrackFormatError(source, 1, needed, "column is missing from the header")
    agencies = IBTRACS_AGENCIES if agency == "auto" else (agency,)
    if not any(f"{a.upper()}_PRES" in col for a in agencies):
        raise TrackFormatError(source, 1, f"{agencies[0].upper()}_PRES", "no pressure column in the header")
    averaging = {"wmo": "10-min", "usa": "1-min", "cma": "2-min"}

    rows: dict[str, dict[str, list]] = {}
    names: dict[str, str] = {}
    used: dict[str, set[str]] = {}
    for idx, row in enumerate(reader):
        lineno = idx + 2
        if idx == 0 and row and row[0].strip() == "":
            continue  # units line
        if not row or all(c.strip() == "" for c in row):
            continue
        if len(row) < len(header):
            raise TrackFormatError(
                source, lineno, header[len(row)], f"row has {len(row)} of {len(header)} fields"
            )

        def cell(name: str, r: list[str] = row) -> str:
            return r[col[name]] if name in col else ""

        storm = cell("SID").strip()
        if not storm:
            raise TrackFormatError(source, lineno, "SID", "value is missing")
        if sid is not None and storm != sid:
            continue
        t = _time(source, lineno, "ISO_TIME", cell("ISO_TIME"))
        lat = _check_range(source, lineno, "LAT", _num(source, lineno, "LAT", cell("LAT")), -90, 90)
        lon = _check_range(source, lineno, "LON", _num(source, lineno, "LON", cell("LON")), -180, 360)
        pres = wind = np.nan
        chosen = ""
        for a in agencies:
            p = _num(source, lineno, f"{a.upper()}_PRES", cell(f"{a.upper()}_PRES"), required=False)
            if not np.isnan(p):
                pres = _check_range(source, lineno, f"{a.upper()}_PRES", p, 850, 1050)
                w = _num(source, lineno, f"{a.upper()}_WIND", cell(f"{a.upper()}_WIND"), required=False)
                wind = _check_range(source, lineno, f"{a.upper()}_WIND", w, 0, 250) * KNOT_TO_MS
                chosen = a
                break
        rmw = _num(source, lineno, "USA_RMW", cell("USA_RMW"), required=False)
        rmw = rmw * NM_TO_KM if rmw > 0 else np.nan
        d = rows.setdefault(storm, {"line": [], "time": [], "lat": [], "lon": [], "p": [], "w": [], "r": []})
        for k, v in (
            ("line", lineno),
            ("time", t),
            ("lat", lat),
            ("lon", lon),
            ("p", pres),
            ("w", wind),
            ("r", rmw),
        ):
            d[k].append(v)
        names.setdefault(storm, cell("NAME").strip())
        if chosen:
            used.setdefault(storm, set()).add(chosen)

    tracks = []
    for storm, d in rows.items():
        _check_increasing(source, d["line"], d["time"], "ISO_TIME")
        avg = used.get(storm, set())
        tracks.append(
            make_track(
                np.array(d["time"], dtype="datetime64[s]"),
                d["lat"],
                d["lon"],
                d["p"],
                d["w"],
                d["r"],
                name=names.get(storm, ""),
                sid=storm,
                wind_averaging=averaging[next(iter(avg))] if len(avg) == 1 else "mixed",
            )
        )
    if not tracks:
        raise TrackFormatError(source, None, "SID", "no track rows" + (f" for SID {sid!r}" if sid else ""))
    return tracks


def read_cma_best_track(src: str | Path) -> list[Track]:
    """Read a CMA (China Meteorological Administration) best-track file, ``CH{YYYY}BST.txt``.

    Each storm starts with a header line ``66666 IIII NNN SSSS CCCC E D NAME ... DATE``: 66666, the
    international number (YYNN), the number of data lines that follow, the serial number, the China
    number, an end flag, the time interval (h), the English name. Data lines read
    ``YYYYMMDDHH I LAT LON PRES WND [OWD]``: time (UTC), intensity category, latitude and longitude in
    0.1 degrees, central pressure in hPa, and the 2-minute mean maximum sustained wind near the centre
    in m/s (``wind_averaging`` is "2-min"). A trailing OWD column is ignored. One ``Track`` per header,
    ``sid`` = the China number (e.g. "2305"), ``name`` = the English name.
    """
    source, text = _read_text(src)
    tracks: list[Track] = []
    current: dict[str, list] | None = None
    meta: tuple[int, str, str, int] | None = None  # header line, name, sid, expected rows

    def finish() -> None:
        if current is None or meta is None:
            return
        hline, name, storm, expected = meta
        if expected and len(current["time"]) != expected:
            raise TrackFormatError(
                source, hline, "NNN", f"header announces {expected} data lines, found {len(current['time'])}"
            )
        if not current["time"]:
            raise TrackFormatError(source, hline, None, "storm header without data lines")
        _check_increasing(source, current["line"], current["time"], "YYYYMMDDHH")
        tracks.append(
            make_track(
                np.array(current["time"], dtype="datetime64[s]"),
                current["lat"],
                current["lon"],
                current["p"],
                current["w"],
                name=name,
                sid=storm,
                wind_averaging="2-min",
            )
        )

    for lineno, raw in enumerate(text.splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        if parts[0] == "66666":
            finish()
            if len(parts) < 5:
                raise TrackFormatError(source, lineno, "header", "header line has fewer than 5 fields")
            expected = int(_num(source, lineno, "NNN", parts[2]))
            storm = parts[4]
            name = parts[7] if len(parts) > 7 else ""
            meta = (lineno, name, storm, expected)
            current = {"line": [], "time": [], "lat": [], "lon": [], "p": [], "w": []}
            continue
        if current is None:
            raise TrackFormatError(source, lineno, "header", "data line before any 66666 header line")
        if len(parts) < 6:
            names6 = ("YYYYMMDDHH", "I", "LAT", "LON", "PRES", "WND")
            raise TrackFormatError(source, lineno, names6[len(parts)], "data line has fewer than 6 fields")
        stamp = parts[0]
        if len(stamp) != 10 or not stamp.isdigit():
            raise TrackFormatError(source, lineno, "YYYYMMDDHH", f"not a YYYYMMDDHH time: {stamp!r}")
        try:
            if int(stamp[8:10]) > 23:
                raise ValueError(stamp)
            t = np.datetime64(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:00:00", "s")
        except ValueError:
            raise TrackFormatError(source, lineno, "YYYYMMDDHH", f"not a valid date: {stamp!r}") from None
        lat = _check_range(source, lineno, "LAT", _num(source, lineno, "LAT", parts[2]) / 10.0, -90, 90)
        lon = _check_range(source, lineno, "LON", _num(source, lineno, "LON", parts[3]) / 10.0, -180, 360)
        pres = _check_range(source, lineno, "PRES", _num(source, lineno, "PRES", parts[4]), 850, 1050)
        wind = _check_range(source, lineno, "WND", _num(source, lineno, "WND", parts[5]), 0, 120)
        for k, v in (("line", lineno), ("time", t), ("lat", lat), ("lon", lon), ("p", pres), ("w", wind)):
            current[k].append(v)
    finish()
    if not tracks:
        raise TrackFormatError(source, None, None, "no 66666 storm header found")
    return tracks


FORECAST_COLUMNS = ("time", "lat", "lon", "pressure", "max_wind", "rmw", "lead_hours")


def read_forecast_csv(src: str | Path, *, name: str = "", wind_averaging: str = "1-min") -> Track:
    """Read a simple forecast-track CSV with a header row.

    Columns: ``time`` (ISO 8601; "Z"/offsets are converted to UTC, naive values are UTC), ``lat``,
    ``lon`` (degrees), ``pressure`` (hPa), ``max_wind`` (m/s), ``rmw`` (km, optional column, blank =
    unknown), ``lead_hours`` (h, blank = observed position). Lines starting with "#" are comments.
    """
    source, text = _read_text(src)
    lines = text.splitlines()
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise TrackFormatError(source, None, None, "file is empty")
    hline, htext = numbered[0]
    header = [h.strip().lower() for h in next(csv.reader([htext]))]
    for needed in ("time", "lat", "lon", "pressure", "max_wind", "lead_hours"):
        if needed not in header:
            raise TrackFormatError(source, hline, needed, "column is missing from the header")
    col = {h: i for i, h in enumerate(header)}
    data: dict[str, list] = {k: [] for k in (*FORECAST_COLUMNS, "line")}
    for lineno, ln in numbered[1:]:
        row = next(csv.reader([ln]))
        if len(row) < len(header):
            raise TrackFormatError(
                source, lineno, header[len(row)], f"row has {len(row)} of {len(header)} fields"
            )
        data["line"].append(lineno)
        data["time"].append(_time(source, lineno, "time", row[col["time"]]))
        data["lat"].append(
            _check_range(source, lineno, "lat", _num(source, lineno, "lat", row[col["lat"]]), -90, 90)
        )
        data["lon"].append(
            _check_range(source, lineno, "lon", _num(source, lineno, "lon", row[col["lon"]]), -180, 360)
        )
        data["pressure"].append(
            _check_range(
                source, lineno, "pressure", _num(source, lineno, "pressure", row[col["pressure"]]), 850, 1050
            )
        )
        data["max_wind"].append(
            _check_range(
                source, lineno, "max_wind", _num(source, lineno, "max_wind", row[col["max_wind"]]), 0, 120
            )
        )
        rmw = _num(source, lineno, "rmw", row[col["rmw"]], required=False) if "rmw" in col else np.nan
        data["rmw"].append(_check_range(source, lineno, "rmw", rmw, 1, 500))
        data["lead_hours"].append(_num(source, lineno, "lead_hours", row[col["lead_hours"]], required=False))
    if not data["time"]:
        raise TrackFormatError(source, hline, None, "no data rows after the header")
    _check_increasing(source, data["line"], data["time"], "time")
    return make_track(
        np.array(data["time"], dtype="datetime64[s]"),
        data["lat"],
        data["lon"],
        data["pressure"],
        data["max_wind"],
        data["rmw"],
        lead_hours=data["lead_hours"],
        name=name,
        wind_averaging=wind_averaging,
    )


def read_advisories_csv(src: str | Path, *, name: str = "DOKSURI", sid: str = "2305") -> Track:
    """Read the advisory-position file (``shared/data/doksuri_2023_advisories.csv``).

    Columns: ``time_utc`` (ISO, "Z"), ``lat``, ``lon``, ``pressure_hpa`` (blank allowed), ``wind_ms``,
    ``wind_avg`` ("1-min" / "2-min" / "10-min"), ``source``, ``quality``, ``notes``; "#" lines are
    comments. Positions come from different agencies with different wind averaging, so
    ``wind_averaging`` is "mixed" unless all rows agree. A missing pressure is filled by linear
    interpolation in time from the rows that have one (the file is a demo, not a best track).
    """
    source, text = _read_text(src)
    numbered = [
        (i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip() and not ln.startswith("#")
    ]
    if not numbered:
        raise TrackFormatError(source, None, None, "file is empty")
    hline, htext = numbered[0]
    header = [h.strip().lower() for h in next(csv.reader([htext]))]
    for needed in ("time_utc", "lat", "lon", "pressure_hpa", "wind_ms"):
        if needed not in header:
            raise TrackFormatError(source, hline, needed, "column is missing from the header")
    col = {h: i for i, h in enumerate(header)}
    lines: list[int] = []
    times: list[np.datetime64] = []
    lat: list[float] = []
    lon: list[float] = []
    pres: list[float] = []
    wind: list[float] = []
    avgs: set[str] = set()
    for lineno, ln in numbered[1:]:
        row = next(csv.reader([ln]))
        if len(row) < len(col):
            raise TrackFormatError(
                source, lineno, header[len(row)], f"row has {len(row)} of {len(header)} fields"
            )
        lines.append(lineno)
        times.append(_time(source, lineno, "time_utc", row[col["time_utc"]]))
        lat.append(_check_range(source, lineno, "lat", _num(source, lineno, "lat", row[col["lat"]]), -90, 90))
        lon.append(
            _check_range(source, lineno, "lon", _num(source, lineno, "lon", row[col["lon"]]), -180, 360)
        )
        p = _num(source, lineno, "pressure_hpa", row[col["pressure_hpa"]], required=False)
        pres.append(_check_range(source, lineno, "pressure_hpa", p, 850, 1050))
        wind.append(
            _check_range(
                source, lineno, "wind_ms", _num(source, lineno, "wind_ms", row[col["wind_ms"]]), 0, 120
            )
        )
        if "wind_avg" in col:
            avgs.add(row[col["wind_avg"]].strip())
    if not times:
        raise TrackFormatError(source, hline, None, "no data rows after the header")
    _check_increasing(source, lines, times, "time_utc")
    p_arr = np.array(pres, dtype=np.float64)
    known = np.isfinite(p_arr)
    if not known.any():
        raise TrackFormatError(source, None, "pressure_hpa", "no row has a pressure")
    t_sec = np.array(times, dtype="datetime64[s]").astype("int64").astype(np.float64)
    p_arr[~known] = np.interp(t_sec[~known], t_sec[known], p_arr[known])
    return make_track(
        np.array(times, dtype="datetime64[s]"),
        lat,
        lon,
        p_arr,
        wind,
        name=name,
        sid=sid,
        wind_averaging=avgs.pop() if len(avgs) == 1 else "mixed",
    )
