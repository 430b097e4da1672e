"""Review use cases. Each takes the acting Principal and a unit of work (or session), checks access through
`access_submission` (THE access check), applies a rule from `domain.TRANSITIONS`, writes the audit row and
returns. The reviewer's work item is a task of the co-handling engine (source type "review"): created at
assignment with a due date of REVIEW_WORKDAYS working days, completed when the reviewer concludes, cancelled
when the reviewer changes or the material is withdrawn.

Who sees a submission: people with Perm.REVIEW_VIEW whose org subtree holds the submitting org; its
submitter and the submitting department's colleagues who may submit (Perm.REVIEW_SUBMIT); the assigned
reviewer. Only the submitter resubmits, withdraws and releases; only the assigned reviewer decides and
concludes. Everyone else gets NotFound (out of scope looks like not found)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import PERMISSIONS, Perm
from xiaobao.auth.services import principal_for
from xiaobao.auth.tables import Org, User, UserRole
from xiaobao.core import audit
from xiaobao.core.calendar import CN_TZ, WorkCalendar
from xiaobao.core.db import UnitOfWork, flush_versioned
from xiaobao.core.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from xiaobao.review import library
from xiaobao.review.domain import (
    CONCLUSION_META,
    MATERIAL_TYPE_META,
    PRODUCT_LINE_META,
    REVIEW_WORKDAYS,
    STATUS_META,
    TRANSITIONS,
    Action,
    Conclusion,
    Decision,
    Status,
    allowed_conclusions,
    diff_stats,
    diff_texts,
    review_number,
)
from xiaobao.review.extract import ExtractionError, extract_bytes
from xiaobao.review.tables import (
    ReviewConclusion,
    ReviewFinding,
    ReviewNumberCounter,
    ReviewSubmission,
    ReviewVersion,
)

NOUN = ("审查申请", "review submission")
MAX_TEXT = 200_000


def _problem(field_: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed([FieldProblem(field_, zh, en)])


@dataclass
class Ctx:
    now: datetime
    calendar: WorkCalendar


# ---------------------------------------------------------------- access


def relations(s: Session, who: Principal, sub: ReviewSubmission) -> frozenset[str]:
    rels: set[str] = set()
    uid = who.user_id
    if who.can(Perm.REVIEW_VIEW) and who.sees_path(sub.org.path):
        rels.add("viewer")
    if uid is not None and sub.submitter_id == uid:
        rels.add("submitter")
    if who.can(Perm.REVIEW_SUBMIT) and who.org_id == sub.org_id:
        rels.add("colleague")  # sees the department's submissions; acting on them is the submitter's
    if uid is not None and sub.reviewer_id == uid:
        rels.add("reviewer")
    if who.sees_path(sub.org.path) and (
        who.can(Perm.REVIEW_DECIDE) or (who.can(Perm.REVIEW_VIEW) and who.can(Perm.TASK_MANAGE))
    ):
        rels.add("manager")
    return frozenset(rels)


def access_submission(
    s: Session, who: Principal, submission_id: int, *, for_update: bool = False
) -> tuple[ReviewSubmission, frozenset[str]]:
    """The one access check: the submission and what `who` is to it; NotFound when out of sight."""
    stmt = select(ReviewSubmission).where(ReviewSubmission.id == submission_id)
    if for_update and s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=ReviewSubmission)
    sub = s.scalar(stmt)
    if sub is None:
        raise NotFound(*NOUN)
    rels = relations(s, who, sub)
    if not rels:
        raise NotFound(*NOUN)
    return sub, rels


def visible(stmt: Any, who: Principal) -> Any:
    """Restrict a submission query to what `who` may see (the list form of `relations`)."""
    conds = []
    if who.can(Perm.REVIEW_VIEW):
        conds.append(Org.path.startswith(who.scope_path))
    if who.user_id is not None:
        conds.append(ReviewSubmission.submitter_id == who.user_id)
        conds.append(ReviewSubmission.reviewer_id == who.user_id)
    if who.can(Perm.REVIEW_SUBMIT) and who.org_id is not None:
        conds.append(ReviewSubmission.org_id == who.org_id)
    if not conds:
        return stmt.where(ReviewSubmission.id.is_(None))
    return stmt.join(Org, Org.id == ReviewSubmission.org_id).where(or_(*conds))


def allowed(action: Action, sub: ReviewSubmission, rels: frozenset[str], who: Principal) -> bool:
    try:
        check(action, sub, rels, who)
    except (Forbidden, InvalidTransition):
        return False
    return True


def check(action: Action, sub: ReviewSubmission, rels: frozenset[str], who: Principal) -> None:
    rule = TRANSITIONS[action]
    if not who.can(rule.perm) or rule.who not in rels:
        who_zh = {"reviewer": "指派的审查人", "submitter": "提交人", "manager": "审查人或管理人员"}[rule.who]
        raise Forbidden(f"只有{who_zh}可以执行此操作", "You are not allowed to do this with this submission")
    if Status(sub.status) not in rule.from_states:
        zh, en, _ = STATUS_META[Status(sub.status)]
        raise InvalidTransition(
            f"当前状态（{zh}）不能执行此操作", f"Not possible while the submission is {en.lower()}"
        )


# ---------------------------------------------------------------- reading


def versions(s: Session, sub: ReviewSubmission) -> list[ReviewVersion]:
    return list(
        s.scalars(
            select(ReviewVersion).where(ReviewVersion.submission_id == sub.id).order_by(ReviewVersion.n)
        )
    )


def version_of(s: Session, sub: ReviewSubmission, n: int | None = None) -> ReviewVersion:
    v = s.scalar(
        select(ReviewVersion).where(
            ReviewVersion.submission_id == sub.id, ReviewVersion.n == (n or sub.current_n)
        )
    )
    if v is None:
        raise NotFound("版本", "version")
    return v


def findings(s: Session, v: ReviewVersion) -> list[ReviewFinding]:
    return list(
        s.scalars(
            select(ReviewFinding).where(ReviewFinding.version_id == v.id).order_by(ReviewFinding.position)
        )
    )


def conclusion_of(s: Session, v: ReviewVersion) -> ReviewConclusion | None:
    return s.scalar(select(ReviewConclusion).where(ReviewConclusion.version_id == v.id))


def list_submissions(
    s: Session,
    who: Principal,
    *,
    status: str | None = None,
    q: str | None = None,
    mine: bool = False,
    limit: int = 300,
) -> list[ReviewSubmission]:
    stmt = visible(select(ReviewSubmission), who)
    if status:
        stmt = stmt.where(ReviewSubmission.status == status)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(ReviewSubmission.title.like(like), ReviewSubmission.review_number.like(like)))
    if mine and who.user_id is not None:
        stmt = stmt.where(ReviewSubmission.submitter_id == who.user_id)
    return list(s.scalars(stmt.order_by(ReviewSubmission.updated_at.desc()).limit(limit)).unique())


def queue(s: Session, who: Principal) -> tuple[list[ReviewSubmission], list[ReviewSubmission]]:
    """A reviewer's queue: what is assigned to them (earliest due first) and, in their scope, what waits
    for a reviewer."""
    if not who.can(Perm.REVIEW_DECIDE) or who.user_id is None:
        return [], []
    mine = s.scalars(
        select(ReviewSubmission)
        .where(ReviewSubmission.reviewer_id == who.user_id, ReviewSubmission.status == Status.IN_REVIEW.value)
        .order_by(ReviewSubmission.due_at, ReviewSubmission.id)
    ).unique()
    waiting = s.scalars(
        select(ReviewSubmission)
        .join(Org, Org.id == ReviewSubmission.org_id)
        .where(ReviewSubmission.status == Status.SUBMITTED.value, Org.path.startswith(who.scope_path))
        .order_by(ReviewSubmission.submitted_at, ReviewSubmission.id)
    ).unique()
    return list(mine), list(waiting)


def reviewers_for(s: Session, org: Org) -> list[User]:
    """Active reviewers whose scope holds `org` (the submitting org's own reviewers and those above)."""
    roles = sorted(r.value for r in PERMISSIONS[Perm.REVIEW_DECIDE])
    users = s.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.active.is_(True), UserRole.role.in_(roles))
        .order_by(User.display_name)
    ).unique()
    return [u for u in users if principal_for(u).sees_path(org.path)]


