"""Claim use cases. Each takes the acting Principal and a unit of work (or session), checks access through
`access_claim`, applies a domain rule, records the timeline and the audit trail, and returns.

Access rule (THE one check, `access_claim`; lists use `scoped`, the same rule in SQL). Claims are worked
across regions by the factories, so the org subtree alone is not enough. A user with Perm.CLAIM_VIEW sees a
case when ANY of these holds:

1. the case's handling org is in the user's org subtree (a Quanzhou surveyor sees Quanzhou cases, HQ sees all);
2. the case is assigned to the user;
3. the user has a staff profile and the case's district lies in one of the regions the user's factory serves,
   or in one of the user's own allowed (licensed) regions;
4. the user's factory has been moved onto the catastrophe event the case is tagged with.

Anything else does not exist for them (404, indistinguishable from a missing case)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Row, Table, and_, bindparam, false, literal_column, null, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import Org, User
from xiaobao.claims import deadlines, geo
from xiaobao.claims.domain import (
    CANCEL_REASONS,
    CAUSES,
    CHANNELS,
    CONTACT_CHANNELS,
    CONTACT_OUTCOMES,
    LINES,
    PERILS,
    RESCUE_KINDS,
    SPECIAL_GROUPS,
    SURVEY_METHODS,
    TERMINAL,
    Action,
    RescueStatus,
    Snapshot,
    Status,
    TimelineEntry,
    check,
    check_rescue,
    is_fast_track,
    next_retry,
    priority,
    region_matches,
    replay,
    require_text,
    target_of,
)
from xiaobao.claims.schemas import ActionRequest, ContactCreate, ReportCreate, RescueCreate, RescueUpdate
from xiaobao.claims.tables import (
    CatEvent,
    ClaimCase,
    ClaimEvent,
    ClaimIdempotency,
    ContactAttempt,
    Factory,
    FactoryEvent,
    Policy,
    RescueRequest,
    StaffProfile,
)
from xiaobao.core import audit, pii
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.db import UnitOfWork, flush_versioned
from xiaobao.core.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)

# ---------------------------------------------------------------- access


@dataclass(frozen=True)
class Reach:
    """Where a staff member's factory work reaches beyond their org subtree."""

    regions: tuple[str, ...] = ()
    event_ids: frozenset[int] = frozenset()


def staff_reach(session: Session, user_id: int | None) -> Reach:
    if user_id is None:
        return Reach()
    row = session.execute(
        select(StaffProfile.allowed_regions, StaffProfile.factory_id, Factory.regions, Factory.active)
        .outerjoin(Factory, Factory.id == StaffProfile.factory_id)
        .where(StaffProfile.user_id == user_id)
    ).first()
    if row is None:
        return Reach()
    allowed, factory_id, factory_regions, factory_active = row
    regions = list(allowed or [])
    events: frozenset[int] = frozenset()
    if factory_id is not None and factory_active:
        regions += list(factory_regions or [])
        events = frozenset(
            session.scalars(select(FactoryEvent.event_id).where(FactoryEvent.factory_id == factory_id))
        )
    return Reach(tuple(dict.fromkeys(r for r in regions if r)), events)


def can_see(session: Session, who: Principal, c: ClaimCase, reach: Reach | None = None) -> bool:
    if not who.can(Perm.CLAIM_VIEW):
        return False
    if who.sees_path(c.org.path) or (who.user_id is not None and c.assigned_user_id == who.user_id):
        return True
    reach = reach if reach is not None else staff_reach(session, who.user_id)
    return region_matches(c.district_code, reach.regions) or (
        c.event_id is not None and c.event_id in reach.event_ids
    )


def access_claim(session: Session, who: Principal, case_id: int, *, for_update: bool = False) -> ClaimCase:
    """The one access check for a claim case (see the module docstring for the rule)."""
    stmt = select(ClaimCase).where(ClaimCase.id == case_id)
    if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=ClaimCase)
    c = session.scalar(stmt)
    if c is None or not can_see(session, who, c):
        raise NotFound("理赔案件", "claim case")
    return c


def scoped(session: Session, stmt: Any, who: Principal) -> Any:
    """Restrict a ClaimCase query to what `who` may see: the same rule as `access_claim`, in SQL."""
    if not who.can(Perm.CLAIM_VIEW):
        return stmt.where(false())
    if who.scope_path == "/":
        return stmt
    reach = staff_reach(session, who.user_id)
    conds: list[Any] = [Org.path.startswith(who.scope_path)]
    if who.user_id is not None:
        conds.append(ClaimCase.assigned_user_id == who.user_id)
    conds += [ClaimCase.district_code.startswith(r) for r in reach.regions]
    if reach.event_ids:
        conds.append(ClaimCase.event_id.in_(sorted(reach.event_ids)))
    return stmt.join(Org, Org.id == ClaimCase.org_id).where(or_(*conds))


# ---------------------------------------------------------------- intake


def _problem(field: str, zh: str, en: str) -> FieldProblem:
    return FieldProblem(field, zh, en)


PLATE_RE = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警]$"
)


def normalise_plate(value: str | None) -> str | None:
    if not value:
        return None
    v = re.sub(r"[\s·\-.]", "", value).upper()
    return v or None


