"""The rectification ledger (整改台账): a regulator notice or an inspection finding, split into one task per
branch under a parent task; each branch task is tracked to evidence of completion (attachment + description)
and signed off by an officer of the ledger's or the branch's org (`TaskAction.SIGN_OFF`); the ledger exports
to .xlsx, one row per branch task.

Who sees an entry: whoever may see tasks (Perm.TASK_VIEW) and holds the keeping org or one of the branches
in their subtree; a branch sees only its own rows."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import Org, User
from xiaobao.core import audit
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from xiaobao.tasks import services
from xiaobao.tasks.domain import TaskKind, TaskStatus, due_from_date, is_overdue, require_text, status_label
from xiaobao.tasks.schemas import LedgerCreate
from xiaobao.tasks.tables import RectificationNotice, Task, TaskAttachment

FINDING_KINDS: dict[str, tuple[str, str]] = {
    "notice": ("监管通报/通知", "Regulator notice"),
    "inspection": ("检查发现问题", "Inspection finding"),
}
NOUN = ("整改台账", "ledger entry")


def _problem(field: str, zh: str, en: str) -> FieldProblem:
    return FieldProblem(field, zh, en)


def _institution(s: Session, org_id: int | None) -> Org | None:
    org = s.get(Org, org_id) if org_id is not None else None
    while org is not None and org.kind == "department":
        org = org.parent
    return org


def branch_choices(s: Session, who: Principal) -> list[Org]:
    """Orgs a ledger entry can be split to: every branch and sub-branch in the caller's subtree."""
    return list(
        s.scalars(
            select(Org)
            .where(Org.path.startswith(who.scope_path), Org.kind != "department")
            .order_by(Org.path)
        )
    )


def create_entry(uow: UnitOfWork, who: Principal, data: LedgerCreate, now: datetime) -> RectificationNotice:
    """Enter a notice or finding and split it: a parent task at the keeping org (owned by the caller) and one
    child task per chosen branch, due on the required-by date, left for the branch to claim."""
    if not who.can(Perm.LEDGER_MANAGE):
        raise Forbidden(
            "只有消保专员可以登记整改台账", "Only consumer-protection officers keep the rectification ledger"
        )
    s = uow.session
    problems: list[FieldProblem] = []
    today = now.astimezone(CN_TZ).date()
    if data.issued_on > today:
        problems.append(
            _problem("issued_on", "发文日期不能晚于今天", "the issue date cannot be in the future")
        )
    if data.required_by < today:
        problems.append(
            _problem("required_by", "整改期限不能早于今天", "the required-by date cannot be in the past")
        )
    elif data.required_by < data.issued_on:
        problems.append(
            _problem("required_by", "整改期限不能早于发文日期", "required-by is before the issue date")
        )
    allowed = {o.id: o for o in branch_choices(s, who)}
    branches = [allowed[b] for b in dict.fromkeys(data.branch_ids) if b in allowed]
    if len(branches) != len(set(data.branch_ids)):
        problems.append(
            _problem(
                "branch_ids",
                "所选机构不存在或不在您的管辖范围",
                "a chosen branch is unknown or outside your scope",
            )
        )
    keeper = _institution(s, who.org_id)
    if keeper is None:
        problems.append(_problem("org", "无法确定台账归属机构", "cannot tell which org keeps this ledger"))
    findings = data.findings.strip()
    if problems:
        raise ValidationFailed(problems)
    assert keeper is not None
    require_text("findings", findings, "问题描述", "the findings", 5, 20000)
    entry = RectificationNotice(
        doc_ref=data.doc_ref,
        authority=data.authority,
        finding_kind=data.finding_kind,
        issued_on=data.issued_on,
        findings=findings,
        required_by=data.required_by,
        org_id=keeper.id,
        org=keeper,
        created_by_id=who.user_id,
        created_at=now,
    )
    s.add(entry)
    s.flush()
    due = due_from_date(data.required_by)
    owner = s.get(User, who.user_id) if who.user_id is not None else None
    title = data.title or f"整改：{data.doc_ref}"
    parent = services.new_task(
        s,
        who,
        kind=TaskKind.RECTIFICATION,
        title=title[:200],
        description=findings,
        org=keeper,
        owner=owner,
        cohandlers=(),
        due_at=due,
        priority=data.priority,
        now=now,
        ledger_id=entry.id,
    )
    services.add_event(
        s, parent, who, now, "created", None, {"ledger": entry.doc_ref, "branches": len(branches)}
    )
    for b in branches:
        child = services.new_task(
            s,
            who,
            kind=TaskKind.RECTIFICATION,
            title=f"{b.name_zh}整改：{data.doc_ref}"[:200],
            description=findings,
            org=b,
            owner=None,
            cohandlers=(),
            due_at=due,
            priority=data.priority,
            now=now,
            parent=parent,
            ledger_id=entry.id,
        )
        ev = services.add_event(
            s, child, who, now, "created", None, {"ledger": entry.doc_ref, "org": b.name_zh}
        )
        services.tell(
            s,
            services.default_recipients(s, b),
            child,
            ev,
            "整改任务",
            f"{data.authority}《{data.doc_ref}》要求整改，"
            f"请于 {data.required_by.isoformat()} 前完成并上传整改证明材料。",
            now,
            exclude=who.user_id,
        )
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="ledger.create",
        entity_type="ledger",
        entity_id=entry.id,
        after={
            "doc_ref": entry.doc_ref,
            "authority": entry.authority,
            "required_by": entry.required_by.isoformat(),
            "branches": [b.code for b in branches],
            "parent_task": parent.id,
        },
        ip=who.ip,
    )
    uow.commit()
    return entry


