"""Dispatch engine benchmark (issue 6): one batch of 20,000 waiting tasks for 1,000 staff.

No database. The instance (seeded, Fujian-like): 9 cities; 560 local surveyors (on-site survey), 240 local
desk staff (contact, remote assessment) and 200 remote staff in the seven factories licensed for all nine
cities (desk work only); skills motor/property/agriculture, authority limits 50,000 / 200,000 / unlimited,
capacity 4 (desk) or 3 (surveyors) with a random current load, so about 1,700 free slots; tasks 30% contact
(due in -20..30 min), 30% remote assessment, 40% on-site survey (due in -6..48 h), 2% rescue, 6% special
groups, amounts lognormal, sites and surveyors scattered around the city seats.

``assign_s``: wall time of ``claims.dispatch.dispatch(items, staff, now)`` on the whole backlog (queues,
blocks, the window of each block, cost matrices, ``linear_sum_assignment`` per block).

The optimum of THE SAME INSTANCE: ``dispatch.instance_matrix`` builds the full matrix — all 20,000 items x
all free slots, the same cost function and priority terms, ineligible pairs at ``INFEASIBLE`` — and
``scipy.optimize.linear_sum_assignment`` solves it. Both solutions are then scored on that one matrix.
The matrix entry is ``class_gap x class + w_slack x slack + cost``; the class term is a lexicographic
priority (1e6 per class) and would swamp any ratio, so the ratio is taken on the part the solver trades
once the number of assignments per class is settled: ``cost + w_slack x (slack - earliest slack in the
instance)`` per assignment (>= 0; zero = every slot gets the most urgent item at no cost). This differs
from the matrix objective by a constant when both solutions make the same number of assignments in each
class, which the script checks; if they do not, the ratio is computed on the full matrix (INFEASIBLE for
missing assignments), which makes the difference plain. ``cost_ratio = ours / optimal`` on that score.

Last line: ``dispatch: tasks=<n> staff=<n> assign_s=<s> cost_ratio=<ours/optimal>``.
"""

from __future__ import annotations

import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy.optimize import linear_sum_assignment

from xiaobao.claims.dispatch import (
    CONTACT,
    DEFAULT_CONFIG,
    DESK_KINDS,
    INFEASIBLE,
    ONSITE_SURVEY,
    REMOTE_ASSESSMENT,
    StaffMember,
    WorkItem,
    dispatch,
    instance_matrix,
)

CITIES = {  # share of work, (lat, lon)
    "福州市": (0.22, (26.0745, 119.2965)),
    "厦门市": (0.18, (24.4798, 118.0894)),
    "泉州市": (0.22, (24.8741, 118.6757)),
    "漳州市": (0.10, (24.5130, 117.6471)),
    "莆田市": (0.10, (25.4540, 119.0077)),
    "宁德市": (0.07, (26.6657, 119.5479)),
    "三明市": (0.04, (26.2654, 117.6389)),
    "南平市": (0.04, (26.6356, 118.1784)),
    "龙岩市": (0.03, (25.0751, 117.0174)),
}
FACTORIES = ["苏州", "宿迁", "杭州", "佛山", "成都", "西安", "淄博"]
LINES = ["motor", "property", "agriculture"]
NOW = datetime(2023, 7, 28, 8, 0, tzinfo=UTC)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def near(rng: random.Random, city: str, km: float) -> tuple[float, float]:
    lat, lon = CITIES[city][1]
    return (
        lat + rng.gauss(0, km) / 111.0,
        lon + rng.gauss(0, km) / (111.0 * math.cos(math.radians(lat))),
    )


def build(
    seed: int = 6, n_items: int = 20_000, n_staff: int = 1_000
) -> tuple[list[WorkItem], list[StaffMember]]:
    rng = random.Random(seed)
    cities = list(CITIES)
    weights = [CITIES[c][0] for c in cities]
    n_survey, n_desk = round(n_staff * 0.56), round(n_staff * 0.24)
    n_factory = n_staff - n_survey - n_desk
    staff: list[StaffMember] = []
    for j in range(n_survey):
        city = rng.choices(cities, weights)[0]
        lat, lon = near(rng, city, 8)
        cap = 3
        staff.append(
            StaffMember(
                id=f"S{j}", kinds=frozenset({ONSITE_SURVEY}),
                skills=frozenset(rng.choice([["motor"], ["property"], ["motor", "property"], LINES])),
                authority_limit=rng.choices([50_000.0, 200_000.0, math.inf], [0.3, 0.55, 0.15])[0],
                regions=frozenset({city}), capacity=cap, load=rng.randint(0, cap), home_district=city,
                lat=lat, lon=lon,
            )
        )  # fmt: skip
    for j in range(n_desk):
        city = rng.choices(cities, weights)[0]
        staff.append(
            StaffMember(
                id=f"D{j}", kinds=DESK_KINDS, skills=frozenset(rng.choice([LINES, ["motor", "property"]])),
                authority_limit=rng.choice([50_000.0, 200_000.0]), regions=frozenset({city}), capacity=4,
                load=rng.randint(0, 4), home_district=city,
            )
        )  # fmt: skip
    for j in range(n_factory):
        staff.append(
            StaffMember(
                id=f"F{j}", kinds=DESK_KINDS, skills=frozenset(LINES), authority_limit=50_000.0,
                regions=frozenset(cities), capacity=4, load=rng.randint(0, 4), remote=True,
                factory=FACTORIES[j % len(FACTORIES)],
            )
        )  # fmt: skip
    items: list[WorkItem] = []
    for i in range(n_items):
        city = rng.choices(cities, weights)[0]
        kind = rng.choices([CONTACT, REMOTE_ASSESSMENT, ONSITE_SURVEY], [0.3, 0.3, 0.4])[0]
        line = rng.choices(LINES, [0.7, 0.27, 0.03])[0]
        due = rng.uniform(-20, 30) if kind == CONTACT else rng.uniform(-360, 48 * 60)
        amount = round(math.exp(rng.gauss(math.log(4000 if line == "motor" else 12000), 1.1)), 2)
        if kind == REMOTE_ASSESSMENT:
            amount = min(amount, 200_000.0)
        lat, lon = near(rng, city, 10)
        items.append(
            WorkItem(
                id=i, kind=kind, deadline=NOW + timedelta(minutes=due),
                created_at=NOW - timedelta(minutes=rng.uniform(0, 600)), skill=line, region=city, amount=amount,
                lat=lat, lon=lon, rescue=rng.random() < 0.02, special_group=rng.random() < 0.06,
            )
        )  # fmt: skip
    return items, staff


