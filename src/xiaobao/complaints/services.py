"""Complaint use cases. Each takes the acting Principal and a unit of work (or session), checks
access through `access_complaint`, applies a domain rule, records the audit trail and returns."""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import Org, User
from xiaobao.complaints import deadlines
from xiaobao.complaints.domain import (
    OPEN_STATUSES,
    Action,
    Snapshot,
    Status,
    check,
    require_text,
    search_tokens,
)
from xiaobao.complaints.events import ComplaintDecided, ComplaintReceived
from xiaobao.complaints.schemas import ActionRequest, ComplaintCreate
from xiaobao.complaints.tables import (
    Complaint,
    ComplaintEvent,
    ComplaintPause,
    IdempotencyRecord,
    TrackingCode,
)
from xiaobao.complaints.taxonomy import load_taxonomy
from xiaobao.core import audit, pii
from xiaobao.core.calendar import WorkCalendar
from xiaobao.core.db import UnitOfWork, flush_versioned
from xiaobao.core.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
    XiaobaoError,
)
from xiaobao.web.public import check_public_rate, public_principal

# ---------------------------------------------------------------- access


def access_complaint(
    session: Session,
    who: Principal,
    complaint_id: int,
    perm: Perm = Perm.COMPLAINT_VIEW,
    *,
    for_update: bool = False,
) -> Complaint:
    """The one access check for a complaint: outside the caller's org subtree, or without the
    permission, it does not exist for them."""
    stmt = select(Complaint).where(Complaint.id == complaint_id)
    if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Complaint)
    c = session.scalar(stmt)
    if c is None or not who.can(perm) or not who.sees_path(c.org.path):
        raise NotFound("投诉", "complaint")
    return c


def scoped(stmt: Any, who: Principal) -> Any:
    """Restrict a complaint query to the caller's subtree."""
    if who.scope_path == "/":
        return stmt
    return stmt.join(Org, Org.id == Complaint.org_id).where(Org.path.startswith(who.scope_path))


# ---------------------------------------------------------------- intake


@dataclass
class IntakeContext:
    now: datetime
    calendar: WorkCalendar
    contact_workdays: int = 1


def _problem(field: str, zh: str, en: str) -> FieldProblem:
    return FieldProblem(field, zh, en)


def validate_intake(
    session: Session, who: Principal, data: ComplaintCreate, now: datetime, *, public: bool = False
) -> tuple[Org, dict[str, Any]]:
    """All field checks at once, so the caller sees every problem in one answer."""
    tax = load_taxonomy()
    problems: list[FieldProblem] = []
    clean: dict[str, Any] = {}
    for field, kind, zh in (
        ("business_line", "business_lines", "险种"),
        ("cause", "causes", "投诉原因"),
        ("demand", "demands", "诉求"),
        ("channel", "channels", "渠道"),
    ):
        value = getattr(data, field)
        if not tax.is_valid(kind, value):
            problems.append(
                _problem(field, f"{zh}代码「{value}」不在分类表中", f"unknown {field} code {value!r}")
            )
        elif tax.children_of(kind, value):
            problems.append(
                _problem(field, f"请选择具体的{zh}（二级分类）", f"choose a specific {field} (leaf)")
            )
    for g in data.special_groups:
        if not tax.is_valid("special_groups", g):
            problems.append(
                _problem("special_groups", f"未知特殊群体「{g}」", f"unknown special group {g!r}")
            )
    try:
        clean["phone"] = pii.normalise_phone(data.phone)
    except ValueError as e:
        problems.append(_problem("phone", *_split(e)))
    clean["id_number"] = None
    if data.id_number:
        try:
            clean["id_number"] = pii.validate_id_number(data.id_number)
        except ValueError as e:
            problems.append(_problem("id_number", *_split(e)))
    if (
        data.regulator_ref
        and session.scalar(select(Complaint.id).where(Complaint.regulator_ref == data.regulator_ref))
        is not None
    ):
        problems.append(
            _problem(
                "regulator_ref",
                f"转办编号「{data.regulator_ref}」已登记",
                f"regulator reference {data.regulator_ref!r} is already registered",
            )
        )
    received = data.received_at or now
    if received.tzinfo is None:
        problems.append(_problem("received_at", "接收时间须带时区", "received_at must include a time zone"))
    elif received > now + timedelta(minutes=5):
        problems.append(_problem("received_at", "接收时间不能晚于当前时间", "received_at is in the future"))
    clean["received_at"] = received
    org = None
    if data.org_code:
        org = session.scalar(select(Org).where(Org.code == data.org_code))
        if org is None or (not public and not who.sees_path(org.path)):
            problems.append(
                _problem(
                    "org_code",
                    f"机构「{data.org_code}」不存在或不在您的管辖范围",
                    f"org {data.org_code!r} unknown or outside your scope",
                )
            )
        elif org.kind == "department":
            problems.append(
                _problem(
                    "org_code",
                    "投诉须归属分支机构而非部门",
                    "a complaint belongs to a branch, not a department",
                )
            )
    elif who.org_id is not None:
        org = session.get(Org, who.org_id)
        while org is not None and org.kind == "department":
            org = org.parent
    if org is None and not any(p.field == "org_code" for p in problems):
        problems.append(_problem("org_code", "请指定承办机构", "org_code is required"))
    if problems:
        raise ValidationFailed(problems)
    assert org is not None
    return org, clean


