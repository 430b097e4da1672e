"""Risk radar HTML pages: events (create from a track file, assess), the portfolio with its import report,
the map (Leaflet, offline by default), the ranked list, the per-branch visit plan, visit records (htmx form,
hazards → co-handling tasks), claims import and the actual-versus-modelled comparison (ECharts).

Routes are thin: parse the form, call `services`, redirect (303) or re-render with the problem next to the
form. Every read goes through the services' access checks."""

from __future__ import annotations

import json
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from xiaobao.auth.roles import Perm
from xiaobao.core.errors import FieldProblem, ValidationFailed
from xiaobao.radar import followup, services
from xiaobao.radar.api import parse_time
from xiaobao.web.deps import ContainerDep, CurrentUser, LangDep, UowDep
from xiaobao.web.forms import is_htmx, problems_by_field
from xiaobao.web.templating import render, templates

router = APIRouter(include_in_schema=False)
SHANGHAI = ZoneInfo("Asia/Shanghai")

CONSTRUCTION_LABELS = {
    "reinforced_concrete": ("钢筋混凝土", "reinforced concrete"),
    "steel_frame": ("钢结构", "steel frame"),
    "masonry": ("砖混", "masonry"),
    "light_steel": ("轻钢", "light steel"),
    "timber": ("木结构", "timber"),
    "temporary": ("临时建筑", "temporary"),
}
PLAN_STATUS = {"planned": ("已排期", "planned"), "unreachable": ("无法走访", "unreachable")}
VISIT_STATUS = {
    "visited": ("已走访", "visited"),
    "planned": ("已排期", "planned"),
    "none": ("未走访", "not visited"),
}


def _yuan(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}"


def _wan(v: float | None) -> str:
    """Amount in 万元 with one decimal."""
    if v is None:
        return "—"
    return f"{v / 10_000:,.1f}"


templates.env.filters["yuan"] = _yuan
templates.env.filters["wan"] = _wan
templates.env.globals["mask_contact"] = services.mask_contact


def _ctx(lang: str, **more: Any) -> dict[str, Any]:
    def pick(label: tuple[str, str]) -> str:
        return label[0] if lang == "zh" else label[1]

    return {
        "pick": pick,
        "HAZARD_KINDS": services.HAZARD_KINDS,
        "SEVERITIES": services.SEVERITIES,
        "MEASURES": services.MEASURES,
        "PLAN_STATUS": PLAN_STATUS,
        "VISIT_STATUS": VISIT_STATUS,
        "band_label": lambda k: followup.band_label(k, lang),
        "cons": lambda k: pick(CONSTRUCTION_LABELS[k]) if k in CONSTRUCTION_LABELS else k,
        **more,
    }


def _event_nav(s: Any, who: Any, ev: Any, active: str) -> dict[str, Any]:
    return {"ev": ev, "active": active, "summary": services.event_summary(s, who, ev)}


# ---------------------------------------------------------------- events


@router.get("/radar")
def events_page(request: Request, uow: UowDep, who: CurrentUser, lang: LangDep) -> Any:
    events = services.list_events(uow.session, who)
    return render(request, "radar/events.html", _ctx(lang, events=events, problems={}, values={}))


@router.post("/radar/events")
async def create_event(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    container: ContainerDep,
    file: UploadFile,
    name: Annotated[str, Form()] = "",
    format: Annotated[str, Form()] = "auto",  # noqa: A002 - the form field's name
    reference_time: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "H08",
) -> Any:
    values = {"name": name, "format": format, "reference_time": reference_time, "model": model}
    try:
        ref = None
        if reference_time.strip():
            raw = reference_time.strip()
            ref = parse_time(
                "reference_time", raw if ("+" in raw[10:] or raw.endswith("Z")) else raw + "+08:00"
            )
        ev = services.create_event(
            uow,
            who,
            filename=file.filename or "",
            data=await file.read(),
            now=container.clock.now(),
            fmt=format,  # type: ignore[arg-type]
            name=name or None,
            reference_time=ref,
            model=model,
        )
    except ValidationFailed as e:
        uow.rollback()
        events = services.list_events(uow.session, who)
        ctx = _ctx(lang, events=events, problems=problems_by_field(e, lang), values=values)
        return render(request, "radar/events.html", ctx, status_code=422)
    return RedirectResponse(f"/radar/events/{ev.id}", status_code=303)


@router.get("/radar/events/{event_id}")
def event_page(event_id: int, request: Request, uow: UowDep, who: CurrentUser, lang: LangDep) -> Any:
    s = uow.session
    ev = services.access_event(s, who, event_id)
    top = (
        services.ranking(s, who, ev.id, services.RankingFilter(per_page=10))[1]
        if ev.status == "assessed"
        else []
    )
    ctx = _ctx(lang, **_event_nav(s, who, ev, "overview"), top=top, plans=services.plans(s, who, ev.id))
    return render(request, "radar/event.html", ctx)


