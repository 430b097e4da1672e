"""Claim case lifecycle as data: statuses, actions, transitions with their permission, guards; contact
outcomes and the retry schedule; rescue request statuses; the small-claims fast track; timeline replay.

Pure rules: no FastAPI, no SQLAlchemy. Services ask `check()` before they change anything.

Lifecycle (报案 → 联系 → 收集资料 → 查勘/定损 → 理算/达成协议 → 支付 → 结案)::

    reported → contacted → info_collected → surveyed → assessed → settled → paid → closed
                            └───── fast track (motor damage-only <= 5,000 yuan): info_collected → assessed
    contacted / info_collected / surveyed / assessed → denied  (拒赔, reason notice within 3 days: Art.24)
    reported … assessed → cancelled   (注销: closed with a reason, e.g. duplicate report or withdrawn)
    closed / denied / cancelled → reopen → info_collected (reported when the reporter was never reached)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.core.errors import FieldProblem, Forbidden, InvalidTransition, ValidationFailed


class Status(StrEnum):
    REPORTED = "reported"
    CONTACTED = "contacted"
    INFO_COLLECTED = "info_collected"
    SURVEYED = "surveyed"
    ASSESSED = "assessed"
    SETTLED = "settled"
    PAID = "paid"
    CLOSED = "closed"
    DENIED = "denied"
    CANCELLED = "cancelled"


STATUS_META: dict[Status, tuple[str, str, str]] = {
    Status.REPORTED: ("已报案", "Reported", "#909399"),
    Status.CONTACTED: ("已联系", "Contacted", "#409eff"),
    Status.INFO_COLLECTED: ("资料已收集", "Information collected", "#5c7cfa"),
    Status.SURVEYED: ("已查勘", "Surveyed", "#e6a23c"),
    Status.ASSESSED: ("已定损", "Assessed", "#d97706"),
    Status.SETTLED: ("已达成协议", "Settled", "#67c23a"),
    Status.PAID: ("已支付", "Paid", "#2f855a"),
    Status.CLOSED: ("已结案", "Closed", "#1f6f43"),
    Status.DENIED: ("已拒赔", "Denied", "#c0392b"),
    Status.CANCELLED: ("已注销", "Cancelled", "#718096"),
}

TERMINAL = frozenset({Status.CLOSED, Status.DENIED, Status.CANCELLED})
OPEN_STATUSES = frozenset(Status) - TERMINAL
CONTACT_QUEUE_STATUSES = frozenset({Status.REPORTED})
"""A case stays in the contact queue until the reporter is reached or the case is closed with a reason."""


def status_label(status: str, lang: str = "zh") -> str:
    zh, en, _ = STATUS_META[Status(status)]
    return zh if lang == "zh" else en


# ---------------------------------------------------------------- vocabulary (codes with labels)


LINES: dict[str, tuple[str, str]] = {
    "motor": ("车险", "Motor"),
    "property": ("财产险", "Property"),
    "agriculture": ("农险", "Agriculture"),
}

CAUSES: dict[str, tuple[str, str, str]] = {
    # code: (zh, en, peril family)
    "typhoon": ("台风", "Typhoon", "wind"),
    "rainstorm": ("暴雨", "Rainstorm", "water"),
    "flood": ("洪水", "Flood", "water"),
    "waterlogging": ("水淹/泡水", "Flooded (water ingress)", "water"),
    "hail": ("冰雹", "Hail", "hail"),
    "landslide": ("泥石流/滑坡", "Landslide", "water"),
    "fallen_object": ("高空坠物/树木倒伏", "Falling object / tree", "wind"),
    "collision": ("碰撞", "Collision", "accident"),
    "fire": ("火灾", "Fire", "fire"),
    "theft": ("盗抢", "Theft", "other"),
    "earthquake": ("地震", "Earthquake", "quake"),
    "snow_freeze": ("雪灾/冰冻", "Snow / freeze", "cold"),
    "other": ("其他", "Other", "other"),
}

PERILS: dict[str, tuple[str, str, frozenset[str]]] = {
    # code: (zh, en, peril families of the causes an event of this peril produces)
    "typhoon": ("台风", "Typhoon", frozenset({"wind", "water"})),
    "rainstorm": ("暴雨洪涝", "Rainstorm / flood", frozenset({"water"})),
    "hail": ("冰雹", "Hail", frozenset({"hail", "wind"})),
    "earthquake": ("地震", "Earthquake", frozenset({"quake", "fire"})),
    "snow_freeze": ("雪灾冰冻", "Snow / freeze", frozenset({"cold"})),
}

CHANNELS: dict[str, tuple[str, str]] = {
    "agent": ("坐席录入", "Agent"),
    "hotline": ("95500电话", "Hotline"),
    "mobile": ("移动端自助", "Mobile self-service"),
    "api": ("系统接口", "API"),
}

SPECIAL_GROUPS: dict[str, tuple[str, str]] = {
    "elderly": ("老年人", "Elderly"),
    "disabled": ("残障人士", "Disabled"),
    "low_income": ("低收入/困难群体", "Low income"),
    "farmer": ("农户", "Farmer"),
}

SURVEY_METHODS: dict[str, tuple[str, str]] = {
    "remote_photo": ("远程查勘（照片）", "Remote (photos)"),
    "remote_video": ("远程查勘（视频）", "Remote (video call)"),
    "on_site": ("现场查勘", "On site"),
}

DAMAGE_ONLY_CAUSES = frozenset(c for c, (_, _, fam) in CAUSES.items() if fam not in ("quake",)) - {"theft"}
"""Causes a vehicle-damage-only (车损) claim can have; theft and total loss cases are not 'damage only'."""

FAST_TRACK_LIMIT = Decimal("5000")
"""Small claims guide (2015): motor vehicle-damage-only claims up to 5,000 yuan get a fast track."""


def is_fast_track(line: str, cause: str, amount: Decimal | None, people_at_risk: int) -> bool:
    """Motor, damage only (nobody hurt or trapped), amount known and <= 5,000 yuan."""
    return (
        line == "motor"
        and cause in DAMAGE_ONLY_CAUSES
        and people_at_risk == 0
        and amount is not None
        and Decimal("0") < amount <= FAST_TRACK_LIMIT
    )


def priority(
    *, people_at_risk: int, rescue_needed: bool, special_group: str | None, in_event: bool, fast_track: bool
) -> int:
    """Higher first. Lives before property; special groups and catastrophe cases ahead of routine ones."""
    p = 0
    if people_at_risk:
        p += 100 + min(people_at_risk, 20)
    if rescue_needed:
        p += 50
    if special_group:
        p += 20
    if in_event:
        p += 10
    if fast_track:
        p += 5
    return p


# ---------------------------------------------------------------- actions and transitions


class Action(StrEnum):
    TAKE = "take"  # an operator takes an unassigned case
    ASSIGN = "assign"  # a dispatcher assigns or moves a case
    CONTACT = "contact"  # set by a 'reached' contact attempt
    COLLECT_INFO = "collect_info"
    SURVEY = "survey"
    ASSESS = "assess"
    PREPAY = "prepay"  # 先予支付 / 预赔付: part payment before the amount is final
    SETTLE = "settle"
    PAY = "pay"
    CLOSE = "close"
    DENY = "deny"
    NOTIFY_DENIAL = "notify_denial"
    CANCEL = "cancel"
    REOPEN = "reopen"


ACTION_LABELS: dict[Action, tuple[str, str]] = {
    Action.TAKE: ("领取案件", "Take the case"),
    Action.ASSIGN: ("分派", "Assign"),
    Action.CONTACT: ("联系报案人", "Contact the reporter"),
    Action.COLLECT_INFO: ("资料收集完毕", "Information complete"),
    Action.SURVEY: ("完成查勘", "Survey done"),
    Action.ASSESS: ("定损", "Assess the loss"),
    Action.PREPAY: ("先予支付", "Pre-payment"),
    Action.SETTLE: ("达成赔付协议", "Agree the settlement"),
    Action.PAY: ("支付赔款", "Pay"),
    Action.CLOSE: ("结案", "Close"),
    Action.DENY: ("拒赔", "Deny"),
    Action.NOTIFY_DENIAL: ("送达拒赔通知书", "Deliver the denial notice"),
    Action.CANCEL: ("注销案件", "Cancel the report"),
    Action.REOPEN: ("重开案件", "Reopen"),
}


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Status]
    target: Status | None  # None: status unchanged
    perm: Perm
    handler_only: bool = False
    """Only the assigned staff member (or a dispatcher) may do it once the case is assigned."""


S = Status
_WORKING = frozenset({S.CONTACTED, S.INFO_COLLECTED, S.SURVEYED, S.ASSESSED})
TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in [
        Transition(Action.TAKE, OPEN_STATUSES - {S.PAID}, None, Perm.CLAIM_HANDLE),
        Transition(Action.ASSIGN, OPEN_STATUSES, None, Perm.CLAIM_DISPATCH),
        Transition(
            Action.CONTACT, frozenset({S.REPORTED}), S.CONTACTED, Perm.CLAIM_HANDLE, handler_only=True
        ),
        Transition(
            Action.COLLECT_INFO,
            frozenset({S.CONTACTED}),
            S.INFO_COLLECTED,
            Perm.CLAIM_HANDLE,
            handler_only=True,
        ),
        Transition(
            Action.SURVEY, frozenset({S.INFO_COLLECTED}), S.SURVEYED, Perm.CLAIM_HANDLE, handler_only=True
        ),
        # from info_collected only on the fast track (guard)
        Transition(
            Action.ASSESS,
            frozenset({S.SURVEYED, S.INFO_COLLECTED}),
            S.ASSESSED,
            Perm.CLAIM_HANDLE,
            handler_only=True,
        ),
        Transition(
            Action.PREPAY,
            frozenset({S.INFO_COLLECTED, S.SURVEYED, S.ASSESSED}),
            None,
            Perm.CLAIM_HANDLE,
            handler_only=True,
        ),
        Transition(Action.SETTLE, frozenset({S.ASSESSED}), S.SETTLED, Perm.CLAIM_HANDLE, handler_only=True),
        Transition(Action.PAY, frozenset({S.SETTLED}), S.PAID, Perm.CLAIM_HANDLE, handler_only=True),
        Transition(
            Action.CLOSE, frozenset({S.PAID, S.DENIED}), S.CLOSED, Perm.CLAIM_HANDLE, handler_only=True
        ),
        Transition(Action.DENY, _WORKING, S.DENIED, Perm.CLAIM_HANDLE, handler_only=True),
        Transition(Action.NOTIFY_DENIAL, frozenset({S.DENIED}), None, Perm.CLAIM_HANDLE, handler_only=True),
        Transition(
            Action.CANCEL,
            frozenset({S.REPORTED, S.CONTACTED, S.INFO_COLLECTED, S.SURVEYED, S.ASSESSED}),
            S.CANCELLED,
            Perm.CLAIM_HANDLE,
            handler_only=True,
        ),
        Transition(
            Action.REOPEN, frozenset({S.CLOSED, S.DENIED, S.CANCELLED}), S.INFO_COLLECTED, Perm.CLAIM_HANDLE
        ),
    ]
}

CANCEL_REASONS: dict[str, tuple[str, str]] = {
    "duplicate": ("重复报案", "Duplicate report"),
    "withdrawn": ("报案人撤案", "Withdrawn by the reporter"),
    "not_insured": ("非保险标的/无有效保单", "No valid policy for the object"),
    "below_deductible": ("损失低于免赔额", "Loss below the deductible"),
    "unreachable_closed": (
        "多次联系未果，经审核注销",
        "Unreachable after repeated attempts; cancelled on review",
    ),
    "test": ("测试/误报", "Test or mistaken report"),
}


@dataclass(frozen=True)
class Snapshot:
    """What the rules need to know about a case."""

    status: Status
    assigned_user_id: int | None
    line: str
    cause: str
    people_at_risk: int
    estimated_amount: Decimal | None
    assessed_amount: Decimal | None
    contacted: bool
    denial_notified: bool
    survey_method: str | None = None


def target_of(action: Action, c: Snapshot) -> Status:
    t = TRANSITIONS[action]
    if action == Action.REOPEN and not c.contacted:
        return Status.REPORTED
    return t.target or c.status


def check(action: Action, c: Snapshot, who: Principal) -> Transition:
    """Raise Forbidden / InvalidTransition unless `who` may do `action` on `c` now."""
    t = TRANSITIONS[action]
    zh, en = ACTION_LABELS[action]
    if not who.can(t.perm):
        raise Forbidden(f"您的角色不能执行「{zh}」", f"Your role may not '{en}'")
    if c.status not in t.sources:
        raise InvalidTransition(
            f"当前状态「{status_label(c.status)}」不能执行「{zh}」",
            f"Cannot '{en}' a case that is {status_label(c.status, 'en')}",
        )
    if (
        t.handler_only
        and c.assigned_user_id is not None
        and who.user_id != c.assigned_user_id
        and not who.can(Perm.CLAIM_DISPATCH)
    ):
        raise Forbidden(
            "案件已分派给其他作业人员，只有承办人或调度可以操作",
            "The case is assigned to someone else; only they or a dispatcher may do this",
        )
    _guards(action, c, who)
    return t


def _guards(action: Action, c: Snapshot, who: Principal) -> None:
    if action == Action.TAKE and c.assigned_user_id == who.user_id:
        raise InvalidTransition("您已是该案件的承办人", "You already hold this case")
    if action == Action.TAKE and c.assigned_user_id is not None and not who.can(Perm.CLAIM_DISPATCH):
        raise InvalidTransition(
            "案件已有承办人，需由调度改派", "The case is already assigned; a dispatcher reassigns"
        )
    if action == Action.ASSESS and c.status == Status.INFO_COLLECTED:
        if not is_fast_track(c.line, c.cause, c.estimated_amount, c.people_at_risk):
            raise InvalidTransition(
                "须先完成查勘；只有车损5000元以下的小额案件可免查勘直接定损",
                "Survey first; only motor damage-only claims up to 5,000 yuan may be assessed without a survey",
            )
    if action == Action.CLOSE and c.status == Status.DENIED and not c.denial_notified:
        raise InvalidTransition("拒赔通知书尚未送达，不能结案", "Deliver the denial notice before closing")
    if action == Action.NOTIFY_DENIAL and c.denial_notified:
        raise InvalidTransition("拒赔通知书已送达", "The denial notice was already delivered")


def allowed_actions(c: Snapshot, who: Principal) -> list[Action]:
    out: list[Action] = []
    for action in TRANSITIONS:
        if action == Action.CONTACT:
            continue  # done through a contact attempt with outcome 'reached'
        try:
            check(action, c, who)
        except (Forbidden, InvalidTransition):
            continue
        out.append(action)
    return out


def require_text(field_: str, value: str | None, zh_name: str, en_name: str, min_len: int = 2) -> str:
    value = (value or "").strip()
    if len(value) < min_len:
        raise ValidationFailed([FieldProblem(field_, f"请填写{zh_name}", f"{en_name} is required")])
    return value


# ---------------------------------------------------------------- contact attempts and retries


CONTACT_OUTCOMES: dict[str, tuple[str, str]] = {
    "reached": ("已联系上", "Reached"),
    "no_answer": ("无人接听", "No answer"),
    "busy": ("占线/挂断", "Busy / hung up"),
    "switched_off": ("关机/停机", "Switched off"),
    "wrong_number": ("号码错误", "Wrong number"),
    "refused": ("拒绝沟通", "Refused to talk"),
}
CONTACT_CHANNELS: dict[str, tuple[str, str]] = {
    "phone": ("电话", "Phone"),
    "video": ("视频", "Video call"),
    "sms": ("短信", "SMS"),
    "wechat": ("微信", "WeChat"),
    "visit": ("上门", "Visit"),
}

RETRY_AFTER: tuple[timedelta, ...] = (
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
)
"""Wait after the 1st, 2nd, ... failed attempt before the next one; the last interval repeats."""

NO_RETRY_OUTCOMES = frozenset({"reached"})


def next_retry(failed_attempts: int, at: datetime) -> datetime:
    """When to call again after `failed_attempts` (>= 1) unsuccessful attempts, the last one at `at`."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts must be >= 1")
    return at + RETRY_AFTER[min(failed_attempts, len(RETRY_AFTER)) - 1]


