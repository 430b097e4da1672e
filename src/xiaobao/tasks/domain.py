"""Tasks (消保任务协办追踪) as data: statuses, priorities, kinds, and the lifecycle as transitions (from which
statuses, to which, who may do it), plus progress roll-up, due dates and the on-time figures.

Pure rules: no FastAPI, no SQLAlchemy. Services compute who the caller is to a task (owner, co-handler,
member of the owning department, requester, manager, signer) and ask `check()` before changing anything.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.complaints.deadlines import DeadlineView, assess, end_of_local_day
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import FieldProblem, Forbidden, InvalidTransition, ValidationFailed

Label = tuple[str, str]


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    RETURNED = "returned"
    CANCELLED = "cancelled"


STATUS_META: dict[TaskStatus, tuple[str, str, str]] = {
    # status: (zh, en, colour)
    TaskStatus.OPEN: ("待办", "Open", "#409eff"),
    TaskStatus.IN_PROGRESS: ("办理中", "In progress", "#e6a23c"),
    TaskStatus.DONE: ("已完成", "Done", "#2f855a"),
    TaskStatus.RETURNED: ("已退回", "Returned", "#d64545"),
    TaskStatus.CANCELLED: ("已取消", "Cancelled", "#a0aec0"),
}
BOARD_COLUMNS: tuple[TaskStatus, ...] = (
    TaskStatus.OPEN,
    TaskStatus.IN_PROGRESS,
    TaskStatus.RETURNED,
    TaskStatus.DONE,
)
ACTIVE_STATUSES = frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.RETURNED})
"""Work still owed: the due date runs, reminders are sent, a blocking co-handling task blocks."""


def status_label(status: str, lang: str = "zh") -> str:
    zh, en, _ = STATUS_META[TaskStatus(status)]
    return zh if lang == "zh" else en


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITY_META: dict[Priority, tuple[str, str, str]] = {
    Priority.URGENT: ("紧急", "Urgent", "#c0392b"),
    Priority.HIGH: ("高", "High", "#dd6b20"),
    Priority.NORMAL: ("普通", "Normal", "#4a5d78"),
    Priority.LOW: ("低", "Low", "#a0aec0"),
}
PRIORITY_RANK: dict[str, int] = {p.value: i for i, p in enumerate(Priority)}


class TaskKind(StrEnum):
    GENERAL = "general"
    COHANDLING = "cohandling"
    RECTIFICATION = "rectification"


KIND_META: dict[TaskKind, Label] = {
    TaskKind.GENERAL: ("一般任务", "Task"),
    TaskKind.COHANDLING: ("协办任务", "Co-handling"),
    TaskKind.RECTIFICATION: ("整改任务", "Rectification"),
}


class Rel(StrEnum):
    """What the caller is to a task (several may hold at once)."""

    OWNER = "owner"
    COHANDLER = "cohandler"
    MEMBER = "member"
    """Works in the owning org (or below it) with Perm.TASK_WORK: may claim a task nobody owns yet."""
    REQUESTER = "requester"
    """The side that asked for the work: the creator, an officer or manager over the creator's org, or whoever
    may act on the task's source (the complaint's handler). Returns answers, cancels, reopens."""
    MANAGER = "manager"
    """Perm.TASK_MANAGE over the owning org (officer, branch manager): assigns the work within it."""
    SIGNER = "signer"
    """Perm.TASK_SIGN_OFF over the owning org: accepts completed work."""


class TaskAction(StrEnum):
    START = "start"
    COMPLETE = "complete"
    RETURN = "return"
    CANCEL = "cancel"
    REOPEN = "reopen"
    ASSIGN = "assign"
    SIGN_OFF = "sign_off"


ACTION_LABELS: dict[TaskAction, Label] = {
    TaskAction.START: ("开始办理", "Start"),
    TaskAction.COMPLETE: ("办结", "Complete"),
    TaskAction.RETURN: ("退回重办", "Return for rework"),
    TaskAction.CANCEL: ("取消任务", "Cancel task"),
    TaskAction.REOPEN: ("重新打开", "Reopen"),
    TaskAction.ASSIGN: ("指派承办人", "Assign"),
    TaskAction.SIGN_OFF: ("验收签字", "Sign off"),
}
COMPLETE_LABELS: dict[TaskKind, Label] = {
    TaskKind.GENERAL: ("办结", "Complete"),
    TaskKind.COHANDLING: ("提交协办意见", "Answer"),
    TaskKind.RECTIFICATION: ("提交整改证据", "Submit evidence"),
}


def action_label(action: TaskAction, kind: str, lang: str = "zh") -> str:
    label = COMPLETE_LABELS[TaskKind(kind)] if action == TaskAction.COMPLETE else ACTION_LABELS[action]
    return label[0] if lang == "zh" else label[1]


@dataclass(frozen=True)
class Transition:
    action: TaskAction
    sources: frozenset[TaskStatus]
    target: TaskStatus | None  # None: status unchanged
    perm: Perm
    who: frozenset[Rel]
    """The caller must hold the permission and be at least one of these to the task."""
    needs_reason: bool = False


_WORKERS = frozenset({Rel.OWNER, Rel.COHANDLER, Rel.MEMBER})
_REQUEST_SIDE = frozenset({Rel.REQUESTER})
_ASSIGNERS = frozenset({Rel.REQUESTER, Rel.MANAGER})
S = TaskStatus
TRANSITIONS: dict[TaskAction, Transition] = {
    t.action: t
    for t in [
        Transition(
            TaskAction.START, frozenset({S.OPEN, S.RETURNED}), S.IN_PROGRESS, Perm.TASK_WORK, _WORKERS
        ),
        Transition(TaskAction.COMPLETE, ACTIVE_STATUSES, S.DONE, Perm.TASK_WORK, _WORKERS),
        Transition(
            TaskAction.RETURN,
            frozenset({S.DONE}),
            S.RETURNED,
            Perm.TASK_VIEW,
            _REQUEST_SIDE,
            needs_reason=True,
        ),
        Transition(
            TaskAction.CANCEL, ACTIVE_STATUSES, S.CANCELLED, Perm.TASK_VIEW, _REQUEST_SIDE, needs_reason=True
        ),
        Transition(TaskAction.REOPEN, frozenset({S.CANCELLED}), S.OPEN, Perm.TASK_VIEW, _REQUEST_SIDE),
        Transition(TaskAction.ASSIGN, ACTIVE_STATUSES, None, Perm.TASK_VIEW, _ASSIGNERS),
        Transition(
            TaskAction.SIGN_OFF, frozenset({S.DONE}), None, Perm.TASK_SIGN_OFF, frozenset({Rel.SIGNER})
        ),
    ]
}
BOARD_MOVES: dict[TaskStatus, TaskAction] = {
    TaskStatus.IN_PROGRESS: TaskAction.START,
    TaskStatus.DONE: TaskAction.COMPLETE,
    TaskStatus.RETURNED: TaskAction.RETURN,
    TaskStatus.OPEN: TaskAction.REOPEN,
}
"""Which action moves a card into a board column."""


@dataclass(frozen=True)
class TaskSnapshot:
    """What the rules need to know about a task."""

    status: TaskStatus
    kind: TaskKind
    has_owner: bool
    open_children: int = 0
    open_checklist: int = 0
    signed_off: bool = False
    completed_by_id: int | None = None


def effective(rels: Iterable[Rel], snap: TaskSnapshot) -> frozenset[Rel]:
    """Department members act as the assignee only while nobody owns the task (they claim it)."""
    out = frozenset(rels)
    return out - {Rel.MEMBER} if snap.has_owner else out


def check(action: TaskAction, snap: TaskSnapshot, rels: Iterable[Rel], who: Principal) -> Transition:
    """Raise Forbidden / InvalidTransition unless `who` (being `rels` to the task) may do `action` now."""
    t = TRANSITIONS[action]
    zh, en = ACTION_LABELS[action]
    mine = effective(rels, snap)
    if not who.can(t.perm) or not (mine & t.who):
        raise Forbidden(f"您不能对该任务执行「{zh}」", f"You may not '{en}' this task")
    if snap.status not in t.sources:
        raise InvalidTransition(
            f"任务当前状态「{status_label(snap.status)}」不能执行「{zh}」",
            f"Cannot '{en}' a task that is {status_label(snap.status, 'en')}",
        )
    _guards(action, snap, who)
    return t


def _guards(action: TaskAction, snap: TaskSnapshot, who: Principal) -> None:
    if action == TaskAction.COMPLETE:
        if snap.open_children:
            raise InvalidTransition(
                f"尚有 {snap.open_children} 个子任务未完成",
                f"{snap.open_children} sub-task(s) are not done yet",
            )
        if snap.open_checklist:
            raise InvalidTransition(
                f"检查清单尚有 {snap.open_checklist} 项未完成",
                f"{snap.open_checklist} checklist item(s) are not done yet",
            )
    if action in (TaskAction.RETURN, TaskAction.SIGN_OFF) and snap.signed_off:
        raise InvalidTransition("任务已验收签字", "The task has already been signed off")
    if (
        action == TaskAction.SIGN_OFF
        and snap.completed_by_id is not None
        and snap.completed_by_id == who.user_id
    ):
        raise Forbidden("不能验收自己完成的任务", "You cannot sign off work you completed yourself")
    if action == TaskAction.CANCEL and snap.open_children:
        raise InvalidTransition("请先完成或取消全部子任务", "Finish or cancel every sub-task first")


COHANDLER_EDITORS = frozenset({Rel.OWNER, Rel.REQUESTER, Rel.MANAGER})
"""Who may add or remove co-handlers on an existing task: its owner, the requesting side, and managers
of the owning org (the same people who may assign it, plus the owner, who knows whose help is needed)."""


def check_cohandler_change(snap: TaskSnapshot, rels: Iterable[Rel], who: Principal) -> None:
    """Raise Forbidden / InvalidTransition unless `who` may change the task's co-handlers now."""
    if not who.can(Perm.TASK_VIEW) or not (effective(rels, snap) & COHANDLER_EDITORS):
        raise Forbidden(
            "只有任务的承办人、发起人或管理人可以调整协办人",
            "Only the task's owner, requester or manager may change its co-handlers",
        )
    if snap.status not in ACTIVE_STATUSES:
        raise InvalidTransition(
            f"任务当前状态「{status_label(snap.status)}」不能调整协办人",
            f"Cannot change the co-handlers of a task that is {status_label(snap.status, 'en')}",
        )


