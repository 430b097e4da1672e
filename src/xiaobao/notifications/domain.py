"""Notification kinds and channels, escalation rules and delivery retry rules: pure functions over plain
values (no database, no web).

Escalation of an item with a due moment (a complaint's regulatory deadline, its first-contact target, a
督办 reply deadline, later a co-handling task):

====================  ==========================  =============================================
stage                 reached when                who is told
====================  ==========================  =============================================
1 ``DUE_SOON``        ``now >= due - lead``       the owner (reminder)
2 ``OVERDUE``         ``now >= due``              the owner's department head (escalation), the
                                                  owner and any watcher (overdue notice)
3 ``SEVERE``          ``now >= due + escalate``   the consumer-protection officer of the superior
                                                  org (escalation)
====================  ==========================  =============================================

A sweep that first sees an item late jumps straight to its stage; every skipped escalation is still sent
(the department head must know even if the officer is told at the same time) but a "due soon" reminder
is never sent for an item already overdue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from xiaobao.core.calendar import CN_TZ


class Kind(StrEnum):
    REMINDER = "reminder"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    ESCALATION_SEVERE = "escalation_severe"
    SUPERVISION = "supervision"
    SUPERVISION_REPLY = "supervision_reply"
    TASK = "task"  # co-handling tasks: requested, answered, returned, assigned, signed off (tasks module)


class Channel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"
    SMS = "sms"


OUTBOUND: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS)
"""Channels with a delivery row; the inbox is the notification row itself and is always on."""

KIND_LABELS: dict[Kind, tuple[str, str]] = {
    Kind.REMINDER: ("到期提醒", "Deadline reminder"),
    Kind.OVERDUE: ("超期通知", "Overdue notice"),
    Kind.ESCALATION: ("超期升级（部门负责人）", "Overdue escalation (department head)"),
    Kind.ESCALATION_SEVERE: ("严重超期升级（上级消保）", "Severe overdue escalation (superior officer)"),
    Kind.SUPERVISION: ("督办通知", "Supervision notice (督办)"),
    Kind.SUPERVISION_REPLY: ("督办回复", "Supervision reply"),
    Kind.TASK: ("任务与协办", "Tasks and co-handling"),
}

KIND_TAGS: dict[str, tuple[str, str]] = {
    # short labels for the inbox tag; a kind without one uses its full label
    Kind.REMINDER: ("即将到期", "Due soon"),
    Kind.OVERDUE: ("已超期", "Overdue"),
    Kind.ESCALATION: ("超期升级", "Escalated"),
    Kind.ESCALATION_SEVERE: ("严重超期", "Severely overdue"),
    Kind.SUPERVISION: ("督办", "督办"),
    Kind.SUPERVISION_REPLY: ("督办回复", "督办 reply"),
}


def duration_zh(seconds: float) -> str:
    """A span for messages: "42 小时", "3 天 5 小时" (whole hours, rounded down)."""
    hours = max(0, int(seconds // 3600))
    if hours < 48:
        return f"{hours} 小时"
    days, rest = divmod(hours, 24)
    return f"{days} 天" + (f" {rest} 小时" if rest else "")


DEFAULT_CHANNELS: dict[Kind, frozenset[Channel]] = {
    # inbox always; e-mail for escalations; SMS for overdue escalations
    Kind.REMINDER: frozenset(),
    Kind.OVERDUE: frozenset({Channel.EMAIL}),
    Kind.ESCALATION: frozenset({Channel.EMAIL, Channel.SMS}),
    Kind.ESCALATION_SEVERE: frozenset({Channel.EMAIL, Channel.SMS}),
    Kind.SUPERVISION: frozenset({Channel.EMAIL}),
    Kind.SUPERVISION_REPLY: frozenset(),
    Kind.TASK: frozenset({Channel.EMAIL}),
}


def channels_for(
    kind: Kind | str, overrides: Mapping[str, Iterable[str]] | None = None
) -> frozenset[Channel]:
    """Outbound channels for one user and kind: their saved preference, else the default."""
    if overrides is not None and str(kind) in overrides:
        return frozenset(Channel(c) for c in overrides[str(kind)] if c in OUTBOUND)
    return DEFAULT_CHANNELS[Kind(kind)]


# ---------------------------------------------------------------- escalation


class Stage(IntEnum):
    NONE = 0
    DUE_SOON = 1
    OVERDUE = 2
    SEVERE = 3


class Audience(StrEnum):
    OWNER = "owner"
    DEPT_HEAD = "dept_head"
    CP_OFFICER = "cp_officer"
    WATCHER = "watcher"


@dataclass(frozen=True)
class Policy:
    """Lead time of the reminder and delay of the second escalation, per track."""

    lead: timedelta = timedelta(hours=24)
    escalate_after: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.lead < timedelta(0):
            raise ValueError(f"lead must not be negative, got {self.lead}")
        if self.escalate_after <= timedelta(0):
            raise ValueError(f"escalate_after must be positive, got {self.escalate_after}")

    @classmethod
    def hours(cls, lead: float, escalate_after: float) -> Policy:
        return cls(timedelta(hours=lead), timedelta(hours=escalate_after))


@dataclass(frozen=True)
class Step:
    stage: Stage
    audience: Audience
    kind: Kind


@dataclass(frozen=True)
class Plan:
    target: Stage
    steps: tuple[Step, ...]


# Within a stage the most escalated audience comes first: a user who is both owner and department head
# gets the escalation, not also the plain overdue notice (see `route`).
STAGE_STEPS: dict[Stage, tuple[Step, ...]] = {
    Stage.DUE_SOON: (Step(Stage.DUE_SOON, Audience.OWNER, Kind.REMINDER),),
    Stage.OVERDUE: (
        Step(Stage.OVERDUE, Audience.DEPT_HEAD, Kind.ESCALATION),
        Step(Stage.OVERDUE, Audience.OWNER, Kind.OVERDUE),
        Step(Stage.OVERDUE, Audience.WATCHER, Kind.OVERDUE),
    ),
    Stage.SEVERE: (Step(Stage.SEVERE, Audience.CP_OFFICER, Kind.ESCALATION_SEVERE),),
}


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def target_stage(due: datetime, now: datetime, policy: Policy) -> Stage:
    """The stage an item with this due moment has reached at ``now``."""
    _aware(due, "due")
    _aware(now, "now")
    if now >= due + policy.escalate_after:
        return Stage.SEVERE
    if now >= due:
        return Stage.OVERDUE
    if now >= due - policy.lead:
        return Stage.DUE_SOON
    return Stage.NONE


def thresholds(now: datetime, policy: Policy) -> tuple[datetime, datetime, datetime]:
    """Due-moment cut-offs for SQL: an item is at stage >= 1, 2, 3 when ``due <=`` the first, second, third
    value. Same arithmetic as :func:`target_stage` (``now >= due - lead`` ⇔ ``due <= now + lead``)."""
    _aware(now, "now")
    return now + policy.lead, now, now - policy.escalate_after


def plan(due: datetime, now: datetime, current: Stage | int, policy: Policy) -> Plan:
    """What to send now for an item at stage ``current``. Stages never go back: an item already past its
    target (the sweep ran late, then the due moment moved later) gets nothing until it catches up."""
    current = Stage(current)
    target = target_stage(due, now, policy)
    if target <= current:
        return Plan(current, ())
    steps: list[Step] = []
    for stage in Stage:
        if current < stage <= target:
            if stage == Stage.DUE_SOON and target > Stage.DUE_SOON:
                continue  # already overdue: a "due soon" reminder would be wrong
            steps.extend(STAGE_STEPS[stage])
    return Plan(target, tuple(steps))


def dedupe_key(track: str, entity_id: int, stage: Stage, due: datetime, user_id: int, kind: Kind) -> str:
    """The one notification a user gets for an item's stage: e.g.
    ``complaint.regulatory:123:overdue:2026-03-17:u45:escalation``. The due date (Asia/Shanghai) is part of
    the key, so a new due date (extension, reopening) earns new reminders; a replay never does."""
    day = due.astimezone(CN_TZ).date().isoformat()
    return f"{track}:{entity_id}:{stage.name.lower()}:{day}:u{user_id}:{kind.value}"


# ---------------------------------------------------------------- routing in the org tree


@dataclass(frozen=True)
class OrgNode:
    id: int
    parent_id: int | None
    kind: str  # hq | branch | subbranch | department


class OrgTree:
    """The org tree as plain data, with the two questions escalation asks of it."""

    def __init__(self, nodes: Iterable[OrgNode]) -> None:
        self.nodes = {n.id: n for n in nodes}
        self._children: dict[int, list[int]] = {}
        for n in self.nodes.values():
            if n.parent_id is not None:
                self._children.setdefault(n.parent_id, []).append(n.id)

    def ancestors(self, org_id: int) -> list[int]:
        """The org itself, then its parent, up to the root."""
        out: list[int] = []
        node = self.nodes.get(org_id)
        while node is not None and node.id not in out:
            out.append(node.id)
            node = self.nodes.get(node.parent_id) if node.parent_id is not None else None
        return out

    def institution(self, org_id: int) -> int:
        """The nearest org that is not a department (a department's staff belong to its branch)."""
        for oid in self.ancestors(org_id):
            if self.nodes[oid].kind != "department":
                return oid
        return org_id

    def with_departments(self, org_id: int) -> list[int]:
        """An institution and its department children (where its officers usually sit)."""
        return [org_id] + [c for c in self._children.get(org_id, []) if self.nodes[c].kind == "department"]


def nearest(holders: Mapping[int, Sequence[int]], orgs: Iterable[int]) -> list[int]:
    """The role holders of the first org in ``orgs`` that has any."""
    for oid in orgs:
        if holders.get(oid):
            return sorted(holders[oid])
    return []


def department_heads(tree: OrgTree, managers: Mapping[int, Sequence[int]], org_id: int) -> list[int]:
    """Users with the branch-manager role in the owner's org or its nearest ancestor that has one."""
    return nearest(managers, tree.ancestors(org_id))


def superior_officers(tree: OrgTree, officers: Mapping[int, Sequence[int]], org_id: int) -> list[int]:
    """Consumer-protection officers of the superior institution: the parent of the owner's institution
    (officers in it or its departments), climbing further up when it has none. Head office has no
    superior; its own officers are told."""
    inst = tree.institution(org_id)
    chain = tree.ancestors(inst)
    start = chain[1:] if len(chain) > 1 else chain
    for oid in start:
        found = sorted({u for o in tree.with_departments(oid) for u in officers.get(o, ())})
        if found:
            return found
    return []


def institution_officers(tree: OrgTree, officers: Mapping[int, Sequence[int]], org_id: int) -> list[int]:
    """Officers of the item's own institution (or the nearest above): who must act on unassigned work."""
    for oid in tree.ancestors(tree.institution(org_id)):
        found = sorted({u for o in tree.with_departments(oid) for u in officers.get(o, ())})
        if found:
            return found
    return []


# ---------------------------------------------------------------- delivery retries

BACKOFF_CAP = timedelta(hours=6)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # last attempt failed, another is scheduled
    DEAD = "dead"  # given up: shown to admins and in the recipient's inbox


DELIVERY_LABELS: dict[DeliveryStatus, tuple[str, str]] = {
    DeliveryStatus.PENDING: ("待发送", "Pending"),
    DeliveryStatus.SENT: ("已发送", "Sent"),
    DeliveryStatus.FAILED: ("发送失败，将重试", "Failed, will retry"),
    DeliveryStatus.DEAD: ("发送失败，已放弃", "Failed, given up"),
}


def retry_delay(attempts: int, base: timedelta) -> timedelta:
    """Delay before the next attempt after ``attempts`` failed ones: base, 2·base, 4·base, … capped."""
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    return min(base * (2 ** min(attempts - 1, 30)), BACKOFF_CAP)


def after_failure(
    attempts: int, max_attempts: int, base: timedelta, *, permanent: bool
) -> tuple[DeliveryStatus, timedelta | None]:
    """Status after the ``attempts``-th failed attempt and the delay to the next one (None: no retry)."""
    if permanent or attempts >= max_attempts:
        return DeliveryStatus.DEAD, None
    return DeliveryStatus.FAILED, retry_delay(attempts, base)