@dataclass(frozen=True)
class EventRef:
    """What intake needs of a matched catastrophe event (read with one Core SELECT, no ORM entity)."""

    id: int
    name: str
    contact_minutes: int
    survey_hours: int


@dataclass
class Resolved:
    phone: str
    plate: str | None
    org: Org
    district: geo.District | None
    policy_id: int | None
    policy_check: str
    event: EventRef | None


def _split(e: ValueError) -> tuple[str, str]:
    msg = str(e)
    for sep in (" / ", " | ", "；"):
        if sep in msg:
            zh, en = msg.split(sep, 1)
            return zh.strip(), en.strip()
    return msg, msg


def root_org(session: Session) -> Org:
    org = session.scalar(select(Org).where(Org.parent_id.is_(None)).order_by(Org.id).limit(1))
    if org is None:
        raise NotFound("总公司机构", "head office org")
    return org


# The sub-branch of the district's city first, else the branch of its province; lowest id within each. One row.
_ORG_FOR_DISTRICT = (
    select(Org)
    .where(
        or_(
            and_(Org.kind == "subbranch", Org.region_code.startswith(bindparam("city"))),
            and_(Org.kind == "branch", Org.region_code.startswith(bindparam("province"))),
        )
    )
    .order_by((Org.kind == "subbranch").desc(), Org.id)
    .limit(1)
)


def org_for_district(session: Session, district: str | None) -> Org | None:
    """The sub-branch of the district's city, else the branch of its province."""
    if not district:
        return None
    return session.scalar(_ORG_FOR_DISTRICT, {"city": district[:4], "province": district[:2]})


_EVENT_TABLE = cast(Table, CatEvent.__table__)
_ACTIVE_EVENTS = (
    select(
        _EVENT_TABLE.c.id,
        _EVENT_TABLE.c.name,
        _EVENT_TABLE.c.peril,
        _EVENT_TABLE.c.regions,
        _EVENT_TABLE.c.ends_at,
        _EVENT_TABLE.c.contact_minutes,
        _EVENT_TABLE.c.survey_hours,
    )
    .where(_EVENT_TABLE.c.active.is_(True), _EVENT_TABLE.c.starts_at <= bindparam("loss_at"))
    .order_by(_EVENT_TABLE.c.starts_at.desc())
)


def matching_event(session: Session, district: str | None, cause: str, loss_at: datetime) -> EventRef | None:
    """The active catastrophe whose regions, window and peril fit the report (the most recent if several)."""
    if not district:
        return None
    family = CAUSES[cause][2] if cause in CAUSES else "other"
    for e in session.connection().execute(_ACTIVE_EVENTS, {"loss_at": loss_at}):
        if e.ends_at is not None and loss_at > e.ends_at:
            continue
        if region_matches(district, e.regions) and family in PERILS.get(e.peril, ("", "", frozenset()))[2]:
            return EventRef(e.id, e.name, e.contact_minutes, e.survey_hours)
    return None


_POLICY_TABLE = cast(Table, Policy.__table__)


def _policy_lookup(by_number: bool, by_plate: bool) -> Any:
    """By number, else by plate in force at the loss time; a number match wins. One statement, up to two rows
    (hit, id, org_id), ordered: the matching policy (hit 0) if any, then any policy at all (hit 1) to tell
    "not found" from "no policy table loaded" without a second round trip."""
    p = _POLICY_TABLE.c
    conds = []
    if by_number:
        conds.append(p.policy_no == bindparam("policy_no"))
    if by_plate:
        conds.append(
            and_(
                p.plate == bindparam("plate"),
                p.valid_from <= bindparam("loss_at"),
                p.valid_to >= bindparam("loss_at"),
            )
        )
    order = [(p.policy_no == bindparam("policy_no")).desc()] if by_number else []
    match = select(p.id, p.org_id).where(or_(*conds)).order_by(*order).limit(1).subquery()
    any_ = select(p.id).limit(1).subquery()
    return (
        select(literal_column("0").label("hit"), match.c.id, match.c.org_id)
        .union_all(select(literal_column("1"), any_.c.id, null()))
        .order_by("hit")
    )


_POLICY_LOOKUP = {
    (True, True): _policy_lookup(True, True),
    (True, False): _policy_lookup(True, False),
    (False, True): _policy_lookup(False, True),
}


