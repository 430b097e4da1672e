"""Task tables: the task (with its generic source link and parent), co-handlers, checklist, comments,
attachments, the task's activity record, and the rectification ledger (整改台账) entries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xiaobao.auth.tables import Org, User
from xiaobao.core.db import Base


class RectificationNotice(Base):
    """One regulator notice or inspection finding in the rectification ledger. Its work is a parent task
    (``Task.ledger_id`` set, no parent) with one child task per branch."""

    __tablename__ = "rectification_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_ref: Mapped[str] = mapped_column(String(100), index=True)
    """The source document's reference, e.g. 闽金发〔2026〕12号."""
    authority: Mapped[str] = mapped_column(String(100))
    finding_kind: Mapped[str] = mapped_column(String(16))  # notice | inspection
    issued_on: Mapped[date]
    findings: Mapped[str] = mapped_column(Text)
    required_by: Mapped[date]
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    """The org that keeps this ledger entry and signs the branches' work off."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]

    org: Mapped[Org] = relationship(lazy="joined")


class Task(Base):
    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_kind_status_due", "kind", "status", "due_at"),
        Index("ix_task_org_status", "org_id", "status"),
        Index("ix_task_owner_status", "owner_id", "status"),
        Index("ix_task_source", "source_type", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(16))  # general | cohandling | rectification
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8), default="normal")

    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    """The owning org or department: who does the work."""
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    """None: the owning department has not picked anyone yet (its members may claim the task)."""
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    requester_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    ledger_id: Mapped[int | None] = mapped_column(ForeignKey("rectification_notice.id"), index=True)

    source_type: Mapped[str | None] = mapped_column(String(32))
    """What the task is about: "complaint" now; "review", "visit", "claim", "mediation" later."""
    source_id: Mapped[int | None]
    blocking: Mapped[bool] = mapped_column(default=False)
    """A co-handling task the source may not be decided without (the complaint's decide guard)."""

    due_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
    """The co-handling answer, or the description of the evidence of completion."""
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    signed_off_at: Mapped[datetime | None]
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    sign_off_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    org: Mapped[Org] = relationship(foreign_keys=[org_id], lazy="joined")
    requester_org: Mapped[Org | None] = relationship(foreign_keys=[requester_org_id], lazy="joined")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id], lazy="joined")
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    signed_off_by: Mapped[User | None] = relationship(foreign_keys=[signed_off_by_id])
    cohandler_rows: Mapped[list[TaskCohandler]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="task"
    )
    checklist: Mapped[list[TaskChecklistItem]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="TaskChecklistItem.position",
        back_populates="task",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def cohandler_ids(self) -> frozenset[int]:
        return frozenset(r.user_id for r in self.cohandler_rows)


class TaskCohandler(Base):
    __tablename__ = "task_cohandler"

    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True, index=True)

    task: Mapped[Task] = relationship(back_populates="cohandler_rows")
    user: Mapped[User] = relationship(lazy="joined")


class TaskChecklistItem(Base):
    __tablename__ = "task_checklist_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(String(500))
    done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    task: Mapped[Task] = relationship(back_populates="checklist")


class TaskComment(Base):
    __tablename__ = "task_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    author_label: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)


class TaskAttachment(Base):
    __tablename__ = "task_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="attachment")  # attachment | answer | evidence
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    uploaded_at: Mapped[datetime]


class TaskEvent(Base):
    """The task's activity record: created, started, answered, returned, signed off ... Never edited."""

    __tablename__ = "task_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]
