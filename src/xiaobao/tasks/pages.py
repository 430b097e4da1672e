"""Staff HTML pages for tasks: 我的任务 (mine, my department's queue, requested by me), the task page with its
lifecycle forms, the department board (kanban by status; buttons or drag and drop through htmx), the overdue
board, the due-date calendar, on-time completion by department (ECharts), the co-handling request from the
complaint page, and the rectification ledger (整改台账) with its .xlsx export.

Routes stay thin: they parse the form, call a service and redirect (303); a refused command re-renders the
page with the problem next to the form that caused it. Access always goes through `services.access_task`
(lists through `services.visible` / the org subtree)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import Org
from xiaobao.complaints.pages import DetailPanel, register_detail_panel
from xiaobao.complaints.pages import FormState as ComplaintFormState
from xiaobao.complaints.tables import Complaint
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import FieldProblem, Forbidden, NotFound, ValidationFailed, XiaobaoError
from xiaobao.core.files import ALLOWED_EXTENSIONS
from xiaobao.tasks import ledger, services
from xiaobao.tasks.api import period, xlsx_response
from xiaobao.tasks.domain import (
    ACTION_LABELS,
    ACTIVE_STATUSES,
    BOARD_COLUMNS,
    BOARD_MOVES,
    KIND_META,
    PRIORITY_META,
    STATUS_META,
    Priority,
    Rel,
    TaskAction,
    TaskKind,
    TaskStatus,
    action_label,
    allowed_actions,
    deadline,
    effective,
    is_overdue,
    may_change_cohandlers,
    month_grid,
    shift_month,
)
from xiaobao.tasks.schemas import CohandlingCreate, LedgerCreate, TaskActionRequest, TaskCreate
from xiaobao.tasks.tables import Task
from xiaobao.web.deps import ContainerDep, CurrentUser, LangDep, UowDep
from xiaobao.web.forms import (
    Label,
    blank,
    is_htmx,
    now_of,
    problems_by_field,
    tr,
    validate_form,
)
from xiaobao.web.templating import render, templates

router = APIRouter(include_in_schema=False)

templates.env.globals.update(
    TASK_STATUS_META=STATUS_META, TASK_PRIORITY_META=PRIORITY_META, TASK_KIND_META=KIND_META
)

EVENT_LABELS: dict[str, Label] = {
    "created": ("创建任务", "Task created"),
    "started": ("开始办理", "Started"),
    "completed": ("办结", "Completed"),
    "returned": ("退回重办", "Returned for rework"),
    "cancelled": ("取消任务", "Cancelled"),
    "reopened": ("重新打开", "Reopened"),
    "assigned": ("指派承办人", "Assigned"),
    "signed_off": ("验收签字", "Signed off"),
    "checklist_added": ("添加清单事项", "Checklist item added"),
    "checklist_done": ("完成清单事项", "Checklist item done"),
    "checklist_undone": ("取消完成清单事项", "Checklist item reopened"),
    "attachment": ("上传附件", "Attachment added"),
    "child_added": ("拆分子任务", "Sub-task added"),
    "children_done": ("全部分支任务已完成", "All branch tasks done"),
    "children_reopened": ("分支任务退回，重新打开", "Reopened: a branch task was returned"),
    "cohandlers_changed": ("调整协办人", "Co-handlers changed"),
}
DONE_MESSAGES: dict[str, Label] = {
    "created": ("任务已创建", "Task created"),
    "checklist": ("已更新检查清单", "Checklist updated"),
    "comment": ("已添加评论", "Comment added"),
    "attachment": ("附件已上传", "Attachment uploaded"),
    "child": ("子任务已创建", "Sub-task created"),
    "cohandlers": ("已调整协办人", "Co-handlers changed"),
}
REASON_PROMPTS: dict[TaskAction, Label] = {
    TaskAction.RETURN: (
        "退回原因（需补充或更正的内容）",
        "Why the work is returned (what to add or correct)",
    ),
    TaskAction.CANCEL: ("取消原因", "Why the task is cancelled"),
}
ACTION_STYLE: dict[TaskAction, str] = {
    TaskAction.COMPLETE: "primary",
    TaskAction.START: "primary",
    TaskAction.SIGN_OFF: "primary",
    TaskAction.RETURN: "danger",
    TaskAction.CANCEL: "danger",
}
FORM_ACTIONS = frozenset({TaskAction.COMPLETE, TaskAction.RETURN, TaskAction.CANCEL, TaskAction.ASSIGN})
"""Actions that need more than a click (text, a person, evidence)."""


def _need_view(who: Principal) -> None:
    if not who.can(Perm.TASK_VIEW):
        raise Forbidden("您的角色不能查看任务", "Your role may not see tasks")


@dataclass
class FormState:
    key: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None


def _base(container: Any, lang: str, now: datetime, **more: Any) -> dict[str, Any]:
    due_soon = container.settings.due_soon
    ctx = {
        "tr": lambda label: tr(label, lang),
        "now": now,
        "dl": lambda t: deadline(t.due_at, t.status, t.completed_at, now, due_soon),
        "kind_label": lambda k: tr(KIND_META[TaskKind(k)], lang),
        "action_label": lambda a, k: action_label(TaskAction(a), k, lang),
        "DEADLINE_BADGES": DEADLINE_BADGES,
    }
    ctx.update(more)
    return ctx


DEADLINE_BADGES: dict[str, Label] = {
    "on_track": ("正常", "On track"),
    "due_soon": ("临期", "Due soon"),
    "overdue": ("超期", "Overdue"),
    "paused": ("暂停", "Paused"),
    "met": ("按期完成", "Done on time"),
    "missed": ("超期完成", "Done late"),
}


# ---------------------------------------------------------------- my tasks


@router.get("/tasks")
def my_tasks(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    done: str | None = None,
) -> Any:
    _need_view(who)
    s = uow.session
    now = now_of(container)
    mine = services.my_tasks(s, who)
    queue = services.department_queue(s, who)
    requested = services.requested_by(s, who)
    finished = [
        t
        for t in services.my_tasks(s, who, include_finished=True, limit=50)
        if t.status not in ACTIVE_STATUSES
    ][:20]
    prog = services.progress_map(s, mine + queue + requested + finished)
    return render(
        request,
        "tasks/mine.html",
        _base(
            container,
            lang,
            now,
            mine=mine,
            queue=queue,
            requested=requested,
            finished=finished,
            prog=prog,
            mine_overdue=sum(1 for t in mine if is_overdue(t.due_at, t.status, now)),
            tab="mine",
            done_message=DONE_MESSAGES.get(done or ""),
        ),
    )


# ---------------------------------------------------------------- new task


class NewTaskForm(BaseModel):
    title: str = ""
    description: str = ""
    org_id: str = ""
    owner_id: str = ""
    due_on: str = ""
    priority: str = "normal"
    parent_id: str = ""
    checklist: str = ""
    cohandler_ids: list[str] = []


def _new_ctx(
    s: Session,
    who: Principal,
    container: Any,
    lang: str,
    form: NewTaskForm,
    problems: dict[str, list[str]],
    error: str | None,
) -> dict[str, Any]:
    orgs = services.assignable_orgs(s, who)
    people = _people(s, who, form.org_id)
    return _base(
        container,
        lang,
        now_of(container),
        form=form,
        problems=problems,
        error=error,
        orgs=orgs,
        priorities=list(Priority),
        tab="new",
        people=people,
        owner=form.owner_id,
        cohandlers=form.cohandler_ids,
    )


@router.get("/tasks/new")
def new_form(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    parent: int | None = None,
) -> Any:
    if not who.can(Perm.TASK_CREATE):
        raise Forbidden("您的角色不能创建任务", "Your role may not create tasks")
    s = uow.session
    form = NewTaskForm(org_id=str(who.org_id or ""))
    if parent is not None:
        p = services.access_task(s, who, parent)
        form = NewTaskForm(
            parent_id=str(p.id),
            org_id=str(p.org_id),
            due_on=p.due_at.astimezone(CN_TZ).date().isoformat() if p.due_at else "",
        )
    return render(request, "tasks/new.html", _new_ctx(s, who, container, lang, form, {}, None))


@router.post("/tasks/new")
def new_submit(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    form: Annotated[NewTaskForm, Form()],
) -> Any:
    s = uow.session
    try:
        data = validate_form(
            TaskCreate,
            {
                "title": form.title.strip(),
                "description": form.description.strip(),
                "org_id": blank(form.org_id),
                "owner_id": blank(form.owner_id),
                "due_on": blank(form.due_on),
                "priority": form.priority,
                "parent_id": blank(form.parent_id),
                "cohandler_ids": [c for c in form.cohandler_ids if c],
                "checklist": [line.strip() for line in form.checklist.splitlines() if line.strip()],
            },
        )
        t = services.create_task(uow, who, data, now_of(container))
    except XiaobaoError as e:
        uow.rollback()
        return render(
            request,
            "tasks/new.html",
            _new_ctx(
                s,
                who,
                container,
                lang,
                form,
                problems_by_field(e, lang),
                None if e.problems else e.message(lang),
            ),
            status_code=e.status_code,
        )
    if t.parent_id:
        return RedirectResponse(f"/tasks/{t.parent_id}?done=child#children", status_code=303)
    return RedirectResponse(f"/tasks/{t.id}?done=created", status_code=303)


def _people(s: Session, who: Principal, org_id: str | int | None) -> list[Any]:
    """Staff of an org the caller may give work to (the owner and co-handler choices)."""
    try:
        oid = int(org_id) if org_id not in (None, "") else None
    except (TypeError, ValueError):
        return []
    org = s.get(Org, oid) if oid is not None else None
    if org is None or org.id not in {o.id for o in services.assignable_orgs(s, who)}:
        return []
    return services.workers_in(s, org)


@router.get("/tasks/org-members")
def org_members(request: Request, uow: UowDep, who: CurrentUser, org_id: str | None = None) -> Any:
    """The owner and co-handler choices for an org (htmx: refreshed when the org changes on the form)."""
    _need_view(who)
    return render(
        request,
        "tasks/_people_fields.html",
        {"people": _people(uow.session, who, org_id), "owner": "", "cohandlers": [], "problems": {}},
    )


# ---------------------------------------------------------------- task page


def _detail(
    request: Request,
    uow: Any,
    who: Principal,
    container: Any,
    lang: str,
    task_id: int,
    state: FormState | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Any:
    s = uow.session
    now = now_of(container)
    t, rels = services.access_task_rels(s, who, task_id)
    snap = services.snapshot(s, t)
    allowed = allowed_actions(snap, rels, who)
    kids = services.children(s, t)
    parent = s.get(Task, t.parent_id) if t.parent_id else None
    info, source_open = services.source_info(s, who, t)
    mine = effective(rels, snap)
    can_work = (
        bool(mine & {Rel.OWNER, Rel.COHANDLER, Rel.MEMBER, Rel.REQUESTER, Rel.MANAGER})
        and t.status in ACTIVE_STATUSES
        and who.can(Perm.TASK_VIEW)
    )
    atts = services.attachments(s, t)
    entry = s.get(ledger.RectificationNotice, t.ledger_id) if t.ledger_id else None
    can_edit_cohandlers = may_change_cohandlers(snap, rels, who)
    ctx = _base(
        container,
        lang,
        now,
        t=t,
        rels=rels,
        snap=snap,
        allowed=allowed,
        kids=kids,
        parent=parent,
        prog=services.progress_map(s, [t, *kids]),
        source=info,
        source_open=source_open,
        can_work=can_work,
        can_split=bool(rels & {Rel.OWNER, Rel.REQUESTER, Rel.MANAGER})
        and t.status in ACTIVE_STATUSES
        and who.can(Perm.TASK_CREATE),
        events=services.events(s, t),
        comments=services.comments(s, t),
        attachments=atts,
        answer_files=[a for a in atts if a.purpose in ("answer", "evidence")],
        people=services.workers_in(s, t.org) if TaskAction.ASSIGN in allowed else [],
        state=state or FormState(),
        done_message=DONE_MESSAGES.get(done or ""),
        done_action=ACTION_LABELS[TaskAction(done)]
        if done and done in TaskAction.__members__.values()
        else None,
        EVENT_LABELS=EVENT_LABELS,
        REASON_PROMPTS=REASON_PROMPTS,
        ACTION_STYLE=ACTION_STYLE,
        max_upload_mb=container.settings.attachment_max_bytes / (1024 * 1024),
        accept_types=",".join("." + e for e in ALLOWED_EXTENSIONS),
        entry=entry,
        can_edit_cohandlers=can_edit_cohandlers,
        cohandler_choices=services.cohandler_choices(s, who, t) if can_edit_cohandlers else [],
    )
    return render(request, "tasks/detail.html", ctx, status_code=status_code)


def _refused(
    request: Request,
    uow: Any,
    who: Principal,
    container: Any,
    lang: str,
    task_id: int,
    exc: XiaobaoError,
    key: str,
    values: dict[str, Any],
) -> Any:
    uow.rollback()
    problems = problems_by_field(exc, lang)
    state = FormState(
        key=key, values=values, problems=problems, message=None if problems else exc.message(lang)
    )
    return _detail(request, uow, who, container, lang, task_id, state, status_code=exc.status_code)


@router.get("/tasks/{task_id:int}")
def detail(
    request: Request,
    task_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    done: str | None = None,
) -> Any:
    return _detail(request, uow, who, container, lang, task_id, done=done)


async def _uploads(request: Request) -> list[tuple[str | None, bytes]]:
    form = await request.form()
    out: list[tuple[str | None, bytes]] = []
    for f in form.getlist("files"):
        if isinstance(f, str) or not hasattr(f, "read"):
            continue
        data = await f.read()
        await f.close()
        if f.filename or data:
            out.append((f.filename, data))
    return out


class ActionForm(BaseModel):
    version: str = ""
    reason: str = ""
    answer: str = ""
    owner_id: str = ""
    note: str = ""


@router.post("/tasks/{task_id:int}/actions/{action}")
async def action_submit(
    request: Request,
    task_id: int,
    action: str,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
) -> Any:
    from starlette.concurrency import run_in_threadpool

    raw = await request.form()
    form = ActionForm(**{k: str(raw.get(k) or "") for k in ActionForm.model_fields})
    uploads = await _uploads(request)
    values = form.model_dump()

    def run() -> Any:
        try:
            act = TaskAction(action)
        except ValueError:
            exc = ValidationFailed([FieldProblem("action", "未知操作", f"unknown action {action!r}")])
            return _refused(request, uow, who, container, lang, task_id, exc, "action", values)
        try:
            req = validate_form(
                TaskActionRequest,
                {
                    "version": blank(form.version),
                    "reason": blank(form.reason),
                    "answer": blank(form.answer),
                    "owner_id": blank(form.owner_id),
                    "note": blank(form.note),
                },
            )
            services.act(
                uow,
                who,
                task_id,
                act,
                req,
                services.ActContext(now=now_of(container), settings=container.settings),
                uploads,
            )
        except XiaobaoError as e:
            return _refused(request, uow, who, container, lang, task_id, e, f"action:{act.value}", values)
        return RedirectResponse(f"/tasks/{task_id}?done={act.value}", status_code=303)

    return await run_in_threadpool(run)


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.strip().isdigit()]


@router.post("/tasks/{task_id:int}/cohandlers")
def cohandlers_change(
    request: Request,
    task_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    add: Annotated[list[str] | None, Form()] = None,
    remove: Annotated[list[str] | None, Form()] = None,
    version: Annotated[str, Form()] = "",
) -> Any:
    """Add co-handlers (a multiple select) or remove one (a button per co-handler) on an existing task."""
    values = {"add": add or [], "remove": remove or []}
    try:
        services.change_cohandlers(
            uow,
            who,
            task_id,
            now_of(container),
            add=_ids(add or []),
            remove=_ids(remove or []),
            version=int(version) if version.strip().isdigit() else None,
        )
    except XiaobaoError as e:
        return _refused(request, uow, who, container, lang, task_id, e, "cohandlers", values)
    return RedirectResponse(f"/tasks/{task_id}?done=cohandlers#cohandlers", status_code=303)


@router.post("/tasks/{task_id:int}/checklist")
def checklist_add(
    request: Request,
    task_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    text: Annotated[str, Form()] = "",
) -> Any:
    try:
        services.add_checklist_item(uow, who, task_id, text, now_of(container))
    except XiaobaoError as e:
        return _refused(request, uow, who, container, lang, task_id, e, "checklist", {"text": text})
    return RedirectResponse(f"/tasks/{task_id}?done=checklist#checklist", status_code=303)


@router.post("/tasks/{task_id:int}/checklist/{item_id:int}")
def checklist_set(
    request: Request,
    task_id: int,
    item_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    done: Annotated[str, Form()] = "",
) -> Any:
    try:
        services.set_checklist_item(
            uow, who, task_id, item_id, done in ("1", "on", "true"), now_of(container)
        )
    except XiaobaoError as e:
        return _refused(request, uow, who, container, lang, task_id, e, "checklist", {})
    return RedirectResponse(f"/tasks/{task_id}?done=checklist#checklist", status_code=303)


@router.post("/tasks/{task_id:int}/comments")
def comment_add(
    request: Request,
    task_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    text: Annotated[str, Form()] = "",
) -> Any:
    try:
        services.add_comment(uow, who, task_id, text, now_of(container))
    except XiaobaoError as e:
        return _refused(request, uow, who, container, lang, task_id, e, "comment", {"text": text})
    return RedirectResponse(f"/tasks/{task_id}?done=comment#comments", status_code=303)


@router.post("/tasks/{task_id:int}/attachments")
def attachment_add(
    request: Request,
    task_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    file: UploadFile | None = None,
    purpose: Annotated[str, Form()] = "attachment",
) -> Any:
    limit = container.settings.attachment_max_bytes
    try:
        data = file.file.read(limit + 1) if file is not None else b""
        services.add_attachment(
            uow,
            who,
            task_id,
            file.filename if file else None,
            data,
            now_of(container),
            container.settings,
            purpose,
        )
    except XiaobaoError as e:
        return _refused(request, uow, who, container, lang, task_id, e, "attachment", {})
    return RedirectResponse(f"/tasks/{task_id}?done=attachment#attachments", status_code=303)


@router.get("/tasks/{task_id:int}/attachments/{attachment_id:int}")
def attachment_download(
    task_id: int, attachment_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> Response:
    att, path = services.open_attachment(
        uow, who, task_id, attachment_id, now_of(container), container.settings
    )
    return FileResponse(
        path,
        media_type=att.content_type,
        filename=att.filename,
        headers={"Cache-Control": "private, no-store"},
    )


# ---------------------------------------------------------------- board


def _board_ctx(
    s: Session, who: Principal, container: Any, lang: str, org: Org, message: str | None = None
) -> dict[str, Any]:
    now = now_of(container)
    cols = services.board(s, who, org, now)
    cards = [t for c in BOARD_COLUMNS for t in cols[c.value]]
    moves: dict[int, list[tuple[TaskStatus, TaskAction, bool]]] = {}
    for t in cards:
        rels = services.relations(s, who, t, with_source=False)
        snap = services.snapshot_light(t)
        ok = set(allowed_actions(snap, rels, who))
        moves[t.id] = [
            (target, a, a in FORM_ACTIONS and not (a == TaskAction.COMPLETE and t.kind == "general"))
            for target, a in BOARD_MOVES.items()
            if a in ok and target.value != t.status
        ]
    return _base(
        container,
        lang,
        now,
        org=org,
        cols=cols,
        columns=BOARD_COLUMNS,
        moves=moves,
        prog=services.progress_map(s, cards),
        orgs=services.board_orgs(s, who),
        message=message,
        tab="board",
    )


def _board_org(s: Session, who: Principal, org_id: int | None) -> Org:
    org = s.get(Org, org_id if org_id is not None else who.org_id) if (org_id or who.org_id) else None
    if org is None:
        raise NotFound("机构", "org")
    return org


@router.get("/tasks/board")
def board(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    org: Annotated[int | None, Query()] = None,
) -> Any:
    _need_view(who)
    s = uow.session
    o = _board_org(s, who, org)
    ctx = _board_ctx(s, who, container, lang, o)
    name = "tasks/_board.html" if is_htmx(request) else "tasks/board.html"
    return render(request, name, ctx)


@router.post("/tasks/{task_id:int}/move")
def move(
    request: Request,
    task_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    to: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    org: Annotated[str, Form()] = "",
) -> Any:
    """Move a card to a board column: the column's action (start, complete, return, reopen). Actions that
    need text or evidence send the user to the task page's form instead."""
    s = uow.session
    try:
        target = TaskStatus(to)
        act = BOARD_MOVES[target]
    except (ValueError, KeyError):
        raise ValidationFailed([FieldProblem("to", "无法移动到该列", f"cannot move to {to!r}")]) from None
    t = services.access_task(s, who, task_id)
    needs_form = act in FORM_ACTIONS and not (act == TaskAction.COMPLETE and t.kind == TaskKind.GENERAL)
    board_url = f"/tasks/board?org={org}" if org else "/tasks/board"
    if needs_form:
        url = f"/tasks/{task_id}?open={act.value}#actions"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)
    message = None
    try:
        services.act(
            uow,
            who,
            task_id,
            act,
            TaskActionRequest(version=int(version) if version.isdigit() else None),
            services.ActContext(now=now_of(container), settings=container.settings),
        )
    except XiaobaoError as e:
        uow.rollback()
        if not is_htmx(request):
            raise
        message = e.message(lang)
    if is_htmx(request):
        o = _board_org(s, who, int(org) if org.isdigit() else None)
        return render(request, "tasks/_board.html", _board_ctx(s, who, container, lang, o, message))
    return RedirectResponse(board_url, status_code=303)