def _split(e: ValueError) -> tuple[str, str]:
    """pii raises 'zh / en' or 'zh (en)' messages; keep both languages."""
    msg = str(e)
    for sep in (" / ", " | ", "；"):
        if sep in msg:
            zh, en = msg.split(sep, 1)
            return zh.strip(), en.strip()
    return msg, msg


def new_tracking_no(now: datetime) -> str:
    alphabet = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"
    local = now.astimezone(deadlines.CN_TZ)
    return "TS" + local.strftime("%y%m%d") + "".join(secrets.choice(alphabet) for _ in range(6))


def _special_groups(id_number: str | None, declared: list[str], on: datetime) -> str:
    groups = set(declared)
    if id_number:
        d = on.astimezone(deadlines.CN_TZ).date()
        if pii.is_elderly(id_number, d):
            groups.add("elderly")
        if pii.is_minor(id_number, d):
            groups.add("minor")
    return "," + ",".join(sorted(groups)) + "," if groups else ""


def create_complaint(
    session: Session, who: Principal, data: ComplaintCreate, ctx: IntakeContext, *, public: bool = False
) -> Complaint:
    org, clean = validate_intake(session, who, data, ctx.now, public=public)
    received: datetime = clean["received_at"]
    c = Complaint(
        tracking_no=new_tracking_no(ctx.now),
        status=Status.RECEIVED,
        org_id=org.id,
        org=org,
        created_by_id=who.user_id,
        complainant_name=data.complainant_name,
        id_number=clean["id_number"],
        phone=clean["phone"],
        special_groups=_special_groups(clean["id_number"], data.special_groups, received),
        representatives=data.representatives,
        policy_no=data.policy_no or None,
        claim_no=data.claim_no or None,
        business_line=data.business_line,
        cause=data.cause,
        demand=data.demand,
        amount_claimed=data.amount_claimed,
        channel=data.channel,
        regulator_ref=data.regulator_ref or None,
        description=data.description,
        search_doc=search_tokens(data.description),
        received_at=received,
        clock_start=received,
        created_at=ctx.now,
        updated_at=ctx.now,
        regulatory_due=deadlines.regulatory_due(received, 0, []),
        contact_due=deadlines.contact_due(received, ctx.calendar, ctx.contact_workdays),
    )
    session.add(c)
    session.flush()
    # the event and audit rows are plain appends: Core INSERTs, without another ORM flush (bench/intake.py)
    session.connection().execute(
        _INSERT_EVENT,
        dict(
            complaint_id=c.id,
            at=received,
            actor_id=who.user_id,
            actor_label=who.label,
            kind="received",
            text=None,
            data={"channel": c.channel},
        ),
    )
    audit.record(
        session,
        at=ctx.now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="complaint.create",
        entity_type="complaint",
        entity_id=c.id,
        after=_audit_view(c),
        ip=who.ip,
        immediate=True,
    )
    return c


_INSERT_EVENT = cast(Table, ComplaintEvent.__table__).insert()
_INSERT_IDEMPOTENCY = cast(Table, IdempotencyRecord.__table__).insert()


