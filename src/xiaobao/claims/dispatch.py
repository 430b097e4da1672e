"""Claims dispatch engine 理赔调度引擎 — pure: no database, no web, no settings.

Who does which piece of claims work next: first contact (首次联系), remote assessment (远程/视频定损) and on-site
survey (现场查勘), for the online claims factory 线上理赔工厂 and the catastrophe command 大灾指挥平台.
The simulation (``claims/simulation.py``) and the persisted claims module both call THIS code.

API (plain dataclasses in, plain dataclasses out)
-------------------------------------------------
``WorkItem(id, kind, deadline, created_at, skill, region, amount=0, district="", lat=None, lon=None,
special_group=False, rescue=False, pinned_staff_id=None, handling_minutes=None)``
    One piece of waiting work. ``kind`` is ``contact`` | ``remote_assessment`` | ``onsite_survey``;
    ``skill`` a line (``motor`` | ``property`` | ``agriculture`` or any other string staff list);
    ``region`` the city (e.g. ``泉州市`` or its code ``3505``; staff regions that are numeric codes cover
    their sub-codes, ``35`` = all of Fujian); ``amount`` the estimated loss in yuan; ``priority_class`` is derived:
    0 rescue / people at risk, 1 special group (elderly, disabled ...), 2 everyone else.
    ``pinned_staff_id`` is a manual override (see below).
``StaffMember(id, kinds, skills, authority_limit, regions, capacity=1, load=0, online=True, shifts=(),
remote=False, factory=None, home_district="", lat=None, lon=None, busy_minutes=None)``
    ``kinds`` the task kinds the person does; ``authority_limit`` the largest amount they may assess (yuan;
    ``math.inf`` for no limit); ``regions`` the cities they are licensed or allowed to work for;
    ``capacity - load`` free slots; ``shifts`` daily local-time windows (empty = always on shift);
    ``remote`` true for factory staff working from another city; ``lat/lon`` the current position
    (surveyors); ``busy_minutes`` the work already on their desk (default ``load`` x their mean handling time).
``DispatchConfig``: weights of the cost model, handling minutes per kind, travel speed, batch window.

``queue_order(items)``           the queue: priority class, then earliest deadline, then arrival, then id.
``ineligibility(item, staff, now)`` None or why not: ``offline`` ``off_shift`` ``kind`` ``skill`` ``authority``
                                 ``region`` ``onsite_remote``; ``eligible(...)`` is its boolean.
``dispatch(items, staff, now, config) -> list[Assignment(item_id, staff_id, cost, reason, slot)]``
``reassign_offline(open_assignments, items, staff, now, config) -> Reassignment(assignments, released)``
``instance_matrix(items, staff, now, config)`` the full cost matrix of one batch (the benchmark's optimum).

Rules
-----
Eligibility (hard): online and on shift; the kind is one the person does; the skill (line) is theirs; for
assessments (remote or on site) the amount is within their authority (contact needs no authority); the item's
region is one of their regions; on-site surveys only by local (non-remote) staff of that region. Factory staff
(``remote=True``) do desk work (contact, remote assessment) for every region they are licensed for.

Order: rescue / people at risk first, then special groups, then earliest deadline (EDF), then arrival.

Cost of an eligible (item, staff, slot) triple, in minutes-equivalent:
``w_late x minutes of lateness this pair adds`` (x ``rescue_late_factor`` for rescue): the finish time is the
person's queue (busy minutes + earlier slots of this batch) + travel + handling, compared with serving the item
this minute on the spot — only the avoidable part counts, so an item already late is not shunned for being late;
``w_travel x travel minutes`` (on-site only,
haversine / ``speed_kmh`` from the person's current position); ``w_wait x minutes until the person can start``
(load balancing); ``remote_penalty`` for factory staff (local staff know the place and the dialect — 闽南话 in
Quanzhou — so they take the work when they are free; the penalty is a few minutes, so remote staff take over as
soon as local queues are longer than that, which is the point of the factory); ``w_seniority x log2(authority /
amount)`` (capped) for assessments, so that small claims do not use up the few people with high authority.

Batch: the solver maximises the number of assignments, then serves higher priority classes, then trades
deadlines against cost: ``class_gap x class + w_slack x slack minutes (capped) + cost`` in one
``scipy.optimize.linear_sum_assignment`` per connected block of (kind, region) queues and the staff who serve
them (blocks without shared staff are independent, so this is exact). Each person contributes ``capacity -
load`` slot columns (slot j starts after j earlier handling times). Only the head of each block's queue enters
its matrix: the first ``window = max(window_min, window_factor x slots)`` items in queue order, plus, for any
group of people with the same rules who find fewer than ``per_slot`` eligible items per free slot there, the
next items in queue order they may do (specialists are not left idle while their work waits further down).
With more work than free slots the lower end of the queue could not win a slot anyway unless it is much
cheaper; the benchmark (``bench/dispatch.py``) measures what this reduction costs against the optimum of the
full matrix. A caller with a huge backlog may pass just the first ``window_for(staff)`` items of each (kind,
region) queue (``queue_heads``; the simulation does): the answer is the same whenever the people of a kind
and region may take every item of their queues (generalists), otherwise a specialist whose work lies deeper
may get nothing in this batch.

Manual override: an item with ``pinned_staff_id`` goes to that person first, before the batch, even beyond
their capacity (a supervisor's decision) — but never against the hard rules: a pin to someone ineligible
(offline, off shift, no licence for the region, amount above authority ...) is not followed; the item is
dispatched normally and its ``Assignment.reason`` says why the pin was ignored.

Reassignment: ``reassign_offline`` takes the open assignments (item id -> staff id), releases those whose
person is offline, off shift or unknown, drops pins to them, and dispatches the released items (with any other
waiting items passed) to the people still available; ``released`` lists every released item, assigned again or
back in the queue.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from itertools import islice
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import linear_sum_assignment

CONTACT = "contact"
REMOTE_ASSESSMENT = "remote_assessment"
ONSITE_SURVEY = "onsite_survey"
KINDS: tuple[str, ...] = (CONTACT, REMOTE_ASSESSMENT, ONSITE_SURVEY)
DESK_KINDS = frozenset({CONTACT, REMOTE_ASSESSMENT})

RESCUE, SPECIAL_GROUP, NORMAL = 0, 1, 2
PRIORITY_LABELS = {RESCUE: "rescue", SPECIAL_GROUP: "special_group", NORMAL: "normal"}

ItemId = int | str
StaffId = int | str

# Infeasible pairs in the matrix. Far above any feasible entry (class_gap x 2 + slack + cost stay below 1e8).
INFEASIBLE = 1e9


@dataclass(frozen=True, slots=True)
class WorkItem:
    id: ItemId
    kind: str
    deadline: datetime
    created_at: datetime
    skill: str
    region: str
    amount: float = 0.0
    district: str = ""
    lat: float | None = None
    lon: float | None = None
    special_group: bool = False
    rescue: bool = False
    pinned_staff_id: StaffId | None = None
    handling_minutes: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.deadline.tzinfo is None or self.created_at.tzinfo is None:
            raise ValueError("deadline and created_at must be timezone-aware")

    @property
    def priority_class(self) -> int:
        if self.rescue:
            return RESCUE
        if self.special_group:
            return SPECIAL_GROUP
        return NORMAL


@dataclass(frozen=True, slots=True)
class Shift:
    """A daily window in local time; ``end <= start`` runs past midnight; ``start == end`` is all day."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Shift:
        """``"08:00-20:00"``; ``24:00`` is accepted as an end."""
        a, sep, b = text.partition("-")
        if not sep:
            raise ValueError(f"shift {text!r} is not HH:MM-HH:MM")
        start = time.fromisoformat(a.strip())
        b = b.strip()
        end = time(0, 0) if b == "24:00" else time.fromisoformat(b)
        return cls(start, end)

    def covers(self, t: time) -> bool:
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: StaffId
    kinds: frozenset[str]
    skills: frozenset[str]
    authority_limit: float
    regions: frozenset[str]
    capacity: int = 1
    load: int = 0
    online: bool = True
    shifts: tuple[Shift, ...] = ()
    remote: bool = False
    factory: str | None = None
    home_district: str = ""
    lat: float | None = None
    lon: float | None = None
    busy_minutes: float | None = None

    def free_slots(self) -> int:
        return max(0, self.capacity - self.load)


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    handling_minutes: Mapping[str, float] = field(
        default_factory=lambda: {CONTACT: 5.0, REMOTE_ASSESSMENT: 20.0, ONSITE_SURVEY: 45.0}
    )
    speed_kmh: float = 30.0  # city traffic after a storm
    default_travel_minutes: float = 30.0  # when a position is unknown
    w_late: float = 2.0
    rescue_late_factor: float = 5.0
    w_travel: float = 1.0
    w_wait: float = 0.5
    remote_penalty: float = 5.0
    w_seniority: float = 1.0
    seniority_cap: float = 8.0  # log2 units
    seniority_floor_amount: float = 2000.0
    w_slack: float = 1.0  # per minute of slack: EDF inside a class, traded 1:1 against travel minutes
    slack_cap_hours: float = 72.0
    class_gap: float = 1e6
    window_factor: float = 1.25
    window_min: int = 32
    per_slot: int = (
        2  # eligible candidates each person should see per free slot (beyond the window if need be)
    )
    timezone: str = "Asia/Shanghai"

    def handling(self, item: WorkItem) -> float:
        if item.handling_minutes is not None:
            return item.handling_minutes
        return float(self.handling_minutes[item.kind])

    def window(self, slots: int) -> int:
        return max(self.window_min, math.ceil(self.window_factor * slots))


