"""Catastrophe surge simulation 大灾报案洪峰模拟 — pure: no database, no web.

A discrete-event simulation (``heapq`` event queue, one seeded ``numpy`` generator) of a typhoon's claim reports
worked off by the REAL dispatch engine (``claims.dispatch.dispatch``), run twice on the same arrivals:

- ``local_only``: each region's own desk staff and surveyors;
- ``factory``: the same plus the factories' remote staff, who do desk work (contact, remote assessment) for
  every region of the scenario; on-site surveys stay with local surveyors in both.

Arrivals: a time-varying Poisson process, simulated by thinning (Lewis & Shedler): homogeneous candidates at
the peak rate, each kept with probability rate(t) / peak. rate(t) = normal x (1 + A x surge(t)) x diurnal(t):
``surge`` rises linearly from landfall to 1 at ``peak_hours_after_landfall`` and decays exponentially with
``decay_hours`` (default 15 h, which gives Meranti's split of about two thirds of five days' reports on
landfall day); ``diurnal`` is an hourly reporting profile with mean 1 (few reports at night); A and the
normal rate are solved so that the 24 hours after landfall carry ``landfall_day_factor`` (default 20) times a
normal day and ``days`` days carry ``total`` reports on average.

Each report is one first-contact task (deadline: report + ``sla.contact_minutes``). When the contact is done,
the claim needs an assessment by report + ``sla.survey_hours``: remote (desk staff, video/photos) for a share
of each line (``mix.remote_assessment``; never for rescue cases or amounts above the desk authority), otherwise
an on-site survey by a local surveyor who drives there (haversine / speed from where they are) and stays there.
``rescue_needed`` reports are rescue cases (first in every queue), ``special_group`` ones come next.

Staff work one task at a time (capacity 1) inside their shifts (``shifts``: daily windows with a share of the
group on each; a task started before the end of a shift is finished). The dispatcher runs in batches every
``batch_minutes`` when something happened (a report, a finished task, a shift start), with the free on-shift
staff and the head of each (kind, region) queue (its first ``dispatch.window_for(free staff)`` items, see
``dispatch.queue_heads``).

Figures per policy: ``contacted_within_sla`` (contact started within the SLA, share of reports),
``surveyed_within_sla`` (assessment finished within ``survey_hours`` of the report), ``mean_contact_minutes``,
``p95_contact_minutes``, ``utilisation`` (busy share of on-shift time during the ``days`` of arrivals, all staff)
and extras. Work not done when the run stops (``days`` + 14 days) counts as missed. Same seed, same result.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from xiaobao.claims import dispatch as dsp
from xiaobao.claims.dispatch import (
    CONTACT,
    DESK_KINDS,
    ONSITE_SURVEY,
    REMOTE_ASSESSMENT,
    DispatchConfig,
    Shift,
    StaffMember,
    WorkItem,
)
from xiaobao.core.errors import FieldProblem, ValidationFailed

SCENARIO_DIR = Path(__file__).parent / "data" / "scenarios"
POLICIES = ("local_only", "factory")
LINES = ("motor", "property", "agriculture")
TZ = ZoneInfo("Asia/Shanghai")
DRAIN_DAYS = 14

# City seats (lat, lon), used when a scenario region gives no coordinates.
CITY_COORDS: dict[str, tuple[float, float]] = {
    "福州": (26.0745, 119.2965),
    "厦门": (24.4798, 118.0894),
    "泉州": (24.8741, 118.6757),
    "漳州": (24.5130, 117.6471),
    "莆田": (25.4540, 119.0077),
    "宁德": (26.6657, 119.5479),
    "三明": (26.2654, 117.6389),
    "南平": (26.6356, 118.1784),
    "龙岩": (25.0751, 117.0174),
    "佛山": (23.0218, 113.1219),
    "苏州": (31.2990, 120.5853),
    "宿迁": (33.9630, 118.2752),
    "杭州": (30.2741, 120.1551),
    "成都": (30.5728, 104.0668),
    "西安": (34.3416, 108.9398),
    "淄博": (36.8131, 118.0548),
}
# Share of reports per local hour (mean 1): people report when they can see the damage.
DIURNAL = np.array(
    [
        0.3,
        0.2,
        0.2,
        0.2,
        0.3,
        0.5,
        0.8,
        1.2,
        1.5,
        1.6,
        1.6,
        1.5,
        1.3,
        1.4,
        1.5,
        1.5,
        1.4,
        1.3,
        1.2,
        1.1,
        1.0,
        0.9,
        0.7,
        0.5,
    ]
)
DIURNAL = DIURNAL / DIURNAL.mean()
# Estimated loss per line: lognormal (median yuan, sigma). Motor median below the 5,000 yuan fast track.
AMOUNTS = {"motor": (4000.0, 0.9), "property": (12000.0, 1.3), "agriculture": (8000.0, 1.0)}


def _city_coords(city: str) -> tuple[float, float] | None:
    return CITY_COORDS.get(city.removesuffix("市"))


# ---------------------------------------------------------------- scenario


@dataclass(frozen=True)
class ShiftGroup:
    window: Shift
    share: float


@dataclass(frozen=True)
class Region:
    city: str
    share: float
    local_surveyors: int
    local_desk_staff: int
    lat: float
    lon: float


@dataclass(frozen=True)
class FactoryTeam:
    city: str
    remote_staff: int


@dataclass(frozen=True)
class Scenario:
    name: str
    landfall: datetime
    regions: list[Region]
    factories: list[FactoryTeam]
    total: int
    days: float
    peak_hours: float
    decay_hours: float
    landfall_day_factor: float
    diurnal: bool
    mix_motor: float
    mix_property: float
    rescue_needed: float
    special_group: float
    remote_share: dict[str, float]
    handling: dict[str, float]
    contact_sla_min: float
    survey_sla_h: float
    shifts: dict[str, list[ShiftGroup]]
    desk_authority: float
    surveyor_authority: float
    senior_surveyor_share: float
    speed_kmh: float
    batch_minutes: float
    spread_km: float
    seed: int
    notes: str


DEFAULT_SHIFTS = {
    "local_desk": [("08:00-20:00", 0.75), ("20:00-08:00", 0.25)],
    "local_survey": [("07:00-19:00", 0.8), ("19:00-07:00", 0.2)],
    "factory": [("08:00-20:00", 0.7), ("20:00-08:00", 0.3)],
}


class _Reader:
    """Collects every problem with the field path, then raises one ValidationFailed."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def bad(self, path: str, zh: str, en: str) -> None:
        self.problems.append(FieldProblem(path, zh, en))

    def get(
        self,
        obj: Any,
        key: str,
        path: str,
        kind: str,
        default: Any = ...,
        lo: float | None = None,
        hi: float | None = None,
    ) -> Any:
        full = f"{path}.{key}" if path else key
        if obj is None:  # the section itself is missing or wrong: reported once, not per field
            return None if default is ... else default
        if not isinstance(obj, dict) or key not in obj:
            if default is ...:
                self.bad(full, "缺少必填字段", "required field is missing")
            return None if default is ... else default
        v = obj[key]
        if kind == "str":
            if not isinstance(v, str) or not v.strip():
                self.bad(full, "应为非空文本", "must be a non-empty string")
                return None
            return v.strip()
        if kind in ("int", "num"):
            if (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or (kind == "int" and not float(v).is_integer())
            ):
                self.bad(
                    full,
                    "应为整数" if kind == "int" else "应为数字",
                    "must be an integer" if kind == "int" else "must be a number",
                )
                return None
            v = int(v) if kind == "int" else float(v)
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                rng = f"[{lo if lo is not None else '-∞'}, {hi if hi is not None else '∞'}]"
                self.bad(full, f"超出范围 {rng}", f"out of range {rng}")
                return None
            return v
        if kind == "bool":
            if not isinstance(v, bool):
                self.bad(full, "应为 true 或 false", "must be true or false")
                return None
            return v
        if kind == "list":
            if not isinstance(v, list):
                self.bad(full, "应为列表", "must be a list")
                return None
            return v
        if kind == "dict":
            if not isinstance(v, dict):
                self.bad(full, "应为对象", "must be an object")
                return None
            return v
        raise AssertionError(kind)