# ---------------------------------------------------------------- overdue, calendar, stats


@router.get("/tasks/overdue")
def overdue(request: Request, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep) -> Any:
    _need_view(who)
    s = uow.session
    now = now_of(container)
    late = services.overdue(s, who, now)
    soon = services.due_soon(s, who, now, container.settings.due_soon)
    groups: dict[int, list[Task]] = {}
    for t in late:
        groups.setdefault(t.org_id, []).append(t)
    ordered = sorted(groups.values(), key=lambda ts: ts[0].org.path)
    return render(
        request,
        "tasks/overdue.html",
        _base(
            container,
            lang,
            now,
            late=late,
            soon=soon,
            groups=ordered,
            tab="overdue",
            prog=services.progress_map(s, soon),
            hours_late=lambda t: (now - t.due_at).total_seconds() / 3600 if t.due_at else 0,
            days=container.settings.due_soon_days,
        ),
    )


@router.get("/tasks/calendar")
def calendar(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    month: str | None = None,
    mine: str | None = None,
) -> Any:
    _need_view(who)
    s = uow.session
    now = now_of(container)
    today = now.astimezone(CN_TZ).date()
    year, mon = today.year, today.month
    if month:
        try:
            y, m = (int(x) for x in month.split("-", 1))
            if not (2000 <= y <= 2100 and 1 <= m <= 12):
                raise ValueError(month)
            year, mon = y, m
        except ValueError:
            raise ValidationFailed([FieldProblem("month", "月份格式应为 YYYY-MM", "use YYYY-MM")]) from None
    mine_only = mine in ("1", "on", "true")
    by_day = services.calendar_month(s, who, year, mon, mine_only=mine_only)
    py, pm = shift_month(year, mon, -1)
    ny, nm = shift_month(year, mon, 1)
    return render(
        request,
        "tasks/calendar.html",
        _base(
            container,
            lang,
            now,
            weeks=month_grid(year, mon),
            by_day=by_day,
            year=year,
            month=mon,
            today=today,
            prev=f"{py:04d}-{pm:02d}",
            next=f"{ny:04d}-{nm:02d}",
            mine_only=mine_only,
            tab="calendar",
            total=sum(len(v) for v in by_day.values()),
        ),
    )


