"""Risk radar tables: the insured sites (portfolio, per org), typhoon events with their hourly track, the
assessment per event × site, visit plans per event × branch, visit records (hazards, measures, photos),
claims per event × site, and the import batches (sites, claims) with their per-row reports.

Scope: every site belongs to an org (``org_id``, resolved from the file's branch column); a user sees the
sites, results, plans, visits and claims of the orgs in their subtree. Events are shared by everyone with
``Perm.RADAR_VIEW`` (a typhoon is not a branch's property)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xiaobao.auth.tables import Org, User
from xiaobao.core.db import Base


class RadarImport(Base):
    """One imported file (sites or claims) and its per-row report."""

    __tablename__ = "radar_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # sites | claims
    event_id: Mapped[int | None] = mapped_column(ForeignKey("radar_event.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    filename: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[Any]] = mapped_column(default=list)
    """[{row, field, zh, en}] (at most 500 kept)."""
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]

    org: Mapped[Org] = relationship(lazy="joined")


class RadarSite(Base):
    """An insured enterprise site. ``site_key`` (policy number + name) makes re-imports update in place."""

    __tablename__ = "radar_site"
    __table_args__ = (
        UniqueConstraint("site_key", name="uq_radar_site_site_key"),
        Index("ix_radar_site_org_active", "org_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_key: Mapped[str] = mapped_column(String(300))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    branch_label: Mapped[str] = mapped_column(String(100), default="")
    """The branch as written in the file (the org it resolved to is ``org``)."""
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float]
    lon: Mapped[float]
    approximate: Mapped[bool] = mapped_column(default=False)
    """Coordinates are the county/district seat (the file had none)."""
    adcode: Mapped[str] = mapped_column(String(12), default="")
    industry: Mapped[str] = mapped_column(String(50), default="")
    construction: Mapped[str] = mapped_column(String(50), default="")
    occupancy: Mapped[str] = mapped_column(String(50), default="")
    sums_insured: Mapped[dict[str, Any]] = mapped_column(default=dict)
    total_sum_insured: Mapped[float] = mapped_column(default=0.0)
    deductible: Mapped[float] = mapped_column(default=0.0)
    limit: Mapped[float | None]
    """None: no limit."""
    policy_no: Mapped[str] = mapped_column(String(64), default="")
    contact: Mapped[str] = mapped_column(String(100), default="")
    """Personal data: masked unless the viewer has Perm.PII_VIEW."""
    account_manager_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    active: Mapped[bool] = mapped_column(default=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("radar_import.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    org: Mapped[Org] = relationship(lazy="joined")
    account_manager: Mapped[User | None] = relationship()


class RadarEvent(Base):
    """A typhoon: its track (hourly points as JSON, with the wind radii per point), the reference time
    ("now" of the forecast: hours until gale count from it) and the wind model."""

    __tablename__ = "radar_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    storm_sid: Mapped[str] = mapped_column(String(32), default="")
    source_filename: Mapped[str] = mapped_column(String(255), default="")
    source_format: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(8), default="H08")
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | assessed
    track: Mapped[list[Any]] = mapped_column(default=list)
    """Hourly points: [{t (ISO UTC), lat, lon, pressure, max_wind, rmw, env_pressure, lead_hours,
    r_gale: [km per bearing], r_storm: [...]}]."""
    reference_time: Mapped[datetime]
    first_time: Mapped[datetime]
    last_time: Mapped[datetime]
    synthetic_claims: Mapped[bool] = mapped_column(default=False)
    """The event's claims are generated demo data (labelled as such on every page)."""
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]
    assessed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class RadarAssessment(Base):
    """Wind and expected loss for one site in one event (replaced when the event is re-assessed)."""

    __tablename__ = "radar_assessment"
    __table_args__ = (Index("ix_radar_assessment_event_org", "event_id", "org_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("radar_event.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("radar_site.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    rank: Mapped[int]
    max_wind: Mapped[float]
    gale_arrival: Mapped[datetime | None]
    hours_until_gale: Mapped[float | None]
    hours_above_gale: Mapped[float]
    mdr: Mapped[float]
    expected_loss: Mapped[float]
    sum_insured: Mapped[float]
    approximate: Mapped[bool] = mapped_column(default=False)

    site: Mapped[RadarSite] = relationship(lazy="joined")


class RadarPlan(Base):
    """The visit plan of one branch (org) for one event; re-planning replaces it."""

    __tablename__ = "radar_plan"
    __table_args__ = (UniqueConstraint("event_id", "org_id", name="uq_radar_plan_event_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("radar_event.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    inspectors: Mapped[int]
    visits_per_day: Mapped[int]
    work_start: Mapped[str] = mapped_column(String(5))  # "08:00" Asia/Shanghai
    work_end: Mapped[str] = mapped_column(String(5))
    margin_hours: Mapped[float]
    min_loss: Mapped[float] = mapped_column(default=0.0)
    start_at: Mapped[datetime]
    planned: Mapped[int] = mapped_column(default=0)
    unreachable: Mapped[int] = mapped_column(default=0)
    planned_loss: Mapped[float] = mapped_column(default=0.0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]

    org: Mapped[Org] = relationship(lazy="joined")


class RadarPlanItem(Base):
    __tablename__ = "radar_plan_item"

    plan_id: Mapped[int] = mapped_column(ForeignKey("radar_plan.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("radar_site.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # planned | unreachable | not_needed
    inspector: Mapped[int | None]
    slot_start: Mapped[datetime | None]
    slot_end: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(300), default="")

    site: Mapped[RadarSite] = relationship(lazy="joined")


class RadarVisit(Base):
    """A pre-disaster visit: hazards found, measures advised, notes; each hazard becomes a co-handling task
    for the site's account manager (tasks with source_type "radar_visit")."""

    __tablename__ = "radar_visit"
    __table_args__ = (Index("ix_radar_visit_event_site", "event_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("radar_event.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("radar_site.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    visited_at: Mapped[datetime]
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    inspector_label: Mapped[str] = mapped_column(String(100))
    hazards: Mapped[list[Any]] = mapped_column(default=list)
    """[{kind, severity, description}]."""
    measures: Mapped[list[Any]] = mapped_column(default=list)
    """Advised measures: keys of ``visits.MEASURES``."""
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]

    site: Mapped[RadarSite] = relationship(lazy="joined")
    org: Mapped[Org] = relationship(lazy="joined")


class RadarVisitPhoto(Base):
    __tablename__ = "radar_visit_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("radar_visit.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    uploaded_at: Mapped[datetime]


class RadarClaim(Base):
    """A claim after the event for one site; ``claim_no`` is unique per event (re-import updates it)."""

    __tablename__ = "radar_claim"
    __table_args__ = (
        UniqueConstraint("event_id", "claim_no", name="uq_radar_claim_event_claim_no"),
        Index("ix_radar_claim_event_site", "event_id", "site_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("radar_event.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("radar_site.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    claim_no: Mapped[str] = mapped_column(String(64))
    paid: Mapped[float] = mapped_column(default=0.0)
    reserved: Mapped[float] = mapped_column(default=0.0)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("radar_import.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