DEFAULT_CONFIG = DispatchConfig()


@dataclass(frozen=True, slots=True)
class Assignment:
    item_id: ItemId
    staff_id: StaffId
    cost: float  # the cost model's value for this pair (minutes-equivalent), without priority terms
    reason: str
    slot: int = 0  # which of the person's free slots (0 = next), as in instance_matrix


@dataclass(frozen=True, slots=True)
class Reassignment:
    assignments: list[Assignment]
    released: list[ItemId]


def _id_key(v: ItemId) -> tuple[int, int, str]:
    return (0, v, "") if isinstance(v, int) else (1, 0, str(v))


def queue_key(item: WorkItem) -> tuple[int, datetime, datetime, tuple[int, int, str]]:
    return (item.priority_class, item.deadline, item.created_at, _id_key(item.id))


def queue_order(items: Iterable[WorkItem]) -> list[WorkItem]:
    """Rescue first, then special groups, then earliest deadline; ties by arrival, then id."""
    return sorted(items, key=queue_key)


def queue_heads(items: Iterable[WorkItem], n: int) -> list[WorkItem]:
    """The first ``n`` items of every (kind, region) queue (see the module docstring on when that is enough)."""
    queues: dict[tuple[str, str], list[WorkItem]] = {}
    for it in items:
        queues.setdefault((it.kind, it.region), []).append(it)
    out: list[WorkItem] = []
    for q in queues.values():
        out.extend(heapq.nsmallest(n, q, key=queue_key))
    return out


