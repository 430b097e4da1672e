"""Factories, teams and staff profiles (skills, authority limit, allowed regions, home district, shifts,
capacity, online flag). Editing needs Perm.CAT_COMMAND (commanders move staff between factories); reading
needs Perm.CLAIM_VIEW.

`staff_rows()` gives the plain values a dispatch engine needs, one dict per staff member."""

from __future__ import annotations

import re
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import Org, User
from xiaobao.claims.domain import LINES, OPEN_STATUSES
from xiaobao.claims.schemas import FactoryCreate, StaffUpsert
from xiaobao.claims.tables import ClaimCase, Factory, StaffProfile, Team
from xiaobao.core import audit
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import FieldProblem, Forbidden, ValidationFailed

REGION_RE = re.compile(r"^\d{2}(\d{2}(\d{2})?)?$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
STAFF_KINDS = {"operator": ("理赔作业人员", "Operator"), "surveyor": ("查勘员", "Surveyor")}

# The factories the seed names: code, zh, en, city
SEED_FACTORIES = [
    ("SZ", "苏州理赔工厂", "Suzhou claims factory", "苏州"),
    ("SQ", "宿迁理赔工厂", "Suqian claims factory", "宿迁"),
    ("HZ", "杭州理赔工厂", "Hangzhou claims factory", "杭州"),
    ("FS", "佛山理赔工厂", "Foshan claims factory", "佛山"),
    ("CD", "成都理赔工厂", "Chengdu claims factory", "成都"),
    ("XA", "西安理赔工厂", "Xi'an claims factory", "西安"),
    ("ZB", "淄博理赔工厂", "Zibo claims factory", "淄博"),
]


def _require(who: Principal, perm: Perm) -> None:
    if not who.can(perm):
        raise Forbidden()


def _regions(field: str, values: list[str]) -> list[FieldProblem]:
    bad = [r for r in values if not REGION_RE.match(r)]
    if not bad:
        return []
    return [
        FieldProblem(
            field,
            f"地区代码须为2/4/6位行政区划代码前缀：{'、'.join(bad)}",
            f"{field} must be 2, 4 or 6-digit division code prefixes: {', '.join(bad)}",
        )
    ]


def create_factory(uow: UnitOfWork, who: Principal, data: FactoryCreate, now: datetime) -> Factory:
    _require(who, Perm.CAT_COMMAND)
    s = uow.session
    problems = _regions("regions", data.regions)
    if s.scalar(select(Factory.id).where(Factory.code == data.code)) is not None:
        problems.append(
            FieldProblem("code", f"工厂编号「{data.code}」已存在", f"factory code {data.code!r} exists")
        )
    org_id = None
    if data.org_code:
        org_id = s.scalar(select(Org.id).where(Org.code == data.org_code))
        if org_id is None:
            problems.append(
                FieldProblem("org_code", f"机构「{data.org_code}」不存在", f"unknown org {data.org_code!r}")
            )
    if problems:
        raise ValidationFailed(problems)
    f = Factory(
        code=data.code,
        name_zh=data.name_zh,
        name_en=data.name_en,
        city=data.city,
        org_id=org_id,
        regions=sorted(set(data.regions)),
        active=True,
    )
    s.add(f)
    s.flush()
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim_factory.create",
        entity_type="claim_factory",
        entity_id=f.id,
        after={"code": f.code, "regions": f.regions},
        ip=who.ip,
    )
    uow.commit()
    return f


def set_factory_regions(
    uow: UnitOfWork, who: Principal, code: str, regions: list[str], now: datetime
) -> Factory:
    _require(who, Perm.CAT_COMMAND)
    s = uow.session
    f = s.scalar(select(Factory).where(Factory.code == code))
    if f is None:
        raise ValidationFailed([FieldProblem("code", f"工厂「{code}」不存在", f"unknown factory {code!r}")])
    problems = _regions("regions", regions)
    if problems:
        raise ValidationFailed(problems)
    before = list(f.regions)
    f.regions = sorted(set(regions))
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim_factory.regions",
        entity_type="claim_factory",
        entity_id=f.id,
        before={"regions": before},
        after={"regions": f.regions},
        ip=who.ip,
    )
    uow.commit()
    return f


