"""Catastrophe events (大灾事件): declare, tag reports (automatically at intake, in bulk afterwards), switch the
tagged cases to the event's SLA and priorities, move factories onto an event, close it.

Declaring and commanding need Perm.CAT_COMMAND; reading events needs Perm.CLAIM_VIEW."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.claims.domain import CAUSES, OPEN_STATUSES, PERILS, Status, region_matches
from xiaobao.claims.schemas import BulkTag, EventCreate
from xiaobao.claims.services import access_claim, add_event, refresh_derived, scoped
from xiaobao.claims.tables import CatEvent, ClaimCase, Factory, FactoryEvent
from xiaobao.core import audit
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import Conflict, FieldProblem, Forbidden, NotFound, ValidationFailed

REGION_RE = re.compile(r"^\d{2}(\d{2}(\d{2})?)?$")


def _require(who: Principal, perm: Perm) -> None:
    if not who.can(perm):
        raise Forbidden()


def get_event(session: Session, who: Principal, event_id: int) -> CatEvent:
    if not who.can(Perm.CLAIM_VIEW):
        raise NotFound("大灾事件", "catastrophe event")
    e = session.get(CatEvent, event_id)
    if e is None:
        raise NotFound("大灾事件", "catastrophe event")
    return e


def list_events(session: Session, who: Principal) -> list[CatEvent]:
    if not who.can(Perm.CLAIM_VIEW):
        raise Forbidden()
    return list(session.scalars(select(CatEvent).order_by(CatEvent.active.desc(), CatEvent.starts_at.desc())))


def _fits(e: CatEvent, c: ClaimCase, *, any_cause: bool) -> bool:
    if c.loss_at < e.starts_at or (e.ends_at is not None and c.loss_at > e.ends_at):
        return False
    if not region_matches(c.district_code, e.regions):
        return False
    return any_cause or CAUSES.get(c.cause, ("", "", "other"))[2] in PERILS[e.peril][2]


def _tag(
    session: Session, e: CatEvent | None, c: ClaimCase, who: Principal, now: datetime, auto: bool
) -> None:
    previous = c.event_id
    c.event_id = e.id if e else None
    c.event = e
    refresh_derived(c)
    c.updated_at = now
    add_event(
        session,
        c,
        who,
        now,
        "event_tagged" if e else "event_untagged",
        text=e.name if e else None,
        data={"event_id": e.id if e else None, "previous": previous, "auto": auto},
    )


def declare(uow: UnitOfWork, who: Principal, data: EventCreate, now: datetime) -> tuple[CatEvent, int]:
    """Declare an event and tag the open, untagged cases that already match it. Returns (event, tagged)."""
    _require(who, Perm.CAT_COMMAND)
    s = uow.session
    problems: list[FieldProblem] = []
    if data.peril not in PERILS:
        problems.append(FieldProblem("peril", "请选择灾害类型", "peril must be one of " + ", ".join(PERILS)))
    bad = [r for r in data.regions if not REGION_RE.match(r)]
    if bad:
        problems.append(
            FieldProblem(
                "regions",
                f"地区代码须为2/4/6位行政区划代码前缀：{'、'.join(bad)}",
                f"regions must be 2, 4 or 6-digit division code prefixes: {', '.join(bad)}",
            )
        )
    for name, value in (("starts_at", data.starts_at), ("ends_at", data.ends_at)):
        if value is not None and value.tzinfo is None:
            problems.append(FieldProblem(name, "时间须带时区", f"{name} must include a time zone"))
    if (
        data.ends_at is not None
        and data.ends_at.tzinfo
        and data.starts_at.tzinfo
        and data.ends_at <= data.starts_at
    ):
        problems.append(FieldProblem("ends_at", "结束时间须晚于开始时间", "ends_at must be after starts_at"))
    if s.scalar(select(CatEvent.id).where(CatEvent.code == data.code)) is not None:
        problems.append(
            FieldProblem("code", f"事件编号「{data.code}」已存在", f"event code {data.code!r} exists")
        )
    if problems:
        raise ValidationFailed(problems)
    e = CatEvent(
        code=data.code,
        name=data.name,
        peril=data.peril,
        regions=sorted(set(data.regions)),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        contact_minutes=data.contact_minutes,
        survey_hours=data.survey_hours,
        active=True,
        declared_by_id=who.user_id,
        declared_at=now,
        note=data.note,
    )
    s.add(e)
    s.flush()
    tagged = _tag_matching(s, e, who, now, any_cause=False)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim_event.declare",
        entity_type="claim_event",
        entity_id=e.id,
        after={"code": e.code, "name": e.name, "peril": e.peril, "regions": e.regions, "tagged": tagged},
        ip=who.ip,
    )
    uow.commit()
    return e, tagged


def _tag_matching(s: Session, e: CatEvent, who: Principal, now: datetime, *, any_cause: bool) -> int:
    stmt = select(ClaimCase).where(
        ClaimCase.event_id.is_(None),
        ClaimCase.status.in_([st.value for st in OPEN_STATUSES]),
        ClaimCase.loss_at >= e.starts_at,
    )
    n = 0
    for c in s.scalars(stmt):
        if _fits(e, c, any_cause=any_cause):
            _tag(s, e, c, who, now, auto=True)
            n += 1
    return n


def bulk_tag(uow: UnitOfWork, who: Principal, event_id: int, data: BulkTag, now: datetime) -> dict[str, Any]:
    """Tag chosen cases (any the commander can see, whatever their cause or region) or, with `matching`,
    every open untagged case in the event's regions and window whatever its cause. Returns counts."""
    _require(who, Perm.CAT_COMMAND)
    s = uow.session
    e = get_event(s, who, event_id)
    if not e.active:
        raise Conflict("事件已关闭，不能再归集案件", "The event is closed; cases can no longer be tagged")
    tagged, skipped = 0, []
    for cid in dict.fromkeys(data.case_ids):
        c = access_claim(s, who, cid, for_update=True)
        if c.event_id == e.id:
            skipped.append(cid)
            continue
        _tag(s, e, c, who, now, auto=False)
        tagged += 1
    if data.matching:
        tagged += _tag_matching(s, e, who, now, any_cause=True)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim_event.bulk_tag",
        entity_type="claim_event",
        entity_id=e.id,
        after={"tagged": tagged, "skipped": skipped, "matching": data.matching},
        ip=who.ip,
    )
    uow.commit()
    return {"tagged": tagged, "skipped": skipped}