def validate_report(
    session: Session, who: Principal, data: ReportCreate, now: datetime, *, public: bool = False
) -> Resolved:
    """Every field check at once, so the caller sees every problem in one answer."""
    problems: list[FieldProblem] = []
    for field, table, zh in (
        ("line", LINES, "险种"),
        ("cause", CAUSES, "出险原因"),
        ("channel", CHANNELS, "报案渠道"),
    ):
        value = getattr(data, field)
        if value not in table:
            problems.append(
                _problem(
                    field, f"{zh}代码「{value}」无效，可选：{'、'.join(table)}", f"unknown {field} {value!r}"
                )
            )
    if public and data.channel != "mobile":
        problems.append(
            _problem("channel", "自助报案的渠道只能是移动端", "self-service reports come through mobile")
        )
    if data.special_group and data.special_group not in SPECIAL_GROUPS:
        problems.append(
            _problem(
                "special_group",
                f"未知特殊群体「{data.special_group}」",
                f"unknown special group {data.special_group!r}",
            )
        )
    phone = ""
    try:
        phone = pii.normalise_phone(data.reporter_phone)
    except ValueError as e:
        problems.append(_problem("reporter_phone", *_split(e)))
    if data.loss_at.tzinfo is None:
        problems.append(_problem("loss_at", "出险时间须带时区", "loss_at must include a time zone"))
    elif data.loss_at > now + timedelta(minutes=5):
        problems.append(_problem("loss_at", "出险时间不能晚于当前时间", "loss_at is in the future"))
    plate = normalise_plate(data.vehicle_plate)
    if plate and not PLATE_RE.match(plate):
        problems.append(
            _problem(
                "vehicle_plate",
                f"车牌号「{data.vehicle_plate}」格式不正确",
                f"invalid plate {data.vehicle_plate!r}",
            )
        )
    if data.line == "motor" and not plate and not data.policy_no:
        problems.append(
            _problem(
                "vehicle_plate",
                "车险报案请填写车牌号或保单号",
                "a motor report needs the plate or the policy number",
            )
        )
    if data.line in ("property", "agriculture") and not data.property_address and not data.policy_no:
        problems.append(
            _problem(
                "property_address",
                "财产险/农险报案请填写标的地址或保单号",
                "a property or agriculture report needs the insured address or the policy number",
            )
        )
    if (data.lat is None) != (data.lon is None):
        problems.append(_problem("lat", "经纬度须同时填写", "give both latitude and longitude"))
    org: Org | None = None
    if data.org_code:
        org = session.scalar(select(Org).where(Org.code == data.org_code))
        if org is None or org.kind == "department" or (not public and not who.sees_path(org.path)):
            problems.append(
                _problem(
                    "org_code",
                    f"机构「{data.org_code}」不存在、不是分支机构或不在您的管辖范围",
                    f"org {data.org_code!r} unknown, not a branch, or outside your scope",
                )
            )
            org = None
    if problems:
        raise ValidationFailed(problems)

    district = geo.locate(data.place_text, data.lat, data.lon)
    code = district.code if district else None
    # policy look-up: only when a policy table is loaded; a report without a policy is accepted and flagged.
    # One statement when the policy is there (by number, else by plate in force at the loss time).
    policy_id: int | None = None
    policy_org: int | None = None
    if data.policy_no or plate:
        first = (
            session.connection()
            .execute(
                _POLICY_LOOKUP[(bool(data.policy_no), bool(plate))],
                {"policy_no": data.policy_no, "plate": plate, "loss_at": data.loss_at},
            )
            .first()
        )
        if first is None:
            check_ = "no_table"
        elif first.hit == 0:
            _, policy_id, policy_org = first
            check_ = "found"
        else:
            check_ = "not_found"
    else:
        check_ = "not_given"
    if org is None:
        org = org_for_district(session, code)
    if org is None and policy_org is not None:
        org = session.get(Org, policy_org)
    if org is None and not public and who.org_id is not None:
        org = session.get(Org, who.org_id)
        while org is not None and org.kind == "department":
            org = org.parent
    if org is None:
        org = root_org(session)
    event = matching_event(session, code, data.cause, data.loss_at)
    return Resolved(phone, plate, org, district, policy_id, check_, event)


def new_report_no(now: datetime) -> str:
    alphabet = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"
    return (
        "BA" + now.astimezone(CN_TZ).strftime("%y%m%d") + "".join(secrets.choice(alphabet) for _ in range(6))
    )


def sla_for(event: CatEvent | EventRef | None) -> deadlines.Sla:
    if event is None:
        return deadlines.NORMAL_SLA
    return deadlines.event_sla(event.contact_minutes, event.survey_hours)


def refresh_derived(c: ClaimCase, sla: deadlines.Sla | None = None) -> None:
    """Recompute the derived columns (deadlines under the SLA in force, fast track, priority). `sla` is the
    one of the case's event when the caller already has it (intake: the case is not in the session)."""
    sla = sla if sla is not None else sla_for(c.event)
    d = deadlines.compute(
        deadlines.CaseClock(c.reported_at, c.info_collected_at, c.settled_at, c.denied_at), sla
    )
    c.event_mode = sla.event_mode
    c.contact_due = d.contact_due
    c.survey_due = d.survey_due
    c.decision_due = d.decision_due
    c.prepay_due = d.prepay_due
    c.payment_due = d.payment_due
    c.denial_notice_due = d.denial_notice_due
    c.fast_track = is_fast_track(c.line, c.cause, c.estimated_amount, c.people_at_risk)
    c.priority = priority(
        people_at_risk=c.people_at_risk,
        rescue_needed=c.rescue_needed,
        special_group=c.special_group,
        in_event=c.event_id is not None,
        fast_track=c.fast_track,
    )