def may_change_cohandlers(snap: TaskSnapshot, rels: Iterable[Rel], who: Principal) -> bool:
    try:
        check_cohandler_change(snap, rels, who)
    except (Forbidden, InvalidTransition):
        return False
    return True


def allowed_actions(snap: TaskSnapshot, rels: Iterable[Rel], who: Principal) -> list[TaskAction]:
    out = []
    for action in TRANSITIONS:
        try:
            check(action, snap, rels, who)
        except (Forbidden, InvalidTransition):
            continue
        out.append(action)
    return out


# ---------------------------------------------------------------- progress


def progress(status: str, child_statuses: Sequence[str], checklist_done: int, checklist_total: int) -> float:
    """Share of the work done, 0..1. A parent: the share of its (not cancelled) children that are done. A
    leaf: its checklist's share, or 0/1 by status without a checklist. Done is always 1."""
    if status == TaskStatus.DONE:
        return 1.0
    counted = [s for s in child_statuses if s != TaskStatus.CANCELLED]
    if counted:
        return sum(1 for s in counted if s == TaskStatus.DONE) / len(counted)
    if checklist_total:
        return checklist_done / checklist_total
    return 0.0


# ---------------------------------------------------------------- due dates


def due_from_date(d: date) -> datetime:
    """A due date is due by the end of that day in Asia/Shanghai (the way the regulatory limits count)."""
    return end_of_local_day(d)


