"""Complaint tables. The complaint row carries derived deadline columns (regulatory_due,
contact_due) so lists and sweeps can filter on them with an index."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xiaobao.auth.tables import Org, User
from xiaobao.complaints.domain import OPEN_STATUSES
from xiaobao.core.db import Base

_OPEN_SQL = "status IN (" + ", ".join(f"'{s.value}'" for s in sorted(OPEN_STATUSES)) + ")"


class Complaint(Base):
    __tablename__ = "complaint"
    __table_args__ = (
        Index("ix_complaint_org_status_received", "org_id", "status", "received_at"),
        Index("ix_complaint_status_due", "status", "regulatory_due"),
        Index("ix_complaint_received_at", "received_at"),
        # statistics (reports.dashboard / regulator_report) scan a received or decided window per org; on
        # PostgreSQL these cover the grouped columns, so the scans are index-only (bench/queries.py)
        Index(
            "ix_complaint_org_received_stats",
            "org_id",
            "received_at",
            postgresql_include=["status", "business_line", "cause", "special_groups"],
        ),
        Index("ix_complaint_org_decided", "org_id", "decided_at", postgresql_include=["on_time"]),
        # the working lists (open complaints, newest first; overdue ones) walk only the few open rows
        Index(
            "ix_complaint_open_received",
            "received_at",
            postgresql_where=text(_OPEN_SQL),
            sqlite_where=text(_OPEN_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(24), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    # complainant (personal data: masked unless the role needs it)
    complainant_name: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    special_groups: Mapped[str] = mapped_column(String(100), default="")
    """Comma-wrapped codes (",elderly,disabled,") so one LIKE filters on every database."""
    representatives: Mapped[int] = mapped_column(default=1)

    policy_no: Mapped[str | None] = mapped_column(String(40), index=True)
    claim_no: Mapped[str | None] = mapped_column(String(40))
    business_line: Mapped[str] = mapped_column(String(40), index=True)
    cause: Mapped[str] = mapped_column(String(40), index=True)
    demand: Mapped[str] = mapped_column(String(40))
    amount_claimed: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    channel: Mapped[str] = mapped_column(String(32), index=True)
    regulator_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    """The regulator's reference (监管转办编号): one complaint per referral, so imports can be rerun."""
    description: Mapped[str] = mapped_column(Text)
    search_doc: Mapped[str] = mapped_column(Text, default="")

    received_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # deadlines (derived, kept current by the services)
    extension_level: Mapped[int] = mapped_column(default=0)
    extension2_requested: Mapped[bool] = mapped_column(default=False)
    paused_since: Mapped[datetime | None]
    regulatory_due: Mapped[datetime | None]
    contact_due: Mapped[datetime]
    clock_start: Mapped[datetime]
    """Start of the regulatory clock: receipt, or the reopening with new facts."""

    # handling
    accepted_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    decision_outcome: Mapped[str | None] = mapped_column(String(16))  # upheld | partial | rejected
    decision: Mapped[str | None] = mapped_column(Text)
    notice_text: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    rectification: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))
    review_requested_at: Mapped[datetime | None]
    review_outcome: Mapped[str | None] = mapped_column(String(16))  # upheld | reopened
    on_time: Mapped[bool | None]
    """Set at decision: decided within the regulatory limit."""

    org: Mapped[Org] = relationship(lazy="joined")
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    def groups(self) -> list[str]:
        return [g for g in self.special_groups.split(",") if g]


class ComplaintEvent(Base):
    """The handling record: contacts, notes, transitions, decisions. Never edited."""

    __tablename__ = "complaint_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]


class ComplaintPause(Base):
    __tablename__ = "complaint_pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text)


class Attachment(Base):
    __tablename__ = "complaint_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    uploaded_at: Mapped[datetime]


class IdempotencyRecord(Base):
    """Intake replay protection: the first response to (caller, key) is stored in the same
    transaction as the complaint it created, and returned again on retries."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("caller", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class TrackingCode(Base):
    """One-time code texted to the complainant's phone to follow a complaint (hash stored)."""

    __tablename__ = "tracking_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]


class PolicyCount(Base):
    """Policies in force per org, business line and year: the denominator of 万张保单投诉量."""

    __tablename__ = "policy_count"
    __table_args__ = (UniqueConstraint("org_id", "business_line", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    business_line: Mapped[str] = mapped_column(String(40))
    year: Mapped[int]
    policies: Mapped[int]