def window_for(staff: Iterable[StaffMember], config: DispatchConfig = DEFAULT_CONFIG) -> int:
    """A head size per queue for ``queue_heads``: the window and every group's share of candidates."""
    slots = sum(s.free_slots() for s in staff)
    return max(config.window(slots), config.per_slot * slots)


def on_shift(staff: StaffMember, now: datetime, config: DispatchConfig = DEFAULT_CONFIG) -> bool:
    if not staff.shifts:
        return True
    t = now.astimezone(ZoneInfo(config.timezone)).time()
    return any(s.covers(t) for s in staff.shifts)


def region_allowed(region: str, allowed: frozenset[str]) -> bool:
    """Exact match, or for numeric administrative codes (GB/T 2260) a prefix: ``35`` covers ``3505``."""
    if region in allowed:
        return True
    return region.isdigit() and any(a.isdigit() and region.startswith(a) for a in allowed)


def ineligibility(
    item: WorkItem, staff: StaffMember, now: datetime | None = None, config: DispatchConfig = DEFAULT_CONFIG
) -> str | None:
    """Why ``staff`` may not take ``item`` (None: they may). Capacity is not a rule of eligibility."""
    if not staff.online:
        return "offline"
    if now is not None and not on_shift(staff, now, config):
        return "off_shift"
    if item.kind not in staff.kinds:
        return "kind"
    if item.skill not in staff.skills:
        return "skill"
    if item.kind != CONTACT and item.amount > staff.authority_limit:
        return "authority"
    if not region_allowed(item.region, staff.regions):
        return "region"
    if item.kind == ONSITE_SURVEY and staff.remote:
        return "onsite_remote"
    return None


