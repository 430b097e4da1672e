"""Task use cases. Each takes the acting Principal and a unit of work (or session), checks access through
`access_task`, applies a rule from `domain`, records the task's activity and the audit trail, and returns.

Who sees a task (`access_task`): its owner, its co-handlers, its requester (the creator, or whoever may act on
its source, e.g. the complaint's handler), people whose org subtree holds the owning org and whose role may
see tasks (Perm.TASK_VIEW), and people who may see the task's source. Everyone else gets NotFound.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import PERMISSIONS, Perm
from xiaobao.auth.tables import Org, User, UserRole
from xiaobao.config import Settings
from xiaobao.core import audit, files, pii
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.db import UnitOfWork, flush_versioned
from xiaobao.core.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from xiaobao.tasks import sources
from xiaobao.tasks.domain import (
    ACTIVE_STATUSES,
    Priority,
    Rel,
    TaskAction,
    TaskKind,
    TaskSnapshot,
    TaskStatus,
    check,
    check_cohandler_change,
    due_from_date,
    effective,
    on_time_by_org,
    progress,
    require_text,
)
from xiaobao.tasks.schemas import CohandlingCreate, TaskActionRequest, TaskCreate
from xiaobao.tasks.tables import (
    Task,
    TaskAttachment,
    TaskChecklistItem,
    TaskCohandler,
    TaskComment,
    TaskEvent,
)

NOUN = ("任务", "task")
_WORKERS = frozenset({Rel.OWNER, Rel.COHANDLER, Rel.MEMBER})
_REQUEST_SIDE = frozenset({Rel.REQUESTER, Rel.MANAGER})
"""Who may add to a task's checklist and attachments besides the people doing the work."""
Upload = tuple[str | None, bytes]


def _problem(field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed([FieldProblem(field, zh, en)])


# ---------------------------------------------------------------- access


def _org_path(s: Session, org_id: int | None) -> str | None:
    if org_id is None:
        return None
    cache: dict[int, str] = s.info.setdefault("xb_org_paths", {})
    if org_id not in cache:
        path = s.scalar(select(Org.path).where(Org.id == org_id))
        if path is None:
            return None
        cache[org_id] = path
    return cache[org_id]


def relations(s: Session, who: Principal, t: Task, *, with_source: bool = True) -> frozenset[Rel]:
    """What `who` is to task `t` (owner, co-handler, member of the owning org, requester, manager, signer)."""
    rels: set[Rel] = set()
    uid = who.user_id
    if uid is not None:
        if t.owner_id == uid:
            rels.add(Rel.OWNER)
        if uid in t.cohandler_ids:
            rels.add(Rel.COHANDLER)
        if t.requester_id == uid:
            rels.add(Rel.REQUESTER)
    if who.can(Perm.TASK_WORK):
        mine = _org_path(s, who.org_id)
        if mine is not None and mine.startswith(t.org.path):
            rels.add(Rel.MEMBER)
    if who.sees_path(t.org.path):
        if who.can(Perm.TASK_MANAGE):
            rels.add(Rel.MANAGER)
        if who.can(Perm.TASK_SIGN_OFF):
            rels.add(Rel.SIGNER)
    if who.can(Perm.TASK_MANAGE) and t.requester_org is not None and who.sees_path(t.requester_org.path):
        rels.add(Rel.REQUESTER)  # an officer or manager over the org that asked
    if (
        Rel.REQUESTER not in rels
        and with_source
        and t.source_type
        and sources.can_request(s, who, t.source_type, t.source_id)
    ):
        rels.add(Rel.REQUESTER)
    return frozenset(rels)


def _can_view(s: Session, who: Principal, t: Task, rels: frozenset[Rel]) -> bool:
    if rels & {Rel.OWNER, Rel.COHANDLER, Rel.REQUESTER, Rel.MANAGER, Rel.SIGNER}:
        return True
    if who.can(Perm.TASK_VIEW) and (Rel.MEMBER in rels or who.sees_path(t.org.path)):
        return True
    return bool(t.source_type) and sources.can_access(s, who, t.source_type, t.source_id)


def access_task_rels(
    s: Session, who: Principal, task_id: int, *, for_update: bool = False
) -> tuple[Task, frozenset[Rel]]:
    """The one access check for a task, with what the caller is to it. Out of scope: NotFound."""
    stmt = select(Task).where(Task.id == task_id)
    if for_update and s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Task)
    t = s.scalar(stmt)
    if t is None:
        raise NotFound(*NOUN)
    rels = relations(s, who, t)
    if not _can_view(s, who, t, rels):
        raise NotFound(*NOUN)
    return t, rels


def access_task(s: Session, who: Principal, task_id: int, *, for_update: bool = False) -> Task:
    return access_task_rels(s, who, task_id, for_update=for_update)[0]


def visible(stmt: Select[Any], who: Principal) -> Select[Any]:
    """Restrict a task query to the tasks `who` may see in lists: their own (owner, co-handler, requester)
    and, with Perm.TASK_VIEW, those owned by orgs in their subtree."""
    uid = who.user_id if who.user_id is not None else -1
    mine = [
        Task.owner_id == uid,
        Task.requester_id == uid,
        Task.id.in_(select(TaskCohandler.task_id).where(TaskCohandler.user_id == uid)),
    ]
    if who.can(Perm.TASK_VIEW):
        if who.scope_path == "/":
            return stmt
        mine.append(Task.org_id.in_(select(Org.id).where(Org.path.startswith(who.scope_path))))
    return stmt.where(or_(*mine))


# ---------------------------------------------------------------- snapshot, progress


def open_children(s: Session, task_id: int) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.parent_id == task_id, Task.status.in_([st.value for st in ACTIVE_STATUSES]))
        )
        or 0
    )


def snapshot(s: Session, t: Task) -> TaskSnapshot:
    return TaskSnapshot(
        status=TaskStatus(t.status),
        kind=TaskKind(t.kind),
        has_owner=t.owner_id is not None,
        open_children=open_children(s, t.id),
        open_checklist=sum(1 for i in t.checklist if not i.done),
        signed_off=t.signed_off_at is not None,
        completed_by_id=t.completed_by_id,
    )