def _visible_entries(who: Principal) -> Any:
    stmt = select(RectificationNotice).join(Org, Org.id == RectificationNotice.org_id)
    if who.scope_path == "/":
        return stmt
    in_scope = select(Org.id).where(Org.path.startswith(who.scope_path))
    return stmt.where(
        or_(
            RectificationNotice.org_id.in_(in_scope),
            exists().where(Task.ledger_id == RectificationNotice.id, Task.org_id.in_(in_scope)),
        )
    )


def entries(s: Session, who: Principal, *, limit: int = 500) -> list[RectificationNotice]:
    if not who.can(Perm.TASK_VIEW):
        raise Forbidden()
    stmt = _visible_entries(who).order_by(RectificationNotice.required_by, RectificationNotice.id)
    return list(s.scalars(stmt.limit(limit)))


def access_entry(s: Session, who: Principal, entry_id: int) -> RectificationNotice:
    if not who.can(Perm.TASK_VIEW):
        raise NotFound(*NOUN)
    entry = s.scalar(_visible_entries(who).where(RectificationNotice.id == entry_id))
    if entry is None:
        raise NotFound(*NOUN)
    return entry


def parent_task(s: Session, entry: RectificationNotice) -> Task | None:
    return s.scalar(select(Task).where(Task.ledger_id == entry.id, Task.parent_id.is_(None)).limit(1))


def branch_tasks(s: Session, who: Principal, entry: RectificationNotice) -> list[Task]:
    """The entry's branch tasks the caller may see (all of them from the keeping org; a branch its own)."""
    stmt = (
        select(Task)
        .join(Org, Org.id == Task.org_id)
        .where(Task.ledger_id == entry.id, Task.parent_id.is_not(None))
        .order_by(Org.path, Task.id)
    )
    if not who.sees_path(entry.org.path):
        stmt = stmt.where(Org.path.startswith(who.scope_path))
    return list(s.scalars(stmt))


@dataclass(frozen=True)
class EntrySummary:
    total: int
    done: int
    signed_off: int
    overdue: int

    @property
    def share_signed(self) -> float:
        return self.signed_off / self.total if self.total else 0.0


def summary(tasks: list[Task], now: datetime) -> EntrySummary:
    return EntrySummary(
        total=sum(1 for t in tasks if t.status != TaskStatus.CANCELLED),
        done=sum(1 for t in tasks if t.status == TaskStatus.DONE),
        signed_off=sum(1 for t in tasks if t.signed_off_at is not None),
        overdue=sum(1 for t in tasks if is_overdue(t.due_at, t.status, now)),
    )