def main() -> None:
    items, staff = build()
    slots = sum(s.free_slots() for s in staff)
    log(f"instance: {len(items)} tasks, {len(staff)} staff, {slots} free slots")

    dispatch(items[:500], staff, NOW)  # warm-up (imports, first numpy/scipy calls)
    t = time.perf_counter()
    ours = dispatch(items, staff, NOW)
    assign_s = time.perf_counter() - t
    log(f"ours: {len(ours)} assignments in {assign_s:.3f} s")

    t = time.perf_counter()
    matrix, labels = instance_matrix(items, staff, NOW)
    build_s = time.perf_counter() - t
    log(
        f"full matrix {matrix.shape[0]} x {matrix.shape[1]} ({matrix.nbytes / 1e6:.0f} MB) built in {build_s:.1f} s"
    )
    t = time.perf_counter()
    rows, cols = linear_sum_assignment(matrix)
    opt_s = time.perf_counter() - t
    feasible = matrix[rows, cols] < INFEASIBLE
    rows, cols = rows[feasible], cols[feasible]
    log(f"optimum (scipy linear_sum_assignment, full matrix): {len(rows)} assignments in {opt_s:.1f} s")

    cfg = DEFAULT_CONFIG
    cap = cfg.slack_cap_hours * 60.0
    slack = np.clip(np.array([(it.deadline - NOW).total_seconds() / 60.0 for it in items]), -cap, cap)
    pclass = np.array([it.priority_class for it in items])
    base = slack.min()
    col_of = {lab: c for c, lab in enumerate(labels)}
    o_rows = np.array([a.item_id for a in ours], dtype=np.int64)  # item ids are row numbers here
    o_cols = np.array([col_of[(a.staff_id, a.slot)] for a in ours], dtype=np.int64)

    def score(r: np.ndarray, c: np.ndarray) -> float:
        # matrix entry minus the class term, with the slack term measured from the earliest slack
        return float((matrix[r, c] - cfg.class_gap * pclass[r] - cfg.w_slack * base).sum())

    def classes(r: np.ndarray) -> list[int]:
        return [int((pclass[r] == k).sum()) for k in range(3)]

    ours_cls, opt_cls = classes(o_rows), classes(rows)
    log(f"assignments per class (rescue, special, normal): ours {ours_cls}, optimum {opt_cls}")
    pure_ours = float(sum(a.cost for a in ours))
    pure_opt = float((matrix[rows, cols] - cfg.class_gap * pclass[rows] - cfg.w_slack * slack[rows]).sum())
    log(
        f"cost model only (travel, waiting, lateness, remote, seniority): ours {pure_ours:,.0f}, optimum {pure_opt:,.0f} "
        f"(ratio {pure_ours / pure_opt:.4f}); "
        f"mean slack of served tasks: ours {slack[o_rows].mean():.1f} min, optimum {slack[rows].mean():.1f} min"
    )
    if ours_cls == opt_cls:
        s_ours, s_opt = score(o_rows, o_cols), score(rows, cols)
        log(f"score (cost + slack from the earliest): ours {s_ours:,.1f}, optimum {s_opt:,.1f}")
    else:
        k = min(matrix.shape)
        s_ours = float(matrix[o_rows, o_cols].sum()) + INFEASIBLE * (k - len(o_rows))
        s_opt = float(matrix[rows, cols].sum()) + INFEASIBLE * (k - len(rows))
        log(f"class counts differ: full matrix objective ours {s_ours:,.1f}, optimum {s_opt:,.1f}")
    ratio = s_ours / s_opt if s_opt > 0 else float("nan")
    print(f"dispatch: tasks={len(items)} staff={len(staff)} assign_s={assign_s:.3f} cost_ratio={ratio:.4f}")


if __name__ == "__main__":
    main()
