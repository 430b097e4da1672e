"""Expected loss per site and the visit plan: ranking, feasibility, optimality against brute force."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.shared_data import DOKSURI_ADVISORIES, shared_file
from xiaobao.radar import demo, loss, tracks
from xiaobao.radar.plan import Candidate, PlanSettings, is_feasible, make_slots, plan_visits
from xiaobao.radar.run import run
from xiaobao.radar.sites import Site, read_sites
from xiaobao.radar.vulnerability import expected_loss, mdr_for_classes

T0 = datetime(2023, 7, 27, 0, 0, tzinfo=UTC)  # 08:00 Asia/Shanghai


def _doksuri() -> tracks.Track:
    return tracks.interpolate_hourly(tracks.read_advisories_csv(shared_file(DOKSURI_ADVISORIES)))


def _site(lat: float, lon: float, **kw: object) -> Site:
    base: dict[str, object] = {"row": 2, "name": "x", "address": "", "lat": lat, "lon": lon}
    base.setdefault("sums_insured", {"building": 1e7, "stock": 3e6})
    base.update(kw)
    return Site(**base)  # type: ignore[arg-type]


def test_loss_per_site_matches_core_functions() -> None:
    tr = _doksuri()
    sites = [
        _site(24.78, 118.55, construction="light_steel", deductible=50_000.0),  # Jinjiang, landfall
        _site(24.78, 118.55, construction="reinforced_concrete", limit=100_000.0),
        _site(30.0, 110.0),  # far inland: no wind
    ]
    res = loss.assess(tr, sites, reference_time=T0)
    assert res.max_wind[0] > 30 and res.max_wind[2] == 0
    ratio = mdr_for_classes(res.max_wind, ["light_steel", "reinforced_concrete", ""])
    np.testing.assert_allclose(res.mdr, ratio)
    np.testing.assert_allclose(res.expected_loss[0], expected_loss(1.3e7, ratio[0], 50_000.0))
    assert res.expected_loss[1] == pytest.approx(100_000.0)  # capped by the limit
    total = res.loss_by_coverage["building"] + res.loss_by_coverage["stock"]
    np.testing.assert_allclose(total, res.expected_loss)
    assert res.loss_by_coverage["building"][0] == pytest.approx(res.expected_loss[0] * 10 / 13)
    expected_h = (res.gale_arrival[0] - np.datetime64("2023-07-27T00:00:00")) / np.timedelta64(1, "h")
    assert res.hours_until_gale[0] == pytest.approx(expected_h) and 0 < expected_h < 30
    assert np.isnan(res.hours_until_gale[2]) and np.isnat(res.gale_arrival[2])


def test_slots_respect_the_working_window() -> None:
    cfg = PlanSettings(inspectors=2, visits_per_day=4)
    slots = make_slots(T0 + timedelta(hours=1), T0 + timedelta(days=1, hours=4), 2, cfg)
    # day 1 from 09:00 local: slots 10:30, 13:00, 15:30 start (08:00 one already started) → 3 x 2; day 2 none end by 12:00
    assert len(slots) == 6 + 2
    assert all(s.end - s.start == timedelta(hours=2, minutes=30) for s in slots)
    assert all(s.start >= T0 + timedelta(hours=1) for s in slots)


def _brute_best(cands: list[Candidate], start: datetime, cfg: PlanSettings) -> float:
    """Best total expected loss over every subset that can all be visited in time (sites with a gale)."""
    best = 0.0
    gale = [c for c in cands if c.gale_arrival is not None]
    for n in range(len(gale) + 1):
        for subset in itertools.combinations(gale, n):
            ok = True
            for b in {c.branch for c in subset}:
                due = sorted(
                    c.gale_arrival - cfg.safety_margin for c in subset if c.branch == b and c.gale_arrival
                )
                ends = [s.end for s in make_slots(start, due[-1], cfg.inspectors_for(b), cfg)]
                # Hall's condition for nested slot sets: the k-th deadline needs k slots ending by it
                if any(sum(e <= d for e in ends) < k + 1 for k, d in enumerate(due)):
                    ok = False
                    break
            if ok:
                best = max(best, sum(c.expected_loss for c in subset))
    return best


def test_greedy_is_feasible_and_optimal_on_tiny_instances() -> None:
    rng = random.Random(7)
    cfg = PlanSettings(inspectors={"A": 1, "B": 2}, visits_per_day=3, safety_margin=timedelta(hours=1))
    for _ in range(40):
        cands = [
            Candidate(
                key=i,
                branch=rng.choice("AB"),
                expected_loss=float(rng.randint(1, 100)),
                gale_arrival=None if rng.random() < 0.1 else T0 + timedelta(hours=rng.randint(0, 40)),
            )
            for i in range(rng.randint(1, 7))
        ]
        out = plan_visits(cands, T0, cfg)
        assert sorted(a.key for a in out) == sorted(c.key for c in cands)
        assert [a.rank for a in out] == list(range(1, len(cands) + 1))
        assert is_feasible(out, cands, cfg)
        got = sum(cands[a.key].expected_loss for a in out if a.status == "planned")
        assert got == pytest.approx(_brute_best(cands, T0, cfg))
        for a in out:
            if a.status == "unreachable":
                assert a.reason


def test_ranking_and_reasons() -> None:
    cfg = PlanSettings(inspectors=1, visits_per_day=2, safety_margin=timedelta(hours=0))
    cands = [
        Candidate(0, "A", 10.0, T0 + timedelta(hours=5)),  # 08:00-13:00 slot ends 13:00 = due
        Candidate(1, "A", 20.0, T0 + timedelta(hours=5)),
        Candidate(2, "A", 20.0, T0 + timedelta(hours=3)),  # too early for any slot
        Candidate(3, "A", 5.0, None),
    ]
    out = plan_visits(cands, T0, cfg)
    assert [a.key for a in out] == [2, 1, 0, 3]  # loss desc, then hours until gale
    status = {a.key: a for a in out}
    assert status[1].status == "planned" and status[1].slot is not None
    assert status[2].status == "unreachable" and "before any visit" in status[2].reason
    assert status[0].status == "unreachable" and "taken" in status[0].reason
    assert status[3].status == "not_needed"


def test_doksuri_demo_portfolio_plan(tmp_path: Path) -> None:
    tr = _doksuri()
    imp = read_sites(demo.write_sites_csv(tmp_path / "d.csv", n=3000))
    cfg = PlanSettings(inspectors=3, visits_per_day=4)
    result = run(tr, imp.sites, reference=datetime(2023, 7, 26, 0, 0, tzinfo=UTC), settings=cfg)
    cands = [
        Candidate(
            i,
            s.branch,
            float(result.loss.expected_loss[i]),
            None
            if np.isnat(result.loss.gale_arrival[i])
            else result.loss.gale_arrival[i].astype(datetime).replace(tzinfo=UTC),
        )
        for i, s in enumerate(imp.sites)
    ]
    assert is_feasible(result.assignments, cands, cfg)
    planned = [a for a in result.assignments if a.status == "planned"]
    # 2 working days before landfall x 4 visits x 3 inspectors, per branch with gale sites
    assert 0 < len(planned) <= 2 * 4 * 3 * 6
    quanzhou = [imp.sites[a.key] for a in planned if imp.sites[a.key].branch == "泉州分公司"]
    assert quanzhou, "the landfall branch gets visits"
    losses = result.loss.expected_loss
    assert losses.sum() > 0 and losses[result.assignments[0].key] == losses.max()