def progress_map(s: Session, tasks: Sequence[Task]) -> dict[int, float]:
    """Progress of each task (children rolled up for parents, checklist share for leaves), in two queries."""
    ids = [t.id for t in tasks]
    kids: dict[int, list[str]] = {}
    for i in range(0, len(ids), 500):
        for parent_id, status in s.execute(
            select(Task.parent_id, Task.status).where(Task.parent_id.in_(ids[i : i + 500]))
        ):
            if parent_id is not None:
                kids.setdefault(parent_id, []).append(status)
    return {
        t.id: progress(t.status, kids.get(t.id, []), sum(1 for c in t.checklist if c.done), len(t.checklist))
        for t in tasks
    }


def children(s: Session, t: Task) -> list[Task]:
    return list(s.scalars(select(Task).where(Task.parent_id == t.id).order_by(Task.id)))


# ---------------------------------------------------------------- who may be asked


def _chain(path: str) -> list[str]:
    """'/1/4/9/' -> ['/1/', '/1/4/', '/1/4/9/']."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "".join(p + "/" for p in parts[:i]) for i in range(1, len(parts) + 1)]


def _institution_path(s: Session, org_id: int | None) -> str | None:
    org = s.get(Org, org_id) if org_id is not None else None
    while org is not None and org.kind == "department":
        org = org.parent
    return org.path if org is not None else None


def assignable_orgs(s: Session, who: Principal, anchor_path: str | None = None) -> list[Org]:
    """Orgs `who` may give work to: every org in their subtree, and the departments of the institutions
    above them (or above `anchor_path`, e.g. a complaint's org): a sub-branch handler may ask the
    province's claims department."""
    base = anchor_path or _institution_path(s, who.org_id) or who.scope_path
    chain = set(_chain(base))
    out: dict[int, Org] = {}
    for o in s.scalars(select(Org).where(Org.path.startswith(who.scope_path))):
        out[o.id] = o
    parents = list(s.scalars(select(Org).where(Org.path.in_(chain))))
    if parents:
        for d in s.scalars(
            select(Org).where(Org.parent_id.in_([p.id for p in parents]), Org.kind == "department")
        ):
            out[d.id] = d
    return sorted(out.values(), key=lambda o: o.path)


def cohandling_departments(s: Session, who: Principal, complaint_org_path: str) -> list[Org]:
    """Departments a complaint's handler may ask: those of the complaint's org and of every org above it."""
    return [
        o
        for o in assignable_orgs(s, who, complaint_org_path)
        if o.kind == "department"
        and o.parent is not None
        and o.parent.path in set(_chain(complaint_org_path))
    ]


def _work_roles() -> list[str]:
    return sorted(r.value for r in PERMISSIONS[Perm.TASK_WORK])


def workers_in(s: Session, org: Org, role: str | None = None) -> list[User]:
    """Active users in `org` (or below it) who may work on tasks (optionally only those with `role`)."""
    stmt = (
        select(User)
        .join(Org, Org.id == User.org_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.active.is_(True),
            Org.path.startswith(org.path),
            UserRole.role.in_([role] if role else _work_roles()),
        )
        .order_by(Org.path, User.display_name)
    )
    return list(s.scalars(stmt).unique())


def _check_worker(s: Session, user_id: int, org: Org, field: str) -> User:
    user = s.get(User, user_id)
    if (
        user is None
        or not user.active
        or not any(r in PERMISSIONS[Perm.TASK_WORK] for r in user.roles)
        or not user.org.path.startswith(org.path)
    ):
        raise _problem(
            field,
            f"所选人员须为「{org.name_zh}」的在岗人员",
            f"the person must be active staff of {org.name_en}",
        )
    return user


def _check_cohandlers(s: Session, who: Principal, ids: Iterable[int], org: Org) -> list[User]:
    out: list[User] = []
    for uid in dict.fromkeys(ids):
        user = s.get(User, uid)
        if (
            user is None
            or not user.active
            or not any(r in PERMISSIONS[Perm.TASK_WORK] for r in user.roles)
            or not (who.sees_path(user.org.path) or user.org.path.startswith(org.path))
        ):
            raise _problem(
                "cohandler_ids",
                "协办人不存在或不在您的管辖范围",
                "a co-handler is unknown or outside your scope",
            )
        out.append(user)
    return out


def _due(d: date | None, now: datetime, field: str = "due_on", *, required: bool = False) -> datetime | None:
    if d is None:
        if required:
            raise _problem(field, "请填写完成期限", "the due date is required")
        return None
    if d < now.astimezone(CN_TZ).date():
        raise _problem(field, "完成期限不能早于今天", "the due date cannot be in the past")
    if d > now.astimezone(CN_TZ).date() + timedelta(days=3 * 366):
        raise _problem(field, "完成期限不能超过三年", "the due date must be within three years")
    return due_from_date(d)


# ---------------------------------------------------------------- activity, audit, notices


def add_event(
    s: Session,
    t: Task,
    who: Principal,
    at: datetime,
    kind: str,
    text: str | None = None,
    data: dict[str, Any] | None = None,
) -> TaskEvent:
    ev = TaskEvent(
        task_id=t.id, at=at, actor_id=who.user_id, actor_label=who.label, kind=kind, text=text, data=data
    )
    s.add(ev)
    return ev


_AUDITED = (
    "status",
    "owner_id",
    "org_id",
    "due_at",
    "priority",
    "blocking",
    "answer",
    "completed_at",
    "signed_off_at",
    "signed_off_by_id",
    "title",
)


def _audit_view(t: Task) -> dict[str, Any]:
    d = {k: getattr(t, k) for k in _AUDITED}
    d["version"] = t.version
    return d


def events(s: Session, t: Task) -> list[TaskEvent]:
    return list(
        s.scalars(select(TaskEvent).where(TaskEvent.task_id == t.id).order_by(TaskEvent.at, TaskEvent.id))
    )


def default_recipients(s: Session, org: Org) -> list[int]:
    """Who hears of a task nobody owns yet: a department's staff; for a branch, its officers and managers."""
    if org.kind == "department":
        return [u.id for u in workers_in(s, org)]
    stmt = (
        select(User.id)
        .join(Org, Org.id == User.org_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.active.is_(True),
            UserRole.role.in_(["officer", "branch_manager"]),
            or_(Org.id == org.id, and_(Org.parent_id == org.id, Org.kind == "department")),
        )
    )
    return sorted(set(s.scalars(stmt)))


def tell(
    s: Session,
    user_ids: Iterable[int],
    t: Task,
    ev: TaskEvent,
    headline: str,
    text: str,
    now: datetime,
    *,
    exclude: int | None = None,
) -> None:
    """An inbox notice (and e-mail, per the user's preference) about task `t`, once per event and user."""
    from xiaobao.notifications.domain import Kind
    from xiaobao.notifications.services import NewNotification, notify

    s.flush()  # the event id makes the dedupe key
    # messages leave the system (e-mail): personal data in free text is masked
    title = f"【{headline}】{pii.mask_text(t.title)}"
    text = pii.mask_text(text)
    if len(title) > 200:
        title = title[:199] + "…"
    due = f"\n完成期限：{t.due_at.astimezone(CN_TZ):%Y-%m-%d}" if t.due_at else ""
    items = [
        NewNotification(
            user_id=uid,
            kind=Kind.TASK,
            title=title,
            body=f"{text}{due}",
            dedupe_key=f"task:{t.id}:e{ev.id}:u{uid}",
            link=f"/tasks/{t.id}",
            entity_type="task",
            entity_id=t.id,
        )
        for uid in sorted(set(user_ids))
        if uid != exclude
    ]
    notify(s, items, now)


# ---------------------------------------------------------------- create


def _invite_cohandlers(
    s: Session, user_ids: Iterable[int], t: Task, ev: TaskEvent, who: Principal, now: datetime
) -> None:
    """Tell new co-handlers they were asked to help (at creation or when added later)."""
    tell(
        s,
        user_ids,
        t,
        ev,
        "任务协办",
        f"{who.display_name} 邀请您协办任务「{t.title}」。",
        now,
        exclude=who.user_id,
    )


def new_task(
    s: Session,
    who: Principal,
    *,
    kind: TaskKind,
    title: str,
    description: str,
    org: Org,
    owner: User | None,
    cohandlers: Sequence[User],
    due_at: datetime | None,
    priority: str,
    now: datetime,
    parent: Task | None = None,
    ledger_id: int | None = None,
    source_type: str | None = None,
    source_id: int | None = None,
    blocking: bool = False,
    checklist: Sequence[str] = (),
) -> Task:
    t = Task(
        kind=kind.value,
        title=title,
        description=description,
        status=TaskStatus.OPEN.value,
        priority=Priority(priority).value,
        org_id=org.id,
        org=org,
        owner_id=owner.id if owner else None,
        owner=owner,
        requester_id=who.user_id,
        requester_org_id=who.org_id,
        created_by_id=who.user_id,
        parent_id=parent.id if parent else None,
        ledger_id=ledger_id,
        source_type=source_type,
        source_id=source_id,
        blocking=blocking,
        due_at=due_at,
        created_at=now,
        updated_at=now,
    )
    t.cohandler_rows = [TaskCohandler(user_id=u.id) for u in cohandlers]
    t.checklist = [TaskChecklistItem(position=i, text=text[:500]) for i, text in enumerate(checklist) if text]
    s.add(t)
    s.flush()
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="task.create",
        entity_type="task",
        entity_id=t.id,
        after={
            **_audit_view(t),
            "kind": t.kind,
            "source_type": source_type,
            "source_id": source_id,
            "parent_id": t.parent_id,
        },
        ip=who.ip,
    )
    return t


