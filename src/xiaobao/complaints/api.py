"""JSON API for complaints: thin routes that build a command and call a service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.complaints import queries, services
from xiaobao.complaints.domain import Action, Status, status_label
from xiaobao.complaints.schemas import (
    ActionRequest,
    ComplaintCreate,
    ComplaintListItem,
    ComplaintPage,
    ComplaintPublic,
    ContactCreate,
    NoteCreate,
    RootCauseUpdate,
    TrackRequest,
    TrackVerify,
)
from xiaobao.complaints.tables import Complaint
from xiaobao.core import pii
from xiaobao.core.errors import FieldProblem, ValidationFailed
from xiaobao.web.deps import ContainerDep, CurrentUser, UowDep, client_ip

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])
public_router = APIRouter(prefix="/api/v1/public", tags=["public"])


def to_public(
    c: Complaint,
    who: Principal,
    now: datetime,
    due_soon: timedelta,
    *,
    reveal: bool = False,
    lang: str = "zh",
) -> dict[str, Any]:
    masked = not reveal
    return ComplaintPublic(
        id=c.id,
        tracking_no=c.tracking_no,
        version=c.version,
        status=c.status,
        status_label=status_label(c.status, lang),
        org_code=c.org.code,
        org_name=c.org.name(lang),
        handler=c.handler.display_name if c.handler else None,
        complainant_name=pii.mask_name(c.complainant_name) if masked else c.complainant_name,
        id_number=(pii.mask_id(c.id_number) if masked else c.id_number) if c.id_number else None,
        phone=pii.mask_phone(c.phone) if masked else c.phone,
        pii_masked=masked,
        special_groups=c.groups(),
        policy_no=c.policy_no,
        claim_no=c.claim_no,
        business_line=c.business_line,
        cause=c.cause,
        demand=c.demand,
        channel=c.channel,
        regulator_ref=c.regulator_ref,
        description=pii.mask_text(c.description) if masked else c.description,
        received_at=c.received_at,
        regulatory_due=c.regulatory_due,
        contact_due=c.contact_due,
        deadline_state=services.deadline_state(c, now, due_soon),
        extension_level=c.extension_level,
        extension2_requested=c.extension2_requested,
        paused=c.paused_since is not None,
        decided_at=c.decided_at,
        decision_outcome=c.decision_outcome,
        decision=c.decision,
        closed_at=c.closed_at,
        on_time=c.on_time,
    ).model_dump(mode="json")


def to_item(c: Complaint, now: datetime, due_soon: timedelta, lang: str = "zh") -> ComplaintListItem:
    return ComplaintListItem(
        id=c.id,
        tracking_no=c.tracking_no,
        status=c.status,
        status_label=status_label(c.status, lang),
        org_name=c.org.name(lang),
        complainant_name=pii.mask_name(c.complainant_name),
        business_line=c.business_line,
        cause=c.cause,
        channel=c.channel,
        received_at=c.received_at,
        regulatory_due=c.regulatory_due,
        deadline_state=services.deadline_state(c, now, due_soon),
        special_groups=c.groups(),
        handler=c.handler.display_name if c.handler else None,
    )


def _ctx(container: ContainerDep) -> services.IntakeContext:
    return services.IntakeContext(
        now=container.clock.now(),
        calendar=container.calendar,
        contact_workdays=container.settings.contact_target_workdays,
    )


@router.post("", status_code=201, summary="Register a complaint (hotline/CRM); honours Idempotency-Key")
def create(
    data: ComplaintCreate,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> JSONResponse:
    if not who.can(Perm.COMPLAINT_CREATE):
        from xiaobao.core.errors import Forbidden

        raise Forbidden()
    ctx = _ctx(container)
    due_soon = container.settings.due_soon

    def render(c: Complaint) -> dict[str, Any]:
        return to_public(c, who, ctx.now, due_soon)

    if idempotency_key:
        status, body, replayed = services.intake_idempotent(
            uow, who, data, ctx, key=idempotency_key, render=render
        )
        # committed: publish here, in this worker thread (saves the request a thread hand-off at its end)
        container.publish(uow.collect_events())
        return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": str(replayed).lower()})
    c = services.create_complaint(uow.session, who, data, ctx)
    body = render(c)
    uow.commit()
    from xiaobao.complaints.events import ComplaintReceived

    uow.emit(ComplaintReceived(c.id, phone=c.phone, tracking_no=c.tracking_no))
    container.publish(uow.collect_events())
    return JSONResponse(body, status_code=201)


@router.get("", response_model=ComplaintPage)
def list_(
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    status: Annotated[list[str] | None, Query()] = None,
    org: str | None = None,
    business_line: str | None = None,
    cause: str | None = None,
    channel: str | None = None,
    due: str | None = None,
    special_group: str | None = None,
    q: str | None = None,
    sort: str = "-received",
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ComplaintPage:
    if not who.can(Perm.COMPLAINT_VIEW):
        from xiaobao.core.errors import Forbidden

        raise Forbidden()
    if status:
        bad = [s for s in status if s not in Status.__members__.values()]
        if bad:
            raise ValidationFailed([FieldProblem("status", f"未知状态 {bad}", f"unknown status {bad}")])
    f = queries.ComplaintFilter(
        status=status,
        org_code=org,
        business_line=business_line,
        cause=cause,
        channel=channel,
        due=due,
        special_group=special_group,
        q=q,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    now = container.clock.now()
    total, rows = queries.list_complaints(uow.session, who, f, now, container.settings.due_soon)
    return ComplaintPage(
        total=total,
        total_capped=total.capped,
        page=page,
        per_page=per_page,
        items=[to_item(c, now, container.settings.due_soon) for c in rows],
    )


@router.get("/{complaint_id}")
def get(
    complaint_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, reveal: bool = False
) -> dict[str, Any]:
    """`reveal=true` shows ID and phone unmasked to roles that need them; the view is audited."""
    now = container.clock.now()
    c = services.access_complaint(uow.session, who, complaint_id)
    if reveal:
        services.reveal_pii(uow.session, who, c, now)
        uow.commit()
    return to_public(c, who, now, container.settings.due_soon, reveal=reveal)


@router.post("/{complaint_id}/actions/{action}")
def act(
    complaint_id: int,
    action: Action,
    req: ActionRequest,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
) -> dict[str, Any]:
    now = container.clock.now()
    c = services.act(uow, who, complaint_id, action, req, now)
    return to_public(c, who, now, container.settings.due_soon)


@router.post("/{complaint_id}/contacts", status_code=201)
def contact(
    complaint_id: int, req: ContactCreate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    now = container.clock.now()
    c = services.record_contact(uow, who, complaint_id, req.method, req.outcome, req.note, now)
    return to_public(c, who, now, container.settings.due_soon)


@router.post("/{complaint_id}/notes", status_code=201)
def note(
    complaint_id: int, req: NoteCreate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    now = container.clock.now()
    c = services.add_note(uow, who, complaint_id, req.text, now)
    return to_public(c, who, now, container.settings.due_soon)


@router.put("/{complaint_id}/root-cause")
def root_cause(
    complaint_id: int, req: RootCauseUpdate, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    now = container.clock.now()
    c = services.set_root_cause(uow, who, complaint_id, req.version, req.root_cause, req.rectification, now)
    return to_public(c, who, now, container.settings.due_soon)


@router.get("/{complaint_id}/timeline")
def timeline(complaint_id: int, uow: UowDep, who: CurrentUser) -> list[dict[str, Any]]:
    c = services.access_complaint(uow.session, who, complaint_id)
    return [
        {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor_label, "text": e.text, "data": e.data}
        for e in services.timeline(uow.session, c)
    ]


@router.get("/{complaint_id}/duplicates")
def duplicates(
    complaint_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> list[dict[str, Any]]:
    c = services.access_complaint(uow.session, who, complaint_id)
    now = container.clock.now()
    return [
        to_item(d, now, container.settings.due_soon).model_dump(mode="json")
        for d in services.duplicate_candidates(uow.session, who, c)
    ]


@router.get("/{complaint_id}/notice", summary="The decision notice text")
def notice(complaint_id: int, uow: UowDep, who: CurrentUser) -> dict[str, Any]:
    c = services.access_complaint(uow.session, who, complaint_id)
    return {"tracking_no": c.tracking_no, "notice": c.notice_text}


# ---------------------------------------------------------------- public (no login)


@public_router.post("/complaints", status_code=201, summary="Consumer files a complaint (no login)")
def public_create(
    data: ComplaintCreate, request: Request, uow: UowDep, container: ContainerDep
) -> dict[str, Any]:
    c = services.create_public_complaint(uow, data, _ctx(container), client_ip(request))
    return {
        "tracking_no": c.tracking_no,
        "status": c.status,
        "status_label": status_label(c.status),
        "regulatory_due": c.regulatory_due.isoformat() if c.regulatory_due else None,
    }


@public_router.post("/track/code", status_code=202, summary="Text a one-time code to the complainant")
def track_code(req: TrackRequest, request: Request, uow: UowDep, container: ContainerDep) -> dict[str, str]:
    services.send_tracking_code(
        uow, req.tracking_no, container.clock.now(), container.sms, ip=client_ip(request)
    )
    return {
        "message_zh": "如编号正确，验证码已发送至登记的手机",
        "message_en": "If the number exists, a code was sent",
    }


@public_router.post("/track", summary="Follow a complaint with its tracking number and the texted code")
def track(req: TrackVerify, request: Request, uow: UowDep, container: ContainerDep) -> dict[str, Any]:
    c = services.verify_tracking_code(
        uow, req.tracking_no, req.code, container.clock.now(), ip=client_ip(request)
    )
    return {
        "tracking_no": c.tracking_no,
        "status": c.status,
        "status_label": status_label(c.status),
        "received_at": c.received_at.isoformat(),
        "regulatory_due": c.regulatory_due.isoformat() if c.regulatory_due else None,
        "notice": c.notice_text,
        "events": [
            {"at": e.at.isoformat(), "kind": e.kind} for e in services.public_timeline(uow.session, c)
        ],
    }


# ---------------------------------------------------------------- attachments


def _attachment_json(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "uploaded_at": a.uploaded_at.isoformat(),
        "url": f"/api/v1/complaints/{a.complaint_id}/attachments/{a.id}",
    }


@router.post("/{complaint_id}/attachments", status_code=201, summary="Upload an attachment (multipart: file)")
def upload_attachment(
    complaint_id: int,
    file: Annotated[UploadFile, File()],
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
) -> dict[str, Any]:
    from xiaobao.complaints import attachments

    limit = container.settings.attachment_max_bytes
    data = file.file.read(limit + 1)  # one byte over the limit is enough to refuse it
    att = attachments.add_attachment(
        uow,
        who,
        complaint_id,
        file.filename,
        file.content_type,
        data,
        container.clock.now(),
        container.settings,
    )
    return _attachment_json(att)


@router.get("/{complaint_id}/attachments")
def list_attachments(complaint_id: int, uow: UowDep, who: CurrentUser) -> list[dict[str, Any]]:
    from xiaobao.complaints import attachments

    return [_attachment_json(a) for a in attachments.list_attachments(uow.session, who, complaint_id)]


@router.get("/{complaint_id}/attachments/{attachment_id}", response_class=FileResponse)
def download_attachment(
    complaint_id: int, attachment_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> FileResponse:
    from xiaobao.complaints import attachments

    att, path = attachments.open_attachment(
        uow, who, complaint_id, attachment_id, container.clock.now(), container.settings
    )
    return FileResponse(
        path,
        media_type=att.content_type,
        filename=att.filename,
        headers={"Cache-Control": "private, no-store"},
    )
