"""Catastrophe command page (大灾指挥看板): one snapshot of an event for the live page.

Two layers:

* pure functions over plain rows (`CaseRow`, `StaffRow`, money movements): counts and SLA, the regulator's
  one-week paid-or-pre-paid ratio (NFRA 2023: within one week of the event, paid + pre-paid >= 30% of the
  estimated loss, the same yardstick as the daily report in `reports.py`) and motor closure rate (>= 90% closed
  by the end of the month), queue depth and age per factory and per region, staff utilisation per factory and
  team, arrival and service rates over a recent window and a fluid backlog projection at those rates
  (`project_backlog`), and the map features;
* `snapshot()`, which loads those rows for the cases the caller may see (`services.scoped`) and assembles a
  JSON-ready dict, and `fingerprint()`, one cheap query whose value changes whenever anything the snapshot shows
  changes (the live stream in `live.py` compares it every couple of seconds and pushes only on change).

No personal data: the map carries report numbers, status, line and location, never names or phones."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import case, func, select, true
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.claims import geo
from xiaobao.claims.domain import OPEN_STATUSES, RESCUE_KINDS, RESCUE_STATUS_META, STATUS_META, Status
from xiaobao.claims.events import get_event
from xiaobao.claims.services import scoped
from xiaobao.claims.tables import (
    CatEvent,
    ClaimCase,
    ClaimEvent,
    Factory,
    FactoryEvent,
    RescueRequest,
    StaffProfile,
    Team,
)
from xiaobao.core.calendar import CN_TZ

ONE_WEEK_TARGET = 0.30
MOTOR_CLOSED_TARGET = 0.90
RATE_WINDOW_HOURS = 6.0
HORIZON_HOURS = 48
MAP_LIMIT = 3000
"""At most this many case points on the map (open cases first, by priority, then the most recent)."""

_OPEN = frozenset(s.value for s in OPEN_STATUSES)
_RESCUE_ACTIVE = frozenset({"requested", "accepted", "en_route", "arrived"})


# ---------------------------------------------------------------- plain rows


@dataclass(slots=True)
class CaseRow:
    id: int
    report_no: str
    status: str
    line: str
    district: str | None
    lat: float | None
    lon: float | None
    reported_at: datetime
    contact_due: datetime
    contacted_at: datetime | None = None
    surveyed_at: datetime | None = None
    assessed_at: datetime | None = None
    paid_at: datetime | None = None
    done_at: datetime | None = None
    """When the case left the open set (closed, cancelled or denied); None while open."""
    assigned_user_id: int | None = None
    estimate: Decimal | None = None
    """Assessed amount, else the reporter's estimate."""
    rescue: bool = False
    priority: int = 0
    approx_point: bool = False
    """lat/lon are a place-name seat (geocoded from text), not the reporter's own position."""

    @property
    def open(self) -> bool:
        return self.status in _OPEN


@dataclass(slots=True)
class StaffRow:
    user_id: int
    username: str
    name: str
    factory: str | None
    team: str | None
    kind: str
    online: bool
    capacity: int
    load: int
    allowed_regions: tuple[str, ...] = ()


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _hours(d: timedelta) -> float:
    return d.total_seconds() / 3600.0


# ---------------------------------------------------------------- pure aggregation


def counts(rows: Sequence[CaseRow], now: datetime) -> dict[str, Any]:
    """Reported / contacted (within the SLA) / surveyed / assessed / closed / paid, and the contact queue."""
    n = len(rows)
    contacted = sum(1 for r in rows if r.contacted_at is not None)
    in_sla = sum(1 for r in rows if r.contacted_at is not None and r.contacted_at <= r.contact_due)
    by_status: dict[str, int] = defaultdict(int)
    for r in rows:
        by_status[r.status] += 1
    return {
        "reported": n,
        "contacted": contacted,
        "contacted_in_sla": in_sla,
        "contact_sla_rate": _ratio(in_sla, n),
        "awaiting_contact": by_status.get(Status.REPORTED.value, 0),
        "contact_overdue": sum(1 for r in rows if r.status == Status.REPORTED and r.contact_due < now),
        "surveyed": sum(1 for r in rows if r.surveyed_at is not None or r.assessed_at is not None),
        "assessed": sum(1 for r in rows if r.assessed_at is not None),
        "closed": by_status.get(Status.CLOSED.value, 0),
        "paid": sum(1 for r in rows if r.paid_at is not None),
        "open": sum(1 for r in rows if r.open),
        "by_status": dict(by_status),
    }