def parse_due(
    value: str | None,
    now: datetime,
    field: str = "due_on",
    *,
    required: bool = True,
    allow_past: bool = False,
) -> datetime | None:
    """A form's YYYY-MM-DD as the end of that local day; refuses a date before today (Asia/Shanghai)."""
    raw = (value or "").strip()
    if not raw:
        if required:
            raise ValidationFailed([FieldProblem(field, "请填写完成期限", "the due date is required")])
        return None
    try:
        d = date.fromisoformat(raw[:10])
    except ValueError as e:
        raise ValidationFailed(
            [FieldProblem(field, "日期格式应为 YYYY-MM-DD", "use the date format YYYY-MM-DD")]
        ) from e
    today = now.astimezone(CN_TZ).date()
    if not allow_past and d < today:
        raise ValidationFailed(
            [FieldProblem(field, "完成期限不能早于今天", "the due date cannot be in the past")]
        )
    if d > today + timedelta(days=3 * 366):
        raise ValidationFailed(
            [FieldProblem(field, "完成期限不能超过三年", "the due date must be within three years")]
        )
    return due_from_date(d)


def deadline(
    due: datetime | None, status: str, completed_at: datetime | None, now: datetime, due_soon: timedelta
) -> DeadlineView | None:
    """The task's due date as staff see it; None for a cancelled task or one without a due date."""
    if status == TaskStatus.CANCELLED or due is None:
        return None
    done = completed_at if status == TaskStatus.DONE else None
    return assess(due, now, done, due_soon=due_soon)


