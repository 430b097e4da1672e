"""JSON API for tasks, co-handling and the rectification ledger: thin routes that call the services."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import FieldProblem, ValidationFailed
from xiaobao.tasks import ledger, services
from xiaobao.tasks.domain import (
    ACTIVE_STATUSES,
    TaskAction,
    TaskSnapshot,
    allowed_actions,
    deadline,
    status_label,
)
from xiaobao.tasks.schemas import (
    ChecklistCreate,
    CohandlingCreate,
    CommentCreate,
    LedgerCreate,
    TaskActionRequest,
    TaskCreate,
    TaskListItem,
    TaskPage,
    TaskPublic,
)
from xiaobao.tasks.tables import Task
from xiaobao.web.deps import ContainerDep, CurrentUser, LangDep, UowDep

router = APIRouter(prefix="/api/v1", tags=["tasks"])


def to_public(
    s: Session, who: Principal, t: Task, now: datetime, due_soon: timedelta, lang: str = "zh"
) -> dict[str, Any]:
    rels = services.relations(s, who, t)
    snap: TaskSnapshot = services.snapshot(s, t)
    info = services.source_info(s, who, t)[0]
    dv = deadline(t.due_at, t.status, t.completed_at, now, due_soon)
    return TaskPublic(
        id=t.id,
        version=t.version,
        kind=t.kind,
        title=t.title,
        description=t.description,
        status=t.status,
        status_label=status_label(t.status, lang),
        priority=t.priority,
        org_id=t.org_id,
        org_name=t.org.name(lang),
        owner=t.owner.display_name if t.owner else None,
        owner_id=t.owner_id,
        requester=t.requester.display_name if t.requester else None,
        cohandlers=[r.user.display_name for r in t.cohandler_rows],
        parent_id=t.parent_id,
        ledger_id=t.ledger_id,
        source_type=t.source_type,
        source_id=t.source_id,
        source_label=info.label(lang) if info else None,
        blocking=t.blocking,
        due_at=t.due_at,
        deadline_state=dv.state.value if dv else None,
        progress=services.progress_map(s, [t])[t.id],
        answer=t.answer,
        completed_at=t.completed_at,
        signed_off_at=t.signed_off_at,
        signed_off_by=t.signed_off_by.display_name if t.signed_off_by else None,
        checklist=[{"id": i.id, "text": i.text, "done": i.done} for i in t.checklist],
        allowed_actions=[a.value for a in allowed_actions(snap, rels, who)],
    ).model_dump(mode="json")


def _items(s: Session, rows: list[Task], now: datetime, due_soon: timedelta, lang: str) -> list[TaskListItem]:
    prog = services.progress_map(s, rows)
    out = []
    for t in rows:
        dv = deadline(t.due_at, t.status, t.completed_at, now, due_soon)
        out.append(
            TaskListItem(
                id=t.id,
                kind=t.kind,
                title=t.title,
                status=t.status,
                priority=t.priority,
                org_name=t.org.name(lang),
                owner=t.owner.display_name if t.owner else None,
                due_at=t.due_at,
                deadline_state=dv.state.value if dv else None,
                progress=prog[t.id],
            )
        )
    return out


@router.get("/tasks", response_model=TaskPage, summary="My tasks, my department's queue, requested, overdue")
def list_tasks(
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    view: Literal["mine", "queue", "requested", "overdue"] = "mine",
) -> TaskPage:
    s = uow.session
    now = container.clock.now()
    if view == "mine":
        rows = services.my_tasks(s, who)
    elif view == "queue":
        rows = services.department_queue(s, who)
    elif view == "requested":
        rows = services.requested_by(s, who)
    else:
        rows = services.overdue(s, who, now)
    return TaskPage(total=len(rows), items=_items(s, rows, now, container.settings.due_soon, lang))


@router.post("/tasks", status_code=201, summary="Create a task (or a sub-task with parent_id)")
def create_task(
    data: TaskCreate, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> JSONResponse:
    now = container.clock.now()
    t = services.create_task(uow, who, data, now)
    return JSONResponse(
        to_public(uow.session, who, t, now, container.settings.due_soon, lang), status_code=201
    )


@router.get("/tasks/{task_id:int}")
def get_task(
    task_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> dict[str, Any]:
    t = services.access_task(uow.session, who, task_id)
    return to_public(uow.session, who, t, container.clock.now(), container.settings.due_soon, lang)


@router.post(
    "/tasks/{task_id:int}/actions/{action}",
    summary="start, complete, return, cancel, reopen, assign, sign_off",
)
def task_action(
    task_id: int,
    action: TaskAction,
    req: TaskActionRequest,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
) -> dict[str, Any]:
    ctx = services.ActContext(now=container.clock.now(), settings=container.settings)
    t = services.act(uow, who, task_id, action, req, ctx)
    return to_public(uow.session, who, t, ctx.now, container.settings.due_soon, lang)


@router.post("/tasks/{task_id:int}/checklist", status_code=201)
def add_checklist(
    task_id: int, data: ChecklistCreate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    item = services.add_checklist_item(uow, who, task_id, data.text, container.clock.now())
    return {"id": item.id, "text": item.text, "done": item.done}


class ChecklistUpdate(BaseModel):
    done: bool


@router.patch("/tasks/{task_id:int}/checklist/{item_id:int}")
def set_checklist(
    task_id: int, item_id: int, data: ChecklistUpdate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    item = services.set_checklist_item(uow, who, task_id, item_id, data.done, container.clock.now())
    return {"id": item.id, "text": item.text, "done": item.done}


@router.post("/tasks/{task_id:int}/comments", status_code=201)
def add_comment(
    task_id: int, data: CommentCreate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    c = services.add_comment(uow, who, task_id, data.text, container.clock.now())
    return {"id": c.id, "at": c.at.isoformat(), "author": c.author_label, "text": c.text}


@router.post("/tasks/{task_id:int}/attachments", status_code=201)
def upload(
    task_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    file: Annotated[UploadFile, File()],
    purpose: Annotated[str, Form()] = "attachment",
) -> dict[str, Any]:
    data = file.file.read(container.settings.attachment_max_bytes + 1)
    att = services.add_attachment(
        uow, who, task_id, file.filename, data, container.clock.now(), container.settings, purpose
    )
    return {
        "id": att.id,
        "filename": att.filename,
        "size": att.size,
        "content_type": att.content_type,
        "purpose": att.purpose,
    }


@router.get("/tasks/{task_id:int}/attachments/{attachment_id:int}")
def download(
    task_id: int, attachment_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> Response:
    att, path = services.open_attachment(
        uow, who, task_id, attachment_id, container.clock.now(), container.settings
    )
    return FileResponse(
        path,
        media_type=att.content_type,
        filename=att.filename,
        headers={"Cache-Control": "private, no-store"},
    )


@router.post(
    "/cohandling/complaints/{complaint_id:int}",
    status_code=201,
    summary="Ask another department for an answer on a complaint (协办)",
)
def request_cohandling(
    complaint_id: int,
    data: CohandlingCreate,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
) -> JSONResponse:
    now = container.clock.now()
    t = services.request_cohandling(uow, who, complaint_id, data, now)
    return JSONResponse(
        to_public(uow.session, who, t, now, container.settings.due_soon, lang), status_code=201
    )


@router.get("/cohandling/complaints/{complaint_id:int}")
def list_cohandling(
    complaint_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> list[dict[str, Any]]:
    from xiaobao.complaints.services import access_complaint

    c = access_complaint(uow.session, who, complaint_id)
    now = container.clock.now()
    return [
        to_public(uow.session, who, t, now, container.settings.due_soon, lang)
        for t in services.tasks_for_source(uow.session, "complaint", c.id)
    ]


@router.get("/tasks/stats/on-time", summary="On-time completion by owning org for tasks due in a period")
def on_time(
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    now = container.clock.now()
    start, end = period(now, start, end)
    rows = services.on_time_by_department(uow.session, who, start, end, now)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rows": [
            {
                "org_id": r.org.id,
                "org": r.org.name(lang),
                "completed": r.completed,
                "on_time": r.on_time,
                "late": r.late,
                "overdue_open": r.overdue_open,
                "rate": None if r.rate is None else round(r.rate, 4),
            }
            for r in rows
        ],
    }


def period(now: datetime, start: date | None, end: date | None) -> tuple[date, date]:
    """Default: the current quarter (Asia/Shanghai): tasks due in it, done or late so far."""
    today = now.astimezone(CN_TZ).date()
    q_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if start is None:
        start = q_start
    if end is None:
        q_next = date(q_start.year + (q_start.month + 3 > 12), (q_start.month + 2) % 12 + 1, 1)
        end = max(q_next - timedelta(days=1), start)
    if end < start:
        raise ValidationFailed([FieldProblem("end", "结束日期不能早于开始日期", "end is before start")])
    if (end - start).days > 3 * 366:
        raise ValidationFailed(
            [FieldProblem("end", "统计区间不能超过三年", "the period must be within three years")]
        )
    return start, end


# ---------------------------------------------------------------- ledger


def _entry_json(s: Session, who: Principal, e: Any, now: datetime, lang: str) -> dict[str, Any]:
    tasks = ledger.branch_tasks(s, who, e)
    summ = ledger.summary(tasks, now)
    return {
        "id": e.id,
        "doc_ref": e.doc_ref,
        "authority": e.authority,
        "finding_kind": e.finding_kind,
        "issued_on": e.issued_on.isoformat(),
        "required_by": e.required_by.isoformat(),
        "findings": e.findings,
        "org": e.org.name(lang),
        "branches": summ.total,
        "done": summ.done,
        "signed_off": summ.signed_off,
        "overdue": summ.overdue,
        "tasks": [
            {
                "id": t.id,
                "org": t.org.name(lang),
                "status": t.status,
                "due_at": t.due_at.isoformat() if t.due_at else None,
                "completed_at": t.completed_at.isoformat() if t.completed_at else None,
                "signed_off_at": t.signed_off_at.isoformat() if t.signed_off_at else None,
                "active": t.status in ACTIVE_STATUSES,
            }
            for t in tasks
        ],
    }


@router.get("/ledger")
def list_ledger(
    uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> list[dict[str, Any]]:
    now = container.clock.now()
    return [_entry_json(uow.session, who, e, now, lang) for e in ledger.entries(uow.session, who)]


@router.post("/ledger", status_code=201, summary="Enter a regulator notice / inspection finding and split it")
def create_ledger(
    data: LedgerCreate, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> JSONResponse:
    now = container.clock.now()
    e = ledger.create_entry(uow, who, data, now)
    return JSONResponse(_entry_json(uow.session, who, e, now, lang), status_code=201)


@router.get("/ledger/{entry_id:int}")
def get_ledger(
    entry_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> dict[str, Any]:
    e = ledger.access_entry(uow.session, who, entry_id)
    return _entry_json(uow.session, who, e, container.clock.now(), lang)


@router.get("/ledger/export.xlsx")
def export_ledger(
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    entry: Annotated[int | None, Query()] = None,
) -> Response:
    data = ledger.export_xlsx(uow, who, entry, lang, container.clock.now())
    return xlsx_response(data, container.clock.now())


def xlsx_response(data: bytes, now: datetime) -> Response:
    name = f"rectification-ledger-{now.astimezone(CN_TZ):%Y%m%d}.xlsx"
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


__all__ = ["router", "to_public", "period", "xlsx_response", "select"]
