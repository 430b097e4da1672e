"""Claims test data on top of `world`: a Guangdong branch with Foshan, claims users, factories, staff profiles,
and report payloads."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tests.conftest import T0
from tests.factories import PASSWORD, World
from xiaobao.auth import services as auth
from xiaobao.auth.roles import Role
from xiaobao.claims.tables import Factory, StaffProfile

CLAIM_USERS: dict[str, tuple[str, list[str]]] = {
    "qz_claims_op": ("QZ", [Role.CLAIMS_OPERATOR]),
    "qz_claims_op2": ("QZ", [Role.CLAIMS_OPERATOR]),
    "qz_surveyor": ("QZ", [Role.SURVEYOR]),
    "xm_claims_op": ("XM", [Role.CLAIMS_OPERATOR]),
    "sh_claims_op": ("SH", [Role.CLAIMS_OPERATOR]),
    "fs_claims_op": ("FS", [Role.CLAIMS_OPERATOR]),
    "sz_claims_op": ("SH", [Role.CLAIMS_OPERATOR]),
    "fj_commander": ("FJ", [Role.COMMANDER]),
    "hq_commander": ("HQ", [Role.COMMANDER]),
}


def build_claims(session: Session, w: World, now: datetime = T0) -> World:
    w.orgs["GD"] = auth.add_org(
        session,
        code="GD",
        name_zh="广东分公司",
        name_en="Guangdong branch",
        kind="branch",
        parent=w.orgs["HQ"],
        region_code="440000",
    )
    w.orgs["FS"] = auth.add_org(
        session,
        code="FS",
        name_zh="佛山中心支公司",
        name_en="Foshan sub-branch",
        kind="subbranch",
        parent=w.orgs["GD"],
        region_code="440600",
    )
    for username, (org, roles) in CLAIM_USERS.items():
        w.users[username] = auth.create_user(
            session,
            username=username,
            display_name=username,
            password=PASSWORD,
            org=w.orgs[org],
            roles=[str(r) for r in roles],
            now=now,
        )
    fs = Factory(
        code="FS", name_zh="佛山理赔工厂", name_en="Foshan factory", city="佛山", regions=["44"], active=True
    )
    sz = Factory(
        code="SZ",
        name_zh="苏州理赔工厂",
        name_en="Suzhou factory",
        city="苏州",
        regions=["3502"],
        active=True,
    )
    session.add_all([fs, sz])
    session.flush()
    for username, factory, limit in (
        ("fs_claims_op", fs, Decimal("20000")),
        ("sz_claims_op", sz, Decimal("20000")),
        ("qz_claims_op", None, Decimal("10000")),
    ):
        session.add(
            StaffProfile(
                user_id=w.users[username].id,
                factory_id=factory.id if factory else None,
                kind="operator",
                skills=["motor", "property"],
                authority_limit=limit,
                allowed_regions=[],
                home_district=None,
                shifts=[["08:00", "20:00"]],
                capacity=30,
                online=True,
                updated_at=now,
            )
        )
    session.flush()
    return w


def report_payload(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "reporter_name": "陈志明",
        "reporter_phone": "13905958888",
        "line": "motor",
        "cause": "waterlogging",
        "loss_at": (T0 - timedelta(hours=2)).isoformat(),
        "place_text": "福建省泉州市晋江市安海镇成功路88号地下车库",
        "vehicle_plate": "闽C·12345",
        "description": "暴雨导致地下车库进水，车辆被淹至座椅高度，无法启动。",
        "estimated_amount": "3800",
        "channel": "agent",
    }
    data.update(over)
    return data