# ---------------------------------------------------------------- submit


@dataclass
class Material:
    title: str
    material_type: str
    product_line: str | None = None
    text: str | None = None
    file_name: str | None = None
    file_data: bytes | None = None
    reviewer_id: int | None = None
    org_id: int | None = None
    note: str | None = None

    def digest(self) -> str:
        body = {
            "title": self.title,
            "material_type": self.material_type,
            "product_line": self.product_line,
            "text": self.text,
            "file": hashlib.sha256(self.file_data).hexdigest() if self.file_data else None,
            "file_name": self.file_name,
            "reviewer_id": self.reviewer_id,
            "org_id": self.org_id,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _material_text(m: Material) -> tuple[str, str | None, list[Any]]:
    if m.file_data:
        try:
            ex = extract_bytes(m.file_data, m.file_name or "material.txt")
        except ExtractionError as e:
            raise _problem("file", e.zh, e.en) from e
        text, parts = ex.text, [[p.kind, p.index, p.start, p.end] for p in ex.parts]
        name = m.file_name
    else:
        text, parts, name = (m.text or ""), [], None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise _problem("text", "请填写或上传待审查的材料内容", "type or upload the material to review")
    if len(text) > MAX_TEXT:
        raise _problem(
            "text",
            f"材料过长（上限 {MAX_TEXT} 字）",
            f"the material is too long (at most {MAX_TEXT} characters)",
        )
    return text, name, parts


def _validate(m: Material) -> list[FieldProblem]:
    problems = []
    title = (m.title or "").strip()
    if not 2 <= len(title) <= 200:
        problems.append(FieldProblem("title", "标题须为 2–200 个字", "the title needs 2 to 200 characters"))
    if m.material_type not in MATERIAL_TYPE_META:
        problems.append(
            FieldProblem(
                "material_type",
                "材料类型须为：产品条款、营销宣传、销售话术、客户告知之一",
                f"the material type must be one of {', '.join(MATERIAL_TYPE_META)}",
            )
        )
    if m.product_line is not None and m.product_line not in PRODUCT_LINE_META:
        problems.append(
            FieldProblem(
                "product_line",
                "未知的产品线",
                f"unknown product line (one of {', '.join(PRODUCT_LINE_META)})",
            )
        )
    return problems


def _run_check(s: Session, sub: ReviewSubmission, v: ReviewVersion) -> list[ReviewFinding]:
    checker, rules_version = library.checker(s)
    v.rules_version = rules_version
    out = []
    for i, f in enumerate(checker.check(v.text, sub.material_type, sub.product_line)):
        row = ReviewFinding(
            version_id=v.id,
            position=i,
            rule_id=f.rule_id,
            category=f.category,
            severity=f.severity,
            start=f.start,
            end=f.end,
            text=f.text,
            basis=f.basis,
            suggestion=f.suggestion,
        )
        s.add(row)
        out.append(row)
    return out


def submit(s: Session, who: Principal, m: Material, ctx: Ctx) -> ReviewSubmission:
    """Create the submission with version 1, run the automatic check, assign the reviewer if one was
    named. The caller commits."""
    if not who.can(Perm.REVIEW_SUBMIT):
        raise Forbidden("您的角色不能提交审查", "Your role may not submit material for review")
    problems = _validate(m)
    org_id = m.org_id if m.org_id is not None else who.org_id
    org = s.get(Org, org_id) if org_id is not None else None
    if org is None or not (org.id == who.org_id or (who.can(Perm.REVIEW_VIEW) and who.sees_path(org.path))):
        problems.append(
            FieldProblem(
                "org_id", "提交部门不存在或不在您的管辖范围", "the submitting org is unknown or out of scope"
            )
        )
    try:
        text, name, parts = _material_text(m)
    except ValidationFailed as e:
        problems.extend(e.problems)
    if problems:
        raise ValidationFailed(problems)
    assert org is not None
    now = ctx.now
    sub = ReviewSubmission(
        title=m.title.strip(),
        material_type=m.material_type,
        product_line=m.product_line,
        org_id=org.id,
        org=org,
        submitter_id=who.user_id,
        status=Status.SUBMITTED.value,
        current_n=1,
        submitted_at=now,
        updated_at=now,
    )
    s.add(sub)
    s.flush()
    v = ReviewVersion(
        submission_id=sub.id,
        n=1,
        text=text,
        source_filename=name,
        parts=parts,
        rules_version="",
        checked_at=now,
        note=(m.note or "").strip() or None,
        created_by_id=who.user_id,
        created_at=now,
    )
    s.add(v)
    s.flush()
    found = _run_check(s, sub, v)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="review.submit",
        entity_type="review",
        entity_id=sub.id,
        after={
            "title": sub.title,
            "material_type": sub.material_type,
            "product_line": sub.product_line,
            "org_id": org.id,
            "findings": len(found),
            "rules_version": v.rules_version,
            "file": name,
        },
        ip=who.ip,
    )
    if m.reviewer_id is not None:
        _assign(s, who, sub, m.reviewer_id, ctx)
    s.flush()
    return sub


