"""Risk radar use cases over the database: site and claims imports, events, assessment, plans, visits
(hazards → co-handling tasks), the ranked list, the map data and the after-event comparison.

Access: events are shared by everyone with Perm.RADAR_VIEW (``access_event``); sites, results, plans,
visits and claims belong to an org and are seen within the viewer's org subtree (``access_site``,
``access_visit``, ``in_scope``). Out of scope looks like not found. Every change is audited.

Assessment runs inline (a few thousand sites take well under a second of wind-field work plus the
inserts); portfolios of hundreds of thousands of sites would belong in a background job (jobs/), which is
not wired yet: ``MAX_INLINE_SITES`` refuses larger runs with a clear message.
"""

from __future__ import annotations

import hashlib
import math
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import Org, User
from xiaobao.config import Settings
from xiaobao.core import audit, files, pii
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from xiaobao.radar import followup, plan, sites, tracks
from xiaobao.radar.loss import assess
from xiaobao.radar.radii import wind_radii
from xiaobao.radar.run import TrackFormat, load_track
from xiaobao.radar.tables import (
    RadarAssessment,
    RadarClaim,
    RadarEvent,
    RadarImport,
    RadarPlan,
    RadarPlanItem,
    RadarSite,
    RadarVisit,
    RadarVisitPhoto,
)
from xiaobao.radar.windfield import Model

T = TypeVar("T")
MAX_INLINE_SITES = 20_000
MAX_REPORTED_ERRORS = 500
EVENT = ("台风事件", "typhoon event")
SITE = ("标的", "site")
VISIT = ("走访记录", "visit record")

HAZARD_KINDS: dict[str, tuple[str, str]] = {
    "roof": ("屋面/彩钢板松动", "loose roof or sheet cladding"),
    "drainage": ("排水不畅/低洼易涝", "poor drainage, low-lying site"),
    "stock": ("货物露天或低位堆放", "stock in the open or on the floor"),
    "glass": ("门窗玻璃抗风不足", "doors, windows or glass not wind-proof"),
    "signboard": ("广告牌/附属设施不牢固", "signboards or fixtures not secured"),
    "power": ("配电设施防水不足", "electrical equipment not protected from water"),
    "other": ("其他", "other"),
}
SEVERITIES: dict[str, tuple[str, str]] = {
    "high": ("高", "high"),
    "medium": ("中", "medium"),
    "low": ("低", "low"),
}
MEASURES: dict[str, tuple[str, str]] = {
    "sandbags": ("备沙袋、挡水板", "sandbags and flood boards"),
    "drainage": ("疏通排水沟、备抽水泵", "clear drains, pumps ready"),
    "move_stock": ("货物转移或垫高", "move or raise stock"),
    "secure_roof": ("加固屋面、门窗", "secure roof, doors and windows"),
    "secure_fixtures": ("拆除或加固广告牌等附属设施", "remove or secure signboards and fixtures"),
    "power_off": ("检查配电、必要时断电", "check electrics, switch off if needed"),
    "duty": ("安排值班与应急联系", "staff on duty, emergency contacts"),
}


def _problem(field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed([FieldProblem(field, zh, en)])


# ---------------------------------------------------------------- access


def need(who: Principal, perm: Perm) -> None:
    if not who.can(perm):
        raise Forbidden("您的角色无权使用风险雷达的此项功能", "Your role may not do this in the risk radar")


def scope_orgs(who: Principal) -> Select[Any]:
    """Ids of the orgs in `who`'s subtree (a subquery)."""
    return select(Org.id).where(Org.path.startswith(who.scope_path))


def in_scope(stmt: T, org_col: Any, who: Principal) -> T:
    """``stmt`` restricted to rows whose ``org_col`` is in `who`'s org subtree."""
    if who.scope_path == "/":
        return stmt
    return cast(T, cast(Any, stmt).where(org_col.in_(scope_orgs(who))))


def access_event(s: Session, who: Principal, event_id: int) -> RadarEvent:
    """THE access check for an event: any role with Perm.RADAR_VIEW sees every event."""
    ev = s.get(RadarEvent, event_id)
    if ev is None or not who.can(Perm.RADAR_VIEW):
        raise NotFound(*EVENT)
    return ev


def access_site(s: Session, who: Principal, site_id: int, perm: Perm = Perm.RADAR_VIEW) -> RadarSite:
    """THE access check for a site: in the viewer's org subtree and a radar role; then ``perm`` (403)."""
    site = s.get(RadarSite, site_id)
    if site is None or not who.can(Perm.RADAR_VIEW) or not who.sees_path(site.org.path):
        raise NotFound(*SITE)
    need(who, perm)
    return site


def access_visit(s: Session, who: Principal, visit_id: int) -> RadarVisit:
    v = s.get(RadarVisit, visit_id)
    if v is None or not who.can(Perm.RADAR_VIEW) or not who.sees_path(v.org.path):
        raise NotFound(*VISIT)
    return v


def may_request_for_visit(s: Session, who: Principal, visit_id: int) -> bool:
    access_visit(s, who, visit_id)
    return who.can(Perm.RADAR_VISIT)


def _audit(
    s: Session,
    who: Principal,
    now: datetime,
    action: str,
    entity_type: str,
    entity_id: int | None,
    after: dict[str, Any] | None = None,
    before: dict[str, Any] | None = None,
) -> None:
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
        ip=who.ip,
    )


# ---------------------------------------------------------------- sites


def _scoped_units(s: Session, who: Principal) -> list[Org]:
    return list(
        s.scalars(
            in_scope(select(Org).where(Org.kind.in_(("hq", "branch", "subbranch"))), Org.id, who).order_by(
                Org.path
            )
        )
    )


def import_orgs(s: Session, who: Principal) -> list[Org]:
    """Orgs a site file may be imported into (the default for rows whose branch is not recognised)."""
    return _scoped_units(s, who)


def resolve_branch(label: str, units: Sequence[Org], default: Org) -> Org:
    """The org a file's branch text names: its code, its Chinese or English name, or (福州分公司 →
    福州中心支公司) the same two-character city prefix; otherwise ``default``. Only orgs in ``units``."""
    text = label.strip()
    if not text:
        return default
    for o in units:
        if text in (o.code, o.name_zh, o.name_en):
            return o
    under = [o for o in units if o.path.startswith(default.path)]
    prefix = text[:2]
    hits = [o for o in under if o.kind != "hq" and o.name_zh.startswith(prefix)]
    return max(hits, key=lambda o: o.depth) if hits else default


def site_key(site: sites.Site) -> str:
    return f"{site.policy_no.strip()}|{site.name.strip()}"[:300]


@dataclass(frozen=True)
class ImportReport:
    record: RadarImport
    errors: list[dict[str, Any]]


def _write_temp(filename: str, data: bytes) -> Path:
    suffix = Path(filename).suffix.lower()
    fd = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)  # noqa: SIM115 - closed below
    with fd:
        fd.write(data)
    return Path(fd.name)


