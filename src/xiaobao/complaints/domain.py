"""Complaint lifecycle as data: statuses (label, colour) and transitions (from, to, permission).

Pure rules: no FastAPI, no SQLAlchemy. Services ask `check()` before they change anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.core.errors import FieldProblem, Forbidden, InvalidTransition, ValidationFailed


class Status(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    HANDLING = "handling"
    DECIDED = "decided"
    CLOSED = "closed"
    REVIEW = "review"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


STATUS_META: dict[Status, tuple[str, str, str]] = {
    # status: (zh, en, colour)
    Status.RECEIVED: ("已登记", "Received", "#909399"),
    Status.ACCEPTED: ("已受理", "Accepted", "#409eff"),
    Status.HANDLING: ("处理中", "Handling", "#e6a23c"),
    Status.DECIDED: ("已出具处理意见", "Decided", "#67c23a"),
    Status.CLOSED: ("已办结", "Closed", "#2f855a"),
    Status.REVIEW: ("核查中", "Under 核查 review", "#9f7aea"),
    Status.WITHDRAWN: ("已撤回", "Withdrawn", "#718096"),
    Status.MERGED: ("已合并", "Merged", "#a0aec0"),
}

OPEN_STATUSES = frozenset({Status.RECEIVED, Status.ACCEPTED, Status.HANDLING})
"""Statuses in which the regulatory clock runs and a decision is still owed."""

REVIEW_WINDOW_DAYS = 30


def status_label(status: str, lang: str = "zh") -> str:
    zh, en, _ = STATUS_META[Status(status)]
    return zh if lang == "zh" else en


class Action(StrEnum):
    ACCEPT = "accept"  # assign a handler
    REASSIGN = "reassign"
    START = "start"  # handler starts handling (usually with first contact)
    EXTEND = "extend"  # 15 -> 30 days, handler with a reason
    REQUEST_EXTENSION2 = "request_extension2"  # 30 -> 60 days needs the superior org
    APPROVE_EXTENSION2 = "approve_extension2"
    REJECT_EXTENSION2 = "reject_extension2"
    PAUSE = "pause"  # external appraisal / testing / valuation
    RESUME = "resume"
    DECIDE = "decide"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    MERGE = "merge"
    REQUEST_REVIEW = "request_review"  # 核查 application
    CONCLUDE_REVIEW = "conclude_review"
    REOPEN = "reopen"


ACTION_LABELS: dict[Action, tuple[str, str]] = {
    Action.ACCEPT: ("受理并分派", "Accept and assign"),
    Action.REASSIGN: ("改派", "Reassign"),
    Action.START: ("开始处理", "Start handling"),
    Action.EXTEND: ("延期至30日", "Extend to 30 days"),
    Action.REQUEST_EXTENSION2: ("申请再延期30日", "Request a further 30 days"),
    Action.APPROVE_EXTENSION2: ("批准再延期", "Approve further extension"),
    Action.REJECT_EXTENSION2: ("驳回再延期", "Reject further extension"),
    Action.PAUSE: ("暂停计时(鉴定)", "Pause clock (appraisal)"),
    Action.RESUME: ("恢复计时", "Resume clock"),
    Action.DECIDE: ("出具处理意见", "Decide"),
    Action.CLOSE: ("办结", "Close"),
    Action.WITHDRAW: ("撤回", "Withdraw"),
    Action.MERGE: ("合并为重复投诉", "Merge as repeat"),
    Action.REQUEST_REVIEW: ("登记核查申请", "Record 核查 application"),
    Action.CONCLUDE_REVIEW: ("核查结论", "Conclude 核查"),
    Action.REOPEN: ("重新处理", "Reopen"),
}


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Status]
    target: Status | None  # None: status unchanged
    perm: Perm
    handler_only: bool = False
    """Only the assigned handler (or an officer) may do it."""
    superior: bool = False
    """Must be done by the superior org of the handling org (or above)."""
    alt_targets: frozenset[Status] = frozenset()
    """Statuses the request may choose instead of `target` (a 核查 conclusion closes or reopens)."""

    def targets(self, source: Status) -> frozenset[Status]:
        """Every status this transition can lead to from `source`."""
        return frozenset({self.target or source}) | self.alt_targets


S = Status
_HANDLING = frozenset({S.ACCEPTED, S.HANDLING})
TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in [
        Transition(Action.ACCEPT, frozenset({S.RECEIVED}), S.ACCEPTED, Perm.COMPLAINT_ASSIGN),
        Transition(Action.REASSIGN, _HANDLING, None, Perm.COMPLAINT_ASSIGN),
        Transition(
            Action.START, frozenset({S.ACCEPTED}), S.HANDLING, Perm.COMPLAINT_HANDLE, handler_only=True
        ),
        Transition(Action.EXTEND, _HANDLING, None, Perm.COMPLAINT_HANDLE, handler_only=True),
        Transition(Action.REQUEST_EXTENSION2, _HANDLING, None, Perm.COMPLAINT_HANDLE, handler_only=True),
        Transition(Action.APPROVE_EXTENSION2, _HANDLING, None, Perm.COMPLAINT_APPROVE, superior=True),
        Transition(Action.REJECT_EXTENSION2, _HANDLING, None, Perm.COMPLAINT_APPROVE, superior=True),
        Transition(Action.PAUSE, _HANDLING, None, Perm.COMPLAINT_HANDLE, handler_only=True),
        Transition(Action.RESUME, _HANDLING, None, Perm.COMPLAINT_HANDLE, handler_only=True),
        Transition(
            Action.DECIDE, frozenset({S.HANDLING}), S.DECIDED, Perm.COMPLAINT_HANDLE, handler_only=True
        ),
        Transition(Action.CLOSE, frozenset({S.DECIDED}), S.CLOSED, Perm.COMPLAINT_HANDLE, handler_only=True),
        Transition(Action.WITHDRAW, OPEN_STATUSES, S.WITHDRAWN, Perm.COMPLAINT_HANDLE),
        Transition(Action.MERGE, OPEN_STATUSES, S.MERGED, Perm.COMPLAINT_ASSIGN),
        Transition(Action.REQUEST_REVIEW, frozenset({S.DECIDED, S.CLOSED}), S.REVIEW, Perm.COMPLAINT_HANDLE),
        Transition(
            Action.CONCLUDE_REVIEW,
            frozenset({S.REVIEW}),
            S.CLOSED,
            Perm.COMPLAINT_APPROVE,
            superior=True,
            alt_targets=frozenset({S.HANDLING}),
        ),
        Transition(Action.REOPEN, frozenset({S.DECIDED, S.CLOSED}), S.HANDLING, Perm.COMPLAINT_APPROVE),
    ]
}


@dataclass(frozen=True)
class Snapshot:
    """What the rules need to know about a complaint."""

    status: Status
    org_path: str
    handler_id: int | None
    extension_level: int
    extension2_requested: bool
    paused: bool
    notified_at: datetime | None


def parent_path(path: str) -> str:
    """'/1/4/9/' -> '/1/4/'; the root stays '/'."""
    parts = [p for p in path.split("/") if p]
    return "/" + "".join(p + "/" for p in parts[:-1]) if len(parts) > 1 else "/"


def check(action: Action, c: Snapshot, who: Principal, now: datetime) -> Transition:
    """Raise Forbidden / InvalidTransition unless `who` may do `action` on `c` now."""
    t = TRANSITIONS[action]
    zh, en = ACTION_LABELS[action]
    if not who.can(t.perm):
        raise Forbidden(f"您的角色不能执行「{zh}」", f"Your role may not '{en}'")
    if c.status not in t.sources:
        raise InvalidTransition(
            f"当前状态「{status_label(c.status)}」不能执行「{zh}」",
            f"Cannot '{en}' a complaint that is {status_label(c.status, 'en')}",
        )
    if t.handler_only and who.user_id != c.handler_id and not who.can(Perm.COMPLAINT_ASSIGN):
        raise Forbidden(
            "只有承办人或消保专员可以执行此操作", "Only the assigned handler or an officer may do this"
        )
    if t.superior:
        # the superior org (or anyone above it) approves; the handling org cannot approve itself,
        # except head office, which has no superior (its senior management approves)
        superior = parent_path(c.org_path)
        at_hq = superior == "/"
        if not (at_hq and who.scope_path == c.org_path) and not (
            superior.startswith(who.scope_path) and who.scope_path != c.org_path
        ):
            raise Forbidden("须由上级机构审批", "Must be approved by the superior organisation")
    _guards(action, c, now)
    return t


def _guards(action: Action, c: Snapshot, now: datetime) -> None:
    if action == Action.EXTEND and c.extension_level >= 1:
        raise InvalidTransition("已延期，不能重复延期", "Already extended to 30 days")
    if action == Action.REQUEST_EXTENSION2:
        if c.extension_level != 1:
            raise InvalidTransition("须先延期至30日", "Extend to 30 days first")
        if c.extension2_requested:
            raise InvalidTransition(
                "再延期申请已提交，等待审批", "A further extension is already awaiting approval"
            )
    if action in (Action.APPROVE_EXTENSION2, Action.REJECT_EXTENSION2) and not c.extension2_requested:
        raise InvalidTransition("没有待审批的再延期申请", "No further extension awaits approval")
    if action == Action.PAUSE and c.paused:
        raise InvalidTransition("计时已暂停", "The clock is already paused")
    if action == Action.RESUME and not c.paused:
        raise InvalidTransition("计时未暂停", "The clock is not paused")
    if action == Action.DECIDE and c.paused:
        raise InvalidTransition("鉴定期间计时暂停，请先恢复计时", "Resume the clock before deciding")
    if action == Action.REQUEST_REVIEW:
        from xiaobao.complaints.deadlines import review_window_end

        if c.notified_at is None:
            raise InvalidTransition("尚未送达处理意见", "The decision has not been notified yet")
        if now > review_window_end(c.notified_at):
            raise InvalidTransition(
                f"已超过收到处理意见之日起{REVIEW_WINDOW_DAYS}日的核查申请期限",
                f"The {REVIEW_WINDOW_DAYS}-day window to apply for 核查 has passed",
            )


def allowed_actions(c: Snapshot, who: Principal, now: datetime) -> list[Action]:
    out = []
    for action in TRANSITIONS:
        try:
            check(action, c, who, now)
        except (Forbidden, InvalidTransition):
            continue
        out.append(action)
    return out


def require_text(field: str, value: str | None, zh_name: str, en_name: str, min_len: int = 2) -> str:
    value = (value or "").strip()
    if len(value) < min_len:
        raise ValidationFailed([FieldProblem(field, f"请填写{zh_name}", f"{en_name} is required")])
    return value


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")


def search_tokens(text: str) -> str:
    """Index terms for full-text search that works for Chinese on any database: overlapping
    character bigrams of CJK runs (single characters for runs of one) plus lower-cased ASCII words.
    PostgreSQL indexes this with to_tsvector('simple', ...)."""
    terms: list[str] = []
    low = text.lower()
    for run in _CJK.findall(low):
        terms.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    terms.extend(_WORD.findall(low))
    return " ".join(dict.fromkeys(terms))


def search_query_terms(query: str) -> str:
    """The index terms of `query` that every text containing `query` is sure to have among its
    `search_tokens`, so they can narrow a substring search through the index without losing matches.

    Bigrams of CJK runs always qualify. A one-character CJK run or an ASCII word qualifies only when
    `query` itself shows where it ends on both sides: "损" or "C123" at an edge of the query may be part
    of a longer run in the text ("定损", "c12345"), whose terms differ. Empty: search by substring alone."""
    low = query.lower()
    terms: list[str] = []
    for m in _CJK.finditer(low):
        run = m.group()
        if len(run) > 1:
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
        elif m.start() > 0 and m.end() < len(low):
            terms.append(run)
    terms.extend(m.group() for m in _WORD.finditer(low) if m.start() > 0 and m.end() < len(low))
    return " ".join(dict.fromkeys(terms))