def parse_scenario(data: Any) -> Scenario:
    """Validate a scenario (see the module docstring and the shipped files); every problem names its field."""
    r = _Reader()
    if not isinstance(data, dict):
        raise ValidationFailed([FieldProblem("scenario", "应为 JSON 对象", "must be a JSON object")])
    name = r.get(data, "name", "", "str")
    landfall_s = r.get(data, "landfall", "", "str")
    landfall: datetime | None = None
    if landfall_s is not None:
        try:
            landfall = datetime.fromisoformat(landfall_s)
            if landfall.tzinfo is None:
                r.bad(
                    "landfall",
                    "需要带时区的 ISO 时间，如 2023-07-28T09:55+08:00",
                    "needs an ISO time with offset, e.g. 2023-07-28T09:55+08:00",
                )
                landfall = None
        except ValueError:
            r.bad("landfall", "不是 ISO 时间", "is not an ISO time")
    regions: list[Region] = []
    for i, raw in enumerate(r.get(data, "regions", "", "list") or []):
        p = f"regions[{i}]"
        city = r.get(raw, "city", p, "str")
        share = r.get(raw, "share", p, "num", lo=0, hi=1)
        surveyors = r.get(raw, "local_surveyors", p, "int", lo=0)
        desk = r.get(raw, "local_desk_staff", p, "int", lo=0)
        lat = r.get(raw, "lat", p, "num", default=None, lo=-90, hi=90)
        lon = r.get(raw, "lon", p, "num", default=None, lo=-180, hi=180)
        if city is not None and (lat is None or lon is None):
            known = _city_coords(city)
            if known is None:
                r.bad(f"{p}.lat", "未知城市，请给出 lat 和 lon", "unknown city: give lat and lon")
            else:
                lat, lon = known
        if None not in (city, share, surveyors, desk, lat, lon):
            regions.append(Region(city, share, surveyors, desk, lat, lon))
    if "regions" in data and isinstance(data["regions"], list):
        if not data["regions"]:
            r.bad("regions", "至少需要一个地区", "needs at least one region")
        cities = [x.city for x in regions]
        if len(set(cities)) != len(cities):
            r.bad("regions", "城市重复", "a city appears twice")
        if regions and len(regions) == len(data["regions"]) and abs(sum(x.share for x in regions) - 1) > 0.01:
            r.bad("regions", "各地区 share 之和应为 1", "the shares must add up to 1")
    factories: list[FactoryTeam] = []
    for i, raw in enumerate(r.get(data, "factories", "", "list", default=[]) or []):
        p = f"factories[{i}]"
        city = r.get(raw, "city", p, "str")
        n = r.get(raw, "remote_staff", p, "int", lo=0)
        if city is not None and n is not None:
            factories.append(FactoryTeam(city, n))
    arr = r.get(data, "arrivals", "", "dict")
    total = r.get(arr, "total", "arrivals", "int", lo=1, hi=2_000_000)
    days = r.get(arr, "days", "arrivals", "num", lo=0.5, hi=60)
    peak = r.get(arr, "peak_hours_after_landfall", "arrivals", "num", lo=0, hi=72)
    decay = r.get(arr, "decay_hours", "arrivals", "num", default=15.0, lo=1, hi=240)
    factor = r.get(arr, "landfall_day_factor", "arrivals", "num", default=20.0, lo=1, hi=500)
    diurnal = r.get(arr, "diurnal", "arrivals", "bool", default=True)
    mix = r.get(data, "mix", "", "dict")
    motor = r.get(mix, "motor", "mix", "num", lo=0, hi=1)
    prop = r.get(mix, "property", "mix", "num", lo=0, hi=1)
    rescue = r.get(mix, "rescue_needed", "mix", "num", lo=0, hi=1)
    special = r.get(mix, "special_group", "mix", "num", default=0.06, lo=0, hi=1)
    if motor is not None and prop is not None and motor + prop > 1.0001:
        r.bad(
            "mix",
            "motor + property 不能超过 1（其余为农险）",
            "motor + property must not exceed 1 (the rest is agriculture)",
        )
    rs_raw = r.get(
        mix, "remote_assessment", "mix", "dict", default={"motor": 0.6, "property": 0.3, "agriculture": 0.2}
    )
    remote_share: dict[str, float] = {}
    for line in LINES:
        v = r.get(rs_raw, line, "mix.remote_assessment", "num", default=0.0, lo=0, hi=1)
        remote_share[line] = 0.0 if v is None else v
    hm = r.get(data, "handling_minutes", "", "dict")
    handling = {
        CONTACT: r.get(hm, "contact", "handling_minutes", "num", lo=0.5, hi=600),
        REMOTE_ASSESSMENT: r.get(hm, "remote_assessment", "handling_minutes", "num", lo=1, hi=600),
        ONSITE_SURVEY: r.get(hm, "onsite_survey", "handling_minutes", "num", lo=1, hi=1440),
    }
    sla = r.get(data, "sla", "", "dict")
    contact_sla = r.get(sla, "contact_minutes", "sla", "num", lo=1, hi=10080)
    survey_sla = r.get(sla, "survey_hours", "sla", "num", lo=1, hi=2160)
    shifts: dict[str, list[ShiftGroup]] = {}
    sh_raw = r.get(data, "shifts", "", "dict", default={}) or {}
    for group, default in DEFAULT_SHIFTS.items():
        entries = r.get(
            sh_raw, group, "shifts", "list", default=[{"window": w, "share": s} for w, s in default]
        )
        out: list[ShiftGroup] = []
        for j, e in enumerate(entries or []):
            p = f"shifts.{group}[{j}]"
            w = r.get(e, "window", p, "str")
            s = r.get(e, "share", p, "num", lo=0, hi=1)
            if w is None or s is None:
                continue
            try:
                out.append(ShiftGroup(Shift.parse(w), s))
            except ValueError:
                r.bad(f"{p}.window", "应为 HH:MM-HH:MM", "must be HH:MM-HH:MM")
        if entries and len(out) == len(entries) and abs(sum(x.share for x in out) - 1) > 0.01:
            r.bad(f"shifts.{group}", "各班次 share 之和应为 1", "the shares must add up to 1")
        shifts[group] = out
    for key in sh_raw if isinstance(sh_raw, dict) else []:
        if key not in DEFAULT_SHIFTS:
            r.bad(
                f"shifts.{key}",
                "未知人员组（local_desk / local_survey / factory）",
                "unknown group (local_desk / local_survey / factory)",
            )
    auth = r.get(data, "authority", "", "dict", default={}) or {}
    desk_auth = r.get(auth, "desk", "authority", "num", default=50000.0, lo=0)
    surv_auth = r.get(auth, "surveyor", "authority", "num", default=200000.0, lo=0)
    senior = r.get(auth, "senior_surveyor_share", "authority", "num", default=0.15, lo=0, hi=1)
    speed = r.get(data, "speed_kmh", "", "num", default=30.0, lo=1, hi=200)
    batch = r.get(data, "batch_minutes", "", "num", default=1.0, lo=0.1, hi=60)
    spread = r.get(data, "spread_km", "", "num", default=8.0, lo=0, hi=200)
    seed = r.get(data, "seed", "", "int", default=20160915)
    notes = r.get(data, "notes", "", "str", default="")
    if r.problems:
        raise ValidationFailed(r.problems)
    assert landfall is not None and name is not None
    return Scenario(
        name=name, landfall=landfall, regions=regions, factories=factories, total=total, days=days,
        peak_hours=peak, decay_hours=decay, landfall_day_factor=factor, diurnal=diurnal, mix_motor=motor,
        mix_property=prop, rescue_needed=rescue, special_group=special, remote_share=remote_share,
        handling={k: float(v) for k, v in handling.items()}, contact_sla_min=contact_sla, survey_sla_h=survey_sla,
        shifts=shifts, desk_authority=desk_auth, surveyor_authority=surv_auth, senior_surveyor_share=senior,
        speed_kmh=speed, batch_minutes=batch, spread_km=spread, seed=seed, notes=notes,
    )  # fmt: skip