def create_task(uow: UnitOfWork, who: Principal, data: TaskCreate, now: datetime) -> Task:
    """A general task (or a sub-task of one the caller owns, requested or manages)."""
    if not who.can(Perm.TASK_CREATE):
        raise Forbidden("您的角色不能创建任务", "Your role may not create tasks")
    s = uow.session
    parent = None
    if data.parent_id is not None:
        parent, prels = access_task_rels(s, who, data.parent_id)
        if not prels & {Rel.OWNER, Rel.REQUESTER, Rel.MANAGER}:
            raise Forbidden(
                "只有上级任务的承办人、发起人或管理人可以拆分子任务",
                "Only the parent task's owner, requester or manager may add sub-tasks",
            )
        if parent.status not in ACTIVE_STATUSES:
            raise InvalidTransition("上级任务已结束，不能再添加子任务", "The parent task is finished")
    org = s.get(Org, data.org_id)
    if org is None or org.id not in {o.id for o in assignable_orgs(s, who)}:
        raise _problem(
            "org_id", "承办机构不存在或不在您的管辖范围", "the owning org is unknown or outside your scope"
        )
    owner = _check_worker(s, data.owner_id, org, "owner_id") if data.owner_id is not None else None
    cohandlers = _check_cohandlers(s, who, data.cohandler_ids, org)
    due_at = _due(data.due_on, now)
    if parent is not None and parent.due_at is not None and due_at is not None and due_at > parent.due_at:
        raise _problem("due_on", "子任务期限不能晚于上级任务", "a sub-task cannot be due after its parent")
    t = new_task(
        s,
        who,
        kind=TaskKind.GENERAL,
        title=data.title,
        description=data.description,
        org=org,
        owner=owner,
        cohandlers=cohandlers,
        due_at=due_at,
        priority=data.priority,
        now=now,
        parent=parent,
        source_type=parent.source_type if parent else None,
        source_id=parent.source_id if parent else None,
        checklist=data.checklist,
    )
    ev = add_event(
        s,
        t,
        who,
        now,
        "created",
        data.description or None,
        {"org": org.name_zh, "owner": owner.display_name if owner else None},
    )
    if parent is not None:
        add_event(s, parent, who, now, "child_added", t.title, {"task_id": t.id})
    tell(
        s,
        [owner.id] if owner else default_recipients(s, org),
        t,
        ev,
        "新任务",
        f"{who.display_name} 交办任务「{t.title}」。",
        now,
        exclude=who.user_id,
    )
    _invite_cohandlers(s, [u.id for u in cohandlers], t, ev, who, now)
    uow.commit()
    return t