_INSERT_EVENT = cast(Table, ClaimEvent.__table__).insert()
_CASE_COLUMNS = [col for col in cast(Table, ClaimCase.__table__).columns if col.key != "id"]
# Columns that are NULL when omitted from an INSERT (no client- or server-side default). Leaving the empty ones
# out keeps the statement under psycopg's 50-parameter limit for its parsed-query cache: a 62-parameter INSERT
# is re-parsed on every call. A few statement variants result (which optional fields a report has).
_NULL_WHEN_OMITTED = frozenset(
    col.key for col in _CASE_COLUMNS if col.default is None and col.server_default is None
)
_INSERT_CASE = cast(Table, ClaimCase.__table__).insert().returning(cast(Table, ClaimCase.__table__).c.id)
_INSERT_IDEMPOTENCY = cast(Table, ClaimIdempotency.__table__).insert()


def create_report(
    session: Session, who: Principal, data: ReportCreate, now: datetime, *, public: bool = False
) -> ClaimCase:
    r = validate_report(session, who, data, now, public=public)
    c = ClaimCase(
        report_no=new_report_no(now),
        status=Status.REPORTED,
        channel=data.channel,
        org_id=r.org.id,
        org=r.org,
        created_by_id=who.user_id,
        reporter_name=data.reporter_name,
        reporter_phone=r.phone,
        special_group=data.special_group or None,
        policy_no=data.policy_no or None,
        policy_id=r.policy_id,
        policy_check=r.policy_check,
        loss_at=data.loss_at,
        place_text=data.place_text,
        district_code=r.district.code if r.district else None,
        geocode=r.district.how if r.district else "none",
        lat=data.lat,
        lon=data.lon,
        cause=data.cause,
        line=data.line,
        vehicle_plate=r.plate,
        property_address=data.property_address or None,
        description=data.description,
        people_at_risk=data.people_at_risk,
        rescue_needed=data.rescue_needed or data.people_at_risk > 0,
        estimated_amount=data.estimated_amount,
        event_id=r.event.id if r.event else None,
        prepaid_amount=Decimal("0"),
        reopen_count=0,
        version=1,
        reported_at=now,
        created_at=now,
        updated_at=now,
        contact_attempts=0,
    )
    refresh_derived(c, sla_for(r.event))
    # one Core INSERT ... RETURNING id instead of an ORM flush (the intake hot path, bench/claims_intake.py); the
    # returned object is not attached to the session (its `org` is set, its `event` relationship is not: the
    # matched event comes as an EventRef): later changes load the row through access_claim
    values = {
        col.key: v
        for col in _CASE_COLUMNS
        if (v := getattr(c, col.key)) is not None or col.key not in _NULL_WHEN_OMITTED
    }
    c.id = session.connection().execute(_INSERT_CASE, values).scalar_one()
    # timeline and audit rows are plain appends: Core INSERTs, no second ORM flush (bench/claims_intake.py)
    rows = [
        dict(
            case_id=c.id,
            at=now,
            actor_id=who.user_id,
            actor_label=who.label,
            kind="reported",
            from_status=None,
            to_status=Status.REPORTED.value,
            text=None,
            data={"channel": c.channel, "policy_check": c.policy_check, "district": c.district_code},
        )
    ]
    if r.event is not None:
        rows.append(
            dict(
                case_id=c.id,
                at=now,
                actor_id=None,
                actor_label="系统 (auto)",
                kind="event_tagged",
                from_status=None,
                to_status=None,
                text=r.event.name,
                data={"event_id": r.event.id, "auto": True},
            )
        )
    session.connection().execute(_INSERT_EVENT, rows)
    audit.record(
        session,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim.report",
        entity_type="claim",
        entity_id=c.id,
        after={
            "report_no": c.report_no,
            "status": c.status,
            "channel": c.channel,
            "org_id": c.org_id,
            "event_id": c.event_id,
            "policy_check": c.policy_check,
        },
        ip=who.ip,
        immediate=True,
    )
    return c


def request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


_IDEMPOTENCY_TABLE = cast(Table, ClaimIdempotency.__table__)
_STORED_RESPONSE = select(
    _IDEMPOTENCY_TABLE.c.request_hash, _IDEMPOTENCY_TABLE.c.status_code, _IDEMPOTENCY_TABLE.c.response
).where(_IDEMPOTENCY_TABLE.c.caller == bindparam("caller"), _IDEMPOTENCY_TABLE.c.key == bindparam("key"))


def intake_idempotent(
    uow: UnitOfWork,
    who: Principal,
    data: ReportCreate,
    now: datetime,
    *,
    key: str,
    render: Callable[[ClaimCase], dict[str, Any]],
    caller: str | None = None,
    public: bool = False,
) -> tuple[int, dict[str, Any], bool]:
    """Create a case once per (caller, Idempotency-Key). Returns (status, body, replayed).

    The stored response is written in the same transaction as the case, so an acknowledged report survives a
    crash, and a retry — even a concurrent one — never creates a second case: the loser of the race hits the
    unique (caller, key) constraint, rolls back and answers with the winner's stored response."""
    caller = caller or f"user:{who.user_id}"
    digest = request_hash(data.model_dump(mode="json"))
    s = uow.session
    params = {"caller": caller, "key": key}
    existing = s.connection().execute(_STORED_RESPONSE, params).first()
    if existing is not None:
        return _replay(existing, digest)
    try:
        c = create_report(s, who, data, now, public=public)
        body = render(c)
        s.connection().execute(
            _INSERT_IDEMPOTENCY,
            dict(caller=caller, key=key, request_hash=digest, status_code=201, response=body, created_at=now),
        )
        uow.commit()
    except IntegrityError:
        uow.rollback()
        existing = s.connection().execute(_STORED_RESPONSE, params).first()
        if existing is None:
            raise
        return _replay(existing, digest)
    return 201, body, False