def one_week_ratio(
    rows: Sequence[CaseRow],
    money: Iterable[tuple[datetime, str, Decimal]],
    starts_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """(paid + pre-paid within 7 days of the event start) / estimated loss of the cases reported by then.

    `money` is (at, "pay" | "prepay", amount). Before the week is over the figure is the running value."""
    end = starts_at + timedelta(days=7)
    cut = min(now, end)
    paid = sum((a for at, k, a in money if k == "pay" and at <= cut), Decimal("0"))
    prepaid = sum((a for at, k, a in money if k == "prepay" and at <= cut), Decimal("0"))
    estimate = sum((r.estimate or Decimal("0") for r in rows if r.reported_at <= cut), Decimal("0"))
    ratio = float((paid + prepaid) / estimate) if estimate else 0.0
    return {
        "ratio": ratio,
        "paid": float(paid),
        "prepaid": float(prepaid),
        "estimate": float(estimate),
        "target": ONE_WEEK_TARGET,
        "window_end": end.isoformat(),
        "final": now >= end,
        "met": ratio >= ONE_WEEK_TARGET,
    }


def month_end(at: datetime) -> datetime:
    """The first instant after the local (Beijing) calendar month `at` falls in."""
    local = at.astimezone(CN_TZ)
    y, m = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(y, m, 1, tzinfo=CN_TZ)


def motor_closure(rows: Sequence[CaseRow], starts_at: datetime, now: datetime) -> dict[str, Any]:
    """Share of the event's motor claims closed; the target is 90% by the end of the event's month."""
    motor = [r for r in rows if r.line == "motor"]
    closed = sum(1 for r in motor if r.status == Status.CLOSED)
    rate = _ratio(closed, len(motor))
    deadline = month_end(starts_at)
    return {
        "rate": rate,
        "closed": closed,
        "total": len(motor),
        "target": MOTOR_CLOSED_TARGET,
        "deadline": deadline.isoformat(),
        "days_left": max(0.0, _hours(deadline - now) / 24),
        "met": bool(motor) and rate >= MOTOR_CLOSED_TARGET,
    }


def _queue_stats(rows: list[CaseRow], now: datetime) -> dict[str, Any]:
    ages = [_hours(now - r.reported_at) for r in rows]
    return {
        "depth": len(rows),
        "unassigned": sum(1 for r in rows if r.assigned_user_id is None),
        "awaiting_contact": sum(1 for r in rows if r.status == Status.REPORTED),
        "oldest_h": max(ages) if ages else 0.0,
        "mean_h": sum(ages) / len(ages) if ages else 0.0,
    }


def queues(
    rows: Sequence[CaseRow], factory_of: dict[int, str | None], now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Open cases per factory (of the staff member holding them; "" = not yet assigned, "local" = held by
    local staff outside any factory) and per region (prefecture: the first 4 digits of the district; "" =
    not geocoded), each with depth, oldest and mean age in hours. Deepest first."""
    by_factory: dict[str, list[CaseRow]] = defaultdict(list)
    by_region: dict[str, list[CaseRow]] = defaultdict(list)
    for r in rows:
        if not r.open:
            continue
        if r.assigned_user_id is None:
            fkey = ""
        else:
            fkey = factory_of.get(r.assigned_user_id) or "local"
        by_factory[fkey].append(r)
        by_region[(r.district or "")[:4]].append(r)

    def table(groups: dict[str, list[CaseRow]]) -> list[dict[str, Any]]:
        out = [{"key": k, **_queue_stats(v, now)} for k, v in groups.items()]
        return sorted(out, key=lambda x: (-x["depth"], x["key"]))

    return {"factory": table(by_factory), "region": table(by_region)}


def utilisation(staff: Sequence[StaffRow]) -> list[dict[str, Any]]:
    """Per factory and team: people, online, busy (online and holding open cases), load, the capacity of the
    people online, and utilisation = load of the online people / their capacity."""
    groups: dict[tuple[str, str], list[StaffRow]] = defaultdict(list)
    for p in staff:
        groups[(p.factory or "", p.team or "")].append(p)
    out = []
    for (factory, team), people in groups.items():
        online = [p for p in people if p.online]
        load = sum(p.load for p in online)
        cap = sum(p.capacity for p in online)
        out.append(
            {
                "factory": factory,
                "team": team,
                "staff": len(people),
                "online": len(online),
                "busy": sum(1 for p in online if p.load > 0),
                "load": load,
                "capacity": cap,
                "utilisation": _ratio(load, cap),
            }
        )
    return sorted(out, key=lambda x: (x["factory"] == "", x["factory"], x["team"]))


def rates(
    rows: Sequence[CaseRow], now: datetime, window_hours: float = RATE_WINDOW_HOURS
) -> dict[str, float]:
    """Arrivals per hour (reports), service per hour (cases leaving the open set) and contacts per hour over
    the last `window_hours`, or over the time since the first report when the event is younger (at least
    one hour, so a first burst is not read as a rate of thousands per hour)."""
    if rows:
        first = min(r.reported_at for r in rows)
        window = max(1.0, min(window_hours, _hours(now - first)))
    else:
        window = window_hours
    since = now - timedelta(hours=window)

    def within(at: datetime | None) -> bool:
        return at is not None and since <= at <= now

    return {
        "window_h": window,
        "arrival": sum(1 for r in rows if within(r.reported_at)) / window,
        "service": sum(1 for r in rows if within(r.done_at)) / window,
        "contact": sum(1 for r in rows if within(r.contacted_at)) / window,
    }


def project_backlog(
    backlog: int, arrival: float, service: float, horizon_h: int = HORIZON_HOURS, step_h: int = 1
) -> dict[str, Any]:
    """Fluid projection of a queue at constant rates: q(t) = max(0, backlog + (arrival - service) * t),
    sampled every `step_h` hours up to `horizon_h`. `hours_to_clear` is backlog / (service - arrival) when
    service is faster, 0 for an empty queue, None when it never clears at these rates."""
    if backlog < 0 or arrival < 0 or service < 0 or horizon_h <= 0 or step_h <= 0:
        raise ValueError("backlog, rates and horizon must be non-negative (horizon and step positive)")
    net = arrival - service
    points = [[h, max(0.0, backlog + net * h)] for h in range(0, horizon_h + 1, step_h)]
    if backlog == 0 and net <= 0:
        clear: float | None = 0.0
    elif net < 0:
        clear = backlog / -net
    else:
        clear = None
    return {
        "backlog": backlog,
        "arrival": arrival,
        "service": service,
        "net": net,
        "points": points,
        "hours_to_clear": clear,
        "within_horizon": clear is not None and clear <= horizon_h,
    }


def map_features(
    rows: Sequence[CaseRow],
    rescues: Iterable[tuple[int, str, str, str, datetime]],
    seats: dict[str, tuple[float, float]],
    limit: int = MAP_LIMIT,
) -> dict[str, Any]:
    """Cases as GeoJSON-like points (own coordinates, else the district seat; both flagged approximate unless the
    reporter's own position was given; cases with
    neither are counted as unplaced) and rescue requests (case_id, kind, status, vendor, requested_at) at their
    case's point. Open cases first by priority, then the most recent."""
    placed: dict[int, tuple[float, float, bool]] = {}
    for r in rows:
        if r.lat is not None and r.lon is not None:
            placed[r.id] = (r.lon, r.lat, r.approx_point)
        elif r.district and r.district in seats:
            lat, lon = seats[r.district]
            placed[r.id] = (lon, lat, True)
    ordered = sorted(
        (r for r in rows if r.id in placed),
        key=lambda r: (not r.open, -r.priority, -r.reported_at.timestamp()),
    )
    shown = ordered[:limit]
    cases = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [placed[r.id][0], placed[r.id][1]]},
            "properties": {
                "id": r.id,
                "no": r.report_no,
                "status": r.status,
                "line": r.line,
                "rescue": r.rescue,
                "approx": placed[r.id][2],
            },
        }
        for r in shown
    ]
    by_id = {r.id: r for r in rows}
    rescue_features = []
    for case_id, kind, status, vendor, at in rescues:
        if case_id not in placed:
            continue
        lon, lat, approx = placed[case_id]
        rescue_features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "case_id": case_id,
                    "no": by_id[case_id].report_no if case_id in by_id else "",
                    "kind": kind,
                    "status": status,
                    "vendor": vendor,
                    "active": status in _RESCUE_ACTIVE,
                    "requested_at": at.isoformat(),
                    "approx": approx,
                },
            }
        )
    return {
        "cases": {"type": "FeatureCollection", "features": cases},
        "rescues": {"type": "FeatureCollection", "features": rescue_features},
        "unplaced": len(rows) - len(placed),
        "truncated": max(0, len(ordered) - limit),
    }