def _file_problem(field: str, filename: str, data: bytes, suffixes: tuple[str, ...]) -> None:
    if not data:
        raise _problem(field, "请选择要上传的文件", "Choose a file to upload")
    if Path(filename).suffix.lower() not in suffixes:
        raise _problem(
            field,
            f"仅支持 {' / '.join(suffixes)} 文件",
            f"Only {' / '.join(suffixes)} files are accepted",
        )


def import_sites(
    uow: UnitOfWork, who: Principal, filename: str, data: bytes, org_id: int, now: datetime
) -> ImportReport:
    """Read a site file; bad rows are reported (row, field, both languages) and left out, good rows are
    created or (same policy number and name) updated. A row's branch column picks its org within the
    importer's scope; unrecognised branches go to ``org_id`` (a warning per distinct text)."""
    need(who, Perm.RADAR_MANAGE)
    s = uow.session
    _file_problem("file", filename, data, (".csv", ".xlsx"))
    units = _scoped_units(s, who)
    default = next((o for o in units if o.id == org_id), None)
    if default is None:
        raise _problem("org_id", "机构不存在或不在您的管辖范围", "the org is unknown or outside your scope")
    tmp = _write_temp(filename, data)
    try:
        parsed = sites.read_sites(tmp)
    except sites.SitesFileError as e:
        raise _problem("file", str(e).replace(tmp.name, filename), str(e).replace(tmp.name, filename)) from e
    finally:
        tmp.unlink(missing_ok=True)
    rec = RadarImport(
        kind="sites", org_id=default.id, filename=files.clean_filename(filename) or "sites", rows=parsed.rows,
        created_by_id=who.user_id, created_at=now,
    )  # fmt: skip
    s.add(rec)
    s.flush()
    errors = [{"row": e.row, "field": e.field, "zh": e.problem_zh, "en": e.problem_en} for e in parsed.errors]
    managers = {
        u.username: u
        for u in s.scalars(
            select(User).where(
                User.username.in_({x.account_manager for x in parsed.sites if x.account_manager})
            )
        )
    }
    keys = [site_key(x) for x in parsed.sites]
    existing = {r.site_key: r for r in s.scalars(select(RadarSite).where(RadarSite.site_key.in_(keys)))}
    unresolved: dict[str, int] = {}
    new_rows: dict[str, dict[str, Any]] = {}
    created = updated = 0
    by_label: dict[str, Org] = {}
    for x, key in zip(parsed.sites, keys, strict=True):
        if x.branch not in by_label:
            by_label[x.branch] = resolve_branch(x.branch, units, default)
            if x.branch and by_label[x.branch] is default and x.branch not in (default.code, default.name_zh):
                unresolved[x.branch] = 0
        org = by_label[x.branch]
        if x.branch in unresolved:
            unresolved[x.branch] += 1
        manager = managers.get(x.account_manager)
        if x.account_manager and (manager is None or not manager.active):
            errors.append(
                {"row": x.row, "field": "account_manager", "zh": f"客户经理「{x.account_manager}」不存在，已留空",
                 "en": f"account manager {x.account_manager!r} is not a user; left empty"}
            )  # fmt: skip
            manager = None
        row = existing.get(key)
        if row is not None and not who.sees_path(row.org.path):
            errors.append(
                {"row": x.row, "field": "policy_no", "zh": "该标的属于您管辖范围以外的机构，未更新",
                 "en": "this site belongs to an org outside your scope; not updated"}
            )  # fmt: skip
            continue
        values = dict(
            org_id=org.id,
            branch_label=x.branch[:100],
            name=x.name[:200],
            address=x.address[:300],
            lat=x.lat,
            lon=x.lon,
            approximate=x.approximate,
            adcode=x.adcode,
            industry=x.industry[:50],
            construction=x.construction[:50],
            occupancy=x.occupancy[:50],
            sums_insured=dict(x.sums_insured),
            total_sum_insured=x.total_sum_insured,
            deductible=x.deductible,
            limit=None if math.isinf(x.limit) else x.limit,
            policy_no=x.policy_no[:64],
            contact=x.contact[:100],
            account_manager_id=manager.id if manager else None,
            active=True,
            import_id=rec.id,
            updated_at=now,
        )
        if row is None:
            if key in new_rows:
                new_rows[key].update(values)  # the same site twice in one file: the later row wins
                updated += 1
            else:
                new_rows[key] = {"site_key": key, "created_at": now, **values}
                created += 1
        else:
            for k, v in values.items():
                setattr(row, k, v)
            updated += 1
    batch = list(new_rows.values())
    for start in range(0, len(batch), 1000):
        s.execute(insert(RadarSite), batch[start : start + 1000])
    rec.created, rec.updated = created, updated
    rec.rejected = len({e.row for e in parsed.errors})
    rec.errors = sorted(errors, key=lambda e: (e["row"], e["field"]))[:MAX_REPORTED_ERRORS]
    rec.warnings = [
        {"branch": b, "rows": n, "org": default.name_zh, "org_en": default.name_en}
        for b, n in unresolved.items()
    ]
    _audit(
        s, who, now, "radar.sites_import", "radar_import", rec.id,
        after={"file": rec.filename, "rows": rec.rows, "created": created, "updated": updated,
               "rejected": rec.rejected, "org_id": default.id},
    )  # fmt: skip
    uow.commit()
    return ImportReport(rec, rec.errors)


def list_sites(
    s: Session, who: Principal, *, q: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[RadarSite], int]:
    need(who, Perm.RADAR_VIEW)
    stmt = in_scope(select(RadarSite).where(RadarSite.active.is_(True)), RadarSite.org_id, who)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            RadarSite.name.like(like) | RadarSite.policy_no.like(like) | RadarSite.address.like(like)
        )
    total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = s.scalars(stmt.order_by(RadarSite.id).offset((page - 1) * per_page).limit(per_page))
    return list(rows), int(total)


def mask_contact(contact: str | None) -> str:
    """A site's contact ("林先生 13905950001"): the name part masked like a person's name, phone and ID
    numbers masked wherever they are."""
    text = pii.mask_text(contact or "").strip()
    if not text:
        return ""
    head, sep, rest = text.partition(" ")
    if re.search(r"[\u4e00-\u9fff]", head) and "*" not in head:
        head = pii.mask_name(head)
    return head + sep + rest


def site_dict(site: RadarSite, who: Principal, lang: str = "zh") -> dict[str, Any]:
    return {
        "id": site.id,
        "name": site.name,
        "address": site.address,
        "lat": site.lat,
        "lon": site.lon,
        "approximate": site.approximate,
        "industry": site.industry,
        "construction": site.construction,
        "occupancy": site.occupancy,
        "sums_insured": site.sums_insured,
        "total_sum_insured": site.total_sum_insured,
        "deductible": site.deductible,
        "limit": site.limit,
        "policy_no": site.policy_no,
        "branch": site.branch_label,
        "org": site.org.name(lang),
        "org_code": site.org.code,
        "contact": mask_contact(site.contact),
    }


# ---------------------------------------------------------------- events