def submit_idempotent(
    uow: UnitOfWork,
    who: Principal,
    m: Material,
    ctx: Ctx,
    *,
    key: str,
    render: Callable[[ReviewSubmission], dict[str, Any]],
) -> tuple[int, dict[str, Any], bool]:
    """Submit once per (caller, Idempotency-Key); a retry gets the first response back."""
    from xiaobao.complaints.tables import IdempotencyRecord

    caller = f"review:user:{who.user_id}"
    digest = m.digest()
    s = uow.session

    def existing() -> IdempotencyRecord | None:
        return s.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.caller == caller, IdempotencyRecord.key == key)
        )

    def replay(rec: IdempotencyRecord) -> tuple[int, dict[str, Any], bool]:
        if rec.request_hash != digest:
            raise Conflict(
                "该 Idempotency-Key 已用于另一份不同的请求",
                "This Idempotency-Key was already used with a different request body",
            )
        return rec.status_code, rec.response, True

    rec = existing()
    if rec is not None:
        return replay(rec)
    try:
        sub = submit(s, who, m, ctx)
        body = render(sub)
        s.connection().execute(
            cast(Table, IdempotencyRecord.__table__).insert(),
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
        rec = existing()
        if rec is None:
            raise
        return replay(rec)
    return 201, body, False


# ---------------------------------------------------------------- reviewer and task


def _reviewer(s: Session, sub: ReviewSubmission, reviewer_id: int) -> User:
    user = s.get(User, reviewer_id)
    if user is None or user.id not in {u.id for u in reviewers_for(s, sub.org)}:
        raise _problem(
            "reviewer_id",
            "审查人须为在岗审查人员，且其管辖范围包含提交部门",
            "the reviewer must be an active reviewer whose scope holds the submitting org",
        )
    return user


def _task_org(s: Session, user: User) -> Org:
    return user.org


def _open_task(s: Session, sub: ReviewSubmission, who: Principal, reviewer: User, ctx: Ctx) -> None:
    from xiaobao.tasks import services as tasks
    from xiaobao.tasks.domain import TaskKind, due_from_date

    local = ctx.now.astimezone(CN_TZ).date()
    due = due_from_date(ctx.calendar.add_workdays(local, REVIEW_WORKDAYS))
    zh_type = MATERIAL_TYPE_META[sub.material_type][0]
    t = tasks.new_task(
        s,
        who,
        kind=TaskKind.GENERAL,
        title=f"消保审查：{sub.title}"[:200],
        description=f"{zh_type}（第 {sub.current_n} 版），提交部门：{sub.org.name_zh}",
        org=_task_org(s, reviewer),
        owner=reviewer,
        cohandlers=[],
        due_at=due,
        priority="normal",
        now=ctx.now,
        source_type="review",
        source_id=sub.id,
    )
    ev = tasks.add_event(
        s, t, who, ctx.now, "created", t.description, {"review_id": sub.id, "n": sub.current_n}
    )
    tasks.tell(
        s,
        [reviewer.id],
        t,
        ev,
        "新审查任务",
        f"{who.display_name} 提交「{sub.title}」待您审查。",
        ctx.now,
        exclude=who.user_id,
    )
    sub.task_id = t.id
    sub.due_at = due


def _close_task(
    s: Session, sub: ReviewSubmission, who: Principal, now: datetime, *, done: bool, text: str
) -> None:
    """Complete (the reviewer concluded) or cancel (reviewer changed, material withdrawn) the open task."""
    from xiaobao.tasks import services as tasks
    from xiaobao.tasks.domain import ACTIVE_STATUSES, TaskStatus
    from xiaobao.tasks.tables import Task

    if sub.task_id is None:
        return
    t = s.get(Task, sub.task_id)
    sub.task_id = None
    if t is None or TaskStatus(t.status) not in ACTIVE_STATUSES:
        return
    before = {"status": t.status}
    if done:
        t.status = TaskStatus.DONE.value
        t.completed_at = now
        t.completed_by_id = who.user_id
        t.answer = text
    else:
        t.status = TaskStatus.CANCELLED.value
    t.updated_at = now
    tasks.add_event(s, t, who, now, "completed" if done else "cancelled", text, {"review_id": sub.id})
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="task.complete" if done else "task.cancel",
        entity_type="task",
        entity_id=t.id,
        before=before,
        after={"status": t.status, "source": f"review:{sub.id}"},
        ip=who.ip,
    )


