"""Claim deadlines: pure functions over plain values.

Legal limits (保险法, calendar days; Civil Code Art.201/203 counting: the starting day is not counted, a
period ends at 24:00 Asia/Shanghai of its last day):

* Art.23: after the claim and its supporting information are complete, decide promptly — within 30 days in
  complex cases (the policy may agree otherwise); pay within 10 days of the agreement on the amount.
* Art.24: a denial notice with the reasons goes out within 3 days of the decision to deny.
* Art.25: if the amount is still not settled 60 days after the information is complete, pay the part that
  can be determined (先予支付).

Service targets (minutes and hours, exact):

* Contact the reporter within 5 minutes (DB34/T 3603-2020, the local standard the platform follows in
  normal times); during a declared catastrophe the event's SLA applies (default 30 minutes).
* Survey within 24 hours normally, 48 hours in event mode (Doksuri: 96% of cases surveyed within 48 h).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from xiaobao.core.calendar import CN_TZ

DECIDE_DAYS = 30
PAY_DAYS = 10
DENIAL_NOTICE_DAYS = 3
PREPAY_DAYS = 60

NORMAL_CONTACT_MINUTES = 5
NORMAL_SURVEY_HOURS = 24
EVENT_CONTACT_MINUTES = 30
EVENT_SURVEY_HOURS = 48


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def end_of_local_day(d: date) -> datetime:
    return datetime.combine(d, time.max, tzinfo=CN_TZ)


def days_after(start: datetime, days: int) -> datetime:
    """End of the `days`-th calendar day after the local day of `start` (Civil Code counting)."""
    local = _aware(start, "start").astimezone(CN_TZ).date()
    return end_of_local_day(local + timedelta(days=days))


@dataclass(frozen=True)
class Sla:
    """Service targets in force for a case: normal, or a catastrophe event's overrides."""

    contact_minutes: int = NORMAL_CONTACT_MINUTES
    survey_hours: int = NORMAL_SURVEY_HOURS
    event_mode: bool = False


NORMAL_SLA = Sla()


def event_sla(contact_minutes: int | None, survey_hours: int | None) -> Sla:
    return Sla(
        contact_minutes=contact_minutes or EVENT_CONTACT_MINUTES,
        survey_hours=survey_hours or EVENT_SURVEY_HOURS,
        event_mode=True,
    )


@dataclass(frozen=True)
class CaseClock:
    """The timestamps the deadlines depend on."""

    reported_at: datetime
    info_collected_at: datetime | None = None
    settled_at: datetime | None = None
    denied_at: datetime | None = None


@dataclass(frozen=True)
class Deadlines:
    contact_due: datetime
    survey_due: datetime
    decision_due: datetime | None
    """Art.23: decide within 30 days once the information is complete."""
    prepay_due: datetime | None
    """Art.25: pay the determinable part if still unsettled 60 days after the information is complete."""
    payment_due: datetime | None
    """Art.23: pay within 10 days of the agreement."""
    denial_notice_due: datetime | None
    """Art.24: denial notice within 3 days of the decision to deny."""


def compute(clock: CaseClock, sla: Sla = NORMAL_SLA) -> Deadlines:
    reported = _aware(clock.reported_at, "reported_at")
    info = clock.info_collected_at
    return Deadlines(
        contact_due=reported + timedelta(minutes=sla.contact_minutes),
        survey_due=reported + timedelta(hours=sla.survey_hours),
        decision_due=days_after(info, DECIDE_DAYS) if info else None,
        prepay_due=days_after(info, PREPAY_DAYS) if info else None,
        payment_due=days_after(clock.settled_at, PAY_DAYS) if clock.settled_at else None,
        denial_notice_due=days_after(clock.denied_at, DENIAL_NOTICE_DAYS) if clock.denied_at else None,
    )


class State(StrEnum):
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    MET = "met"
    MISSED = "missed"


STATE_META: dict[State, tuple[str, str, str]] = {
    State.ON_TRACK: ("正常", "On track", "#67c23a"),
    State.DUE_SOON: ("临期", "Due soon", "#e6a23c"),
    State.OVERDUE: ("超时", "Overdue", "#c0392b"),
    State.MET: ("已达成", "Met", "#2f855a"),
    State.MISSED: ("超时完成", "Met late", "#a0522d"),
}


def assess(due: datetime, done_at: datetime | None, now: datetime, soon: timedelta) -> State:
    """Where a case stands against one deadline."""
    if done_at is not None:
        return State.MET if done_at <= due else State.MISSED
    if now > due:
        return State.OVERDUE
    if due - now <= soon:
        return State.DUE_SOON
    return State.ON_TRACK


def fmt_minutes(td: timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, m = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{m:02d}m"
    return f"{hours // 24}d{hours % 24}h"
