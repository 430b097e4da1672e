"""JSON API: the caller's notifications (inbox), channel preferences, and 督办 notices."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from xiaobao.notifications import services, supervision
from xiaobao.notifications.schemas import (
    NotificationPage,
    NotificationPublic,
    SupervisionCreate,
    SupervisionPublic,
    SupervisionReply,
)
from xiaobao.web.deps import ContainerDep, CurrentUser, UowDep

router = APIRouter(prefix="/api/v1", tags=["notifications"])


def _uid(who: Any) -> int:
    from xiaobao.core.errors import Forbidden

    if who.user_id is None:
        raise Forbidden()
    return int(who.user_id)


@router.get("/notifications", response_model=NotificationPage, summary="My notifications, newest first")
def list_notifications(
    uow: UowDep,
    who: CurrentUser,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: int | None = None,
) -> NotificationPage:
    uid = _uid(who)
    rows = services.inbox(uow.session, uid, unread_only=unread, limit=limit, before_id=before_id)
    return NotificationPage(
        items=[NotificationPublic.of(n) for n in rows],
        unread=services.unread_count(uow.session, uid),
        next_before_id=rows[-1].id if len(rows) == limit else None,
    )


@router.get("/notifications/unread-count")
def unread_count(uow: UowDep, who: CurrentUser) -> dict[str, int]:
    return {"unread": services.unread_count(uow.session, _uid(who))}


@router.post("/notifications/{notification_id}/read", response_model=NotificationPublic)
def mark_read(
    notification_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> NotificationPublic:
    n = services.mark_read(uow.session, _uid(who), notification_id, container.clock.now())
    uow.commit()
    return NotificationPublic.of(n)


@router.post("/notifications/read-all")
def mark_all_read(uow: UowDep, who: CurrentUser, container: ContainerDep) -> dict[str, int]:
    marked = services.mark_all_read(uow.session, _uid(who), container.clock.now())
    uow.commit()
    return {"marked": marked}


@router.get("/notifications/preferences", summary="Outbound channels per kind (the inbox is always on)")
def get_preferences(uow: UowDep, who: CurrentUser) -> dict[str, list[str]]:
    prefs = services.preferences(uow.session, _uid(who))
    return {k.value: sorted(c.value for c in v) for k, v in prefs.items()}


@router.put("/notifications/preferences")
def put_preferences(body: dict[str, list[str]], uow: UowDep, who: CurrentUser) -> dict[str, list[str]]:
    prefs = services.save_preferences(uow.session, _uid(who), body)
    uow.commit()
    return {k.value: sorted(c.value for c in v) for k, v in prefs.items()}


@router.get("/supervision", response_model=list[SupervisionPublic], summary="督办 notices I received or sent")
def list_supervision(
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    box: Annotated[str, Query(pattern="^(received|sent)$")] = "received",
    open_only: bool = False,
) -> list[SupervisionPublic]:
    now = container.clock.now()
    rows = (
        supervision.received(uow.session, who, open_only=open_only)
        if box == "received"
        else supervision.sent(uow.session, who)
    )
    return [SupervisionPublic.of(n, now) for n in rows]


@router.post("/supervision", status_code=201, response_model=SupervisionPublic, summary="Send a 督办 notice")
def send_supervision(
    body: SupervisionCreate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> SupervisionPublic:
    now = container.clock.now()
    n = supervision.send(
        uow,
        who,
        supervision.SupervisionRequest(
            entity_type=body.entity_type,
            entity_id=body.entity_id,
            recipient_id=body.recipient_id,
            text=body.text,
            reply_due=body.reply_due,
        ),
        now,
        default_hours=container.settings.supervision_reply_hours,
    )
    return SupervisionPublic.of(n, now)


@router.get("/supervision/{notice_id}", response_model=SupervisionPublic)
def get_supervision(
    notice_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> SupervisionPublic:
    return SupervisionPublic.of(supervision.get(uow.session, who, notice_id), container.clock.now())


@router.post("/supervision/{notice_id}/reply", response_model=SupervisionPublic)
def reply_supervision(
    notice_id: int, body: SupervisionReply, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> SupervisionPublic:
    now = container.clock.now()
    return SupervisionPublic.of(supervision.reply(uow, who, notice_id, body.text, now), now)


@router.post("/supervision/{notice_id}/cancel", response_model=SupervisionPublic)
def cancel_supervision(
    notice_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> SupervisionPublic:
    now = container.clock.now()
    return SupervisionPublic.of(supervision.cancel(uow, who, notice_id, now), now)
