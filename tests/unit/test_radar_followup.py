"""After-event comparison (pure): totals, groups and the loss-avoided estimate on hand-checkable numbers."""

from __future__ import annotations

import pytest

from xiaobao.radar.followup import SiteOutcome, compare, loss_avoided, wind_band


def o(i: int, wind: float, modelled: float, actual: float, visited: bool, industry: str = "鞋业",
      construction: str = "light_steel", branch: str = "泉州") -> SiteOutcome:  # fmt: skip
    return SiteOutcome(i, branch, industry, construction, wind, modelled, actual, visited, 1 if actual else 0)


def test_wind_bands() -> None:
    assert [wind_band(v) for v in (0, 17.1, 17.2, 24.4, 24.5, 32.6, 32.7, 60)] == [
        "below_gale", "below_gale", "gale", "gale", "storm", "storm", "typhoon", "typhoon"
    ]  # fmt: skip


def test_totals_and_groups() -> None:
    rows = [o(1, 40, 100, 50, True), o(2, 40, 200, 180, False, branch="厦门"), o(3, 20, 0, 30, False)]
    cmp = compare(rows)
    assert (cmp.total.sites, cmp.total.with_claims) == (3, 3)
    assert (cmp.total.modelled, cmp.total.actual, cmp.total.difference) == (300, 260, -40)
    assert [(t.key, t.modelled, t.actual) for t in cmp.by_branch] == [("厦门", 200, 180), ("泉州", 100, 80)]
    assert {t.key for t in cmp.by_band} == {"typhoon", "gale"}


def test_loss_avoided_by_hand() -> None:
    rows = [
        # stratum A (typhoon, 鞋业, light steel): visited ratio 0.5, unvisited (300+100)/(400+100) = 0.8
        o(1, 40, 1000, 500, True),
        o(2, 40, 400, 300, False),
        o(3, 40, 100, 100, False),
        o(4, 40, 500, 400, False),  # unvisited A: (300+100+400)/(400+100+500) = 0.8
        # stratum B (storm, 食品加工): one visited, only two unvisited → too small, left out
        o(5, 30, 2000, 0, True, industry="食品加工"),
        o(6, 30, 100, 100, False, industry="食品加工"),
        o(7, 30, 100, 100, False, industry="食品加工"),
        # no modelled loss: no ratio, not in any stratum
        o(8, 15, 0, 50, True),
    ]
    a = loss_avoided(rows, min_unvisited=3)
    assert a.estimate == pytest.approx((0.8 - 0.5) * 1000)
    assert a.coverage == pytest.approx(1000 / 3000)
    assert (a.visited_sites, a.visited_in_usable) == (3, 1)
    usable = [s for s in a.strata if s.usable]
    assert len(usable) == 1 and (usable[0].n_visited, usable[0].n_unvisited) == (1, 3)
    assert not next(s for s in a.strata if s.industry == "食品加工").usable
    # a lower minimum brings stratum B in: r_U = 1.0, r_V = 0 → 2000 avoided there
    b = loss_avoided(rows, min_unvisited=2)
    assert b.estimate == pytest.approx(300 + 2000) and b.coverage == pytest.approx(1.0)


def test_no_visits_no_estimate() -> None:
    a = loss_avoided([o(1, 40, 100, 50, False), o(2, 40, 100, 50, False)])
    assert a.estimate == 0 and a.coverage == 0 and a.strata == []
