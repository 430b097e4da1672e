"""Case lists: filters, sorting, pagination; the contact queue (every case not yet contacted and not closed,
most urgent first, with its SLA flag)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.claims import deadlines
from xiaobao.claims.domain import CONTACT_QUEUE_STATUSES, OPEN_STATUSES, Status
from xiaobao.claims.services import scoped
from xiaobao.claims.tables import ClaimCase
from xiaobao.core.errors import FieldProblem, ValidationFailed

SORTS = {
    "-reported": (ClaimCase.reported_at.desc(), ClaimCase.id.desc()),
    "reported": (ClaimCase.reported_at.asc(), ClaimCase.id.asc()),
    "-priority": (ClaimCase.priority.desc(), ClaimCase.contact_due.asc(), ClaimCase.id.asc()),
    "contact_due": (ClaimCase.contact_due.asc(), ClaimCase.id.asc()),
}


@dataclass
class CaseFilter:
    status: list[str] | None = None
    event_id: int | None = None
    region: str | None = None
    line: str | None = None
    queue: str | None = None  # contact | open | mine
    q: str | None = None
    sort: str = "-reported"
    page: int = 1
    per_page: int = 20


def _validate(f: CaseFilter) -> None:
    problems = []
    if f.status:
        bad = [s for s in f.status if s not in Status.__members__.values()]
        if bad:
            problems.append(FieldProblem("status", f"未知状态 {bad}", f"unknown status {bad}"))
    if f.sort not in SORTS:
        problems.append(FieldProblem("sort", "未知排序", f"sort must be one of {list(SORTS)}"))
    if f.queue not in (None, "", "contact", "open", "mine"):
        problems.append(FieldProblem("queue", "未知队列", "queue must be contact, open or mine"))
    if f.region and not (f.region.isdigit() and len(f.region) in (2, 4, 6)):
        problems.append(FieldProblem("region", "地区代码须为2/4/6位数字", "region must be 2, 4 or 6 digits"))
    if problems:
        raise ValidationFailed(problems)


def list_cases(session: Session, who: Principal, f: CaseFilter) -> tuple[int, list[ClaimCase]]:
    _validate(f)
    stmt: Any = scoped(session, select(ClaimCase), who)
    if f.status:
        stmt = stmt.where(ClaimCase.status.in_(f.status))
    if f.event_id is not None:
        stmt = stmt.where(ClaimCase.event_id == f.event_id)
    if f.region:
        stmt = stmt.where(ClaimCase.district_code.startswith(f.region))
    if f.line:
        stmt = stmt.where(ClaimCase.line == f.line)
    if f.queue == "contact":
        stmt = stmt.where(ClaimCase.status.in_([s.value for s in CONTACT_QUEUE_STATUSES]))
    elif f.queue == "open":
        stmt = stmt.where(ClaimCase.status.in_([s.value for s in OPEN_STATUSES]))
    elif f.queue == "mine":
        stmt = stmt.where(ClaimCase.assigned_user_id == who.user_id)
    if f.q:
        term = f.q.strip().upper()
        stmt = stmt.where(
            or_(
                ClaimCase.report_no == term,
                ClaimCase.vehicle_plate == term,
                ClaimCase.policy_no == f.q.strip(),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.order_by(*SORTS[f.sort]).limit(f.per_page).offset((f.page - 1) * f.per_page))
    return total, list(rows.unique())


@dataclass(frozen=True)
class QueueItem:
    case: ClaimCase
    state: deadlines.State
    retry_due: bool
    waiting: timedelta


def contact_queue(session: Session, who: Principal, now: datetime, limit: int = 200) -> list[QueueItem]:
    """Cases still owing first contact: people at risk and rescue first (priority), then the earliest contact
    deadline. A case leaves only when the reporter is reached or the case is closed with a reason."""
    stmt = scoped(
        session,
        select(ClaimCase).where(ClaimCase.status.in_([s.value for s in CONTACT_QUEUE_STATUSES])),
        who,
    )
    rows = session.scalars(stmt.order_by(*SORTS["-priority"]).limit(limit)).unique()
    out = []
    for c in rows:
        state = deadlines.assess(c.contact_due, None, now, (c.contact_due - c.reported_at) / 5)
        out.append(
            QueueItem(
                case=c,
                state=state,
                retry_due=c.next_retry_at is not None and c.next_retry_at <= now,
                waiting=now - c.reported_at,
            )
        )
    return out


def queue_counts(session: Session, who: Principal, now: datetime) -> dict[str, int]:
    base = scoped(
        session,
        select(func.count())
        .select_from(ClaimCase)
        .where(ClaimCase.status.in_([s.value for s in CONTACT_QUEUE_STATUSES])),
        who,
    )
    return {
        "total": session.scalar(base) or 0,
        "overdue": session.scalar(base.where(ClaimCase.contact_due < now)) or 0,
        "retry_due": session.scalar(base.where(ClaimCase.next_retry_at <= now)) or 0,
        "event_mode": session.scalar(base.where(ClaimCase.event_mode.is_(True))) or 0,
    }
