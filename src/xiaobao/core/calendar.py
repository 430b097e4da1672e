"""Working-day calendar for mainland China (工作日历).

Three sources decide whether a day is a working day, highest priority first:

1. ``override``: explicit days given to the :class:`WorkCalendar` (e.g. the State Council's holiday
   notice for a year that the ``chinesecalendar`` package does not know yet, entered by an administrator).
2. ``official``: the ``chinesecalendar`` package, which carries the published schedules including adjusted
   workdays (调休: a weekend day that is a working day). Version 1.11.0 covers 2004-2026.
3. ``fallback``: for any other year, Saturdays and Sundays are rest days, plus the statutory public holidays
   computed by rule (《全国年节及纪念日放假办法》, 2025 revision): New Year's Day (Jan 1), Spring Festival
   (lunar New Year's Eve and lunar 1/1-1/3), Qingming (the Qingming solar term), Labour Day (May 1-2), Dragon
   Boat Festival (lunar 5/5), Mid-Autumn Festival (lunar 8/15) and National Day (Oct 1-3). Adjusted workdays
   and bridging days are not predictable and are not part of the fallback, so fallback years under-count rest
   days around holidays; enter the official schedule as overrides once it is published. The fallback applies
   the current rules to every unknown year, including years before 2004.

Lunar dates and the Qingming solar term come from the ``lunar_python`` package.

Dates here are plain local dates (Asia/Shanghai); convert a timestamp with
``ts.astimezone(CN_TZ).date()`` first. Passing a ``datetime`` where a ``date`` is expected raises
``TypeError`` so that a UTC timestamp is never silently read as a Shanghai date.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml
from lunar_python import Lunar, Solar

__all__ = ["CN_TZ", "DaySource", "WorkCalendar", "fallback_holidays"]

CN_TZ = ZoneInfo("Asia/Shanghai")

DaySource = Literal["override", "official", "fallback"]


def _check_date(d: object, name: str = "d") -> None:
    # datetime is a subclass of date: reject it explicitly.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(
            f"{name} must be a datetime.date (a local Asia/Shanghai date), got {type(d).__name__}; "
            "convert timestamps with .astimezone(CN_TZ).date() first"
        )


def _lunar_to_solar(year: int, month: int, day: int) -> date:
    s = Lunar.fromYmd(year, month, day).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


def _qingming(year: int) -> date:
    """The date (Beijing time) of the Qingming solar term in Gregorian ``year`` (April 4 or 5)."""
    table = Solar.fromYmd(year, 4, 20).getLunar().getJieQiTable()
    s = table["清明"]
    result = date(s.getYear(), s.getMonth(), s.getDay())
    if result.year != year or result.month != 4:  # pragma: no cover - guards a library change
        raise RuntimeError(f"unexpected Qingming date {result} for {year}")
    return result


def fallback_holidays(year: int) -> dict[date, str]:
    """Statutory public holidays of ``year`` by the 2025 rules, as ``{date: English name}``.

    Only the holidays themselves: no bridging days and no adjusted workdays.
    Spring Festival belongs to the lunar year starting in ``year`` (its Eve may fall in ``year`` too: the
    lunar New Year is never earlier than January 21).
    """
    out: dict[date, str] = {date(year, 1, 1): "New Year's Day"}
    new_year = _lunar_to_solar(year, 1, 1)
    for offset in range(-1, 3):  # Eve, 1/1, 1/2, 1/3
        out[new_year + timedelta(days=offset)] = "Spring Festival"
    out[_qingming(year)] = "Tomb-sweeping Day"
    out[date(year, 5, 1)] = "Labour Day"
    out[date(year, 5, 2)] = "Labour Day"
    out[_lunar_to_solar(year, 5, 5)] = "Dragon Boat Festival"
    out[_lunar_to_solar(year, 8, 15)] = "Mid-autumn Festival"
    for day in (1, 2, 3):
        # Mid-Autumn can fall on Oct 1-3 (e.g. 2028-10-03); the day keeps its Mid-Autumn name.
        out.setdefault(date(year, 10, day), "National Day")
    return out


def _official_supports(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Year:
    first_ordinal: int
    flags: bytes  # one byte per day of the year: 1 = workday
    workday_ordinals: tuple[int, ...]  # sorted
    official: bool


class WorkCalendar:
    """Mainland China working days, with per-year caching.

    ``overrides`` maps dates to ``True`` (workday) or ``False`` (rest day); it wins over the official schedule
    and the fallback. Each year is computed once on first use; later calls are a list index or a bisect.
    """

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        clean: dict[date, bool] = {}
        for d, is_work in (overrides or {}).items():
            _check_date(d, "override key")
            if not isinstance(is_work, bool):
                raise TypeError(
                    f"override for {d} must be True (workday) or False (rest day), got {is_work!r}"
                )
            clean[d] = is_work
        self._overrides: dict[date, bool] = clean
        self._years: dict[int, _Year] = {}

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> WorkCalendar:
        """Load overrides from a YAML file.

        Both lists are optional; an informational ``source`` string (e.g. the notice's title) is allowed.
        Any other key is an error (it is probably a typo). Format::

            source: 国务院办公厅关于2027年部分节假日安排的通知
            holidays: [2027-01-01, 2027-02-05, ...]   # rest days
            workdays: [2027-02-14, ...]               # working days, e.g. adjusted weekend workdays (调休)
        """
        with open(path, encoding="utf-8") as fh:
            data: Any = yaml.safe_load(fh)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping with 'holidays' and 'workdays' lists")
        unknown = set(data) - {"holidays", "workdays", "source"}
        if unknown:
            raise ValueError(
                f"{path}: unknown keys {sorted(map(str, unknown))}; expected holidays, workdays, source"
            )
        holidays = _parse_dates(data.get("holidays"), f"{path}: holidays")
        workdays = _parse_dates(data.get("workdays"), f"{path}: workdays")
        both = set(holidays) & set(workdays)
        if both:
            raise ValueError(f"{path}: dates listed as both holiday and workday: {sorted(both)}")
        overrides = {d: False for d in holidays}
        overrides.update({d: True for d in workdays})
        return cls(overrides)

    # -- per-year cache -------------------------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        info = self._years.get(year)
        if info is None:
            info = self._build_year(year)
            self._years[year] = info
        return info

    def _build_year(self, year: int) -> _Year:
        first = date(year, 1, 1)
        n_days = (date(year + 1, 1, 1) - first).days
        official = _official_supports(year)
        flags = bytearray(n_days)
        if official:
            for i in range(n_days):
                flags[i] = chinese_calendar.is_workday(first + timedelta(days=i))
        else:
            rest = fallback_holidays(year)
            for i in range(n_days):
                d = first + timedelta(days=i)
                flags[i] = d.weekday() < 5 and d not in rest
        first_ordinal = first.toordinal()
        for d, is_work in self._overrides.items():
            if d.year == year:
                flags[d.toordinal() - first_ordinal] = is_work
        ordinals = tuple(first_ordinal + i for i in range(n_days) if flags[i])
        return _Year(first_ordinal, bytes(flags), ordinals, official)

    # -- queries --------------------------------------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        """True if ``d`` is a working day."""
        _check_date(d)
        info = self._year(d.year)
        return bool(info.flags[d.toordinal() - info.first_ordinal])

    def source(self, d: date) -> DaySource:
        """Which source decided ``d``: ``"override"``, ``"official"`` (chinesecalendar) or ``"fallback"``."""
        _check_date(d)
        if d in self._overrides:
            return "override"
        return "official" if self._year(d.year).official else "fallback"

    def next_workday(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.add_workdays(d, 1)

    def add_workdays(self, d: date, n: int) -> date:
        """The date ``n`` working days after ``d``, not counting ``d`` itself.

        ``n == 0`` returns ``d`` if it is a working day, else the next working day. ``n`` must be >= 0.
        """
        _check_date(d)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return d if self.is_workday(d) else self.add_workdays(d, 1)
        year = d.year
        info = self._year(year)
        # Index (0-based) of the n-th workday after d within this year's workday list.
        idx = bisect_right(info.workday_ordinals, d.toordinal()) + n - 1
        while idx >= len(info.workday_ordinals):
            idx -= len(info.workday_ordinals)
            year += 1
            info = self._year(year)
        return date.fromordinal(info.workday_ordinals[idx])

    def workdays_between(self, a: date, b: date) -> int:
        """Number of working days in the half-open interval ``(a, b]``; ``-(b, a]`` if ``b < a``."""
        _check_date(a, "a")
        _check_date(b, "b")
        if b < a:
            return -self.workdays_between(b, a)
        ia = self._year(a.year)
        ib = self._year(b.year)
        through_a = bisect_right(ia.workday_ordinals, a.toordinal())
        through_b = bisect_right(ib.workday_ordinals, b.toordinal())
        if a.year == b.year:
            return through_b - through_a
        total = len(ia.workday_ordinals) - through_a
        for year in range(a.year + 1, b.year):
            total += len(self._year(year).workday_ordinals)
        return total + through_b


def _parse_dates(raw: object, where: str) -> list[date]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError(f"{where}: expected a list of YYYY-MM-DD dates")
    out: list[date] = []
    items: Iterable[object] = raw
    for item in items:
        if isinstance(item, datetime):
            raise ValueError(f"{where}: {item!r} has a time; give dates only (YYYY-MM-DD)")
        if isinstance(item, date):
            out.append(item)
        elif isinstance(item, str):
            try:
                out.append(date.fromisoformat(item.strip()))
            except ValueError:
                raise ValueError(f"{where}: {item!r} is not a YYYY-MM-DD date") from None
        else:
            raise ValueError(f"{where}: {item!r} is not a YYYY-MM-DD date")
    return out
