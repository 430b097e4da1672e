"""API models for notifications and 督办."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from xiaobao.notifications.tables import Notification, NotificationDelivery, SupervisionNotice


class DeliveryPublic(BaseModel):
    channel: str
    status: str
    attempts: int
    sent_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, d: NotificationDelivery) -> DeliveryPublic:
        return cls(
            channel=d.channel,
            status=d.status,
            attempts=d.attempts,
            sent_at=d.sent_at,
            next_attempt_at=d.next_attempt_at if d.status in ("pending", "failed") else None,
            last_error=d.last_error,
        )


class NotificationPublic(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str | None
    entity_type: str | None
    entity_id: int | None
    created_at: datetime
    read_at: datetime | None
    deliveries: list[DeliveryPublic]

    @classmethod
    def of(cls, n: Notification) -> NotificationPublic:
        return cls(
            id=n.id,
            kind=n.kind,
            title=n.title,
            body=n.body,
            link=n.link,
            entity_type=n.entity_type,
            entity_id=n.entity_id,
            created_at=n.created_at,
            read_at=n.read_at,
            deliveries=[DeliveryPublic.of(d) for d in n.deliveries],
        )


class NotificationPage(BaseModel):
    items: list[NotificationPublic]
    unread: int
    next_before_id: int | None
    """Pass as ``before_id`` for the next (older) page; null on the last page."""


class SupervisionCreate(BaseModel):
    entity_type: str = Field(default="complaint", max_length=32)
    entity_id: int
    recipient_id: int
    text: str = Field(max_length=2000)
    reply_due: datetime | None = None
    """Timezone-aware; default now + XIAOBAO_SUPERVISION_REPLY_HOURS."""


class SupervisionReply(BaseModel):
    text: str = Field(max_length=2000)


class SupervisionPublic(BaseModel):
    id: int
    entity_type: str
    entity_id: int
    entity_label: str
    entity_link: str | None
    sender: str
    recipient: str
    text: str
    reply_due: datetime
    created_at: datetime
    status: str
    overdue: bool
    reply_text: str | None
    replied_at: datetime | None

    @classmethod
    def of(cls, n: SupervisionNotice, now: datetime) -> SupervisionPublic:
        return cls(
            id=n.id,
            entity_type=n.entity_type,
            entity_id=n.entity_id,
            entity_label=n.entity_label,
            entity_link=n.entity_link,
            sender=n.sender.display_name,
            recipient=n.recipient.display_name,
            text=n.text,
            reply_due=n.reply_due,
            created_at=n.created_at,
            status=n.status,
            overdue=n.status == "open" and now > n.reply_due,
            reply_text=n.reply_text,
            replied_at=n.replied_at,
        )