def _iso(t: np.datetime64) -> str:
    return str(t.astype("datetime64[s]")) + "Z"


def _dt(t: np.datetime64) -> datetime:
    return t.astype("datetime64[s]").astype(datetime).replace(tzinfo=UTC)


def track_points(hourly: tracks.Track, model: str = "H08") -> list[dict[str, Any]]:
    gale, storm = wind_radii(hourly, model)  # type: ignore[arg-type]

    def num(v: float) -> float | None:
        return None if not math.isfinite(v) else round(float(v), 3)

    return [
        {
            "t": _iso(hourly.time[i]),
            "lat": num(hourly.lat[i]),
            "lon": num(hourly.lon[i]),
            "pressure": num(hourly.pressure[i]),
            "max_wind": num(hourly.max_wind[i]),
            "rmw": num(hourly.rmw[i]),
            "env_pressure": num(hourly.env_pressure[i]),
            "lead_hours": num(hourly.lead_hours[i]),
            "r_gale": gale[i],
            "r_storm": storm[i],
        }
        for i in range(len(hourly))
    ]


def stored_track(ev: RadarEvent) -> tracks.Track:
    pts = ev.track

    def arr(k: str) -> list[float]:
        return [math.nan if p[k] is None else p[k] for p in pts]

    return tracks.make_track(
        np.array([p["t"].rstrip("Z") for p in pts], dtype="datetime64[s]"),
        arr("lat"),
        arr("lon"),
        arr("pressure"),
        arr("max_wind"),
        arr("rmw"),
        arr("env_pressure"),
        arr("lead_hours"),
        name=ev.name,
        sid=ev.storm_sid,
    )


def create_event(
    uow: UnitOfWork,
    who: Principal,
    *,
    filename: str,
    data: bytes,
    now: datetime,
    fmt: TrackFormat = "auto",
    name: str | None = None,
    reference_time: datetime | None = None,
    model: str = "H08",
    sid: str | None = None,
) -> RadarEvent:
    """A typhoon event from a track file (IBTrACS CSV, CMA .txt, forecast CSV, advisories CSV), stored
    as hourly points with the wind radii of each point."""
    need(who, Perm.RADAR_MANAGE)
    _file_problem("file", filename, data, (".csv", ".txt"))
    if model not in ("H08", "H80"):
        raise _problem("model", "风场模型须为 H08 或 H80", "the wind model must be H08 or H80")
    if fmt not in ("auto", "ibtracs", "cma", "forecast", "advisories"):
        raise _problem("format", "不支持的路径格式", "unknown track format")
    if reference_time is not None and reference_time.tzinfo is None:
        raise _problem("reference_time", "参考时间须带时区", "the reference time needs a time zone")
    tmp = _write_temp(filename, data)
    try:
        hourly = load_track(tmp, fmt, sid)
    except (tracks.TrackFormatError, ValueError) as e:
        msg = str(e).replace(tmp.name, filename)
        raise _problem("file", f"路径文件无法读取：{msg}", f"The track file cannot be read: {msg}") from e
    finally:
        tmp.unlink(missing_ok=True)
    if len(hourly) < 2:
        raise _problem("file", "路径至少需要两个时次", "the track needs at least two points")
    first, last = _dt(hourly.time[0]), _dt(hourly.time[-1])
    ref = reference_time or first
    if not first <= ref <= last:
        raise _problem(
            "reference_time",
            "参考时间须在路径时间范围内",
            "the reference time must lie within the track's time span",
        )
    label = (name or hourly.name or Path(filename).stem).strip()[:100]
    ev = RadarEvent(
        name=label,
        storm_sid=hourly.sid[:32],
        source_filename=files.clean_filename(filename),
        source_format=fmt if fmt != "auto" else _detected(filename, data),
        model=model,
        status="draft",
        track=track_points(hourly, model),
        reference_time=ref.astimezone(UTC),
        first_time=first,
        last_time=last,
        created_by_id=who.user_id,
        created_at=now,
    )
    s = uow.session
    s.add(ev)
    s.flush()
    _audit(
        s, who, now, "radar.event_create", "radar_event", ev.id,
        after={"name": ev.name, "file": ev.source_filename, "format": ev.source_format, "points": len(ev.track),
               "reference_time": ev.reference_time.isoformat(), "model": model},
    )  # fmt: skip
    uow.commit()
    return ev


def _detected(filename: str, data: bytes) -> str:
    from xiaobao.radar.run import detect_format

    tmp = _write_temp(filename, data[:4096])
    try:
        return detect_format(tmp)
    finally:
        tmp.unlink(missing_ok=True)


def list_events(s: Session, who: Principal) -> list[RadarEvent]:
    need(who, Perm.RADAR_VIEW)
    return list(
        s.scalars(select(RadarEvent).order_by(RadarEvent.reference_time.desc(), RadarEvent.id.desc()))
    )


def _as_site(r: RadarSite) -> sites.Site:
    return sites.Site(
        row=r.id,
        name=r.name,
        address=r.address,
        lat=r.lat,
        lon=r.lon,
        sums_insured={k: float(v) for k, v in r.sums_insured.items()},
        industry=r.industry,
        construction=r.construction,
        occupancy=r.occupancy,
        deductible=r.deductible,
        limit=math.inf if r.limit is None else r.limit,
        policy_no=r.policy_no,
        branch=str(r.org_id),
        approximate=r.approximate,
    )