def _assign(s: Session, who: Principal, sub: ReviewSubmission, reviewer_id: int, ctx: Ctx) -> None:
    reviewer = _reviewer(s, sub, reviewer_id)
    if sub.reviewer_id == reviewer.id and sub.task_id is not None:
        raise _problem("reviewer_id", "该审查人已被指派", "this reviewer is already assigned")
    before = {"reviewer_id": sub.reviewer_id, "status": sub.status}
    _close_task(s, sub, who, ctx.now, done=False, text=f"改派审查人：{reviewer.display_name}")
    sub.reviewer_id = reviewer.id
    sub.reviewer = reviewer
    sub.status = Status.IN_REVIEW.value
    sub.updated_at = ctx.now
    s.flush()
    _open_task(s, sub, who, reviewer, ctx)
    audit.record(
        s,
        at=ctx.now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="review.assign",
        entity_type="review",
        entity_id=sub.id,
        before=before,
        after={"reviewer_id": reviewer.id, "status": sub.status, "due_at": sub.due_at},
        ip=who.ip,
    )


def _flush(s: Session) -> None:
    flush_versioned(s, "审查申请", "submission")


def _version_check(sub: ReviewSubmission, version: int | None) -> None:
    if version is not None and version != sub.version:
        raise Conflict(
            "该审查申请已被他人修改，请刷新后重试",
            "This submission was changed by someone else; reload and retry",
        )