def request_cohandling(
    uow: UnitOfWork, who: Principal, complaint_id: int, data: CohandlingCreate, now: datetime
) -> Task:
    """A complaint handler asks another department for an answer (协办). The request shows in the
    complaint's timeline; a blocking request stops the complaint being decided until it is answered."""
    s = uow.session
    source = sources.get("complaint")
    if source is None:
        raise NotFound("投诉", "complaint")
    source.can_request(s, who, complaint_id)  # 404 out of scope, 403 not the handler or an officer
    info = source.describe(s, complaint_id)
    assert info is not None
    if not who.can(Perm.TASK_VIEW):
        raise Forbidden("您的角色不能发起协办", "Your role may not request co-handling")
    org = s.get(Org, data.org_id)
    if org is None or org.id not in {o.id for o in cohandling_departments(s, who, info.org_path)}:
        raise _problem(
            "org_id",
            "请选择投诉承办机构或其上级机构的部门",
            "choose a department of the complaint's org or of an org above it",
        )
    owner = _check_worker(s, data.owner_id, org, "owner_id") if data.owner_id is not None else None
    question = require_text("question", data.question, "协办事项", "the question", 2, 5000)
    due_at = _due(data.due_on, now, required=True)
    first = question.splitlines()[0]
    title = f"协办：{info.label_zh} · {pii.mask_text(first[:60])}{'…' if len(first) > 60 else ''}"
    t = new_task(
        s,
        who,
        kind=TaskKind.COHANDLING,
        title=title[:200],
        description=question,
        org=org,
        owner=owner,
        cohandlers=(),
        due_at=due_at,
        priority=data.priority,
        now=now,
        source_type="complaint",
        source_id=complaint_id,
        blocking=data.blocking,
    )
    ev = add_event(s, t, who, now, "created", question, {"org": org.name_zh, "blocking": data.blocking})
    sources.record(
        s,
        who,
        "complaint",
        complaint_id,
        now,
        "cohandling_requested",
        question,
        {
            "task_id": t.id,
            "org": org.name_zh,
            "org_en": org.name_en,
            "owner": owner.display_name if owner else None,
            "blocking": data.blocking,
            "due": due_at.isoformat() if due_at else None,
        },
    )
    tell(
        s,
        [owner.id] if owner else default_recipients(s, org),
        t,
        ev,
        "协办请求",
        f"{who.display_name} 就{info.label_zh}请求贵部门协办：{question[:300]}",
        now,
        exclude=who.user_id,
    )
    uow.commit()
    return t


# ---------------------------------------------------------------- lifecycle


def _check_version(t: Task, version: int | None) -> None:
    if version is not None and version != t.version:
        raise Conflict(
            f"该任务已被他人修改（您看到的是第 {version} 版，当前为第 {t.version} 版），请刷新后重试",
            f"This task was changed by someone else (you saw version {version}, it is now {t.version}); "
            "reload and try again",
        )


def _validated_uploads(
    uploads: Sequence[Upload], settings: Settings, field: str
) -> list[tuple[str, str, bytes]]:
    out = []
    for filename, data in uploads:
        if not filename and not data:
            continue  # an empty file input
        name, ctype = files.validate(filename, data, settings.attachment_max_bytes, field=field)
        out.append((name, ctype, data))
    return out


def _store_uploads(
    s: Session,
    who: Principal,
    t: Task,
    checked: Sequence[tuple[str, str, bytes]],
    purpose: str,
    now: datetime,
    settings: Settings,
) -> list[TaskAttachment]:
    rows = []
    for name, ctype, data in checked:
        digest = hashlib.sha256(data).hexdigest()
        files.store(settings, digest, data)
        att = TaskAttachment(
            task_id=t.id,
            purpose=purpose,
            filename=name,
            content_type=ctype,
            size=len(data),
            sha256=digest,
            uploaded_by_id=who.user_id,
            uploaded_at=now,
        )
        s.add(att)
        rows.append(att)
    s.flush()
    for att in rows:
        audit.record(
            s,
            at=now,
            actor_id=who.user_id,
            actor_label=who.label,
            action="task.attachment",
            entity_type="task",
            entity_id=t.id,
            after={
                "attachment_id": att.id,
                "filename": att.filename,
                "size": att.size,
                "sha256": att.sha256,
                "purpose": purpose,
            },
            ip=who.ip,
        )
    return rows


def _evidence_count(s: Session, t: Task) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(TaskAttachment)
            .where(TaskAttachment.task_id == t.id, TaskAttachment.purpose == "evidence")
        )
        or 0
    )


@dataclass
class ActContext:
    now: datetime
    settings: Settings


def act(
    uow: UnitOfWork,
    who: Principal,
    task_id: int,
    action: TaskAction,
    req: TaskActionRequest,
    ctx: ActContext,
    uploads: Sequence[Upload] = (),
) -> Task:
    """Apply one lifecycle action: access check, version check, rule check, change, activity, audit."""
    s = uow.session
    now = ctx.now
    t, rels = access_task_rels(s, who, task_id, for_update=True)
    _check_version(t, req.version)
    snap = snapshot(s, t)
    check(action, snap, rels, who)
    before = _audit_view(t)
    with s.no_autoflush:
        notices = _APPLY[action](s, t, who, effective(rels, snap), req, ctx, uploads)
    t.updated_at = now
    flush_versioned(s, "任务", "task")
    b, a = audit.diff(before, _audit_view(t))
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action=f"task.{action.value}",
        entity_type="task",
        entity_id=t.id,
        before=b,
        after=a,
        ip=who.ip,
    )
    for users, ev, headline, text in notices:
        tell(s, users, t, ev, headline, text, now, exclude=who.user_id)
    if t.ledger_id is not None and t.parent_id is not None:
        _roll_up_ledger_parent(s, who, t.parent_id, now)
    uow.commit()
    return t


Notice = tuple[list[int], TaskEvent, str, str]


