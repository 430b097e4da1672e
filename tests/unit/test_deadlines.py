"""Unit tests for xiaobao.complaints.deadlines (no DB)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xiaobao.complaints.deadlines import (
    LIMIT_DAYS,
    DeadlineState,
    Pause,
    assess,
    contact_due,
    paused_duration,
    regulatory_due,
    review_window_end,
)
from xiaobao.core.calendar import CN_TZ, WorkCalendar

CAL = WorkCalendar()


def cn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CN_TZ)


def eod(y: int, m: int, d: int) -> datetime:
    return datetime.combine(date(y, m, d), time.max, tzinfo=CN_TZ)


# -- regulatory_due --


@pytest.mark.parametrize("hh", [0, 9, 23])
def test_regulatory_due_15_days(hh: int) -> None:
    due = regulatory_due(cn(2026, 3, 2, hh, 30), 0, [])
    assert due == eod(2026, 3, 17)
    assert due is not None and due.tzinfo is not None
    assert due.astimezone(CN_TZ).time() == time(23, 59, 59, 999999)


def test_extension_levels() -> None:
    received = cn(2026, 3, 2, 10)
    assert LIMIT_DAYS == {0: 15, 1: 30, 2: 60}
    assert regulatory_due(received, 1, []) == eod(2026, 4, 1)
    assert regulatory_due(received, 2, []) == eod(2026, 5, 1)
    with pytest.raises(ValueError):
        regulatory_due(received, 3, [])


def test_timezone_edge() -> None:
    # 2026-03-02 23:30 Asia/Shanghai == 15:30 UTC on 03-02: counts as 03-02.
    utc = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    assert regulatory_due(utc, 0, []) == eod(2026, 3, 17)
    # 16:30 UTC is already 03-03 00:30 in Shanghai.
    assert regulatory_due(datetime(2026, 3, 2, 16, 30, tzinfo=UTC), 0, []) == eod(2026, 3, 18)
    # Calendar days: a limit ending on a holiday is not moved by default.
    assert regulatory_due(cn(2026, 9, 16, 9), 0, []) == eod(2026, 10, 1)


def test_closed_pauses_shift_exactly() -> None:
    received = cn(2026, 3, 2, 10)
    pauses = [Pause(cn(2026, 3, 4, 9), cn(2026, 3, 6, 12)), Pause(cn(2026, 3, 10, 8), cn(2026, 3, 10, 9, 30))]
    assert regulatory_due(received, 0, pauses) == eod(2026, 3, 17) + timedelta(days=2, hours=4, minutes=30)


def test_overlapping_and_pre_receipt_pauses_count_once() -> None:
    received = cn(2026, 3, 2, 10)
    pauses = [
        Pause(cn(2026, 3, 4, 0), cn(2026, 3, 5, 0)),
        Pause(cn(2026, 3, 4, 12), cn(2026, 3, 5, 12)),  # overlaps the first
        Pause(cn(2026, 3, 4, 13), cn(2026, 3, 4, 14)),  # inside the first two
        Pause(cn(2026, 3, 1, 0), cn(2026, 3, 2, 11)),  # starts before receipt: only 1 h counts
    ]
    assert paused_duration(pauses, received) == timedelta(hours=36 + 1)


def test_open_pause_stops_the_clock() -> None:
    received = cn(2026, 3, 2, 10)
    pauses = [Pause(cn(2026, 3, 3, 9), cn(2026, 3, 3, 10)), Pause(cn(2026, 3, 5, 9))]
    assert regulatory_due(received, 0, pauses) is None
    assert regulatory_due(received, 2, pauses) is None


def test_pause_validation() -> None:
    with pytest.raises(ValueError, match="before"):
        Pause(cn(2026, 3, 5), cn(2026, 3, 4))
    with pytest.raises(ValueError, match="timezone-aware"):
        Pause(datetime(2026, 3, 5), None)
    with pytest.raises(ValueError, match="timezone-aware"):
        Pause(cn(2026, 3, 5), datetime(2026, 3, 6))


def test_rollover_option() -> None:
    # Day 15 after 2026-09-16 is 2026-10-01 (National Day); Civil Code Art.203 moves it to 2026-10-08.
    assert regulatory_due(cn(2026, 9, 16, 9), 0, [], rollover=CAL) == eod(2026, 10, 8)
    assert regulatory_due(cn(2026, 3, 2, 9), 0, [], rollover=CAL) == eod(2026, 3, 17)
    assert review_window_end(cn(2026, 9, 1, 9), rollover=CAL) == eod(2026, 10, 8)


def test_naive_datetimes_rejected() -> None:
    naive = datetime(2026, 3, 2, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        regulatory_due(naive, 0, [])
    with pytest.raises(ValueError, match="timezone-aware"):
        contact_due(naive, CAL)
    with pytest.raises(ValueError, match="timezone-aware"):
        review_window_end(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        assess(eod(2026, 3, 17), naive, None)
    with pytest.raises(ValueError, match="timezone-aware"):
        assess(naive, cn(2026, 3, 2), None)
    with pytest.raises(ValueError, match="timezone-aware"):
        assess(eod(2026, 3, 17), cn(2026, 3, 2), naive)


# -- contact_due --


def test_contact_due_weekday() -> None:
    assert contact_due(cn(2026, 3, 2, 8), CAL) == eod(2026, 3, 3)
    assert contact_due(cn(2026, 3, 2, 23, 59), CAL) == eod(2026, 3, 3)
    assert contact_due(cn(2026, 3, 2, 8), CAL, workdays=0) == eod(2026, 3, 2)
    assert contact_due(cn(2026, 3, 2, 8), CAL, workdays=3) == eod(2026, 3, 5)
    with pytest.raises(ValueError):
        contact_due(cn(2026, 3, 2, 8), CAL, workdays=-1)


def test_contact_due_friday_evening_and_weekend() -> None:
    assert contact_due(cn(2026, 3, 6, 20), CAL) == eod(2026, 3, 9)
    assert contact_due(cn(2026, 3, 7, 10), CAL) == eod(2026, 3, 9)  # Saturday
    assert contact_due(cn(2026, 3, 7, 10), CAL, workdays=0) == eod(2026, 3, 9)
    # Friday 20:00 UTC is already Saturday in Shanghai.
    assert contact_due(datetime(2026, 3, 6, 20, tzinfo=UTC), CAL) == eod(2026, 3, 9)


def test_contact_due_before_holidays() -> None:
    assert contact_due(cn(2026, 9, 30, 18), CAL) == eod(2026, 10, 8)  # National Day 10-01..07
    assert contact_due(cn(2026, 2, 13, 18), CAL) == eod(2026, 2, 14)  # adjusted Saturday workday
    assert contact_due(cn(2026, 2, 14, 18), CAL) == eod(2026, 2, 24)  # Spring Festival 02-15..23
    assert contact_due(cn(2027, 2, 4, 18), CAL) == eod(2027, 2, 9)  # fallback Spring Festival 02-05..08


# -- review window --


def test_review_window_end() -> None:
    assert review_window_end(cn(2026, 3, 2, 23, 30)) == eod(2026, 4, 1)
    assert review_window_end(datetime(2026, 3, 2, 15, 30, tzinfo=UTC)) == eod(2026, 4, 1)
    assert review_window_end(datetime(2026, 3, 2, 16, 30, tzinfo=UTC)) == eod(2026, 4, 2)


# -- assess --

DUE = eod(2026, 3, 17)


def test_assess_on_track() -> None:
    v = assess(DUE, cn(2026, 3, 3, 0), None)
    assert v.state is DeadlineState.ON_TRACK
    assert v.state == "on_track"
    assert v.remaining == DUE - cn(2026, 3, 3, 0)
    assert v.due == DUE
    assert v.label_zh == "剩余14天23小时" and v.label_en == "14 d 23 h left"


def test_assess_due_soon_boundaries() -> None:
    assert assess(DUE, DUE - timedelta(days=3), None).state is DeadlineState.DUE_SOON
    assert assess(DUE, DUE - timedelta(days=3, seconds=1), None).state is DeadlineState.ON_TRACK
    v = assess(DUE, DUE - timedelta(hours=5), None)
    assert v.state is DeadlineState.DUE_SOON
    assert "5小时" in v.label_zh and "5 h" in v.label_en
    assert assess(DUE, DUE, None).state is DeadlineState.DUE_SOON
    assert (
        assess(DUE, DUE - timedelta(hours=5), None, due_soon=timedelta(hours=1)).state
        is DeadlineState.ON_TRACK
    )
    with pytest.raises(ValueError):
        assess(DUE, DUE, None, due_soon=timedelta(hours=-1))


def test_assess_overdue() -> None:
    v = assess(DUE, DUE + timedelta(days=2, hours=1), None)
    assert v.state is DeadlineState.OVERDUE
    assert v.remaining == -timedelta(days=2, hours=1)
    assert v.label_zh == "已超期2天1小时" and v.label_en == "Overdue by 2 d 1 h"


def test_assess_paused() -> None:
    v = assess(DUE, DUE + timedelta(days=1), None, paused=True)
    assert v.state is DeadlineState.PAUSED and v.remaining is None
    v = assess(None, cn(2026, 3, 5), None)
    assert v.state is DeadlineState.PAUSED and v.due is None
    assert v.label_zh and v.label_en


def test_assess_met_and_missed() -> None:
    v = assess(DUE, DUE + timedelta(days=5), DUE - timedelta(days=1))
    assert v.state is DeadlineState.MET and v.remaining == timedelta(days=1)
    assert assess(DUE, DUE + timedelta(days=5), DUE).state is DeadlineState.MET
    v = assess(DUE, DUE - timedelta(days=5), DUE + timedelta(minutes=30), paused=True)
    assert v.state is DeadlineState.MISSED and v.remaining == -timedelta(minutes=30)
    assert v.label_zh == "超期完成（超期30分钟）" and v.label_en == "Completed late by 30 min"
    assert assess(None, cn(2026, 3, 5), cn(2026, 3, 4)).state is DeadlineState.MET


def test_state_values() -> None:
    assert [s.value for s in DeadlineState] == ["on_track", "due_soon", "overdue", "paused", "met", "missed"]


# -- properties --

received_st = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.sampled_from([UTC, CN_TZ])
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=90))


@settings(max_examples=200, deadline=None)
@given(received=received_st, gap=durations, length=durations)
def test_regulatory_due_monotonic(received: datetime, gap: timedelta, length: timedelta) -> None:
    dues: list[datetime] = []
    for level in sorted(LIMIT_DAYS):
        due = regulatory_due(received, level, [])
        assert due is not None
        dues.append(due)
    assert dues == sorted(dues)
    start = received + gap
    short = regulatory_due(received, 0, [Pause(start, start + length / 2)])
    long = regulatory_due(received, 0, [Pause(start, start + length)])
    assert short is not None and long is not None
    assert dues[0] <= short <= long
    assert long - dues[0] == length


@settings(max_examples=200, deadline=None)
@given(received=received_st, n=st.integers(min_value=0, max_value=10))
def test_contact_due_is_end_of_a_workday(received: datetime, n: int) -> None:
    due = contact_due(received, CAL, n)
    local = due.astimezone(CN_TZ)
    assert local.time() == time.max
    assert CAL.is_workday(local.date())
    assert due > received
    received_day = received.astimezone(CN_TZ).date()
    assert CAL.workdays_between(received_day, local.date()) == (n if n else int(local.date() != received_day))