@router.get("/tasks/stats")
def stats(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    start: str | None = None,
    end: str | None = None,
) -> Any:
    _need_view(who)
    s = uow.session
    now = now_of(container)
    try:
        d0 = date.fromisoformat(start) if start else None
        d1 = date.fromisoformat(end) if end else None
    except ValueError:
        raise ValidationFailed([FieldProblem("start", "日期格式应为 YYYY-MM-DD", "use YYYY-MM-DD")]) from None
    d0, d1 = period(now, d0, d1)
    rows = services.on_time_by_department(s, who, d0, d1, now)
    chart = {
        "orgs": [r.org.name(lang) for r in rows],
        "on_time": [r.on_time for r in rows],
        "late": [r.late for r in rows],
        "overdue": [r.overdue_open for r in rows],
        "rate": [None if r.rate is None else round(100 * r.rate, 1) for r in rows],
        "labels": {
            k: tr(v, lang)
            for k, v in {
                "on_time": ("按期完成", "Done on time"),
                "late": ("超期完成", "Done late"),
                "overdue": ("超期未完成", "Overdue, open"),
                "rate": ("按期完成率", "On-time rate"),
                "count": ("任务数", "Tasks"),
                "empty": ("所选期间没有到期的任务", "No tasks due in this period"),
            }.items()
        },
    }
    return render(
        request,
        "tasks/stats.html",
        _base(
            container,
            lang,
            now,
            rows=rows,
            start=d0,
            end=d1,
            chart_json=json.dumps(chart, ensure_ascii=False),
            tab="stats",
        ),
    )