def _roll_up_ledger_parent(s: Session, who: Principal, parent_id: int, now: datetime) -> None:
    """A rectification ledger entry's parent task follows its branch tasks: it completes by itself once
    every branch task (cancelled ones aside) is signed off, and reopens when a branch task is active again
    (returned for rework, reopened). Locked on PostgreSQL, so two concurrent sign-offs of the last two
    branches cannot both miss the completion."""
    stmt = select(Task).where(Task.id == parent_id).execution_options(populate_existing=True)
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Task)
    parent = s.scalar(stmt)
    if parent is None or parent.ledger_id is None:
        return
    kids = [
        (st, signed)
        for st, signed in s.execute(
            select(Task.status, Task.signed_off_at).where(Task.parent_id == parent.id)
        )
        if st != TaskStatus.CANCELLED.value
    ]
    all_signed = bool(kids) and all(signed is not None for _, signed in kids)
    any_active = any(st in {a.value for a in ACTIVE_STATUSES} for st, _ in kids)
    before = _audit_view(parent)
    if parent.status in {a.value for a in ACTIVE_STATUSES} and all_signed:
        parent.status = TaskStatus.DONE.value
        parent.completed_at = now
        parent.completed_by_id = None  # the system, on the last sign-off
        kind, action = "children_done", "task.auto_complete"
        headline, text = "整改全部完成", f"全部 {len(kids)} 个分支整改任务均已验收，总任务已自动办结。"
    elif parent.status == TaskStatus.DONE.value and any_active:
        parent.status = TaskStatus.IN_PROGRESS.value
        parent.completed_at = None
        parent.completed_by_id = None
        parent.signed_off_at = None
        parent.signed_off_by_id = None
        kind, action = "children_reopened", "task.auto_reopen"
        headline, text = "整改任务重新打开", "有分支整改任务被退回重办，总任务已重新打开。"
    else:
        return
    parent.updated_at = now
    s.flush()
    ev = add_event(s, parent, who, now, kind, None, {"branches": len(kids)})
    b, a = audit.diff(before, _audit_view(parent))
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action=action,
        entity_type="task",
        entity_id=parent.id,
        before=b,
        after=a,
        ip=who.ip,
    )
    tell(
        s, [parent.owner_id] if parent.owner_id else [], parent, ev, headline, text, now, exclude=who.user_id
    )


def _start(
    s: Session,
    t: Task,
    who: Principal,
    rels: frozenset[Rel],
    req: TaskActionRequest,
    ctx: ActContext,
    uploads: Sequence[Upload],
) -> list[Notice]:
    claimed = _claim(t, who, rels)
    t.status = TaskStatus.IN_PROGRESS.value
    add_event(s, t, who, ctx.now, "started", req.note, {"claimed": claimed} if claimed else None)
    return []


def _claim(t: Task, who: Principal, rels: frozenset[Rel]) -> bool:
    """A member of the owning department takes a task nobody owns yet."""
    if t.owner_id is None and Rel.MEMBER in rels and who.user_id is not None:
        t.owner_id = who.user_id
        return True
    return False


def _complete(
    s: Session,
    t: Task,
    who: Principal,
    rels: frozenset[Rel],
    req: TaskActionRequest,
    ctx: ActContext,
    uploads: Sequence[Upload],
) -> list[Notice]:
    kind = TaskKind(t.kind)
    is_parent = s.scalar(select(Task.id).where(Task.parent_id == t.id).limit(1)) is not None
    if kind == TaskKind.COHANDLING:
        text: str | None = require_text("answer", req.answer, "协办意见", "the answer", 2, 10000)
        checked = _validated_uploads(uploads, ctx.settings, "file")
        purpose = "answer"
    elif kind == TaskKind.RECTIFICATION and not is_parent:  # the branches' evidence is on the sub-tasks
        text = require_text("answer", req.answer, "整改情况说明", "the evidence description", 5, 10000)
        checked = _validated_uploads(uploads, ctx.settings, "file")
        if not checked and not _evidence_count(s, t):
            raise _problem(
                "file",
                "请上传整改证明材料（如整改报告、制度文件、培训记录）",
                "upload evidence of completion (report, policy document, training record)",
            )
        purpose = "evidence"
    else:
        text = (req.answer or req.note or "").strip() or None
        checked = _validated_uploads(uploads, ctx.settings, "file")
        purpose = "attachment"
    _claim(t, who, rels)
    stored = _store_uploads(s, who, t, checked, purpose, ctx.now, ctx.settings)
    t.status = TaskStatus.DONE.value
    t.answer = text
    t.completed_at = ctx.now
    t.completed_by_id = who.user_id
    names = [a.filename for a in stored]
    ev = add_event(
        s,
        t,
        who,
        ctx.now,
        "completed",
        text,
        {"attachments": [{"id": a.id, "name": a.filename} for a in stored]} if stored else None,
    )
    _tell_source(s, t, who, ctx.now, "cohandling_answered", text, attachments=names)
    told = [t.requester_id] if t.requester_id else []
    headline = {TaskKind.COHANDLING: "协办答复", TaskKind.RECTIFICATION: "整改完成待验收"}.get(
        kind, "任务完成"
    )
    return [(told, ev, headline, f"{who.display_name}（{t.org.name_zh}）已完成：{(text or t.title)[:300]}")]


def _tell_source(
    s: Session, t: Task, who: Principal, now: datetime, kind: str, text: str | None, **extra: Any
) -> None:
    """Record a co-handling step in the history of the item the task was raised from (the complaint)."""
    if t.source_type and t.source_id is not None and t.kind == TaskKind.COHANDLING:
        data = {"task_id": t.id, "org": t.org.name_zh, "org_en": t.org.name_en, **extra}
        sources.record(s, who, t.source_type, t.source_id, now, kind, text, data)


def _return(
    s: Session,
    t: Task,
    who: Principal,
    rels: frozenset[Rel],
    req: TaskActionRequest,
    ctx: ActContext,
    uploads: Sequence[Upload],
) -> list[Notice]:
    reason = require_text("reason", req.reason, "退回原因", "the reason", 2, 5000)
    t.status = TaskStatus.RETURNED.value
    t.completed_at = None
    t.completed_by_id = None
    ev = add_event(s, t, who, ctx.now, "returned", reason)
    _tell_source(s, t, who, ctx.now, "cohandling_returned", reason)
    told = [t.owner_id] if t.owner_id else default_recipients(s, t.org)
    return [(told, ev, "任务退回", f"{who.display_name} 退回了任务，原因：{reason[:300]}")]


def _cancel(
    s: Session,
    t: Task,
    who: Principal,
    rels: frozenset[Rel],
    req: TaskActionRequest,
    ctx: ActContext,
    uploads: Sequence[Upload],
) -> list[Notice]:
    reason = require_text("reason", req.reason, "取消原因", "the reason", 2, 5000)
    t.status = TaskStatus.CANCELLED.value
    ev = add_event(s, t, who, ctx.now, "cancelled", reason)
    _tell_source(s, t, who, ctx.now, "cohandling_cancelled", reason)
    told = ([t.owner_id] if t.owner_id else []) + list(t.cohandler_ids)
    return [(told, ev, "任务取消", f"{who.display_name} 取消了任务，原因：{reason[:300]}")]


