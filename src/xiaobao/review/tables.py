"""Review tables: the submission (one piece of material through its life), its versions (each checked
against the rule library of its time), the findings of each version with the reviewer's decision, the
conclusion per version, the review-number counter, and the versioned rule edits made in the UI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xiaobao.auth.tables import Org, User
from xiaobao.core.db import Base


class ReviewSubmission(Base):
    __tablename__ = "review_submission"
    __table_args__ = (
        Index("ix_review_submission_status", "status", "due_at"),
        Index("ix_review_submission_reviewer", "reviewer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    """Optimistic lock."""
    title: Mapped[str] = mapped_column(String(200))
    material_type: Mapped[str] = mapped_column(String(16))
    product_line: Mapped[str | None] = mapped_column(String(32))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    """The submitting org or department."""
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    current_n: Mapped[int] = mapped_column(default=1)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    task_id: Mapped[int | None]
    """The open co-handling task of the assigned reviewer (tasks module, source type "review")."""
    due_at: Mapped[datetime | None]
    review_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    approved_n: Mapped[int | None]
    approved_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    release_note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}

    org: Mapped[Org] = relationship(lazy="joined")
    submitter: Mapped[User | None] = relationship(foreign_keys=[submitter_id], lazy="joined")
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id], lazy="joined")


class ReviewVersion(Base):
    __tablename__ = "review_version"
    __table_args__ = (UniqueConstraint("submission_id", "n"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("review_submission.id", ondelete="CASCADE"))
    n: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    """The text the findings' offsets point into (typed in, or extracted from the uploaded file)."""
    source_filename: Mapped[str | None] = mapped_column(String(255))
    parts: Mapped[list[Any]] = mapped_column(default=list)
    """Paragraphs (.docx) or pages (.pdf) as [kind, index, start, end]."""
    rules_version: Mapped[str] = mapped_column(String(40))
    """The rule library the check ran against: "<UI edits>·<YAML digest>"."""
    checked_at: Mapped[datetime]
    diff_stats: Mapped[dict[str, Any] | None]
    """Characters inserted and deleted against the previous version."""
    note: Mapped[str | None] = mapped_column(Text)
    """What the submitter changed (resubmissions)."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]


class ReviewFinding(Base):
    __tablename__ = "review_finding"
    __table_args__ = (Index("ix_review_finding_rule", "rule_id", "decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("review_version.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    rule_id: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    start: Mapped[int]
    end: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None]

    decided_by: Mapped[User | None] = relationship(lazy="joined")


class ReviewConclusion(Base):
    __tablename__ = "review_conclusion"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("review_version.id", ondelete="CASCADE"), unique=True)
    conclusion: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime]

    reviewer: Mapped[User | None] = relationship(lazy="joined")


class ReviewNumberCounter(Base):
    """One row per year: the last review number issued (incremented under the row lock)."""

    __tablename__ = "review_number_counter"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class ReviewRuleEdit(Base):
    """One edit of the rule library made in the UI. The effective library is the YAML rules overlaid by
    each rule's latest edit; the library version is the id of the latest edit."""

    __tablename__ = "review_rule_edit"
    __table_args__ = (UniqueConstraint("rule_id", "rule_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(16), index=True)
    rule_version: Mapped[int]
    action: Mapped[str] = mapped_column(String(8))  # add | edit | disable | enable
    body: Mapped[dict[str, Any]]
    """The full rule as the YAML would hold it."""
    reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    author_label: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