def close_event(uow: UnitOfWork, who: Principal, event_id: int, now: datetime) -> CatEvent:
    """End event mode: new reports are no longer tagged; tagged cases keep their tag and SLA history."""
    _require(who, Perm.CAT_COMMAND)
    s = uow.session
    e = get_event(s, who, event_id)
    if not e.active:
        raise Conflict("事件已关闭", "The event is already closed")
    e.active = False
    e.closed_at = now
    if e.ends_at is None:
        e.ends_at = now
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim_event.close",
        entity_type="claim_event",
        entity_id=e.id,
        ip=who.ip,
    )
    uow.commit()
    return e


def assign_factory(
    uow: UnitOfWork, who: Principal, event_id: int, factory_code: str, now: datetime
) -> FactoryEvent:
    """Move a factory onto an event: its staff then see and work the event's cases."""
    _require(who, Perm.CAT_COMMAND)
    s = uow.session
    e = get_event(s, who, event_id)
    f = s.scalar(select(Factory).where(Factory.code == factory_code))
    if f is None:
        raise ValidationFailed(
            [
                FieldProblem(
                    "factory_code", f"工厂「{factory_code}」不存在", f"unknown factory {factory_code!r}"
                )
            ]
        )
    if s.scalar(
        select(FactoryEvent.id).where(FactoryEvent.factory_id == f.id, FactoryEvent.event_id == e.id)
    ):
        raise Conflict("该工厂已投入此事件", "This factory already works this event")
    fe = FactoryEvent(factory_id=f.id, event_id=e.id, assigned_at=now, assigned_by_id=who.user_id)
    s.add(fe)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim_event.assign_factory",
        entity_type="claim_event",
        entity_id=e.id,
        after={"factory": f.code},
        ip=who.ip,
    )
    uow.commit()
    return fe


def event_factories(session: Session, event_id: int) -> list[Factory]:
    return list(
        session.scalars(
            select(Factory)
            .join(FactoryEvent, FactoryEvent.factory_id == Factory.id)
            .where(FactoryEvent.event_id == event_id)
        )
    )


def event_stats(session: Session, who: Principal, event_id: int, now: datetime) -> dict[str, Any]:
    """Counts of the event's cases the caller can see: by status, contact SLA, rescue, paid ratio."""
    e = get_event(session, who, event_id)
    base = scoped(session, select(ClaimCase.status, func.count()).where(ClaimCase.event_id == e.id), who)
    by_status = {st: n for st, n in session.execute(base.group_by(ClaimCase.status))}
    total = sum(by_status.values())
    q = scoped(session, select(func.count()).select_from(ClaimCase).where(ClaimCase.event_id == e.id), who)
    uncontacted_overdue = (
        session.scalar(q.where(ClaimCase.status == Status.REPORTED.value, ClaimCase.contact_due < now)) or 0
    )
    contacted_in_sla = (
        session.scalar(
            q.where(ClaimCase.contacted_at.is_not(None), ClaimCase.contacted_at <= ClaimCase.contact_due)
        )
        or 0
    )
    contacted = session.scalar(q.where(ClaimCase.contacted_at.is_not(None))) or 0
    surveyed_48h = (
        session.scalar(
            q.where(ClaimCase.surveyed_at.is_not(None), ClaimCase.surveyed_at <= ClaimCase.survey_due)
        )
        or 0
    )
    people = (
        session.scalar(
            scoped(
                session,
                select(func.coalesce(func.sum(ClaimCase.people_at_risk), 0)).where(
                    ClaimCase.event_id == e.id
                ),
                who,
            )
        )
        or 0
    )
    return {
        "total": total,
        "by_status": by_status,
        "contacted": contacted,
        "contacted_in_sla": contacted_in_sla,
        "uncontacted_overdue": uncontacted_overdue,
        "surveyed_in_sla": surveyed_48h,
        "people_at_risk": int(people),
    }