# ---------------------------------------------------------------- co-handling from the complaint page


class CohandlingForm(BaseModel):
    org_id: str = ""
    owner_id: str = ""
    question: str = ""
    due_on: str = ""
    blocking: str = ""
    priority: str = "high"


@router.post("/complaints/{complaint_id:int}/cohandling")
def cohandling_submit(
    request: Request,
    complaint_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    form: Annotated[CohandlingForm, Form()],
) -> Any:
    from xiaobao.complaints.pages import detail_with_problems

    values = form.model_dump()
    try:
        data = validate_form(
            CohandlingCreate,
            {
                "org_id": blank(form.org_id),
                "owner_id": blank(form.owner_id),
                "question": form.question.strip(),
                "due_on": blank(form.due_on),
                "blocking": form.blocking in ("1", "on", "true"),
                "priority": form.priority or "high",
            },
        )
        services.request_cohandling(uow, who, complaint_id, data, now_of(container))
    except XiaobaoError as e:
        return detail_with_problems(request, uow, who, container, lang, complaint_id, e, "cohandling", values)
    return RedirectResponse(f"/complaints/{complaint_id}?done=cohandling#cohandling", status_code=303)


def register_complaint_panel() -> None:
    """Called by `create_app`: the complaint page shows co-handling (a web-only hook, so workers never
    import the page layer)."""
    register_detail_panel("tasks.cohandling", complaint_panel)