def eligible(
    item: WorkItem, staff: StaffMember, now: datetime | None = None, config: DispatchConfig = DEFAULT_CONFIG
) -> bool:
    return ineligibility(item, staff, now, config) is None


def _haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 6371.0088 * 2 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def travel_minutes(item: WorkItem, staff: StaffMember, config: DispatchConfig = DEFAULT_CONFIG) -> float:
    """Driving time the cost model assumes for an on-site survey (0 for desk work)."""
    if item.kind != ONSITE_SURVEY:
        return 0.0
    if None in (item.lat, item.lon, staff.lat, staff.lon):
        return config.default_travel_minutes
    d = _haversine_km(
        np.array(item.lat, dtype=float),
        np.array(item.lon, dtype=float),
        np.array(staff.lat, dtype=float),
        np.array(staff.lon, dtype=float),
    )
    return float(d) / config.speed_kmh * 60.0


def _busy(staff: StaffMember, config: DispatchConfig) -> float:
    if staff.busy_minutes is not None:
        return float(staff.busy_minutes)
    kinds = [k for k in staff.kinds if k in config.handling_minutes] or [CONTACT]
    mean = sum(float(config.handling_minutes[k]) for k in kinds) / len(kinds)
    return staff.load * mean


@dataclass
class _Columns:
    """One column per free slot of each person in a block."""

    staff: list[StaffMember]
    index: np.ndarray  # column -> position in ``staff``
    slot: np.ndarray  # column -> slot number of that person
    start: np.ndarray  # minutes until the slot could start, before adding the slot's own predecessors


def _columns(
    staff: Sequence[StaffMember], first_slot: Mapping[StaffId, int], config: DispatchConfig
) -> _Columns:
    index: list[int] = []
    slot: list[int] = []
    start: list[float] = []
    for n, s in enumerate(staff):
        j0 = first_slot.get(s.id, 0)
        base = _busy(s, config)
        for j in range(j0, j0 + max(0, s.capacity - s.load - j0)):
            index.append(n)
            slot.append(j)
            start.append(base)
    return _Columns(
        list(staff),
        np.array(index, dtype=np.int64),
        np.array(slot, dtype=np.int64),
        np.array(start, dtype=float),
    )


@dataclass
class _Terms:
    total: np.ndarray  # with priority terms; INFEASIBLE where not eligible
    cost: np.ndarray  # cost model only
    travel: np.ndarray
    start: np.ndarray
    late: np.ndarray


def _eligibility(items: Sequence[WorkItem], staff: Sequence[StaffMember]) -> np.ndarray:
    """items x people: the hard rules of ``ineligibility`` except online/shift (the caller filters those)."""
    regions = sorted({it.region for it in items})
    skills = sorted({it.skill for it in items})
    r_idx = {r: k for k, r in enumerate(regions)}
    k_idx = {k: i for i, k in enumerate(skills)}
    kind_code = np.array([KINDS.index(it.kind) for it in items], dtype=np.int64)
    skill_code = np.array([k_idx[it.skill] for it in items], dtype=np.int64)
    region_code = np.array([r_idx[it.region] for it in items], dtype=np.int64)
    amount = np.array([it.amount for it in items], dtype=float)
    p = len(staff)
    kind_ok = np.array([[k in s.kinds for k in KINDS] for s in staff], dtype=bool).reshape(p, 3)
    skill_ok = np.array([[k in s.skills for k in skills] for s in staff], dtype=bool).reshape(p, len(skills))
    region_ok = np.array(
        [[region_allowed(r, s.regions) for r in regions] for s in staff], dtype=bool
    ).reshape(p, len(regions))
    auth = np.array([s.authority_limit for s in staff], dtype=float)
    remote = np.array([s.remote for s in staff], dtype=bool)
    onsite = kind_code == KINDS.index(ONSITE_SURVEY)
    contact = kind_code == KINDS.index(CONTACT)
    elig = kind_ok[:, kind_code].T & skill_ok[:, skill_code].T & region_ok[:, region_code].T
    elig &= (amount[:, None] <= auth[None, :]) | contact[:, None]
    elig &= ~(onsite[:, None] & remote[None, :])
    return elig