def assign(
    uow: UnitOfWork,
    who: Principal,
    submission_id: int,
    reviewer_id: int | None,
    ctx: Ctx,
    version: int | None = None,
) -> ReviewSubmission:
    s = uow.session
    sub, rels = access_submission(s, who, submission_id, for_update=True)
    _version_check(sub, version)
    check(Action.ASSIGN, sub, rels, who)
    if reviewer_id is None:
        raise _problem("reviewer_id", "请选择审查人", "choose a reviewer")
    _assign(s, who, sub, reviewer_id, ctx)
    _flush(s)
    uow.commit()
    return sub


# ---------------------------------------------------------------- the reviewer's work


def decide(
    uow: UnitOfWork,
    who: Principal,
    submission_id: int,
    finding_id: int,
    decision: str,
    reason: str | None,
    now: datetime,
) -> ReviewFinding:
    s = uow.session
    sub, rels = access_submission(s, who, submission_id, for_update=True)
    check(Action.DECIDE, sub, rels, who)
    v = version_of(s, sub)
    f = s.get(ReviewFinding, finding_id)
    if f is None or f.version_id != v.id:
        raise NotFound("审查意见", "finding")
    try:
        d = Decision(decision)
    except ValueError:
        raise _problem("decision", "请选择采纳或驳回", "choose accept or dismiss") from None
    reason = (reason or "").strip() or None
    if d == Decision.DISMISS and (reason is None or len(reason) < 2):
        raise _problem("reason", "驳回须说明理由", "a dismissal needs a reason")
    before = {"decision": f.decision, "reason": f.reason}
    f.decision, f.reason, f.decided_by_id, f.decided_at = d.value, reason, who.user_id, now
    sub.updated_at = now
    _flush(s)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="review.decide",
        entity_type="review",
        entity_id=sub.id,
        before={"finding_id": f.id, **before},
        after={"finding_id": f.id, "rule_id": f.rule_id, "decision": f.decision, "reason": f.reason},
        ip=who.ip,
    )
    uow.commit()
    return f


