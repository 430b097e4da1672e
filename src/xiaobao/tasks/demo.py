"""Demo tasks, driven through the real services after the demo complaints are loaded: co-handling requests
on Quanzhou complaints (answered, open and blocking, overdue), a training task split into sub-tasks, and a
rectification ledger entry split to three branches (one done and signed off, one with evidence awaiting
sign-off, one open)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.tables import Org, User
from xiaobao.complaints.domain import Status
from xiaobao.complaints.tables import Complaint
from xiaobao.core.calendar import CN_TZ
from xiaobao.tasks import ledger, services
from xiaobao.tasks.domain import TaskAction
from xiaobao.tasks.schemas import CohandlingCreate, LedgerCreate, TaskActionRequest, TaskCreate

EVIDENCE = (
    b"%PDF-1.4\n% xiaobao demo evidence\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def load_task_demo(container: Any) -> dict[str, int]:
    """Returns counts of what was created. Needs the demo organisation and users (and some complaints)."""
    now: datetime = container.clock.now()
    with container.uow() as uow:
        s = uow.session
        users = {u.username: auth.principal_for(u) for u in s.scalars(select(User))}
        orgs = {o.code: o for o in s.scalars(select(Org))}
        fj = orgs.get("FJ")
        # open complaints in Fujian, with their handlers (who ask the province's claims department)
        complaints = (
            []
            if fj is None
            else [
                (c.id, c.handler_id)
                for c in s.scalars(
                    select(Complaint)
                    .join(Org, Org.id == Complaint.org_id)
                    .where(
                        Org.path.startswith(fj.path),
                        Complaint.handler_id.is_not(None),
                        Complaint.status.in_([Status.ACCEPTED.value, Status.HANDLING.value]),
                    )
                    .order_by(Complaint.id)
                )
            ]
        )
        by_id = {p.user_id: p for p in users.values()}
        org_ids = {code: o.id for code, o in orgs.items()}
        org_names = {code: o.name_zh for code, o in orgs.items()}
    if "FJ-CLM" not in org_ids or "fj_claims" not in users:
        return {}
    orgs_ = org_ids
    counts = {"cohandling": 0, "tasks": 0, "ledger": 0}

    def today(days: int, at: datetime = now) -> Any:
        return (at + timedelta(days=days)).astimezone(CN_TZ).date()

    def act(
        who: Principal, task_id: int, action: TaskAction, at: datetime = now, uploads: Any = (), **req: Any
    ) -> None:
        with container.uow() as uow:
            services.act(
                uow,
                who,
                task_id,
                action,
                TaskActionRequest(**req),
                services.ActContext(now=at, settings=container.settings),
                uploads,
            )

    claims = users["fj_claims"]
    questions = [
        ("请理赔部核实本案定损过程，说明定损金额与修理厂报价差异的原因。", True, 5, 0),
        ("请提供该保单的承保资料及投保时的告知书签署情况。", True, 3, 6),
        ("请核实理赔员是否在约定时间内联系客户，并提供通话记录。", False, 2, 9),
    ]
    for (cid, handler_id), (question, blocking, days, ago) in zip(complaints, questions, strict=False):
        at = now - timedelta(days=ago)
        with container.uow() as uow:
            t = services.request_cohandling(
                uow,
                by_id[handler_id],
                cid,
                CohandlingCreate(
                    org_id=orgs_["FJ-CLM"],
                    owner_id=claims.user_id,
                    question=question,
                    due_on=today(days, at),
                    blocking=blocking,
                ),
                at,
            )
        counts["cohandling"] += 1
        if ago == 6:
            act(
                claims,
                t.id,
                TaskAction.COMPLETE,
                at + timedelta(days=2),
                answer=(
                    "经核查，投保时已由客户本人签署《投保提示书》及健康告知，原件扫描件见附件；"
                    "销售人员未发现误导行为。"
                ),
                uploads=[("投保告知书扫描件.pdf", EVIDENCE)],
            )

    officer = users["fj_officer"]
    with container.uow() as uow:
        parent = services.create_task(
            uow,
            officer,
            TaskCreate(
                title="2026年「3·15」消费者权益保护教育宣传周",
                org_id=orgs_["FJ"],
                owner_id=officer.user_id,
                description="各中心支公司组织开展金融知识进社区、进乡村活动，重点面向老年人和新市民。",
                due_on=today(20),
                priority="high",
            ),
            now,
        )
    counts["tasks"] += 1
    for code, owner, done in (
        ("FJ-QZ", "qz_officer", 3),
        ("FJ-XM", "xm_handler1", 1),
        ("FJ-FZ", "fz_handler1", 0),
    ):
        if code not in orgs_ or owner not in users:
            continue
        with container.uow() as uow:
            child = services.create_task(
                uow,
                officer,
                TaskCreate(
                    title=f"宣传周活动：{org_names[code]}",
                    org_id=orgs_[code],
                    owner_id=users[owner].user_id,
                    parent_id=parent.id,
                    due_on=today(14),
                    checklist=["制定活动方案", "开展社区宣讲", "活动照片与签到表存档"],
                ),
                now,
            )
        counts["tasks"] += 1
        for item in child.checklist[:done]:
            with container.uow() as uow:
                services.set_checklist_item(uow, users[owner], child.id, item.id, True, now)
        if done == 3:
            act(
                users[owner],
                child.id,
                TaskAction.COMPLETE,
                answer="已在丰泽区、晋江市开展宣讲 4 场，覆盖 320 人。",
            )

    qz = users.get("qz_handler1")
    if qz is not None and "FJ-QZ" in orgs_:
        # an overdue one: asked for three weeks ago, due last week, still open
        past = now - timedelta(days=21)
        with container.uow() as uow:
            late = services.create_task(
                uow,
                officer,
                TaskCreate(
                    title="核对2026年第三季度投诉溯源整改台账",
                    org_id=orgs_["FJ-QZ"],
                    owner_id=qz.user_id,
                    description="逐件核对第三季度已办结投诉的问题根源与整改措施是否录入完整，缺失的补录。",
                    due_on=today(14, past),
                    priority="urgent",
                    checklist=["导出季度办结清单", "逐件核对", "补录缺失内容"],
                ),
                past,
            )
        act(qz, late.id, TaskAction.START, past + timedelta(days=2))
        counts["tasks"] += 1

    hq = users.get("hq_officer")
    branches = [orgs_[c] for c in ("FJ", "SH", "GD") if c in orgs_]
    if hq is not None and branches:
        issued = today(-20)
        with container.uow() as uow:
            entry = ledger.create_entry(
                uow,
                hq,
                LedgerCreate(
                    doc_ref="金消保通〔2026〕3号",
                    authority="国家金融监督管理总局消费者权益保护局",
                    finding_kind="notice",
                    issued_on=issued,
                    required_by=today(25),
                    branch_ids=branches,
                    findings=(
                        "通报部分机构在车险理赔环节存在定损标准不透明、未按规定时限告知理赔结果等问题。"
                        "请各机构对照排查：1. 定损依据是否向消费者充分说明；"
                        "2. 拒赔、部分赔付是否书面说明理由；"
                        "3. 投诉中反映的共性问题是否完成溯源整改。"
                    ),
                ),
                now - timedelta(days=15),
            )
        counts["ledger"] += 1
        with container.uow() as uow:
            kids = {t.org.code: t.id for t in ledger.branch_tasks(uow.session, hq, entry)}
        if "FJ" in kids:
            act(officer, kids["FJ"], TaskAction.START, now - timedelta(days=10))
            act(
                officer,
                kids["FJ"],
                TaskAction.COMPLETE,
                now - timedelta(days=3),
                uploads=[("福建分公司理赔环节整改报告.pdf", EVIDENCE)],
                answer=(
                    "已修订《车险定损告知规范》，在定损单中列明工时、配件价格依据；"
                    "组织全省理赔人员培训 6 场；对近一年 37 件定损类投诉完成溯源。"
                ),
            )
            act(hq, kids["FJ"], TaskAction.SIGN_OFF, now - timedelta(days=1), note="整改材料齐全，同意验收。")
        sh_officer = users.get("sh_officer")
        if "SH" in kids and sh_officer is not None:
            act(sh_officer, kids["SH"], TaskAction.START, now - timedelta(days=8))
            act(
                sh_officer,
                kids["SH"],
                TaskAction.COMPLETE,
                now - timedelta(days=1),
                uploads=[("上海分公司整改情况说明.pdf", EVIDENCE)],
                answer="已完成定损告知模板修订，培训记录见附件。",
            )
    return counts