def _matrix(
    items: Sequence[WorkItem], cols: _Columns, now: datetime, config: DispatchConfig, slot_offset: np.ndarray
) -> _Terms:
    """Cost terms for items x slot columns. ``slot_offset[c]`` is how many batch slots precede column c."""
    n, m = len(items), len(cols.index)
    staff = cols.staff
    kind_code = np.array([KINDS.index(it.kind) for it in items], dtype=np.int64)
    amount = np.array([it.amount for it in items], dtype=float)
    handling = np.array([config.handling(it) for it in items], dtype=float)
    slack = np.array([(it.deadline - now).total_seconds() / 60.0 for it in items], dtype=float)
    pclass = np.array([it.priority_class for it in items], dtype=float)
    rescue = np.array([it.rescue for it in items], dtype=bool)
    ilat = np.array([np.nan if it.lat is None else it.lat for it in items], dtype=float)
    ilon = np.array([np.nan if it.lon is None else it.lon for it in items], dtype=float)

    ci = cols.index
    elig = _eligibility(items, staff)[:, ci]
    auth = np.array([s.authority_limit for s in staff], dtype=float)[ci]
    remote = np.array([s.remote for s in staff], dtype=bool)[ci]
    slat = np.array([np.nan if s.lat is None else s.lat for s in staff], dtype=float)[ci]
    slon = np.array([np.nan if s.lon is None else s.lon for s in staff], dtype=float)[ci]
    onsite = kind_code == KINDS.index(ONSITE_SURVEY)
    contact = kind_code == KINDS.index(CONTACT)

    start = cols.start[None, :] + slot_offset[None, :] * handling[:, None]
    travel = np.zeros((n, m))
    if onsite.any():
        rows = np.flatnonzero(onsite)
        d = _haversine_km(ilat[rows][:, None], ilon[rows][:, None], slat[None, :], slon[None, :])
        t = d / config.speed_kmh * 60.0
        travel[rows] = np.where(np.isnan(t), config.default_travel_minutes, t)
    finish = start + travel + handling[:, None]
    # lateness this pair adds: beyond what the item would have if served this minute by someone on the spot
    late = np.maximum(0.0, finish - slack[:, None]) - np.maximum(0.0, handling - slack)[:, None]
    late_w = np.where(rescue, config.w_late * config.rescue_late_factor, config.w_late)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log2(
            np.maximum(auth[None, :], config.seniority_floor_amount)
            / np.maximum(amount[:, None], config.seniority_floor_amount)
        )
    seniority = np.where(
        contact[:, None], 0.0, np.minimum(np.nan_to_num(ratio, posinf=1e9), config.seniority_cap)
    )
    cost = (
        late_w[:, None] * late
        + config.w_travel * travel
        + config.w_wait * start
        + config.remote_penalty * remote[None, :]
        + config.w_seniority * seniority
    )
    cap = config.slack_cap_hours * 60.0
    total = cost + (config.class_gap * pclass + config.w_slack * np.clip(slack, -cap, cap))[:, None]
    total[~elig] = INFEASIBLE
    return _Terms(total=total, cost=cost, travel=travel, start=start, late=late)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, x: tuple[str, str]) -> tuple[str, str]:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _serves(s: StaffMember, key: tuple[str, str]) -> bool:
    kind, region = key
    return kind in s.kinds and region_allowed(region, s.regions) and not (kind == ONSITE_SURVEY and s.remote)


def _reason(item: WorkItem, travel: float, start: float, late: float, note: str) -> str:
    parts = [PRIORITY_LABELS[item.priority_class]]
    if item.kind == ONSITE_SURVEY:
        parts.append(f"travel {travel:.0f} min")
    parts.append(f"starts in {start:.0f} min")
    if late > 0:
        parts.append(f"late by {late:.0f} min")
    if note:
        parts.append(note)
    return "; ".join(parts)


