"""The command page's pure aggregation: counts and SLA, the NFRA one-week and motor yardsticks, queues per
factory and region, staff utilisation, arrival/service rates and the backlog projection, map features."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from xiaobao.claims.command import (
    CaseRow,
    StaffRow,
    counts,
    map_features,
    month_end,
    motor_closure,
    one_week_ratio,
    project_backlog,
    queues,
    rates,
    utilisation,
)
from xiaobao.core.calendar import CN_TZ

NOW = datetime(2023, 7, 30, 12, 0, tzinfo=CN_TZ)
START = datetime(2023, 7, 28, 0, 0, tzinfo=CN_TZ)


def row(i: int, status: str = "reported", hours_ago: float = 1.0, **kw: object) -> CaseRow:
    reported = NOW - timedelta(hours=hours_ago)
    base: dict[str, object] = {
        "id": i,
        "report_no": f"BA{i:04d}",
        "status": status,
        "line": "motor",
        "district": "350502",
        "lat": None,
        "lon": None,
        "reported_at": reported,
        "contact_due": reported + timedelta(minutes=30),
    }
    base.update(kw)
    return CaseRow(**base)  # type: ignore[arg-type]


def test_counts_sla_and_stages() -> None:
    r0 = NOW - timedelta(hours=5)
    rows = [
        row(1, "reported", hours_ago=2),  # overdue: due 1.5 h ago
        row(2, "reported", hours_ago=0.1),  # not yet due
        row(
            3,
            "contacted",
            contacted_at=r0 + timedelta(minutes=10),
            reported_at=r0,
            contact_due=r0 + timedelta(minutes=30),
        ),
        row(
            4,
            "surveyed",
            contacted_at=r0 + timedelta(hours=1),
            surveyed_at=r0 + timedelta(hours=3),
            reported_at=r0,
            contact_due=r0 + timedelta(minutes=30),
        ),
        row(5, "assessed", assessed_at=NOW, contacted_at=NOW - timedelta(hours=1), contact_due=NOW),
        row(6, "paid", paid_at=NOW, assessed_at=NOW, contacted_at=NOW - timedelta(hours=2), contact_due=NOW),
        row(
            7,
            "closed",
            paid_at=NOW,
            assessed_at=NOW,
            done_at=NOW,
            contacted_at=NOW - timedelta(hours=2),
            contact_due=NOW,
        ),
        row(8, "cancelled", done_at=NOW),
    ]
    c = counts(rows, NOW)
    assert c["reported"] == 8
    assert c["contacted"] == 5 and c["contacted_in_sla"] == 4  # case 4 was reached after its 30 minutes
    assert c["contact_sla_rate"] == pytest.approx(4 / 8)
    assert c["awaiting_contact"] == 2 and c["contact_overdue"] == 1
    assert c["surveyed"] == 4  # surveyed, or assessed on the fast track without a survey
    assert c["assessed"] == 3 and c["paid"] == 2 and c["closed"] == 1
    assert c["open"] == 6
    assert c["by_status"]["reported"] == 2 and c["by_status"]["cancelled"] == 1
    assert counts([], NOW)["contact_sla_rate"] == 0.0


def test_one_week_ratio_counts_money_inside_the_week_only() -> None:
    rows = [
        row(1, estimate=Decimal("10000"), reported_at=START + timedelta(days=1)),
        row(2, estimate=Decimal("10000"), reported_at=START + timedelta(days=2)),
        row(
            3, estimate=Decimal("80000"), reported_at=START + timedelta(days=9)
        ),  # after the week: not counted
    ]
    money = [
        (START + timedelta(days=3), "prepay", Decimal("2000")),
        (START + timedelta(days=6), "pay", Decimal("5000")),
        (START + timedelta(days=8), "pay", Decimal("9000")),  # after the week
    ]
    later = START + timedelta(days=10)
    w = one_week_ratio(rows, money, START, later)
    assert w["ratio"] == pytest.approx(7000 / 20000)
    assert w["final"] and w["met"] and w["paid"] == 5000 and w["prepaid"] == 2000
    # during the week: the running value against what has been reported so far
    mid = START + timedelta(days=4)
    w = one_week_ratio(rows, money, START, mid)
    assert w["ratio"] == pytest.approx(2000 / 20000) and not w["final"] and not w["met"]
    assert one_week_ratio([], [], START, mid)["ratio"] == 0.0


def test_motor_closure_by_month_end() -> None:
    rows = [row(i, "closed") for i in range(9)] + [row(9, "paid"), row(10, "closed", line="property")]
    m = motor_closure(rows, START, NOW)
    assert m["total"] == 10 and m["closed"] == 9 and m["rate"] == pytest.approx(0.9) and m["met"]
    assert m["deadline"] == datetime(2023, 8, 1, tzinfo=CN_TZ).isoformat()
    assert m["days_left"] == pytest.approx(1.5)
    assert not motor_closure([row(1, "paid")], START, NOW)["met"]
    assert month_end(datetime(2023, 12, 31, 23, 0, tzinfo=CN_TZ)) == datetime(2024, 1, 1, tzinfo=CN_TZ)
    # 2023-07-31 20:00 UTC is already 1 August in Beijing
    assert month_end(datetime(2023, 7, 31, 20, 0, tzinfo=UTC)) == datetime(2023, 9, 1, tzinfo=CN_TZ)


def test_queues_per_factory_and_region_with_ages() -> None:
    rows = [
        row(1, hours_ago=10, assigned_user_id=100, district="350502"),
        row(2, "contacted", hours_ago=2, assigned_user_id=100, district="350503"),
        row(3, hours_ago=4, assigned_user_id=None, district="350203"),
        row(4, "info_collected", hours_ago=6, assigned_user_id=200, district=None),
        row(5, "closed", hours_ago=30, assigned_user_id=100, done_at=NOW),  # closed: not in any queue
    ]
    q = queues(rows, {100: "FS", 200: None}, NOW)
    fac = {r["key"]: r for r in q["factory"]}
    assert set(fac) == {"FS", "", "local"}
    assert fac["FS"]["depth"] == 2 and fac["FS"]["oldest_h"] == pytest.approx(10)
    assert fac["FS"]["mean_h"] == pytest.approx(6) and fac["FS"]["awaiting_contact"] == 1
    assert fac[""]["depth"] == 1 and fac[""]["unassigned"] == 1
    assert fac["local"]["depth"] == 1
    assert q["factory"][0]["key"] == "FS"  # deepest first
    reg = {r["key"]: r for r in q["region"]}
    assert reg["3505"]["depth"] == 2 and reg["3502"]["depth"] == 1 and reg[""]["depth"] == 1
    assert reg["3505"]["unassigned"] == 0 and reg["3502"]["unassigned"] == 1


def test_utilisation_counts_only_online_capacity() -> None:
    staff = [
        StaffRow(1, "a", "A", "FS", "车险一组", "operator", True, 20, 15),
        StaffRow(2, "b", "B", "FS", "车险一组", "operator", True, 20, 0),
        StaffRow(3, "c", "C", "FS", "车险一组", "operator", False, 20, 5),
        StaffRow(4, "d", "D", None, None, "surveyor", True, 10, 10),
    ]
    u = {(x["factory"], x["team"]): x for x in utilisation(staff)}
    fs = u[("FS", "车险一组")]
    assert fs["staff"] == 3 and fs["online"] == 2 and fs["busy"] == 1
    assert fs["load"] == 15 and fs["capacity"] == 40 and fs["utilisation"] == pytest.approx(0.375)
    assert u[("", "")]["utilisation"] == pytest.approx(1.0)
    assert utilisation([]) == []
    assert utilisation(staff)[-1]["factory"] == ""  # staff outside factories last


def test_rates_over_the_window_and_young_events() -> None:
    rows = [row(i, hours_ago=h) for i, h in enumerate([0.5, 1, 2, 3, 5, 7, 20])]
    rows.append(
        row(
            99,
            "closed",
            hours_ago=20,
            done_at=NOW - timedelta(hours=1),
            contacted_at=NOW - timedelta(hours=3),
        )
    )
    r = rates(rows, NOW, window_hours=6)
    assert r["window_h"] == 6
    assert r["arrival"] == pytest.approx(5 / 6)
    assert r["service"] == pytest.approx(1 / 6) and r["contact"] == pytest.approx(1 / 6)
    # an event two hours old: the window is the two hours
    young = [row(i, hours_ago=h) for i, h in enumerate([0.5, 1.5, 2.0])]
    assert rates(young, NOW, 6)["window_h"] == pytest.approx(2.0)
    assert rates(young, NOW, 6)["arrival"] == pytest.approx(3 / 2)
    # a burst in the first minutes is read over at least one hour
    burst = [row(i, hours_ago=0.05) for i in range(30)]
    assert rates(burst, NOW, 6)["arrival"] == pytest.approx(30.0)


def test_backlog_projection() -> None:
    p = project_backlog(100, arrival=10, service=30, horizon_h=24)
    assert p["hours_to_clear"] == pytest.approx(5.0) and p["within_horizon"]
    assert p["points"][0] == [0, 100] and p["points"][2] == [2, 60] and p["points"][5] == [5, 0]
    assert p["points"][-1] == [24, 0.0]
    grow = project_backlog(100, arrival=30, service=10, horizon_h=48)
    assert grow["hours_to_clear"] is None and not grow["within_horizon"]
    assert grow["points"][-1] == [48, 100 + 20 * 48]
    flat = project_backlog(100, arrival=10, service=10)
    assert flat["hours_to_clear"] is None and flat["points"][-1][1] == 100
    assert project_backlog(0, arrival=5, service=5)["hours_to_clear"] == 0.0
    assert project_backlog(0, arrival=6, service=5)["hours_to_clear"] is None
    slow = project_backlog(1000, arrival=0, service=10, horizon_h=48)
    assert slow["hours_to_clear"] == pytest.approx(100) and not slow["within_horizon"]
    assert len(project_backlog(10, 1, 2, horizon_h=48, step_h=6)["points"]) == 9
    with pytest.raises(ValueError):
        project_backlog(-1, 1, 1)


def test_map_features_placement_order_and_rescues() -> None:
    seats = {"350502": (24.9, 118.6)}
    rows = [
        row(1, "closed", lat=24.8, lon=118.5, done_at=NOW),
        row(2, "reported", district="350502", priority=5, rescue=True),
        row(3, "reported", district="999999"),  # neither coordinates nor a known seat
        row(4, "contacted", lat=25.0, lon=118.7, priority=1),
    ]
    m = map_features(
        rows, [(2, "tow", "en_route", "安达拖车", NOW), (3, "pump", "requested", "x", NOW)], seats
    )
    feats = m["cases"]["features"]
    assert [f["properties"]["id"] for f in feats] == [2, 4, 1]  # open by priority, closed last
    assert feats[0]["geometry"]["coordinates"] == [118.6, 24.9] and feats[0]["properties"]["approx"]
    assert feats[1]["geometry"]["coordinates"] == [118.7, 25.0] and not feats[1]["properties"]["approx"]
    assert "reporter" not in str(feats)  # no personal data on the map
    assert m["unplaced"] == 1 and m["truncated"] == 0
    resc = m["rescues"]["features"]
    assert len(resc) == 1 and resc[0]["properties"]["active"] and resc[0]["properties"]["no"] == "BA0002"
    assert map_features(rows, [], seats, limit=1)["truncated"] == 2