def evidence(s: Session, tasks: list[Task]) -> dict[int, list[TaskAttachment]]:
    ids = [t.id for t in tasks]
    out: dict[int, list[TaskAttachment]] = {i: [] for i in ids}
    if ids:
        for a in s.scalars(
            select(TaskAttachment)
            .where(TaskAttachment.task_id.in_(ids), TaskAttachment.purpose == "evidence")
            .order_by(TaskAttachment.id)
        ):
            out[a.task_id].append(a)
    return out


# ---------------------------------------------------------------- export

HEADERS: list[tuple[str, str]] = [
    ("文号", "Document ref"),
    ("发文机关", "Authority"),
    ("类型", "Type"),
    ("发文日期", "Issued"),
    ("问题摘要", "Findings"),
    ("整改机构", "Branch"),
    ("任务编号", "Task"),
    ("状态", "Status"),
    ("整改期限", "Due"),
    ("完成日期", "Completed"),
    ("是否按期", "On time"),
    ("整改情况与证明材料", "Evidence"),
    ("验收人", "Signed off by"),
    ("验收时间", "Signed off at"),
]


def _local_day(dt: datetime | None) -> date | None:
    return dt.astimezone(CN_TZ).date() if dt else None


def _local(dt: datetime | None) -> str:
    return dt.astimezone(CN_TZ).strftime("%Y-%m-%d %H:%M") if dt else ""


def export_rows(
    s: Session, who: Principal, chosen: list[RectificationNotice], lang: str, now: datetime
) -> list[list[Any]]:
    rows: list[list[Any]] = []
    zh = lang == "zh"
    for entry in chosen:
        tasks = branch_tasks(s, who, entry)
        files = evidence(s, tasks)
        signers = {
            u.id: u.display_name
            for u in s.scalars(
                select(User).where(User.id.in_([t.signed_off_by_id for t in tasks if t.signed_off_by_id]))
            )
        }
        for t in tasks:
            on_time = ""
            if t.completed_at is not None and t.due_at is not None:
                on_time = ("是" if zh else "yes") if t.completed_at <= t.due_at else ("否" if zh else "no")
            elif is_overdue(t.due_at, t.status, now):
                on_time = "已超期" if zh else "overdue"
            names = "、".join(a.filename for a in files[t.id])
            ev_text = (t.answer or "") + (f"\n[{'材料' if zh else 'files'}] {names}" if names else "")
            rows.append(
                [
                    entry.doc_ref,
                    entry.authority,
                    FINDING_KINDS[entry.finding_kind][0 if zh else 1],
                    entry.issued_on,
                    entry.findings[:200],
                    t.org.name(lang),
                    t.id,
                    status_label(t.status, lang),
                    _local_day(t.due_at),
                    _local_day(t.completed_at),
                    on_time,
                    ev_text.strip(),
                    signers.get(t.signed_off_by_id, "") if t.signed_off_by_id else "",
                    _local(t.signed_off_at),
                ]
            )
    return rows


def export_xlsx(uow: UnitOfWork, who: Principal, entry_id: int | None, lang: str, now: datetime) -> bytes:
    """The ledger (or one entry) as a workbook: one row per branch task. Audited."""
    s = uow.session
    chosen = [access_entry(s, who, entry_id)] if entry_id is not None else entries(s, who)
    rows = export_rows(s, who, chosen, lang, now)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "整改台账" if lang == "zh" else "Rectification ledger"
    ws.append([h[0] if lang == "zh" else h[1] for h in HEADERS])
    for r in rows:
        ws.append(r)
    head_fill = PatternFill("solid", fgColor="DCE6F1")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = head_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    widths = [18, 16, 12, 12, 40, 18, 8, 10, 12, 12, 10, 48, 12, 17]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="ledger.export",
        entity_type="ledger",
        entity_id=entry_id,
        after={"rows": len(rows), "entries": len(chosen)},
        ip=who.ip,
    )
    uow.commit()
    return buf.getvalue()
