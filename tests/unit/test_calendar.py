"""Unit tests for xiaobao.core.calendar (no DB)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xiaobao.core.calendar import CN_TZ, WorkCalendar, fallback_holidays


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


# A shared calendar for the hypothesis tests (function-scoped fixtures are not reset between examples).
CAL = WorkCalendar()


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def test_cn_tz() -> None:
    assert str(CN_TZ) == "Asia/Shanghai"
    assert datetime(2026, 3, 2, tzinfo=CN_TZ).utcoffset() == timedelta(hours=8)


# -- official (chinesecalendar) --


def test_2025_adjusted_workdays(cal: WorkCalendar) -> None:
    # Sundays / Saturdays that were working days (调休) in 2025.
    for d in (date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)):
        assert d.weekday() >= 5
        assert cal.is_workday(d), d
        assert cal.source(d) == "official"


def test_2025_national_day_and_mid_autumn(cal: WorkCalendar) -> None:
    for d in days(date(2025, 10, 1), date(2025, 10, 8)):
        assert not cal.is_workday(d), d
    assert cal.is_workday(date(2025, 10, 9))


def test_2025_spring_festival(cal: WorkCalendar) -> None:
    for d in days(date(2025, 1, 28), date(2025, 2, 4)):
        assert not cal.is_workday(d), d
    assert cal.is_workday(date(2025, 1, 27))
    assert cal.is_workday(date(2025, 2, 5))


def test_2026_spring_festival(cal: WorkCalendar) -> None:
    # chinesecalendar 1.11.0: 2026-02-15..23 off, Saturdays 02-14 and 02-28 working days.
    for d in days(date(2026, 2, 15), date(2026, 2, 23)):
        assert not cal.is_workday(d), d
    assert cal.is_workday(date(2026, 2, 14))
    assert cal.is_workday(date(2026, 2, 28))
    assert cal.is_workday(date(2026, 2, 24))


def test_2026_ordinary_week(cal: WorkCalendar) -> None:
    assert [cal.is_workday(d) for d in days(date(2026, 3, 2), date(2026, 3, 8))] == [True] * 5 + [False] * 2
    assert cal.source(date(2026, 12, 31)) == "official"


# -- fallback (2027+) --


def test_2027_fallback_holidays() -> None:
    h = fallback_holidays(2027)
    # Spring Festival 2027 is on 2027-02-06: Eve 02-05 plus 02-06..08.
    assert {d for d, name in h.items() if name == "Spring Festival"} == set(
        days(date(2027, 2, 5), date(2027, 2, 8))
    )
    assert h[date(2027, 1, 1)] == "New Year's Day"
    assert h[date(2027, 4, 5)] == "Tomb-sweeping Day"
    assert h[date(2027, 6, 9)] == "Dragon Boat Festival"
    assert h[date(2027, 9, 15)] == "Mid-autumn Festival"
    assert {
        date(2027, 5, 1),
        date(2027, 5, 2),
        date(2027, 10, 1),
        date(2027, 10, 2),
        date(2027, 10, 3),
    } <= set(h)
    assert len(h) == 13


def test_qingming_dates() -> None:
    assert date(2025, 4, 4) in fallback_holidays(2025)
    assert date(2026, 4, 5) in fallback_holidays(2026)
    assert date(2028, 4, 4) in fallback_holidays(2028)


def test_fallback_matches_official_holidays_for_2026() -> None:
    # Every rule-computed holiday is a rest day in the official 2026 schedule.
    cal = WorkCalendar()
    for d in fallback_holidays(2026):
        assert not cal.is_workday(d), d


def test_2027_fallback_calendar(cal: WorkCalendar) -> None:
    assert cal.source(date(2027, 2, 8)) == "fallback"
    assert not cal.is_workday(date(2027, 2, 5))  # Friday, New Year's Eve
    assert not cal.is_workday(date(2027, 2, 8))  # Monday, lunar 1/3
    assert cal.is_workday(date(2027, 2, 9))
    assert not cal.is_workday(date(2027, 10, 1))  # Friday
    assert cal.is_workday(date(2027, 10, 4))  # Monday: no bridging days in the fallback
    assert not cal.is_workday(date(2027, 3, 6))  # Saturday
    assert not cal.is_workday(date(2027, 3, 7))  # Sunday
    assert cal.is_workday(date(2027, 3, 8))
    assert cal.next_workday(date(2026, 12, 31)) == date(2027, 1, 4)


# -- overrides --


def test_overrides_win() -> None:
    cal = WorkCalendar({date(2025, 10, 1): True, date(2026, 3, 2): False, date(2027, 2, 20): True})
    assert cal.is_workday(date(2025, 10, 1)) and cal.source(date(2025, 10, 1)) == "override"
    assert not cal.is_workday(date(2026, 3, 2)) and cal.source(date(2026, 3, 2)) == "override"
    assert cal.is_workday(date(2027, 2, 20)) and cal.source(date(2027, 2, 20)) == "override"
    assert cal.source(date(2026, 3, 3)) == "official"
    assert cal.add_workdays(date(2026, 2, 27), 1) == date(2026, 2, 28)  # adjusted Saturday
    assert cal.add_workdays(date(2026, 2, 28), 1) == date(2026, 3, 3)  # skips the overridden Monday


def test_from_yaml(tmp_path: Path) -> None:
    f = tmp_path / "cal2027.yaml"
    f.write_text(
        "source: 国务院办公厅关于2027年部分节假日安排的通知\n"
        "holidays: [2027-02-09, 2027-02-10, 2027-10-04]\n"
        "workdays:\n  - 2027-02-20\n  - '2027-10-09'\n",
        encoding="utf-8",
    )
    cal = WorkCalendar.from_yaml(f)
    assert not cal.is_workday(date(2027, 2, 9))
    assert not cal.is_workday(date(2027, 10, 4))
    assert cal.is_workday(date(2027, 2, 20))  # Saturday
    assert cal.is_workday(date(2027, 10, 9))  # Saturday, given as a quoted string
    assert cal.source(date(2027, 10, 9)) == "override"
    assert cal.source(date(2027, 10, 11)) == "fallback"


def test_from_yaml_empty(tmp_path: Path) -> None:
    f = tmp_path / "empty.yaml"
    f.write_text("", encoding="utf-8")
    assert WorkCalendar.from_yaml(f).is_workday(date(2026, 3, 2))


@pytest.mark.parametrize(
    "text",
    [
        "holidays: [2027-02-09]\nworkdays: [2027-02-09]\n",
        "holiday: [2027-02-09]\n",
        "holidays: 2027-02-09\n",
        "holidays: [2027-13-09]\n",
        "holidays: [2027-02-09 10:00:00]\n",
        "- 2027-02-09\n",
    ],
)
def test_from_yaml_rejects_bad_files(tmp_path: Path, text: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError):
        WorkCalendar.from_yaml(f)


def test_rejects_datetimes_and_bad_overrides(cal: WorkCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_workday(datetime(2026, 3, 2, tzinfo=UTC))
    with pytest.raises(TypeError):
        WorkCalendar({datetime(2026, 3, 2, tzinfo=UTC): True})
    with pytest.raises(TypeError):
        bad: dict[date, Any] = {date(2026, 3, 2): 1}
        WorkCalendar(bad)
    with pytest.raises(ValueError):
        cal.add_workdays(date(2026, 3, 2), -1)


# -- arithmetic --


def test_add_workdays(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 3, 2), 1) == date(2026, 3, 3)  # Monday -> Tuesday
    assert cal.add_workdays(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday -> Monday
    assert cal.add_workdays(date(2026, 3, 7), 0) == date(2026, 3, 9)  # Saturday, n=0 -> Monday
    assert cal.add_workdays(date(2026, 3, 2), 0) == date(2026, 3, 2)
    assert cal.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)  # before National Day
    assert cal.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)  # adjusted Saturday workday
    assert cal.add_workdays(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert cal.next_workday(date(2026, 9, 30)) == date(2026, 10, 8)
    assert cal.add_workdays(date(2025, 1, 1), 500) > date(2026, 12, 31)  # crosses into the fallback


def test_workdays_between(cal: WorkCalendar) -> None:
    assert cal.workdays_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert cal.workdays_between(date(2026, 3, 1), date(2026, 3, 8)) == 5
    assert cal.workdays_between(date(2026, 3, 8), date(2026, 3, 1)) == -5
    assert cal.workdays_between(date(2025, 9, 30), date(2025, 10, 9)) == 1
    assert cal.workdays_between(date(2025, 12, 31), date(2027, 1, 1)) == sum(
        cal.is_workday(d) for d in days(date(2026, 1, 1), date(2027, 1, 1))
    )


def test_many_lookups_are_fast(cal: WorkCalendar) -> None:
    start = date(2025, 1, 1)
    sample = [start + timedelta(days=i % 1000) for i in range(200_000)]
    t0 = time.perf_counter()
    for d in sample:
        cal.is_workday(d)
    for d in sample[:50_000]:
        cal.add_workdays(d, 3)
    assert time.perf_counter() - t0 < 2.0


# -- properties --

dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2032, 12, 31))


@settings(max_examples=300, deadline=None)
@given(d=dates, n=st.integers(min_value=1, max_value=400))
def test_add_workdays_properties(d: date, n: int) -> None:
    result = CAL.add_workdays(d, n)
    assert result > d
    assert CAL.is_workday(result)
    assert CAL.workdays_between(d, result) == n
    # It is the first such day: the day before has one workday fewer.
    assert CAL.workdays_between(d, result - timedelta(days=1)) == n - 1


@settings(max_examples=300, deadline=None)
@given(d=dates)
def test_add_zero_and_next_workday(d: date) -> None:
    zero = CAL.add_workdays(d, 0)
    assert CAL.is_workday(zero)
    assert zero == d if CAL.is_workday(d) else zero == CAL.next_workday(d)
    assert CAL.workdays_between(d, zero) == (0 if zero == d else 1)


@settings(max_examples=200, deadline=None)
@given(a=dates, b=dates, c=dates)
def test_workdays_between_is_additive(a: date, b: date, c: date) -> None:
    assert CAL.workdays_between(a, c) == CAL.workdays_between(a, b) + CAL.workdays_between(b, c)