def request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def intake_idempotent(
    uow: UnitOfWork, who: Principal, data: ComplaintCreate, ctx: IntakeContext, *, key: str, render: Any
) -> tuple[int, dict[str, Any], bool]:
    """Create a complaint once per (caller, Idempotency-Key). Returns (status, body, replayed).

    The stored response is written in the same transaction as the complaint, so an acknowledged
    intake survives a crash and a retry (even a concurrent one) never creates a second complaint."""
    caller = f"user:{who.user_id}"
    digest = request_hash(data.model_dump(mode="json"))
    s = uow.session
    existing = s.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.caller == caller, IdempotencyRecord.key == key)
    )
    if existing is not None:
        return _replay(existing, digest)
    try:
        c = create_complaint(s, who, data, ctx)
        body = render(c)
        s.connection().execute(
            _INSERT_IDEMPOTENCY,
            dict(
                caller=caller,
                key=key,
                request_hash=digest,
                status_code=201,
                response=body,
                created_at=ctx.now,
            ),
        )
        uow.commit()
    except IntegrityError:
        uow.rollback()
        existing = s.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.caller == caller, IdempotencyRecord.key == key)
        )
        if existing is None:
            raise
        return _replay(existing, digest)
    uow.emit(ComplaintReceived(c.id, phone=c.phone, tracking_no=c.tracking_no))
    return 201, body, False


def _replay(rec: IdempotencyRecord, digest: str) -> tuple[int, dict[str, Any], bool]:
    if rec.request_hash != digest:
        raise Conflict(
            "该 Idempotency-Key 已用于另一份不同的请求",
            "This Idempotency-Key was already used with a different request body",
        )
    return rec.status_code, rec.response, True


# ---------------------------------------------------------------- lifecycle


def snapshot(c: Complaint) -> Snapshot:
    return Snapshot(
        status=Status(c.status),
        org_path=c.org.path,
        handler_id=c.handler_id,
        extension_level=c.extension_level,
        extension2_requested=c.extension2_requested,
        paused=c.paused_since is not None,
        notified_at=c.notified_at,
    )


def _check_version(c: Complaint, version: int) -> None:
    if c.version != version:
        raise Conflict(
            f"该投诉已被他人修改（您看到的是第 {version} 版，当前为第 {c.version} 版），请刷新后重试",
            f"This complaint was changed by someone else (you saw version {version}, it is now "
            f"{c.version}); reload and try again",
        )


def _pauses(session: Session, c: Complaint) -> list[deadlines.Pause]:
    # inside act() autoflush is off: rows already in the session keep their unflushed changes
    # (a pause just ended), a new pause must have been flushed
    rows = session.scalars(
        select(ComplaintPause).where(
            ComplaintPause.complaint_id == c.id, ComplaintPause.start >= c.clock_start
        )
    )
    return [deadlines.Pause(r.start, r.end) for r in rows]


def refresh_due(session: Session, c: Complaint) -> None:
    c.regulatory_due = deadlines.regulatory_due(c.clock_start, c.extension_level, _pauses(session, c))


def _event(
    session: Session,
    c: Complaint,
    who: Principal,
    at: datetime,
    kind: str,
    text: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        ComplaintEvent(
            complaint_id=c.id,
            at=at,
            actor_id=who.user_id,
            actor_label=who.label,
            kind=kind,
            text=text,
            data=data,
        )
    )


_AUDITED = (
    "status",
    "handler_id",
    "extension_level",
    "extension2_requested",
    "paused_since",
    "regulatory_due",
    "decision_outcome",
    "decision",
    "merged_into_id",
    "review_outcome",
    "root_cause",
    "rectification",
    "org_id",
    "first_contact_at",
    "notified_at",
    "closed_at",
)


def _audit_view(c: Complaint) -> dict[str, Any]:
    d = {k: getattr(c, k) for k in _AUDITED}
    d["tracking_no"] = c.tracking_no
    d["version"] = c.version
    return d


def act(
    uow: UnitOfWork, who: Principal, complaint_id: int, action: Action, req: ActionRequest, now: datetime
) -> Complaint:
    """Apply one lifecycle action: access check, version check, rule check, change, audit."""
    s = uow.session
    c = access_complaint(s, who, complaint_id, for_update=True)
    _check_version(c, req.version)
    check(action, snapshot(c), who, now)
    before = _audit_view(c)
    with s.no_autoflush:  # one UPDATE per action: the version moves by exactly one
        APPLY[action](s, c, who, req, now)
    c.updated_at = now
    flush_versioned(s, "投诉", "complaint")
    b, a = audit.diff(before, _audit_view(c))
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action=f"complaint.{action.value}",
        entity_type="complaint",
        entity_id=c.id,
        before=b,
        after=a,
        ip=who.ip,
    )
    uow.commit()
    if action == Action.DECIDE:
        uow.emit(ComplaintDecided(c.id))
    return c


