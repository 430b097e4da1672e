"""Ranked visit list and a feasible pre-disaster visit plan per branch (pure Python).

Ranking: by expected loss (descending), then urgency (hours until gale, ascending; never → last).

Plan, per branch, with ``inspectors`` people each doing ``visits_per_day`` visits inside a daily working
window (default 08:00-18:00 Asia/Shanghai):

- The window is cut into ``visits_per_day`` equal slots (each slot includes the travel to the site; travel
  between sites is not modelled separately). Slots start at ``start`` (the reference time) at the earliest.
- A site with a gale arrival is *due* by ``gale_arrival - safety_margin``; a visit slot is feasible for it
  if the slot ends by then. Sites whose gale never arrives (or whose expected loss is below
  ``min_loss``) get no visit ("not_needed").
- Selection: sites in priority order (the ranking), each takes the *latest* free feasible slot (union-find
  over slots sorted by end time). For unit-length jobs with deadlines this greedy is optimal: it maximises
  the total expected loss of the visited sites (the feasible sets form a transversal matroid), and
  the tests check it against brute force on tiny instances.
- Sequencing: the selected sites are then re-assigned earliest-deadline-first to the earliest slots, which
  keeps every visit before its deadline (EDF is feasible whenever any order is) and visits the most urgent
  sites first.
- A site that gets no slot is ``unreachable`` with the reason: the wind arrives before any slot could
  finish, or every slot before its deadline is taken by higher-priority sites.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Candidate:
    """One site to plan; ``gale_arrival`` is aware, or None if no gale is forecast there."""

    key: int
    branch: str
    expected_loss: float
    gale_arrival: datetime | None


@dataclass(frozen=True)
class Slot:
    inspector: int  # 1-based within the branch
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Assignment:
    key: int
    rank: int
    status: str  # "planned" | "unreachable" | "not_needed"
    slot: Slot | None = None
    reason: str = ""


@dataclass(frozen=True)
class PlanSettings:
    inspectors: int | Mapping[str, int] = 2
    visits_per_day: int = 4
    work_start: time = time(8, 0)
    work_end: time = time(18, 0)
    safety_margin: timedelta = timedelta(hours=2)
    min_loss: float = 0.0
    tz: ZoneInfo = SHANGHAI

    def inspectors_for(self, branch: str) -> int:
        if isinstance(self.inspectors, Mapping):
            return int(self.inspectors.get(branch, 0))
        return int(self.inspectors)


def rank(candidates: Sequence[Candidate], reference: datetime) -> list[Candidate]:
    """Priority order: expected loss descending, then hours until gale ascending (never last)."""

    def hours(c: Candidate) -> float:
        if c.gale_arrival is None:
            return math.inf
        return (c.gale_arrival - reference).total_seconds() / 3600.0

    return sorted(candidates, key=lambda c: (-c.expected_loss, hours(c), c.key))


def make_slots(start: datetime, until: datetime, inspectors: int, settings: PlanSettings) -> list[Slot]:
    """All inspector-day slots that start at or after ``start`` and end by ``until``, sorted by end."""
    if inspectors <= 0 or settings.visits_per_day <= 0 or until <= start:
        return []
    tz = settings.tz
    day: date = start.astimezone(tz).date()
    last: date = until.astimezone(tz).date()
    ws = datetime.combine(day, settings.work_start, tz) - datetime.combine(day, time(0), tz)
    we = datetime.combine(day, settings.work_end, tz) - datetime.combine(day, time(0), tz)
    if we <= ws:
        raise ValueError("work_end must be after work_start")
    length = (we - ws) / settings.visits_per_day
    slots: list[Slot] = []
    while day <= last:
        midnight = datetime.combine(day, time(0), tz)
        for k in range(settings.visits_per_day):
            s = midnight + ws + k * length
            e = s + length
            if s >= start and e <= until:
                slots.extend(Slot(i + 1, s, e) for i in range(inspectors))
        day += timedelta(days=1)
    slots.sort(key=lambda sl: (sl.end, sl.inspector))
    return slots


def _plan_branch(
    ordered: list[tuple[int, Candidate]], start: datetime, settings: PlanSettings, n_insp: int
) -> list[Assignment]:
    due = {c.key: c.gale_arrival - settings.safety_margin for _, c in ordered if c.gale_arrival is not None}
    out: list[Assignment] = []
    todo = [(r, c) for r, c in ordered if c.key in due]
    for r, c in ordered:
        if c.key not in due:
            out.append(Assignment(c.key, r, "not_needed", reason="no gale forecast / 无大风"))
    if not todo:
        return out
    slots = make_slots(start, max(due.values()), n_insp, settings)
    ends = [sl.end for sl in slots]
    parent = list(range(len(slots) + 1))  # parent[i]: latest free slot index + 1 at or below i (0 = none)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    chosen: list[tuple[int, Candidate]] = []
    for r, c in todo:
        n_ok = bisect.bisect_right(ends, due[c.key])  # slots[:n_ok] end by the deadline
        if n_ok == 0:
            out.append(
                Assignment(
                    c.key,
                    r,
                    "unreachable",
                    reason=f"gale arrives before any visit could finish (due {_fmt(due[c.key], settings)}) / "
                    "大风到达前无法完成走访",
                )
            )
            continue
        free = find(n_ok)
        if free == 0:
            out.append(
                Assignment(
                    c.key,
                    r,
                    "unreachable",
                    reason=f"all {n_ok} slots before {_fmt(due[c.key], settings)} are taken by higher-priority "
                    "sites / 截止前走访名额已满",
                )
            )
            continue
        parent[free] = free - 1
        chosen.append((r, c))
    # earliest deadline first into the earliest slots
    chosen.sort(key=lambda rc: (due[rc[1].key], rc[0]))
    for (r, c), sl in zip(chosen, slots, strict=False):
        assert sl.end <= due[c.key]
        out.append(Assignment(c.key, r, "planned", slot=sl))
    return out


def _fmt(t: datetime, settings: PlanSettings) -> str:
    return t.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")


def plan_visits(
    candidates: Sequence[Candidate], start: datetime, settings: PlanSettings | None = None
) -> list[Assignment]:
    """Rank all candidates and plan each branch; one ``Assignment`` per candidate, in rank order."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    cfg = settings or PlanSettings()
    ordered = list(enumerate(rank(candidates, start), start=1))
    by_branch: dict[str, list[tuple[int, Candidate]]] = {}
    out: list[Assignment] = []
    for r, c in ordered:
        if c.expected_loss < cfg.min_loss:
            out.append(
                Assignment(c.key, r, "not_needed", reason="expected loss below threshold / 预期损失低")
            )
            continue
        by_branch.setdefault(c.branch, []).append((r, c))
    for branch, items in by_branch.items():
        out.extend(_plan_branch(items, start, cfg, cfg.inspectors_for(branch)))
    out.sort(key=lambda a: a.rank)
    return out


def is_feasible(
    assignments: Sequence[Assignment], candidates: Sequence[Candidate], settings: PlanSettings
) -> bool:
    """Every planned visit ends before its gale arrival minus the margin, no inspector slot used twice."""
    by_key = {c.key: c for c in candidates}
    used: set[tuple[str, int, datetime]] = set()
    for a in assignments:
        if a.status != "planned" or a.slot is None:
            continue
        c = by_key[a.key]
        if c.gale_arrival is None or a.slot.end > c.gale_arrival - settings.safety_margin:
            return False
        k = (c.branch, a.slot.inspector, a.slot.start)
        if k in used or a.slot.inspector > settings.inspectors_for(c.branch):
            return False
        used.add(k)
    return True