def is_overdue(due: datetime | None, status: str, now: datetime) -> bool:
    return due is not None and status in ACTIVE_STATUSES and now > due


# ---------------------------------------------------------------- on-time completion


@dataclass(frozen=True)
class OnTime:
    org_id: int
    completed: int
    on_time: int
    late: int
    overdue_open: int

    @property
    def rate(self) -> float | None:
        """Share of completed tasks finished by their due date (None without completed tasks)."""
        return self.on_time / self.completed if self.completed else None


def on_time_by_org(
    rows: Iterable[tuple[int, str, datetime | None, datetime | None]], now: datetime
) -> list[OnTime]:
    """From (org id, status, due, completed at) rows: per org, tasks completed on time / late, and tasks still
    open past their due date. Tasks without a due date count as on time when done."""
    acc: dict[int, list[int]] = {}
    for org_id, status, due, completed_at in rows:
        a = acc.setdefault(org_id, [0, 0, 0, 0])
        if status == TaskStatus.DONE and completed_at is not None:
            a[0] += 1
            if due is None or completed_at <= due:
                a[1] += 1
            else:
                a[2] += 1
        elif is_overdue(due, status, now):
            a[3] += 1
    return [OnTime(k, *v) for k, v in sorted(acc.items())]


# ---------------------------------------------------------------- calendar


def month_grid(year: int, month: int) -> list[list[date]]:
    """The weeks (Monday first) covering a month, days of the neighbouring months included."""
    cal = _calendar.Calendar(firstweekday=0)
    return [list(week) for week in cal.monthdatescalendar(year, month)]


def shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    m = year * 12 + (month - 1) + delta
    return m // 12, m % 12 + 1


def require_text(
    field: str, value: str | None, zh_name: str, en_name: str, min_len: int = 2, max_len: int = 10000
) -> str:
    v = (value or "").strip()
    if len(v) < min_len:
        raise ValidationFailed(
            [
                FieldProblem(
                    field,
                    f"请填写{zh_name}（至少 {min_len} 个字）",
                    f"{en_name} is required (at least {min_len} characters)",
                )
            ]
        )
    if len(v) > max_len:
        raise ValidationFailed(
            [
                FieldProblem(
                    field,
                    f"{zh_name}不能超过 {max_len} 个字",
                    f"{en_name} must be at most {max_len} characters",
                )
            ]
        )
    return v