def upsert_staff(uow: UnitOfWork, who: Principal, data: StaffUpsert, now: datetime) -> StaffProfile:
    """Create or update a user's staff profile (a commander moving someone to another factory is an update)."""
    _require(who, Perm.CAT_COMMAND)
    s = uow.session
    problems: list[FieldProblem] = []
    user = s.scalar(select(User).where(User.username == data.username))
    if user is None or not ({"claims_operator", "surveyor", "commander"} & set(user.roles)):
        problems.append(
            FieldProblem(
                "username",
                f"用户「{data.username}」不存在或不是理赔人员",
                f"{data.username!r} is not claims staff",
            )
        )
    if data.kind not in STAFF_KINDS:
        problems.append(
            FieldProblem("kind", "人员类型须为作业人员或查勘员", "kind must be operator or surveyor")
        )
    bad_skills = [k for k in data.skills if k not in LINES]
    if bad_skills:
        problems.append(
            FieldProblem(
                "skills",
                f"未知技能：{'、'.join(bad_skills)}",
                f"unknown skills {bad_skills}; use {list(LINES)}",
            )
        )
    problems += _regions("allowed_regions", data.allowed_regions)
    if data.home_district and not re.fullmatch(r"\d{6}", data.home_district):
        problems.append(
            FieldProblem("home_district", "常驻区县须为6位行政区划代码", "home_district must be 6 digits")
        )
    for a, b in data.shifts:
        if not (HHMM.match(a) and HHMM.match(b)) or a == b:
            problems.append(
                FieldProblem(
                    "shifts", f"班次「{a}-{b}」格式应为 HH:MM-HH:MM", f"shift {a}-{b} must be HH:MM-HH:MM"
                )
            )
    factory = None
    if data.factory_code:
        factory = s.scalar(select(Factory).where(Factory.code == data.factory_code))
        if factory is None:
            problems.append(
                FieldProblem(
                    "factory_code",
                    f"工厂「{data.factory_code}」不存在",
                    f"unknown factory {data.factory_code!r}",
                )
            )
    if data.kind == "surveyor" and not data.home_district and not data.factory_code:
        problems.append(
            FieldProblem("home_district", "查勘员须填写常驻区县", "a local surveyor needs a home district")
        )
    if problems:
        raise ValidationFailed(problems)
    assert user is not None
    team_id = None
    if data.team and factory is not None:
        team = s.scalar(select(Team).where(Team.factory_id == factory.id, Team.name == data.team))
        if team is None:
            team = Team(factory_id=factory.id, name=data.team)
            s.add(team)
            s.flush()
        team_id = team.id
    p = s.scalar(select(StaffProfile).where(StaffProfile.user_id == user.id))
    before = _view(p) if p else None
    if p is None:
        p = StaffProfile(user_id=user.id, user=user)
        s.add(p)
    p.kind = data.kind
    p.factory_id = factory.id if factory else None
    p.factory = factory
    p.team_id = team_id
    p.skills = sorted(set(data.skills))
    p.authority_limit = data.authority_limit
    p.allowed_regions = sorted(set(data.allowed_regions))
    p.home_district = data.home_district or None
    p.shifts = [list(x) for x in data.shifts]
    p.capacity = data.capacity
    p.online = data.online
    p.updated_at = now
    s.flush()
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim_staff.upsert",
        entity_type="claim_staff",
        entity_id=p.id,
        before=before,
        after=_view(p),
        ip=who.ip,
    )
    uow.commit()
    return p


def _view(p: StaffProfile) -> dict[str, Any]:
    return {
        "user_id": p.user_id,
        "kind": p.kind,
        "factory_id": p.factory_id,
        "skills": list(p.skills or []),
        "authority_limit": str(p.authority_limit),
        "allowed_regions": list(p.allowed_regions or []),
        "home_district": p.home_district,
        "shifts": list(p.shifts or []),
        "capacity": p.capacity,
        "online": p.online,
    }


def set_online(uow: UnitOfWork, who: Principal, online: bool, now: datetime) -> StaffProfile:
    """A staff member signs on or off their own shift."""
    s = uow.session
    p = s.scalar(select(StaffProfile).where(StaffProfile.user_id == who.user_id))
    if p is None:
        raise ValidationFailed(
            [FieldProblem("online", "您没有理赔人员档案", "You have no claims staff profile")]
        )
    p.online = online
    p.updated_at = now
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim_staff.online" if online else "claim_staff.offline",
        entity_type="claim_staff",
        entity_id=p.id,
        ip=who.ip,
    )
    uow.commit()
    return p


def on_shift(shifts: list[list[str]] | list[tuple[str, str]], at: datetime) -> bool:
    """Whether local time `at` falls in one of the shift windows (an end before the start crosses midnight)."""
    t = at.astimezone(CN_TZ).time()
    for a, b in shifts:
        start, end = time.fromisoformat(a), time.fromisoformat(b)
        if (start <= t < end) if start < end else (t >= start or t < end):
            return True
    return False


def factories(session: Session, who: Principal) -> list[Factory]:
    _require(who, Perm.CLAIM_VIEW)
    return list(session.scalars(select(Factory).order_by(Factory.code)))


def staff_rows(session: Session, who: Principal, now: datetime) -> list[dict[str, Any]]:
    """Every staff profile as plain values, with the open cases each one holds (load)."""
    _require(who, Perm.CLAIM_VIEW)
    load = dict(
        session.execute(
            select(ClaimCase.assigned_user_id, func.count())
            .where(
                ClaimCase.assigned_user_id.is_not(None),
                ClaimCase.status.in_([st.value for st in OPEN_STATUSES]),
            )
            .group_by(ClaimCase.assigned_user_id)
        ).all()
    )
    teams = {t.id: t.name for t in session.scalars(select(Team))}
    out = []
    for p in session.scalars(select(StaffProfile).order_by(StaffProfile.factory_id, StaffProfile.id)):
        out.append(
            {
                "user_id": p.user_id,
                "username": p.user.username,
                "name": p.user.display_name,
                "org": p.user.org.code,
                "kind": p.kind,
                "factory": p.factory.code if p.factory else None,
                "team": teams.get(p.team_id) if p.team_id else None,
                "skills": list(p.skills or []),
                "authority_limit": p.authority_limit
                if isinstance(p.authority_limit, Decimal)
                else Decimal(str(p.authority_limit)),
                "allowed_regions": list(p.allowed_regions or []),
                "home_district": p.home_district,
                "shifts": [tuple(x) for x in (p.shifts or [])],
                "capacity": p.capacity,
                "online": p.online,
                "on_shift": on_shift(p.shifts or [], now),
                "open_cases": int(load.get(p.user_id, 0)),
            }
        )
    return out
