"""Append-only audit log: every change (who, when, what, before/after) and every view of
unmasked personal data. Migrations install triggers that refuse UPDATE and DELETE."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, Session, mapped_column

from xiaobao.core.db import Base


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    ip: Mapped[str | None] = mapped_column(String(64))


def record(
    session: Session,
    *,
    at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    entity_type: str,
    entity_id: str | int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
    immediate: bool = False,
) -> None:
    """Adds the row to the session (written at the next flush); `immediate` writes it now with one Core
    INSERT instead, without the ORM unit of work (the intake hot path; same row, same transaction)."""
    values = dict(
        at=at,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        before=_jsonable(before),
        after=_jsonable(after),
        ip=ip,
    )
    if immediate:
        session.connection().execute(_INSERT, values)
    else:
        session.add(AuditLog(**values))


_INSERT = cast(Table, AuditLog.__table__).insert()


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys that changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _jsonable(d: dict[str, Any] | None) -> dict[str, Any] | None:
    if d is None:
        return None
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, datetime):
            out[k] = v.isoformat()
        elif isinstance(v, set | frozenset | tuple):
            out[k] = sorted(v)
        else:
            out[k] = v
    return out
