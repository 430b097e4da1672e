"""Load the demo organisation, users for every role and a few hundred complaints in realistic
states, driving each complaint through the real services (so the audit trail and deadlines are
what the app itself would have produced)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.tables import Org, User
from xiaobao.bootstrap import Container
from xiaobao.complaints import services
from xiaobao.complaints.domain import Action
from xiaobao.complaints.schemas import ActionRequest, ComplaintCreate
from xiaobao.complaints.tables import Complaint, PolicyCount
from xiaobao.demo.generator import demo_orgs, demo_users, generate_complaints

DEMO_PASSWORD = "xiaobao-demo"  # noqa: S105 - documented demo credential, demo mode only


def load_orgs_and_users(session: Session, now: datetime, password: str = DEMO_PASSWORD) -> dict[str, Org]:
    orgs: dict[str, Org] = {}
    for spec in demo_orgs():
        parent = orgs.get(spec.parent_code) if spec.parent_code else None
        orgs[spec.code] = auth.add_org(
            session,
            code=spec.code,
            name_zh=spec.name_zh,
            name_en=spec.name_en,
            kind=spec.kind,
            parent=parent,
            region_code=spec.region_code,
        )
    for u in demo_users():
        auth.create_user(
            session,
            username=u.username,
            display_name=u.display_name,
            password=password,
            org=orgs[u.org_code],
            roles=list(u.roles),
            now=now,
            phone=u.phone,
            email=u.email,
        )
    return orgs


def _handlers_by_scope(session: Session) -> list[tuple[str, Principal]]:
    out = []
    for user in session.scalars(select(User)):
        if "handler" in user.roles:
            p = auth.principal_for(user)
            out.append((p.scope_path, p))
    return out


def load_demo(
    container: Container, n: int = 400, seed: int = 20240315, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    now = container.clock.now()
    rng = random.Random(seed)
    with container.uow() as uow:
        s = uow.session
        if s.scalar(select(Org.id).limit(1)) is not None:
            raise RuntimeError("the database already has data; demo data loads only into an empty database")
        orgs = load_orgs_and_users(s, now)
        for org in orgs.values():
            if org.kind in ("branch", "subbranch"):
                for line in (
                    "motor.ctpl",
                    "motor.commercial",
                    "property.enterprise",
                    "property.household",
                    "accident",
                    "health",
                ):
                    s.add(
                        PolicyCount(
                            org_id=org.id,
                            business_line=line,
                            year=now.year,
                            policies=rng.randint(20_000, 400_000),
                        )
                    )
        uow.commit()
        officer = auth.principal_for(s.scalars(select(User).where(User.username == "hq_officer")).one())
        handlers = _handlers_by_scope(s)

    counts: dict[str, int] = {}
    items = generate_complaints(n, seed, now, demo_orgs())
    ctx = services.IntakeContext(
        now=now, calendar=container.calendar, contact_workdays=container.settings.contact_target_workdays
    )
    for i, item in enumerate(sorted(items, key=lambda d: d["received_at"])):
        with container.uow() as uow:
            c = _one(uow, item, ctx, officer, handlers, rng, now)
            counts[c.status] = counts.get(c.status, 0) + 1
        if progress:
            progress(i + 1)
    from xiaobao.tasks.demo import load_task_demo

    counts.update({f"tasks.{k}": v for k, v in load_task_demo(container).items()})
    from xiaobao.review.demo import load_review_demo

    counts.update({f"review.{k}": v for k, v in load_review_demo(container).items()})
    from xiaobao.radar.demo_load import load_radar_demo

    counts.update(load_radar_demo(container))
    from xiaobao.claims.demo import load_claims_demo

    counts.update(load_claims_demo(container))
    return counts


def _one(
    uow: Any,
    item: dict[str, Any],
    ctx: services.IntakeContext,
    officer: Principal,
    handlers: list[tuple[str, Principal]],
    rng: random.Random,
    now: datetime,
) -> Complaint:
    s = uow.session
    data = ComplaintCreate(**{k: v for k, v in item.items() if k in ComplaintCreate.model_fields})
    c = services.create_complaint(s, officer, data, ctx)
    uow.commit()
    hint = item.get("outcome_hint", "open")
    t = c.received_at
    candidates = [p for scope, p in handlers if c.org.path.startswith(scope)]
    if not candidates or rng.random() < 0.08 and hint == "open":
        return c  # still waiting to be assigned

    def step(action: Action, who: Principal, delay: timedelta, **kw: Any) -> None:
        nonlocal t
        t = min(t + delay, now)
        services.act(uow, who, c.id, action, ActionRequest(version=c.version, **kw), t)

    handler = rng.choice(candidates)
    step(Action.ACCEPT, officer, timedelta(hours=rng.uniform(0.5, 6)), handler_id=handler.user_id)
    if hint == "open" and rng.random() < 0.25:
        return c
    t = min(t + timedelta(hours=rng.uniform(1, 30)), now)
    services.record_contact(uow, handler, c.id, "phone", "reached", "已电话联系投诉人，核实诉求。", t)
    step(Action.START, handler, timedelta(minutes=5))
    if hint == "open":
        if rng.random() < 0.15:
            step(
                Action.EXTEND,
                handler,
                timedelta(days=rng.uniform(1, 5)),
                reason="需调取理赔档案并协调第三方评估",
            )
        return c
    if hint == "withdrawn":
        step(
            Action.WITHDRAW,
            handler,
            timedelta(days=rng.uniform(1, 6)),
            reason="投诉人来电表示问题已解决，申请撤回投诉",
        )
        return c
    step(
        Action.DECIDE,
        handler,
        timedelta(days=rng.uniform(2, 16)),
        outcome=rng.choice(["upheld", "partial", "rejected"]),
        decision="经核实，公司已按合同约定重新核定并向您作出说明，相关人员已接受内部培训。",
    )
    if hint == "closed":
        step(Action.CLOSE, handler, timedelta(days=rng.uniform(0.2, 3)))
        if rng.random() < 0.3:
            services.set_root_cause(
                uow,
                handler,
                c.id,
                c.version,
                "销售环节未充分说明免责条款",
                "修订销售话术并组织销售人员培训",
                t,
            )
    return c
