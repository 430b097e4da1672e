"""JSON API for claims: /api/v1/claims... Thin routes that build a command and call a service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.claims import attachments, deadlines, events, queries, services, staff
from xiaobao.claims.domain import Action, Status, allowed_actions, status_label
from xiaobao.claims.policies import PolicyFileError, import_policies
from xiaobao.claims.schemas import (
    ActionRequest,
    BulkTag,
    ContactCreate,
    EventCreate,
    FactoryCreate,
    ReportCreate,
    RescueCreate,
    RescueUpdate,
    StaffUpsert,
)
from xiaobao.claims.tables import CatEvent, ClaimCase, ContactAttempt, RescueRequest
from xiaobao.core import pii
from xiaobao.core.errors import FieldProblem, Forbidden, ValidationFailed
from xiaobao.web.deps import ContainerDep, CurrentUser, UowDep

router = APIRouter(prefix="/api/v1/claims", tags=["claims"])


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _num(v: Any) -> str | None:
    return None if v is None else str(v)


def to_public(c: ClaimCase, now: datetime, *, reveal: bool = False, lang: str = "zh") -> dict[str, Any]:
    masked = not reveal
    contact_state = deadlines.assess(c.contact_due, c.contacted_at, now, (c.contact_due - c.reported_at) / 5)
    return {
        "id": c.id,
        "report_no": c.report_no,
        "version": c.version,
        "status": c.status,
        "status_label": status_label(c.status, lang),
        "channel": c.channel,
        "org_code": c.org.code,
        "reporter_name": pii.mask_name(c.reporter_name) if masked else c.reporter_name,
        "reporter_phone": pii.mask_phone(c.reporter_phone) if masked else c.reporter_phone,
        "pii_masked": masked,
        "special_group": c.special_group,
        "policy_no": c.policy_no,
        "policy_check": c.policy_check,
        "line": c.line,
        "cause": c.cause,
        "loss_at": _iso(c.loss_at),
        "place_text": c.place_text,
        "district_code": c.district_code,
        "geocode": c.geocode,
        "lat": c.lat,
        "lon": c.lon,
        "vehicle_plate": c.vehicle_plate,
        "property_address": c.property_address,
        "description": pii.mask_text(c.description) if masked else c.description,
        "people_at_risk": c.people_at_risk,
        "rescue_needed": c.rescue_needed,
        "estimated_amount": _num(c.estimated_amount),
        "fast_track": c.fast_track,
        "priority": c.priority,
        "event_id": c.event_id,
        "event_mode": c.event_mode,
        "assigned_user": c.assignee.display_name if c.assignee else None,
        "assigned_user_id": c.assigned_user_id,
        "survey_method": c.survey_method,
        "assessed_amount": _num(c.assessed_amount),
        "prepaid_amount": _num(c.prepaid_amount),
        "settled_amount": _num(c.settled_amount),
        "paid_amount": _num(c.paid_amount),
        "denial_reason": c.denial_reason,
        "close_reason": c.close_reason,
        "contact_attempts": c.contact_attempts,
        "next_retry_at": _iso(c.next_retry_at),
        "reported_at": _iso(c.reported_at),
        "contacted_at": _iso(c.contacted_at),
        "info_collected_at": _iso(c.info_collected_at),
        "surveyed_at": _iso(c.surveyed_at),
        "assessed_at": _iso(c.assessed_at),
        "settled_at": _iso(c.settled_at),
        "paid_at": _iso(c.paid_at),
        "denied_at": _iso(c.denied_at),
        "denial_notified_at": _iso(c.denial_notified_at),
        "closed_at": _iso(c.closed_at),
        "deadlines": {
            "contact_due": _iso(c.contact_due),
            "contact_state": contact_state.value,
            "survey_due": _iso(c.survey_due),
            "decision_due": _iso(c.decision_due),
            "prepay_due": _iso(c.prepay_due),
            "payment_due": _iso(c.payment_due),
            "denial_notice_due": _iso(c.denial_notice_due),
        },
    }


def to_item(c: ClaimCase, lang: str = "zh") -> dict[str, Any]:
    return {
        "id": c.id,
        "report_no": c.report_no,
        "status": c.status,
        "status_label": status_label(c.status, lang),
        "line": c.line,
        "cause": c.cause,
        "district_code": c.district_code,
        "reporter_name": pii.mask_name(c.reporter_name),
        "vehicle_plate": c.vehicle_plate,
        "priority": c.priority,
        "event_id": c.event_id,
        "reported_at": _iso(c.reported_at),
        "contact_due": _iso(c.contact_due),
        "assigned_user": c.assignee.display_name if c.assignee else None,
    }


def _need(who: Principal, perm: Perm) -> None:
    if not who.can(perm):
        raise Forbidden()


@router.post(
    "", status_code=201, summary="Report a claim (agent, hotline or integration); honours Idempotency-Key"
)
def create(
    data: ReportCreate,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> JSONResponse:
    _need(who, Perm.CLAIM_CREATE)
    now = container.clock.now()

    def render(c: ClaimCase) -> dict[str, Any]:
        return to_public(c, now)

    if idempotency_key:
        status, body, replayed = services.intake_idempotent(
            uow, who, data, now, key=idempotency_key, render=render
        )
        return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": str(replayed).lower()})
    c = services.create_report(uow.session, who, data, now)
    body = render(c)
    uow.commit()
    return JSONResponse(body, status_code=201)


@router.get("")
def list_(
    uow: UowDep,
    who: CurrentUser,
    status: Annotated[list[str] | None, Query()] = None,
    event_id: int | None = None,
    region: str | None = None,
    line: str | None = None,
    queue: str | None = None,
    q: str | None = None,
    sort: str = "-reported",
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    _need(who, Perm.CLAIM_VIEW)
    f = queries.CaseFilter(status, event_id, region, line, queue, q, sort, page, per_page)
    total, rows = queries.list_cases(uow.session, who, f)
    return {"total": total, "page": page, "per_page": per_page, "items": [to_item(c) for c in rows]}


@router.get("/queue", summary="The contact queue: cases not yet contacted and not closed, most urgent first")
def queue(uow: UowDep, who: CurrentUser, container: ContainerDep) -> dict[str, Any]:
    _need(who, Perm.CLAIM_VIEW)
    now = container.clock.now()
    items = queries.contact_queue(uow.session, who, now)
    return {
        "counts": queries.queue_counts(uow.session, who, now),
        "items": [
            {
                **to_item(i.case),
                "sla_state": i.state.value,
                "event_mode": i.case.event_mode,
                "retry_due": i.retry_due,
                "next_retry_at": _iso(i.case.next_retry_at),
                "contact_attempts": i.case.contact_attempts,
                "waiting_minutes": int(i.waiting.total_seconds() // 60),
            }
            for i in items
        ],
    }


@router.post("/dispatch", summary="Run the dispatch engine over the waiting work and assign it")
def dispatch_run(who: CurrentUser, container: ContainerDep) -> dict[str, Any]:
    from xiaobao.claims import dispatching

    res = dispatching.run(container, who, container.clock.now())
    return {"items": res.items, "staff": res.staff, "assigned": res.assigned, "skipped": res.skipped}


# ---------------------------------------------------------------- events, staff, factories, policies


def _event_json(e: CatEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "code": e.code,
        "name": e.name,
        "peril": e.peril,
        "regions": e.regions,
        "starts_at": _iso(e.starts_at),
        "ends_at": _iso(e.ends_at),
        "contact_minutes": e.contact_minutes,
        "survey_hours": e.survey_hours,
        "active": e.active,
    }


@router.get("/events")
def events_list(uow: UowDep, who: CurrentUser) -> list[dict[str, Any]]:
    return [_event_json(e) for e in events.list_events(uow.session, who)]


@router.post("/events", status_code=201, summary="Declare a catastrophe event (tags matching open cases)")
def events_declare(
    data: EventCreate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    e, tagged = events.declare(uow, who, data, container.clock.now())
    return {**_event_json(e), "tagged": tagged}


@router.get("/events/{event_id}")
def events_get(event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep) -> dict[str, Any]:
    e = events.get_event(uow.session, who, event_id)
    stats = events.event_stats(uow.session, who, event_id, container.clock.now())
    return {
        **_event_json(e),
        "stats": stats,
        "factories": [f.code for f in events.event_factories(uow.session, event_id)],
    }


@router.post("/events/{event_id}/tag", summary="Tag cases with the event in bulk")
def events_tag(
    event_id: int, data: BulkTag, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    return events.bulk_tag(uow, who, event_id, data, container.clock.now())


@router.post("/events/{event_id}/close")
def events_close(event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep) -> dict[str, Any]:
    return _event_json(events.close_event(uow, who, event_id, container.clock.now()))


@router.post("/events/{event_id}/factories", status_code=201, summary="Move a factory onto the event")
def events_factory(
    event_id: int,
    factory_code: Annotated[str, Query(max_length=16)],
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
) -> dict[str, Any]:
    fe = events.assign_factory(uow, who, event_id, factory_code, container.clock.now())
    return {"event_id": fe.event_id, "factory_id": fe.factory_id}


@router.get("/factories")
def factories_list(uow: UowDep, who: CurrentUser) -> list[dict[str, Any]]:
    return [
        {
            "code": f.code,
            "name_zh": f.name_zh,
            "name_en": f.name_en,
            "city": f.city,
            "regions": f.regions,
            "active": f.active,
        }
        for f in staff.factories(uow.session, who)
    ]


@router.post("/factories", status_code=201)
def factories_create(
    data: FactoryCreate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    f = staff.create_factory(uow, who, data, container.clock.now())
    return {"id": f.id, "code": f.code, "regions": f.regions}


@router.get("/staff")
def staff_list(uow: UowDep, who: CurrentUser, container: ContainerDep) -> list[dict[str, Any]]:
    rows = staff.staff_rows(uow.session, who, container.clock.now())
    return [{**r, "authority_limit": str(r["authority_limit"])} for r in rows]


@router.put("/staff", summary="Create or update a staff profile (commanders move staff between factories)")
def staff_upsert(data: StaffUpsert, uow: UowDep, who: CurrentUser, container: ContainerDep) -> dict[str, Any]:
    p = staff.upsert_staff(uow, who, data, container.clock.now())
    return {"id": p.id, "user_id": p.user_id, "factory_id": p.factory_id}


@router.post("/policies/import", summary="Import policies (.csv / .xlsx) with a per-row report")
async def policies_import(
    uow: UowDep, who: CurrentUser, container: ContainerDep, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    _need(who, Perm.CAT_COMMAND)
    raw = await file.read()
    try:
        rep = import_policies(uow.session, who, file.filename or "policies.csv", raw, container.clock.now())
    except PolicyFileError as e:
        zh, _, en = str(e).partition(" / ")
        raise ValidationFailed([FieldProblem("file", zh, en or zh)]) from None
    uow.commit()
    return {
        "created": rep.created,
        "updated": rep.updated,
        "errors": [
            {
                "row": r.row,
                "problems": [{"field": p.field, "message_zh": p.zh, "message_en": p.en} for p in r.problems],
            }
            for r in rep.errors
        ],
    }


# ---------------------------------------------------------------- one case


@router.get("/{case_id:int}")
def get(
    case_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, reveal: bool = False
) -> dict[str, Any]:
    """`reveal=true` shows the reporter's name and phone unmasked to roles that must call them (audited)."""
    now = container.clock.now()
    if reveal:
        c = services.reveal(uow, who, case_id, now)
    else:
        c = services.access_claim(uow.session, who, case_id)
    body = to_public(c, now, reveal=reveal)
    body["allowed_actions"] = [a.value for a in allowed_actions(services.snapshot(c), who)]
    return body


