"""Claims demo data, driven through the real services: the seven claims factories, staff profiles for the demo
claims users, Typhoon Doksuri (杜苏芮, landfall at Jinjiang, Quanzhou, 2023-07-28) declared as a catastrophe
event with the Foshan factory moved onto it, and a few hundred reports in every state of the lifecycle.

Deterministic (seeded) apart from the time: the demo is a drill that replays Doksuri's landfall about two and a half
days before the demo is loaded, so the event is active, the command page is live and queue ages are realistic (the
real 2023 track is what the risk radar demo shows)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.tables import User
from xiaobao.bootstrap import Container
from xiaobao.claims import events, services, staff
from xiaobao.claims.domain import Action, is_fast_track
from xiaobao.claims.schemas import (
    ActionRequest,
    ContactCreate,
    EventCreate,
    FactoryCreate,
    ReportCreate,
    RescueCreate,
    RescueUpdate,
    StaffUpsert,
)
from xiaobao.claims.tables import ClaimCase
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import XiaobaoError

FACTORY_REGIONS = {
    "SZ": ["32"],
    "SQ": ["32"],
    "HZ": ["33"],
    "FS": ["44"],
    "CD": ["51"],
    "XA": ["61"],
    "ZB": ["37"],
}

# username: kind, factory, skills, authority limit, allowed regions, home district, shifts, capacity
STAFF: dict[
    str, tuple[str, str | None, list[str], int, list[str], str | None, list[tuple[str, str]], int]
] = {
    "fj_claims_op1": ("operator", None, ["motor", "property"], 50000, ["35"], None, [("08:00", "20:00")], 40),
    "fj_claims_op2": ("operator", None, ["motor"], 30000, ["35"], None, [("20:00", "08:00")], 40),
    "qz_claims_op": (
        "operator",
        None,
        ["motor", "property", "agriculture"],
        30000,
        ["3505"],
        None,
        [("08:00", "20:00")],
        30,
    ),
    "fs_claims_op1": ("operator", "FS", ["motor"], 20000, [], None, [("08:00", "20:00")], 50),
    "fs_claims_op2": ("operator", "FS", ["motor", "property"], 20000, [], None, [("12:00", "00:00")], 50),
    "hq_claims_op": ("operator", "SZ", ["motor", "property"], 100000, [], None, [("09:00", "18:00")], 20),
    "qz_surveyor1": (
        "surveyor",
        None,
        ["motor", "property"],
        50000,
        ["3505"],
        "350582",
        [("07:00", "19:00")],
        15,
    ),
    "qz_surveyor2": (
        "surveyor",
        None,
        ["motor", "agriculture"],
        50000,
        ["3505"],
        "350503",
        [("07:00", "19:00")],
        15,
    ),
    "fz_surveyor1": (
        "surveyor",
        None,
        ["motor", "property"],
        50000,
        ["3501"],
        "350102",
        [("08:00", "20:00")],
        15,
    ),
    "fj_surveyor": (
        "surveyor",
        None,
        ["property", "agriculture"],
        80000,
        ["35"],
        "350105",
        [("08:00", "20:00")],
        15,
    ),
    "hq_surveyor": ("surveyor", "SZ", ["property"], 200000, [], "320505", [("09:00", "18:00")], 10),
}

PLACES = [
    # (district text, weight)
    ("泉州市晋江市安海镇", 14),
    ("泉州市晋江市青阳街道", 10),
    ("泉州市石狮市宝盖镇", 8),
    ("泉州市丰泽区东海街道", 8),
    ("泉州市鲤城区开元街道", 5),
    ("泉州市南安市水头镇", 6),
    ("泉州市惠安县螺城镇", 4),
    ("厦门市思明区鹭江道", 6),
    ("厦门市同安区大同街道", 4),
    ("莆田市荔城区镇海街道", 5),
    ("莆田市秀屿区笏石镇", 3),
    ("福州市长乐区吴航街道", 3),
    ("福州市闽侯县上街镇", 3),
    ("漳州市龙海区石码街道", 3),
]
STREETS = ["成功路", "泉安路", "世纪大道", "宝洲路", "滨海路", "中山路", "新华路", "环城路"]
SURNAMES = "陈林黄张李王吴刘蔡杨郑许洪苏"
GIVEN = ["志明", "秀英", "建华", "丽娟", "国强", "美玲", "文辉", "淑贞", "少华", "雅婷", "金水", "阿妹"]
CAUSES = [("waterlogging", 40), ("typhoon", 25), ("fallen_object", 20), ("rainstorm", 10), ("flood", 5)]
# final stage and weight
STAGES = [
    ("reported", 7),
    ("contacted", 8),
    ("info_collected", 12),
    ("surveyed", 14),
    ("assessed", 10),
    ("settled", 7),
    ("paid", 12),
    ("closed", 22),
    ("denied", 4),
    ("cancelled", 4),
]
ORDER = ["reported", "contacted", "info_collected", "surveyed", "assessed", "settled", "paid", "closed"]
DRILL_LANDFALL_AGO = timedelta(hours=62)  # every generated report lies before the load time


def drill_landfall(now: datetime) -> datetime:
    """The drill's landfall: 62 hours before `now`, at 09:55 local time of that day (Doksuri's real landfall time)."""
    day = (now - DRILL_LANDFALL_AGO).astimezone(CN_TZ)
    landfall = day.replace(hour=9, minute=55, second=0, microsecond=0)
    return landfall if landfall <= now - DRILL_LANDFALL_AGO else landfall - timedelta(days=1)


def _pick(rng: random.Random, items: list[tuple[Any, int]]) -> Any:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def _principal(s: Any, username: str) -> Principal:
    user = s.scalars(select(User).where(User.username == username)).one()
    return auth.principal_for(user)


def load_claims_demo(container: Container, n: int = 300, seed: int = 20230728) -> dict[str, int]:
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    with container.uow() as uow:
        s = uow.session
        if s.scalar(select(User.id).where(User.username == "hq_commander")) is None:
            return counts  # the demo org tree without claims users: nothing to attach to
        hq = _principal(s, "hq_commander")
        fj = _principal(s, "fj_commander")
    landfall = drill_landfall(container.clock.now())
    declared = landfall - timedelta(days=1, hours=4)
    for code, zh, en, city in staff.SEED_FACTORIES:
        with container.uow() as uow:
            staff.create_factory(
                uow,
                hq,
                FactoryCreate(code=code, name_zh=zh, name_en=en, city=city, regions=FACTORY_REGIONS[code]),
                declared,
            )
    for username, (kind, factory, skills, limit, regions, home, shifts, cap) in STAFF.items():
        with container.uow() as uow:
            staff.upsert_staff(
                uow,
                hq,
                StaffUpsert(
                    username=username,
                    kind=kind,
                    factory_code=factory,
                    team="台风组" if factory == "FS" else None,
                    skills=skills,
                    authority_limit=Decimal(limit),
                    allowed_regions=regions,
                    home_district=home,
                    shifts=shifts,
                    capacity=cap,
                    online=True,
                ),
                declared,
            )
    counts["claims.factories"] = len(staff.SEED_FACTORIES)
    counts["claims.staff"] = len(STAFF)
    with container.uow() as uow:
        event, _ = events.declare(
            uow,
            fj,
            EventCreate(
                code="DOKSURI-DRILL",
                name="台风杜苏芮（2305）重演演练",
                peril="typhoon",
                regions=["3501", "3502", "3503", "3505", "3506"],
                starts_at=declared,
                ends_at=landfall + timedelta(days=10),
                contact_minutes=30,
                survey_hours=48,
                note="演练数据：按2023年7月28日杜苏芮9时55分在晋江沿海登陆的情形重演，时间平移至近三天；"
                "泉州、厦门、莆田、福州受灾严重。",
            ),
            declared,
        )
        event_id = event.id
    with container.uow() as uow:
        events.assign_factory(uow, hq, event_id, "FS", declared + timedelta(hours=2))

    with container.uow() as uow:
        s = uow.session
        who = {u: _principal(s, u) for u in STAFF} | {"fj_commander": fj}
    operators = ["fs_claims_op1", "fs_claims_op2", "fj_claims_op1", "fj_claims_op2", "qz_claims_op"]
    surveyors = {"3505": ["qz_surveyor1", "qz_surveyor2"], "3501": ["fz_surveyor1"]}
    for _ in range(n):
        at = landfall - timedelta(hours=6) + timedelta(minutes=int(rng.triangular(0, 60 * 60, 8 * 60)))
        place = _pick(rng, PLACES)
        line = rng.choices(["motor", "property", "agriculture"], weights=[72, 23, 5])[0]
        amount = Decimal(rng.choice([1200, 2600, 3800, 4500, 6800, 9500, 15000, 24000, 38000]))
        people = 1 if rng.random() < 0.04 else 0
        data = ReportCreate(
            reporter_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            reporter_phone=f"139{rng.randrange(10**8):08d}",
            line=line,
            cause=_pick(rng, CAUSES),
            loss_at=at - timedelta(minutes=rng.randrange(5, 180)),
            place_text=f"福建省{place}{rng.choice(STREETS)}{rng.randrange(1, 300)}号",
            vehicle_plate=f"闽{rng.choice('CDBA')}{rng.randrange(10**5):05d}" if line == "motor" else None,
            property_address=f"{place}{rng.choice(STREETS)}{rng.randrange(1, 300)}号"
            if line != "motor"
            else None,
            description=rng.choice(
                [
                    "车辆停放在地下车库被淹，发动机进水。",
                    "台风吹倒树木砸中车顶，挡风玻璃破碎。",
                    "房屋进水约半米，家具家电受损。",
                    "厂房屋面彩钢瓦被掀，仓库货物淋湿。",
                    "大棚倒塌，作物受损。",
                    "道路积水涉水行驶熄火。",
                ]
            ),
            people_at_risk=people,
            rescue_needed=people > 0 or rng.random() < 0.15,
            estimated_amount=amount,
            channel=rng.choice(["hotline", "hotline", "mobile", "api", "agent"]),
        )
        reporter = who[rng.choice(operators)]
        with container.uow() as uow:
            c = services.create_report(uow.session, reporter, data, at)
            uow.commit()
            cid, district = c.id, c.district_code or ""
        stage = _pick(rng, STAGES)
        op = who[rng.choice([o for o in operators if district.startswith("3505") or o != "qz_claims_op"])]
        sv = who[rng.choice(surveyors.get(district[:4], ["fj_surveyor"]))]
        try:
            _drive(container, rng, cid, stage, op, sv, fj, at, line, data, amount)
        except _NotYet:
            pass
        except XiaobaoError:  # a demo rule clash must not stop the load; it is counted
            counts["claims.skipped_steps"] = counts.get("claims.skipped_steps", 0) + 1
        with container.uow() as uow:
            reached = uow.session.get(ClaimCase, cid)
            assert reached is not None
            status = str(reached.status)
        counts[f"claims.{status}"] = counts.get(f"claims.{status}", 0) + 1
    return counts


class _NotYet(Exception):
    """A drill step that would lie after the load time."""


def _drive(
    container: Container,
    rng: random.Random,
    cid: int,
    stage: str,
    op: Principal,
    sv: Principal,
    cmd: Principal,
    t: datetime,
    line: str,
    data: ReportCreate,
    amount: Decimal,
) -> None:
    now = container.clock.now()

    def version() -> int:
        with container.uow() as uow:
            c = uow.session.get(ClaimCase, cid)
            assert c is not None
            return c.version

    def act(who: Principal, action: Action, at: datetime, **kw: Any) -> None:
        if at > now:
            raise _NotYet  # the drill is replayed up to the load time: the case stays where it is
        with container.uow() as uow:
            services.act(uow, who, cid, action, ActionRequest(version=version(), **kw), at)

    def contact(outcome: str, at: datetime) -> None:
        if at > now:
            raise _NotYet
        with container.uow() as uow:
            services.record_contact(uow, op, cid, ContactCreate(channel="phone", outcome=outcome), at)

    if data.rescue_needed:
        with container.uow() as uow:
            r = services.request_rescue(
                uow,
                op,
                cid,
                RescueCreate(
                    kind="evacuation" if data.people_at_risk else rng.choice(["tow", "pump"]),
                    vendor=rng.choice(["晋江蓝天救援队", "泉州安达道路救援", "厦门路路通拖车"]),
                    eta=t + timedelta(minutes=45),
                ),
                t + timedelta(minutes=3),
            )
            rid = r.id
        moves = ["accepted", "en_route", "arrived", "done"][: rng.randint(1, 4)]
        for k, st in enumerate(moves):
            with container.uow() as uow:
                services.update_rescue(
                    uow, op, cid, rid, RescueUpdate(status=st), t + timedelta(minutes=8 + 15 * k)
                )
    if stage == "reported":
        if rng.random() < 0.6:
            contact(
                rng.choice(["no_answer", "switched_off", "busy"]), t + timedelta(minutes=rng.randrange(3, 40))
            )
        return
    if stage == "cancelled":
        act(
            op,
            Action.CANCEL,
            t + timedelta(minutes=20),
            reason_code=rng.choice(["duplicate", "withdrawn"]),
            reason="客户来电说明",
        )
        return
    tt = t + timedelta(minutes=rng.randrange(2, 50))
    if rng.random() < 0.25:
        contact("no_answer", tt)
        tt += timedelta(minutes=10)
    contact("reached", tt)
    if stage == "contacted":
        return
    tt += timedelta(hours=rng.uniform(0.5, 6))
    act(op, Action.COLLECT_INFO, tt)
    if stage == "info_collected":
        return
    if stage == "denied":
        act(
            op,
            Action.DENY,
            tt + timedelta(hours=5),
            reason="经查勘，损失发生于保险期间届满之后，不属于保险责任。",
        )
        if rng.random() < 0.7:
            act(op, Action.NOTIFY_DENIAL, tt + timedelta(days=1))
        return
    fast = is_fast_track(line, data.cause, data.estimated_amount, data.people_at_risk)
    tt += timedelta(hours=rng.uniform(1, 40))
    if not fast or rng.random() < 0.3:
        act(cmd, Action.ASSIGN, tt - timedelta(minutes=5), user_id=sv.user_id, reason="派本地查勘员")
        act(sv, Action.SURVEY, tt, method=rng.choice(["remote_photo", "remote_video", "on_site"]))
        holder = sv
    else:
        holder = op
    if stage == "surveyed":
        return
    assessed = (amount * Decimal(str(rng.uniform(0.7, 1.0)))).quantize(Decimal("1"))
    act(holder, Action.ASSESS, tt + timedelta(hours=2), amount=assessed)
    if stage == "assessed":
        return
    act(holder, Action.SETTLE, tt + timedelta(hours=rng.uniform(3, 30)))
    if stage == "settled":
        return
    act(holder, Action.PAY, tt + timedelta(days=rng.uniform(1, 5)), amount=assessed)
    if stage == "paid":
        return
    act(holder, Action.CLOSE, tt + timedelta(days=rng.uniform(5, 12)))
