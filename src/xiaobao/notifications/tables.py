"""Notification tables: the in-app inbox, outbound deliveries, per-user preferences, reminder stages of
items with deadlines, and 督办 (supervision) notices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xiaobao.auth.tables import User
from xiaobao.core.db import Base


class Notification(Base):
    """One message to one user: their inbox row. `dedupe_key` is unique, so a replayed sweep (a worker
    killed and restarted, two workers racing) can never create the same notification twice."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_id_desc", "user_id", "id"),
        Index("ix_notification_user_unread", "user_id", "read_at"),
        Index("ix_notification_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(255))
    entity_type: Mapped[str | None] = mapped_column(String(32))
    entity_id: Mapped[int | None]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)

    deliveries: Mapped[list[NotificationDelivery]] = relationship(
        lazy="selectin", order_by="NotificationDelivery.channel", back_populates="notification"
    )


class NotificationDelivery(Base):
    """One outbound copy (e-mail or SMS) of a notification, with its retry state."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel"),
        Index("ix_notification_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending | sent | failed | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(120))
    sent_at: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]

    notification: Mapped[Notification] = relationship(back_populates="deliveries")


class NotificationPreference(Base):
    """A user's choice of outbound channels for one kind; without a row the kind's default applies."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[bool] = mapped_column(default=False)
    sms: Mapped[bool] = mapped_column(default=False)


class ReminderState(Base):
    """How far an item's deadline has escalated (0 none, 1 reminded, 2 overdue, 3 escalated upwards), for
    the due moment `due_at`: when the item's due moment changes the stages start again. Kept here, keyed by
    (entity_type, entity_id, track), so every module with deadlines reuses it without a column of its own."""

    __tablename__ = "reminder_state"

    entity_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    entity_id: Mapped[int] = mapped_column(primary_key=True)
    track: Mapped[str] = mapped_column(String(48), primary_key=True)
    stage: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SupervisionNotice(Base):
    """督办: an officer tells a user to act on an item (a complaint, later a task) and reply by a deadline.
    An unanswered notice escalates like any other deadline (track "supervision")."""

    __tablename__ = "supervision_notice"
    __table_args__ = (
        Index("ix_supervision_notice_recipient", "recipient_id", "status"),
        Index("ix_supervision_notice_status_due", "status", "reply_due"),
        Index("ix_supervision_notice_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int]
    entity_label: Mapped[str] = mapped_column(String(100))
    entity_link: Mapped[str | None] = mapped_column(String(255))
    sender_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    text: Mapped[str] = mapped_column(Text)
    reply_due: Mapped[datetime]
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | replied | cancelled
    reply_text: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]

    sender: Mapped[User] = relationship(foreign_keys=[sender_id], lazy="joined")
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id], lazy="joined")