def _reopen(
    s: Session,
    t: Task,
    who: Principal,
    rels: frozenset[Rel],
    req: TaskActionRequest,
    ctx: ActContext,
    uploads: Sequence[Upload],
) -> list[Notice]:
    t.status = TaskStatus.OPEN.value
    t.completed_at = None
    t.completed_by_id = None
    ev = add_event(s, t, who, ctx.now, "reopened", req.reason or req.note)
    return [([t.owner_id] if t.owner_id else [], ev, "任务重新打开", f"{who.display_name} 重新打开了任务。")]


def _assign(
    s: Session,
    t: Task,
    who: Principal,
    rels: frozenset[Rel],
    req: TaskActionRequest,
    ctx: ActContext,
    uploads: Sequence[Upload],
) -> list[Notice]:
    if req.owner_id is None:
        raise _problem("owner_id", "请选择承办人", "choose the person responsible")
    user = _check_worker(s, req.owner_id, t.org, "owner_id")
    previous = t.owner_id
    t.owner_id = user.id
    t.owner = user
    ev = add_event(
        s, t, who, ctx.now, "assigned", req.note, {"owner": user.display_name, "previous": previous}
    )
    return [([user.id], ev, "任务指派", f"{who.display_name} 将任务「{t.title}」指派给您。")]


def _sign_off(
    s: Session,
    t: Task,
    who: Principal,
    rels: frozenset[Rel],
    req: TaskActionRequest,
    ctx: ActContext,
    uploads: Sequence[Upload],
) -> list[Notice]:
    note = (req.note or req.reason or "").strip() or None
    t.signed_off_at = ctx.now
    t.signed_off_by_id = who.user_id
    t.sign_off_note = note
    ev = add_event(s, t, who, ctx.now, "signed_off", note)
    told = [u for u in (t.owner_id, t.completed_by_id) if u]
    return [(told, ev, "已验收", f"{who.display_name} 已验收签字：{t.title}")]


_APPLY = {
    TaskAction.START: _start,
    TaskAction.COMPLETE: _complete,
    TaskAction.RETURN: _return,
    TaskAction.CANCEL: _cancel,
    TaskAction.REOPEN: _reopen,
    TaskAction.ASSIGN: _assign,
    TaskAction.SIGN_OFF: _sign_off,
}
assert set(_APPLY) == set(TaskAction)


# ---------------------------------------------------------------- co-handlers after creation


def cohandler_choices(s: Session, who: Principal, t: Task) -> list[User]:
    """People who may be added as co-handlers: staff of the owning org and of the caller's own org, not
    yet on the task and not its owner."""
    taken = set(t.cohandler_ids) | ({t.owner_id} if t.owner_id else set())
    out: dict[int, User] = {u.id: u for u in workers_in(s, t.org) if u.id not in taken}
    mine = s.get(Org, who.org_id) if who.org_id is not None else None
    if mine is not None and mine.id != t.org_id:
        for u in workers_in(s, mine):
            if u.id not in taken and who.sees_path(u.org.path):
                out.setdefault(u.id, u)
    return sorted(out.values(), key=lambda u: (u.org.path, u.display_name))


def change_cohandlers(
    uow: UnitOfWork,
    who: Principal,
    task_id: int,
    now: datetime,
    *,
    add: Sequence[int] = (),
    remove: Sequence[int] = (),
    version: int | None = None,
) -> Task:
    """Add or remove co-handlers on an existing task (owner, requester side, managers of the owning org;
    active tasks only). Recorded as a task event, audited; the people added or removed are told."""
    s = uow.session
    t, rels = access_task_rels(s, who, task_id, for_update=True)
    _check_version(t, version)
    check_cohandler_change(snapshot_light(t), rels, who)
    current = set(t.cohandler_ids)
    add_ids = [i for i in dict.fromkeys(add) if i not in current]
    remove_ids = list(dict.fromkeys(remove))
    if not add_ids and not remove_ids:
        raise _problem("cohandler_ids", "请选择要添加或移除的协办人", "choose co-handlers to add or remove")
    if set(add_ids) & set(remove_ids):
        raise _problem(
            "cohandler_ids", "同一人不能同时添加和移除", "a person cannot be added and removed at once"
        )
    if any(i not in current for i in remove_ids):
        raise _problem(
            "cohandler_ids", "所选人员不是该任务的协办人", "that person is not a co-handler of this task"
        )
    if t.owner_id is not None and t.owner_id in add_ids:
        raise _problem("cohandler_ids", "承办人无需再作为协办人", "the owner cannot also be a co-handler")
    added = _check_cohandlers(s, who, add_ids, t.org)
    before = sorted(current)
    removed_users = [r.user for r in t.cohandler_rows if r.user_id in remove_ids]
    t.cohandler_rows = [r for r in t.cohandler_rows if r.user_id not in remove_ids] + [
        TaskCohandler(user_id=u.id) for u in added
    ]
    t.updated_at = now
    flag_modified(t, "updated_at")  # an UPDATE even at the same instant: the version moves on
    flush_versioned(s, "任务", "task")
    ev = add_event(
        s,
        t,
        who,
        now,
        "cohandlers_changed",
        None,
        {"added": [u.display_name for u in added], "removed": [u.display_name for u in removed_users]},
    )
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="task.cohandlers",
        entity_type="task",
        entity_id=t.id,
        before={"cohandlers": before},
        after={"cohandlers": sorted(t.cohandler_ids)},
        ip=who.ip,
    )
    _invite_cohandlers(s, [u.id for u in added], t, ev, who, now)
    tell(
        s,
        [u.id for u in removed_users],
        t,
        ev,
        "协办调整",
        f"{who.display_name} 已将您从任务「{t.title}」的协办人中移除，无需继续协办。",
        now,
        exclude=who.user_id,
    )
    uow.commit()
    return t


# ---------------------------------------------------------------- checklist, comments, attachments


def _may_work(t: Task, rels: frozenset[Rel]) -> bool:
    return bool(effective(rels, snapshot_light(t)) & (_WORKERS | _REQUEST_SIDE))


def snapshot_light(t: Task) -> TaskSnapshot:
    """The parts of the snapshot that need no query (lists and boards; the service re-checks in full)."""
    return TaskSnapshot(
        status=TaskStatus(t.status),
        kind=TaskKind(t.kind),
        has_owner=t.owner_id is not None,
        signed_off=t.signed_off_at is not None,
        completed_by_id=t.completed_by_id,
    )


