"""The job schedule: one row per job definition. A worker claims a due row with
SELECT ... FOR UPDATE SKIP LOCKED and keeps it locked while the job runs; if the worker dies, PostgreSQL
drops the lock with its connection and the next worker picks the job up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xiaobao.core.db import Base


class JobSchedule(Base):
    __tablename__ = "job_schedule"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    interval_seconds: Mapped[int]
    next_run_at: Mapped[datetime]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(8))  # ok | failed
    last_error: Mapped[str | None] = mapped_column(Text)
    last_summary: Mapped[dict[str, Any] | None]
    failures: Mapped[int] = mapped_column(default=0)
    """Consecutive failed runs (0 after a success)."""
    last_worker: Mapped[str | None] = mapped_column(String(120))
