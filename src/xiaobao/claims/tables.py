"""Claims tables: the case (with derived deadline columns and a version for optimistic locking), its
timeline (replayable), contact attempts, rescue requests, attachments, policies, factories, teams, staff
profiles and catastrophe events.

Staff and factories are plain columns (lists as JSON) so a dispatch engine can map them onto plain
dataclasses: `StaffProfile` -> (user_id, factory, skills, authority_limit, allowed_regions, home_district,
shifts, capacity, online), `ClaimCase` open rows -> work items (id, line, district, priority, due).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xiaobao.auth.tables import Org, User
from xiaobao.claims.domain import CONTACT_QUEUE_STATUSES
from xiaobao.core.db import Base

_QUEUE_SQL = "status IN (" + ", ".join(f"'{s.value}'" for s in sorted(CONTACT_QUEUE_STATUSES)) + ")"


class CatEvent(Base):
    """A declared catastrophe (大灾事件): reports in its regions and time window are tagged with it and handled
    under its SLA."""

    __tablename__ = "claim_cat_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    peril: Mapped[str] = mapped_column(String(20))
    regions: Mapped[list[Any]]
    """Division-code prefixes: '35' (province), '3505' (city) or a 6-digit district."""
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    contact_minutes: Mapped[int] = mapped_column(default=30)
    survey_hours: Mapped[int] = mapped_column(default=48)
    active: Mapped[bool] = mapped_column(default=True)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    declared_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class Factory(Base):
    """A claims factory (理赔工厂): a remote operations centre serving regions (and events it is moved to)."""

    __tablename__ = "claim_factory"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    city: Mapped[str] = mapped_column(String(30))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    regions: Mapped[list[Any]]
    """Division-code prefixes this factory serves in normal times."""
    active: Mapped[bool] = mapped_column(default=True)

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


class FactoryEvent(Base):
    """A factory moved onto a catastrophe event: its staff work (and see) the event's cases."""

    __tablename__ = "claim_factory_event"
    __table_args__ = (UniqueConstraint("factory_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    factory_id: Mapped[int] = mapped_column(ForeignKey("claim_factory.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("claim_cat_event.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime]
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class Team(Base):
    __tablename__ = "claim_team"
    __table_args__ = (UniqueConstraint("factory_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    factory_id: Mapped[int] = mapped_column(ForeignKey("claim_factory.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    line: Mapped[str | None] = mapped_column(String(16))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class StaffProfile(Base):
    """Claims staff: factory operator or local surveyor. One per user."""

    __tablename__ = "claim_staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), unique=True)
    factory_id: Mapped[int | None] = mapped_column(ForeignKey("claim_factory.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("claim_team.id"))
    kind: Mapped[str] = mapped_column(String(16))  # operator | surveyor
    skills: Mapped[list[Any]]
    """Lines: motor, property, agriculture."""
    authority_limit: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    """Largest amount this person may assess or settle alone (定损/核赔权限)."""
    allowed_regions: Mapped[list[Any]]
    """Licensed or allowed regions (division-code prefixes); empty: the factory's regions."""
    home_district: Mapped[str | None] = mapped_column(String(6))
    """Local surveyors: the district they live and work in."""
    shifts: Mapped[list[Any]]
    """Shift windows as ["HH:MM", "HH:MM"] pairs, local time; an end before the start crosses midnight."""
    capacity: Mapped[int] = mapped_column(default=20)
    """Open cases this person can carry at once."""
    online: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]

    user: Mapped[User] = relationship(lazy="joined")
    factory: Mapped[Factory | None] = relationship(lazy="joined")


class Policy(Base):
    """Policies loaded for look-up at intake (by number or plate)."""

    __tablename__ = "claim_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_no: Mapped[str] = mapped_column(String(40), unique=True)
    line: Mapped[str] = mapped_column(String(16))
    holder_name: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str | None] = mapped_column(String(16), index=True)
    property_address: Mapped[str | None] = mapped_column(String(200))
    district_code: Mapped[str | None] = mapped_column(String(6))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime]
    sum_insured: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    imported_at: Mapped[datetime]


class ClaimCase(Base):
    __tablename__ = "claim_case"
    __table_args__ = (
        Index("ix_claim_case_org_status_reported", "org_id", "status", "reported_at"),
        Index("ix_claim_case_event_status", "event_id", "status"),
        Index("ix_claim_case_district", "district_code"),
        # the contact queue walks only the cases not yet contacted
        Index(
            "ix_claim_case_contact_queue",
            "priority",
            "contact_due",
            postgresql_where=text(_QUEUE_SQL),
            sqlite_where=text(_QUEUE_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_no: Mapped[str] = mapped_column(String(24), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)

    # reporter (personal data: masked unless the role needs it)
    reporter_name: Mapped[str] = mapped_column(String(64))
    reporter_phone: Mapped[str] = mapped_column(String(20), index=True)
    special_group: Mapped[str | None] = mapped_column(String(20))

    # policy
    policy_no: Mapped[str | None] = mapped_column(String(40), index=True)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("claim_policy.id"))
    policy_check: Mapped[str] = mapped_column(String(16))
    """found | not_found (accepted and flagged) | no_table (no policy table loaded) | not_given."""

    # loss
    loss_at: Mapped[datetime]
    place_text: Mapped[str] = mapped_column(String(200))
    district_code: Mapped[str | None] = mapped_column(String(6))
    geocode: Mapped[str] = mapped_column(String(16))  # text | latlon | none
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    cause: Mapped[str] = mapped_column(String(20))
    line: Mapped[str] = mapped_column(String(16), index=True)
    vehicle_plate: Mapped[str | None] = mapped_column(String(16), index=True)
    property_address: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    people_at_risk: Mapped[int] = mapped_column(default=0)
    rescue_needed: Mapped[bool] = mapped_column(default=False)
    estimated_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    fast_track: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(default=0)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("claim_cat_event.id"))

    # handling
    survey_method: Mapped[str | None] = mapped_column(String(16))
    assessed_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    prepaid_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    settled_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    denial_reason: Mapped[str | None] = mapped_column(Text)
    denial_notice: Mapped[str | None] = mapped_column(Text)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    close_note: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(default=0)

    # contact
    contact_attempts: Mapped[int] = mapped_column(default=0)
    next_retry_at: Mapped[datetime | None]

    # time stamps
    reported_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    contacted_at: Mapped[datetime | None]
    info_collected_at: Mapped[datetime | None]
    surveyed_at: Mapped[datetime | None]
    assessed_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    denied_at: Mapped[datetime | None]
    denial_notified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    # deadlines (derived, kept current by the services)
    event_mode: Mapped[bool] = mapped_column(default=False)
    contact_due: Mapped[datetime]
    survey_due: Mapped[datetime]
    decision_due: Mapped[datetime | None]
    prepay_due: Mapped[datetime | None]
    payment_due: Mapped[datetime | None]
    denial_notice_due: Mapped[datetime | None]

    org: Mapped[Org] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assigned_user_id], lazy="joined")
    event: Mapped[CatEvent | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class ClaimEvent(Base):
    """The case timeline: every step with its time, actor, status change and details. Never edited; replaying
    it in order rebuilds the case (domain.replay)."""

    __tablename__ = "claim_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("claim_case.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]


class ContactAttempt(Base):
    __tablename__ = "claim_contact_attempt"
    __table_args__ = (
        Index(
            "ix_claim_contact_attempt_sms_pending",
            "at",
            postgresql_where=text("sms_due AND sms_sent_at IS NULL"),
            sqlite_where=text("sms_due AND sms_sent_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("claim_case.id", ondelete="CASCADE"), index=True)
    attempt_no: Mapped[int]
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    next_retry_at: Mapped[datetime | None]
    sms_due: Mapped[bool] = mapped_column(default=False)
    """A failed attempt: the contact job texts the reporter once."""
    sms_sent_at: Mapped[datetime | None]


class RescueRequest(Base):
    __tablename__ = "claim_rescue"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("claim_case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    vendor: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_at: Mapped[datetime]
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    eta: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class ClaimAttachment(Base):
    __tablename__ = "claim_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("claim_case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # photo | video | document
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    uploaded_at: Mapped[datetime]
    public: Mapped[bool] = mapped_column(default=False)


class ClaimIdempotency(Base):
    """Intake replay protection for claim reports: the first response to (caller, key) is stored in the same
    transaction as the case it created and returned again on retries."""

    __tablename__ = "claim_idempotency"
    __table_args__ = (UniqueConstraint("caller", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