def _workable(s: Session, who: Principal, task_id: int) -> tuple[Task, frozenset[Rel]]:
    t, rels = access_task_rels(s, who, task_id, for_update=True)
    if not _may_work(t, rels) or not who.can(Perm.TASK_VIEW):
        raise Forbidden(
            "只有任务的承办人、协办人或发起人可以修改任务",
            "Only the task's owner, co-handlers or requester may change it",
        )
    if t.status not in ACTIVE_STATUSES:
        raise InvalidTransition("任务已结束，不能再修改", "The task is finished and cannot be changed")
    return t, rels


def add_checklist_item(
    uow: UnitOfWork, who: Principal, task_id: int, text: str, now: datetime
) -> TaskChecklistItem:
    s = uow.session
    t, _ = _workable(s, who, task_id)
    text = require_text("text", text, "清单事项", "the checklist item", 1, 500)
    if len(t.checklist) >= 50:
        raise _problem("text", "检查清单最多 50 项", "a checklist holds at most 50 items")
    item = TaskChecklistItem(
        task_id=t.id, position=max((i.position for i in t.checklist), default=-1) + 1, text=text
    )
    t.checklist.append(item)
    t.updated_at = now
    add_event(s, t, who, now, "checklist_added", text)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="task.checklist_add",
        entity_type="task",
        entity_id=t.id,
        after={"text": text},
    )
    uow.commit()
    return item


def set_checklist_item(
    uow: UnitOfWork, who: Principal, task_id: int, item_id: int, done: bool, now: datetime
) -> TaskChecklistItem:
    s = uow.session
    t, _ = _workable(s, who, task_id)
    item = next((i for i in t.checklist if i.id == item_id), None)
    if item is None:
        raise NotFound("清单事项", "checklist item")
    if item.done != done:
        item.done = done
        item.done_at = now if done else None
        item.done_by_id = who.user_id if done else None
        t.updated_at = now
        add_event(s, t, who, now, "checklist_done" if done else "checklist_undone", item.text)
        audit.record(
            s,
            at=now,
            actor_id=who.user_id,
            actor_label=who.label,
            action="task.checklist",
            entity_type="task",
            entity_id=t.id,
            after={"item": item.id, "done": done},
        )
    uow.commit()
    return item


def add_comment(uow: UnitOfWork, who: Principal, task_id: int, text: str, now: datetime) -> TaskComment:
    s = uow.session
    t = access_task(s, who, task_id)
    text = require_text("text", text, "评论内容", "the comment", 1, 5000)
    c = TaskComment(task_id=t.id, at=now, author_id=who.user_id, author_label=who.label, text=text)
    s.add(c)
    s.flush()
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="task.comment",
        entity_type="task",
        entity_id=t.id,
        after={"comment_id": c.id},
    )
    uow.commit()
    return c


def comments(s: Session, t: Task) -> list[TaskComment]:
    return list(
        s.scalars(
            select(TaskComment).where(TaskComment.task_id == t.id).order_by(TaskComment.at, TaskComment.id)
        )
    )


def add_attachment(
    uow: UnitOfWork,
    who: Principal,
    task_id: int,
    filename: str | None,
    data: bytes,
    now: datetime,
    settings: Settings,
    purpose: str = "attachment",
) -> TaskAttachment:
    if purpose not in ("attachment", "evidence"):
        raise _problem("purpose", "未知的附件用途", f"unknown attachment purpose {purpose!r}")
    s = uow.session
    t, _ = _workable(s, who, task_id)
    checked = _validated_uploads([(filename, data)], settings, "file")
    if not checked:
        raise _problem("file", "请选择要上传的文件", "Choose a file to upload")
    att = _store_uploads(s, who, t, checked, purpose, now, settings)[0]
    add_event(s, t, who, now, "attachment", att.filename, {"attachment_id": att.id, "purpose": purpose})
    uow.commit()
    return att


def attachments(s: Session, t: Task) -> list[TaskAttachment]:
    return list(
        s.scalars(
            select(TaskAttachment)
            .where(TaskAttachment.task_id == t.id)
            .order_by(TaskAttachment.uploaded_at, TaskAttachment.id)
        )
    )


def open_attachment(
    uow: UnitOfWork, who: Principal, task_id: int, attachment_id: int, now: datetime, settings: Settings
) -> tuple[TaskAttachment, Path]:
    """Access-checked read of one attachment: (row, file path). Audited and committed."""
    s = uow.session
    t = access_task(s, who, task_id)
    att = s.scalar(
        select(TaskAttachment).where(TaskAttachment.id == attachment_id, TaskAttachment.task_id == t.id)
    )
    if att is None:
        raise NotFound("附件", "attachment")
    path = files.stored_blob(settings, att.sha256)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="task.attachment_download",
        entity_type="task",
        entity_id=t.id,
        after={"attachment_id": att.id, "filename": att.filename},
        ip=who.ip,
    )
    uow.commit()
    return att, path


# ---------------------------------------------------------------- sources (the complaint page)


def tasks_for_source(s: Session, source_type: str, source_id: int) -> list[Task]:
    """Every task about one item, oldest first. The caller has checked access to the item."""
    return list(
        s.scalars(
            select(Task)
            .where(Task.source_type == source_type, Task.source_id == source_id, Task.parent_id.is_(None))
            .order_by(Task.created_at, Task.id)
        )
    )


def open_blocking(s: Session, source_type: str, source_id: int) -> list[Task]:
    return list(
        s.scalars(
            select(Task)
            .where(
                Task.source_type == source_type,
                Task.source_id == source_id,
                Task.blocking.is_(True),
                Task.status.in_([st.value for st in ACTIVE_STATUSES]),
            )
            .order_by(Task.id)
        )
    )


# ---------------------------------------------------------------- views


ACTIVE_VALUES = [st.value for st in ACTIVE_STATUSES]


def my_tasks(s: Session, who: Principal, *, include_finished: bool = False, limit: int = 500) -> list[Task]:
    """Tasks the caller owns or co-handles, soonest due first (then newest)."""
    uid = who.user_id if who.user_id is not None else -1
    stmt = select(Task).where(
        or_(
            Task.owner_id == uid,
            Task.id.in_(select(TaskCohandler.task_id).where(TaskCohandler.user_id == uid)),
        )
    )
    if not include_finished:
        stmt = stmt.where(Task.status.in_(ACTIVE_VALUES))
    return list(s.scalars(stmt.order_by(Task.due_at.is_(None), Task.due_at, Task.id.desc()).limit(limit)))


