"""HTML pages: the inbox (unread count badge, mark read, mark all read), channel preferences, and 督办
(send, list, reply, withdraw). Routes are thin: they call `services` / `supervision` and redirect."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import ROLE_LABELS, Perm, Role
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import Conflict, FieldProblem, Forbidden, Unauthenticated, ValidationFailed
from xiaobao.notifications import entities, services, supervision
from xiaobao.notifications.domain import (
    DEFAULT_CHANNELS,
    DELIVERY_LABELS,
    KIND_LABELS,
    KIND_TAGS,
    OUTBOUND,
    DeliveryStatus,
    Kind,
)
from xiaobao.web.deps import ContainerDep, CurrentUser, LangDep, UowDep, get_lang, get_principal
from xiaobao.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = 30


def _uid(who: Principal) -> int:
    if who.user_id is None:
        raise Forbidden()
    return who.user_id


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _plain_title(title: str) -> str:
    """The title without its leading 【…】 tag (the inbox shows the kind as a tag of its own)."""
    if title.startswith("【") and "】" in title[:12]:
        return title.split("】", 1)[1].strip() or title
    return title


def _common(lang: str) -> dict[str, Any]:
    pick = 0 if lang == "zh" else 1
    return {
        "kind_label": lambda k: (KIND_TAGS.get(k) or KIND_LABELS.get(k) or (k, k))[pick],
        "plain_title": _plain_title,
        "delivery_label": lambda s: DELIVERY_LABELS[DeliveryStatus(s)][pick],
        "channel_label": lambda c: {"email": ("邮件", "E-mail"), "sms": ("短信", "SMS")}.get(c, (c, c))[pick],
    }


# ---------------------------------------------------------------- inbox


@router.get("/inbox/badge")
async def inbox_badge(request: Request, uow: UowDep, container: ContainerDep) -> Response:
    """The top-bar inbox link with its unread count, polled by htmx. A signed-out page gets the plain
    link and status 286, which tells htmx to stop polling (never a login page swapped into the bar)."""
    try:
        who = await get_principal(request, uow, container)
    except Unauthenticated:
        return HTMLResponse('<a href="/inbox" class="inbox-link">收件箱</a>', status_code=286)
    count = services.unread_count(uow.session, _uid(who))
    return render(request, "notifications/_badge.html", {"unread": count})


@router.get("/inbox")
def inbox_page(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    show: Annotated[str, Query(pattern="^(unread|all)$")] = "all",
    before_id: int | None = None,
    done: str | None = None,
) -> Any:
    uid = _uid(who)
    rows = services.inbox(uow.session, uid, unread_only=show == "unread", limit=PAGE, before_id=before_id)
    return render(
        request,
        "notifications/inbox.html",
        {
            **_common(lang),
            "rows": rows,
            "show": show,
            "unread": services.unread_count(uow.session, uid),
            "dead": services.failed_deliveries(uow.session, uid),
            "before_id": before_id,
            "next_before": rows[-1].id if len(rows) == PAGE else None,
            "done": done,
            "open_supervision": len(supervision.received(uow.session, who, open_only=True)),
        },
    )


@router.get("/inbox/{notification_id}/open")
def open_notification(notification_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep) -> Any:
    """Follow a notification's link, marking it read (idempotent: opening twice is reading once)."""
    n = services.mark_read(uow.session, _uid(who), notification_id, container.clock.now())
    uow.commit()
    target = n.link if n.link and n.link.startswith("/") and not n.link.startswith("//") else "/inbox"
    return RedirectResponse(target, status_code=303)


@router.post("/inbox/{notification_id}/read")
def read_notification(
    request: Request,
    notification_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
) -> Any:
    n = services.mark_read(uow.session, _uid(who), notification_id, container.clock.now())
    uow.commit()
    if _is_htmx(request):
        resp = render(request, "notifications/_item.html", {**_common(lang), "n": n})
        resp.headers["HX-Trigger"] = "inbox-changed"
        return resp
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/read-all")
def read_all(uow: UowDep, who: CurrentUser, container: ContainerDep) -> Any:
    services.mark_all_read(uow.session, _uid(who), container.clock.now())
    uow.commit()
    return RedirectResponse("/inbox?done=read_all", status_code=303)


# ---------------------------------------------------------------- preferences