def _candidates(
    queues: list[list[WorkItem]],
    staff: list[StaffMember],
    used: Mapping[StaffId, int],
    config: DispatchConfig,
    slots: int,
) -> list[WorkItem]:
    """The block's window (the first ``window(slots)`` items in queue order), then, for any group of people
    with the same rules who find fewer than ``per_slot`` eligible items per free slot of the group in it, the
    next items in queue order they may do — so specialists (property only, high authority ...) are not left
    idle while their work waits further down the queue."""
    merged = heapq.merge(*(sorted(q, key=queue_key) for q in queues), key=queue_key)
    cand = list(islice(merged, config.window(slots)))
    # people with the same rules share their candidates: count per group of identical eligibility
    groups: dict[tuple[object, ...], list[StaffMember]] = {}
    for s in staff:
        groups.setdefault((s.kinds, s.skills, s.authority_limit, s.regions, s.remote), []).append(s)
    reps = [g[0] for g in groups.values()]
    need = np.array(
        [config.per_slot * sum(s.capacity - s.load - used.get(s.id, 0) for s in g) for g in groups.values()],
        dtype=np.int64,
    )
    if cand:
        need -= _eligibility(cand, reps).sum(axis=0)
    chunk = max(256, len(cand))
    while (need > 0).any():
        more = list(islice(merged, chunk))
        if not more:
            break
        needy = np.flatnonzero(need > 0)
        e = _eligibility(more, [reps[i] for i in needy])
        rank = np.cumsum(e, axis=0)
        take = (e & (rank <= need[needy][None, :])).any(axis=1)
        cand.extend(more[int(i)] for i in np.flatnonzero(take))
        need[needy] -= np.minimum(e.sum(axis=0), need[needy])
    return cand


