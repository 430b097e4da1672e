"""Notifications as use cases: create them exactly once (with their outbound deliveries, in the caller's
transaction), the inbox (list, unread count, mark read) and per-user channel preferences.

Other modules send notifications through `notify()` (or `notify_message()` for one rendered message):
inside their own unit of work, so the notification exists if and only if their change committed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from xiaobao.core.errors import FieldProblem, NotFound, ValidationFailed
from xiaobao.jobs.sqltools import insert_for
from xiaobao.notifications import messages
from xiaobao.notifications.domain import OUTBOUND, Channel, DeliveryStatus, Kind, channels_for
from xiaobao.notifications.tables import Notification, NotificationDelivery, NotificationPreference

CHUNK = 200


@dataclass(frozen=True)
class NewNotification:
    user_id: int
    kind: Kind
    title: str
    body: str
    dedupe_key: str
    """Unique: a second notification with the same key is silently not created (that is the point)."""
    link: str | None = None
    entity_type: str | None = None
    entity_id: int | None = None


def _chunks(rows: Sequence[dict[str, Any]], n: int = CHUNK) -> Iterable[Sequence[dict[str, Any]]]:
    for i in range(0, len(rows), n):
        yield rows[i : i + n]


def load_preferences(session: Session, user_ids: Iterable[int]) -> dict[int, dict[str, list[str]]]:
    """Saved channel choices: user -> kind -> outbound channels (kinds without a row use the default)."""
    ids = sorted(set(user_ids))
    out: dict[int, dict[str, list[str]]] = {}
    for i in range(0, len(ids), 1000):
        rows = session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(ids[i : i + 1000]))
        )
        for p in rows:
            chosen = [c.value for c, on in ((Channel.EMAIL, p.email), (Channel.SMS, p.sms)) if on]
            out.setdefault(p.user_id, {})[p.kind] = chosen
    return out


def notify(session: Session, items: Sequence[NewNotification], now: datetime) -> list[int]:
    """Create the notifications whose dedupe key is new, and a pending delivery for every outbound channel
    their recipient wants, in the caller's transaction. Returns the ids of the notifications created."""
    if not items:
        return []
    rows = [
        {
            "user_id": n.user_id,
            "kind": n.kind.value,
            "title": n.title,
            "body": n.body,
            "link": n.link,
            "entity_type": n.entity_type,
            "entity_id": n.entity_id,
            "created_at": now,
            "read_at": None,
            "dedupe_key": n.dedupe_key,
        }
        for n in items
    ]
    created: list[tuple[int, int, str]] = []
    stmt = (
        insert_for(session, Notification)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id, Notification.user_id, Notification.kind)
    )
    for chunk in _chunks(rows):
        created.extend((r[0], r[1], r[2]) for r in session.execute(stmt, list(chunk)))
    if not created:
        return []
    prefs = load_preferences(session, (u for _, u, _ in created))
    deliveries = [
        {
            "notification_id": nid,
            "channel": ch.value,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for nid, uid, kind in created
        for ch in sorted(channels_for(kind, prefs.get(uid)))
    ]
    for chunk in _chunks(deliveries):
        session.execute(insert(NotificationDelivery), list(chunk))
    return [nid for nid, _, _ in created]


def notify_message(
    session: Session,
    *,
    user_id: int,
    kind: Kind,
    dedupe_key: str,
    now: datetime,
    link: str | None = None,
    entity_type: str | None = None,
    entity_id: int | None = None,
    **ctx: Any,
) -> int | None:
    """Render the kind's template with ``ctx`` and notify one user; None if the key was already used."""
    title, body = messages.render(kind, **ctx)
    ids = notify(
        session,
        [
            NewNotification(
                user_id=user_id,
                kind=kind,
                title=title,
                body=body,
                dedupe_key=dedupe_key,
                link=link,
                entity_type=entity_type,
                entity_id=entity_id,
            )
        ],
        now,
    )
    return ids[0] if ids else None


# ---------------------------------------------------------------- inbox


def inbox(
    session: Session,
    user_id: int,
    *,
    unread_only: bool = False,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Notification]:
    """The user's notifications, newest first; page on with ``before_id`` (the last id seen)."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if before_id is not None:
        stmt = stmt.where(Notification.id < before_id)
    return list(session.scalars(stmt.order_by(Notification.id.desc()).limit(max(1, min(limit, 200)))))


def unread_count(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def get_own(session: Session, user_id: int, notification_id: int) -> Notification:
    n = session.get(Notification, notification_id)
    if n is None or n.user_id != user_id:
        raise NotFound("通知", "notification")
    return n


def mark_read(session: Session, user_id: int, notification_id: int, now: datetime) -> Notification:
    n = get_own(session, user_id, notification_id)
    if n.read_at is None:
        n.read_at = now
    return n


def mark_all_read(session: Session, user_id: int, now: datetime) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def failed_deliveries(session: Session, user_id: int) -> int:
    """How many of the user's e-mails / SMS could not be delivered (shown in their inbox)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(NotificationDelivery)
            .join(Notification)
            .where(
                and_(
                    Notification.user_id == user_id, NotificationDelivery.status == DeliveryStatus.DEAD.value
                )
            )
        )
        or 0
    )


# ---------------------------------------------------------------- preferences


def preferences(session: Session, user_id: int) -> dict[Kind, frozenset[Channel]]:
    saved = load_preferences(session, [user_id]).get(user_id, {})
    return {k: channels_for(k, saved) for k in Kind}


def save_preferences(
    session: Session, user_id: int, choices: Mapping[str, Iterable[str]]
) -> dict[Kind, frozenset[Channel]]:
    """Store the outbound channels for every kind given (a kind left out keeps its current setting)."""
    problems: list[FieldProblem] = []
    clean: dict[Kind, set[Channel]] = {}
    for kind, chans in choices.items():
        if kind not in Kind.__members__.values():
            problems.append(
                FieldProblem("kind", f"未知的通知类型：{kind}", f"unknown notification kind: {kind}")
            )
            continue
        chosen: set[Channel] = set()
        for ch in chans:
            if ch == Channel.INBOX:
                continue  # the inbox is always on
            if ch not in (c.value for c in OUTBOUND):
                problems.append(FieldProblem("channel", f"未知的发送渠道：{ch}", f"unknown channel: {ch}"))
                continue
            chosen.add(Channel(ch))
        clean[Kind(kind)] = chosen
    if problems:
        raise ValidationFailed(problems)
    for kind, chosen in clean.items():
        row = session.get(NotificationPreference, (user_id, kind.value))
        if row is None:
            row = NotificationPreference(user_id=user_id, kind=kind.value)
            session.add(row)
        row.email = Channel.EMAIL in chosen
        row.sms = Channel.SMS in chosen
    session.flush()
    return preferences(session, user_id)
