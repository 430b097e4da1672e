"""Items a notification or a 督办 can point at, by (entity_type, entity_id). Each module registers a
resolver that applies its own access check (e.g. `access_complaint`): an item the user may not see raises
NotFound, exactly as the module's own pages do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.core.errors import NotFound


@dataclass(frozen=True)
class EntityInfo:
    label: str
    """How messages name it, noun included: "投诉 TS202603020001"."""
    link: str
    org_path: str


Resolver = Callable[[Session, Principal, int], EntityInfo]
_RESOLVERS: dict[str, Resolver] = {}
ENTITY_NOUNS: dict[str, tuple[str, str]] = {}


def register_entity(entity_type: str, resolver: Resolver, noun_zh: str, noun_en: str) -> None:
    _RESOLVERS[entity_type] = resolver
    ENTITY_NOUNS[entity_type] = (noun_zh, noun_en)


def entity_types() -> list[str]:
    return sorted(_RESOLVERS)


def resolve(session: Session, who: Principal, entity_type: str, entity_id: int) -> EntityInfo:
    resolver = _RESOLVERS.get(entity_type)
    if resolver is None:
        raise NotFound("关联事项", "linked item")
    return resolver(session, who, entity_id)


def complaint_entity(session: Session, who: Principal, entity_id: int) -> EntityInfo:
    from xiaobao.complaints.services import access_complaint

    c = access_complaint(session, who, entity_id)
    return EntityInfo(label=f"投诉 {c.tracking_no}", link=f"/complaints/{c.id}", org_path=c.org.path)
