"""What a task can be about: a registry of source types (a complaint now; a review, a risk visit, a claim or a
mediation case later). Each module that wants tasks about its items registers one `SourceType`:

* ``describe(session, id)``: the item's label, page and org, without an access check (for a task page a
  collaborator may open without seeing the item itself: they see its label, not a link);
* ``access(session, who, id)``: the module's own access check; raises NotFound when the item is out of scope;
* ``can_request(session, who, id)``: may `who` ask others for work on the item (and manage that work:
  return an answer, cancel the request)? For a complaint: whoever may add to its handling record;
* ``record(...)``: optional, writes a line into the item's own history (the complaint timeline).

The tasks module never imports a source module's services directly except through this registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.core.errors import XiaobaoError


@dataclass(frozen=True)
class SourceInfo:
    label_zh: str
    label_en: str
    url: str
    org_path: str

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


Recorder = Callable[[Session, Principal, int, datetime, str, str | None, dict[str, Any]], None]


@dataclass(frozen=True)
class SourceType:
    name: str
    noun_zh: str
    noun_en: str
    describe: Callable[[Session, int], SourceInfo | None]
    access: Callable[[Session, Principal, int], None]
    can_request: Callable[[Session, Principal, int], bool]
    record: Recorder | None = None


_REGISTRY: dict[str, SourceType] = {}


def register_source(source: SourceType) -> None:
    """Register (or replace: bootstrap may run more than once in a process) a source type."""
    _REGISTRY[source.name] = source


def get(name: str | None) -> SourceType | None:
    return _REGISTRY.get(name) if name else None


def names() -> list[str]:
    return sorted(_REGISTRY)


def describe(session: Session, source_type: str | None, source_id: int | None) -> SourceInfo | None:
    st = get(source_type)
    if st is None or source_id is None:
        return None
    return st.describe(session, source_id)


def can_access(session: Session, who: Principal, source_type: str | None, source_id: int | None) -> bool:
    st = get(source_type)
    if st is None or source_id is None:
        return False
    try:
        st.access(session, who, source_id)
    except XiaobaoError:
        return False
    return True


def can_request(session: Session, who: Principal, source_type: str | None, source_id: int | None) -> bool:
    st = get(source_type)
    if st is None or source_id is None:
        return False
    try:
        return st.can_request(session, who, source_id)
    except XiaobaoError:
        return False


def record(
    session: Session,
    who: Principal,
    source_type: str | None,
    source_id: int | None,
    at: datetime,
    kind: str,
    text: str | None,
    data: dict[str, Any],
) -> None:
    st = get(source_type)
    if st is not None and st.record is not None and source_id is not None:
        st.record(session, who, source_id, at, kind, text, data)


# ---------------------------------------------------------------- complaints


def _complaint_describe(session: Session, source_id: int) -> SourceInfo | None:
    from xiaobao.complaints.tables import Complaint

    c = session.get(Complaint, source_id)
    if c is None:
        return None
    return SourceInfo(
        f"投诉 {c.tracking_no}", f"Complaint {c.tracking_no}", f"/complaints/{c.id}", c.org.path
    )


def _complaint_access(session: Session, who: Principal, source_id: int) -> None:
    from xiaobao.complaints.services import access_complaint

    access_complaint(session, who, source_id)


def _complaint_can_request(session: Session, who: Principal, source_id: int) -> bool:
    from xiaobao.complaints.services import handling_access

    handling_access(session, who, source_id)
    return True


def _complaint_record(
    session: Session,
    who: Principal,
    source_id: int,
    at: datetime,
    kind: str,
    text: str | None,
    data: dict[str, Any],
) -> None:
    from xiaobao.complaints.tables import ComplaintEvent

    session.add(
        ComplaintEvent(
            complaint_id=source_id,
            at=at,
            actor_id=who.user_id,
            actor_label=who.label,
            kind=kind,
            text=text,
            data=data,
        )
    )


COMPLAINT = SourceType(
    name="complaint",
    noun_zh="投诉",
    noun_en="complaint",
    describe=_complaint_describe,
    access=_complaint_access,
    can_request=_complaint_can_request,
    record=_complaint_record,
)
