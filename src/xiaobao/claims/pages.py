"""HTML pages for claims staff: case list with filters, contact queue, agent report form, case page (timeline
replay, contact form, rescue panel, attachments, status actions), catastrophe events, staff and factories.

Routes are thin: parse the form, call a service, redirect (303) or re-render with the bilingual problem."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import User, UserRole
from xiaobao.claims import attachments, deadlines, events, geo, queries, services, staff
from xiaobao.claims.domain import (
    ACTION_LABELS,
    CANCEL_REASONS,
    CAUSES,
    CHANNELS,
    CONTACT_CHANNELS,
    CONTACT_OUTCOMES,
    LINES,
    PERILS,
    RESCUE_KINDS,
    RESCUE_NEXT,
    RESCUE_STATUS_META,
    SPECIAL_GROUPS,
    STATUS_META,
    SURVEY_METHODS,
    Action,
    RescueStatus,
    Status,
    allowed_actions,
    label,
)
from xiaobao.claims.schemas import (
    ActionRequest,
    BulkTag,
    ContactCreate,
    EventCreate,
    ReportCreate,
    RescueCreate,
    RescueUpdate,
)
from xiaobao.claims.tables import ClaimAttachment, ClaimCase
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import FieldProblem, Forbidden, ValidationFailed, XiaobaoError
from xiaobao.web.deps import ContainerDep, CurrentUser, LangDep, UowDep
from xiaobao.web.forms import form_problems
from xiaobao.web.templating import render

router = APIRouter(tags=["claims pages"], include_in_schema=False)


def helpers(lang: str) -> dict[str, Any]:
    """Template helpers for claims pages. Fixed UI text goes through `_()` and the English catalog
    (web/i18n_en.yaml); these render the bilingual data tables (statuses, causes, lines ...)."""
    return {
        "sl": lambda s: STATUS_META[Status(s)][0 if lang == "zh" else 1],
        "sc": lambda s: STATUS_META[Status(s)][2],
        "lbl": lambda table, code: label(table, code, lang),
        "district": geo.district_name,
        "LINES": LINES,
        "CAUSES": CAUSES,
        "CHANNELS": CHANNELS,
        "SPECIAL_GROUPS": SPECIAL_GROUPS,
        "SURVEY_METHODS": SURVEY_METHODS,
        "CANCEL_REASONS": CANCEL_REASONS,
        "CONTACT_OUTCOMES": CONTACT_OUTCOMES,
        "CONTACT_CHANNELS": CONTACT_CHANNELS,
        "RESCUE_KINDS": RESCUE_KINDS,
        "RESCUE_STATUS": {k.value: v for k, v in RESCUE_STATUS_META.items()},
        "RESCUE_NEXT": {k.value: [x.value for x in v] for k, v in RESCUE_NEXT.items()},
        "PERILS": PERILS,
        "CLAIM_STATUSES": [(s.value, STATUS_META[s]) for s in Status],
        "DL_META": {k.value: v for k, v in deadlines.STATE_META.items()},
        "step_label": lambda kind: label(STEP_LABELS, kind, lang),
    }


STEP_LABELS: dict[str, tuple[str, str]] = {
    "reported": ("报案", "Reported"),
    "contact_attempt": ("联系尝试", "Contact attempt"),
    "sms_sent": ("联系未果短信", "Missed-call SMS"),
    "event_tagged": ("归集大灾事件", "Tagged with event"),
    "event_untagged": ("移出大灾事件", "Untagged from event"),
    "attachment": ("上传附件", "File uploaded"),
    "rescue_requested": ("派救援", "Rescue requested"),
    **{f"rescue_{k.value}": (f"救援{v[0]}", f"Rescue {v[1].lower()}") for k, v in RESCUE_STATUS_META.items()},
    **{a.value: v for a, v in ACTION_LABELS.items()},
}


def _need(who: Principal, perm: Perm) -> None:
    if not who.can(perm):
        raise Forbidden()


def _local_dt(value: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=CN_TZ)
    except ValueError:
        raise ValidationFailed([FieldProblem(field, "时间格式不正确", "invalid date/time")]) from None


def _msg(e: XiaobaoError, lang: str) -> str:
    return e.message(lang)


# ---------------------------------------------------------------- list and queue


@router.get("/claims")
def list_page(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    status: str = "",
    event_id: str = "",
    region: str = "",
    queue: str = "",
    q: str = "",
    page: int = 1,
) -> Response:
    _need(who, Perm.CLAIM_VIEW)
    f = queries.CaseFilter(
        status=[status] if status else None,
        event_id=int(event_id) if event_id.isdigit() else None,
        region=region or None,
        queue=queue or None,
        q=q or None,
        page=max(1, page),
        per_page=50,
    )
    error = None
    try:
        total, rows = queries.list_cases(uow.session, who, f)
    except ValidationFailed as e:
        total, rows, error = 0, [], _msg(e, lang)
    evs = events.list_events(uow.session, who)
    ctx = {
        "rows": rows,
        "total": total,
        "f": f,
        "events": evs,
        "error": error,
        "params": {"status": status, "event_id": event_id, "region": region, "queue": queue, "q": q},
        **helpers(lang),
    }
    return render(request, "claims/list.html", ctx)


@router.get("/claims/queue")
def queue_page(
    request: Request, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    _need(who, Perm.CLAIM_VIEW)
    now = container.clock.now()
    items = queries.contact_queue(uow.session, who, now)
    counts = queries.queue_counts(uow.session, who, now)
    q = request.query_params
    dispatched = (q.get("dispatched"), q.get("skipped"), q.get("waiting")) if q.get("dispatched") else None
    ctx = {"items": items, "counts": counts, "now": now, "dispatched": dispatched, **helpers(lang)}
    return render(request, "claims/queue.html", ctx)


@router.post("/claims/queue/dispatch")
def queue_dispatch(request: Request, who: CurrentUser, container: ContainerDep, lang: LangDep) -> Response:
    from xiaobao.claims import dispatching

    res = dispatching.run(container, who, container.clock.now())
    return RedirectResponse(
        f"/claims/queue?dispatched={len(res.assigned)}&skipped={len(res.skipped)}&waiting={res.items}",
        status_code=303,
    )


# ---------------------------------------------------------------- agent report form


def _report_from_form(
    form: Any, channel_default: str = "agent"
) -> tuple[ReportCreate | None, dict[str, Any], list[FieldProblem]]:
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    data: dict[str, Any] = {
        k: (v.strip() or None) for k, v in raw.items() if k not in ("csrf_token", "elder", "consent")
    }
    problems: list[FieldProblem] = []
    if data.get("loss_at"):
        try:
            data["loss_at"] = _local_dt(data["loss_at"], "loss_at")
        except ValidationFailed as e:
            problems += e.problems
            data.pop("loss_at")
    data["people_at_risk"] = data.get("people_at_risk") or 0
    data["rescue_needed"] = raw.get("rescue_needed") in ("1", "on", "true")
    data.setdefault("channel", channel_default)
    if data.get("channel") is None:
        data["channel"] = channel_default
    for k in ("lat", "lon"):
        if data.get(k) is None:
            data.pop(k, None)
    data["description"] = data.get("description") or ""
    try:
        return ReportCreate(**data), raw, problems
    except ValidationError as e:
        return None, raw, problems + form_problems(e, raw).problems


@router.get("/claims/new")
def new_form(request: Request, who: CurrentUser, container: ContainerDep, lang: LangDep) -> Response:
    _need(who, Perm.CLAIM_CREATE)
    now = container.clock.now().astimezone(CN_TZ).strftime("%Y-%m-%dT%H:%M")
    return render(
        request,
        "claims/new.html",
        {"raw": {"loss_at": now, "line": "motor"}, "problems": {}, **helpers(lang)},
    )


@router.post("/claims/new")
async def new_submit(
    request: Request, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    _need(who, Perm.CLAIM_CREATE)
    form = await request.form()
    data, raw, problems = _report_from_form(form)
    if data is not None and not problems:
        try:
            c = services.create_report(uow.session, who, data, container.clock.now())
            uow.commit()
            return RedirectResponse(f"/claims/{c.id}?done=reported", status_code=303)
        except ValidationFailed as e:
            problems = e.problems
    by_field: dict[str, list[str]] = {}
    for p in problems:
        by_field.setdefault(p.field, []).append(p.zh if lang == "zh" else p.en)
    return render(
        request, "claims/new.html", {"raw": raw, "problems": by_field, **helpers(lang)}, status_code=422
    )


# ---------------------------------------------------------------- case page


def _staff_choices(s: Any) -> list[User]:
    ids = select(UserRole.user_id).where(UserRole.role.in_(("claims_operator", "surveyor")))
    return list(
        s.scalars(select(User).where(User.id.in_(ids), User.active.is_(True)).order_by(User.username))
    )


def _detail(
    request: Request,
    uow: Any,
    who: Principal,
    container: Any,
    lang: str,
    case_id: int,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    s = uow.session
    now = container.clock.now()
    c = services.access_claim(s, who, case_id)
    steps = services.replay_case(s, who, case_id)
    soon = (c.contact_due - c.reported_at) / 5
    dls = [
        ("联系报案人", "Contact the reporter", c.contact_due, c.contacted_at),
        ("查勘", "Survey", c.survey_due, c.surveyed_at),
        (
            "核定（保险法第23条，30日）",
            "Decision (Art.23, 30 days)",
            c.decision_due,
            c.settled_at or c.denied_at,
        ),
        ("先予支付（第25条，60日）", "Pre-payment (Art.25, 60 days)", c.prepay_due, c.settled_at),
        ("支付赔款（第23条，10日）", "Payment (Art.23, 10 days)", c.payment_due, c.paid_at),
        (
            "拒赔通知（第24条，3日）",
            "Denial notice (Art.24, 3 days)",
            c.denial_notice_due,
            c.denial_notified_at,
        ),
    ]
    deadline_rows = [
        (zh, en, due, done, deadlines.assess(due, done, now, soon if i == 0 else deadlines_soon(i)))
        for i, (zh, en, due, done) in enumerate(dls)
        if due is not None
    ]
    ctx = {
        "c": c,
        "steps": steps,
        "actions": allowed_actions(services.snapshot(c), who),
        "ACTION_LABELS": {a.value: v for a, v in ACTION_LABELS.items()},
        "attempts": services.contact_attempts(s, who, case_id),
        "rescues": services.rescues(s, who, case_id),
        "files": attachments.list_attachments(s, who, case_id),
        "staff_choices": _staff_choices(s) if who.can(Perm.CLAIM_DISPATCH) else [],
        "deadline_rows": deadline_rows,
        "can_handle": who.can(Perm.CLAIM_HANDLE) or who.can(Perm.CLAIM_DISPATCH),
        "done": request.query_params.get("done"),
        "error": error,
        "now": now,
        **helpers(lang),
    }
    return render(request, "claims/detail.html", ctx, status_code=status_code)


def deadlines_soon(i: int) -> Any:
    from datetime import timedelta

    return timedelta(minutes=6) if i == 0 else timedelta(hours=6) if i == 1 else timedelta(days=3)


@router.get("/claims/{case_id:int}")
def detail(
    request: Request, case_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    return _detail(request, uow, who, container, lang, case_id)


def _after(
    request: Request, uow: Any, who: Principal, container: Any, lang: str, case_id: int, fn: Any, done: str
) -> Response:
    try:
        fn()
    except (ValidationFailed, XiaobaoError) as e:
        if isinstance(e, XiaobaoError) and e.status_code == 404:
            raise
        uow.rollback()
        return _detail(
            request, uow, who, container, lang, case_id, error=_msg(e, lang), status_code=e.status_code
        )
    return RedirectResponse(f"/claims/{case_id}?done={done}", status_code=303)


def _decimal(v: str | None) -> Decimal | None:
    if not v or not v.strip():
        return None
    try:
        return Decimal(v.strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationFailed([FieldProblem("amount", "金额须为数字", "amount must be a number")]) from None


@router.post("/claims/{case_id:int}/actions/{action}")
async def action_submit(
    request: Request,
    case_id: int,
    action: Action,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
) -> Response:
    form = await request.form()
    f = {k: v for k, v in form.items() if isinstance(v, str)}

    def go() -> None:
        req = ActionRequest(
            version=int(f.get("version") or 0),
            user_id=int(f["user_id"]) if f.get("user_id", "").isdigit() else None,
            reason=f.get("reason") or None,
            method=f.get("method") or None,
            amount=_decimal(f.get("amount")),
            reason_code=f.get("reason_code") or None,
        )
        services.act(uow, who, case_id, action, req, container.clock.now())

    return _after(request, uow, who, container, lang, case_id, go, action.value)


@router.post("/claims/{case_id:int}/contacts")
async def contact_submit(
    request: Request, case_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    form = await request.form()
    f = {k: v for k, v in form.items() if isinstance(v, str)}

    def go() -> None:
        data = ContactCreate(
            channel=f.get("channel") or "phone", outcome=f.get("outcome") or "", note=f.get("note") or None
        )
        services.record_contact(uow, who, case_id, data, container.clock.now())

    return _after(request, uow, who, container, lang, case_id, go, "contact")


@router.post("/claims/{case_id:int}/rescues")
async def rescue_submit(
    request: Request, case_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    form = await request.form()
    f = {k: v for k, v in form.items() if isinstance(v, str)}

    def go() -> None:
        eta = _local_dt(f["eta"], "eta") if f.get("eta") else None
        try:
            data = RescueCreate(
                kind=f.get("kind") or "", vendor=f.get("vendor") or "", eta=eta, note=f.get("note") or None
            )
        except ValidationError as e:
            raise form_problems(e, f) from None
        services.request_rescue(uow, who, case_id, data, container.clock.now())

    return _after(request, uow, who, container, lang, case_id, go, "rescue")


@router.post("/claims/{case_id:int}/rescues/{rescue_id:int}")
async def rescue_update_submit(
    request: Request,
    case_id: int,
    rescue_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
) -> Response:
    form = await request.form()
    f = {k: v for k, v in form.items() if isinstance(v, str)}

    def go() -> None:
        services.update_rescue(
            uow,
            who,
            case_id,
            rescue_id,
            RescueUpdate(status=f.get("status") or "", note=f.get("note") or None),
            container.clock.now(),
        )

    return _after(request, uow, who, container, lang, case_id, go, "rescue")


@router.post("/claims/{case_id:int}/attachments")
async def attachment_submit(
    request: Request, case_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    form = await request.form()
    up = form.get("file")
    data = await up.read() if isinstance(up, UploadFile) else b""
    name = up.filename if isinstance(up, UploadFile) else None
    await form.close()

    def go() -> None:
        attachments.add_attachment(uow, who, case_id, name, data, container.clock.now(), container.settings)

    return _after(request, uow, who, container, lang, case_id, go, "attachment")


# ---------------------------------------------------------------- events


@router.get("/claims/events")
def events_page(
    request: Request, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    _need(who, Perm.CLAIM_VIEW)
    return _events(request, uow, who, container, lang)


def _events(
    request: Request,
    uow: Any,
    who: Principal,
    container: Any,
    lang: str,
    *,
    raw: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    now = container.clock.now()
    evs = events.list_events(uow.session, who)
    totals = {e.id: events.event_stats(uow.session, who, e.id, now)["total"] for e in evs}
    default = {
        "starts_at": now.astimezone(CN_TZ).strftime("%Y-%m-%dT%H:%M"),
        "contact_minutes": "30",
        "survey_hours": "48",
    }
    return render(
        request,
        "claims/events.html",
        {"events": evs, "totals": totals, "raw": raw or default, "error": error, **helpers(lang)},
        status_code=status_code,
    )


@router.post("/claims/events")
async def events_declare(
    request: Request, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    _need(who, Perm.CAT_COMMAND)
    form = await request.form()
    f = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        data = EventCreate(
            code=f.get("code", ""),
            name=f.get("name", ""),
            peril=f.get("peril", ""),
            regions=[r for r in f.get("regions", "").replace("，", ",").replace(" ", ",").split(",") if r],
            starts_at=_local_dt(f.get("starts_at", ""), "starts_at"),
            ends_at=_local_dt(f["ends_at"], "ends_at") if f.get("ends_at") else None,
            contact_minutes=int(f.get("contact_minutes") or 30),
            survey_hours=int(f.get("survey_hours") or 48),
            note=f.get("note") or None,
        )
        e, _ = events.declare(uow, who, data, container.clock.now())
    except ValidationError as ex:
        err = form_problems(ex, f)
        return _events(request, uow, who, container, lang, raw=f, error=_msg(err, lang), status_code=422)
    except (ValidationFailed, ValueError) as ex:
        msg = _msg(ex, lang) if isinstance(ex, XiaobaoError) else str(ex)
        uow.rollback()
        return _events(request, uow, who, container, lang, raw=f, error=msg, status_code=422)
    return RedirectResponse(f"/claims/events/{e.id}?done=declared", status_code=303)


@router.get("/claims/events/{event_id:int}")
def event_page(
    request: Request,
    event_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    error: str | None = None,
) -> Response:
    from xiaobao.claims import reports

    e = events.get_event(uow.session, who, event_id)
    now = container.clock.now()
    stats = events.event_stats(uow.session, who, event_id, now)
    return render(
        request,
        "claims/event.html",
        {
            "e": e,
            "stats": stats,
            "now": now,
            "daily": reports.daily_rows(uow.session, who, event_id, now),
            "factories": events.event_factories(uow.session, event_id),
            "all_factories": staff.factories(uow.session, who),
            "done": request.query_params.get("done"),
            "error": error,
            **helpers(lang),
        },
    )


@router.get("/claims/events/{event_id:int}/daily.xlsx")
def event_daily_xlsx(
    event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    from xiaobao.claims import reports

    e = events.get_event(uow.session, who, event_id)
    rows = reports.daily_rows(uow.session, who, event_id, container.clock.now())
    data = reports.workbook(e.name, rows, lang)
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{e.code}-daily.xlsx"'},
    )


async def _event_post(
    request: Request, event_id: int, uow: Any, who: Principal, container: Any, lang: str, fn: Any, done: str
) -> Response:
    try:
        fn()
    except XiaobaoError as e:
        if e.status_code == 404:
            raise
        uow.rollback()
        return event_page(request, event_id, uow, who, container, lang, error=_msg(e, lang))
    return RedirectResponse(f"/claims/events/{event_id}?done={done}", status_code=303)


@router.post("/claims/events/{event_id:int}/tag")
async def event_tag(
    request: Request, event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    form = await request.form()
    raw_ids = str(form.get("case_ids") or "")
    matching = form.get("matching") in ("1", "on")

    def go() -> None:
        ids = []
        for part in raw_ids.replace("，", ",").replace("\n", ",").split(","):
            part = part.strip()
            if not part:
                continue
            row = uow.session.scalar(select(ClaimCase.id).where(ClaimCase.report_no == part.upper()))
            if row is None and part.isdigit():
                row = int(part)
            if row is None:
                raise ValidationFailed(
                    [FieldProblem("case_ids", f"报案号「{part}」不存在", f"unknown report number {part!r}")]
                )
            ids.append(row)
        events.bulk_tag(uow, who, event_id, BulkTag(case_ids=ids, matching=matching), container.clock.now())

    return await _event_post(request, event_id, uow, who, container, lang, go, "tagged")


@router.post("/claims/events/{event_id:int}/close")
async def event_close(
    request: Request, event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    return await _event_post(
        request,
        event_id,
        uow,
        who,
        container,
        lang,
        lambda: events.close_event(uow, who, event_id, container.clock.now()),
        "closed",
    )


@router.post("/claims/events/{event_id:int}/factories")
async def event_factory(
    request: Request, event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    form = await request.form()
    code = str(form.get("factory_code") or "")
    return await _event_post(
        request,
        event_id,
        uow,
        who,
        container,
        lang,
        lambda: events.assign_factory(uow, who, event_id, code, container.clock.now()),
        "factory",
    )


# ---------------------------------------------------------------- staff and factories


@router.get("/claims/staff")
def staff_page(
    request: Request, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    _need(who, Perm.CLAIM_VIEW)
    now = container.clock.now()
    return render(
        request,
        "claims/staff.html",
        {
            "factories": staff.factories(uow.session, who),
            "rows": staff.staff_rows(uow.session, who, now),
            **helpers(lang),
        },
    )


__all__ = ["router", "ClaimAttachment", "RescueStatus"]