@router.post("/radar/events/{event_id}/assess")
def assess_event(event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep) -> Any:
    services.assess_event(uow, who, event_id, container.clock.now())
    return RedirectResponse(f"/radar/events/{event_id}", status_code=303)


@router.get("/radar/events/{event_id}/map")
def map_page(
    event_id: int, request: Request, uow: UowDep, who: CurrentUser, lang: LangDep, container: ContainerDep
) -> Any:
    s = uow.session
    ev = services.access_event(s, who, event_id)
    settings = container.settings
    tiles = {"url": settings.radar_tile_url, "attribution": settings.radar_tile_attribution}
    ctx = _ctx(lang, **_event_nav(s, who, ev, "map"), tiles_json=json.dumps(tiles), bands=followup.WIND_BANDS)
    return render(request, "radar/map.html", ctx)


@router.get("/radar/events/{event_id}/ranking")
def ranking_page(
    event_id: int,
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    org_id: Annotated[str, Query()] = "",
    industry: str = "",
    sort: str = "rank",
    all_sites: bool = False,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Any:
    s = uow.session
    f = services.RankingFilter(
        int(org_id) if org_id.isdigit() else None, industry or None, sort, not all_sites, page, 100
    )
    ev, rows, total, sums = services.ranking(s, who, event_id, f)
    visited = services._visited_sites(s, who, ev.id)
    planned = services._planned_sites(s, who, ev.id)
    ctx = _ctx(
        lang,
        **_event_nav(s, who, ev, "ranking"),
        rows=rows,
        total=total,
        sums=sums,
        f=f,
        orgs=services.import_orgs(s, who),
        industries=services.industries(s, who),
        visited=visited,
        planned=planned,
        unreachable=services._unreachable_sites(s, who, ev.id),
        pages=max(1, (total + f.per_page - 1) // f.per_page),
    )
    return render(request, "radar/ranking.html", ctx)


# ---------------------------------------------------------------- plan


def _plan_ctx(s: Any, who: Any, ev: Any, lang: str, org_id: int | None, **more: Any) -> dict[str, Any]:
    plans = services.plans(s, who, ev.id)
    orgs = services.plan_orgs(s, who, ev.id)
    current = next((p for p in plans if p.org_id == org_id), None)
    if org_id is None and plans:
        current = plans[0]
    items = services.plan_items(s, current) if current else []
    by_slot: dict[tuple[str, int], list[Any]] = {}
    days: list[str] = []
    for i in items:
        if i.status == "planned" and i.slot_start is not None and i.inspector is not None:
            day = i.slot_start.astimezone(SHANGHAI).strftime("%m-%d")
            if day not in days:
                days.append(day)
            by_slot.setdefault((day, i.inspector), []).append(i)
    return _ctx(
        lang,
        **_event_nav(s, who, ev, "plan"),
        plans=plans,
        orgs=orgs,
        current=current,
        items=items,
        days=days,
        by_slot=by_slot,
        unreachable=[i for i in items if i.status == "unreachable"],
        selected_org=current.org_id if current else (org_id or (orgs[0][0].id if orgs else None)),
        **more,
    )


@router.get("/radar/events/{event_id}/plan")
def plan_page(
    event_id: int,
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    org_id: Annotated[str, Query()] = "",
) -> Any:
    s = uow.session
    ev = services.access_event(s, who, event_id)
    oid = int(org_id) if org_id.isdigit() else None
    return render(request, "radar/plan.html", _plan_ctx(s, who, ev, lang, oid, problems={}, values={}))


@router.post("/radar/events/{event_id}/plan")
def plan_submit(
    event_id: int,
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    container: ContainerDep,
    org_id: Annotated[int, Form()],
    inspectors: Annotated[str, Form()] = "2",
    visits_per_day: Annotated[str, Form()] = "4",
    work_start: Annotated[str, Form()] = "08:00",
    work_end: Annotated[str, Form()] = "18:00",
    margin_hours: Annotated[str, Form()] = "2",
) -> Any:
    values = {"inspectors": inspectors, "visits_per_day": visits_per_day, "work_start": work_start,
              "work_end": work_end, "margin_hours": margin_hours}  # fmt: skip
    try:
        nums: dict[str, Any] = {}
        problems = []
        for k, conv in (("inspectors", int), ("visits_per_day", int), ("margin_hours", float)):
            try:
                nums[k] = conv(values[k])
            except ValueError:
                problems.append(FieldProblem(k, "请输入数字", "enter a number"))
        if problems:
            raise ValidationFailed(problems)
        services.make_plan(
            uow,
            who,
            event_id,
            services.PlanInput(org_id=org_id, work_start=work_start, work_end=work_end, **nums),
            container.clock.now(),
        )
    except ValidationFailed as e:
        uow.rollback()
        s = uow.session
        ev = services.access_event(s, who, event_id)
        ctx = _plan_ctx(s, who, ev, lang, org_id, problems=problems_by_field(e, lang), values=values)
        return render(request, "radar/plan.html", ctx, status_code=422)
    return RedirectResponse(f"/radar/events/{event_id}/plan?org_id={org_id}", status_code=303)


# ---------------------------------------------------------------- visits


def _visit_ctx(s: Any, who: Any, ev: Any, lang: str, **more: Any) -> dict[str, Any]:
    visits = services.list_visits(s, who, ev.id)
    planned = services._planned_sites(s, who, ev.id)
    choices = list(services.ranking(s, who, ev.id, services.RankingFilter(per_page=300))[1])
    wanted = str(more.get("values", {}).get("site_id") or "")
    if wanted.isdigit() and int(wanted) not in {a.site_id for a in choices}:
        choices += [a for a in services.assessments(s, who, ev) if a.site_id == int(wanted)]
    return _ctx(
        lang,
        **_event_nav(s, who, ev, "visits"),
        visits=visits,
        choices=choices,
        planned=planned,
        tasks={v.id: services.visit_tasks(s, v) for v in visits},
        **more,
    )


@router.get("/radar/events/{event_id}/visits")
def visits_page(
    event_id: int, request: Request, uow: UowDep, who: CurrentUser, lang: LangDep, site_id: str = ""
) -> Any:
    s = uow.session
    ev = services.access_event(s, who, event_id)
    values = {"site_id": site_id}
    return render(
        request, "radar/visits.html", _visit_ctx(s, who, ev, lang, problems={}, values=values, done=None)
    )


@router.post("/radar/events/{event_id}/visits")
async def visit_submit(
    event_id: int, request: Request, uow: UowDep, who: CurrentUser, lang: LangDep, container: ContainerDep
) -> Any:
    form = await request.form()
    values: dict[str, Any] = {k: form.get(k, "") for k in ("site_id", "visited_at", "notes")}
    measures = [str(m) for m in form.getlist("measures")]
    hazards = []
    for i in range(5):
        kind = str(form.get(f"hazard_kind_{i}", "") or "")
        if kind:
            hazards.append(
                services.Hazard(
                    kind,
                    str(form.get(f"hazard_severity_{i}", "medium")),
                    str(form.get(f"hazard_desc_{i}", "")),
                )
            )
        values[f"hazard_kind_{i}"] = kind
        values[f"hazard_severity_{i}"] = form.get(f"hazard_severity_{i}", "medium")
        values[f"hazard_desc_{i}"] = form.get(f"hazard_desc_{i}", "")
    values["measures"] = measures
    photos = []
    for up in form.getlist("photos"):
        if isinstance(up, str) or not up.filename:
            continue
        photos.append((up.filename, await up.read()))
    try:
        site_raw = str(values["site_id"])
        if not site_raw.isdigit():
            raise ValidationFailed([FieldProblem("site_id", "请选择走访企业", "choose the site visited")])
        raw_t = str(values["visited_at"]).strip()
        visited_at = (
            parse_time(
                "visited_at", raw_t if ("+" in raw_t[10:] or raw_t.endswith("Z")) else raw_t + "+08:00"
            )
            if raw_t
            else container.clock.now()
        )
        assert visited_at is not None
        v = services.record_visit(
            uow,
            who,
            event_id,
            services.VisitInput(int(site_raw), visited_at, hazards, measures, str(values["notes"])),
            container.clock.now(),
            container.settings,
            photos,
        )
    except ValidationFailed as e:
        uow.rollback()
        s = uow.session
        ev = services.access_event(s, who, event_id)
        ctx = _visit_ctx(s, who, ev, lang, problems=problems_by_field(e, lang), values=values, done=None)
        name = "radar/_visit_form.html" if is_htmx(request) else "radar/visits.html"
        return render(request, name, ctx, status_code=422)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": f"/radar/visits/{v.id}"})
    return RedirectResponse(f"/radar/visits/{v.id}", status_code=303)


@router.get("/radar/visits/{visit_id}")
def visit_page(visit_id: int, request: Request, uow: UowDep, who: CurrentUser, lang: LangDep) -> Any:
    s = uow.session
    v = services.access_visit(s, who, visit_id)
    ev = services.access_event(s, who, v.event_id)
    ctx = _ctx(
        lang,
        **_event_nav(s, who, ev, "visits"),
        v=v,
        photos=services.visit_photos(s, v),
        tasks=services.visit_tasks(s, v),
    )
    return render(request, "radar/visit.html", ctx)


@router.get("/radar/visits/{visit_id}/photos/{photo_id}")
def visit_photo(visit_id: int, photo_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep) -> Any:
    from fastapi.responses import FileResponse

    ph, path = services.open_photo(uow.session, who, visit_id, photo_id, container.settings)
    return FileResponse(path, media_type=ph.content_type, filename=ph.filename)


# ---------------------------------------------------------------- sites


@router.get("/radar/sites")
def sites_page(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    q: str = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Any:
    s = uow.session
    rows, total = services.list_sites(s, who, q=q or None, page=page, per_page=50)
    ctx = _ctx(
        lang,
        rows=rows,
        total=total,
        q=q,
        page=page,
        pages=max(1, (total + 49) // 50),
        orgs=services.import_orgs(s, who) if who.can(Perm.RADAR_MANAGE) else [],
        report=services.last_import(s, who, "sites") if who.can(Perm.RADAR_MANAGE) else None,
        problems={},
    )
    return render(request, "radar/sites.html", ctx)


@router.post("/radar/sites/import")
async def sites_import(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    container: ContainerDep,
    file: UploadFile,
    org_id: Annotated[str, Form()] = "",
) -> Any:
    try:
        services.import_sites(
            uow,
            who,
            file.filename or "",
            await file.read(),
            int(org_id) if org_id.isdigit() else (who.org_id or 0),
            container.clock.now(),
        )
    except ValidationFailed as e:
        uow.rollback()
        s = uow.session
        rows, total = services.list_sites(s, who, page=1, per_page=50)
        ctx = _ctx(lang, rows=rows, total=total, q="", page=1, pages=max(1, (total + 49) // 50),
                   orgs=services.import_orgs(s, who), report=None, problems=problems_by_field(e, lang))  # fmt: skip
        return render(request, "radar/sites.html", ctx, status_code=422)
    return RedirectResponse("/radar/sites#report", status_code=303)


# ---------------------------------------------------------------- claims and comparison


@router.get("/radar/events/{event_id}/claims")
def claims_page(event_id: int, request: Request, uow: UowDep, who: CurrentUser, lang: LangDep) -> Any:
    s = uow.session
    ev = services.access_event(s, who, event_id)
    report = services.last_import(s, who, "claims", ev.id) if who.can(Perm.RADAR_MANAGE) else None
    return render(
        request,
        "radar/claims.html",
        _ctx(lang, **_event_nav(s, who, ev, "claims"), report=report, problems={}),
    )


@router.post("/radar/events/{event_id}/claims")
async def claims_import(
    event_id: int,
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    lang: LangDep,
    container: ContainerDep,
    file: UploadFile,
) -> Any:
    try:
        services.import_claims(
            uow, who, event_id, file.filename or "", await file.read(), container.clock.now()
        )
    except ValidationFailed as e:
        uow.rollback()
        s = uow.session
        ev = services.access_event(s, who, event_id)
        ctx = _ctx(lang, **_event_nav(s, who, ev, "claims"), report=None, problems=problems_by_field(e, lang))
        return render(request, "radar/claims.html", ctx, status_code=422)
    return RedirectResponse(f"/radar/events/{event_id}/claims#report", status_code=303)


@router.get("/radar/events/{event_id}/comparison")
def comparison_page(event_id: int, request: Request, uow: UowDep, who: CurrentUser, lang: LangDep) -> Any:
    s = uow.session
    ev, cmp, rows = services.comparison(s, who, event_id, lang)
    chart = {
        "branch": [
            [t.key, round(t.modelled / 10_000, 1), round(t.actual / 10_000, 1)] for t in cmp.by_branch
        ],
        "industry": [
            [t.key, round(t.modelled / 10_000, 1), round(t.actual / 10_000, 1)] for t in cmp.by_industry
        ],
        "labels": {
            "modelled": "模型预测" if lang == "zh" else "Modelled",
            "actual": "实际赔付" if lang == "zh" else "Actual",
        },
    }
    names = {a.site_id: a.site for a in services.assessments(s, who, ev)}
    top = sorted(rows, key=lambda o: -abs(o.actual - o.modelled))[:200]
    ctx = _ctx(
        lang,
        **_event_nav(s, who, ev, "comparison"),
        cmp=cmp,
        rows=top,
        n_rows=len(rows),
        names=names,
        chart_json=json.dumps(chart, ensure_ascii=False),
        method=followup.METHOD_ZH.format(n=cmp.avoided.min_unvisited)
        if lang == "zh"
        else followup.METHOD_EN.format(n=cmp.avoided.min_unvisited),
        limits=[zh if lang == "zh" else en for zh, en in followup.LIMITS],
    )
    return render(request, "radar/comparison.html", ctx)


__all__ = ["router"]