def _replay(rec: Row[Any, Any, Any], digest: str) -> tuple[int, dict[str, Any], bool]:
    if rec.request_hash != digest:
        raise Conflict(
            "该 Idempotency-Key 已用于另一份不同的报案",
            "This Idempotency-Key was already used with a different report",
        )
    return rec.status_code, rec.response, True


# ---------------------------------------------------------------- timeline


def add_event(
    session: Session,
    c: ClaimCase,
    who: Principal,
    at: datetime,
    kind: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    text: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        ClaimEvent(
            case_id=c.id,
            at=at,
            actor_id=who.user_id,
            actor_label=who.label,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            text=text,
            data=data,
        )
    )


def timeline(session: Session, who: Principal, case_id: int) -> list[ClaimEvent]:
    access_claim(session, who, case_id)
    return list(
        session.scalars(
            select(ClaimEvent).where(ClaimEvent.case_id == case_id).order_by(ClaimEvent.at, ClaimEvent.id)
        )
    )


def replay_case(session: Session, who: Principal, case_id: int) -> list[tuple[ClaimEvent, Any]]:
    """The timeline with the case state after each step, rebuilt from the recorded steps alone."""
    events = timeline(session, who, case_id)
    states = replay(TimelineEntry(e.at, e.kind, e.from_status, e.to_status, e.data or {}) for e in events)
    return list(zip(events, states, strict=True))


# ---------------------------------------------------------------- lifecycle


def snapshot(c: ClaimCase) -> Snapshot:
    return Snapshot(
        status=Status(c.status),
        assigned_user_id=c.assigned_user_id,
        line=c.line,
        cause=c.cause,
        people_at_risk=c.people_at_risk,
        estimated_amount=c.estimated_amount,
        assessed_amount=c.assessed_amount,
        contacted=c.contacted_at is not None,
        denial_notified=c.denial_notified_at is not None,
        survey_method=c.survey_method,
    )


def _check_version(c: ClaimCase, version: int) -> None:
    if c.version != version:
        raise Conflict(
            f"该案件已被他人修改（您看到的是第 {version} 版，当前为第 {c.version} 版），请刷新后重试",
            f"This case was changed by someone else (you saw version {version}, it is now {c.version}); reload",
        )


_AUDITED = (
    "status",
    "assigned_user_id",
    "survey_method",
    "assessed_amount",
    "prepaid_amount",
    "settled_amount",
    "paid_amount",
    "denial_reason",
    "close_reason",
    "event_id",
    "contacted_at",
    "closed_at",
    "reopen_count",
)


def _audit_view(c: ClaimCase) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k in _AUDITED:
        v = getattr(c, k)
        d[k] = str(v) if isinstance(v, Decimal) else v
    return d


def _save(
    uow: UnitOfWork, c: ClaimCase, who: Principal, now: datetime, action: str, before: dict[str, Any]
) -> None:
    s = uow.session
    c.updated_at = now
    flush_versioned(s, "案件", "case")
    b, a = audit.diff(before, _audit_view(c))
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action=f"claim.{action}",
        entity_type="claim",
        entity_id=c.id,
        before=b,
        after=a,
        ip=who.ip,
    )
    uow.commit()


def act(
    uow: UnitOfWork, who: Principal, case_id: int, action: Action, req: ActionRequest, now: datetime
) -> ClaimCase:
    """Apply one lifecycle action: access check, version check, rule check, change, timeline, audit."""
    if action == Action.CONTACT:
        raise InvalidTransition(
            "联系报案人请登记联系记录（结果为已联系上）",
            "Record a contact attempt with outcome 'reached' instead",
        )
    s = uow.session
    c = access_claim(s, who, case_id, for_update=True)
    _check_version(c, req.version)
    snap = snapshot(c)
    check(action, snap, who)
    before = _audit_view(c)
    source = c.status
    target = target_of(action, snap)
    with s.no_autoflush:
        text, data = APPLY[action](s, c, who, req, now)
        c.status = target
        refresh_derived(c)
        add_event(
            s,
            c,
            who,
            now,
            action.value,
            from_status=source,
            to_status=target if target != source else None,
            text=text,
            data=data,
        )
    _save(uow, c, who, now, action.value, before)
    return c


Applier = Callable[
    [Session, ClaimCase, Principal, ActionRequest, datetime], tuple[str | None, dict[str, Any]]
]


def _staff_user(s: Session, user_id: int | None) -> User:
    if user_id is None:
        raise ValidationFailed([_problem("user_id", "请选择作业人员", "user_id is required")])
    user = s.get(User, user_id)
    if user is None or not user.active or not ({"claims_operator", "surveyor"} & set(user.roles)):
        raise ValidationFailed(
            [_problem("user_id", "该用户不存在或不是理赔作业人员/查勘员", "user unknown or not claims staff")]
        )
    return user