def complaint_panel(
    session: Session, who: Principal, c: Complaint, state: ComplaintFormState, container: Any, lang: str
) -> DetailPanel | None:
    """The co-handling section of the complaint page: its requests and answers, and the request form for
    whoever may add to the complaint's handling record."""
    from xiaobao.complaints.services import handling_access

    tasks = services.tasks_for_source(session, "complaint", c.id)
    try:
        handling_access(session, who, c.id)
        can_request = True
    except XiaobaoError:
        can_request = False
    if not tasks and not can_request:
        return None
    departments = services.cohandling_departments(session, who, c.org.path) if can_request else []
    collaborators = [(u, d) for d in departments for u in services.workers_in(session, d, "collaborator")]
    now = container.clock.now()
    soon = timedelta(days=container.settings.due_soon_days)
    default_due = container.calendar.add_workdays(now.astimezone(CN_TZ).date(), 3)
    return DetailPanel(
        "tasks/_complaint_panel.html",
        {
            "tasks": tasks,
            "attachments": {t.id: services.attachments(session, t) for t in tasks},
            "can_request": can_request,
            "departments": departments,
            "collaborators": collaborators,
            "default_due": default_due.isoformat(),
            "state": state,
            "now": now,
            "dl": lambda t: deadline(t.due_at, t.status, t.completed_at, now, soon),
        },
    )