def _pref_rows(prefs: dict[Kind, frozenset[Any]], lang: str) -> list[dict[str, Any]]:
    pick = 0 if lang == "zh" else 1
    return [
        {
            "kind": k.value,
            "label": KIND_LABELS[k][pick],
            "chosen": {c.value for c in prefs[k]},
            "default": {c.value for c in DEFAULT_CHANNELS[k]},
        }
        for k in Kind
    ]


@router.get("/inbox/preferences")
def preferences_page(
    request: Request, uow: UowDep, who: CurrentUser, lang: LangDep, saved: bool = False
) -> Any:
    from xiaobao.auth.tables import User

    user = uow.session.get(User, _uid(who))
    prefs = services.preferences(uow.session, _uid(who))
    return render(
        request,
        "notifications/preferences.html",
        {
            **_common(lang),
            "rows": _pref_rows(prefs, lang),
            "channels": [c.value for c in OUTBOUND],
            "has_email": bool(user and user.email),
            "has_phone": bool(user and user.phone),
            "saved": saved,
        },
    )


@router.post("/inbox/preferences")
async def save_preferences(request: Request, uow: UowDep, who: CurrentUser) -> Any:
    form = await request.form()
    choices: dict[str, list[str]] = {k.value: [] for k in Kind}
    for key, value in form.multi_items():
        if key == "pref" and isinstance(value, str) and ":" in value:
            kind, channel = value.split(":", 1)
            choices.setdefault(kind, []).append(channel)
    services.save_preferences(uow.session, _uid(who), choices)
    uow.commit()
    return RedirectResponse("/inbox/preferences?saved=1", status_code=303)


# ---------------------------------------------------------------- 督办


@router.get("/inbox/supervision")
def supervision_list(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    tracking_no: str | None = None,
    start_error: str | None = None,
) -> Any:
    return render(
        request,
        "notifications/supervision_list.html",
        {
            "received": supervision.received(uow.session, who),
            "sent": supervision.sent(uow.session, who),
            "now": container.clock.now(),
            "can_send": who.can(Perm.SUPERVISE),
            "tracking_no": tracking_no,
            "start_error": start_error,
        },
        status_code=404 if start_error else 200,
    )


@router.get("/supervision/start")
def supervision_start(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    tracking_no: str = "",
) -> Any:
    """Find the complaint by its tracking number (through the complaint access check) and open the form."""
    from sqlalchemy import select

    from xiaobao.complaints.services import access_complaint
    from xiaobao.complaints.tables import Complaint
    from xiaobao.core.errors import NotFound

    cid = uow.session.scalar(select(Complaint.id).where(Complaint.tracking_no == tracking_no.strip()))
    try:
        if cid is None:
            raise NotFound("投诉", "complaint")
        access_complaint(uow.session, who, cid)
    except NotFound as e:
        return supervision_list(request, uow, who, container, tracking_no, e.message(lang))
    return RedirectResponse(f"/supervision/new?entity_type=complaint&entity_id={cid}", status_code=303)