def load_scenario(path: Path | str) -> Scenario:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValidationFailed(
            [
                FieldProblem(
                    "scenario",
                    f"不是有效的 JSON（第 {e.lineno} 行）",
                    f"not valid JSON (line {e.lineno}): {e.msg}",
                )
            ]
        ) from None
    return parse_scenario(data)


def shipped_scenarios() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.json"))


# ---------------------------------------------------------------- arrivals


@dataclass(frozen=True)
class Report:
    id: int
    t: float  # minutes after landfall
    region: str
    line: str
    amount: float
    rescue: bool
    special: bool
    remote: bool  # assessed remotely after contact
    lat: float
    lon: float


class RateProfile:
    """rate(t) in reports per minute, t in minutes after landfall."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.offset_h = sc.landfall.astimezone(TZ).hour + sc.landfall.astimezone(TZ).minute / 60.0
        grid = np.arange(0.0, sc.days * 1440.0, 1.0) + 0.5
        d = self._diurnal(grid)
        g = self._surge(grid)
        first = grid < 1440.0
        # landfall day = factor x a normal day (1440 x normal, the diurnal profile has mean 1)
        self.amp = (sc.landfall_day_factor * 1440.0 - d[first].sum()) / max(1e-9, (g * d)[first].sum())
        self.normal = sc.total / float(((1.0 + self.amp * g) * d).sum())
        self.peak = float(self.rate(grid).max()) * 1.02

    def _surge(self, t: np.ndarray) -> np.ndarray:
        p = self.sc.peak_hours * 60.0
        tau = self.sc.decay_hours * 60.0
        rise = np.clip(t / p, 0.0, 1.0) if p > 0 else np.ones_like(t)
        return np.where(t < p, rise, np.exp(-(t - p) / tau))

    def _diurnal(self, t: np.ndarray) -> np.ndarray:
        if not self.sc.diurnal:
            return np.ones_like(t)
        h = (self.offset_h + t / 60.0) % 24.0
        i = np.floor(h).astype(int)
        frac = h - i
        return DIURNAL[i] * (1 - frac) + DIURNAL[(i + 1) % 24] * frac

    def rate(self, t: np.ndarray) -> np.ndarray:
        return self.normal * (1.0 + self.amp * self._surge(t)) * self._diurnal(t)


def generate_reports(sc: Scenario, seed: int) -> tuple[list[Report], RateProfile]:
    rng = np.random.default_rng([seed, 1])
    prof = RateProfile(sc)
    horizon = sc.days * 1440.0
    n_cand = rng.poisson(prof.peak * horizon)
    cand = np.sort(rng.uniform(0.0, horizon, n_cand))
    keep = rng.uniform(0.0, 1.0, n_cand) < prof.rate(cand) / prof.peak
    times = cand[keep]
    n = len(times)
    shares = np.array([x.share for x in sc.regions])
    region_i = rng.choice(len(sc.regions), size=n, p=shares / shares.sum())
    u = rng.uniform(size=n)
    line_i = np.where(u < sc.mix_motor, 0, np.where(u < sc.mix_motor + sc.mix_property, 1, 2))
    rescue = rng.uniform(size=n) < sc.rescue_needed
    special = rng.uniform(size=n) < sc.special_group
    z = rng.standard_normal(n)
    remote_u = rng.uniform(size=n)
    dx, dy = rng.standard_normal(n) * sc.spread_km, rng.standard_normal(n) * sc.spread_km
    out: list[Report] = []
    for k in range(n):
        reg = sc.regions[int(region_i[k])]
        line = LINES[int(line_i[k])]
        med, sigma = AMOUNTS[line]
        amount = round(float(med * math.exp(sigma * z[k])), 2)
        remote = (not rescue[k]) and remote_u[k] < sc.remote_share[line] and amount <= sc.desk_authority
        lat = reg.lat + float(dy[k]) / 111.0
        lon = reg.lon + float(dx[k]) / (111.0 * math.cos(math.radians(reg.lat)))
        out.append(
            Report(
                k + 1,
                float(times[k]),
                reg.city,
                line,
                amount,
                bool(rescue[k]),
                bool(special[k]),
                bool(remote),
                lat,
                lon,
            )
        )
    return out, prof


# ---------------------------------------------------------------- staff


@dataclass
class _Person:
    member: StaffMember
    group: str  # local_desk | local_survey | factory
    home: tuple[float, float]
    busy_until: float = 0.0
    busy: bool = False
    busy_marks: list[tuple[float, float]] = field(default_factory=list)


def _split(n: int, groups: list[ShiftGroup]) -> list[Shift]:
    """n people over the shift groups by share (largest remainder), in a stable order."""
    if not groups:
        return [Shift.parse("00:00-00:00")] * n
    raw = [g.share * n for g in groups]
    counts = [int(math.floor(x)) for x in raw]
    for i in sorted(range(len(groups)), key=lambda i: (-(raw[i] - counts[i]), i))[: n - sum(counts)]:
        counts[i] += 1
    out: list[Shift] = []
    for g, c in zip(groups, counts, strict=True):
        out.extend([g.window] * c)
    return out


def build_staff(sc: Scenario, policy: str, seed: int) -> list[_Person]:
    rng = np.random.default_rng([seed, 2])
    people: list[_Person] = []
    all_lines = frozenset(LINES)
    cities = frozenset(r.city for r in sc.regions)
    for reg in sc.regions:
        for j, shift in enumerate(_split(reg.local_desk_staff, sc.shifts["local_desk"])):
            m = StaffMember(
                id=f"{reg.city}-desk-{j + 1}", kinds=DESK_KINDS, skills=all_lines, authority_limit=sc.desk_authority,
                regions=frozenset({reg.city}), shifts=(shift,), home_district=reg.city, lat=reg.lat, lon=reg.lon,
            )  # fmt: skip
            people.append(_Person(m, "local_desk", (reg.lat, reg.lon)))
        n_senior = round(reg.local_surveyors * sc.senior_surveyor_share)
        for j, shift in enumerate(_split(reg.local_surveyors, sc.shifts["local_survey"])):
            lat = reg.lat + float(rng.standard_normal()) * sc.spread_km / 111.0
            lon = reg.lon + float(rng.standard_normal()) * sc.spread_km / (
                111.0 * math.cos(math.radians(reg.lat))
            )
            m = StaffMember(
                id=f"{reg.city}-survey-{j + 1}", kinds=frozenset({ONSITE_SURVEY}), skills=all_lines,
                authority_limit=math.inf if _senior(j, reg.local_surveyors, n_senior) else sc.surveyor_authority,
                regions=frozenset({reg.city}), shifts=(shift,), home_district=reg.city, lat=lat, lon=lon,
            )  # fmt: skip
            people.append(_Person(m, "local_survey", (lat, lon)))
    if policy == "factory":
        for f in sc.factories:
            for j, shift in enumerate(_split(f.remote_staff, sc.shifts["factory"])):
                m = StaffMember(
                    id=f"{f.city}-factory-{j + 1}", kinds=DESK_KINDS, skills=all_lines,
                    authority_limit=sc.desk_authority, regions=cities, shifts=(shift,), remote=True, factory=f.city,
                    home_district=f.city,
                )  # fmt: skip
                people.append(_Person(m, "factory", (0.0, 0.0)))
    return people


def _senior(j: int, n: int, n_senior: int) -> bool:
    """Spread the senior surveyors over the shift groups: every (n / n_senior)-th person."""
    if n_senior <= 0:
        return False
    step = n / n_senior
    return any(int(k * step) == j for k in range(n_senior))


# ---------------------------------------------------------------- the run


@dataclass
class _Case:
    report: Report
    contact_start: float | None = None
    assess_done: float | None = None
    assess_kind: str = ""


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return float(np.percentile(np.array(values), q))


def run_policy(sc: Scenario, policy: str, reports: list[Report], seed: int) -> dict[str, Any]:
    """One policy through the real dispatcher. Returns the figures (see the module docstring)."""
    config = DispatchConfig(handling_minutes=dict(sc.handling), speed_kmh=sc.speed_kmh)
    people = build_staff(sc, policy, seed)
    by_id = {p.member.id: p for p in people}
    t0 = sc.landfall
    cases = {r.id: _Case(r) for r in reports}
    horizon = (sc.days + DRAIN_DAYS) * 1440.0
    batch = sc.batch_minutes

    # events: (time, order, seq, kind, payload); order puts completions before arrivals before dispatch
    events: list[tuple[float, int, int, str, Any]] = []
    seq = 0

    def push(t: float, order: int, kind: str, payload: Any) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, order, seq, kind, payload))

    ticks: set[float] = set()

    def ensure_tick(t: float) -> None:
        tick = math.ceil(t / batch - 1e-9) * batch
        if tick not in ticks:
            ticks.add(tick)
            push(tick, 2, "tick", None)

    for r in reports:
        push(r.t, 1, "report", r)
    # a dispatch at every shift start (people coming on shift pick up waiting work)
    starts = sorted({(s.start.hour * 60 + s.start.minute) for p in people for s in p.member.shifts})
    local0 = t0.astimezone(TZ)
    midnight = local0.replace(hour=0, minute=0, second=0, microsecond=0)
    base = (midnight - local0).total_seconds() / 60.0
    for day in range(int(horizon // 1440) + 2):
        for m in starts:
            t = base + day * 1440 + m
            if 0 <= t <= horizon:
                push(t, 2, "shift", None)

    queues: dict[tuple[str, str], list[tuple[Any, dsp.ItemId]]] = {}
    items: dict[dsp.ItemId, WorkItem] = {}
    task_case: dict[dsp.ItemId, int] = {}
    next_task = 0
    free: set[dsp.StaffId] = {p.member.id for p in people}
    shift_cache: dict[tuple[Shift, ...], dict[int, bool]] = {}
    dispatch_calls = 0
    assignments = 0
    travel_total = 0.0
    travel_n = 0

    def on_shift_now(p: _Person, t: float) -> bool:
        minute = int(math.floor(t))
        cache = shift_cache.setdefault(p.member.shifts, {})
        v = cache.get(minute)
        if v is None:
            v = dsp.on_shift(p.member, t0 + timedelta(minutes=minute), config)
            cache[minute] = v
        return v

    def enqueue(case: _Case, kind: str, t: float) -> None:
        nonlocal next_task
        next_task += 1
        rep = case.report
        if kind == CONTACT:
            deadline = rep.t + sc.contact_sla_min
        else:
            deadline = rep.t + sc.survey_sla_h * 60.0
        it = WorkItem(
            id=next_task, kind=kind, deadline=t0 + timedelta(minutes=deadline), created_at=t0 + timedelta(minutes=t),
            skill=rep.line, region=rep.region, amount=rep.amount, lat=rep.lat, lon=rep.lon,
            special_group=rep.special, rescue=rep.rescue,
        )  # fmt: skip
        items[it.id] = it
        task_case[it.id] = rep.id
        bisect.insort(queues.setdefault((kind, rep.region), []), (dsp.queue_key(it), it.id))
        ensure_tick(t)

    def waiting() -> bool:
        return any(queues.values())

    while events:
        t, _order, _s, kind, payload = heapq.heappop(events)
        if t > horizon:
            break
        if kind == "report":
            enqueue(cases[payload.id], CONTACT, t)
        elif kind == "done":
            pid, task_id = payload
            p = by_id[pid]
            p.busy = False
            free.add(pid)
            it = items.pop(task_id)
            case = cases[task_case.pop(task_id)]
            if it.kind == CONTACT:
                nxt = REMOTE_ASSESSMENT if case.report.remote else ONSITE_SURVEY
                case.assess_kind = nxt
                enqueue(case, nxt, t)
            else:
                case.assess_done = t
            if waiting():
                ensure_tick(t)
        elif kind in ("tick", "shift"):
            if kind == "tick":
                ticks.discard(t)
            if not waiting():
                continue
            avail = [by_id[i].member for i in sorted(free) if on_shift_now(by_id[i], t)]
            if not avail:
                continue
            now = t0 + timedelta(minutes=t)
            n_head = dsp.window_for(avail, config)
            heads = [items[i] for q in queues.values() for _k, i in q[:n_head]]
            result = dsp.dispatch(heads, avail, now, config)
            dispatch_calls += 1
            for a in result:
                assert isinstance(a.item_id, int) and isinstance(a.staff_id, str)
                it = items[a.item_id]
                p = by_id[a.staff_id]
                q = queues[(it.kind, it.region)]
                q.pop(bisect.bisect_left(q, (dsp.queue_key(it), it.id)))
                travel = dsp.travel_minutes(it, p.member, config)
                dur = travel + config.handling(it)
                if it.kind == ONSITE_SURVEY:
                    travel_total += travel
                    travel_n += 1
                    # the surveyor ends up at the site
                    p.member = replace(p.member, lat=it.lat, lon=it.lon)
                case = cases[task_case[it.id]]
                if it.kind == CONTACT:
                    case.contact_start = t
                p.busy = True
                free.discard(p.member.id)
                p.busy_marks.append((t, t + dur))
                push(t + dur, 0, "done", (p.member.id, it.id))
                assignments += 1

    return _figures(
        sc, policy, people, cases, horizon, dispatch_calls, assignments, travel_total, travel_n, on_shift_now
    )


def _figures(
    sc: Scenario,
    policy: str,
    people: list[_Person],
    cases: dict[int, _Case],
    horizon: float,
    dispatch_calls: int,
    assignments: int,
    travel_total: float,
    travel_n: int,
    on_shift_now: Callable[[_Person, float], bool],
) -> dict[str, Any]:
    sla_c = sc.contact_sla_min
    sla_s = sc.survey_sla_h * 60.0
    all_cases = list(cases.values())
    n = len(all_cases)

    def contact_wait(c: _Case) -> float:
        return (c.contact_start if c.contact_start is not None else horizon) - c.report.t

    def surveyed_in_sla(c: _Case) -> bool:
        return c.assess_done is not None and c.assess_done - c.report.t <= sla_s

    waits = [contact_wait(c) for c in all_cases]
    survey_h = [(c.assess_done - c.report.t) / 60.0 for c in all_cases if c.assess_done is not None]

    # utilisation over the arrival window, minute resolution
    window = int(math.ceil(sc.days * 1440.0))
    groups: dict[str, list[float]] = {}
    shift_masks: dict[tuple[Shift, ...], np.ndarray] = {}
    for p in people:
        mask = shift_masks.get(p.member.shifts)
        if mask is None:
            mask = np.array([on_shift_now(p, float(m)) for m in range(window)], dtype=bool)
            shift_masks[p.member.shifts] = mask
        busy = np.zeros(window, dtype=bool)
        for a, b in p.busy_marks:
            lo, hi = int(math.floor(a)), int(math.ceil(b))
            if lo < window:
                busy[lo : min(hi, window)] = True
        acc = groups.setdefault(p.group, [0.0, 0.0])
        acc[0] += float((busy & mask).sum())
        acc[1] += float(mask.sum())
    tot_busy = sum(v[0] for v in groups.values())
    tot_on = sum(v[1] for v in groups.values())

    by_region: dict[str, dict[str, Any]] = {}
    for reg in sc.regions:
        rc = [c for c in all_cases if c.report.region == reg.city]
        by_region[reg.city] = {
            "reports": len(rc),
            "contacted_within_sla": _share(sum(1 for c in rc if contact_wait(c) <= sla_c), len(rc)),
            "surveyed_within_sla": _share(sum(1 for c in rc if surveyed_in_sla(c)), len(rc)),
            "p95_contact_minutes": round(_pct([contact_wait(c) for c in rc], 95), 1),
        }
    motor = [c for c in all_cases if c.report.line == "motor"]
    days_out = int(math.ceil(sc.days)) + 2
    motor_by_day = [
        _share(
            sum(1 for c in motor if c.assess_done is not None and c.assess_done <= (d + 1) * 1440.0),
            len(motor),
        )
        for d in range(days_out)
    ]
    return {
        "contacted_within_sla": _share(sum(1 for w in waits if w <= sla_c), n),
        "surveyed_within_sla": _share(sum(1 for c in all_cases if surveyed_in_sla(c)), n),
        "mean_contact_minutes": round(float(np.mean(waits)) if waits else 0.0, 2),
        "p95_contact_minutes": round(_pct(waits, 95), 2),
        "utilisation": round(tot_busy / tot_on, 4) if tot_on else 0.0,
        "reports": n,
        "contacted": sum(1 for c in all_cases if c.contact_start is not None),
        "assessed": len(survey_h),
        "remote_assessments": sum(1 for c in all_cases if c.assess_kind == REMOTE_ASSESSMENT),
        "onsite_surveys": sum(1 for c in all_cases if c.assess_kind == ONSITE_SURVEY),
        "max_contact_minutes": round(max(waits), 1) if waits else 0.0,
        "p95_survey_hours": round(_pct(survey_h, 95), 2),
        "rescue_contacted_within_sla": _share(
            sum(1 for c in all_cases if c.report.rescue and contact_wait(c) <= sla_c),
            sum(1 for c in all_cases if c.report.rescue),
        ),
        "motor_surveyed_by_day": motor_by_day,
        "utilisation_by_group": {
            g: round(v[0] / v[1], 4) if v[1] else 0.0 for g, v in sorted(groups.items())
        },
        "staff": {
            g: sum(1 for p in people if p.group == g) for g in ("local_desk", "local_survey", "factory")
        },
        "mean_travel_minutes": round(travel_total / travel_n, 1) if travel_n else 0.0,
        "dispatch_calls": dispatch_calls,
        "assignments": assignments,
        "by_region": by_region,
    }


def _share(a: int, b: int) -> float:
    return round(a / b, 4) if b else 1.0


def simulate(sc: Scenario, seed: int | None = None, policies: tuple[str, ...] = POLICIES) -> dict[str, Any]:
    """Both policies on the same arrivals. ``{"policies": {"local_only": {...}, "factory": {...}}, ...}``."""
    s = sc.seed if seed is None else seed
    reports, prof = generate_reports(sc, s)
    first_day = sum(1 for r in reports if r.t < 1440.0)
    by_day = [
        sum(1 for r in reports if d * 1440.0 <= r.t < (d + 1) * 1440.0)
        for d in range(int(math.ceil(sc.days)))
    ]
    out: dict[str, Any] = {
        "scenario": sc.name,
        "seed": s,
        "landfall": sc.landfall.isoformat(),
        "arrivals": {
            "reports": len(reports),
            "landfall_day": first_day,
            "normal_day": round(prof.normal * 1440.0, 1),
            "landfall_day_factor": round(first_day / (prof.normal * 1440.0), 2),
            "peak_per_hour": round(prof.peak / 1.02 * 60.0, 1),
            "by_day": by_day,
            "motor": sum(1 for r in reports if r.line == "motor"),
            "rescue": sum(1 for r in reports if r.rescue),
        },
        "policies": {p: run_policy(sc, p, reports, s) for p in policies},
        "notes": sc.notes,
    }
    return out


def table_lines(result: dict[str, Any]) -> list[str]:
    """A plain-text summary for ``--format table``."""
    a = result["arrivals"]
    lines = [
        f"{result['scenario']} (seed {result['seed']}): {a['reports']} reports, {a['landfall_day']} in the 24 h after "
        f"landfall ({a['landfall_day_factor']}x a normal day), peak {a['peak_per_hour']}/h",
        f"{'policy':<12}{'contact<=SLA':>14}{'survey<=SLA':>13}{'mean contact':>14}{'p95 contact':>13}{'util':>7}",
    ]
    for name, f in result["policies"].items():
        lines.append(
            f"{name:<12}{f['contacted_within_sla']:>14.4f}{f['surveyed_within_sla']:>13.4f}"
            f"{f['mean_contact_minutes']:>12.1f} m{f['p95_contact_minutes']:>11.1f} m{f['utilisation']:>7.2f}"
        )
    return lines


__all__ = [
    "POLICIES",
    "SCENARIO_DIR",
    "RateProfile",
    "Report",
    "Scenario",
    "build_staff",
    "generate_reports",
    "load_scenario",
    "parse_scenario",
    "run_policy",
    "shipped_scenarios",
    "simulate",
    "table_lines",
]