# ---------------------------------------------------------------- rectification ledger


@router.get("/ledger")
def ledger_list(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    done: str | None = None,
) -> Any:
    _need_view(who)
    s = uow.session
    now = now_of(container)
    rows = []
    for e in ledger.entries(s, who):
        tasks = ledger.branch_tasks(s, who, e)
        rows.append((e, ledger.summary(tasks, now), ledger.parent_task(s, e)))
    return render(
        request,
        "tasks/ledger_list.html",
        _base(
            container,
            lang,
            now,
            rows=rows,
            FINDING_KINDS=ledger.FINDING_KINDS,
            tab="ledger",
            can_manage=who.can(Perm.LEDGER_MANAGE),
            created=done == "created",
        ),
    )


class LedgerForm(BaseModel):
    doc_ref: str = ""
    authority: str = ""
    finding_kind: str = "notice"
    issued_on: str = ""
    findings: str = ""
    required_by: str = ""
    branch_ids: list[str] = []
    title: str = ""
    priority: str = "high"


def _ledger_form_ctx(
    s: Session,
    who: Principal,
    container: Any,
    lang: str,
    form: LedgerForm,
    problems: dict[str, list[str]],
    error: str | None,
) -> dict[str, Any]:
    return _base(
        container,
        lang,
        now_of(container),
        form=form,
        problems=problems,
        error=error,
        branches=ledger.branch_choices(s, who),
        FINDING_KINDS=ledger.FINDING_KINDS,
        priorities=list(Priority),
        tab="ledger",
    )