def assess_event(
    uow: UnitOfWork,
    who: Principal,
    event_id: int,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Wind and expected loss for every active site of the portfolio (all orgs: the ranking is one list),
    replacing any earlier assessment of the event. Returns the number of sites assessed."""
    s = uow.session
    ev = access_event(s, who, event_id)
    need(who, Perm.RADAR_MANAGE)
    rows = list(s.scalars(select(RadarSite).where(RadarSite.active.is_(True)).order_by(RadarSite.id)))
    if len(rows) > MAX_INLINE_SITES:
        raise _problem(
            "sites",
            f"标的超过 {MAX_INLINE_SITES} 个，请使用命令行 xiaobao radar run",
            f"more than {MAX_INLINE_SITES} sites; use `xiaobao radar run`",
        )
    model: Model = "H80" if ev.model == "H80" else "H08"
    res = assess(
        stored_track(ev),
        [_as_site(r) for r in rows],
        model=model,
        reference_time=ev.reference_time,
        progress=progress,
    )
    cands = [
        plan.Candidate(
            key=i,
            branch=str(r.org_id),
            expected_loss=float(res.expected_loss[i]),
            gale_arrival=None if np.isnat(res.gale_arrival[i]) else _dt(res.gale_arrival[i]),
        )
        for i, r in enumerate(rows)
    ]
    ranks = {c.key: k for k, c in enumerate(plan.rank(cands, ev.reference_time), start=1)}
    s.execute(delete(RadarAssessment).where(RadarAssessment.event_id == ev.id))
    values = []
    for i, r in enumerate(rows):
        h = float(res.hours_until_gale[i])
        values.append(
            {
                "event_id": ev.id,
                "site_id": r.id,
                "org_id": r.org_id,
                "rank": ranks[i],
                "max_wind": round(float(res.max_wind[i]), 3),
                "gale_arrival": cands[i].gale_arrival,
                "hours_until_gale": None if math.isnan(h) else round(h, 3),
                "hours_above_gale": float(res.hours_above_gale[i]),
                "mdr": float(res.mdr[i]),
                "expected_loss": round(float(res.expected_loss[i]), 2),
                "sum_insured": r.total_sum_insured,
                "approximate": r.approximate,
            }
        )
    for start in range(0, len(values), 2000):
        s.execute(insert(RadarAssessment), values[start : start + 2000])
    ev.status = "assessed"
    ev.assessed_at = now
    _audit(
        s, who, now, "radar.assess", "radar_event", ev.id,
        after={"sites": len(rows), "expected_loss": round(float(res.expected_loss.sum()), 2),
               "gale_sites": int(np.count_nonzero(~np.isnat(res.gale_arrival)))},
    )  # fmt: skip
    uow.commit()
    return len(rows)


def assessments(s: Session, who: Principal, ev: RadarEvent) -> list[RadarAssessment]:
    stmt = in_scope(
        select(RadarAssessment).where(RadarAssessment.event_id == ev.id), RadarAssessment.org_id, who
    ).order_by(RadarAssessment.rank)
    return list(s.scalars(stmt))


@dataclass(frozen=True)
class RankingFilter:
    org_id: int | None = None
    industry: str | None = None
    sort: str = "rank"  # rank | loss | hours | wind | name
    affected_only: bool = True
    page: int = 1
    per_page: int = 100


SORTS = {
    "rank": (RadarAssessment.rank,),
    "loss": (RadarAssessment.expected_loss.desc(), RadarAssessment.rank),
    "hours": (
        RadarAssessment.hours_until_gale.is_(None),
        RadarAssessment.hours_until_gale,
        RadarAssessment.rank,
    ),
    "wind": (RadarAssessment.max_wind.desc(), RadarAssessment.rank),
}


def ranking(
    s: Session, who: Principal, event_id: int, f: RankingFilter
) -> tuple[RadarEvent, list[RadarAssessment], int, dict[str, float]]:
    """The ranked list (scoped), filtered by branch (org subtree) and industry; with totals of the filter."""
    ev = access_event(s, who, event_id)
    stmt = in_scope(
        select(RadarAssessment).where(RadarAssessment.event_id == ev.id), RadarAssessment.org_id, who
    )
    if f.org_id is not None:
        org = s.get(Org, f.org_id)
        if org is None or not who.sees_path(org.path):
            raise _problem(
                "org_id", "机构不存在或不在您的管辖范围", "the org is unknown or outside your scope"
            )
        stmt = stmt.where(RadarAssessment.org_id.in_(select(Org.id).where(Org.path.startswith(org.path))))
    if f.industry:
        stmt = stmt.where(
            RadarAssessment.site_id.in_(select(RadarSite.id).where(RadarSite.industry == f.industry))
        )
    if f.affected_only:
        stmt = stmt.where((RadarAssessment.expected_loss > 0) | RadarAssessment.gale_arrival.is_not(None))
    sub = stmt.subquery()
    agg = s.execute(select(func.count(), func.coalesce(func.sum(sub.c.expected_loss), 0.0))).one()
    rows = s.scalars(
        stmt.order_by(*SORTS.get(f.sort, SORTS["rank"])).offset((f.page - 1) * f.per_page).limit(f.per_page)
    )
    return ev, list(rows), int(agg[0]), {"expected_loss": float(agg[1])}


def industries(s: Session, who: Principal) -> list[str]:
    stmt = in_scope(select(RadarSite.industry).distinct(), RadarSite.org_id, who).where(
        RadarSite.industry != ""
    )
    return sorted(s.scalars(stmt))


def event_summary(s: Session, who: Principal, ev: RadarEvent) -> dict[str, Any]:
    base = in_scope(
        select(
            func.count(),
            func.coalesce(func.sum(RadarAssessment.expected_loss), 0.0),
            func.count(RadarAssessment.gale_arrival),
            func.coalesce(func.max(RadarAssessment.max_wind), 0.0),
        ).where(RadarAssessment.event_id == ev.id),
        RadarAssessment.org_id,
        who,
    )
    n, loss, gale, vmax = s.execute(base).one()
    visits = s.scalar(
        in_scope(
            select(func.count()).select_from(RadarVisit).where(RadarVisit.event_id == ev.id),
            RadarVisit.org_id,
            who,
        )
    )
    claims = s.scalar(
        in_scope(
            select(func.count()).select_from(RadarClaim).where(RadarClaim.event_id == ev.id),
            RadarClaim.org_id,
            who,
        )
    )
    return {"sites": n, "expected_loss": float(loss), "gale_sites": gale, "max_wind": float(vmax),
            "visits": visits or 0, "claims": claims or 0}  # fmt: skip


def event_dict(ev: RadarEvent) -> dict[str, Any]:
    return {
        "id": ev.id,
        "name": ev.name,
        "storm_sid": ev.storm_sid,
        "source_filename": ev.source_filename,
        "source_format": ev.source_format,
        "model": ev.model,
        "status": ev.status,
        "reference_time": ev.reference_time.isoformat(),
        "first_time": ev.first_time.isoformat(),
        "last_time": ev.last_time.isoformat(),
        "points": len(ev.track),
        "assessed_at": ev.assessed_at.isoformat() if ev.assessed_at else None,
        "synthetic_claims": ev.synthetic_claims,
    }


# ---------------------------------------------------------------- map


def _visited_sites(s: Session, who: Principal, event_id: int) -> set[int]:
    stmt = in_scope(select(RadarVisit.site_id).where(RadarVisit.event_id == event_id), RadarVisit.org_id, who)
    return set(s.scalars(stmt))


def _planned_sites(s: Session, who: Principal, event_id: int) -> dict[int, datetime | None]:
    stmt = in_scope(
        select(RadarPlanItem.site_id, RadarPlanItem.slot_start)
        .join(RadarPlan, RadarPlan.id == RadarPlanItem.plan_id)
        .where(RadarPlan.event_id == event_id, RadarPlanItem.status == "planned"),
        RadarPlan.org_id,
        who,
    )
    return {sid: start for sid, start in s.execute(stmt)}


def _unreachable_sites(s: Session, who: Principal, event_id: int) -> dict[int, str]:
    stmt = in_scope(
        select(RadarPlanItem.site_id, RadarPlanItem.reason)
        .join(RadarPlan, RadarPlan.id == RadarPlanItem.plan_id)
        .where(RadarPlan.event_id == event_id, RadarPlanItem.status == "unreachable"),
        RadarPlan.org_id,
        who,
    )
    return {sid: reason for sid, reason in s.execute(stmt)}


def _claims_by_site(s: Session, who: Principal, event_id: int) -> dict[int, tuple[float, int]]:
    stmt = in_scope(
        select(RadarClaim.site_id, func.sum(RadarClaim.paid + RadarClaim.reserved), func.count())
        .where(RadarClaim.event_id == event_id)
        .group_by(RadarClaim.site_id),
        RadarClaim.org_id,
        who,
    )
    return {sid: (float(amount or 0.0), int(n)) for sid, amount, n in s.execute(stmt)}


def map_data(s: Session, who: Principal, event_id: int, lang: str = "zh") -> dict[str, Any]:
    """GeoJSON-like: the track (LineString with hourly point properties incl. wind radii) and the sites in
    scope (Points with wind, loss, gale arrival, visit status; contact masked)."""
    ev = access_event(s, who, event_id)
    visited = _visited_sites(s, who, ev.id)
    planned = _planned_sites(s, who, ev.id)
    unreachable = _unreachable_sites(s, who, ev.id)
    claims = _claims_by_site(s, who, ev.id)
    features = []
    for a in assessments(s, who, ev):
        site = a.site
        status = (
            "visited"
            if a.site_id in visited
            else "planned"
            if a.site_id in planned
            else "unreachable"
            if a.site_id in unreachable
            else "none"
        )
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(site.lon, 5), round(site.lat, 5)]},
                "properties": {
                    "id": site.id,
                    "name": site.name,
                    "org": site.org.name(lang),
                    "industry": site.industry,
                    "contact": mask_contact(site.contact),
                    "approximate": site.approximate,
                    "rank": a.rank,
                    "max_wind": round(a.max_wind, 1),
                    "band": followup.wind_band(a.max_wind),
                    "expected_loss": round(a.expected_loss, 0),
                    "gale_arrival": a.gale_arrival.isoformat() if a.gale_arrival else None,
                    "hours_until_gale": None if a.hours_until_gale is None else round(a.hours_until_gale, 1),
                    "visit": status,
                    "actual_loss": claims[a.site_id][0] if a.site_id in claims else None,
                },
            }
        )
    pts = ev.track
    return {
        "event": event_dict(ev),
        "track": {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[p["lon"], p["lat"]] for p in pts]},
            "properties": {"points": pts, "bearings": len(pts[0]["r_gale"]) if pts else 0},
        },
        "sites": {"type": "FeatureCollection", "features": features},
        "bands": [
            {"key": k, "label": followup.band_label(k, lang), "upper": u if math.isfinite(u) else None}
            for u, k, _, _ in followup.WIND_BANDS
        ],  # fmt: skip
    }


# ---------------------------------------------------------------- plans


@dataclass(frozen=True)
class PlanInput:
    org_id: int
    inspectors: int = 2
    visits_per_day: int = 4
    work_start: str = "08:00"
    work_end: str = "18:00"
    margin_hours: float = 2.0
    min_loss: float = 0.0


def _hhmm(field: str, v: str) -> time:
    try:
        t = time.fromisoformat(v.strip())
    except ValueError:
        raise _problem(field, "时间格式应为 HH:MM", "time must be HH:MM") from None
    return t


def _validate_plan(data: PlanInput) -> tuple[time, time]:
    problems = []
    if not 1 <= data.inspectors <= 200:
        problems.append(
            FieldProblem("inspectors", "走访人数须在 1 到 200 之间", "inspectors must be 1 to 200")
        )
    if not 1 <= data.visits_per_day <= 24:
        problems.append(
            FieldProblem(
                "visits_per_day", "每人每天走访数须在 1 到 24 之间", "visits per day must be 1 to 24"
            )
        )
    if not 0 <= data.margin_hours <= 48:
        problems.append(
            FieldProblem("margin_hours", "提前量须在 0 到 48 小时之间", "the margin must be 0 to 48 hours")
        )
    if data.min_loss < 0:
        problems.append(FieldProblem("min_loss", "不能为负数", "must not be negative"))
    if problems:
        raise ValidationFailed(problems)
    ws, we = _hhmm("work_start", data.work_start), _hhmm("work_end", data.work_end)
    if we <= ws:
        raise _problem("work_end", "下班时间须晚于上班时间", "the working day must end after it starts")
    return ws, we


def make_plan(uow: UnitOfWork, who: Principal, event_id: int, data: PlanInput, now: datetime) -> RadarPlan:
    """Plan the visits of one branch (the sites whose org is ``org_id``) from the event's reference time:
    slots inside the working window, every visit finished ``margin_hours`` before the gale arrives,
    unreachable sites with a reason. Replaces the branch's earlier plan for the event."""
    s = uow.session
    ev = access_event(s, who, event_id)
    need(who, Perm.RADAR_MANAGE)
    if ev.status != "assessed":
        raise _problem("event", "请先运行风险评估", "run the assessment first")
    org = s.get(Org, data.org_id)
    if org is None or not who.sees_path(org.path):
        raise _problem("org_id", "机构不存在或不在您的管辖范围", "the org is unknown or outside your scope")
    ws, we = _validate_plan(data)
    rows = list(
        s.scalars(
            select(RadarAssessment).where(RadarAssessment.event_id == ev.id, RadarAssessment.org_id == org.id)
        )
    )
    settings = plan.PlanSettings(
        inspectors=data.inspectors,
        visits_per_day=data.visits_per_day,
        work_start=ws,
        work_end=we,
        safety_margin=timedelta(hours=data.margin_hours),
        min_loss=max(data.min_loss, 0.01),  # a site with no expected loss needs no visit
    )
    cands = [plan.Candidate(a.site_id, str(org.id), a.expected_loss, a.gale_arrival) for a in rows]
    result = plan.plan_visits(cands, ev.reference_time, settings)
    if not plan.is_feasible(result, cands, settings):  # the planner's own guarantee, checked again
        raise RuntimeError("infeasible plan")
    old = s.scalar(select(RadarPlan).where(RadarPlan.event_id == ev.id, RadarPlan.org_id == org.id))
    before = None
    if old is not None:
        before = {"planned": old.planned, "unreachable": old.unreachable, "inspectors": old.inspectors}
        s.delete(old)
        s.flush()
    loss = {c.key: c.expected_loss for c in cands}
    p = RadarPlan(
        event_id=ev.id, org_id=org.id, inspectors=data.inspectors, visits_per_day=data.visits_per_day,
        work_start=ws.strftime("%H:%M"), work_end=we.strftime("%H:%M"), margin_hours=data.margin_hours,
        min_loss=data.min_loss, start_at=ev.reference_time, created_by_id=who.user_id, created_at=now,
        planned=sum(1 for a in result if a.status == "planned"),
        unreachable=sum(1 for a in result if a.status == "unreachable"),
        planned_loss=sum(loss[a.key] for a in result if a.status == "planned"),
    )  # fmt: skip
    s.add(p)
    s.flush()
    items = [
        {
            "plan_id": p.id,
            "site_id": a.key,
            "rank": a.rank,
            "status": a.status,
            "inspector": a.slot.inspector if a.slot else None,
            "slot_start": a.slot.start if a.slot else None,
            "slot_end": a.slot.end if a.slot else None,
            "reason": a.reason[:300],
        }
        for a in result
        if a.status != "not_needed"
    ]
    if items:
        s.execute(insert(RadarPlanItem), items)
    _audit(
        s, who, now, "radar.plan", "radar_plan", p.id, before=before,
        after={"event_id": ev.id, "org_id": org.id, "inspectors": p.inspectors, "visits_per_day": p.visits_per_day,
               "window": f"{p.work_start}-{p.work_end}", "margin_hours": p.margin_hours,
               "planned": p.planned, "unreachable": p.unreachable},
    )  # fmt: skip
    uow.commit()
    return p


def plans(s: Session, who: Principal, event_id: int) -> list[RadarPlan]:
    ev = access_event(s, who, event_id)
    stmt = in_scope(select(RadarPlan).where(RadarPlan.event_id == ev.id), RadarPlan.org_id, who)
    return list(s.scalars(stmt.join(Org, Org.id == RadarPlan.org_id).order_by(Org.path)))


def plan_items(s: Session, p: RadarPlan) -> list[RadarPlanItem]:
    return list(
        s.scalars(
            select(RadarPlanItem)
            .where(RadarPlanItem.plan_id == p.id)
            .order_by(
                RadarPlanItem.status, RadarPlanItem.slot_start, RadarPlanItem.inspector, RadarPlanItem.rank
            )
        )
    )


def plan_orgs(s: Session, who: Principal, event_id: int) -> list[tuple[Org, int, float]]:
    """Orgs in scope with sites at risk in the event: (org, sites with expected loss, their loss)."""
    stmt = in_scope(
        select(Org, func.count(), func.sum(RadarAssessment.expected_loss))
        .join(RadarAssessment, RadarAssessment.org_id == Org.id)
        .where(RadarAssessment.event_id == event_id, RadarAssessment.expected_loss > 0)
        .group_by(Org.id),
        Org.id,
        who,
    )
    return [(o, int(n), float(loss or 0)) for o, n, loss in s.execute(stmt.order_by(Org.path))]


def plan_dict(p: RadarPlan, items: Iterable[RadarPlanItem] | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": p.id,
        "event_id": p.event_id,
        "org_id": p.org_id,
        "org": p.org.name_zh,
        "inspectors": p.inspectors,
        "visits_per_day": p.visits_per_day,
        "work_start": p.work_start,
        "work_end": p.work_end,
        "margin_hours": p.margin_hours,
        "start_at": p.start_at.isoformat(),
        "planned": p.planned,
        "unreachable": p.unreachable,
        "planned_loss": p.planned_loss,
    }
    if items is not None:
        d["items"] = [
            {
                "site_id": i.site_id,
                "site": i.site.name,
                "rank": i.rank,
                "status": i.status,
                "inspector": i.inspector,
                "slot_start": i.slot_start.isoformat() if i.slot_start else None,
                "slot_end": i.slot_end.isoformat() if i.slot_end else None,
                "reason": i.reason,
            }
            for i in items
        ]
    return d


# ---------------------------------------------------------------- visits


@dataclass(frozen=True)
class Hazard:
    kind: str
    severity: str
    description: str = ""


@dataclass(frozen=True)
class VisitInput:
    site_id: int
    visited_at: datetime
    hazards: Sequence[Hazard] = ()
    measures: Sequence[str] = ()
    notes: str = ""


Upload = tuple[str | None, bytes]


def _validate_visit(data: VisitInput, now: datetime) -> None:
    problems = []
    if data.visited_at.tzinfo is None:
        problems.append(FieldProblem("visited_at", "走访时间须带时区", "the visit time needs a time zone"))
    elif data.visited_at > now + timedelta(minutes=5):
        problems.append(
            FieldProblem("visited_at", "走访时间不能晚于现在", "the visit time cannot be in the future")
        )
    for i, h in enumerate(data.hazards):
        if h.kind not in HAZARD_KINDS:
            problems.append(FieldProblem(f"hazards[{i}].kind", "未知的隐患类型", "unknown hazard kind"))
        if h.severity not in SEVERITIES:
            problems.append(
                FieldProblem(
                    f"hazards[{i}].severity", "严重程度须为高/中/低", "severity must be high, medium or low"
                )
            )
        if h.kind == "other" and len(h.description.strip()) < 2:
            problems.append(FieldProblem(f"hazards[{i}].description", "请描述隐患", "describe the hazard"))
        if len(h.description) > 1000:
            problems.append(
                FieldProblem(f"hazards[{i}].description", "描述过长（最多 1000 字）", "too long (1000 max)")
            )
    for m in data.measures:
        if m not in MEASURES:
            problems.append(FieldProblem("measures", f"未知的防灾措施：{m}", f"unknown measure: {m}"))
    if len(data.notes) > 5000:
        problems.append(FieldProblem("notes", "备注过长（最多 5000 字）", "notes too long (5000 max)"))
    if problems:
        raise ValidationFailed(problems)


def record_visit(
    uow: UnitOfWork,
    who: Principal,
    event_id: int,
    data: VisitInput,
    now: datetime,
    settings: Settings,
    photos: Sequence[Upload] = (),
) -> RadarVisit:
    """Record a visit; each hazard becomes a co-handling task for the site's account manager (or, without
    one, the site's org), due before the gale arrives (or in two days if it has passed)."""
    s = uow.session
    ev = access_event(s, who, event_id)
    site = access_site(s, who, data.site_id, Perm.RADAR_VISIT)
    _validate_visit(data, now)
    checked = [
        files.validate(name, blob, settings.attachment_max_bytes, field="photos") for name, blob in photos
    ]
    for clean, ctype in checked:
        if not ctype.startswith("image/"):
            raise _problem(
                "photos", f"「{clean}」不是图片（仅 JPG/PNG）", f"{clean!r} is not a photo (JPG/PNG only)"
            )
    v = RadarVisit(
        event_id=ev.id, site_id=site.id, org_id=site.org_id, visited_at=data.visited_at.astimezone(UTC),
        inspector_id=who.user_id, inspector_label=who.label,
        hazards=[{"kind": h.kind, "severity": h.severity, "description": h.description.strip()} for h in data.hazards],
        measures=list(dict.fromkeys(data.measures)), notes=data.notes.strip(), created_at=now,
    )  # fmt: skip
    s.add(v)
    s.flush()
    for (clean, ctype), (_, blob) in zip(checked, photos, strict=True):
        digest = hashlib.sha256(blob).hexdigest()
        files.store(settings, digest, blob)
        s.add(
            RadarVisitPhoto(
                visit_id=v.id, filename=clean, content_type=ctype, size=len(blob), sha256=digest,
                uploaded_by_id=who.user_id, uploaded_at=now,
            )
        )  # fmt: skip
    task_ids = _hazard_tasks(s, who, ev, site, v, now)
    _audit(
        s, who, now, "radar.visit", "radar_visit", v.id,
        after={"event_id": ev.id, "site_id": site.id, "hazards": v.hazards, "measures": v.measures,
               "photos": len(photos), "tasks": task_ids},
    )  # fmt: skip
    uow.commit()
    return v


def _hazard_tasks(
    s: Session, who: Principal, ev: RadarEvent, site: RadarSite, v: RadarVisit, now: datetime
) -> list[int]:
    from xiaobao.tasks import services as tasks
    from xiaobao.tasks.domain import TaskKind

    if not v.hazards:
        return []
    arrival = s.scalar(
        select(RadarAssessment.gale_arrival).where(
            RadarAssessment.event_id == ev.id, RadarAssessment.site_id == site.id
        )
    )
    due = arrival if arrival is not None and arrival > now + timedelta(hours=2) else now + timedelta(days=2)
    manager = site.account_manager if site.account_manager and site.account_manager.active else None
    measures = "；".join(MEASURES[m][0] for m in v.measures) or "（无）"
    ids = []
    for h in v.hazards:
        kind_zh = HAZARD_KINDS[h["kind"]][0]
        sev = SEVERITIES[h["severity"]][0]
        title = f"防灾隐患：{site.name} · {kind_zh}（{sev}）"
        desc = (
            f"{ev.name} 来临前走访 {site.name}（{site.address}）发现隐患：{kind_zh}，严重程度{sev}。"
            f"{h['description']}\n建议措施：{measures}\n请联系客户落实整改并在大风到达前反馈。"
        )
        t = tasks.new_task(
            s, who, kind=TaskKind.COHANDLING, title=title[:200], description=desc, org=site.org, owner=manager,
            cohandlers=(), due_at=due, priority="urgent" if h["severity"] == "high" else "high", now=now,
            source_type="radar_visit", source_id=v.id,
            checklist=[MEASURES[m][0] for m in v.measures] or ["联系客户落实整改"],
        )  # fmt: skip
        tev = tasks.add_event(s, t, who, now, "created", desc, {"org": site.org.name_zh, "visit_id": v.id})
        tasks.tell(
            s, [manager.id] if manager else tasks.default_recipients(s, site.org), t, tev, "防灾隐患协办",
            f"{who.display_name} 走访 {site.name} 发现隐患：{kind_zh}，请协助客户整改。", now, exclude=who.user_id,
        )  # fmt: skip
        ids.append(t.id)
    return ids


def visit_tasks(s: Session, v: RadarVisit) -> list[Any]:
    from xiaobao.tasks import services as tasks

    return tasks.tasks_for_source(s, "radar_visit", v.id)


def list_visits(s: Session, who: Principal, event_id: int) -> list[RadarVisit]:
    ev = access_event(s, who, event_id)
    stmt = in_scope(select(RadarVisit).where(RadarVisit.event_id == ev.id), RadarVisit.org_id, who)
    return list(s.scalars(stmt.order_by(RadarVisit.visited_at.desc(), RadarVisit.id.desc())))


def visit_photos(s: Session, v: RadarVisit) -> list[RadarVisitPhoto]:
    return list(
        s.scalars(
            select(RadarVisitPhoto).where(RadarVisitPhoto.visit_id == v.id).order_by(RadarVisitPhoto.id)
        )
    )


def open_photo(
    s: Session, who: Principal, visit_id: int, photo_id: int, settings: Settings
) -> tuple[RadarVisitPhoto, Path]:
    v = access_visit(s, who, visit_id)
    ph = s.get(RadarVisitPhoto, photo_id)
    if ph is None or ph.visit_id != v.id:
        raise NotFound("照片", "photo")
    return ph, files.stored_blob(settings, ph.sha256)


def visit_dict(v: RadarVisit, lang: str = "zh") -> dict[str, Any]:
    return {
        "id": v.id,
        "event_id": v.event_id,
        "site_id": v.site_id,
        "site": v.site.name,
        "org": v.org.name(lang),
        "visited_at": v.visited_at.isoformat(),
        "inspector": v.inspector_label,
        "hazards": v.hazards,
        "measures": v.measures,
        "notes": v.notes,
    }


# ---------------------------------------------------------------- claims


CLAIM_ALIASES = {
    "claim_no": ("claim_no", "claim", "赔案号", "案件号", "报案号"),
    "policy_no": ("policy_no", "policy", "保单号"),
    "name": ("name", "site", "名称", "企业名称", "被保险人"),
    "paid": ("paid", "已决赔款", "已付赔款", "赔款"),
    "reserved": ("reserved", "reserve", "未决估损", "估损金额", "未决"),
}


def import_claims(
    uow: UnitOfWork, who: Principal, event_id: int, filename: str, data: bytes, now: datetime
) -> ImportReport:
    """Claims per site after the event (.csv/.xlsx): claim number, policy number (and name when a policy
    covers several sites), paid and reserved amounts. Bad rows are reported and left out; a claim number
    seen before for the event is updated (re-importing the same file changes nothing)."""
    s = uow.session
    ev = access_event(s, who, event_id)
    need(who, Perm.RADAR_MANAGE)
    _file_problem("file", filename, data, (".csv", ".xlsx"))
    tmp = _write_temp(filename, data)
    try:
        raw = sites._read_rows(tmp)
    except sites.SitesFileError as e:
        raise _problem("file", str(e).replace(tmp.name, filename), str(e).replace(tmp.name, filename)) from e
    finally:
        tmp.unlink(missing_ok=True)
    while raw and not any(c.strip() for c in raw[0]):
        raw.pop(0)
    if not raw:
        raise _problem("file", "文件为空", "the file is empty")
    col: dict[str, int] = {}
    aliases = {a.lower(): f for f, names in CLAIM_ALIASES.items() for a in names}
    for i, h in enumerate(raw[0]):
        f = aliases.get(h.strip().lower())
        if f:
            col.setdefault(f, i)
    missing = [f for f in ("claim_no", "policy_no") if f not in col]
    if missing or ("paid" not in col and "reserved" not in col):
        need_cols = missing or ["paid/reserved"]
        raise _problem(
            "file",
            f"缺少列：{', '.join(need_cols)}（赔案号、保单号、已决赔款/未决估损）",
            f"missing columns: {', '.join(need_cols)} (claim_no, policy_no, paid/reserved)",
        )
    policy_sites: dict[str, list[RadarSite]] = {}
    for site in s.scalars(select(RadarSite)):
        policy_sites.setdefault(site.policy_no, []).append(site)
    existing: dict[str, RadarClaim] = {}
    claim_paths: dict[str, str] = {}
    for c, path in s.execute(
        select(RadarClaim, Org.path)
        .join(Org, Org.id == RadarClaim.org_id)
        .where(RadarClaim.event_id == ev.id)
    ):
        existing[c.claim_no], claim_paths[c.claim_no] = c, path
    if who.org_id is None:
        raise Forbidden()
    rec = RadarImport(kind="claims", event_id=ev.id, org_id=who.org_id, filename=files.clean_filename(filename),
                      created_by_id=who.user_id, created_at=now)  # fmt: skip
    s.add(rec)
    s.flush()
    errors: list[dict[str, Any]] = []
    created = updated = rows = 0
    seen: set[str] = set()
    for rowno, row in enumerate(raw[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        rows += 1

        def get(f: str, row: list[str] = row) -> str:
            i = col.get(f)
            return row[i].strip() if i is not None and i < len(row) else ""

        errs: list[dict[str, Any]] = []

        def err(f: str, zh: str, en: str, rowno: int = rowno, errs: list[dict[str, Any]] = errs) -> None:
            errs.append({"row": rowno, "field": f, "zh": zh, "en": en})

        claim_no = get("claim_no")
        if not claim_no:
            err("claim_no", "赔案号为空", "claim number is empty")
        elif claim_no in seen:
            err("claim_no", "同一文件中赔案号重复", "claim number repeated in the file")
        amounts = {}
        for f in ("paid", "reserved"):
            try:
                v = sites._amount(get(f))
            except ValueError:
                err(f, f"不是金额：{get(f)!r}", f"not an amount: {get(f)!r}")
                continue
            if v is not None and v < 0:
                err(f, "不能为负数", "must not be negative")
                continue
            amounts[f] = v or 0.0
        policy = get("policy_no")
        cands = policy_sites.get(policy, []) if policy else []
        if len(cands) > 1 and get("name"):
            cands = [c for c in cands if c.name == get("name")]
        cands = [c for c in cands if who.sees_path(c.org.path)]
        if not policy:
            err("policy_no", "保单号为空", "policy number is empty")
        elif not cands:
            err("policy_no", f"找不到保单号为 {policy} 的标的（或不在您的管辖范围）",
                f"no site with policy {policy} (or outside your scope)")  # fmt: skip
        elif len(cands) > 1:
            err(
                "name", "该保单有多个标的，请填写企业名称", "the policy has several sites; give the site name"
            )
        if errs:
            errors.extend(errs)
            continue
        seen.add(claim_no)
        site = cands[0]
        if claim_no in claim_paths and not who.sees_path(claim_paths[claim_no]):
            errors.append({"row": rowno, "field": "claim_no", "zh": "该赔案属于您管辖范围以外的机构",
                           "en": "this claim belongs to an org outside your scope"})  # fmt: skip
            continue
        claim = existing.get(claim_no)
        if claim is None:
            claim = RadarClaim(event_id=ev.id, claim_no=claim_no[:64], site_id=site.id, org_id=site.org_id,
                           created_at=now, updated_at=now, import_id=rec.id, **amounts)  # fmt: skip
            s.add(claim)
            existing[claim_no] = claim
            created += 1
        else:
            claim.site_id, claim.org_id, claim.paid, claim.reserved = (
                site.id,
                site.org_id,
                amounts["paid"],
                amounts["reserved"],
            )
            claim.updated_at, claim.import_id = now, rec.id
            updated += 1
    rec.rows, rec.created, rec.updated = rows, created, updated
    rec.rejected = len({e["row"] for e in errors})
    rec.errors = errors[:MAX_REPORTED_ERRORS]
    _audit(
        s, who, now, "radar.claims_import", "radar_import", rec.id,
        after={"event_id": ev.id, "file": rec.filename, "rows": rows, "created": created, "updated": updated,
               "rejected": rec.rejected},
    )  # fmt: skip
    uow.commit()
    return ImportReport(rec, rec.errors)


def last_import(s: Session, who: Principal, kind: str, event_id: int | None = None) -> RadarImport | None:
    stmt = select(RadarImport).where(RadarImport.kind == kind, RadarImport.created_by_id == who.user_id)
    if event_id is not None:
        stmt = stmt.where(RadarImport.event_id == event_id)
    return s.scalar(stmt.order_by(RadarImport.id.desc()).limit(1))


def import_dict(rec: RadarImport) -> dict[str, Any]:
    return {
        "id": rec.id,
        "kind": rec.kind,
        "filename": rec.filename,
        "rows": rec.rows,
        "created": rec.created,
        "updated": rec.updated,
        "rejected": rec.rejected,
        "errors": rec.errors,
        "warnings": rec.warnings,
    }


# ---------------------------------------------------------------- comparison


def outcomes(s: Session, who: Principal, ev: RadarEvent, lang: str = "zh") -> list[followup.SiteOutcome]:
    """One outcome per assessed site in scope that had modelled loss or a claim."""
    claims = _claims_by_site(s, who, ev.id)
    visited = _visited_sites(s, who, ev.id)
    out = []
    for a in assessments(s, who, ev):
        amount, n = claims.get(a.site_id, (0.0, 0))
        if a.expected_loss <= 0 and n == 0:
            continue
        out.append(
            followup.SiteOutcome(
                site_id=a.site_id,
                branch=a.site.org.name(lang),
                industry=a.site.industry or "—",
                construction=a.site.construction or "—",
                max_wind=a.max_wind,
                modelled=a.expected_loss,
                actual=amount,
                visited=a.site_id in visited,
                claims=n,
            )
        )
    return out


def comparison(
    s: Session, who: Principal, event_id: int, lang: str = "zh", min_unvisited: int = 3
) -> tuple[RadarEvent, followup.Comparison, list[followup.SiteOutcome]]:
    ev = access_event(s, who, event_id)
    rows = outcomes(s, who, ev, lang)
    return ev, followup.compare(rows, min_unvisited), rows


def comparison_dict(cmp: followup.Comparison) -> dict[str, Any]:
    def t(x: followup.Totals) -> dict[str, Any]:
        return {"key": x.key, "sites": x.sites, "with_claims": x.with_claims, "modelled": round(x.modelled, 2),
                "actual": round(x.actual, 2), "difference": round(x.difference, 2), "ratio": x.ratio}  # fmt: skip

    a = cmp.avoided
    return {
        "total": t(cmp.total),
        "by_branch": [t(x) for x in cmp.by_branch],
        "by_industry": [t(x) for x in cmp.by_industry],
        "by_band": [t(x) for x in cmp.by_band],
        "loss_avoided": {
            "estimate": round(a.estimate, 2),
            "coverage": a.coverage,
            "visited_sites": a.visited_sites,
            "visited_in_usable_strata": a.visited_in_usable,
            "min_unvisited": a.min_unvisited,
            "method_zh": followup.METHOD_ZH.format(n=a.min_unvisited),
            "method_en": followup.METHOD_EN.format(n=a.min_unvisited),
            "limits": [{"zh": zh, "en": en} for zh, en in followup.LIMITS],
            "strata": [
                {
                    "band": st.band,
                    "industry": st.industry,
                    "construction": st.construction,
                    "n_visited": st.n_visited,
                    "n_unvisited": st.n_unvisited,
                    "ratio_visited": st.ratio_visited,
                    "ratio_unvisited": st.ratio_unvisited,
                    "modelled_visited": round(st.modelled_visited, 2),
                    "usable": st.usable,
                    "avoided": round(st.avoided, 2),
                }
                for st in a.strata
            ],  # fmt: skip
        },
    }
