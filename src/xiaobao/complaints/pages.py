"""Staff HTML pages for complaint handling: the list (htmx-refreshed, works without JS), staff intake,
the detail page with the handling record and lifecycle actions, the breach watch and attachments.

Routes stay thin: they parse the form, call a service and redirect (303) back; a refused command
re-renders the page with the problem shown next to the form that caused it, in the user's language.
Access always goes through `services.access_complaint` / `queries` (which scope by org subtree).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm, Role
from xiaobao.auth.tables import Org, User, UserRole
from xiaobao.complaints import attachments, deadlines, queries, services
from xiaobao.complaints.domain import ACTION_LABELS, OPEN_STATUSES, Action, Status, allowed_actions
from xiaobao.complaints.events import ComplaintReceived
from xiaobao.complaints.schemas import (
    ActionRequest,
    ComplaintCreate,
    ContactCreate,
    NoteCreate,
    RootCauseUpdate,
)
from xiaobao.complaints.tables import Complaint
from xiaobao.complaints.taxonomy import load_taxonomy
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import FieldProblem, Forbidden, ValidationFailed, XiaobaoError
from xiaobao.core.pii import mask_text
from xiaobao.web.deps import ContainerDep, CurrentUser, LangDep, UowDep
from xiaobao.web.forms import (
    Label,
    blank,
    is_htmx,
    now_of,
    problems_by_field,
    tr,
    validate_form,
)
from xiaobao.web.templating import render

router = APIRouter(include_in_schema=False)

# ---------------------------------------------------------------- choices and labels
# Labels are (Chinese, English) pairs, picked by the template helper `tr`; they are not catalog entries,
# so one Chinese word used with two meanings (an action and the event it leaves behind) translates right.


DUE_FILTERS: list[tuple[str, Label]] = [
    ("overdue", ("已超期", "Overdue")),
    ("due_soon", ("临期", "Due soon")),
    ("contact_overdue", ("联系超时", "First contact overdue")),
]
SORTS: list[tuple[str, Label]] = [
    ("-received", ("接收时间（新→旧）", "Received (newest first)")),
    ("received", ("接收时间（旧→新）", "Received (oldest first)")),
    ("due", ("处理时限（近→远）", "Deadline (soonest first)")),
    ("-due", ("处理时限（远→近）", "Deadline (latest first)")),
]
PER_PAGE = (20, 50, 100)
GROUP_BADGES: dict[str, Label] = {
    "elderly": ("老", "60+"),
    "minor": ("少", "<18"),
    "new_resident": ("新", "New"),
    "disabled": ("残", "Dis"),
}
DEADLINE_BADGES: dict[str, Label] = {
    "on_track": ("正常", "On track"),
    "due_soon": ("临期", "Due soon"),
    "overdue": ("超期", "Overdue"),
    "paused": ("暂停", "Paused"),
    "met": ("按时处理", "Met"),
    "missed": ("超期处理", "Missed"),
}
CONTACT_BADGES: dict[str, Label] = {
    "on_track": ("待联系", "To contact"),
    "due_soon": ("即将超时", "Due soon"),
    "overdue": ("联系超时", "Overdue"),
    "paused": ("暂停", "Paused"),
    "met": ("按时联系", "In time"),
    "missed": ("超时联系", "Late"),
}
EXTENSION_LABELS: dict[int, Label] = {
    0: ("标准时限 15 日", "Standard: 15 days"),
    1: ("已延期至 30 日", "Extended to 30 days"),
    2: ("再延期至 60 日", "Further extended to 60 days"),
}
EVENT_LABELS: dict[str, Label] = {
    "received": ("投诉登记", "Complaint registered"),
    "assigned": ("受理分派", "Accepted and assigned"),
    "started": ("开始处理", "Handling started"),
    "extended": ("延期至30日", "Extended to 30 days"),
    "extension2_requested": ("申请再延期", "Further extension requested"),
    "extension2_approved": ("批准再延期", "Further extension approved"),
    "extension2_rejected": ("驳回再延期", "Further extension rejected"),
    "paused": ("暂停计时", "Clock paused"),
    "resumed": ("恢复计时", "Clock resumed"),
    "decided": ("出具处理意见", "Decision issued"),
    "closed": ("办结", "Closed"),
    "withdrawn": ("撤回", "Withdrawn"),
    "merged": ("合并至其他投诉", "Merged into another complaint"),
    "merged_from": ("合并重复投诉", "Repeat complaint merged in"),
    "review_requested": ("核查申请", "核查 requested"),
    "review_concluded": ("核查结论", "核查 concluded"),
    "reopened": ("重新处理", "Reopened"),
    "contact": ("联系投诉人", "Contact attempt"),
    "note": ("处理备注", "Note"),
    "root_cause": ("溯源整改", "Root cause and rectification"),
    "attachment": ("上传附件", "Attachment added"),
    "cohandling_requested": ("发起部门协办", "Co-handling requested"),
    "cohandling_answered": ("协办答复", "Co-handling answered"),
    "cohandling_returned": ("协办退回重办", "Co-handling answer returned"),
    "cohandling_cancelled": ("撤销协办", "Co-handling cancelled"),
    "decision_override": ("协办未完成时强制出具处理意见", "Decided despite open co-handling"),
}
CONTACT_METHODS: list[tuple[str, Label]] = [
    ("phone", ("电话", "Phone")),
    ("sms", ("短信", "SMS")),
    ("visit", ("面访", "In person")),
    ("letter", ("信函", "Letter")),
    ("wechat", ("微信", "WeChat")),
]
CONTACT_OUTCOMES: list[tuple[str, Label]] = [
    ("reached", ("已联系上", "Reached")),
    ("no_answer", ("无人接听", "No answer")),
    ("busy", ("占线", "Busy")),
    ("wrong_number", ("号码错误", "Wrong number")),
    ("refused", ("拒绝沟通", "Refused to talk")),
]
DECISION_OUTCOMES: list[tuple[str, Label]] = [
    ("upheld", ("支持", "Upheld")),
    ("partial", ("部分支持", "Partly upheld")),
    ("rejected", ("不支持", "Not upheld")),
]
REVIEW_OUTCOMES: list[tuple[str, Label]] = [
    ("upheld", ("维持原处理意见", "Decision stands")),
    ("reopened", ("重新处理", "Handle again")),
]
OUTCOME_LABELS: dict[str, Label] = {**dict(DECISION_OUTCOMES), **dict(REVIEW_OUTCOMES)}

# What each action form asks for: "handler", "reason" (required), "note" (optional reason), "decision",
# "review_outcome", "target". The prompt of the reason field is given per action.
ACTION_FIELDS: dict[Action, tuple[str, ...]] = {
    Action.ACCEPT: ("handler", "note"),
    Action.REASSIGN: ("handler", "note"),
    Action.START: ("note",),
    Action.EXTEND: ("reason",),
    Action.REQUEST_EXTENSION2: ("reason",),
    Action.APPROVE_EXTENSION2: ("note",),
    Action.REJECT_EXTENSION2: ("reason",),
    Action.PAUSE: ("reason",),
    Action.RESUME: ("note",),
    Action.DECIDE: ("decision",),
    Action.CLOSE: ("note",),
    Action.WITHDRAW: ("reason",),
    Action.MERGE: ("target", "note"),
    Action.REQUEST_REVIEW: ("reason",),
    Action.CONCLUDE_REVIEW: ("review_outcome", "reason"),
    Action.REOPEN: ("reason",),
}
REASON_PROMPTS: dict[Action, Label] = {
    Action.EXTEND: ("延期原因（案情复杂的说明）", "Reason for the extension (why the case is complex)"),
    Action.REQUEST_EXTENSION2: (
        "再延期原因（特别复杂的说明）",
        "Reason for a further extension (why it is especially complex)",
    ),
    Action.REJECT_EXTENSION2: ("驳回理由", "Reason for rejecting"),
    Action.PAUSE: ("鉴定/检测/评估事项", "Appraisal, testing or valuation"),
    Action.WITHDRAW: (
        "撤回说明（投诉人撤回投诉的方式与时间）",
        "Withdrawal note (how and when the complainant withdrew)",
    ),
    Action.REQUEST_REVIEW: ("核查申请内容", "The 核查 application"),
    Action.CONCLUDE_REVIEW: ("核查意见", "核查 conclusion"),
    Action.REOPEN: ("重新处理原因（新事实、新证据）", "Reason to reopen (new facts or evidence)"),
}
ACTION_STYLE: dict[Action, str] = {
    Action.WITHDRAW: "danger",
    Action.MERGE: "danger",
    Action.REJECT_EXTENSION2: "danger",
    Action.DECIDE: "primary",
    Action.ACCEPT: "primary",
    Action.CLOSE: "primary",
    Action.START: "primary",
}
DONE_MESSAGES: dict[str, Label] = {
    "created": ("投诉已登记", "Complaint registered"),
    "contact": ("已记录联系情况", "Contact recorded"),
    "note": ("已添加备注", "Note added"),
    "root_cause": ("已保存溯源整改", "Root cause saved"),
    "attachment": ("附件已上传", "Attachment uploaded"),
    "cohandling": ("已发起部门协办", "Co-handling requested"),
}


def _orgs_in_scope(s: Session, who: Principal) -> list[Org]:
    return [o for o in auth.subtree(s, who.scope_path) if o.kind != "department"]


def _tree_options(kind: str, lang: str) -> list[tuple[str, str, bool]]:
    """(code, label, is_child) for every term: parents filter on their whole group."""
    tax = load_taxonomy()
    out: list[tuple[str, str, bool]] = []
    for root in tax.roots(kind):
        out.append((root.code, root.label(lang), False))
        out.extend((t.code, t.label(lang), True) for t in root.children)
    return out


# ---------------------------------------------------------------- list


@dataclass
class ListQuery:
    status: list[str] = field(default_factory=list)
    org: str | None = None
    business_line: str | None = None
    cause: str | None = None
    channel: str | None = None
    due: str | None = None
    special_group: str | None = None
    q: str | None = None
    sort: str = "-received"
    per_page: int = 20

    def params(self, **over: Any) -> str:
        d: dict[str, Any] = {
            "status": self.status,
            "org": self.org,
            "business_line": self.business_line,
            "cause": self.cause,
            "channel": self.channel,
            "due": self.due,
            "special_group": self.special_group,
            "q": self.q,
            "sort": None if self.sort == "-received" else self.sort,
            "per_page": None if self.per_page == 20 else self.per_page,
        }
        d.update(over)
        return urlencode({k: v for k, v in d.items() if v not in (None, "", [])}, doseq=True)


@router.get("/complaints")
def list_page(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    status: Annotated[list[str] | None, Query()] = None,
    org: str | None = None,
    business_line: str | None = None,
    cause: str | None = None,
    channel: str | None = None,
    due: str | None = None,
    special_group: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: str = "-received",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Any:
    if not who.can(Perm.COMPLAINT_VIEW):
        raise Forbidden()
    s = uow.session
    lq = ListQuery(
        status=[v for v in (status or []) if v],
        org=blank(org),
        business_line=blank(business_line),
        cause=blank(cause),
        channel=blank(channel),
        due=blank(due),
        special_group=blank(special_group),
        q=blank(q),
        sort=sort if sort in dict(SORTS) else "-received",
        per_page=per_page if per_page in PER_PAGE else 20,
    )
    problems: list[FieldProblem] = []
    unknown = [v for v in lq.status if v not in Status.__members__.values()]
    if unknown:
        problems.append(
            FieldProblem("status", f"未知状态：{'、'.join(unknown)}", f"unknown status: {unknown}")
        )
        lq.status = [v for v in lq.status if v not in unknown]
    if lq.due and lq.due not in dict(DUE_FILTERS):
        problems.append(FieldProblem("due", "未知的时限筛选", f"unknown due filter {lq.due!r}"))
        lq.due = None
    now = now_of(container)
    due_soon = container.settings.due_soon
    f = queries.ComplaintFilter(
        status=lq.status or None,
        org_code=lq.org,
        business_line=lq.business_line,
        cause=lq.cause,
        channel=lq.channel,
        due=lq.due,
        special_group=lq.special_group,
        q=lq.q,
        sort=lq.sort,
        page=page,
        per_page=lq.per_page,
    )
    total, rows = queries.list_complaints(s, who, f, now, due_soon)
    pages = max(1, math.ceil(total / lq.per_page))
    ctx: dict[str, Any] = {
        "lq": lq,
        "tr": lambda label: tr(label, lang),
        "page": page,
        "pages": pages,
        "total": total,
        "now": now,
        "rows": [(c, _deadline(c, now, due_soon), _contact_overdue(c, now)) for c in rows],
        "filter_problems": [p.zh if lang == "zh" else p.en for p in problems],
        "GROUP_BADGES": GROUP_BADGES,
        "DEADLINE_BADGES": DEADLINE_BADGES,
    }
    if is_htmx(request):
        resp = render(request, "complaints/_table.html", ctx)
        # the address bar shows the canonical query (no empty fields), so the URL can be shared
        query = lq.params(page=page if page > 1 else None)
        resp.headers["HX-Push-Url"] = "/complaints" + (f"?{query}" if query else "")
    else:
        tax = load_taxonomy()
        ctx.update(
            orgs=_orgs_in_scope(s, who),
            lines=_tree_options("business_lines", lang),
            causes=_tree_options("causes", lang),
            channels=[(t.code, t.label(lang)) for t in tax.leaves("channels")],
            groups=[(t.code, t.label(lang)) for t in tax.leaves("special_groups")],
            statuses=list(Status),
            DUE_FILTERS=DUE_FILTERS,
            SORTS=SORTS,
            PER_PAGE=PER_PAGE,
        )
        resp = render(request, "complaints/list.html", ctx)
    resp.headers["Vary"] = "HX-Request"
    return resp


def _deadline(c: Complaint, now: datetime, due_soon: timedelta) -> deadlines.DeadlineView | None:
    """The regulatory deadline as shown to staff; None once handling ended without a decision."""
    return services.deadline_view(c, now, due_soon)


def _contact_overdue(c: Complaint, now: datetime) -> bool:
    return c.status in OPEN_STATUSES and c.first_contact_at is None and c.contact_due < now


# ---------------------------------------------------------------- intake


class IntakeForm(BaseModel):
    """The staff intake form as posted: every value a string, checked by ComplaintCreate afterwards."""

    org_code: str = ""
    complainant_name: str = ""
    id_number: str = ""
    phone: str = ""
    special_groups: list[str] = []
    representatives: str = "1"
    policy_no: str = ""
    claim_no: str = ""
    business_line: str = ""
    cause: str = ""
    demand: str = ""
    amount_claimed: str = ""
    channel: str = ""
    regulator_ref: str = ""
    description: str = ""
    received_at: str = ""


def _intake_context(s: Session, who: Principal, lang: str) -> dict[str, Any]:
    tax = load_taxonomy()
    return {
        "orgs": _orgs_in_scope(s, who),
        "choices": {k: tax.choices(k, lang) for k in ("business_lines", "causes", "demands", "channels")},
        "groups": [(t.code, t.label(lang)) for t in tax.leaves("special_groups")],
    }


def _default_org_code(s: Session, who: Principal) -> str:
    org = s.get(Org, who.org_id) if who.org_id is not None else None
    while org is not None and org.kind == "department":
        org = org.parent
    return org.code if org is not None else ""


def _parse_local(value: str) -> datetime:
    """'2026-03-02T10:00' typed in Beijing time -> aware datetime."""
    dt = datetime.fromisoformat(value.strip())
    return dt.replace(tzinfo=CN_TZ) if dt.tzinfo is None else dt


_REQUIRED_INTAKE = ("complainant_name", "phone", "business_line", "cause", "demand", "channel", "description")


def _intake_data(s: Session, who: Principal, raw: dict[str, Any], received_at: str, now: datetime) -> Any:
    """ComplaintCreate from the form, or ValidationFailed listing every problem at once: the schema's
    (length, number format), the received time's and the service's (taxonomy codes, phone, ID, org)."""
    problems: list[FieldProblem] = []
    if blank(received_at):
        try:
            raw["received_at"] = _parse_local(received_at)
        except ValueError:
            problems.append(FieldProblem("received_at", "接收时间格式不正确", "received_at is not a time"))
    try:
        data = validate_form(ComplaintCreate, raw)
    except ValidationFailed as e:
        problems += e.problems
        failed = {p.field for p in problems}
        # run the service checks on the fields the schema accepted, so every problem shows at once
        ok = {k: v for k, v in raw.items() if k not in failed}
        data = ComplaintCreate.model_construct(**{**{"phone": "", "special_groups": []}, **ok})
    try:
        services.validate_intake(s, who, data, now)
    except ValidationFailed as e:
        problems += [p for p in e.problems if p.field not in {q.field for q in problems}]
    if problems:
        raise ValidationFailed([_required_if_blank(p, raw) for p in problems])
    return data


def _required_if_blank(p: FieldProblem, raw: dict[str, Any]) -> FieldProblem:
    if p.field in _REQUIRED_INTAKE and raw.get(p.field) in ("", None):
        return FieldProblem(p.field, "此项必填", "This field is required")
    return p


@router.get("/complaints/new")
def new_form(request: Request, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep) -> Any:
    if not who.can(Perm.COMPLAINT_CREATE):
        raise Forbidden()
    s = uow.session
    form = IntakeForm(
        org_code=_default_org_code(s, who),
        channel="hotline",
        received_at=now_of(container).astimezone(CN_TZ).strftime("%Y-%m-%dT%H:%M"),
    )
    return render(
        request,
        "complaints/new.html",
        {"form": form, "problems": {}, "error": None, **_intake_context(s, who, lang)},
    )


@router.post("/complaints/new")
def new_submit(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    form: Annotated[IntakeForm, Form()],
) -> Any:
    if not who.can(Perm.COMPLAINT_CREATE):
        raise Forbidden()
    s = uow.session
    now = now_of(container)
    try:
        raw: dict[str, Any] = {
            "org_code": blank(form.org_code),
            "complainant_name": form.complainant_name,
            "id_number": blank(form.id_number),
            "phone": form.phone,
            "special_groups": [g for g in form.special_groups if g],
            "representatives": blank(form.representatives) or "1",
            "policy_no": blank(form.policy_no),
            "claim_no": blank(form.claim_no),
            "business_line": form.business_line,
            "cause": form.cause,
            "demand": form.demand,
            "amount_claimed": blank(form.amount_claimed),
            "channel": form.channel,
            "regulator_ref": blank(form.regulator_ref),
            "description": form.description,
        }
        data = _intake_data(s, who, raw, form.received_at, now)
        ctx = services.IntakeContext(
            now=now, calendar=container.calendar, contact_workdays=container.settings.contact_target_workdays
        )
        c = services.create_complaint(s, who, data, ctx)
        uow.commit()
    except XiaobaoError as e:
        uow.rollback()
        return render(
            request,
            "complaints/new.html",
            {
                "form": form,
                "problems": problems_by_field(e, lang),
                "error": e.message(lang) if not e.problems else None,
                **_intake_context(s, who, lang),
            },
            status_code=e.status_code,
        )
    uow.emit(ComplaintReceived(c.id))
    return RedirectResponse(f"/complaints/{c.id}?done=created", status_code=303)


# ---------------------------------------------------------------- detail


def _handler_choices(s: Session, who: Principal, c: Complaint) -> list[User]:
    """Active handlers in the caller's scope whose own scope covers the complaint's org."""
    rows = s.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .join(Org, Org.id == User.org_id)
        .where(
            UserRole.role == Role.HANDLER.value, User.active.is_(True), Org.path.startswith(who.scope_path)
        )
        .order_by(Org.path, User.display_name)
    ).unique()
    return [u for u in rows if c.org.path.startswith(auth.scope_path_for(u.org))]


def _can_record(s: Session, who: Principal, c: Complaint) -> bool:
    try:
        services.handling_access(s, who, c.id)
    except XiaobaoError:
        return False
    return True


@dataclass
class FormState:
    """Which form on the detail page failed, with what values and problems."""

    key: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None


@dataclass(frozen=True)
class DetailPanel:
    """A section another module adds to the complaint page (e.g. co-handling): a template and its values."""

    template: str
    ctx: dict[str, Any]


PanelFn = Callable[[Session, Principal, Complaint, FormState, Any, str], DetailPanel | None]
DETAIL_PANELS: dict[str, PanelFn] = {}
"""Registered at bootstrap by other modules, by name; called with (session, who, complaint, form state,
container, lang). Complaints never import those modules."""


def register_detail_panel(name: str, fn: PanelFn) -> None:
    DETAIL_PANELS[name] = fn


def _detail(
    request: Request,
    uow: Any,
    who: Principal,
    container: Any,
    lang: str,
    complaint_id: int,
    state: FormState | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Any:
    s = uow.session
    now = now_of(container)
    due_soon = container.settings.due_soon
    c = services.access_complaint(s, who, complaint_id)
    allowed = allowed_actions(services.snapshot(c), who, now)
    duplicates = services.duplicate_candidates(s, who, c) if c.status in OPEN_STATUSES else []
    contact_view = (
        deadlines.assess(c.contact_due, now, c.first_contact_at, due_soon=timedelta(hours=4), paused=False)
        if c.status in OPEN_STATUSES or c.first_contact_at is not None
        else None
    )
    merged_into = s.get(Complaint, c.merged_into_id) if c.merged_into_id else None
    form_state = state or FormState()
    panels = [
        p for fn in DETAIL_PANELS.values() if (p := fn(s, who, c, form_state, container, lang)) is not None
    ]
    done_message = DONE_MESSAGES.get(done or "")
    done_action = ACTION_LABELS[Action(done)] if done and done in Action.__members__.values() else None
    ctx = {
        "c": c,
        "now": now,
        "tr": lambda label: tr(label, lang),
        "dv": _deadline(c, now, due_soon),
        "contact_view": contact_view,
        "allowed": allowed,
        "ACTION_LABELS": ACTION_LABELS,
        "ACTION_FIELDS": ACTION_FIELDS,
        "ACTION_STYLE": ACTION_STYLE,
        "REASON_PROMPTS": REASON_PROMPTS,
        "handlers": _handler_choices(s, who, c) if {Action.ACCEPT, Action.REASSIGN} & set(allowed) else [],
        "duplicates": duplicates,
        "merge_targets": [d for d in duplicates if d.status in OPEN_STATUSES],
        "events": services.timeline(s, c),
        "attachments": attachments.list_attachments(s, who, c.id),
        "can_record": _can_record(s, who, c),
        "can_pii": who.can(Perm.PII_VIEW),
        "merged_into": merged_into
        if merged_into is not None and who.sees_path(merged_into.org.path)
        else None,
        "state": form_state,
        "panels": panels,
        "blockers": services.decision_blockers(s, c) if Action.DECIDE in allowed else [],
        "can_override": who.can(Perm.COHANDLING_OVERRIDE),
        "done_message": done_message,
        "done_action": done_action,
        "EVENT_LABELS": EVENT_LABELS,
        "EXTENSION_LABELS": EXTENSION_LABELS,
        "GROUP_BADGES": GROUP_BADGES,
        "DEADLINE_BADGES": DEADLINE_BADGES,
        "CONTACT_BADGES": CONTACT_BADGES,
        "CONTACT_METHODS": CONTACT_METHODS,
        "CONTACT_OUTCOMES": CONTACT_OUTCOMES,
        "DECISION_OUTCOMES": DECISION_OUTCOMES,
        "REVIEW_OUTCOMES": REVIEW_OUTCOMES,
        "OUTCOME_LABELS": OUTCOME_LABELS,
        "method_labels": dict(CONTACT_METHODS),
        "contact_outcome_labels": dict(CONTACT_OUTCOMES),
        "max_upload_mb": container.settings.attachment_max_bytes / (1024 * 1024),
        "accept_types": ",".join("." + e for e in attachments.ALLOWED_EXTENSIONS),
        "mask_text": mask_text,
    }
    return render(request, "complaints/detail.html", ctx, status_code=status_code)


def _refused(
    request: Request,
    uow: Any,
    who: Principal,
    container: Any,
    lang: str,
    complaint_id: int,
    exc: XiaobaoError,
    key: str,
    values: dict[str, Any],
) -> Any:
    """Re-render the detail page with the refused form's problems (nothing was saved)."""
    uow.rollback()
    problems = problems_by_field(exc, lang)
    message = None if problems else exc.message(lang)
    state = FormState(key=key, values=values, problems=problems, message=message)
    return _detail(request, uow, who, container, lang, complaint_id, state, status_code=exc.status_code)


