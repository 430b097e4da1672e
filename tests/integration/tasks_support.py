"""Helpers for the task and ledger tests: the test world plus two departments with collaborators, and a
complaint in handling at Quanzhou."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import World, complaint_payload
from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Role
from xiaobao.bootstrap import Container
from xiaobao.complaints import services as complaints
from xiaobao.complaints.domain import Action
from xiaobao.complaints.schemas import ActionRequest, ComplaintCreate
from xiaobao.complaints.tables import Complaint, ComplaintEvent
from xiaobao.core.calendar import CN_TZ
from xiaobao.notifications.tables import Notification
from xiaobao.tasks.services import ActContext
from xiaobao.tasks.tables import Task

# department code, name, parent; then (username, department, roles)
EXTRA_ORGS = [
    ("FJ-CLM", "福建分公司理赔部", "Fujian claims", "FJ"),
    ("SH-CLM", "上海分公司理赔部", "Shanghai claims", "SH"),
]
EXTRA_USERS = [
    ("fj_claims", "FJ-CLM", [Role.COLLABORATOR]),
    ("fj_claims2", "FJ-CLM", [Role.COLLABORATOR]),
    ("sh_claims", "SH-CLM", [Role.COLLABORATOR]),
]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def extend_world(container: Container, world: World) -> World:
    with container.uow() as uow:
        s = uow.session
        for code, zh, en, parent in EXTRA_ORGS:
            world.orgs[code] = auth.add_org(
                s, code=code, name_zh=zh, name_en=en, kind="department", parent=s.merge(world.orgs[parent])
            )
        for username, org, roles in EXTRA_USERS:
            world.users[username] = auth.create_user(
                s,
                username=username,
                display_name=username,
                password="correct horse battery",
                org=world.orgs[org],
                roles=[str(r) for r in roles],
                now=container.clock.now(),
            )
        uow.commit()
    return world


def today(container: Container, plus_days: int = 0) -> date:
    return container.clock.now().astimezone(CN_TZ).date() + timedelta(days=plus_days)


def handling_complaint(container: Container, world: World, handler: str = "qz_handler") -> Complaint:
    """A complaint at QZ accepted by the QZ officer, assigned to `handler`, in handling."""
    officer = world.p("qz_officer")
    now = container.clock.now()
    ctx = complaints.IntakeContext(now=now, calendar=container.calendar)
    with container.uow() as uow:
        c = complaints.create_complaint(uow.session, officer, ComplaintCreate(**complaint_payload()), ctx)
        uow.commit()
        complaints.act(
            uow,
            officer,
            c.id,
            Action.ACCEPT,
            ActionRequest(version=c.version, handler_id=world.users[handler].id),
            now,
        )
        complaints.act(uow, world.p(handler), c.id, Action.START, ActionRequest(version=c.version), now)
        return c


def decide_request(c: Complaint, **over: Any) -> ActionRequest:
    data: dict[str, Any] = {
        "version": c.version,
        "outcome": "partial",
        "decision": "经核实，理赔部门已重新核定损失，差额部分将于3个工作日内支付。",
    }
    data.update(over)
    return ActionRequest(**data)


def ctx(container: Container) -> ActContext:
    return ActContext(now=container.clock.now(), settings=container.settings)


@contextmanager
def reading(container: Container) -> Iterator[Session]:
    """A session for assertions: closed without a rollback, so loaded rows stay readable."""
    s = container.session_factory()
    try:
        yield s
    finally:
        s.close()


def reload_task(container: Container, task_id: int) -> Task:
    with reading(container) as s:
        t = s.get(Task, task_id)
        assert t is not None
        return t


def complaint_events(container: Container, cid: int) -> list[ComplaintEvent]:
    with reading(container) as s:
        return list(
            s.scalars(
                select(ComplaintEvent).where(ComplaintEvent.complaint_id == cid).order_by(ComplaintEvent.id)
            )
        )


def inbox_of(container: Container, user_id: int) -> list[Notification]:
    with reading(container) as s:
        return list(
            s.scalars(select(Notification).where(Notification.user_id == user_id).order_by(Notification.id))
        )


def principal(world: World, username: str) -> Principal:
    return world.p(username)
