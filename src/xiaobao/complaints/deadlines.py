"""Complaint deadlines (投诉处理时限): pure functions over plain values.

Rules encoded here:

* Regulatory limit, 《银行业保险业消费投诉处理管理办法》 (CBIRC Order 2020 No.3) Art.17: decide and
  notify within 15 calendar days of receipt; complex cases may be extended to 30 days; especially complex
  cases another 30 days (60 in total) with the superior institution's approval. Time spent on external
  appraisal, testing or valuation (鉴定、检测、评估) is excluded: a "pause" here.
* Counting follows the Civil Code (民法典 Art.201, 203): the day of receipt is not counted and a period
  ends at the end (24:00) of its last day. A complaint received at any time on 2026-03-02 Asia/Shanghai
  with a 15-day limit is due by the end of 2026-03-17 Asia/Shanghai.
* Internal target: first contact within N working days (default 1) after the day of receipt.
* 核查 (review): the complainant may apply within 30 calendar days of receiving the decision, same
  counting rule.

All datetimes must be timezone-aware (naive ones raise ``ValueError``). The local day of a timestamp is
its date in Asia/Shanghai. "End of day" is 23:59:59.999999 Asia/Shanghai; returned datetimes are in
Asia/Shanghai. Durations are ``timedelta``; limits are whole calendar days.

Civil Code Art.203 also moves a period whose last day is a statutory rest day to the next day after it.
The limits below do not apply that by default (the stricter reading, safe for the insurer's own
deadlines); pass a ``WorkCalendar`` as ``rollover`` to apply it, e.g. when judging whether a
complainant's review request is in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from xiaobao.core.calendar import CN_TZ, WorkCalendar

__all__ = [
    "LIMIT_DAYS",
    "REVIEW_WINDOW_DAYS",
    "DeadlineState",
    "DeadlineView",
    "Pause",
    "assess",
    "contact_due",
    "end_of_local_day",
    "format_duration",
    "paused_duration",
    "regulatory_due",
    "review_window_end",
]

#: Extension level -> total calendar days from receipt (0: standard, 1: complex, 2: especially complex).
LIMIT_DAYS: dict[int, int] = {0: 15, 1: 30, 2: 60}

#: Calendar days after the complainant receives the decision in which they may request 核查.
REVIEW_WINDOW_DAYS = 30


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware (e.g. datetime(..., tzinfo=CN_TZ) or UTC), "
            f"got naive {value.isoformat()}"
        )


def _local_date(value: datetime, name: str) -> date:
    _require_aware(value, name)
    return value.astimezone(CN_TZ).date()


def end_of_local_day(d: date) -> datetime:
    """23:59:59.999999 Asia/Shanghai on local date ``d`` (tz-aware)."""
    return datetime.combine(d, time.max, tzinfo=CN_TZ)


def _rolled(d: date, rollover: WorkCalendar | None) -> date:
    if rollover is None:
        return d
    return rollover.add_workdays(d, 0)


@dataclass(frozen=True)
class Pause:
    """A stretch of time excluded from the regulatory clock (external appraisal, testing or valuation).

    ``end is None`` means the pause is still running: the clock is stopped.
    """

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware(self.start, "Pause.start")
        if self.end is not None:
            _require_aware(self.end, "Pause.end")
            if self.end < self.start:
                raise ValueError(
                    f"Pause.end {self.end.isoformat()} is before Pause.start {self.start.isoformat()}"
                )


def paused_duration(pauses: Sequence[Pause], received_at: datetime) -> timedelta | None:
    """Total excluded time: the length of the union of the closed pauses, counting only time after receipt.

    Overlapping pauses are counted once. Returns ``None`` if any pause is still open.
    """
    _require_aware(received_at, "received_at")
    intervals: list[tuple[datetime, datetime]] = []
    for p in pauses:
        if p.end is None:
            return None
        start = max(p.start, received_at)
        if p.end > start:
            intervals.append((start, p.end))
    intervals.sort()
    total = timedelta(0)
    cur_start: datetime | None = None
    cur_end: datetime | None = None
    for start, end in intervals:
        if cur_start is None or cur_end is None or start > cur_end:
            if cur_start is not None and cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        elif end > cur_end:
            cur_end = end
    if cur_start is not None and cur_end is not None:
        total += cur_end - cur_start
    return total


def regulatory_due(
    received_at: datetime,
    extension_level: int,
    pauses: Sequence[Pause] = (),
    *,
    rollover: WorkCalendar | None = None,
) -> datetime | None:
    """Regulatory decide-and-notify deadline (Art.17), or ``None`` while a pause is open (clock stopped).

    The due moment is the end of the local (Asia/Shanghai) day
    ``receipt date + LIMIT_DAYS[extension_level]`` calendar days (the receipt day is not counted), then
    moved later by the exact total duration of the closed pauses (see :func:`paused_duration`). With
    ``rollover``, a last day that is a rest day in that calendar moves to the next working day (Civil Code
    Art.203) before the pause shift.
    """
    if extension_level not in LIMIT_DAYS:
        raise ValueError(f"extension_level must be one of {sorted(LIMIT_DAYS)}, got {extension_level!r}")
    received_day = _local_date(received_at, "received_at")
    shift = paused_duration(pauses, received_at)
    if shift is None:
        return None
    last_day = _rolled(received_day + timedelta(days=LIMIT_DAYS[extension_level]), rollover)
    # Asia/Shanghai has no DST, so adding an exact timedelta to the local end-of-day is exact elapsed time.
    return end_of_local_day(last_day) + shift


def contact_due(received_at: datetime, calendar: WorkCalendar, workdays: int = 1) -> datetime:
    """Internal first-contact target: end of the ``workdays``-th working day after the local day of receipt.

    Received Monday 2026-03-02 (any time) with ``workdays=1`` -> end of Tuesday 2026-03-03; received on a
    Friday evening -> end of the next working day (Monday, or later after a holiday). ``workdays=0`` means
    the day of receipt if it is a working day, else the next working day.
    """
    if workdays < 0:
        raise ValueError(f"workdays must be >= 0, got {workdays}")
    received_day = _local_date(received_at, "received_at")
    return end_of_local_day(calendar.add_workdays(received_day, workdays))


def review_window_end(decision_notified_at: datetime, *, rollover: WorkCalendar | None = None) -> datetime:
    """Last moment to request 核查: end of the local day ``notified date + 30`` calendar days.

    With ``rollover``, a last day that is a rest day moves to the next working day (Civil Code Art.203).
    """
    notified_day = _local_date(decision_notified_at, "decision_notified_at")
    return end_of_local_day(_rolled(notified_day + timedelta(days=REVIEW_WINDOW_DAYS), rollover))


class DeadlineState(StrEnum):
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"


@dataclass(frozen=True)
class DeadlineView:
    """A deadline as shown to staff.

    ``remaining``: for open states ``due - now`` (negative when overdue); for MET / MISSED ``due - done_at``
    (the margin, negative when late); ``None`` when paused or when there is no due moment.
    """

    due: datetime | None
    state: DeadlineState
    remaining: timedelta | None
    label_zh: str
    label_en: str


def format_duration(delta: timedelta) -> tuple[str, str]:
    """Absolute value of ``delta`` as (Chinese, English) text, whole minutes: ('2天3小时', '2 d 3 h')."""
    minutes = int(abs(delta).total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        zh = f"{days}天{hours}小时" if hours else f"{days}天"
        en = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        zh = f"{hours}小时{mins}分钟" if mins else f"{hours}小时"
        en = f"{hours} h {mins} min" if mins else f"{hours} h"
    else:
        zh, en = f"{mins}分钟", f"{mins} min"
    return zh, en


def assess(
    due: datetime | None,
    now: datetime,
    done_at: datetime | None,
    due_soon: timedelta = timedelta(days=3),
    paused: bool = False,
) -> DeadlineView:
    """Classify a deadline at ``now``.

    Order: ``done_at`` set -> MET if ``done_at <= due`` else MISSED (MET if there is no due moment);
    paused or no due moment (``due is None``: the clock is stopped) -> PAUSED; ``now > due`` -> OVERDUE;
    ``due - now <= due_soon`` -> DUE_SOON; otherwise ON_TRACK. ``due_soon`` must be >= 0.
    """
    _require_aware(now, "now")
    if due is not None:
        _require_aware(due, "due")
    if done_at is not None:
        _require_aware(done_at, "done_at")
    if due_soon < timedelta(0):
        raise ValueError(f"due_soon must not be negative, got {due_soon}")

    if done_at is not None:
        if due is None:
            return DeadlineView(None, DeadlineState.MET, None, "已完成", "Done")
        margin = due - done_at
        zh, en = format_duration(margin)
        if done_at <= due:
            return DeadlineView(due, DeadlineState.MET, margin, "按时完成", "Met on time")
        return DeadlineView(
            due, DeadlineState.MISSED, margin, f"超期完成（超期{zh}）", f"Completed late by {en}"
        )
    if paused or due is None:
        return DeadlineView(due, DeadlineState.PAUSED, None, "计时暂停", "Clock paused")
    remaining = due - now
    zh, en = format_duration(remaining)
    if now > due:
        return DeadlineView(due, DeadlineState.OVERDUE, remaining, f"已超期{zh}", f"Overdue by {en}")
    if remaining <= due_soon:
        return DeadlineView(
            due, DeadlineState.DUE_SOON, remaining, f"即将到期，剩余{zh}", f"Due soon: {en} left"
        )
    return DeadlineView(due, DeadlineState.ON_TRACK, remaining, f"剩余{zh}", f"{en} left")
