"""Dashboard and regulator statistics on SQLite and PostgreSQL: exact figures over a small data set
built through the services, Shanghai-day bucketing, scope, 万张保单投诉量, the .xlsx export, the CLI
and access control."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.factories import World, complaint_payload, login
from xiaobao.bootstrap import Container
from xiaobao.complaints import reports, services
from xiaobao.complaints.domain import Action
from xiaobao.complaints.schemas import ActionRequest, ComplaintCreate
from xiaobao.complaints.tables import PolicyCount
from xiaobao.core.audit import AuditLog
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.clock import FakeClock
from xiaobao.core.errors import ValidationFailed

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=CN_TZ)
Q1 = (date(2026, 1, 1), date(2026, 3, 31))
Q4 = (date(2025, 10, 1), date(2025, 12, 31))
PII = ("林秀英", "13905951234", "350521195803150021", "139****1234")


def cn(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CN_TZ)


@dataclass
class Data:
    ids: dict[str, int]


def _create(container: Container, world: World, name: str, *, received: datetime, **over: Any) -> int:
    ctx = services.IntakeContext(now=NOW, calendar=container.calendar)
    payload = complaint_payload(received_at=received, **over)
    with container.uow() as uow:
        c = services.create_complaint(uow.session, world.p("hq_officer"), ComplaintCreate(**payload), ctx)
        uow.commit()
        return c.id


def _act(container: Container, who: Any, cid: int, action: Action, at: datetime, **kw: Any) -> None:
    with container.uow() as uow:
        c = services.access_complaint(uow.session, who, cid)
        services.act(uow, who, cid, action, ActionRequest(version=c.version, **kw), at)


def _decide(container: Container, world: World, cid: int, handler: str, at: datetime) -> None:
    officer = world.p("hq_officer")
    h = world.p(handler)
    _act(container, officer, cid, Action.ACCEPT, at.replace(hour=8), handler_id=h.user_id)
    _act(container, h, cid, Action.START, at.replace(hour=9))
    _act(
        container,
        h,
        cid,
        Action.DECIDE,
        at,
        outcome="partial",
        decision="经核实，已按合同约定重新核定赔款并向投诉人书面说明。",
    )


@pytest.fixture
def data(container: Container, world: World, clock: FakeClock) -> Data:
    """c1..c5 in 2026 Q1 across QZ, XM and SH; c6 in 2025 Q4. The clock stands at 2026-03-05 10:00."""
    clock.set(NOW)
    plain = {"id_number": None}
    ids = {
        # QZ, elderly (ID number), just before Shanghai midnight; decided on time
        "c1": _create(
            container,
            world,
            "c1",
            received=cn(2026, 3, 2, 23, 30),
            org_code="QZ",
            business_line="motor.commercial",
            cause="claims.amount",
        ),
        # QZ, 00:30 Shanghai = the previous day in UTC; regulator-forwarded, disabled, still open
        "c2": _create(
            container,
            world,
            "c2",
            received=cn(2026, 3, 3, 0, 30),
            org_code="QZ",
            business_line="motor.ctpl",
            cause="claims.slow",
            channel="regulator",
            regulator_ref="12378-2026-0001",
            special_groups=["disabled"],
            **plain,
        ),
        # XM, new resident, decided late (due end of 02-25)
        "c3": _create(
            container,
            world,
            "c3",
            received=cn(2026, 2, 10, 9),
            org_code="XM",
            business_line="health",
            cause="sales.misleading",
            channel="web",
            special_groups=["new_resident"],
            **plain,
        ),
        # SH, handling, contacted, due end of 03-07: due soon
        "c4": _create(
            container,
            world,
            "c4",
            received=cn(2026, 2, 20, 14),
            org_code="SH",
            business_line="property.household",
            cause="service.attitude",
            **plain,
        ),
        # SH, regulator-forwarded, never touched: overdue and contact overdue
        "c5": _create(
            container,
            world,
            "c5",
            received=cn(2026, 1, 10),
            org_code="SH",
            business_line="motor.commercial",
            cause="claims.denial",
            channel="regulator",
            **plain,
        ),
        # QZ, last quarter, decided on time: outside the 90-day window
        "c6": _create(
            container,
            world,
            "c6",
            received=cn(2025, 11, 20),
            org_code="QZ",
            business_line="property.enterprise",
            cause="claims.amount",
            **plain,
        ),
    }
    _decide(container, world, ids["c1"], "qz_handler", cn(2026, 3, 4, 10))
    _decide(container, world, ids["c3"], "xm_handler", cn(2026, 2, 27, 10))
    _decide(container, world, ids["c6"], "qz_handler", cn(2025, 11, 28, 10))
    officer, sh = world.p("hq_officer"), world.p("sh_handler")
    _act(container, officer, ids["c4"], Action.ACCEPT, cn(2026, 2, 21), handler_id=sh.user_id)
    _act(container, sh, ids["c4"], Action.START, cn(2026, 2, 21, 11))
    with container.uow() as uow:
        services.record_contact(uow, sh, ids["c4"], "phone", "reached", "已联系", cn(2026, 2, 21, 11))
    return Data(ids)


def _session(container: Container) -> Any:
    return container.session_factory()


def _dash(container: Container, world: World, user: str, **kw: Any) -> reports.Dashboard:
    s = _session(container)
    try:
        return reports.dashboard(s, world.p(user), NOW, **kw)
    finally:
        s.close()


def _report(
    container: Container, world: World, user: str, period: tuple[date, date] = Q1, **kw: Any
) -> reports.RegulatorReport:
    s = _session(container)
    try:
        return reports.regulator_report(s, world.p(user), *period, now=NOW, **kw)
    finally:
        s.close()


def bars(items: list[reports.Bar]) -> dict[str, int]:
    return {b.code: b.count for b in items}


# ---------------------------------------------------------------- dashboard


def test_dashboard_numbers_for_head_office(container: Container, world: World, data: Data) -> None:
    d = _dash(container, world, "hq_officer")
    assert (d.start, d.end) == (date(2025, 12, 6), date(2026, 3, 5))
    assert d.institution == "总公司"
    assert bars(d.open_by_status) == {"received": 2, "handling": 1}
    assert (d.open_total, d.overdue, d.due_soon, d.contact_overdue) == (3, 1, 1, 2)
    assert d.received == 5  # c6 is before the window
    assert bars(d.by_status) == {"received": 2, "handling": 1, "decided": 2}
    assert [(b.code, b.count) for b in d.by_branch] == [("FJ", 3), ("SH", 2)]
    assert [b.label for b in d.by_branch] == ["福建分公司", "上海分公司"]
    assert bars(d.by_cause) == {"claims": 3, "sales": 1, "service": 1}
    assert {b.code: b.label for b in d.by_cause}["claims"] == "理赔纠纷"
    assert bars(d.by_line) == {"motor": 3, "health": 1, "property": 1}
    assert bars(d.special_groups) == {"elderly": 1, "minor": 0, "new_resident": 1, "disabled": 1}
    assert (d.decided, d.decided_on_time, d.on_time_rate) == (2, 1, 0.5)


def test_trend_buckets_by_shanghai_day(container: Container, world: World, data: Data) -> None:
    d = _dash(container, world, "hq_officer")
    assert len(d.trend) == 90 and d.trend[0]["day"] == "2025-12-06" and d.trend[-1]["day"] == "2026-03-05"
    days = {t["day"]: (t["received"], t["decided"]) for t in d.trend if t["received"] or t["decided"]}
    assert days == {
        "2026-01-10": (1, 0),
        "2026-02-10": (1, 0),
        "2026-02-20": (1, 0),
        "2026-02-27": (0, 1),
        "2026-03-02": (1, 0),  # 23:30 Shanghai
        "2026-03-03": (1, 0),  # 00:30 Shanghai, still 03-02 in UTC
        "2026-03-04": (0, 1),
    }
    assert sum(t["received"] for t in d.trend) == d.received


def test_dashboard_scope_branch_manager_sees_fujian_only(
    container: Container, world: World, data: Data
) -> None:
    d = _dash(container, world, "fj_manager")
    assert d.institution == "福建分公司"
    assert [(b.code, b.count) for b in d.by_branch] == [("QZ", 2), ("XM", 1)]
    assert (d.open_total, d.overdue, d.due_soon, d.contact_overdue) == (1, 0, 0, 1)
    assert bars(d.by_line) == {"motor": 2, "health": 1}
    assert "property" not in bars(d.by_line) and "SH" not in bars(d.by_branch)
    assert (d.decided, d.decided_on_time) == (2, 1)


def test_dashboard_scope_shanghai_officer_sees_no_fujian(
    container: Container, world: World, data: Data
) -> None:
    d = _dash(container, world, "sh_officer")
    assert [(b.code, b.label, b.count) for b in d.by_branch] == [("SH", "上海分公司本级", 2)]
    assert (d.open_total, d.overdue, d.due_soon, d.contact_overdue) == (2, 1, 1, 1)
    assert (d.decided, d.on_time_rate) == (0, None)
    assert bars(d.special_groups) == {"elderly": 0, "minor": 0, "new_resident": 0, "disabled": 0}


def test_dashboard_org_filter_inside_scope_only(container: Container, world: World, data: Data) -> None:
    d = _dash(container, world, "hq_officer", org_code="QZ", days=30)
    assert d.institution == "泉州中心支公司" and d.received == 2
    assert [(b.code, b.label) for b in d.by_branch] == [("QZ", "泉州中心支公司本级")]
    for user, org in (
        ("fj_manager", "SH"),
        ("sh_officer", "QZ"),
        ("hq_officer", "NOPE"),
        ("hq_officer", "HQ-CP"),
    ):
        with pytest.raises(ValidationFailed) as e:
            _dash(container, world, user, org_code=org)
        assert e.value.problems[0].field == "org"


def test_dashboard_english_labels(container: Container, world: World, data: Data) -> None:
    d = _dash(container, world, "hq_officer", lang="en")
    assert [b.label for b in d.by_branch] == ["Fujian branch", "Shanghai branch"]
    assert {b.label for b in d.by_status} == {"Received", "Handling", "Decided"}
    assert "Claims dispute" in [b.label for b in d.by_cause]


# ---------------------------------------------------------------- regulator report


def test_regulator_report_rows_and_totals(container: Container, world: World, data: Data) -> None:
    r = _report(container, world, "hq_officer")
    got = [
        (
            x.line,
            x.cause,
            x.branch,
            x.counts.received,
            x.counts.decided,
            x.counts.on_time,
            x.counts.regulator,
            {k: v for k, v in x.counts.groups.items() if v},
        )
        for x in r.rows
    ]
    assert got == [
        ("motor.ctpl", "claims", "FJ", 1, 0, 0, 1, {"disabled": 1}),
        ("motor.commercial", "claims", "FJ", 1, 1, 1, 0, {"elderly": 1}),
        ("motor.commercial", "claims", "SH", 1, 0, 0, 1, {}),
        ("property", "service", "SH", 1, 0, 0, 0, {}),
        ("health", "sales", "FJ", 1, 1, 0, 0, {"new_resident": 1}),
    ]
    assert [x.line_label for x in r.rows[:2]] == ["交强险", "商业险"]
    t = r.totals
    assert (t.received, t.decided, t.on_time, t.on_time_rate, t.regulator) == (5, 2, 1, 0.5, 2)
    assert t.groups == {"elderly": 1, "minor": 0, "new_resident": 1, "disabled": 1}
    assert [(b.code, b.counts.received, b.counts.decided) for b in r.by_branch] == [
        ("FJ", 3, 2),
        ("SH", 2, 0),
    ]
    assert [(b.code, b.counts.received) for b in r.by_cause] == [("sales", 1), ("claims", 3), ("service", 1)]
    assert [(b.code, b.counts.received) for b in r.by_line] == [
        ("motor.ctpl", 1),
        ("motor.commercial", 2),
        ("property", 1),
        ("health", 1),
    ]


def test_regulator_report_period_and_scope(container: Container, world: World, data: Data) -> None:
    q4 = _report(container, world, "hq_officer", Q4)
    assert [(x.line, x.cause, x.branch, x.counts.received, x.counts.on_time) for x in q4.rows] == [
        ("property", "claims", "FJ", 1, 1)
    ]
    # a period ending on 03-02 includes the 23:30 complaint but not the one at 00:30 on 03-03
    r = _report(container, world, "hq_officer", (date(2026, 3, 2), date(2026, 3, 2)))
    assert r.totals.received == 1 and r.rows[0].line == "motor.commercial"
    fj = _report(container, world, "fj_manager")
    assert {x.branch for x in fj.rows} == {"QZ", "XM"}
    assert fj.totals.received == 3 and fj.institution == "福建分公司"
    sh = _report(container, world, "sh_officer")
    assert {x.branch for x in sh.rows} == {"SH"} and sh.totals.received == 2
    with pytest.raises(ValidationFailed) as e:
        _report(container, world, "hq_officer", (date(2026, 3, 2), date(2026, 3, 1)))
    assert e.value.problems[0].field == "end"


def test_merged_repeat_is_not_counted_again(container: Container, world: World, data: Data) -> None:
    c7 = _create(
        container,
        world,
        "c7",
        received=cn(2026, 3, 4, 9),
        org_code="QZ",
        business_line="motor.ctpl",
        cause="claims.slow",
        id_number=None,
    )
    _act(
        container,
        world.p("hq_officer"),
        c7,
        Action.MERGE,
        cn(2026, 3, 4, 11),
        target_id=data.ids["c2"],
        reason="同一投诉人就同一事项重复投诉",
    )
    d = _dash(container, world, "hq_officer")
    assert d.received == 5 and bars(d.by_status)["merged"] == 1
    assert bars(d.by_line)["motor"] == 3 and [(b.code, b.count) for b in d.by_branch] == [
        ("FJ", 3),
        ("SH", 2),
    ]
    assert {t["day"]: t["received"] for t in d.trend}["2026-03-04"] == 0
    r = _report(container, world, "hq_officer")
    assert r.totals.received == 5 and r.rows[0].counts.received == 1


def _policies(container: Container, world: World) -> None:
    with container.uow() as uow:
        for org, line, year, n in [
            ("QZ", "motor.ctpl", 2026, 5_000),
            ("QZ", "motor.commercial", 2026, 20_000),
            ("XM", "motor.commercial", 2026, 10_000),
            ("SH", "property.enterprise", 2026, 40_000),
            ("SH", "property.household", 2026, 10_000),
            ("SH", "motor.commercial", 2025, 99_999),  # another year: not used for 2026
        ]:
            uow.session.add(PolicyCount(org_id=world.orgs[org].id, business_line=line, year=year, policies=n))
        uow.commit()


def test_per_10k_policy_rates(container: Container, world: World, data: Data) -> None:
    _policies(container, world)
    r = _report(container, world, "hq_officer")
    rates = {
        (x.branch, x.line): (
            x.received,
            x.policies,
            None if x.per_10k is None else round(x.per_10k, 4),
            x.partial,
        )
        for x in r.rates
    }
    assert rates == {
        ("FJ", "motor.ctpl"): (1, 5_000, 2.0, False),
        ("FJ", "motor.commercial"): (1, 30_000, 0.3333, False),  # QZ + XM summed up to the branch
        ("FJ", "health"): (1, None, None, False),  # no policy count: not a zero rate
        ("FJ", ""): (2, 35_000, 0.5714, True),  # the loaded lines only
        ("SH", "motor.commercial"): (1, None, None, False),  # only a 2025 count
        ("SH", "property"): (1, 50_000, 0.2, False),
        ("SH", ""): (1, 50_000, 0.2, True),
        ("", ""): (3, 85_000, 0.3529, True),
    }
    assert [x.line_label for x in r.rates if not x.line][0] == "已加载保单数的险种"
    assert r.has_policy_counts
    fj = _report(container, world, "fj_manager")
    qz = {x.line: (x.received, x.policies, x.per_10k, x.partial) for x in fj.rates if x.branch == "QZ"}
    assert qz == {
        "motor.ctpl": (1, 5_000, 2.0, False),
        "motor.commercial": (1, 20_000, 0.5, False),
        "": (2, 25_000, 0.8, False),
    }
    xm = {x.line: (x.received, x.policies, x.per_10k) for x in fj.rates if x.branch == "XM"}
    assert xm == {"motor.commercial": (0, 10_000, 0.0), "health": (1, None, None), "": (0, 10_000, 0.0)}


def test_per_10k_without_policy_counts_is_not_zero(container: Container, world: World, data: Data) -> None:
    r = _report(container, world, "hq_officer")
    assert r.rates and {(x.policies, x.per_10k) for x in r.rates} == {(None, None)}
    assert [(x.branch, x.line, x.received) for x in r.rates if not x.line] == [
        ("FJ", "", 3),
        ("SH", "", 2),
        ("", "", 5),
    ]
    assert not r.has_policy_counts


def test_regulator_json_and_stats_page(client: Any, container: Container, world: World, data: Data) -> None:
    _policies(container, world)
    login(client, "fj_manager")
    r = client.get("/api/v1/complaints-stats/regulator", params={"start": "2026-01-01", "end": "2026-03-31"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"]["received"] == 3 and {x["branch"] for x in body["rows"]} == {"QZ", "XM"}
    assert not any(p in r.text for p in PII)
    r = client.get("/api/v1/complaints-stats/regulator")  # default: the last full quarter
    assert (r.json()["start"], r.json()["end"]) == ("2025-10-01", "2025-12-31")
    page = client.get("/complaints/stats", params={"start": "2026-01-01", "end": "2026-03-31"})
    assert page.status_code == 200
    html = page.text
    assert "监管统计" in html and "泉州中心支公司" in html and "交强险" in html and "未加载保单数" in html
    assert "上海" not in html and not any(p in html for p in PII)
    assert "regulator.xlsx?start=2026-01-01&amp;end=2026-03-31" in html
    bad = client.get("/api/v1/complaints-stats/regulator", params={"start": "2026-13-01"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"].endswith("start")


# ---------------------------------------------------------------- .xlsx and CLI


def _cells(ws: Any) -> list[list[Any]]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


def _check_workbook(content: bytes, institution: str, total_received: int) -> Any:
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["明细", "按机构汇总", "按投诉原因", "按险种", "万张保单投诉量"]
    for ws in wb.worksheets:
        rows = _cells(ws)
        assert rows[1][:2] == ["机构", institution]
        assert rows[2][:2] == ["统计期间", "2026-01-01 至 2026-03-31"]
        assert rows[3][0] == "生成时间" and rows[3][1].startswith("2026-03-05 10:00")
        assert rows[4][0] == "生成人"
        text = " ".join(str(v) for row in rows for v in row if v is not None)
        assert not any(p in text for p in PII)
    detail = _cells(wb["明细"])
    head = detail[6]
    assert head[:7] == ["险种", "投诉原因", "机构", "受理件数", "办结件数", "按时办结件数", "按时办结率"]
    assert head[-1] == "监管转办件数"
    assert detail[-1][0] == "合计" and detail[-1][3] == total_received
    summary = _cells(wb["按机构汇总"])
    assert summary[-1][0] == "合计" and summary[-1][1] == total_received
    assert sum(r[1] for r in summary[7:-1]) == total_received
    causes = _cells(wb["按投诉原因"])
    assert causes[-1][1] == total_received
    return wb


def test_xlsx_export(client: Any, container: Container, world: World, data: Data) -> None:
    _policies(container, world)
    login(client, "hq_officer")
    r = client.get(
        "/api/v1/complaints-stats/regulator.xlsx", params={"start": "2026-01-01", "end": "2026-03-31"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in r.headers["content-disposition"]
    wb = _check_workbook(r.content, "总公司", 5)
    detail = _cells(wb["明细"])
    assert detail[7][:4] == ["交强险", "理赔纠纷", "福建分公司", 1]
    assert detail[-1][3:7] == [5, 2, 1, 0.5]
    summary = _cells(wb["按机构汇总"])
    assert [r[:3] for r in summary[7:]] == [["福建分公司", 3, 2], ["上海分公司", 2, 0], ["合计", 5, 2]]
    rates = _cells(wb["万张保单投诉量"])
    assert ["福建分公司", "交强险", 1, 5000, 2.0] in rates
    assert ["福建分公司", "短期健康险", 1, "未加载保单数", "未加载保单数"] in rates
    s = _session(container)
    try:
        logged = s.scalars(select(AuditLog).where(AuditLog.action == "stats.export")).all()
        assert [(a.actor_label, a.after["start"], a.after["end"]) for a in logged] == [
            ("hq_officer (hq_officer)", "2026-01-01", "2026-03-31")
        ]
    finally:
        s.close()


def test_cli_export_stats(
    container: Container, world: World, data: Data, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from xiaobao import cli

    monkeypatch.setattr(cli, "_container", lambda: container)
    out = tmp_path / "fj.xlsx"
    result = CliRunner().invoke(
        cli.app,
        [
            "complaints",
            "export-stats",
            "--start",
            "2026-01-01",
            "--end",
            "2026-03-31",
            "--org",
            "FJ",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    wb = _check_workbook(out.read_bytes(), "福建分公司", 3)
    summary = _cells(wb["按机构汇总"])
    assert [r[0] for r in summary[7:]] == ["泉州中心支公司", "厦门中心支公司", "合计"]
    assert _cells(wb["明细"])[4][1] == "系统（命令行导出） (system)"
    bad = CliRunner().invoke(
        cli.app,
        [
            "complaints",
            "export-stats",
            "--start",
            "2026-01-01",
            "--end",
            "2026-03-31",
            "--org",
            "NOPE",
            "--out",
            str(out),
        ],
    )
    assert bad.exit_code != 0


# ---------------------------------------------------------------- HTTP: JSON, pages, access


def test_dashboard_json_and_page(client: Any, container: Container, world: World, data: Data) -> None:
    login(client, "hq_officer")
    r = client.get("/api/v1/complaints-stats/dashboard")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kpi"] == {
        "open": 3,
        "due_soon": 1,
        "overdue": 1,
        "contact_overdue": 2,
        "decided": 2,
        "decided_on_time": 1,
        "on_time_rate": 0.5,
        "received": 5,
    }
    assert body["window"] == {"start": "2025-12-06", "end": "2026-03-05", "days": 90}
    assert [b["code"] for b in body["by_branch"]] == ["FJ", "SH"]
    assert body["by_status"][0]["colour"].startswith("#")
    assert not any(p in r.text for p in PII)
    r = client.get("/api/v1/complaints-stats/dashboard", params={"org": "FJ", "days": 7})
    assert r.json()["kpi"]["received"] == 2 and len(r.json()["trend"]) == 7
    assert client.get("/api/v1/complaints-stats/dashboard", params={"days": 0}).status_code == 422
    page = client.get("/complaints/dashboard")
    assert page.status_code == 200
    html = page.text
    assert "/static/vendor/echarts.min.js" in html and "/static/dashboard.js" in html
    assert 'href="/complaints?due=overdue"' in html and 'href="/complaints?due=contact_overdue"' in html
    assert "50.0%" in html and 'data-api="/api/v1/complaints-stats/dashboard?days=90"' in html
    page = client.get("/complaints/dashboard", params={"org": "FJ"})
    assert 'href="/complaints?due=overdue&amp;org=FJ"' in page.text
    client.cookies.set("xb_lang", "en")
    r = client.get("/api/v1/complaints-stats/dashboard")
    assert [b["label"] for b in r.json()["by_branch"]] == ["Fujian branch", "Shanghai branch"]


def test_access_refused(client: Any, container: Container, world: World, data: Data) -> None:
    paths = [
        "/api/v1/complaints-stats/dashboard",
        "/api/v1/complaints-stats/regulator",
        "/api/v1/complaints-stats/regulator.xlsx",
    ]
    for p in paths:
        assert client.get(p).status_code == 401
    assert (
        client.get(
            "/complaints/dashboard", headers={"Accept": "text/html"}, follow_redirects=False
        ).status_code
        == 303
    )
    login(client, "qz_handler")
    for p in [*paths, "/complaints/dashboard", "/complaints/stats"]:
        assert client.get(p).status_code == 403, p