@router.get("/inbox/supervision/{notice_id}")
def supervision_detail(
    request: Request, notice_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Any:
    n = supervision.get(uow.session, who, notice_id)
    return render(
        request,
        "notifications/supervision_detail.html",
        {"n": n, "now": container.clock.now(), "error": None, "text": ""},
    )


@router.post("/inbox/supervision/{notice_id}/reply")
def supervision_reply(
    request: Request,
    notice_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    text: Annotated[str, Form()] = "",
) -> Any:
    now = container.clock.now()
    try:
        supervision.reply(uow, who, notice_id, text, now)
    except (ValidationFailed, Conflict) as e:
        uow.rollback()
        n = supervision.get(uow.session, who, notice_id)
        return render(
            request,
            "notifications/supervision_detail.html",
            {"n": n, "now": now, "error": e.message(lang), "text": text},
            status_code=e.status_code,
        )
    return RedirectResponse(f"/inbox/supervision/{notice_id}", status_code=303)


@router.post("/inbox/supervision/{notice_id}/cancel")
def supervision_cancel(notice_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep) -> Any:
    supervision.cancel(uow, who, notice_id, container.clock.now())
    return RedirectResponse(f"/inbox/supervision/{notice_id}", status_code=303)


def _new_form(
    request: Request,
    uow: UowDep,
    who: Principal,
    now: datetime,
    default_hours: int,
    entity_type: str,
    entity_id: int,
    values: dict[str, Any],
    error: str | None = None,
    problems: dict[str, str] | None = None,
    status_code: int = 200,
) -> Any:
    if not who.can(Perm.SUPERVISE):
        raise Forbidden("只有消保专员可以发出督办", "Only consumer-protection officers can send 督办 notices")
    info = entities.resolve(uow.session, who, entity_type, entity_id)
    recipients = supervision.recipients_for(uow.session, who, entity_type, entity_id)
    default_due = now.astimezone(CN_TZ).replace(second=0, microsecond=0) + timedelta(hours=default_hours)
    pick = 0 if get_lang(request) == "zh" else 1
    return render(
        request,
        "notifications/supervision_new.html",
        {
            "info": info,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "recipients": recipients,
            "values": {"reply_due": default_due.strftime("%Y-%m-%dT%H:%M"), **values},
            "existing": supervision.for_entity(uow.session, who, entity_type, entity_id),
            "role_names": lambda u: "、".join(
                ROLE_LABELS[Role(r)][pick] for r in sorted(u.roles) if r in Role.__members__.values()
            ),
            "error": error,
            "problems": problems or {},
        },
        status_code=status_code,
    )


@router.get("/supervision/new")
def supervision_new(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    entity_id: int,
    entity_type: str = "complaint",
) -> Any:
    return _new_form(
        request,
        uow,
        who,
        container.clock.now(),
        container.settings.supervision_reply_hours,
        entity_type,
        entity_id,
        {},
    )


def _parse_local(value: str) -> datetime | None:
    """A datetime-local field (Beijing time); a bare date means the end of that day."""
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(datetime.fromisoformat(value).date(), time(23, 59), tzinfo=CN_TZ)
        return datetime.fromisoformat(value).replace(tzinfo=CN_TZ)
    except ValueError:
        raise ValidationFailed(
            [FieldProblem("reply_due", "回复期限格式不正确", "invalid reply deadline")]
        ) from None


@router.post("/supervision/new")
def supervision_create(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    entity_type: Annotated[str, Form()],
    entity_id: Annotated[int, Form()],
    recipient_id: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    reply_due: Annotated[str, Form()] = "",
) -> Any:
    now = container.clock.now()
    values = {"recipient_id": recipient_id, "text": text, "reply_due": reply_due}
    try:
        if not recipient_id.isdigit():
            raise ValidationFailed([FieldProblem("recipient_id", "请选择接收人", "choose a recipient")])
        notice = supervision.send(
            uow,
            who,
            supervision.SupervisionRequest(
                entity_type=entity_type,
                entity_id=entity_id,
                recipient_id=int(recipient_id),
                text=text,
                reply_due=_parse_local(reply_due),
            ),
            now,
            default_hours=container.settings.supervision_reply_hours,
        )
    except ValidationFailed as e:
        uow.rollback()
        problems = {p.field: (p.zh if lang == "zh" else p.en) for p in e.problems}
        return _new_form(
            request,
            uow,
            who,
            now,
            container.settings.supervision_reply_hours,
            entity_type,
            entity_id,
            values,
            e.message(lang),
            problems,
            status_code=422,
        )
    return RedirectResponse(f"/inbox/supervision/{notice.id}?" + urlencode({"sent": 1}), status_code=303)


# ---------------------------------------------------------------- the complaint page's 督办 panel


def register_complaint_panel() -> None:
    """Called by `create_app`: the complaint page shows its 督办 notices (a web-only hook, like the
    co-handling panel of the tasks module)."""
    from xiaobao.complaints.pages import register_detail_panel

    register_detail_panel("notifications.supervision", complaint_panel)


def complaint_panel(session: Any, who: Principal, c: Any, state: Any, container: Any, lang: str) -> Any:
    """The 督办 section of the complaint page: every notice about the complaint (status, recipient,
    deadline, reply) and, for officers (Perm.SUPERVISE), the button to send one. The complaint page has
    already checked access to the complaint."""
    from xiaobao.complaints.pages import DetailPanel

    notices = supervision.for_entity(session, who, "complaint", c.id)
    can_send = who.can(Perm.SUPERVISE)
    if not notices and not can_send:
        return None
    return DetailPanel(
        "notifications/_complaint_panel.html",
        {
            "notices": notices,
            "can_send": can_send,
            "new_link": "/supervision/new?" + urlencode({"entity_type": "complaint", "entity_id": c.id}),
            "now": container.clock.now(),
        },
    )