def _take(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    previous = c.assigned_user_id
    c.assigned_user_id = who.user_id
    c.assignee = s.get(User, who.user_id) if who.user_id else None
    return None, {"user_id": who.user_id, "name": who.display_name, "previous": previous}


def _assign(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    user = _staff_user(s, req.user_id)
    if user.id == c.assigned_user_id:
        raise ValidationFailed(
            [_problem("user_id", "该人员已是承办人", "this person already holds the case")]
        )
    previous = c.assigned_user_id
    c.assignee = user
    return req.reason, {"user_id": user.id, "name": user.display_name, "previous": previous}


def _collect(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    c.info_collected_at = now
    return req.reason, {}


def _survey(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    if req.method not in SURVEY_METHODS:
        raise ValidationFailed(
            [
                _problem(
                    "method",
                    "请选择查勘方式（远程照片/远程视频/现场）",
                    "method must be remote_photo, remote_video or on_site",
                )
            ]
        )
    c.survey_method = req.method
    c.surveyed_at = now
    return req.reason, {"method": req.method, "within_sla": now <= c.survey_due}


def authority_limit(s: Session, user_id: int | None) -> Decimal | None:
    """The staff member's assessment authority; None when they have no staff profile (no limit recorded)."""
    if user_id is None:
        return None
    return s.scalar(select(StaffProfile.authority_limit).where(StaffProfile.user_id == user_id))


def _within_authority(s: Session, who: Principal, amount: Decimal, field: str = "amount") -> None:
    limit = authority_limit(s, who.user_id)
    if limit is not None and amount > limit and not who.can(Perm.CLAIM_DISPATCH):
        raise Forbidden(
            f"金额 {amount} 元超出您的权限（{limit} 元），请提交上级核定",
            f"The amount {amount} exceeds your authority ({limit}); refer it upwards",
        )


def _amount(req: ActionRequest, zh: str, en: str) -> Decimal:
    if req.amount is None or req.amount <= 0:
        raise ValidationFailed([_problem("amount", f"请填写{zh}（大于0）", f"{en} must be greater than 0")])
    return req.amount


def _assess(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    amount = _amount(req, "定损金额", "assessed amount")
    _within_authority(s, who, amount)
    fast = c.status == Status.INFO_COLLECTED
    c.assessed_amount = amount
    c.assessed_at = now
    return req.reason, {"assessed_amount": str(amount), "fast_track": fast}


def _prepay(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    amount = _amount(req, "先予支付金额", "pre-payment amount")
    _within_authority(s, who, c.prepaid_amount + amount)
    c.prepaid_amount = (c.prepaid_amount or Decimal("0")) + amount
    return req.reason, {"prepaid": str(amount), "prepaid_total": str(c.prepaid_amount)}


def _settle(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    amount = req.amount if req.amount is not None else c.assessed_amount
    if amount is None or amount <= 0:
        raise ValidationFailed([_problem("amount", "请填写协议赔付金额", "settled amount is required")])
    if amount < c.prepaid_amount:
        raise ValidationFailed(
            [
                _problem(
                    "amount",
                    "协议金额不能低于已先予支付的金额",
                    "the settlement cannot be below what was pre-paid",
                )
            ]
        )
    _within_authority(s, who, amount)
    c.settled_amount = amount
    c.settled_at = now
    return req.reason, {"settled_amount": str(amount)}


def _pay(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    settled = c.settled_amount or Decimal("0")
    due_now = settled - (c.prepaid_amount or Decimal("0"))
    amount = req.amount if req.amount is not None else due_now
    if amount != due_now:
        raise ValidationFailed(
            [
                _problem(
                    "amount",
                    f"应付金额为 {due_now} 元（协议金额减去已先予支付）",
                    f"the amount due is {due_now}",
                )
            ]
        )
    c.paid_amount = settled
    c.paid_at = now
    on_time = c.payment_due is None or now <= c.payment_due
    return req.reason, {"paid_amount": str(settled), "paid_now": str(amount), "on_time": on_time}


def _close(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    c.closed_at = now
    c.close_reason = "denied" if c.status == Status.DENIED else "paid"
    return req.reason, {"close_reason": c.close_reason}


def denial_notice_text(c: ClaimCase, reason: str, now: datetime) -> str:
    day = now.astimezone(CN_TZ).strftime("%Y年%m月%d日")
    return (
        f"拒赔通知书\n\n{c.reporter_name}：\n"
        f"您于{c.reported_at.astimezone(CN_TZ).strftime('%Y年%m月%d日')}报案的案件（报案号 {c.report_no}），"
        f"经审核，本公司决定不予赔付，理由如下：\n{reason}\n\n"
        "如您对本决定有异议，可在收到本通知书之日起向本公司申请复核，或拨打 95500 咨询；"
        "也可向银行保险监督管理机构投诉（12378），或依法申请仲裁、提起诉讼。\n\n"
        f"{day}"
    )


def _deny(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    reason = require_text("reason", req.reason, "拒赔理由（将写入拒赔通知书）", "denial reason", min_len=10)
    c.denial_reason = reason
    c.denied_at = now
    c.denial_notice = denial_notice_text(c, reason, now)
    return reason, {}


def _notify_denial(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    c.denial_notified_at = now
    on_time = c.denial_notice_due is None or now <= c.denial_notice_due
    return req.reason, {"on_time": on_time}


def _cancel(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    if req.reason_code not in CANCEL_REASONS:
        raise ValidationFailed(
            [
                _problem(
                    "reason_code", "请选择注销原因", "reason_code must be one of " + ", ".join(CANCEL_REASONS)
                )
            ]
        )
    if req.reason_code == "unreachable_closed" and c.contact_attempts < 3:
        raise ValidationFailed(
            [
                _problem(
                    "reason_code",
                    "联系尝试不足3次，不能以「联系未果」注销",
                    "fewer than 3 contact attempts: cannot cancel as unreachable",
                )
            ]
        )
    c.close_reason = req.reason_code
    c.close_note = req.reason
    c.closed_at = now
    c.next_retry_at = None
    return req.reason, {"reason_code": req.reason_code}


def _reopen(
    s: Session, c: ClaimCase, who: Principal, req: ActionRequest, now: datetime
) -> tuple[str | None, dict[str, Any]]:
    reason = require_text("reason", req.reason, "重开原因", "reason for reopening", min_len=4)
    c.reopen_count += 1
    c.closed_at = None
    c.close_reason = None
    if c.contacted_at is not None:
        c.info_collected_at = now  # new information: the Art.23 clock starts again
    c.denied_at = None
    c.denial_notified_at = None
    c.settled_at = None
    return reason, {"reopen_count": c.reopen_count}


APPLY: dict[Action, Applier] = {
    Action.TAKE: _take,
    Action.ASSIGN: _assign,
    Action.COLLECT_INFO: _collect,
    Action.SURVEY: _survey,
    Action.ASSESS: _assess,
    Action.PREPAY: _prepay,
    Action.SETTLE: _settle,
    Action.PAY: _pay,
    Action.CLOSE: _close,
    Action.DENY: _deny,
    Action.NOTIFY_DENIAL: _notify_denial,
    Action.CANCEL: _cancel,
    Action.REOPEN: _reopen,
}


# ---------------------------------------------------------------- contact


def _handling_check(c: ClaimCase, who: Principal) -> None:
    if not (who.can(Perm.CLAIM_HANDLE) or who.can(Perm.CLAIM_DISPATCH)):
        raise Forbidden("您的角色不能处理理赔案件", "Your role may not handle claim cases")
    if (
        c.assigned_user_id is not None
        and c.assigned_user_id != who.user_id
        and not who.can(Perm.CLAIM_DISPATCH)
    ):
        raise Forbidden(
            "案件已分派给其他作业人员，只有承办人或调度可以操作",
            "The case is assigned to someone else; only they or a dispatcher may do this",
        )


def record_contact(
    uow: UnitOfWork, who: Principal, case_id: int, data: ContactCreate, now: datetime
) -> ContactAttempt:
    """Log one attempt to reach the reporter. 'reached' moves a reported case to contacted; any other outcome
    schedules the next attempt (domain.RETRY_AFTER) and queues one SMS to the reporter (the contact job)."""
    s = uow.session
    c = access_claim(s, who, case_id, for_update=True)
    _handling_check(c, who)
    problems = []
    if data.outcome not in CONTACT_OUTCOMES:
        problems.append(
            _problem("outcome", "请选择联系结果", "outcome must be one of " + ", ".join(CONTACT_OUTCOMES))
        )
    if data.channel not in CONTACT_CHANNELS:
        problems.append(
            _problem("channel", "请选择联系方式", "channel must be one of " + ", ".join(CONTACT_CHANNELS))
        )
    if problems:
        raise ValidationFailed(problems)
    if c.status in TERMINAL:
        raise InvalidTransition(
            "案件已结束，不能再登记联系", "The case is finished; no more contact attempts"
        )
    before = _audit_view(c)
    source = c.status
    c.contact_attempts += 1
    reached = data.outcome == "reached"
    attempt = ContactAttempt(
        case_id=c.id,
        attempt_no=c.contact_attempts,
        at=now,
        actor_id=who.user_id,
        channel=data.channel,
        outcome=data.outcome,
        note=data.note,
        sms_due=False,
    )
    to_status: str | None = None
    if reached:
        if c.contacted_at is None:
            c.contacted_at = now
        c.next_retry_at = None
        if c.status == Status.REPORTED:
            c.status = Status.CONTACTED
            to_status = Status.CONTACTED.value
            if c.assigned_user_id is None and who.can(Perm.CLAIM_HANDLE):
                c.assigned_user_id = who.user_id
    elif c.contacted_at is None:
        # every attempt before the reporter was first reached failed
        attempt.next_retry_at = next_retry(c.contact_attempts, now)
        c.next_retry_at = attempt.next_retry_at
        attempt.sms_due = pii.is_mobile(c.reporter_phone) and data.outcome != "wrong_number"
    s.add(attempt)
    add_event(
        s,
        c,
        who,
        now,
        "contact_attempt",
        from_status=source if to_status else None,
        to_status=to_status,
        text=data.note,
        data={
            "attempt_no": attempt.attempt_no,
            "channel": data.channel,
            "outcome": data.outcome,
            "next_retry_at": attempt.next_retry_at.isoformat() if attempt.next_retry_at else None,
            "within_sla": now <= c.contact_due,
        },
    )
    _save(uow, c, who, now, "contact", before)
    return attempt


def contact_attempts(session: Session, who: Principal, case_id: int) -> list[ContactAttempt]:
    access_claim(session, who, case_id)
    return list(
        session.scalars(
            select(ContactAttempt)
            .where(ContactAttempt.case_id == case_id)
            .order_by(ContactAttempt.attempt_no)
        )
    )


# ---------------------------------------------------------------- rescue


def request_rescue(
    uow: UnitOfWork, who: Principal, case_id: int, data: RescueCreate, now: datetime
) -> RescueRequest:
    s = uow.session
    c = access_claim(s, who, case_id, for_update=True)
    _handling_check(c, who)
    if data.kind not in RESCUE_KINDS:
        raise ValidationFailed(
            [_problem("kind", "请选择救援类型（拖车/抽水/人员转移）", "kind must be tow, pump or evacuation")]
        )
    if data.eta is not None and data.eta.tzinfo is None:
        raise ValidationFailed([_problem("eta", "预计到达时间须带时区", "eta must include a time zone")])
    if c.status in TERMINAL:
        raise InvalidTransition(
            "案件已结束，不能再派救援", "The case is finished; no rescue can be requested"
        )
    before = _audit_view(c)
    r = RescueRequest(
        case_id=c.id,
        kind=data.kind,
        vendor=data.vendor,
        status=RescueStatus.REQUESTED,
        requested_at=now,
        requested_by_id=who.user_id,
        eta=data.eta,
        note=data.note,
        updated_at=now,
    )
    s.add(r)
    s.flush()
    c.rescue_needed = True
    refresh_derived(c)
    add_event(
        s,
        c,
        who,
        now,
        "rescue_requested",
        text=data.note,
        data={
            "rescue_id": r.id,
            "kind": data.kind,
            "vendor": data.vendor,
            "eta": data.eta.isoformat() if data.eta else None,
        },
    )
    _save(uow, c, who, now, "rescue_request", before)
    return r


def update_rescue(
    uow: UnitOfWork, who: Principal, case_id: int, rescue_id: int, data: RescueUpdate, now: datetime
) -> RescueRequest:
    s = uow.session
    c = access_claim(s, who, case_id, for_update=True)
    _handling_check(c, who)
    r = s.get(RescueRequest, rescue_id)
    if r is None or r.case_id != c.id:
        raise NotFound("救援单", "rescue request")
    try:
        new = RescueStatus(data.status)
    except ValueError:
        raise ValidationFailed(
            [_problem("status", "未知的救援状态", f"unknown rescue status {data.status!r}")]
        ) from None
    check_rescue(RescueStatus(r.status), new)
    if data.eta is not None and data.eta.tzinfo is None:
        raise ValidationFailed([_problem("eta", "预计到达时间须带时区", "eta must include a time zone")])
    before = _audit_view(c)
    r.status = new
    if data.eta is not None:
        r.eta = data.eta
    if new == RescueStatus.ACCEPTED:
        r.accepted_at = now
    elif new == RescueStatus.ARRIVED:
        r.arrived_at = now
    elif new == RescueStatus.DONE:
        r.done_at = now
    elif new == RescueStatus.CANCELLED:
        r.cancelled_at = now
    if data.note:
        r.note = data.note
    r.updated_at = now
    minutes = int((now - r.requested_at).total_seconds() // 60) if new == RescueStatus.ARRIVED else None
    add_event(
        s,
        c,
        who,
        now,
        f"rescue_{new.value}",
        text=data.note,
        data={"rescue_id": r.id, "kind": r.kind, "vendor": r.vendor, "minutes_to_arrive": minutes},
    )
    _save(uow, c, who, now, "rescue_update", before)
    return r


def rescues(session: Session, who: Principal, case_id: int) -> list[RescueRequest]:
    access_claim(session, who, case_id)
    return list(
        session.scalars(
            select(RescueRequest).where(RescueRequest.case_id == case_id).order_by(RescueRequest.id)
        )
    )


# ---------------------------------------------------------------- personal data


def reveal(uow: UnitOfWork, who: Principal, case_id: int, now: datetime) -> ClaimCase:
    """Unmasked reporter name and phone for roles that must call the reporter; the view is audited."""
    c = access_claim(uow.session, who, case_id)
    if not who.can(Perm.PII_VIEW):
        raise Forbidden("您的角色不能查看完整个人信息", "Your role may not see unmasked personal data")
    audit.record(
        uow.session,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim.pii_view",
        entity_type="claim",
        entity_id=c.id,
        after={"fields": ["reporter_name", "reporter_phone"]},
        ip=who.ip,
    )
    uow.commit()
    return c
