"""Wiring called by `bootstrap()`: the "radar_visit" task source (a hazard found on a pre-disaster visit
becomes a co-handling task for the client's account manager) and the visit entity for notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal

if TYPE_CHECKING:
    from datetime import datetime

    from xiaobao.bootstrap import Container
    from xiaobao.tasks.sources import SourceInfo


def _describe(session: Session, visit_id: int) -> SourceInfo | None:
    from xiaobao.radar.tables import RadarVisit
    from xiaobao.tasks.sources import SourceInfo

    v = session.get(RadarVisit, visit_id)
    if v is None:
        return None
    return SourceInfo(
        f"风险走访 #{v.id} · {v.site.name}",
        f"Risk visit #{v.id} · {v.site.name}",
        f"/radar/visits/{v.id}",
        v.org.path,
    )


def _access(session: Session, who: Principal, visit_id: int) -> None:
    from xiaobao.radar.services import access_visit

    access_visit(session, who, visit_id)


def _can_request(session: Session, who: Principal, visit_id: int) -> bool:
    from xiaobao.radar.services import may_request_for_visit

    return may_request_for_visit(session, who, visit_id)


def _record(
    session: Session,
    who: Principal,
    visit_id: int,
    at: datetime,
    kind: str,
    text: str | None,
    data: dict[str, Any],
) -> None:
    """Task activity about a visit is kept in the task's own record and the audit log (visits have no
    separate timeline)."""


def source() -> Any:
    from xiaobao.tasks.sources import SourceType

    return SourceType(
        name="radar_visit",
        noun_zh="风险走访",
        noun_en="risk visit",
        describe=_describe,
        access=_access,
        can_request=_can_request,
        record=_record,
    )


def register(container: Container) -> None:
    from xiaobao.tasks.sources import register_source

    register_source(source())