@router.get("/ledger/new")
def ledger_new(
    request: Request, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Any:
    if not who.can(Perm.LEDGER_MANAGE):
        raise Forbidden(
            "只有消保专员可以登记整改台账", "Only consumer-protection officers keep the rectification ledger"
        )
    today = now_of(container).astimezone(CN_TZ).date()
    form = LedgerForm(issued_on=today.isoformat(), required_by=(today + timedelta(days=30)).isoformat())
    return render(
        request, "tasks/ledger_new.html", _ledger_form_ctx(uow.session, who, container, lang, form, {}, None)
    )


@router.post("/ledger/new")
def ledger_submit(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    form: Annotated[LedgerForm, Form()],
) -> Any:
    s = uow.session
    try:
        data = validate_form(
            LedgerCreate,
            {
                "doc_ref": form.doc_ref.strip(),
                "authority": form.authority.strip(),
                "finding_kind": form.finding_kind,
                "issued_on": blank(form.issued_on),
                "findings": form.findings.strip(),
                "required_by": blank(form.required_by),
                "branch_ids": [b for b in form.branch_ids if b],
                "title": blank(form.title),
                "priority": form.priority or "high",
            },
        )
        entry = ledger.create_entry(uow, who, data, now_of(container))
    except XiaobaoError as e:
        uow.rollback()
        return render(
            request,
            "tasks/ledger_new.html",
            _ledger_form_ctx(
                s,
                who,
                container,
                lang,
                form,
                problems_by_field(e, lang),
                None if e.problems else e.message(lang),
            ),
            status_code=e.status_code,
        )
    return RedirectResponse(f"/ledger/{entry.id}?done=created", status_code=303)


@router.get("/ledger/{entry_id:int}")
def ledger_detail(
    request: Request,
    entry_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    done: str | None = None,
) -> Any:
    s = uow.session
    now = now_of(container)
    e = ledger.access_entry(s, who, entry_id)
    tasks = ledger.branch_tasks(s, who, e)
    parent = ledger.parent_task(s, e)
    signers: dict[int, str] = {}
    for t in tasks:
        if t.signed_off_by is not None:
            signers[t.id] = t.signed_off_by.display_name
    return render(
        request,
        "tasks/ledger_detail.html",
        _base(
            container,
            lang,
            now,
            e=e,
            tasks=tasks,
            parent=parent,
            summary=ledger.summary(tasks, now),
            evidence=ledger.evidence(s, tasks),
            signers=signers,
            FINDING_KINDS=ledger.FINDING_KINDS,
            tab="ledger",
            created=done == "created",
            can_sign={t.id: _can_sign(s, who, t) for t in tasks},
        ),
    )


def _can_sign(s: Session, who: Principal, t: Task) -> bool:
    rels = services.relations(s, who, t, with_source=False)
    return TaskAction.SIGN_OFF in allowed_actions(services.snapshot_light(t), rels, who)


@router.get("/ledger/export.xlsx")
def ledger_export(
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    entry: Annotated[int | None, Query()] = None,
) -> Response:
    now = now_of(container)
    return xlsx_response(ledger.export_xlsx(uow, who, entry, lang, now), now)