@router.get("/{case_id:int}/timeline", summary="The full timeline, replayed: the case state after each step")
def timeline(case_id: int, uow: UowDep, who: CurrentUser) -> list[dict[str, Any]]:
    out = []
    for e, st in services.replay_case(uow.session, who, case_id):
        out.append(
            {
                "at": _iso(e.at),
                "kind": e.kind,
                "actor": e.actor_label,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "text": e.text,
                "data": e.data,
                "state": {
                    "status": st.status.value if st.status else None,
                    "assigned_user_id": st.assigned_user_id,
                    "event_id": st.event_id,
                    "contact_attempts": st.contact_attempts,
                },
            }
        )
    return out


@router.post("/{case_id:int}/actions/{action}")
def act(
    case_id: int, action: Action, req: ActionRequest, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    now = container.clock.now()
    c = services.act(uow, who, case_id, action, req, now)
    return to_public(c, now)


def _attempt_json(a: ContactAttempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "attempt_no": a.attempt_no,
        "at": _iso(a.at),
        "channel": a.channel,
        "outcome": a.outcome,
        "note": a.note,
        "next_retry_at": _iso(a.next_retry_at),
        "sms_sent_at": _iso(a.sms_sent_at),
    }


@router.post("/{case_id:int}/contacts", status_code=201)
def contact(
    case_id: int, data: ContactCreate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    return _attempt_json(services.record_contact(uow, who, case_id, data, container.clock.now()))


@router.get("/{case_id:int}/contacts")
def contacts(case_id: int, uow: UowDep, who: CurrentUser) -> list[dict[str, Any]]:
    return [_attempt_json(a) for a in services.contact_attempts(uow.session, who, case_id)]


def _rescue_json(r: RescueRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "vendor": r.vendor,
        "status": r.status,
        "requested_at": _iso(r.requested_at),
        "eta": _iso(r.eta),
        "accepted_at": _iso(r.accepted_at),
        "arrived_at": _iso(r.arrived_at),
        "done_at": _iso(r.done_at),
        "cancelled_at": _iso(r.cancelled_at),
    }


@router.post("/{case_id:int}/rescues", status_code=201)
def rescue_create(
    case_id: int, data: RescueCreate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    return _rescue_json(services.request_rescue(uow, who, case_id, data, container.clock.now()))


@router.get("/{case_id:int}/rescues")
def rescue_list(case_id: int, uow: UowDep, who: CurrentUser) -> list[dict[str, Any]]:
    return [_rescue_json(r) for r in services.rescues(uow.session, who, case_id)]


@router.put("/{case_id:int}/rescues/{rescue_id}")
def rescue_update(
    case_id: int, rescue_id: int, data: RescueUpdate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    return _rescue_json(services.update_rescue(uow, who, case_id, rescue_id, data, container.clock.now()))


@router.post("/{case_id:int}/attachments", status_code=201)
async def attachment_upload(
    case_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    data = await file.read()
    from starlette.concurrency import run_in_threadpool

    a = await run_in_threadpool(
        attachments.add_attachment,
        uow,
        who,
        case_id,
        file.filename,
        data,
        container.clock.now(),
        container.settings,
    )
    return {
        "id": a.id,
        "filename": a.filename,
        "kind": a.kind,
        "size": a.size,
        "content_type": a.content_type,
    }


@router.get("/{case_id:int}/attachments")
def attachment_list(case_id: int, uow: UowDep, who: CurrentUser) -> list[dict[str, Any]]:
    return [
        {
            "id": a.id,
            "filename": a.filename,
            "kind": a.kind,
            "size": a.size,
            "uploaded_at": _iso(a.uploaded_at),
        }
        for a in attachments.list_attachments(uow.session, who, case_id)
    ]


@router.get("/{case_id:int}/attachments/{attachment_id}")
def attachment_download(
    case_id: int, attachment_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> FileResponse:
    a, path = attachments.open_attachment(
        uow, who, case_id, attachment_id, container.clock.now(), container.settings
    )
    return FileResponse(path, media_type=a.content_type, filename=a.filename)


__all__ = ["router", "to_public", "Status"]
