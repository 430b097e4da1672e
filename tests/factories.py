"""Test data: a small organisation tree with users for every role, and complaint payloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Role
from xiaobao.auth.tables import Org, User

PASSWORD = "correct horse battery"


@dataclass
class World:
    orgs: dict[str, Org] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def p(self, username: str) -> Principal:
        return auth.principal_for(self.users[username])


ORGS = [
    ("HQ", "总公司", "Head office", "hq", None, None),
    ("HQ-CP", "总公司消费者权益保护部", "HQ consumer protection", "department", "HQ", None),
    ("FJ", "福建分公司", "Fujian branch", "branch", "HQ", "350000"),
    ("FJ-CP", "福建分公司消保部", "Fujian consumer protection", "department", "FJ", None),
    ("QZ", "泉州中心支公司", "Quanzhou sub-branch", "subbranch", "FJ", "350500"),
    ("XM", "厦门中心支公司", "Xiamen sub-branch", "subbranch", "FJ", "350200"),
    ("SH", "上海分公司", "Shanghai branch", "branch", "HQ", "310000"),
]

# username: (org, roles)
USERS: dict[str, tuple[str, list[str]]] = {
    "hq_officer": ("HQ-CP", [Role.OFFICER]),
    "hq_auditor": ("HQ", [Role.AUDITOR]),
    "admin": ("HQ", [Role.ADMIN]),
    "fj_officer": ("FJ-CP", [Role.OFFICER]),
    "fj_manager": ("FJ", [Role.BRANCH_MANAGER]),
    "qz_officer": ("QZ", [Role.OFFICER]),
    "qz_handler": ("QZ", [Role.HANDLER]),
    "qz_handler2": ("QZ", [Role.HANDLER]),
    "qz_collab": ("QZ", [Role.COLLABORATOR]),
    "qz_reviewer": ("QZ", [Role.REVIEWER]),
    "xm_handler": ("XM", [Role.HANDLER]),
    "sh_officer": ("SH", [Role.OFFICER]),
    "sh_handler": ("SH", [Role.HANDLER]),
}


def build_world(session: Session, now: datetime) -> World:
    w = World()
    for code, zh, en, kind, parent, region in ORGS:
        w.orgs[code] = auth.add_org(
            session,
            code=code,
            name_zh=zh,
            name_en=en,
            kind=kind,
            parent=w.orgs.get(parent) if parent else None,
            region_code=region,
        )
    for username, (org, roles) in USERS.items():
        w.users[username] = auth.create_user(
            session,
            username=username,
            display_name=username,
            password=PASSWORD,
            org=w.orgs[org],
            roles=[str(r) for r in roles],
            now=now,
        )
    return w


def complaint_payload(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "org_code": "QZ",
        "complainant_name": "林秀英",
        "id_number": "350521195803150021",
        "phone": "13905951234",
        "policy_no": "PDAA202635050000012",
        "business_line": "motor.commercial",
        "cause": "claims.amount",
        "demand": "compensation",
        "channel": "hotline",
        "description": "车辆在晋江因台风受损，定损金额明显低于维修厂报价，多次联系理赔员未获答复，要求重新定损。",
    }
    data.update(over)
    return data


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the CSRF token of the new session."""
    r = client.post(
        "/login", data={"username": username, "password": password, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    from sqlalchemy import select

    from xiaobao.auth.services import sha256
    from xiaobao.auth.tables import UserSession

    token = client.cookies.get("xb_session")
    session = client.app.state.container.session_factory()  # type: ignore[attr-defined]
    row = session.scalar(select(UserSession).where(UserSession.token_hash == sha256(token)))
    session.close()
    client.headers["X-CSRF-Token"] = row.csrf_token
    return row.csrf_token