def retry_sms_text(report_no: str, hotline: str = "95500") -> str:
    return (
        f"【理赔服务】您好，我们正在处理您的报案（报案号{report_no}），多次致电未能接通。"
        f"请保持电话畅通，或拨打{hotline}转理赔联系我们。"
    )


# ---------------------------------------------------------------- rescue


class RescueStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ARRIVED = "arrived"
    DONE = "done"
    CANCELLED = "cancelled"


RESCUE_STATUS_META: dict[RescueStatus, tuple[str, str]] = {
    RescueStatus.REQUESTED: ("已派单", "Requested"),
    RescueStatus.ACCEPTED: ("已接单", "Accepted"),
    RescueStatus.EN_ROUTE: ("在途", "En route"),
    RescueStatus.ARRIVED: ("已到达", "Arrived"),
    RescueStatus.DONE: ("已完成", "Done"),
    RescueStatus.CANCELLED: ("已取消", "Cancelled"),
}
RESCUE_KINDS: dict[str, tuple[str, str]] = {
    "tow": ("拖车", "Tow"),
    "pump": ("抽水排涝", "Pumping"),
    "evacuation": ("人员转移", "Evacuation"),
}
R = RescueStatus
RESCUE_NEXT: dict[RescueStatus, frozenset[RescueStatus]] = {
    R.REQUESTED: frozenset({R.ACCEPTED, R.EN_ROUTE, R.CANCELLED}),
    R.ACCEPTED: frozenset({R.EN_ROUTE, R.ARRIVED, R.CANCELLED}),
    R.EN_ROUTE: frozenset({R.ARRIVED, R.CANCELLED}),
    R.ARRIVED: frozenset({R.DONE}),
    R.DONE: frozenset(),
    R.CANCELLED: frozenset(),
}
RESCUE_OPEN = frozenset({R.REQUESTED, R.ACCEPTED, R.EN_ROUTE, R.ARRIVED})


