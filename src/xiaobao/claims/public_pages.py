"""Consumer claim report on a phone, no sign-in (/public/claim): loss time and place (browser geolocation plus the
address), cause, vehicle plate or property address, people needing rescue, photos and videos; large-text elder
mode; tracking by report number and phone.

The anonymous-browser plumbing (signed double-submit CSRF token, elder-mode cookie, page rendering) is the one the
public complaint pages use (`web.public`); the per-IP limits count the audit rows the actions write
(`web.public.check_public_rate`). A double-tapped submit does not file twice: the form carries a one-off
submission key used as the Idempotency-Key of the intake."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile

from xiaobao.claims import attachments, services
from xiaobao.claims.domain import CAUSES, LINES, STATUS_META, Status, label
from xiaobao.claims.schemas import ReportCreate
from xiaobao.claims.tables import ClaimCase, ClaimEvent
from xiaobao.core import audit, pii
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import FieldProblem, RateLimited, ValidationFailed
from xiaobao.web.deps import ContainerDep, LangDep, UowDep, client_ip
from xiaobao.web.forms import form_problems
from xiaobao.web.public import (
    CSRF_FAILED,
    check_public_rate,
    csrf_ok,
    elder_mode,
    public_principal,
    public_redirect,
    render_public_page,
    seal,
    unseal,
)

router = APIRouter(prefix="/public", include_in_schema=False)

REPORT_LIMIT = 10
"""Anonymous reports per IP per hour (a family reporting several cars still fits)."""
TRACK_LIMIT = 20
MAX_FILES = 6
PUBLIC_CAUSES = (
    "typhoon",
    "rainstorm",
    "waterlogging",
    "flood",
    "fallen_object",
    "hail",
    "landslide",
    "collision",
    "fire",
    "other",
)


def _ctx(lang: str) -> dict[str, Any]:
    return {
        "LINES": LINES,
        "CAUSES": {k: CAUSES[k] for k in PUBLIC_CAUSES},
        "lbl": lambda table, code: label(table, code, lang),
    }


def _form(
    request: Request,
    container: Any,
    lang: str,
    raw: dict[str, Any],
    errors: dict[str, str],
    *,
    banner: str | None = None,
    status_code: int = 200,
    elder: bool | None = None,
) -> Response:
    ctx = {
        "v": raw,
        "errors": errors,
        "banner": banner,
        "submission": raw.get("submission") or secrets.token_urlsafe(16),
        **_ctx(lang),
    }
    return render_public_page(
        request, container, "public/claim_form.html", ctx, status_code=status_code, elder=elder
    )


@router.get("/claim")
def claim_form(request: Request, container: ContainerDep, lang: LangDep) -> Response:
    now = container.clock.now().astimezone(CN_TZ).strftime("%Y-%m-%dT%H:%M")
    return _form(request, container, lang, {"loss_at": now, "line": "motor"}, {})


@router.post("/claim")
async def claim_submit(request: Request, uow: UowDep, container: ContainerDep, lang: LangDep) -> Response:
    form = await request.form()
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    elder = elder_mode(request, raw.get("elder"))
    if not csrf_ok(request, container, raw.get("csrf_token", "")):
        return _form(
            request, container, lang, raw, {}, banner=CSRF_FAILED.message(lang), status_code=403, elder=elder
        )
    now = container.clock.now()
    ip = client_ip(request)
    errors: dict[str, str] = {}

    def add(p: FieldProblem) -> None:
        errors.setdefault(p.field, p.zh if lang == "zh" else p.en)

    if raw.get("consent") != "1":
        add(
            FieldProblem(
                "consent", "请阅读并同意个人信息处理说明", "Please accept the personal information notice"
            )
        )
    data: dict[str, Any] = {
        k: (raw.get(k) or "").strip() or None
        for k in (
            "reporter_name",
            "reporter_phone",
            "line",
            "cause",
            "place_text",
            "vehicle_plate",
            "property_address",
            "description",
            "lat",
            "lon",
        )
    }
    data["description"] = data["description"] or ""
    data["channel"] = "mobile"
    data["special_group"] = "elderly" if elder and raw.get("elderly") == "1" else None
    data["people_at_risk"] = raw.get("people_at_risk") or 0
    data["rescue_needed"] = raw.get("rescue_needed") == "1"
    for k in ("lat", "lon"):
        if data[k] is None:
            data.pop(k)
    try:
        data["loss_at"] = datetime.fromisoformat(raw.get("loss_at", "")).replace(tzinfo=CN_TZ)
    except ValueError:
        add(FieldProblem("loss_at", "请填写出险时间", "Please give the time of the loss"))
    if len(uploads) > MAX_FILES:
        add(FieldProblem("files", f"最多上传 {MAX_FILES} 个文件", f"At most {MAX_FILES} files"))
    files: list[tuple[str | None, bytes]] = []
    for up in uploads[:MAX_FILES]:
        content = await up.read()
        try:
            attachments.check_file(up.filename, content, container.settings, field="files")
            files.append((up.filename, content))
        except ValidationFailed as e:
            for p in e.problems:
                add(p)
    await form.close()
    report: ReportCreate | None = None
    if "loss_at" in data:
        try:
            report = ReportCreate(**data)
        except ValidationError as e:
            for p in form_problems(e, raw).problems:
                add(p)
    try:
        check_public_rate(uow.session, "claim.report", ip, now, REPORT_LIMIT)
        if report is not None:
            try:
                services.validate_report(uow.session, public_principal(ip), report, now, public=True)
            except ValidationFailed as e:
                for p in e.problems:
                    add(p)
        if errors or report is None:
            n = len(errors)
            msg = (
                f"有 {n} 处需要修改，请看标红的提示"
                if lang == "zh"
                else f"Please correct the {n} item(s) marked in red"
            )
            return _form(request, container, lang, raw, errors, banner=msg, status_code=422, elder=elder)
        who = public_principal(ip)
        status, body, replayed = services.intake_idempotent(
            uow,
            who,
            report,
            now,
            key=(raw.get("submission") or secrets.token_urlsafe(16))[:128],
            caller=f"public:{ip}",
            render=lambda c: {"id": c.id, "report_no": c.report_no},
            public=True,
        )
        if not replayed and files:
            c = uow.session.get(ClaimCase, body["id"])
            assert c is not None
            for name, content in files:
                attachments.store_attachment(
                    uow.session, c, who, name, content, now, container.settings, public=True
                )
            uow.commit()
    except RateLimited as e:
        extra = "。情况紧急请直接拨打 95500。" if lang == "zh" else ". In an emergency call 95500."
        return _form(
            request, container, lang, raw, {}, banner=e.message(lang) + extra, status_code=429, elder=elder
        )
    token = seal(container.settings.secret_key, "claim-filed", body["report_no"])
    return public_redirect(f"/public/claim/done?{urlencode({'t': token})}", request, container, elder)


@router.get("/claim/done")
def claim_done(request: Request, container: ContainerDep, lang: LangDep, t: str = "") -> Response:
    report_no = unseal(container.settings.secret_key, "claim-filed", t)
    if report_no is None:
        return RedirectResponse("/public/claim", status_code=303)
    return render_public_page(
        request, container, "public/claim_done.html", {"report_no": report_no, **_ctx(lang)}
    )


# ---------------------------------------------------------------- tracking


PUBLIC_STEPS = (
    Status.REPORTED,
    Status.CONTACTED,
    Status.INFO_COLLECTED,
    Status.SURVEYED,
    Status.ASSESSED,
    Status.SETTLED,
    Status.PAID,
    Status.CLOSED,
)


@router.get("/claim/track")
def track_form(request: Request, container: ContainerDep, lang: LangDep) -> Response:
    return render_public_page(
        request, container, "public/claim_track.html", {"v": {}, "case": None, "error": None, **_ctx(lang)}
    )


@router.post("/claim/track")
async def track_submit(request: Request, uow: UowDep, container: ContainerDep, lang: LangDep) -> Response:
    form = await request.form()
    raw = {k: v for k, v in form.items() if isinstance(v, str)}
    ctx: dict[str, Any] = {"v": raw, "case": None, "error": None, **_ctx(lang)}
    if not csrf_ok(request, container, raw.get("csrf_token", "")):
        ctx["error"] = CSRF_FAILED.message(lang)
        return render_public_page(request, container, "public/claim_track.html", ctx, status_code=403)
    ip = client_ip(request)
    now = container.clock.now()
    s = uow.session
    try:
        check_public_rate(s, "claim.public_track", ip, now, TRACK_LIMIT)
    except RateLimited as e:
        ctx["error"] = e.message(lang)
        return render_public_page(request, container, "public/claim_track.html", ctx, status_code=429)
    no = (raw.get("report_no") or "").strip().upper()
    try:
        phone = pii.normalise_phone(raw.get("phone") or "")
    except ValueError:
        phone = ""
    c = s.scalar(select(ClaimCase).where(ClaimCase.report_no == no)) if no else None
    found = c is not None and phone and c.reporter_phone == phone
    audit.record(
        s,
        at=now,
        actor_id=None,
        actor_label="公众 (public)",
        action="claim.public_track",
        entity_type="claim",
        entity_id=c.id if found and c is not None else None,
        after={"found": bool(found)},
        ip=ip,
    )
    uow.commit()
    if not found or c is None:
        ctx["error"] = "报案号或手机号不正确" if lang == "zh" else "The report number or phone does not match"
        return render_public_page(request, container, "public/claim_track.html", ctx, status_code=404)
    steps = s.execute(
        select(ClaimEvent.at, ClaimEvent.to_status)
        .where(ClaimEvent.case_id == c.id, ClaimEvent.to_status.is_not(None))
        .order_by(ClaimEvent.at, ClaimEvent.id)
    ).all()
    ctx["case"] = c
    ctx["steps"] = [(at, STATUS_META[Status(st)][0 if lang == "zh" else 1]) for at, st in steps if st]
    ctx["status_text"] = STATUS_META[Status(c.status)][0 if lang == "zh" else 1]
    return render_public_page(request, container, "public/claim_track.html", ctx)
