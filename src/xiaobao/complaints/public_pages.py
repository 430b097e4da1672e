"""Consumer pages, no sign-in: the complaint form (phone first, with a large-text elder mode 大字版) and
status tracking with a one-time code texted to the phone on record.

Routes stay thin: intake, code sending and verification are `complaints.services` use cases. The anonymous
browser plumbing every consumer page shares (signed double-submit CSRF token, elder-mode switch, page rendering,
per-IP limits) is `web.public`; this module adds a signed 30-minute cookie that lets one verified complaint's
status page be reloaded. Tokens are HMAC-SHA256 with `settings.secret_key`; timestamps come from the container
clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from xiaobao.auth import services as auth
from xiaobao.auth.tables import Org
from xiaobao.bootstrap import Container
from xiaobao.complaints import deadlines, services
from xiaobao.complaints.domain import Status
from xiaobao.complaints.schemas import ComplaintCreate
from xiaobao.complaints.tables import Complaint
from xiaobao.complaints.taxonomy import load_taxonomy
from xiaobao.core import pii
from xiaobao.core.errors import FieldProblem, RateLimited, ValidationFailed, XiaobaoError
from xiaobao.web.deps import ContainerDep, LangDep, UowDep, client_ip
from xiaobao.web.public import (
    CSRF_FAILED,
    check_public_rate,
    csrf_ok,
    elder_mode,
    from_timestamp,
    public_principal,
    public_redirect,
    render_public_page,
    seal,
    timestamp,
    unseal,
)
from xiaobao.web.validation import bilingual_problem

router = APIRouter(prefix="/public", include_in_schema=False)

TRACK_COOKIE = "xb_track"
TRACK_VIEW_TTL = timedelta(minutes=30)
"""How long the status page stays open after a successful code check."""

# ---------------------------------------------------------------- form choices


@dataclass(frozen=True)
class OrgGroup:
    label: str
    options: list[tuple[str, str]]


def org_choices(session: Session, lang: str) -> list[OrgGroup]:
    """Branches and sub-branches (never departments), one group per provincial branch; head office last as
    the "not sure" choice (it forwards the complaint)."""
    orgs = [o for o in auth.subtree(session, "/") if o.kind != "department"]
    by_id = {o.id: o for o in orgs}
    groups: dict[int, OrgGroup] = {}
    loose: list[tuple[str, str]] = []
    unsure: list[tuple[str, str]] = []
    for o in orgs:
        if o.kind == "hq":
            unsure.append((o.code, _pick(lang, "不清楚，由总公司转交", "Not sure: head office forwards it")))
            continue
        branch: Org | None = o
        while branch is not None and branch.kind != "branch":
            branch = by_id.get(branch.parent_id) if branch.parent_id else None
        if branch is None:
            loose.append((o.code, o.name(lang)))
            continue
        group = groups.setdefault(branch.id, OrgGroup(branch.name(lang), []))
        if o.id == branch.id:
            continue
        group.options.append((o.code, o.name(lang)))
    out: list[OrgGroup] = []
    for branch_id, group in groups.items():
        b = by_id[branch_id]
        label = b.name(lang) + (
            _pick(lang, "（本部/其他地区）", " (main office / elsewhere)") if group.options else ""
        )
        out.append(OrgGroup(group.label, [*group.options, (b.code, label)]))
    if loose:
        out.append(OrgGroup(_pick(lang, "其他机构", "Other offices"), loose))
    if unsure:
        out.append(OrgGroup(_pick(lang, "不清楚", "Not sure"), unsure))
    return out


# Plain-language causes for consumers, each mapped to a leaf of the complaint taxonomy. Entries whose code a
# replacement taxonomy lacks are dropped; if none survive, the taxonomy's own leaves are offered.
PUBLIC_CAUSES: tuple[tuple[str, str, str], ...] = (
    ("claims.amount", "赔得太少 / 对定损金额有异议", "Paid too little / disagree with the loss assessment"),
    ("claims.denial", "被拒赔", "Claim refused"),
    ("claims.slow", "理赔太慢", "Claim is taking too long"),
    ("claims.liability", "对责任认定有异议", "Disagree with who was found liable"),
    ("sales.misleading", "买保险时被夸大宣传或误导", "Misled or oversold when buying"),
    ("sales.unauthorized", "未经我同意投保 / 代我签名", "Insured without my consent / someone signed for me"),
    ("surrender.amount", "退保退费有争议", "Dispute over cancelling or a refund"),
    ("underwriting.policy_error", "保单信息有错误", "Wrong information on my policy"),
    ("harassment.phone", "推销电话或短信骚扰", "Unwanted sales calls or texts"),
    ("service.attitude", "服务态度不好", "Poor staff attitude"),
    ("service.privacy", "个人信息被泄露", "My personal information was leaked"),
    ("other", "其他问题", "Something else"),
)
PRIVACY_NOTICE = "public-complaint-2026-03"
"""Version of the personal information notice on the form; change it when the wording changes."""
PUBLIC_GROUPS = ("disabled", "new_resident")
"""Special groups a consumer declares; elderly and minor are derived from the ID number."""
CHANNELS = ("mobile", "web")


def _pick(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def cause_choices(lang: str) -> list[tuple[str, str]]:
    tax = load_taxonomy()
    plain = [
        (code, _pick(lang, zh, en))
        for code, zh, en in PUBLIC_CAUSES
        if tax.is_valid("causes", code, leaf_only=True)
    ]
    return plain or tax.flat_choices("causes", lang)


def _form_ctx(session: Session, lang: str) -> dict[str, Any]:
    tax = load_taxonomy()
    return {
        "org_groups": org_choices(session, lang),
        "line_groups": tax.choices("business_lines", lang),
        "causes": cause_choices(lang),
        "demands": tax.flat_choices("demands", lang),
        "groups": [
            (g, tax.label("special_groups", g, lang))
            for g in PUBLIC_GROUPS
            if tax.is_valid("special_groups", g)
        ],
    }


# ---------------------------------------------------------------- the complaint form


class ComplaintForm(BaseModel):
    """Raw form fields, all strings: nothing fails before our own checks, which answer field by field."""

    csrf_token: str = ""
    elder: str = ""
    complainant_name: str = ""
    phone: str = ""
    id_number: str = ""
    id_consent: str = ""
    org_code: str = ""
    policy_no: str = ""
    business_line: str = ""
    cause: str = ""
    demand: str = ""
    description: str = ""
    special_groups: list[str] = []
    channel: str = "mobile"
    consent: str = ""


REQUIRED_CHOICES = {
    "org_code": ("请选择您投保的地区或机构", "Choose where you bought the insurance"),
    "business_line": ("请选择保险类型", "Choose the type of insurance"),
    "cause": ("请选择遇到的问题", "Choose what happened"),
    "demand": ("请选择您的诉求", "Choose what you would like us to do"),
}


def _problems(f: ComplaintForm) -> tuple[dict[str, FieldProblem], ComplaintCreate, bool]:
    """Form-level checks first (they speak plainly), then the schema's; one problem per field.
    Returns (problems, command, whether the command passed the schema)."""
    found: dict[str, FieldProblem] = {}

    def add(p: FieldProblem) -> None:
        found.setdefault(p.field, p)

    if not f.complainant_name.strip():
        add(FieldProblem("complainant_name", "请填写您的姓名", "Please enter your name"))
    if not f.phone.strip():
        add(
            FieldProblem(
                "phone",
                "请填写手机号码，方便我们联系您",
                "Please enter your phone number so we can reach you",
            )
        )
    for field, (zh, en) in REQUIRED_CHOICES.items():
        if not getattr(f, field).strip():
            add(FieldProblem(field, zh, en))
    if len(f.description.strip()) < 5:
        add(
            FieldProblem(
                "description",
                "请简单说明发生了什么（至少5个字）",
                "Please tell us briefly what happened (at least 5 characters)",
            )
        )
    if f.id_number.strip() and not f.id_consent:
        add(
            FieldProblem(
                "id_consent",
                "填写身份证号需要您单独勾选同意；不想提供可以不填身份证号",
                "To give your ID number, tick the separate consent; or leave the ID number empty",
            )
        )
    if not f.consent:
        add(
            FieldProblem(
                "consent",
                "请阅读并勾选同意个人信息处理说明后再提交",
                "Please read and accept the personal information notice before submitting",
            )
        )
    fields: dict[str, Any] = {
        "org_code": f.org_code.strip() or None,
        "complainant_name": f.complainant_name,
        "phone": f.phone,
        "id_number": f.id_number.strip() or None,
        "policy_no": f.policy_no.strip() or None,
        "business_line": f.business_line,
        "cause": f.cause,
        "demand": f.demand,
        "description": f.description,
        "special_groups": [g for g in dict.fromkeys(f.special_groups) if g in PUBLIC_GROUPS],
        "channel": f.channel if f.channel in CHANNELS else "mobile",
    }
    try:
        return found, ComplaintCreate(**fields), True
    except ValidationError as e:
        for err in e.errors():
            add(bilingual_problem(dict(err)))
    # unvalidated, only so the service's own field checks can still report in the same answer
    return found, ComplaintCreate.model_construct(**fields), False


def _form_page(
    request: Request,
    container: Container,
    session: Session,
    lang: str,
    f: ComplaintForm,
    errors: dict[str, FieldProblem],
    *,
    status_code: int = 200,
    banner: str | None = None,
    elder: bool | None = None,
) -> Response:
    msgs = {k: (p.zh if lang == "zh" else p.en) for k, p in errors.items()}
    ctx = {"v": f, "errors": msgs, "banner": banner, **_form_ctx(session, lang)}
    return render_public_page(
        request, container, "public/complaint_form.html", ctx, status_code=status_code, elder=elder
    )


@router.get("/complaint")
def complaint_form(request: Request, uow: UowDep, container: ContainerDep, lang: LangDep) -> Response:
    return _form_page(request, container, uow.session, lang, ComplaintForm(), {})


@router.post("/complaint")
def complaint_submit(
    request: Request,
    form: Annotated[ComplaintForm, Form()],
    uow: UowDep,
    container: ContainerDep,
    lang: LangDep,
) -> Response:
    elder = elder_mode(request, form.elder)
    if not csrf_ok(request, container, form.csrf_token):
        return _form_page(
            request,
            container,
            uow.session,
            lang,
            form,
            {},
            status_code=403,
            banner=CSRF_FAILED.message(lang),
            elder=elder,
        )
    ip = client_ip(request)
    ctx = services.IntakeContext(
        now=container.clock.now(),
        calendar=container.calendar,
        contact_workdays=container.settings.contact_target_workdays,
    )
    errors, data, valid = _problems(form)
    try:
        check_public_rate(uow.session, "complaint.create", ip, ctx.now, services.PUBLIC_SUBMIT_LIMIT)
        try:
            services.validate_intake(uow.session, public_principal(ip), data, ctx.now, public=True)
        except ValidationFailed as e:
            for p in e.problems:
                errors.setdefault(p.field, p)
        if errors or not valid:
            return _form_page(
                request,
                container,
                uow.session,
                lang,
                form,
                errors,
                status_code=422,
                banner=_pick(
                    lang,
                    f"有 {len(errors)} 处需要修改，请看标红的提示",
                    f"Please correct the {len(errors)} item(s) marked in red",
                ),
                elder=elder,
            )
        consent = {"notice": PRIVACY_NOTICE, "personal_information": True, "id_number": bool(data.id_number)}
        c = services.create_public_complaint(uow, data, ctx, ip, consent=consent)
    except RateLimited as e:
        return _form_page(
            request,
            container,
            uow.session,
            lang,
            form,
            {},
            status_code=429,
            banner=e.message(lang)
            + _pick(lang, "。也可以拨打客服热线 95500 投诉。", ". You can also call the 95500 hotline."),
            elder=elder,
        )
    except ValidationFailed as e:
        return _form_page(
            request,
            container,
            uow.session,
            lang,
            form,
            {p.field: p for p in e.problems},
            status_code=422,
            banner=e.message(lang),
            elder=elder,
        )
    due = c.regulatory_due or deadlines.regulatory_due(c.received_at, 0)
    assert due is not None
    token = seal(container.settings.secret_key, "public-filed", f"{c.tracking_no}|{timestamp(due)}")
    return public_redirect(f"/public/complaint/done?{urlencode({'t': token})}", request, container, elder)


@router.get("/complaint/done")
def complaint_done(request: Request, container: ContainerDep, t: str = "") -> Response:
    payload = unseal(container.settings.secret_key, "public-filed", t)
    if payload is None or "|" not in payload:
        return RedirectResponse("/public/complaint", status_code=303)
    tracking_no, due_ts = payload.split("|", 1)
    return render_public_page(
        request,
        container,
        "public/complaint_done.html",
        {
            "tracking_no": tracking_no,
            "due": from_timestamp(due_ts),
            "contact_days": container.settings.contact_target_workdays,
        },
    )


# ---------------------------------------------------------------- tracking


class TrackForm(BaseModel):
    csrf_token: str = ""
    elder: str = ""
    tracking_no: str = ""
    code: str = ""


def _clean_no(value: str) -> str:
    return "".join(value.split()).upper()


def _track_page(
    request: Request,
    container: Container,
    lang: str,
    *,
    step: str,
    tracking_no: str = "",
    error: str | None = None,
    field: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
    elder: bool | None = None,
) -> Response:
    return render_public_page(
        request,
        container,
        "public/track.html",
        {
            "step": step,
            "tracking_no": tracking_no,
            "error": error,
            "error_field": field,
            "notice": notice,
            "code_minutes": int(services.TRACK_CODE_TTL.total_seconds() // 60),
        },
        status_code=status_code,
        elder=elder,
    )


@router.get("/track")
def track_form(
    request: Request, container: ContainerDep, lang: LangDep, no: str = "", expired: int = 0
) -> Response:
    notice = _pick(
        lang, "查询已超过30分钟，为保护您的信息请重新验证", "The 30-minute view ended; please verify again"
    )
    return _track_page(
        request,
        container,
        lang,
        step="number",
        tracking_no=_clean_no(no)[:24],
        notice=notice if expired else None,
    )


def _check_number(no: str, lang: str) -> str | None:
    if not no:
        return _pick(
            lang,
            "请填写投诉编号（提交投诉后短信中的 TS 开头编号）",
            "Enter your tracking number (it starts with TS, see the text message)",
        )
    if not 6 <= len(no) <= 24 or not no.isalnum():
        return _pick(
            lang, "投诉编号格式不正确，请核对", "That tracking number does not look right; please check it"
        )
    return None


@router.get("/track/code")
@router.get("/track/verify")
@router.get("/track/end")
def track_post_only(request: Request, container: ContainerDep) -> Response:
    """Back to the tracking form when a browser GETs a POST-only address (reload, language switch)."""
    return public_redirect("/public/track", request, container, elder_mode(request))


def _track_precheck(
    request: Request, container: Container, lang: str, csrf: str, no: str, elder: bool, *, step: str
) -> Any:
    """The checks both tracking forms start with: the form token, then the tracking number's shape.
    Returns the page to show when one fails, else None."""
    if not csrf_ok(request, container, csrf):
        return _track_page(
            request,
            container,
            lang,
            step=step,
            tracking_no=no[:24],
            error=CSRF_FAILED.message(lang),
            status_code=403,
            elder=elder,
        )
    bad = _check_number(no, lang)
    if bad:
        return _track_page(
            request,
            container,
            lang,
            step="number",
            tracking_no=no[:24],
            error=bad,
            field="tracking_no",
            status_code=422,
            elder=elder,
        )
    return None


@router.post("/track/code")
def track_code(
    request: Request, form: Annotated[TrackForm, Form()], uow: UowDep, container: ContainerDep, lang: LangDep
) -> Response:
    elder = elder_mode(request, form.elder)
    no = _clean_no(form.tracking_no)
    refused = _track_precheck(request, container, lang, form.csrf_token, no, elder, step="number")
    if refused is not None:
        return refused
    try:
        services.send_tracking_code(uow, no, container.clock.now(), container.sms, ip=client_ip(request))
    except RateLimited as e:
        return _track_page(
            request,
            container,
            lang,
            step="number",
            tracking_no=no,
            error=e.message(lang),
            status_code=429,
            elder=elder,
        )
    return _track_page(
        request,
        container,
        lang,
        step="code",
        tracking_no=no,
        elder=elder,
        notice=_pick(
            lang,
            "如果编号正确，验证码已通过短信发送到投诉时登记的手机。",
            "If the number is correct, a code was texted to the phone given with the complaint.",
        ),
    )


@router.post("/track/verify")
def track_verify(
    request: Request, form: Annotated[TrackForm, Form()], uow: UowDep, container: ContainerDep, lang: LangDep
) -> Response:
    elder = elder_mode(request, form.elder)
    no = _clean_no(form.tracking_no)
    code = "".join(form.code.split())
    refused = _track_precheck(request, container, lang, form.csrf_token, no, elder, step="code")
    if refused is not None:
        return refused
    if len(code) != 6 or not code.isdigit():
        return _track_page(
            request,
            container,
            lang,
            step="code",
            tracking_no=no,
            field="code",
            status_code=422,
            error=_pick(lang, "请填写短信中的6位数字验证码", "Enter the 6-digit code from the text"),
            elder=elder,
        )
    now = container.clock.now()
    try:
        c = services.verify_tracking_code(uow, no, code, now, ip=client_ip(request))
    except XiaobaoError as e:
        return _track_page(
            request,
            container,
            lang,
            step="code",
            tracking_no=no,
            field="code",
            status_code=400,
            error=e.message(lang)
            + _pick(
                lang,
                "。验证码10分钟内有效，最多可试5次；可以重新获取。",
                ". A code is valid for 10 minutes and 5 tries; you can ask for a new one.",
            ),
            elder=elder,
        )
    resp = public_redirect("/public/track/status", request, container, elder)
    token = seal(container.settings.secret_key, "public-track", f"{c.id}:{timestamp(now + TRACK_VIEW_TTL)}")
    resp.set_cookie(
        TRACK_COOKIE,
        token,
        max_age=int(TRACK_VIEW_TTL.total_seconds()),
        path="/public/track",
        httponly=True,
        samesite="lax",
        secure=container.settings.cookie_secure,
    )
    return resp


def _tracked_id(request: Request, container: Container) -> int | None:
    payload = unseal(container.settings.secret_key, "public-track", request.cookies.get(TRACK_COOKIE))
    if payload is None or ":" not in payload:
        return None
    cid, exp = payload.split(":", 1)
    until = from_timestamp(exp)
    if until is None or container.clock.now() >= until or not cid.isdigit():
        return None
    return int(cid)


STEPS: tuple[tuple[Status, str, str], ...] = (
    (Status.RECEIVED, "登记", "Registered"),
    (Status.ACCEPTED, "受理", "Accepted"),
    (Status.HANDLING, "处理中", "Handling"),
    (Status.DECIDED, "已出具处理意见", "Decided"),
    (Status.CLOSED, "已办结", "Closed"),
)
STEP_INDEX = {
    Status.RECEIVED: 0,
    Status.ACCEPTED: 1,
    Status.HANDLING: 2,
    Status.DECIDED: 3,
    Status.REVIEW: 3,
    Status.CLOSED: 4,
}

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "received": ("我们收到了您的投诉", "We received your complaint"),
    "assigned": ("已安排专人负责处理", "A handler was assigned to your complaint"),
    "started": ("开始调查处理", "Investigation started"),
    "extended": (
        "情况较复杂，处理期限延长至30日",
        "The case is complex: the time limit was extended to 30 days",
    ),
    "extension2_approved": (
        "经上级机构批准，处理期限再延长30日",
        "With the superior office's approval, the time limit was extended by 30 more days",
    ),
    "paused": (
        "正在进行鉴定、检测或评估，这段时间不计入处理期限",
        "Appraisal, testing or valuation under way: this time does not count towards the limit",
    ),
    "resumed": ("鉴定等事项已完成，继续计算处理期限", "Appraisal finished: the time limit runs again"),
    "decided": ("已出具处理意见", "A decision was issued"),
    "closed": ("投诉已办结", "The complaint was closed"),
    "withdrawn": ("投诉已撤回", "The complaint was withdrawn"),
    "merged": ("与您的同一投诉合并处理", "Merged with your earlier complaint about the same matter"),
    "merged_from": ("您的另一次同一投诉已合并到本投诉", "Your repeat complaint was merged into this one"),
    "review_requested": ("已收到您的核查申请", "We received your request for a review (核查)"),
    "review_concluded": ("核查已完成", "The review (核查) was concluded"),
    "reopened": ("重新处理", "Reopened for handling"),
}
REVIEW_OUTCOMES = {"upheld": ("维持原处理意见", "The decision stands"), "reopened": ("重新处理", "Reopened")}


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    label: str
    detail: str | None


def _timeline(session: Session, c: Complaint, lang: str) -> list[TimelineItem]:
    items = []
    for e in services.public_timeline(session, c):
        zh, en = EVENT_LABELS.get(e.kind, ("处理进展", "Progress"))
        detail = None
        data = e.data or {}
        if e.kind == "merged" and data.get("into"):
            detail = _pick(lang, f"合并至投诉 {data['into']}", f"merged into {data['into']}")
        elif e.kind == "review_concluded" and data.get("outcome") in REVIEW_OUTCOMES:
            detail = _pick(lang, *REVIEW_OUTCOMES[data["outcome"]])
        items.append(TimelineItem(e.at, _pick(lang, zh, en), detail))
    return items


def _public_notice(c: Complaint) -> str | None:
    """The decision notice as the complainant sees it online: name and any ID or phone numbers masked."""
    if not c.notice_text:
        return None
    text = c.notice_text
    if c.complainant_name:
        text = text.replace(c.complainant_name, pii.mask_name(c.complainant_name))
    return pii.mask_text(text)


@router.get("/track/status")
def track_status(request: Request, uow: UowDep, container: ContainerDep, lang: LangDep) -> Response:
    cid = _tracked_id(request, container)
    c = uow.session.get(Complaint, cid) if cid is not None else None
    if c is None:
        resp = RedirectResponse(
            "/public/track?expired=1" if request.cookies.get(TRACK_COOKIE) else "/public/track",
            status_code=303,
        )
        resp.delete_cookie(TRACK_COOKIE, path="/public/track")
        return resp
    status = Status(c.status)
    decided_at = c.decided_at if status in (Status.DECIDED, Status.CLOSED, Status.REVIEW) else None
    review_until = deadlines.review_window_end(c.notified_at or decided_at) if decided_at else None
    return render_public_page(
        request,
        container,
        "public/track_status.html",
        {
            "c": c,
            "status": status,
            "steps": [(s, _pick(lang, zh, en)) for s, zh, en in STEPS],
            "step_index": STEP_INDEX.get(status),
            "timeline": _timeline(uow.session, c, lang),
            "notice": _public_notice(c),
            "decided_at": decided_at,
            "review_until": review_until,
            "org_name": c.org.name(lang),
            "superior_name": (c.org.parent or c.org).name(lang),
            "finished": status == Status.CLOSED,
            "paused": c.paused_since is not None,
            "view_minutes": int(TRACK_VIEW_TTL.total_seconds() // 60),
        },
    )


@router.post("/track/end")
def track_end(request: Request, container: ContainerDep, form: Annotated[TrackForm, Form()]) -> Response:
    resp = public_redirect("/public/track", request, container, elder_mode(request, form.elder))
    if csrf_ok(request, container, form.csrf_token):
        resp.delete_cookie(TRACK_COOKIE, path="/public/track")
    return resp