def next_review_number(s: Session, now: datetime) -> str:
    """The next number of the year, from a counter row updated under its row lock (the UPDATE takes the
    lock on PostgreSQL, the write lock on SQLite), created on first use (a concurrent first use retries)."""
    year = now.astimezone(CN_TZ).year
    for _ in range(5):
        res = s.execute(
            update(ReviewNumberCounter)
            .where(ReviewNumberCounter.year == year)
            .values(last=ReviewNumberCounter.last + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(res, "rowcount", 0) == 0:
            try:
                with s.begin_nested():
                    s.execute(cast(Table, ReviewNumberCounter.__table__).insert().values(year=year, last=1))
            except IntegrityError:
                continue
        seq = s.scalar(select(ReviewNumberCounter.last).where(ReviewNumberCounter.year == year))
        assert seq is not None
        return review_number(year, int(seq))
    raise Conflict("审查编号分配繁忙，请重试", "Review number allocation is busy; retry")


def conclude(
    uow: UnitOfWork,
    who: Principal,
    submission_id: int,
    conclusion: str,
    comment: str | None,
    now: datetime,
    version: int | None = None,
) -> ReviewSubmission:
    s = uow.session
    sub, rels = access_submission(s, who, submission_id, for_update=True)
    _version_check(sub, version)
    check(Action.CONCLUDE, sub, rels, who)
    try:
        c = Conclusion(conclusion)
    except ValueError:
        raise _problem(
            "conclusion", "请选择通过、修改后通过或不通过", "choose pass, pass with changes or fail"
        ) from None
    v = version_of(s, sub)
    fs = findings(s, v)
    open_ = [f for f in fs if f.decision is None]
    if open_:
        raise _problem(
            "findings",
            f"还有 {len(open_)} 条审查意见未处理（共 {len(fs)} 条），请逐条采纳或驳回后再出具结论",
            f"{len(open_)} of {len(fs)} findings have no decision yet; accept or dismiss each before concluding",
        )
    if c not in allowed_conclusions([f.decision for f in fs]):
        if c == Conclusion.PASS:
            raise _problem(
                "conclusion",
                "有已采纳的审查意见（需修改），结论不能为“通过”，请选择“修改后通过”或“不通过”",
                "some findings were accepted (changes required): conclude pass with changes or fail",
            )
        raise _problem(
            "conclusion",
            "没有已采纳的审查意见，无需修改，请选择“通过”或“不通过”",
            "no finding was accepted, so there is nothing to change: conclude pass or fail",
        )
    comment = (comment or "").strip()
    if c == Conclusion.FAIL and len(comment) < 2:
        raise _problem("comment", "不通过须写明审查意见", "a failing conclusion needs a comment")
    before = {"status": sub.status}
    s.add(
        ReviewConclusion(
            version_id=v.id, conclusion=c.value, comment=comment, reviewer_id=who.user_id, at=now
        )
    )
    zh, _en, status = CONCLUSION_META[c]
    sub.status = status.value
    sub.updated_at = now
    if status == Status.APPROVED:
        sub.review_number = sub.review_number or next_review_number(s, now)
        sub.approved_n = v.n
        sub.approved_at = now
    _close_task(s, sub, who, now, done=True, text=f"审查结论：{zh}" + (f"。{comment}" if comment else ""))
    _flush(s)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="review.conclude",
        entity_type="review",
        entity_id=sub.id,
        before=before,
        after={"status": sub.status, "conclusion": c.value, "n": v.n, "review_number": sub.review_number},
        ip=who.ip,
    )
    _tell_submitter(
        s, sub, f"审查结论：{zh}", f"「{sub.title}」第 {v.n} 版审查结论：{zh}。{comment}", now, v.n
    )
    uow.commit()
    return sub


def _tell_submitter(
    s: Session, sub: ReviewSubmission, headline: str, text: str, now: datetime, n: int
) -> None:
    from xiaobao.notifications.domain import Kind
    from xiaobao.notifications.services import NewNotification, notify

    if sub.submitter_id is None:
        return
    notify(
        s,
        [
            NewNotification(
                user_id=sub.submitter_id,
                kind=Kind.TASK,
                title=f"【{headline}】{sub.title}"[:200],
                body=text[:2000],
                dedupe_key=f"review:{sub.id}:v{n}:{sub.status}",
                link=f"/review/{sub.id}",
                entity_type="review",
                entity_id=sub.id,
            )
        ],
        now,
    )


# ---------------------------------------------------------------- the submitter's side


def resubmit(
    uow: UnitOfWork, who: Principal, submission_id: int, m: Material, ctx: Ctx, version: int | None = None
) -> ReviewVersion:
    """A revised material after a failing conclusion: version n+1, checked again, diff against version n,
    back to the same reviewer (a new review task)."""
    s = uow.session
    sub, rels = access_submission(s, who, submission_id, for_update=True)
    _version_check(sub, version)
    check(Action.RESUBMIT, sub, rels, who)
    note = (m.note or "").strip()
    if len(note) < 2:
        raise _problem("note", "请说明本次修改的内容", "say what was changed in this version")
    text, name, parts = _material_text(m)
    prev = version_of(s, sub)
    if text == prev.text:
        raise _problem(
            "text", "材料与上一版完全相同，请修改后再提交", "the material is identical to the last version"
        )
    now = ctx.now
    sub.current_n = prev.n + 1
    v = ReviewVersion(
        submission_id=sub.id,
        n=sub.current_n,
        text=text,
        source_filename=name,
        parts=parts,
        rules_version="",
        checked_at=now,
        diff_stats=diff_stats(diff_texts(prev.text, text)),
        note=note,
        created_by_id=who.user_id,
        created_at=now,
    )
    s.add(v)
    s.flush()
    found = _run_check(s, sub, v)
    before = {"status": sub.status, "current_n": prev.n}
    sub.updated_at = now
    if sub.reviewer_id is not None and sub.reviewer is not None and sub.reviewer.active:
        sub.status = Status.IN_REVIEW.value
        _open_task(s, sub, who, sub.reviewer, ctx)
    else:
        sub.status = Status.SUBMITTED.value
        sub.reviewer_id = None
    _flush(s)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="review.resubmit",
        entity_type="review",
        entity_id=sub.id,
        before=before,
        after={"status": sub.status, "current_n": v.n, "findings": len(found), "diff": v.diff_stats},
        ip=who.ip,
    )
    uow.commit()
    return v