# ---------------------------------------------------------------- loading


@lru_cache(maxsize=1)
def _place_names() -> tuple[dict[str, str], dict[str, tuple[float, float]]]:
    """Prefecture names by 4-digit prefix and district seats by 6-digit code (radar's Fujian table)."""
    from xiaobao.radar.sites import CENTROIDS_CSV

    lines = [ln for ln in CENTROIDS_CSV.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    cities: dict[str, str] = {}
    for rec in csv.DictReader(lines):
        code = rec["adcode"][:6]
        if code.endswith("00") and not code.endswith("0000"):
            cities[code[:4]] = rec["name"]
    seats = {code: (lat, lon) for code, _, lat, lon in geo._seats()}
    return cities, seats


def region_name(prefix: str, lang: str) -> str:
    if not prefix:
        return "未定位" if lang == "zh" else "not located"
    return _place_names()[0].get(prefix, prefix)


def load_cases(session: Session, who: Principal, event_id: int) -> list[CaseRow]:
    stmt = scoped(
        session,
        select(
            ClaimCase.id,
            ClaimCase.report_no,
            ClaimCase.status,
            ClaimCase.line,
            ClaimCase.district_code,
            ClaimCase.lat,
            ClaimCase.lon,
            ClaimCase.reported_at,
            ClaimCase.contact_due,
            ClaimCase.contacted_at,
            ClaimCase.surveyed_at,
            ClaimCase.assessed_at,
            ClaimCase.paid_at,
            ClaimCase.closed_at,
            ClaimCase.denied_at,
            ClaimCase.assigned_user_id,
            ClaimCase.assessed_amount,
            ClaimCase.estimated_amount,
            ClaimCase.rescue_needed,
            ClaimCase.people_at_risk,
            ClaimCase.priority,
            ClaimCase.geocode,
        ).where(ClaimCase.event_id == event_id),
        who,
    )
    out = []
    for r in session.execute(stmt):
        done = None
        if r.status not in _OPEN:
            done = r.denied_at if r.status == Status.DENIED else r.closed_at
        out.append(
            CaseRow(
                id=r.id,
                report_no=r.report_no,
                status=r.status,
                line=r.line,
                district=r.district_code,
                lat=r.lat,
                lon=r.lon,
                reported_at=r.reported_at,
                contact_due=r.contact_due,
                contacted_at=r.contacted_at,
                surveyed_at=r.surveyed_at,
                assessed_at=r.assessed_at,
                paid_at=r.paid_at,
                done_at=done,
                assigned_user_id=r.assigned_user_id,
                estimate=r.assessed_amount if r.assessed_amount is not None else r.estimated_amount,
                rescue=bool(r.rescue_needed or r.people_at_risk),
                priority=r.priority,
                approx_point=r.geocode != "latlon",
            )
        )
    return out


def load_money(session: Session, case_ids: Any) -> list[tuple[datetime, str, Decimal]]:
    """Payments and pre-payments from the case timelines (the amounts each step recorded); `case_ids` is a
    subquery of the cases counted."""
    out = []
    for at, kind, data in session.execute(
        select(ClaimEvent.at, ClaimEvent.kind, ClaimEvent.data).where(
            ClaimEvent.case_id.in_(case_ids), ClaimEvent.kind.in_(("prepay", "pay"))
        )
    ):
        d = data or {}
        amount = d.get("prepaid") if kind == "prepay" else d.get("paid_now")
        if amount is not None:
            out.append((at, kind, Decimal(str(amount))))
    return out


def load_rescues(session: Session, case_ids: Any) -> list[tuple[int, str, str, str, datetime]]:
    return [
        (r.case_id, r.kind, r.status, r.vendor, r.requested_at)
        for r in session.execute(
            select(
                RescueRequest.case_id,
                RescueRequest.kind,
                RescueRequest.status,
                RescueRequest.vendor,
                RescueRequest.requested_at,
            ).where(RescueRequest.case_id.in_(case_ids), RescueRequest.status != "cancelled")
        )
    ]


def load_staff(session: Session) -> list[StaffRow]:
    load = dict(
        session.execute(
            select(ClaimCase.assigned_user_id, func.count())
            .where(ClaimCase.assigned_user_id.is_not(None), ClaimCase.status.in_(sorted(_OPEN)))
            .group_by(ClaimCase.assigned_user_id)
        ).all()
    )
    teams = {t.id: t.name for t in session.scalars(select(Team))}
    out = []
    for p in session.scalars(select(StaffProfile).order_by(StaffProfile.factory_id, StaffProfile.id)):
        out.append(
            StaffRow(
                user_id=p.user_id,
                username=p.user.username,
                name=p.user.display_name,
                factory=p.factory.code if p.factory else None,
                team=teams.get(p.team_id) if p.team_id else None,
                kind=p.kind,
                online=p.online,
                capacity=p.capacity,
                load=int(load.get(p.user_id, 0)),
                allowed_regions=tuple(p.allowed_regions or ()),
            )
        )
    return out


def _label(meta: tuple[str, ...], lang: str) -> str:
    return meta[0] if lang == "zh" else meta[1]


def snapshot(
    session: Session, who: Principal, event_id: int, now: datetime, lang: str = "zh"
) -> dict[str, Any]:
    """Everything the command page shows, JSON-ready. The access check is `get_event` (Perm.CLAIM_VIEW) and
    every case figure counts only the cases the caller may see."""
    e = get_event(session, who, event_id)
    rows = load_cases(session, who, e.id)
    ids = scoped(session, select(ClaimCase.id).where(ClaimCase.event_id == e.id), who).scalar_subquery()
    money = load_money(session, ids)
    staff = load_staff(session)
    factories = list(session.scalars(select(Factory).order_by(Factory.code)))
    on_event = set(session.scalars(select(FactoryEvent.factory_id).where(FactoryEvent.event_id == e.id)))
    fname = {f.code: f.name(lang) for f in factories}
    factory_of = {p.user_id: p.factory for p in staff}
    q = queues(rows, factory_of, now)
    for row in q["factory"]:
        key = row["key"]
        row["name"] = (
            fname.get(key, key)
            if key not in ("", "local")
            else (("待分派", "Not yet assigned") if key == "" else ("本地人员", "Local staff"))[lang != "zh"]
        )
    for row in q["region"]:
        row["name"] = region_name(row["key"], lang)
    util = utilisation(staff)
    for u in util:
        u["name"] = (
            fname.get(u["factory"], u["factory"])
            if u["factory"]
            else ("无工厂" if lang == "zh" else "No factory")
        )
    c = counts(rows, now)
    r = rates(rows, now)
    seats = _place_names()[1]
    rescues = load_rescues(session, ids)
    return {
        "event": {
            "id": e.id,
            "code": e.code,
            "name": e.name,
            "active": e.active,
            "starts_at": e.starts_at.isoformat(),
            "ends_at": e.ends_at.isoformat() if e.ends_at else None,
            "contact_minutes": e.contact_minutes,
            "survey_hours": e.survey_hours,
            "regions": list(e.regions or []),
        },
        "generated_at": now.isoformat(),
        "counts": c,
        "one_week": one_week_ratio(rows, money, e.starts_at, now),
        "motor": motor_closure(rows, e.starts_at, now),
        "queues": q,
        "utilisation": util,
        "rates": r,
        "projection": {
            "open": project_backlog(c["open"], r["arrival"], r["service"]),
            "contact": project_backlog(c["awaiting_contact"], r["arrival"], r["contact"]),
        },
        "map": map_features(rows, rescues, seats),
        "rescue_active": sum(1 for _, _, st, _, _ in rescues if st in _RESCUE_ACTIVE),
        "statuses": [
            {"code": s.value, "label": _label(STATUS_META[s], lang), "colour": STATUS_META[s][2]}
            for s in Status
        ],
        "rescue_labels": {
            **{k.value: _label(v, lang) for k, v in RESCUE_STATUS_META.items()},
            **{f"kind:{k}": _label(v, lang) for k, v in RESCUE_KINDS.items()},
        },
        "factories": [
            {
                "code": f.code,
                "name": f.name(lang),
                "on_event": f.id in on_event,
                "regions": list(f.regions or []),
            }
            for f in factories
        ],
        "staff": [
            {
                "username": p.username,
                "name": p.name,
                "factory": p.factory or "",
                "team": p.team or "",
                "kind": p.kind,
                "online": p.online,
                "load": p.load,
                "capacity": p.capacity,
                "allowed_regions": list(p.allowed_regions),
            }
            for p in staff
        ],
    }


def fingerprint(session: Session, event_id: int, now: datetime) -> tuple[Any, ...]:
    """One round trip whose value changes when anything on the command page changes: the event's cases (count,
    sum of versions — every update bumps a case's version — and the latest update), their rescue requests,
    staff profiles (a move, a capacity change or sign-on), the factories on the event, the event itself; plus the current minute,
    so ages and overdue counts refresh at least once a minute."""
    cases = (
        select(
            func.count().label("n"),
            func.coalesce(func.sum(ClaimCase.version), 0).label("versions"),
            func.max(ClaimCase.updated_at).label("updated"),
        )
        .where(ClaimCase.event_id == event_id)
        .subquery()
    )
    rescues = (
        select(func.count().label("n"), func.max(RescueRequest.updated_at).label("updated"))
        .where(RescueRequest.case_id.in_(select(ClaimCase.id).where(ClaimCase.event_id == event_id)))
        .subquery()
    )
    people = select(
        func.count().label("n"),
        func.max(StaffProfile.updated_at).label("updated"),
        func.coalesce(func.sum(case((StaffProfile.online.is_(True), 1), else_=0)), 0).label("online"),
        func.coalesce(func.sum(func.coalesce(StaffProfile.factory_id, 0)), 0).label("factories"),
        func.coalesce(func.sum(StaffProfile.capacity), 0).label("capacity"),
    ).subquery()
    row = session.execute(
        select(
            cases.c.n,
            cases.c.versions,
            cases.c.updated,
            rescues.c.n,
            rescues.c.updated,
            people.c.n,
            people.c.updated,
            people.c.online,
            people.c.factories,
            people.c.capacity,
            select(func.count())
            .select_from(FactoryEvent)
            .where(FactoryEvent.event_id == event_id)
            .scalar_subquery(),
            select(CatEvent.active).where(CatEvent.id == event_id).scalar_subquery(),
        ).select_from(cases.join(rescues, true()).join(people, true()))
    ).one()
    return (*tuple(row), now.replace(second=0, microsecond=0).isoformat())


__all__ = [
    "CaseRow",
    "StaffRow",
    "counts",
    "fingerprint",
    "map_features",
    "month_end",
    "motor_closure",
    "one_week_ratio",
    "project_backlog",
    "queues",
    "rates",
    "snapshot",
    "utilisation",
]
