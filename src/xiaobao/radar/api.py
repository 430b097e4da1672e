"""JSON API for the risk radar (/api/v1/radar): thin routes over `services`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from xiaobao.auth.roles import Perm
from xiaobao.core.errors import FieldProblem, ValidationFailed
from xiaobao.radar import services
from xiaobao.web.deps import ContainerDep, CurrentUser, LangDep, UowDep

router = APIRouter(prefix="/api/v1/radar", tags=["radar"])


def parse_time(field: str, raw: str | None) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    try:
        t = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            [FieldProblem(field, "时间格式应为 ISO 8601（含时区）", "use ISO 8601 with a UTC offset")]
        ) from None
    if t.tzinfo is None:
        raise ValidationFailed([FieldProblem(field, "时间须带时区", "give a UTC offset")])
    return t


# ---------------------------------------------------------------- sites


@router.get("/sites")
def list_sites(
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    q: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    rows, total = services.list_sites(uow.session, who, q=q, page=page, per_page=per_page)
    return {"total": total, "items": [services.site_dict(r, who, lang) for r in rows]}


@router.post("/sites/import", status_code=201)
async def import_sites(
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    file: Annotated[UploadFile, File()],
    org_id: Annotated[int | None, Form()] = None,
) -> dict[str, Any]:
    data = await file.read()
    rep = services.import_sites(
        uow, who, file.filename or "", data, org_id or who.org_id or 0, container.clock.now()
    )
    return services.import_dict(rep.record)


# ---------------------------------------------------------------- events


@router.get("/events")
def list_events(uow: UowDep, who: CurrentUser) -> list[dict[str, Any]]:
    return [services.event_dict(e) for e in services.list_events(uow.session, who)]


@router.post("/events", status_code=201)
async def create_event(
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    file: Annotated[UploadFile, File()],
    name: Annotated[str | None, Form()] = None,
    format: Annotated[str, Form()] = "auto",  # noqa: A002 - the form field's name
    reference_time: Annotated[str | None, Form()] = None,
    model: Annotated[str, Form()] = "H08",
    sid: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    data = await file.read()
    ev = services.create_event(
        uow,
        who,
        filename=file.filename or "",
        data=data,
        now=container.clock.now(),
        fmt=format,  # type: ignore[arg-type]
        name=name,
        reference_time=parse_time("reference_time", reference_time),
        model=model,
        sid=sid or None,
    )
    return services.event_dict(ev)


@router.get("/events/{event_id}")
def get_event(event_id: int, uow: UowDep, who: CurrentUser) -> dict[str, Any]:
    ev = services.access_event(uow.session, who, event_id)
    return {**services.event_dict(ev), "summary": services.event_summary(uow.session, who, ev)}


@router.post("/events/{event_id}/assess")
def assess_event(event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep) -> dict[str, Any]:
    n = services.assess_event(uow, who, event_id, container.clock.now())
    ev = services.access_event(uow.session, who, event_id)
    return {**services.event_dict(ev), "sites_assessed": n}


@router.get("/events/{event_id}/map")
def event_map(event_id: int, uow: UowDep, who: CurrentUser, lang: LangDep) -> dict[str, Any]:
    return services.map_data(uow.session, who, event_id, lang)


@router.get("/events/{event_id}/ranking")
def event_ranking(
    event_id: int,
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    org_id: int | None = None,
    industry: str | None = None,
    sort: str = "rank",
    all_sites: bool = False,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    f = services.RankingFilter(org_id, industry or None, sort, not all_sites, page, per_page)
    _, rows, total, sums = services.ranking(uow.session, who, event_id, f)
    return {
        "total": total,
        "expected_loss": sums["expected_loss"],
        "items": [
            {
                "rank": a.rank,
                "site": services.site_dict(a.site, who, lang),
                "max_wind": a.max_wind,
                "gale_arrival": a.gale_arrival.isoformat() if a.gale_arrival else None,
                "hours_until_gale": a.hours_until_gale,
                "hours_above_gale": a.hours_above_gale,
                "mdr": a.mdr,
                "expected_loss": a.expected_loss,
                "approximate": a.approximate,
            }
            for a in rows
        ],
    }


class PlanBody(BaseModel):
    org_id: int
    inspectors: int = Field(default=2)
    visits_per_day: int = Field(default=4)
    work_start: str = "08:00"
    work_end: str = "18:00"
    margin_hours: float = 2.0
    min_loss: float = 0.0


@router.post("/events/{event_id}/plans", status_code=201)
def make_plan(
    event_id: int, body: PlanBody, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    p = services.make_plan(uow, who, event_id, services.PlanInput(**body.model_dump()), container.clock.now())
    return services.plan_dict(p, services.plan_items(uow.session, p))


@router.get("/events/{event_id}/plans")
def list_plans(event_id: int, uow: UowDep, who: CurrentUser) -> list[dict[str, Any]]:
    s = uow.session
    return [services.plan_dict(p, services.plan_items(s, p)) for p in services.plans(s, who, event_id)]


class HazardBody(BaseModel):
    kind: str
    severity: str = "medium"
    description: str = ""


class VisitBody(BaseModel):
    site_id: int
    visited_at: datetime
    hazards: list[HazardBody] = []
    measures: list[str] = []
    notes: str = ""


@router.post("/events/{event_id}/visits", status_code=201)
def record_visit(
    event_id: int, body: VisitBody, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> dict[str, Any]:
    data = services.VisitInput(
        site_id=body.site_id,
        visited_at=body.visited_at,
        hazards=[services.Hazard(h.kind, h.severity, h.description) for h in body.hazards],
        measures=body.measures,
        notes=body.notes,
    )
    v = services.record_visit(uow, who, event_id, data, container.clock.now(), container.settings)
    return {**services.visit_dict(v, lang), "tasks": [t.id for t in services.visit_tasks(uow.session, v)]}


@router.get("/events/{event_id}/visits")
def list_visits(event_id: int, uow: UowDep, who: CurrentUser, lang: LangDep) -> list[dict[str, Any]]:
    return [services.visit_dict(v, lang) for v in services.list_visits(uow.session, who, event_id)]


@router.get("/visits/{visit_id}")
def get_visit(visit_id: int, uow: UowDep, who: CurrentUser, lang: LangDep) -> dict[str, Any]:
    s = uow.session
    v = services.access_visit(s, who, visit_id)
    return {
        **services.visit_dict(v, lang),
        "photos": [{"id": p.id, "filename": p.filename, "size": p.size} for p in services.visit_photos(s, v)],
        "tasks": [{"id": t.id, "title": t.title, "status": t.status} for t in services.visit_tasks(s, v)],
    }


@router.get("/visits/{visit_id}/photos/{photo_id}")
def get_photo(visit_id: int, photo_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep) -> Any:
    ph, path = services.open_photo(uow.session, who, visit_id, photo_id, container.settings)
    return FileResponse(path, media_type=ph.content_type, filename=ph.filename)


@router.post("/events/{event_id}/claims/import", status_code=201)
async def import_claims(
    event_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    data = await file.read()
    rep = services.import_claims(uow, who, event_id, file.filename or "", data, container.clock.now())
    return services.import_dict(rep.record)


@router.get("/events/{event_id}/comparison")
def event_comparison(event_id: int, uow: UowDep, who: CurrentUser, lang: LangDep) -> dict[str, Any]:
    ev, cmp, _ = services.comparison(uow.session, who, event_id, lang)
    return {"event": services.event_dict(ev), **services.comparison_dict(cmp)}


__all__ = ["router", "Perm"]