def release(
    uow: UnitOfWork,
    who: Principal,
    submission_id: int,
    note: str | None,
    changes_confirmed: bool,
    now: datetime,
    version: int | None = None,
) -> ReviewSubmission:
    """Only an approved version can be marked released; after "pass with changes" the submitter confirms
    that the accepted findings were changed in the released material."""
    s = uow.session
    sub, rels = access_submission(s, who, submission_id, for_update=True)
    _version_check(sub, version)
    check(Action.RELEASE, sub, rels, who)
    if sub.approved_n != sub.current_n or sub.review_number is None:
        raise InvalidTransition("只有审查通过的版本可以发布", "Only an approved version can be released")
    v = version_of(s, sub)
    c = conclusion_of(s, v)
    if c is not None and c.conclusion == Conclusion.PASS_WITH_CHANGES and not changes_confirmed:
        raise _problem(
            "changes_confirmed",
            "请确认已按采纳的审查意见修改材料",
            "confirm that the material was changed as the accepted findings require",
        )
    sub.status = Status.RELEASED.value
    sub.released_at = now
    sub.released_by_id = who.user_id
    sub.release_note = (note or "").strip() or None
    sub.updated_at = now
    _flush(s)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="review.release",
        entity_type="review",
        entity_id=sub.id,
        before={"status": Status.APPROVED.value},
        after={
            "status": sub.status,
            "n": v.n,
            "review_number": sub.review_number,
            "changes_confirmed": changes_confirmed,
        },
        ip=who.ip,
    )
    uow.commit()
    return sub


