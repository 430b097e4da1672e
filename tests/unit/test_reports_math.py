"""Pure parts of the statistics: periods, Shanghai day bounds, rates, line roll-up, org buckets."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from xiaobao.complaints import reports
from xiaobao.complaints.reports import OrgNode, Scope
from xiaobao.complaints.taxonomy import load_taxonomy


def test_period_bounds_are_shanghai_midnights_in_utc() -> None:
    lo, hi = reports.period_bounds(date(2026, 3, 2), date(2026, 3, 2))
    assert lo == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert hi == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 3, 5), (date(2025, 10, 1), date(2025, 12, 31))),
        (date(2026, 4, 1), (date(2026, 1, 1), date(2026, 3, 31))),
        (date(2026, 6, 30), (date(2026, 1, 1), date(2026, 3, 31))),
        (date(2026, 7, 1), (date(2026, 4, 1), date(2026, 6, 30))),
        (date(2026, 12, 31), (date(2026, 7, 1), date(2026, 9, 30))),
    ],
)
def test_last_full_quarter(today: date, expected: tuple[date, date]) -> None:
    assert reports.last_full_quarter(today) == expected


def test_recent_quarters_newest_first() -> None:
    qs = reports.recent_quarters(date(2026, 2, 14), 3)
    assert qs == [
        ("2026Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("2025Q4", date(2025, 10, 1), date(2025, 12, 31)),
        ("2025Q3", date(2025, 7, 1), date(2025, 9, 30)),
    ]
    with pytest.raises(ValueError):
        reports.quarter_range(2026, 5)


def test_rates() -> None:
    assert reports.rate(1, 2) == 0.5
    assert reports.rate(0, 0) is None
    assert reports.per_10k(3, 30_000) == 1.0
    assert reports.per_10k(3, None) is None
    assert reports.per_10k(3, 0) is None  # no policies loaded is not "zero complaints per policy"
    assert reports.per_10k(0, 10_000) == 0.0


def test_report_line_splits_motor_only() -> None:
    tax = load_taxonomy()
    assert reports.report_line(tax, "motor.ctpl") == "motor.ctpl"
    assert reports.report_line(tax, "motor.commercial") == "motor.commercial"
    assert reports.report_line(tax, "property.household") == "property"
    assert reports.report_line(tax, "health") == "health"
    assert reports.report_line(tax, "retired.code") == "retired.code"
    order = reports.line_order(tax)
    assert order[:3] == ["motor.ctpl", "motor.commercial", "property"] and "motor" not in order
    assert reports.root_code(tax, "causes", "claims.slow") == "claims"


def _orgs() -> dict[int, OrgNode]:
    rows = [
        (1, "HQ", "总公司", "hq", "/1/", None),
        (2, "HQ-CP", "总公司消保部", "department", "/1/2/", 1),
        (3, "FJ", "福建分公司", "branch", "/1/3/", 1),
        (4, "FJ-CP", "福建消保部", "department", "/1/3/4/", 3),
        (5, "QZ", "泉州中心支公司", "subbranch", "/1/3/5/", 3),
        (6, "SH", "上海分公司", "branch", "/1/6/", 1),
    ]
    return {i: OrgNode(i, code, zh, code, kind, path, parent) for i, code, zh, kind, path, parent in rows}


def test_scope_buckets_roll_up_to_the_level_below_the_root() -> None:
    orgs = _orgs()
    hq = Scope(orgs[1], "/1/", orgs)
    assert hq.bucket(5) is not None and hq.bucket(5).code == "FJ"  # type: ignore[union-attr]
    assert hq.bucket(6).code == "SH"  # type: ignore[union-attr]
    own = hq.bucket(2)  # an HQ department counts as HQ's own
    assert own is not None and own.own and own.label("zh") == "总公司本级" and own.label("en") == "HQ (own)"
    fj = Scope(orgs[3], "/1/3/", orgs)
    assert fj.bucket(5).code == "QZ"  # type: ignore[union-attr]
    assert fj.bucket(4).own  # type: ignore[union-attr]
    assert fj.bucket(6) is None  # outside the scope
    assert fj.bucket(99) is None