def check_rescue(current: RescueStatus, new: RescueStatus) -> None:
    if new not in RESCUE_NEXT[current]:
        zh_c, en_c = RESCUE_STATUS_META[current]
        zh_n, en_n = RESCUE_STATUS_META[new]
        raise InvalidTransition(
            f"救援单状态「{zh_c}」不能变为「{zh_n}」", f"A rescue request that is {en_c} cannot become {en_n}"
        )


# ---------------------------------------------------------------- timeline replay


@dataclass(frozen=True)
class TimelineEntry:
    """One recorded step as the timeline table stores it (plain values)."""

    at: datetime
    kind: str
    from_status: str | None
    to_status: str | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReplayState:
    status: Status | None = None
    assigned_user_id: int | None = None
    event_id: int | None = None
    contact_attempts: int = 0
    contacted_at: datetime | None = None
    assessed_amount: Decimal | None = None
    prepaid_amount: Decimal = Decimal("0")
    paid_amount: Decimal | None = None
    stamps: dict[str, datetime] = field(default_factory=dict)
    """First time each status was entered."""


class ReplayError(ValueError):
    pass


def replay(entries: Iterable[TimelineEntry]) -> list[ReplayState]:
    """Rebuild the case step by step from its timeline; the state after each entry.

    Raises ReplayError when the recorded steps do not chain (a from-status that is not the status the
    previous steps led to), i.e. when the timeline was not the complete record."""
    state = ReplayState()
    out: list[ReplayState] = []
    for i, e in enumerate(sorted(entries, key=lambda x: x.at)):
        if e.from_status is not None and state.status is not None and e.from_status != state.status:
            raise ReplayError(f"entry {i} ({e.kind}) starts at {e.from_status}, the case was {state.status}")
        if e.to_status is not None:
            state.status = Status(e.to_status)
            state.stamps.setdefault(e.to_status, e.at)
        d = e.data or {}
        if e.kind in ("assigned", "taken"):
            state.assigned_user_id = d.get("user_id")
        if e.kind == "contact_attempt":
            state.contact_attempts += 1
            if d.get("outcome") == "reached" and state.contacted_at is None:
                state.contacted_at = e.at
        if e.kind in ("event_tagged", "event_untagged"):
            state.event_id = d.get("event_id") if e.kind == "event_tagged" else None
        if "assessed_amount" in d:
            state.assessed_amount = Decimal(str(d["assessed_amount"]))
        if "prepaid" in d:
            state.prepaid_amount += Decimal(str(d["prepaid"]))
        if "paid_amount" in d:
            state.paid_amount = Decimal(str(d["paid_amount"]))
        out.append(
            ReplayState(
                status=state.status,
                assigned_user_id=state.assigned_user_id,
                event_id=state.event_id,
                contact_attempts=state.contact_attempts,
                contacted_at=state.contacted_at,
                assessed_amount=state.assessed_amount,
                prepaid_amount=state.prepaid_amount,
                paid_amount=state.paid_amount,
                stamps=dict(state.stamps),
            )
        )
    return out


def label(
    table: dict[str, tuple[str, str]] | dict[str, tuple[str, str, Any]], code: str | None, lang: str
) -> str:
    if not code or code not in table:
        return code or ""
    entry = table[code]
    return str(entry[0] if lang == "zh" else entry[1])


def region_matches(code: str | None, prefixes: Sequence[str]) -> bool:
    """Whether a 6-digit division code lies in any of the region prefixes ('35' province, '3505' city,
    '350582' district)."""
    return bool(code) and any(code.startswith(p) for p in prefixes if p)  # type: ignore[union-attr]
