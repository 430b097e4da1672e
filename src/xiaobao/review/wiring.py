"""Wiring called by `bootstrap()`: the review submission as a source of co-handling tasks (the reviewer's
work item) and as an entity notifications can point at."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.review import services

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container
    from xiaobao.notifications.entities import EntityInfo


REVIEW_SOURCE_NAME = "review"


def _entity(session: Session, who: Principal, entity_id: int) -> EntityInfo:
    from xiaobao.notifications.entities import EntityInfo

    sub, _ = services.access_submission(session, who, entity_id)
    return EntityInfo(label=f"消保审查「{sub.title}」", link=f"/review/{sub.id}", org_path=sub.org.path)


def register(container: Container) -> None:
    from xiaobao.notifications.entities import register_entity
    from xiaobao.tasks.sources import SourceType, register_source

    register_source(
        SourceType(
            name=REVIEW_SOURCE_NAME,
            noun_zh="消保审查",
            noun_en="review",
            describe=services.source_describe,
            access=services.source_access,
            can_request=services.source_can_request,
        )
    )
    register_entity("review", _entity, "消保审查", "review")