def withdraw(
    uow: UnitOfWork,
    who: Principal,
    submission_id: int,
    reason: str | None,
    now: datetime,
    version: int | None = None,
) -> ReviewSubmission:
    s = uow.session
    sub, rels = access_submission(s, who, submission_id, for_update=True)
    _version_check(sub, version)
    check(Action.WITHDRAW, sub, rels, who)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise _problem("reason", "请说明撤回原因", "give the reason for withdrawing")
    before = {"status": sub.status}
    sub.status = Status.WITHDRAWN.value
    sub.updated_at = now
    _close_task(s, sub, who, now, done=False, text=f"提交人撤回：{reason}")
    _flush(s)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="review.withdraw",
        entity_type="review",
        entity_id=sub.id,
        before=before,
        after={"status": sub.status, "reason": reason},
        ip=who.ip,
    )
    uow.commit()
    return sub


# ---------------------------------------------------------------- views


@dataclass
class VersionView:
    version: ReviewVersion
    findings: list[ReviewFinding]
    conclusion: ReviewConclusion | None
    decided: int = 0
    previous_text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def version_view(s: Session, sub: ReviewSubmission, n: int | None = None) -> VersionView:
    v = version_of(s, sub, n)
    fs = findings(s, v)
    view = VersionView(v, fs, conclusion_of(s, v), sum(1 for f in fs if f.decision))
    if v.n > 1:
        prev = version_of(s, sub, v.n - 1)
        view.previous_text = prev.text
        # the same rule on the same words in the last version: its decision helps the reviewer now
        view.extra["previous"] = {
            (f.rule_id, f.text): (f.decision, f.reason) for f in findings(s, prev) if f.decision
        }
    return view


def to_public(s: Session, sub: ReviewSubmission, who: Principal, n: int | None = None) -> dict[str, Any]:
    view = version_view(s, sub, n)
    v = view.version
    rels = relations(s, who, sub)
    return {
        "id": sub.id,
        "version": sub.version,
        "title": sub.title,
        "material_type": sub.material_type,
        "product_line": sub.product_line,
        "org": {"id": sub.org.id, "code": sub.org.code, "name": sub.org.name_zh},
        "submitter_id": sub.submitter_id,
        "status": sub.status,
        "current_n": sub.current_n,
        "reviewer_id": sub.reviewer_id,
        "task_id": sub.task_id,
        "due_at": sub.due_at.isoformat() if sub.due_at else None,
        "review_number": sub.review_number,
        "approved_n": sub.approved_n,
        "released_at": sub.released_at.isoformat() if sub.released_at else None,
        "submitted_at": sub.submitted_at.isoformat(),
        "allowed_actions": [a.value for a in Action if allowed(a, sub, rels, who)],
        "current_version": {
            "n": v.n,
            "text": v.text,
            "source_filename": v.source_filename,
            "rules_version": v.rules_version,
            "checked_at": v.checked_at.isoformat(),
            "diff_stats": v.diff_stats,
            "note": v.note,
            "decided": view.decided,
            "findings": [
                {
                    "id": f.id,
                    "rule_id": f.rule_id,
                    "category": f.category,
                    "severity": f.severity,
                    "start": f.start,
                    "end": f.end,
                    "text": f.text,
                    "basis": f.basis,
                    "suggestion": f.suggestion,
                    "decision": f.decision,
                    "reason": f.reason,
                    "decided_at": f.decided_at.isoformat() if f.decided_at else None,
                }
                for f in view.findings
            ],
            "conclusion": (
                {
                    "conclusion": view.conclusion.conclusion,
                    "comment": view.conclusion.comment,
                    "reviewer_id": view.conclusion.reviewer_id,
                    "at": view.conclusion.at.isoformat(),
                }
                if view.conclusion
                else None
            ),
        },
    }


# ---------------------------------------------------------------- task source


def source_describe(s: Session, source_id: int) -> Any:
    from xiaobao.tasks.sources import SourceInfo

    sub = s.get(ReviewSubmission, source_id)
    if sub is None:
        return None
    return SourceInfo(f"消保审查「{sub.title}」", f"Review “{sub.title}”", f"/review/{sub.id}", sub.org.path)


def source_access(s: Session, who: Principal, source_id: int) -> None:
    access_submission(s, who, source_id)


def source_can_request(s: Session, who: Principal, source_id: int) -> bool:
    sub, rels = access_submission(s, who, source_id)
    return "manager" in rels