def dispatch(
    items: Iterable[WorkItem],
    staff: Iterable[StaffMember],
    now: datetime,
    config: DispatchConfig = DEFAULT_CONFIG,
) -> list[Assignment]:
    """Assign waiting work to available staff (see the module docstring). Items already assigned are not passed."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    items = list(items)
    by_id = {s.id: s for s in staff}
    available = [s for s in by_id.values() if s.online and on_shift(s, now, config)]
    used: dict[StaffId, int] = {}
    out: list[Assignment] = []
    pool: list[WorkItem] = []
    pin_notes: dict[ItemId, str] = {}

    # 1. manual overrides
    for it in queue_order(i for i in items if i.pinned_staff_id is not None):
        s = by_id.get(it.pinned_staff_id)  # type: ignore[arg-type]
        why = "unknown staff" if s is None else ineligibility(it, s, now, config)
        if why is not None or s is None:
            pin_notes[it.id] = f"pin to {it.pinned_staff_id} ignored: {why}"
            pool.append(it)
            continue
        j = used.get(s.id, 0)
        cols = _Columns([s], np.zeros(1, dtype=np.int64), np.array([j]), np.array([_busy(s, config)]))
        t = _matrix([it], cols, now, config, np.array([j], dtype=float))
        used[s.id] = j + 1
        out.append(
            Assignment(
                it.id,
                s.id,
                float(t.cost[0, 0]),
                _reason(it, t.travel[0, 0], t.start[0, 0], t.late[0, 0], "pinned (manual override)"),
                j,
            )
        )
    pool.extend(i for i in items if i.pinned_staff_id is None)
    if not pool:
        return out

    # 2. queues by (kind, region), blocks joined by shared staff
    queues: dict[tuple[str, str], list[WorkItem]] = {}
    for it in pool:
        queues.setdefault((it.kind, it.region), []).append(it)
    free = [s for s in available if s.capacity - s.load - used.get(s.id, 0) > 0]
    uf = _UnionFind()
    staff_block: list[tuple[StaffMember, tuple[str, str]]] = []
    for key in queues:
        uf.find(key)
    for s in free:
        keys = [k for k in queues if _serves(s, k)]
        for k in keys[1:]:
            uf.union(keys[0], k)
        if keys:
            staff_block.append((s, keys[0]))
    blocks: dict[tuple[str, str], list[StaffMember]] = {}
    for s, k in staff_block:
        blocks.setdefault(uf.find(k), []).append(s)
    block_queues: dict[tuple[str, str], list[list[WorkItem]]] = {}
    for key, q in queues.items():
        block_queues.setdefault(uf.find(key), []).append(q)

    # 3. one assignment problem per block, on the head of its queues
    for root in sorted(blocks):
        bstaff = blocks[root]
        cols = _columns(bstaff, used, config)
        m = len(cols.index)
        if m == 0:
            continue
        cand = _candidates(block_queues[root], bstaff, used, config, m)
        terms = _matrix(cand, cols, now, config, cols.slot.astype(float))
        rows, cidx = linear_sum_assignment(terms.total)
        for r, c in zip(rows.tolist(), cidx.tolist(), strict=True):
            if terms.total[r, c] >= INFEASIBLE:
                continue
            it = cand[r]
            s = cols.staff[int(cols.index[c])]
            out.append(
                Assignment(
                    it.id,
                    s.id,
                    float(terms.cost[r, c]),
                    _reason(
                        it,
                        terms.travel[r, c],
                        terms.start[r, c],
                        terms.late[r, c],
                        pin_notes.get(it.id, "batch"),
                    ),
                    int(cols.slot[c]),
                )
            )
    return out


def instance_matrix(
    items: Sequence[WorkItem],
    staff: Iterable[StaffMember],
    now: datetime,
    config: DispatchConfig = DEFAULT_CONFIG,
    chunk: int = 2000,
) -> tuple[np.ndarray, list[tuple[StaffId, int]]]:
    """The whole batch as one matrix: every item (rows, in the order given) x every free slot of every available
    person (columns: (staff id, slot)), with the same cost function and priority terms ``dispatch`` optimises;
    ineligible pairs cost ``INFEASIBLE``. Pins are not modelled (pass unpinned items)."""
    available = [s for s in staff if s.online and on_shift(s, now, config) and s.free_slots() > 0]
    cols = _columns(available, {}, config)
    out = np.empty((len(items), len(cols.index)), dtype=float)
    for a in range(0, len(items), chunk):
        part = items[a : a + chunk]
        out[a : a + len(part)] = _matrix(part, cols, now, config, cols.slot.astype(float)).total
    labels = [(cols.staff[int(i)].id, int(j)) for i, j in zip(cols.index, cols.slot, strict=True)]
    return out, labels


def reassign_offline(
    open_assignments: Mapping[ItemId, StaffId],
    items: Iterable[WorkItem],
    staff: Iterable[StaffMember],
    now: datetime,
    config: DispatchConfig = DEFAULT_CONFIG,
) -> Reassignment:
    """Release work held by people who went offline or off shift (or are unknown) and dispatch it again.

    ``items`` must contain the items of ``open_assignments`` that may need releasing; other waiting items passed
    along compete with them in the usual order. Pins to the departed person are dropped."""
    staff = list(staff)
    by_id = {s.id: s for s in staff}
    items = list(items)
    released: list[ItemId] = []
    gone: dict[ItemId, str] = {}
    for item_id, staff_id in open_assignments.items():
        s = by_id.get(staff_id)
        if s is None or not s.online or not on_shift(s, now, config):
            released.append(item_id)
            gone[item_id] = (
                f"reassigned from {staff_id}: {'unknown' if s is None else 'offline' if not s.online else 'off shift'}"
            )
    held = set(open_assignments) - set(released)
    pool: list[WorkItem] = []
    for it in items:
        if it.id in held:
            continue
        if it.id in gone and it.pinned_staff_id == open_assignments[it.id]:
            it = replace(it, pinned_staff_id=None)
        pool.append(it)
    result = dispatch(pool, staff, now, config)
    marked = [replace(a, reason=f"{a.reason}; {gone[a.item_id]}") if a.item_id in gone else a for a in result]
    return Reassignment(marked, released)


__all__ = [
    "CONTACT",
    "DEFAULT_CONFIG",
    "DESK_KINDS",
    "INFEASIBLE",
    "KINDS",
    "NORMAL",
    "ONSITE_SURVEY",
    "REMOTE_ASSESSMENT",
    "RESCUE",
    "SPECIAL_GROUP",
    "Assignment",
    "DispatchConfig",
    "Reassignment",
    "Shift",
    "StaffMember",
    "WorkItem",
    "dispatch",
    "eligible",
    "ineligibility",
    "instance_matrix",
    "on_shift",
    "queue_heads",
    "queue_key",
    "queue_order",
    "reassign_offline",
    "region_allowed",
    "travel_minutes",
    "window_for",
]