def detail_with_problems(
    request: Request,
    uow: Any,
    who: Principal,
    container: Any,
    lang: str,
    complaint_id: int,
    exc: XiaobaoError,
    key: str,
    values: dict[str, Any],
) -> Any:
    """For other modules' forms on the complaint page (a detail panel): re-render it with the problems."""
    return _refused(request, uow, who, container, lang, complaint_id, exc, key, values)


def _back(complaint_id: int, done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/complaints/{complaint_id}?done={done}{anchor}", status_code=303)


@router.get("/complaints/{complaint_id:int}")
def detail(
    request: Request,
    complaint_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    done: str | None = None,
) -> Any:
    return _detail(request, uow, who, container, lang, complaint_id, done=done)


@router.post("/complaints/{complaint_id:int}/pii")
def pii_partial(
    request: Request, complaint_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> Any:
    """Unmasked contact data for roles with PII_VIEW. Every view is audited, hence POST."""
    c = services.access_complaint(uow.session, who, complaint_id)
    revealed = services.reveal_pii(uow.session, who, c, now_of(container))
    uow.commit()
    name = "complaints/_pii.html" if is_htmx(request) else "complaints/pii_page.html"
    resp = render(request, name, {"c": c, "pii": revealed})
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


class ActionForm(BaseModel):
    version: str = ""
    handler_id: str = ""
    reason: str = ""
    outcome: str = ""
    decision: str = ""
    target_id: str = ""
    notified: str = ""
    override_reason: str = ""


@router.post("/complaints/{complaint_id:int}/actions/{action}")
def action_submit(
    request: Request,
    complaint_id: int,
    action: str,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    form: Annotated[ActionForm, Form()],
) -> Any:
    values = form.model_dump()
    try:
        act = Action(action)
    except ValueError:
        exc = ValidationFailed([FieldProblem("action", "未知操作", f"unknown action {action!r}")])
        return _refused(request, uow, who, container, lang, complaint_id, exc, "action", values)
    try:
        req = validate_form(
            ActionRequest,
            {
                "version": blank(form.version),
                "handler_id": blank(form.handler_id),
                "reason": blank(form.reason),
                "outcome": blank(form.outcome),
                "decision": blank(form.decision),
                "target_id": blank(form.target_id),
                "notified": form.notified in ("1", "on", "true") if act == Action.DECIDE else True,
                "override_reason": blank(form.override_reason) if act == Action.DECIDE else None,
            },
        )
        services.act(uow, who, complaint_id, act, req, now_of(container))
    except XiaobaoError as e:
        return _refused(request, uow, who, container, lang, complaint_id, e, f"action:{act.value}", values)
    return _back(complaint_id, act.value)


@router.post("/complaints/{complaint_id:int}/contacts")
def contact_submit(
    request: Request,
    complaint_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    method: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Any:
    values = {"method": method, "outcome": outcome, "note": note}
    try:
        req = validate_form(ContactCreate, {"method": method, "outcome": outcome, "note": blank(note)})
        services.record_contact(uow, who, complaint_id, req.method, req.outcome, req.note, now_of(container))
    except XiaobaoError as e:
        return _refused(request, uow, who, container, lang, complaint_id, e, "contact", values)
    return _back(complaint_id, "contact", "#record")


@router.post("/complaints/{complaint_id:int}/notes")
def note_submit(
    request: Request,
    complaint_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    text: Annotated[str, Form()] = "",
) -> Any:
    try:
        req = validate_form(NoteCreate, {"text": text.strip()})
        services.add_note(uow, who, complaint_id, req.text, now_of(container))
    except XiaobaoError as e:
        return _refused(request, uow, who, container, lang, complaint_id, e, "note", {"text": text})
    return _back(complaint_id, "note", "#record")


@router.post("/complaints/{complaint_id:int}/root-cause")
def root_cause_submit(
    request: Request,
    complaint_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    version: Annotated[str, Form()] = "",
    root_cause: Annotated[str, Form()] = "",
    rectification: Annotated[str, Form()] = "",
) -> Any:
    values = {"version": version, "root_cause": root_cause, "rectification": rectification}
    try:
        req = validate_form(
            RootCauseUpdate,
            {
                "version": blank(version),
                "root_cause": root_cause.strip(),
                "rectification": rectification.strip(),
            },
        )
        services.set_root_cause(
            uow, who, complaint_id, req.version, req.root_cause, req.rectification, now_of(container)
        )
    except XiaobaoError as e:
        return _refused(request, uow, who, container, lang, complaint_id, e, "root_cause", values)
    return _back(complaint_id, "root_cause", "#root-cause")


@router.post("/complaints/{complaint_id:int}/attachments")
def attachment_submit(
    request: Request,
    complaint_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Any:
    limit = container.settings.attachment_max_bytes
    try:
        data = file.file.read(limit + 1) if file is not None else b""
        attachments.add_attachment(
            uow,
            who,
            complaint_id,
            file.filename if file else None,
            file.content_type if file else None,
            data,
            now_of(container),
            container.settings,
        )
    except XiaobaoError as e:
        return _refused(request, uow, who, container, lang, complaint_id, e, "attachment", {})
    return _back(complaint_id, "attachment", "#attachments")


@router.get("/complaints/{complaint_id:int}/attachments/{attachment_id:int}")
def attachment_download(
    complaint_id: int, attachment_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> Response:
    att, path = attachments.open_attachment(
        uow, who, complaint_id, attachment_id, now_of(container), container.settings
    )
    return FileResponse(
        path,
        media_type=att.content_type,
        filename=att.filename,
        headers={"Cache-Control": "private, no-store"},
    )


# ---------------------------------------------------------------- breach watch


@router.get("/complaints/breaches")
def breaches(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    days: Annotated[int | None, Query(ge=0, le=60)] = None,
) -> Any:
    if not who.can(Perm.COMPLAINT_VIEW):
        raise Forbidden()
    s = uow.session
    now = now_of(container)
    within_days = container.settings.due_soon_days if days is None else days
    due_rows = queries.breach_list(s, who, now, timedelta(days=within_days))
    _, contact_rows = queries.list_complaints(
        s,
        who,
        queries.ComplaintFilter(due="contact_overdue", sort="received", per_page=200),
        now,
        container.settings.due_soon,
    )

    def row(c: Complaint, due: datetime | None) -> tuple[Complaint, float | None, datetime | None]:
        return c, None if due is None else (due - now).total_seconds() / 3600, due

    return render(
        request,
        "complaints/breaches.html",
        {
            "days": within_days,
            "tr": lambda label: tr(label, lang),
            "now": now,
            "contact_days": container.settings.contact_target_workdays,
            "overdue": [
                row(c, c.regulatory_due) for c in due_rows if c.regulatory_due and c.regulatory_due < now
            ],
            "due_soon": [
                row(c, c.regulatory_due) for c in due_rows if c.regulatory_due and c.regulatory_due >= now
            ],
            "contact": [row(c, c.contact_due) for c in contact_rows],
            "GROUP_BADGES": GROUP_BADGES,
        },
    )
