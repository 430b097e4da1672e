"""Wiring of the pure dispatch engine (`claims/dispatch.py`) to the persisted cases and staff.

One dispatch run (Perm.CLAIM_DISPATCH): the waiting work the dispatcher can see becomes `WorkItem`s —
first contact for unassigned reported cases; on-site survey for collected cases that are not on the fast track
and not yet with a surveyor; remote assessment for unassigned fast-track cases — and every staff profile becomes
a `StaffMember` (kinds from the profile kind, skills, authority limit, regions = allowed regions + the factory's
regions + the regions of the events the factory works, or the home org's region when none is recorded; shifts,
capacity, current load, online, remote = factory staff, position = home district seat). Work a staff member
already holds stays with them unless they went offline or off shift: then the engine releases it and dispatches it
again (`dispatch.reassign_offline`). The engine's assignments are applied through `services.act(ASSIGN)` one by one (so each is checked, versioned, audited and on the
timeline with the engine's reason); a case changed meanwhile is skipped and reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import Org, User, UserRole
from xiaobao.claims import dispatch, geo, services
from xiaobao.claims.domain import OPEN_STATUSES, Action, Status
from xiaobao.claims.schemas import ActionRequest
from xiaobao.claims.tables import CatEvent, ClaimCase, Factory, FactoryEvent, StaffProfile
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import Forbidden, XiaobaoError

KINDS_BY_PROFILE = {
    "operator": frozenset({dispatch.CONTACT, dispatch.REMOTE_ASSESSMENT}),
    "surveyor": frozenset({dispatch.ONSITE_SURVEY, dispatch.REMOTE_ASSESSMENT}),
}


@dataclass
class RunResult:
    items: int = 0
    staff: int = 0
    assigned: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Batch:
    """One dispatch batch: waiting work (unassigned, or held by a staff member) and who holds what."""

    items: list[dispatch.WorkItem]
    # case id -> the staff member's user id, for work already assigned
    held: dict[dispatch.ItemId, dispatch.StaffId]


def work_items(
    session: Session, who: Principal, event_id: int | None = None, staff_ids: set[int] | None = None
) -> Batch:
    """Waiting work the dispatcher may see (only one catastrophe event's cases when `event_id` is given).

    Work already assigned to someone in `staff_ids` (people with a staff profile) is included and listed in
    `held`, so that the engine can release and re-dispatch it when that person went offline or off shift; work
    held by anyone else (a manual assignment to a user without a staff profile) is left alone."""
    staff_ids = staff_ids or set()
    surveyors = select(UserRole.user_id).where(UserRole.role == "surveyor")
    waiting = select(ClaimCase).where(
        ClaimCase.status.in_([Status.REPORTED.value, Status.INFO_COLLECTED.value])
    )
    if event_id is not None:
        waiting = waiting.where(ClaimCase.event_id == event_id)
    stmt = services.scoped(session, waiting, who)
    out = []
    held: dict[dispatch.ItemId, dispatch.StaffId] = {}
    surveyor_ids = set(session.scalars(surveyors))
    for c in session.scalars(stmt).unique():
        kind = None
        holder = c.assigned_user_id
        if c.status == Status.REPORTED:
            kind, due = dispatch.CONTACT, c.contact_due
        elif c.status == Status.INFO_COLLECTED and c.surveyed_at is None:
            if c.fast_track:
                kind, due = dispatch.REMOTE_ASSESSMENT, c.survey_due
            else:
                kind, due = dispatch.ONSITE_SURVEY, c.survey_due
                if holder is not None and holder not in surveyor_ids:
                    holder = None  # the operator who collected the information: the survey still waits
        if kind is None or (holder is not None and holder not in staff_ids):
            continue
        if holder is not None:
            held[c.id] = holder
        out.append(
            dispatch.WorkItem(
                id=c.id,
                kind=kind,
                deadline=due,
                created_at=c.reported_at,
                skill=c.line,
                region=c.district_code or "",
                amount=float(c.estimated_amount or 0),
                district=c.district_code or "",
                lat=c.lat,
                lon=c.lon,
                special_group=bool(c.special_group),
                rescue=c.rescue_needed or c.people_at_risk > 0,
            )
        )
    return Batch(out, held)


def _org_region(org: Org) -> str:
    code = org.region_code or ""
    if not code:
        return ""
    return code[:4] if org.kind == "subbranch" else code[:2]


def staff_members(session: Session) -> list[dispatch.StaffMember]:
    load = dict(
        session.execute(
            select(ClaimCase.assigned_user_id, func.count())
            .where(
                ClaimCase.assigned_user_id.is_not(None),
                ClaimCase.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .group_by(ClaimCase.assigned_user_id)
        ).all()
    )
    event_regions: dict[int, set[str]] = {}
    for factory_id, regions in session.execute(
        select(FactoryEvent.factory_id, CatEvent.regions)
        .join(CatEvent, CatEvent.id == FactoryEvent.event_id)
        .where(CatEvent.active.is_(True))
    ):
        event_regions.setdefault(factory_id, set()).update(regions or [])
    seats = {code: (lat, lon) for code, _, lat, lon in geo._seats()}
    out = []
    rows = session.execute(
        select(StaffProfile, User, Factory)
        .join(User, User.id == StaffProfile.user_id)
        .outerjoin(Factory, Factory.id == StaffProfile.factory_id)
        .where(User.active.is_(True))
    ).all()
    for p, user, factory in rows:
        regions = set(p.allowed_regions or [])
        if factory is not None and factory.active:
            regions |= set(factory.regions or []) | event_regions.get(factory.id, set())
        if not regions and _org_region(user.org):
            regions.add(_org_region(user.org))
        pos = seats.get(p.home_district or "")
        out.append(
            dispatch.StaffMember(
                id=user.id,
                kinds=KINDS_BY_PROFILE.get(p.kind, frozenset()),
                skills=frozenset(p.skills or []),
                authority_limit=float(p.authority_limit) if p.authority_limit else float("inf"),
                regions=frozenset(regions),
                capacity=p.capacity,
                load=int(load.get(user.id, 0)),
                online=p.online,
                shifts=tuple(dispatch.Shift.parse(f"{a}-{b}") for a, b in (p.shifts or [])),
                remote=factory is not None,
                factory=factory.code if factory else None,
                home_district=p.home_district or "",
                lat=pos[0] if pos else None,
                lon=pos[1] if pos else None,
            )
        )
    return out


def run(container: Any, who: Principal, now: datetime, event_id: int | None = None) -> RunResult:
    """Build the batch (all visible waiting work, or one event's), dispatch it, apply the assignments. Each
    assignment is its own transaction."""
    if not who.can(Perm.CLAIM_DISPATCH):
        raise Forbidden("只有调度/大灾指挥可以派单", "Only a dispatcher may dispatch")
    with container.uow() as uow:
        staff = staff_members(uow.session)
        batch = work_items(uow.session, who, event_id, {m.id for m in staff if isinstance(m.id, int)})
    res = RunResult(items=len(batch.items), staff=len(staff))
    # work held by someone who went offline or off shift is released and dispatched again with the rest
    for a in dispatch.reassign_offline(batch.held, batch.items, staff, now).assignments:
        uow2: UnitOfWork
        with container.uow() as uow2:
            try:
                version = uow2.session.scalar(select(ClaimCase.version).where(ClaimCase.id == a.item_id))
                if version is None:
                    raise XiaobaoError("案件不存在", "case not found")
                services.act(
                    uow2,
                    who,
                    int(a.item_id),
                    Action.ASSIGN,
                    ActionRequest(
                        version=version, user_id=int(a.staff_id), reason=f"调度引擎 dispatch: {a.reason}"
                    ),
                    now,
                )
                res.assigned.append({"case_id": a.item_id, "user_id": a.staff_id, "reason": a.reason})
            except XiaobaoError as e:
                res.skipped.append({"case_id": a.item_id, "user_id": a.staff_id, "why": e.en})
    return res