def department_queue(s: Session, who: Principal, *, limit: int = 200) -> list[Task]:
    """Unclaimed tasks of the caller's own department (they may claim them)."""
    if not who.can(Perm.TASK_WORK) or who.org_id is None:
        return []
    path = _org_path(s, who.org_id)
    stmt = (
        select(Task)
        .join(Org, Org.id == Task.org_id)
        .where(Task.owner_id.is_(None), Task.status.in_(ACTIVE_VALUES), Org.path == path)
        .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
    )
    return list(s.scalars(stmt.limit(limit)))


def requested_by(s: Session, who: Principal, *, limit: int = 200) -> list[Task]:
    """Tasks the caller asked for that are still open, or done rectification work awaiting sign-off."""
    uid = who.user_id if who.user_id is not None else -1
    awaiting = and_(
        Task.status == TaskStatus.DONE.value,
        Task.kind == TaskKind.RECTIFICATION.value,
        Task.signed_off_at.is_(None),
    )
    return list(
        s.scalars(
            select(Task)
            .where(Task.requester_id == uid, or_(Task.status.in_(ACTIVE_VALUES), awaiting))
            .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
            .limit(limit)
        )
    )


def board_orgs(s: Session, who: Principal) -> list[Org]:
    """Orgs whose board the caller may open: their own org and every org in their subtree."""
    rows = list(s.scalars(select(Org).where(Org.path.startswith(who.scope_path)).order_by(Org.path)))
    own = s.get(Org, who.org_id) if who.org_id is not None else None
    if own is not None and own.id not in {o.id for o in rows}:
        rows.insert(0, own)
    return rows


def board(
    s: Session, who: Principal, org: Org, now: datetime, *, done_days: int = 30, limit: int = 400
) -> dict[str, list[Task]]:
    """The tasks owned by `org` and below, by status column; done tasks of the last `done_days` only."""
    if not (who.sees_path(org.path) or org.id == who.org_id) or not who.can(Perm.TASK_VIEW):
        raise NotFound("机构", "org")
    stmt = (
        select(Task)
        .join(Org, Org.id == Task.org_id)
        .where(
            Org.path.startswith(org.path),
            or_(
                Task.status.in_(ACTIVE_VALUES),
                and_(
                    Task.status == TaskStatus.DONE.value, Task.completed_at >= now - timedelta(days=done_days)
                ),
            ),
        )
        .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
        .limit(limit)
    )
    cols: dict[str, list[Task]] = {st.value: [] for st in TaskStatus if st != TaskStatus.CANCELLED}
    for t in s.scalars(stmt):
        cols[t.status].append(t)
    return cols


def overdue(s: Session, who: Principal, now: datetime, *, limit: int = 500) -> list[Task]:
    stmt = visible(select(Task).where(Task.status.in_(ACTIVE_VALUES), Task.due_at < now), who)
    return list(s.scalars(stmt.order_by(Task.due_at, Task.id).limit(limit)))


def due_soon(s: Session, who: Principal, now: datetime, within: timedelta, *, limit: int = 500) -> list[Task]:
    stmt = visible(
        select(Task).where(Task.status.in_(ACTIVE_VALUES), Task.due_at >= now, Task.due_at <= now + within),
        who,
    )
    return list(s.scalars(stmt.order_by(Task.due_at, Task.id).limit(limit)))


def calendar_month(
    s: Session, who: Principal, year: int, month: int, *, mine_only: bool = False, limit: int = 2000
) -> dict[date, list[Task]]:
    """Tasks due in a month (Asia/Shanghai days), not cancelled, by due day."""
    from xiaobao.tasks.domain import shift_month

    start = datetime(year, month, 1, tzinfo=CN_TZ)
    ny, nm = shift_month(year, month, 1)
    end = datetime(ny, nm, 1, tzinfo=CN_TZ)
    stmt = select(Task).where(
        Task.due_at >= start, Task.due_at < end, Task.status != TaskStatus.CANCELLED.value
    )
    if mine_only:
        uid = who.user_id if who.user_id is not None else -1
        stmt = stmt.where(
            or_(
                Task.owner_id == uid,
                Task.requester_id == uid,
                Task.id.in_(select(TaskCohandler.task_id).where(TaskCohandler.user_id == uid)),
            )
        )
    else:
        stmt = visible(stmt, who)
    out: dict[date, list[Task]] = {}
    for t in s.scalars(stmt.order_by(Task.due_at, Task.id).limit(limit)):
        assert t.due_at is not None
        out.setdefault(t.due_at.astimezone(CN_TZ).date(), []).append(t)
    return out


@dataclass(frozen=True)
class OrgOnTime:
    org: Org
    completed: int
    on_time: int
    late: int
    overdue_open: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.completed if self.completed else None


def on_time_by_department(
    s: Session, who: Principal, start: date, end: date, now: datetime
) -> list[OrgOnTime]:
    """Tasks due between `start` and `end` (local days, inclusive) by owning org, in the caller's subtree:
    completed on time, completed late, and still open past their due date."""
    if not who.can(Perm.TASK_VIEW):
        raise Forbidden()
    lo = datetime.combine(start, datetime.min.time(), tzinfo=CN_TZ)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=CN_TZ)
    stmt = (
        select(Task.org_id, Task.status, Task.due_at, Task.completed_at)
        .join(Org, Org.id == Task.org_id)
        .where(
            Org.path.startswith(who.scope_path),
            Task.due_at >= lo,
            Task.due_at < hi,
            Task.status != TaskStatus.CANCELLED.value,
        )
    )
    rows = [(r[0], r[1], r[2], r[3]) for r in s.execute(stmt)]
    figures = on_time_by_org(rows, now)
    orgs = (
        {o.id: o for o in s.scalars(select(Org).where(Org.id.in_([f.org_id for f in figures])))}
        if figures
        else {}
    )
    out = [
        OrgOnTime(orgs[f.org_id], f.completed, f.on_time, f.late, f.overdue_open)
        for f in figures
        if f.org_id in orgs
    ]
    return sorted(out, key=lambda r: r.org.path)


def source_info(s: Session, who: Principal, t: Task) -> tuple[sources.SourceInfo | None, bool]:
    """(the source's label and page, whether `who` may open it)."""
    info = sources.describe(s, t.source_type, t.source_id)
    if info is None:
        return None, False
    return info, sources.can_access(s, who, t.source_type, t.source_id)