def _reason(req: ActionRequest, zh: str = "原因", en: str = "reason") -> str:
    return require_text("reason", req.reason, zh, en)


def _accept(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    if req.handler_id is None:
        raise ValidationFailed([_problem("handler_id", "请选择承办人", "handler_id is required")])
    handler = s.get(User, req.handler_id)
    if (
        handler is None
        or not handler.active
        or "handler" not in handler.roles
        and "officer" not in handler.roles
    ):
        raise ValidationFailed(
            [
                _problem(
                    "handler_id", "承办人不存在或不是投诉处理人", "handler unknown or not a complaint handler"
                )
            ]
        )
    from xiaobao.auth.services import scope_path_for

    if not c.org.path.startswith(scope_path_for(handler.org)) or not who.sees_path(handler.org.path):
        raise ValidationFailed(
            [
                _problem(
                    "handler_id",
                    "承办人须属于承办机构或其上级机构",
                    "the handler must belong to the handling org or above",
                )
            ]
        )
    previous = c.handler_id
    if previous == handler.id:
        raise ValidationFailed(
            [
                _problem(
                    "handler_id",
                    "该承办人已负责此投诉，请选择其他人",
                    "this handler is already assigned; choose someone else",
                )
            ]
        )
    c.handler = handler  # the relationship too, so the answer shows the new handler
    if c.status == Status.RECEIVED:
        c.status = Status.ACCEPTED
        c.accepted_at = now
    _event(s, c, who, now, "assigned", req.reason, {"handler": handler.display_name, "previous": previous})


def _start(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    c.status = Status.HANDLING
    _event(s, c, who, now, "started", req.reason)


def _extend(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    reason = _reason(req, "延期原因", "extension reason")
    c.extension_level = 1
    refresh_due(s, c)
    _event(s, c, who, now, "extended", reason, {"level": 1})


def _request_ext2(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    reason = _reason(req, "再延期原因", "reason for a further extension")
    c.extension2_requested = True
    _event(s, c, who, now, "extension2_requested", reason)


def _approve_ext2(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    c.extension2_requested = False
    c.extension_level = 2
    refresh_due(s, c)
    _event(s, c, who, now, "extension2_approved", req.reason, {"level": 2})


def _reject_ext2(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    c.extension2_requested = False
    _event(s, c, who, now, "extension2_rejected", _reason(req))


def _pause(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    reason = _reason(req, "鉴定/检测/评估事项", "appraisal reason")
    s.add(ComplaintPause(complaint_id=c.id, start=now, end=None, reason=reason))
    s.flush()  # the new pause only: the complaint itself is written once, at the end of act()
    c.paused_since = now
    refresh_due(s, c)
    _event(s, c, who, now, "paused", reason)


def _resume(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    row = s.scalar(
        select(ComplaintPause).where(ComplaintPause.complaint_id == c.id, ComplaintPause.end.is_(None))
    )
    if row is not None:
        row.end = now
    c.paused_since = None
    refresh_due(s, c)
    _event(s, c, who, now, "resumed", req.reason)


# ---------------------------------------------------------------- decision blockers


@dataclass(frozen=True)
class DecisionBlocker:
    """Work that must be finished before a complaint is decided, e.g. an open blocking co-handling task."""

    ref: str
    label_zh: str
    label_en: str
    link: str | None = None


BlockerFn = Callable[[Session, Complaint], list[DecisionBlocker]]
_DECISION_BLOCKERS: dict[str, BlockerFn] = {}


def register_decision_blocker(name: str, fn: BlockerFn) -> None:
    """Other modules (tasks) plug in what stops a decision, at bootstrap; by name, so registering twice is
    harmless. Complaints never import those modules."""
    _DECISION_BLOCKERS[name] = fn


def decision_blockers(s: Session, c: Complaint) -> list[DecisionBlocker]:
    return [b for fn in _DECISION_BLOCKERS.values() for b in fn(s, c)]


def _decision_guard(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    """Refuse a decision while blockers are open, unless an officer overrides with a reason (audited)."""
    blockers = decision_blockers(s, c)
    if not blockers:
        return
    if not (req.override_reason or "").strip():
        zh = "、".join(b.label_zh for b in blockers)
        en = "; ".join(b.label_en for b in blockers)
        raise InvalidTransition(
            f"尚有未完成的阻断性协办：{zh}。请等待协办答复，或由消保专员填写理由后强制出具处理意见",
            f"Blocking co-handling is still open: {en}. Wait for the answer, or an officer may decide anyway "
            "with a reason",
        )
    if not who.can(Perm.COHANDLING_OVERRIDE):
        raise Forbidden(
            "只有消保专员可以在协办未完成时出具处理意见",
            "Only a consumer-protection officer may decide while co-handling is open",
        )
    reason = require_text(
        "override_reason", req.override_reason, "强制出具处理意见的理由", "override reason", min_len=5
    )
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="complaint.decision_override",
        entity_type="complaint",
        entity_id=c.id,
        after={"reason": reason, "blockers": [b.ref for b in blockers]},
        ip=who.ip,
    )
    _event(
        s,
        c,
        who,
        now,
        "decision_override",
        reason,
        {"blockers": [b.label_zh for b in blockers], "blockers_en": [b.label_en for b in blockers]},
    )


def _decide(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    _decision_guard(s, c, who, req, now)
    decision = require_text("decision", req.decision, "处理意见", "decision", min_len=10)
    if req.outcome not in ("upheld", "partial", "rejected"):
        raise ValidationFailed(
            [
                _problem(
                    "outcome",
                    "请选择处理结论（支持/部分支持/不支持）",
                    "outcome must be upheld, partial or rejected",
                )
            ]
        )
    from xiaobao.complaints.notice import render_notice

    c.status = Status.DECIDED
    c.decided_at = now
    c.decision_outcome = req.outcome
    c.decision = decision
    c.on_time = c.regulatory_due is not None and now <= c.regulatory_due
    c.notice_text = render_notice(c, now)
    if req.notified:
        c.notified_at = now
    _event(s, c, who, now, "decided", decision, {"outcome": req.outcome, "on_time": c.on_time})


def _close(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    if c.notified_at is None:
        c.notified_at = now
    c.status = Status.CLOSED
    c.closed_at = now
    _event(s, c, who, now, "closed", req.reason)


def _withdraw(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    reason = _reason(req, "撤回说明", "withdrawal note")
    c.status = Status.WITHDRAWN
    c.closed_at = now  # a withdrawal ends handling that day
    _close_open_pause(s, c, now)
    _event(s, c, who, now, "withdrawn", reason)


def _merge(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    if req.target_id is None or req.target_id == c.id:
        raise ValidationFailed([_problem("target_id", "请选择合并到的投诉", "target_id is required")])
    target = access_complaint(s, who, req.target_id)
    if target.status not in OPEN_STATUSES:
        raise ValidationFailed(
            [_problem("target_id", "只能合并到处理中的投诉", "the target must still be open")]
        )
    if not _same_person(c, target):
        raise ValidationFailed(
            [
                _problem(
                    "target_id",
                    "重复投诉须为同一投诉人",
                    "a repeat complaint must come from the same complainant",
                )
            ]
        )
    c.status = Status.MERGED
    c.merged_into_id = target.id
    c.closed_at = now
    _close_open_pause(s, c, now)
    _event(s, c, who, now, "merged", req.reason, {"into": target.tracking_no})
    _event(s, target, who, now, "merged_from", req.reason, {"from": c.tracking_no})


def _request_review(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    text = _reason(req, "核查申请内容", "核查 application text")
    c.status = Status.REVIEW
    c.review_requested_at = now
    c.review_outcome = None
    _event(s, c, who, now, "review_requested", text)


def _conclude_review(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    text = _reason(req, "核查意见", "核查 conclusion")
    if req.outcome not in ("upheld", "reopened"):
        raise ValidationFailed(
            [_problem("outcome", "核查结论须为维持或重新处理", "outcome must be upheld or reopened")]
        )
    c.review_outcome = req.outcome
    if req.outcome == "upheld":
        c.status = Status.CLOSED
        c.closed_at = c.closed_at or now
    else:
        _restart(s, c, now)
    _event(s, c, who, now, "review_concluded", text, {"outcome": req.outcome})


def _reopen(s: Session, c: Complaint, who: Principal, req: ActionRequest, now: datetime) -> None:
    reason = _reason(req, "重新处理原因", "reason to reopen")
    _restart(s, c, now)
    _event(s, c, who, now, "reopened", reason)


def _restart(s: Session, c: Complaint, now: datetime) -> None:
    """Back to handling with a fresh regulatory clock (new facts restart it)."""
    c.status = Status.HANDLING
    c.clock_start = now
    c.extension_level = 0
    c.extension2_requested = False
    c.decided_at = c.notified_at = c.closed_at = None
    c.on_time = None
    refresh_due(s, c)


def _close_open_pause(s: Session, c: Complaint, now: datetime) -> None:
    if c.paused_since is not None:
        row = s.scalar(
            select(ComplaintPause).where(ComplaintPause.complaint_id == c.id, ComplaintPause.end.is_(None))
        )
        if row is not None:
            row.end = now
        c.paused_since = None


APPLY = {
    Action.ACCEPT: _accept,
    Action.REASSIGN: _accept,
    Action.START: _start,
    Action.EXTEND: _extend,
    Action.REQUEST_EXTENSION2: _request_ext2,
    Action.APPROVE_EXTENSION2: _approve_ext2,
    Action.REJECT_EXTENSION2: _reject_ext2,
    Action.PAUSE: _pause,
    Action.RESUME: _resume,
    Action.DECIDE: _decide,
    Action.CLOSE: _close,
    Action.WITHDRAW: _withdraw,
    Action.MERGE: _merge,
    Action.REQUEST_REVIEW: _request_review,
    Action.CONCLUDE_REVIEW: _conclude_review,
    Action.REOPEN: _reopen,
}
assert set(APPLY) == set(Action)


# ---------------------------------------------------------------- deadline view

UNTIMED = frozenset({Status.WITHDRAWN, Status.MERGED})
"""Handling ended without a decision: the regulatory clock no longer applies."""


def deadline_view(c: Complaint, now: datetime, due_soon: timedelta) -> deadlines.DeadlineView | None:
    """The regulatory deadline as staff and the API see it; None once handling ended without a decision."""
    if c.status in UNTIMED:
        return None
    done = c.decided_at if c.status not in OPEN_STATUSES else None
    return deadlines.assess(c.regulatory_due, now, done, due_soon=due_soon, paused=c.paused_since is not None)


def deadline_state(c: Complaint, now: datetime, due_soon: timedelta) -> str:
    view = deadline_view(c, now, due_soon)
    return "untimed" if view is None else view.state.value


# ---------------------------------------------------------------- handling record


def handling_access(
    s: Session, who: Principal, complaint_id: int, *, allow_closed: bool = False
) -> Complaint:
    """Access check for adding to the handling record (contacts, notes, root cause, attachments):
    the assigned handler or an officer, while the complaint is not finished (root cause and
    rectification, 溯源整改, may still be recorded after closure: `allow_closed`)."""
    c = access_complaint(s, who, complaint_id)  # out of sight: 404; in sight but not yours: 403
    mine = c.handler_id == who.user_id or who.can(Perm.COMPLAINT_ASSIGN)
    if not who.can(Perm.COMPLAINT_HANDLE) or not mine:
        raise Forbidden(
            "只有承办人或消保专员可以记录处理过程",
            "Only the assigned handler or an officer may add to the handling record",
        )
    if not allow_closed and c.status not in OPEN_STATUSES | {Status.DECIDED, Status.REVIEW}:
        raise InvalidTransition("已办结的投诉不能再添加处理记录", "A finished complaint's record is closed")
    return c


def record_contact(
    uow: UnitOfWork,
    who: Principal,
    complaint_id: int,
    method: str,
    outcome: str,
    note: str | None,
    now: datetime,
) -> Complaint:
    s = uow.session
    c = handling_access(s, who, complaint_id)
    if outcome == "reached" and c.first_contact_at is None:
        c.first_contact_at = now
        c.updated_at = now
    _event(s, c, who, now, "contact", note, {"method": method, "outcome": outcome})
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="complaint.contact",
        entity_type="complaint",
        entity_id=c.id,
        after={"method": method, "outcome": outcome},
    )
    uow.commit()
    return c


def add_note(uow: UnitOfWork, who: Principal, complaint_id: int, text: str, now: datetime) -> Complaint:
    s = uow.session
    c = handling_access(s, who, complaint_id)
    _event(s, c, who, now, "note", text)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="complaint.note",
        entity_type="complaint",
        entity_id=c.id,
        after={"text": text},
    )
    uow.commit()
    return c


def set_root_cause(
    uow: UnitOfWork,
    who: Principal,
    complaint_id: int,
    version: int,
    root_cause: str,
    rectification: str,
    now: datetime,
) -> Complaint:
    s = uow.session
    c = handling_access(s, who, complaint_id, allow_closed=True)
    _check_version(c, version)
    before = _audit_view(c)
    c.root_cause, c.rectification, c.updated_at = root_cause, rectification, now
    s.flush()
    b, a = audit.diff(before, _audit_view(c))
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="complaint.root_cause",
        entity_type="complaint",
        entity_id=c.id,
        before=b,
        after=a,
    )
    _event(s, c, who, now, "root_cause", root_cause, {"rectification": rectification})
    uow.commit()
    return c


def timeline(s: Session, c: Complaint) -> list[ComplaintEvent]:
    return list(
        s.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == c.id)
            .order_by(ComplaintEvent.at, ComplaintEvent.id)
        )
    )


def reveal_pii(s: Session, who: Principal, c: Complaint, now: datetime) -> dict[str, str | None]:
    """Unmasked ID and phone for roles that need them; every view is audited."""
    if not who.can(Perm.PII_VIEW):
        raise Forbidden("您的角色不能查看完整的个人信息", "Your role may not see unmasked personal data")
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="pii.view",
        entity_type="complaint",
        entity_id=c.id,
        after={"fields": ["id_number", "phone"]},
        ip=who.ip,
    )
    return {"id_number": c.id_number, "phone": c.phone, "complainant_name": c.complainant_name}


# ---------------------------------------------------------------- duplicates


def _same_person(a: Complaint, b: Complaint) -> bool:
    return bool((a.id_number and a.id_number == b.id_number) or a.phone == b.phone)


def duplicate_candidates(s: Session, who: Principal, c: Complaint, window_days: int = 30) -> list[Complaint]:
    """Same complainant (ID or phone) and same policy, received within 30 days either side."""
    if not c.policy_no:
        return []
    person = [Complaint.phone == c.phone]
    if c.id_number:
        person.append(Complaint.id_number == c.id_number)
    lo, hi = c.received_at - timedelta(days=window_days), c.received_at + timedelta(days=window_days)
    stmt = (
        select(Complaint)
        .where(
            Complaint.id != c.id,
            or_(*person),
            Complaint.policy_no == c.policy_no,
            Complaint.received_at.between(lo, hi),
            Complaint.status != Status.MERGED,
        )
        .order_by(Complaint.received_at)
    )
    return list(s.scalars(scoped(stmt, who)))


# ---------------------------------------------------------------- public (no login)

PUBLIC_CHANNELS = frozenset({"web", "mobile", "app"})
"""Channels a consumer may file through without signing in."""
PUBLIC_SUBMIT_LIMIT = 10
"""Complaints one IP address may file per hour (`web.public.PUBLIC_WINDOW`)."""
PUBLIC_CODE_LIMIT = 10
"""Tracking codes one IP address may request per hour (`web.public.PUBLIC_WINDOW`)."""
TRACK_CODE_TTL = timedelta(minutes=10)
TRACK_MAX_ATTEMPTS = 5
TRACK_CODES_PER_HOUR = 5
"""Codes texted for one complaint per hour (besides one a minute): no SMS flooding of a phone."""


def create_public_complaint(
    uow: UnitOfWork,
    data: ComplaintCreate,
    ctx: IntakeContext,
    ip: str,
    *,
    consent: dict[str, Any] | None = None,
) -> Complaint:
    """A consumer files a complaint without signing in: rate-limited per IP, online channels only,
    received now (a consumer cannot back-date it or claim a regulator referral).

    `consent` (which notice was accepted, whether the ID number was separately consented to) is kept in the
    audit log as evidence of the consent 个人信息保护法 Art.14 and Art.29 require."""
    s = uow.session
    check_public_rate(s, "complaint.create", ip, ctx.now, PUBLIC_SUBMIT_LIMIT)
    if data.channel not in PUBLIC_CHANNELS:
        raise ValidationFailed(
            [
                _problem(
                    "channel",
                    "线上投诉的渠道只能是网页、移动端或APP",
                    "online complaints come through the web, mobile or app channel",
                )
            ]
        )
    data = data.model_copy(update={"received_at": None, "regulator_ref": None})
    c = create_complaint(s, public_principal(ip), data, ctx, public=True)
    if consent is not None:
        audit.record(
            s,
            at=ctx.now,
            actor_id=None,
            actor_label="公众 (public)",
            action="complaint.consent",
            entity_type="complaint",
            entity_id=c.id,
            after=consent,
            ip=ip,
        )
    uow.commit()
    uow.emit(ComplaintReceived(c.id))
    return c


def send_tracking_code(
    uow: UnitOfWork, tracking_no: str, now: datetime, sms: Any, *, ip: str | None = None
) -> None:
    """Text a one-time code to the phone on record. Says nothing about whether the number exists.

    With `ip`, requests are rate-limited per IP and audited (found or not)."""
    s = uow.session
    number = tracking_no.strip().upper()
    if ip is not None:
        check_public_rate(s, "complaint.track_code", ip, now, PUBLIC_CODE_LIMIT)
    c = s.scalar(select(Complaint).where(Complaint.tracking_no == number))
    if ip is not None:
        audit.record(
            s,
            at=now,
            actor_id=None,
            actor_label="公众 (public)",
            action="complaint.track_code",
            entity_type="complaint",
            entity_id=c.id if c else None,
            after={"tracking_no": number[:24], "found": c is not None},
            ip=ip,
        )
        uow.commit()
    if c is None:
        return
    recent = list(
        s.scalars(
            select(TrackingCode.created_at).where(
                TrackingCode.complaint_id == c.id, TrackingCode.created_at > now - timedelta(hours=1)
            )
        )
    )
    if len(recent) >= TRACK_CODES_PER_HOUR or any(t > now - timedelta(minutes=1) for t in recent):
        return  # at most one code a minute and a few an hour
    code = f"{secrets.randbelow(1_000_000):06d}"
    s.add(
        TrackingCode(
            complaint_id=c.id,
            code_hash=_code_hash(c.id, code),
            created_at=now,
            expires_at=now + TRACK_CODE_TTL,
        )
    )
    uow.commit()
    sms.send(c.phone, f"【消保】您的投诉 {c.tracking_no} 查询验证码为 {code}，10分钟内有效。", at=now)


def _code_hash(complaint_id: int, code: str) -> str:
    return hashlib.sha256(f"{complaint_id}:{code}".encode()).hexdigest()


def verify_tracking_code(
    uow: UnitOfWork, tracking_no: str, code: str, now: datetime, *, ip: str | None = None
) -> Complaint:
    """The complaint if `code` is the latest unexpired, unused code for it; one wrong answer for every
    failure (unknown number, wrong, expired, used or too many attempts). A success is audited."""
    s = uow.session
    wrong = XiaobaoError(
        "查询编号或验证码不正确，或验证码已过期", "Wrong tracking number or code, or the code expired"
    )
    c = s.scalar(select(Complaint).where(Complaint.tracking_no == tracking_no.strip().upper()))
    if c is None:
        raise wrong
    row = s.scalar(
        select(TrackingCode)
        .where(
            TrackingCode.complaint_id == c.id,
            TrackingCode.used_at.is_(None),
            TrackingCode.expires_at > now,
        )
        .order_by(TrackingCode.created_at.desc())
        .limit(1)
    )
    if row is None or row.attempts >= TRACK_MAX_ATTEMPTS:
        raise wrong
    if not secrets.compare_digest(row.code_hash, _code_hash(c.id, code.strip())):
        row.attempts += 1
        uow.commit()
        raise wrong
    row.used_at = now
    audit.record(
        s,
        at=now,
        actor_id=None,
        actor_label="公众 (public)",
        action="complaint.public_view",
        entity_type="complaint",
        entity_id=c.id,
        ip=ip,
    )
    uow.commit()
    return c


PUBLIC_EVENTS = {
    "received",
    "assigned",
    "started",
    "extended",
    "extension2_approved",
    "paused",
    "resumed",
    "decided",
    "closed",
    "withdrawn",
    "merged",
    "review_requested",
    "review_concluded",
    "reopened",
}


def public_timeline(s: Session, c: Complaint) -> list[ComplaintEvent]:
    return [e for e in timeline(s, c) if e.kind in PUBLIC_EVENTS]
