"""Risk radar over the database (SQLite and PostgreSQL): events, site import with bad rows, the persisted
assessment, plan feasibility, visits → co-handling tasks, claims import, the comparison and scope."""

from __future__ import annotations

from collections import Counter, namedtuple
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.integration.radar_support import (
    REFERENCE,
    add_radar_users,
    csv_bytes,
    import_portfolio,
    make_event,
    quanzhou_rows,
    xiamen_rows,
)
from xiaobao.core.audit import AuditLog
from xiaobao.core.errors import Forbidden, NotFound, ValidationFailed
from xiaobao.radar import services
from xiaobao.radar.tables import RadarAssessment, RadarClaim, RadarEvent, RadarPlanItem, RadarSite
from xiaobao.tasks import services as task_services
from xiaobao.tasks import sources
from xiaobao.tasks.tables import Task


@pytest.fixture
def radar(container, world):  # type: ignore[no-untyped-def]
    add_radar_users(container, world)
    return world


Item = namedtuple("Item", "site_id status inspector slot_start slot_end reason")


def site_ids(container, **where) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        return {s.name: s.id for s in uow.session.scalars(select(RadarSite).filter_by(**where))}


# ---------------------------------------------------------------- events


def test_event_from_advisories_is_hourly_with_radii(container, radar):
    event_id = make_event(container, radar, assess=False)
    with container.uow() as uow:
        ev = uow.session.get(RadarEvent, event_id)
        assert ev.status == "draft" and ev.source_format == "advisories"
        assert ev.reference_time == REFERENCE
        times = [p["t"] for p in ev.track]
        assert times[0] == "2023-07-25T03:00:00Z" and len(times) > 60
        # hourly steps, gale radius present and wider than the storm radius everywhere
        assert all(len(p["r_gale"]) == 16 for p in ev.track)
        assert all(max(p["r_gale"]) >= max(p["r_storm"]) > 0 for p in ev.track)
        assert uow.session.scalar(select(AuditLog.id).where(AuditLog.action == "radar.event_create"))


def test_bad_track_file_names_the_field(container, radar):
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.create_event(
            uow, radar.p("fj_risk"), filename="track.csv", data=b"time_utc,lat,lon,pressure_hpa,wind_ms\nxx,1,2,3,4\n",
            now=container.clock.now(),
        )  # fmt: skip
    assert e.value.problems[0].field == "file"
    assert "time_utc" in e.value.problems[0].en and "路径文件无法读取" in e.value.problems[0].zh
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.create_event(
            uow, radar.p("fj_risk"), filename="doksuri.csv", data=b"x", now=container.clock.now(), model="XYZ"
        )
    assert e.value.problems[0].field == "model"


def test_only_risk_engineers_create_events(container, radar):
    for who in ("hq_commander", "fj_officer", "qz_handler"):
        with container.uow() as uow, pytest.raises(Forbidden):
            services.create_event(uow, radar.p(who), filename="a.csv", data=b"x", now=container.clock.now())


# ---------------------------------------------------------------- site import


def test_site_import_reports_bad_rows_and_keeps_good_ones(container, radar):
    rows = [
        ["好企业一", "福建省泉州市晋江市", "24.80", "118.60", "鞋业", "轻钢", "厂房", "500万", "", "", "P1", "泉州中心支公司", "王先生 13905950001", "qz_handler"],
        ["", "福建省泉州市", "24.8", "118.6", "鞋业", "轻钢", "厂房", "100", "", "", "P2", "泉州", "", ""],
        ["坏纬度", "福建省泉州市", "124.8", "118.6", "鞋业", "轻钢", "厂房", "100", "", "", "P3", "泉州", "", ""],
        ["无坐标企业", "福建省厦门市集美区杏林路1号", "", "", "电子制造", "钢结构", "厂房", "1,200,000", "", "", "P4", "XM", "", ""],
        ["地址无法定位", "北京市朝阳区", "", "", "电子制造", "钢结构", "厂房", "100", "", "", "P5", "XM", "", ""],
        ["无保额", "福建省泉州市", "24.8", "118.6", "鞋业", "轻钢", "厂房", "", "abc", "", "P6", "泉州", "", ""],
        ["外省机构", "福建省莆田市城厢区", "25.43", "119.0", "茶叶", "砖混", "仓库", "200", "", "", "P7", "莆田分公司", "", "nobody"],
    ]  # fmt: skip
    rep = import_portfolio(container, radar, rows)
    rec = rep.record
    assert (rec.rows, rec.created, rec.rejected) == (7, 3, 4)
    bad = {(e["row"], e["field"]) for e in rec.errors}
    assert {(3, "name"), (4, "lat"), (6, "address"), (7, "sum_insured_stock")} <= bad
    assert (8, "account_manager") in bad  # unknown account manager: kept, left empty, reported
    assert all(e["zh"] and e["en"] for e in rec.errors)
    with container.uow() as uow:
        by_name = {s.name: s for s in uow.session.scalars(select(RadarSite))}
        assert set(by_name) == {"好企业一", "无坐标企业", "外省机构"}
        assert by_name["好企业一"].org_id == radar.orgs["QZ"].id  # branch text → org
        assert by_name["好企业一"].account_manager_id == radar.users["qz_handler"].id
        assert by_name["好企业一"].total_sum_insured == 5_000_000
        assert by_name["无坐标企业"].approximate and by_name["无坐标企业"].org_id == radar.orgs["XM"].id
        assert abs(by_name["无坐标企业"].lat - 24.57) < 0.2  # 集美区 seat
        assert by_name["外省机构"].org_id == radar.orgs["FJ"].id  # not recognised: the chosen default org
    assert rec.warnings and rec.warnings[0]["branch"] == "莆田分公司"
    # importing the same rows again updates in place
    again = import_portfolio(container, radar, rows).record
    assert (again.created, again.updated) == (0, 3)
    with container.uow() as uow:
        assert len(list(uow.session.scalars(select(RadarSite)))) == 3


def test_site_import_refuses_unusable_files(container, radar):
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.import_sites(
            uow, radar.p("fj_risk"), "a.pdf", b"%PDF", radar.orgs["FJ"].id, container.clock.now()
        )
    assert e.value.problems[0].field == "file"
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.import_sites(
            uow, radar.p("fj_risk"), "a.csv", b"foo,bar\n1,2\n", radar.orgs["FJ"].id, container.clock.now()
        )
    assert e.value.problems[0].field == "file" and "name" in e.value.problems[0].en
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:  # Shanghai is outside fj_risk's scope
        services.import_sites(
            uow,
            radar.p("fj_risk"),
            "a.csv",
            csv_bytes(quanzhou_rows(1)),
            radar.orgs["SH"].id,
            container.clock.now(),
        )
    assert e.value.problems[0].field == "org_id"


# ---------------------------------------------------------------- assessment


def test_assessment_is_persisted_and_ranked(container, radar):
    import_portfolio(container, radar, quanzhou_rows(5) + xiamen_rows(3))
    far = [
        [
            "上海测试",
            "上海市浦东新区",
            "31.2",
            "121.5",
            "物流仓储",
            "轻钢",
            "仓库",
            1_000_000,
            "",
            "",
            "PSH1",
            "FJ",
            "",
            "",
        ]
    ]
    import_portfolio(container, radar, far)
    event_id = make_event(container, radar)
    with container.uow() as uow:
        rows = list(uow.session.scalars(select(RadarAssessment).where(RadarAssessment.event_id == event_id)))
        assert len(rows) == 9
        by_name = {a.site.name: a for a in rows}
        jinjiang = by_name["晋江测试仓储000有限公司"]
        assert jinjiang.max_wind > 32.7 and jinjiang.expected_loss > 0
        assert jinjiang.gale_arrival is not None and jinjiang.gale_arrival > REFERENCE
        assert jinjiang.hours_until_gale == pytest.approx(
            (jinjiang.gale_arrival - REFERENCE).total_seconds() / 3600
        )
        shanghai = by_name["上海测试"]
        assert shanghai.max_wind < 17.2 and shanghai.gale_arrival is None and shanghai.expected_loss == 0
        ranks = sorted(rows, key=lambda a: a.rank)
        assert [a.rank for a in ranks] == list(range(1, 10))
        losses = [a.expected_loss for a in ranks]
        assert losses == sorted(losses, reverse=True)
        assert uow.session.get(RadarEvent, event_id).status == "assessed"
    # re-assessing replaces, never duplicates
    with container.uow() as uow:
        services.assess_event(uow, radar.p("fj_risk"), event_id, container.clock.now())
        assert len(list(uow.session.scalars(select(RadarAssessment)))) == 9


# ---------------------------------------------------------------- plan


def test_plan_is_feasible_and_respects_capacity(container, radar):
    import_portfolio(container, radar, quanzhou_rows(40))
    event_id = make_event(container, radar)
    margin = 3.0
    with container.uow() as uow:
        p = services.make_plan(
            uow, radar.p("qz_risk"), event_id,
            services.PlanInput(org_id=radar.orgs["QZ"].id, inspectors=2, visits_per_day=3, work_start="09:00",
                               work_end="17:00", margin_hours=margin),
            container.clock.now(),
        )  # fmt: skip
        items = [
            (i.site_id, i.status, i.inspector, i.slot_start, i.slot_end, i.reason)
            for i in services.plan_items(uow.session, p)
        ]
        p_planned, p_unreachable = p.planned, p.unreachable
        arrivals = {
            a.site_id: a.gale_arrival
            for a in uow.session.scalars(select(RadarAssessment).where(RadarAssessment.event_id == event_id))
        }

    items = [Item(*t) for t in items]
    planned = [i for i in items if i.status == "planned"]
    unreachable = [i for i in items if i.status == "unreachable"]
    assert planned and unreachable and len(planned) + len(unreachable) == 40
    assert p_planned == len(planned) and p_unreachable == len(unreachable)
    for i in planned:
        # no visit after the wind arrives (minus the margin), none before the plan starts
        assert i.slot_end <= arrivals[i.site_id] - timedelta(hours=margin)
        assert i.slot_start >= REFERENCE
        local = i.slot_start.astimezone(services.plan.SHANGHAI)
        assert (9, 0) <= (local.hour, local.minute) and i.slot_end.astimezone(
            services.plan.SHANGHAI
        ).hour <= 17
        assert 1 <= i.inspector <= 2
    # one visit per inspector slot, at most visits_per_day per inspector and day
    assert len({(i.inspector, i.slot_start) for i in planned}) == len(planned)
    per_day = Counter((i.inspector, i.slot_start.astimezone(services.plan.SHANGHAI).date()) for i in planned)
    assert max(per_day.values()) <= 3
    assert all(i.reason for i in unreachable)
    # re-planning with more inspectors replaces the plan and plans more
    with container.uow() as uow:
        p2 = services.make_plan(
            uow, radar.p("qz_risk"), event_id,
            services.PlanInput(org_id=radar.orgs["QZ"].id, inspectors=6, visits_per_day=3, margin_hours=margin),
            container.clock.now(),
        )  # fmt: skip
        assert p2.planned > p_planned
        assert len(list(uow.session.scalars(select(RadarPlanItem)))) == 40


def test_plan_input_problems_name_the_field(container, radar):
    import_portfolio(container, radar, quanzhou_rows(2))
    event_id = make_event(container, radar)
    org = radar.orgs["QZ"].id
    for data, field in (
        (services.PlanInput(org_id=org, inspectors=0), "inspectors"),
        (services.PlanInput(org_id=org, visits_per_day=99), "visits_per_day"),
        (services.PlanInput(org_id=org, work_start="18:00", work_end="08:00"), "work_end"),
        (services.PlanInput(org_id=org, work_start="8h"), "work_start"),
        (services.PlanInput(org_id=radar.orgs["XM"].id), "org_id"),  # outside qz_risk's scope
    ):
        with container.uow() as uow, pytest.raises(ValidationFailed) as e:
            services.make_plan(uow, radar.p("qz_risk"), event_id, data, container.clock.now())
        assert e.value.problems[0].field == field


# ---------------------------------------------------------------- visits → tasks


def test_visit_hazards_become_cohandling_tasks(container, radar):
    import_portfolio(container, radar, quanzhou_rows(3, manager="qz_handler"))
    event_id = make_event(container, radar)
    sid = site_ids(container)["晋江测试仓储001有限公司"]
    data = services.VisitInput(
        site_id=sid,
        visited_at=REFERENCE + timedelta(hours=5),
        hazards=[services.Hazard("roof", "high", "彩钢板屋面螺栓锈蚀"), services.Hazard("stock", "medium")],
        measures=["sandbags", "secure_roof"],
        notes="已与厂长沟通",
    )
    with container.uow() as uow:
        v = services.record_visit(
            uow, radar.p("qz_risk"), event_id, data, container.clock.now(), container.settings
        )
        vid = v.id
    with container.uow() as uow:
        s = uow.session
        tasks = list(s.scalars(select(Task).where(Task.source_type == "radar_visit", Task.source_id == vid)))
        assert len(tasks) == 2
        assert {t.org_id for t in tasks} == {radar.orgs["QZ"].id}
        assert {t.owner_id for t in tasks} == {radar.users["qz_handler"].id}
        assert {t.kind for t in tasks} == {"cohandling"}
        roof = next(t for t in tasks if "屋面" in t.title)
        assert roof.priority == "urgent" and "彩钢板屋面螺栓锈蚀" in roof.description
        assert [c.text for c in roof.checklist] == ["备沙袋、挡水板", "加固屋面、门窗"]
        # the account manager can open the task and sees where it came from (the radar_visit source)
        t = task_services.access_task(s, radar.p("qz_handler"), roof.id)
        info = sources.describe(s, t.source_type, t.source_id)
        assert info is not None and info.url == f"/radar/visits/{vid}" and "晋江测试仓储001" in info.label_zh
        # the inspector is the requester
        assert task_services.relations(s, radar.p("qz_risk"), t)
    # no hazard, no task
    with container.uow() as uow:
        services.record_visit(
            uow, radar.p("qz_risk"), event_id, services.VisitInput(sid, REFERENCE), container.clock.now(),
            container.settings,
        )  # fmt: skip
        assert len(list(uow.session.scalars(select(Task)))) == 2


def test_visit_rules(container, radar):
    import_portfolio(container, radar, quanzhou_rows(1) + xiamen_rows(1))
    event_id = make_event(container, radar)
    ids = site_ids(container)
    qz_site, xm_site = ids["晋江测试仓储000有限公司"], ids["厦门测试电子000有限公司"]
    now = container.clock.now()

    def visit(who: str, site: int, **kw):  # type: ignore[no-untyped-def]
        with container.uow() as uow:
            return services.record_visit(
                uow, radar.p(who), event_id, services.VisitInput(site, kw.pop("at", REFERENCE), **kw), now,
                container.settings, kw.get("photos", ()),
            )  # fmt: skip

    with pytest.raises(NotFound):
        visit("qz_risk", xm_site)  # another branch's site
    with pytest.raises(Forbidden):
        visit("hq_commander", qz_site)  # sees the radar, may not record visits
    with pytest.raises(NotFound):
        visit("qz_handler", qz_site)  # no radar role
    with pytest.raises(ValidationFailed) as e:
        visit("qz_risk", qz_site, hazards=[services.Hazard("volcano", "high")], measures=["pray"])
    assert {p.field for p in e.value.problems} == {"hazards[0].kind", "measures"}
    with pytest.raises(ValidationFailed) as e:
        visit("qz_risk", qz_site, at=now + timedelta(days=1))
    assert e.value.problems[0].field == "visited_at"


def test_visit_photos_are_stored_and_checked(container, radar):
    import_portfolio(container, radar, quanzhou_rows(1))
    event_id = make_event(container, radar)
    sid = next(iter(site_ids(container).values()))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    with container.uow() as uow:
        v = services.record_visit(
            uow, radar.p("qz_risk"), event_id, services.VisitInput(sid, REFERENCE), container.clock.now(),
            container.settings, [("roof.png", png)],
        )  # fmt: skip
        vid = v.id
    with container.uow() as uow:
        photo = services.visit_photos(
            uow.session, services.access_visit(uow.session, radar.p("fj_risk"), vid)
        )[0]
        ph, path = services.open_photo(uow.session, radar.p("fj_risk"), vid, photo.id, container.settings)
        assert path.read_bytes() == png and ph.content_type == "image/png"
        with pytest.raises(NotFound):
            services.open_photo(uow.session, radar.p("xm_risk"), vid, photo.id, container.settings)
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.record_visit(
            uow, radar.p("qz_risk"), event_id, services.VisitInput(sid, REFERENCE), container.clock.now(),
            container.settings, [("notes.txt", "不是照片".encode())],
        )  # fmt: skip
    assert e.value.problems[0].field == "photos"


# ---------------------------------------------------------------- claims and comparison


CLAIM_HEADER = ["赔案号", "保单号", "企业名称", "已决赔款", "未决估损"]


def test_claims_import_reports_rows_and_is_idempotent(container, radar):
    import_portfolio(container, radar, quanzhou_rows(3) + xiamen_rows(1))
    event_id = make_event(container, radar)
    rows = [
        ["C1", "PQZ00000", "", "120000", "0"],
        ["C2", "PQZ00001", "", "50,000", "30000"],
        ["C3", "PNOPE", "", "1", "0"],
        ["C4", "PQZ00002", "", "abc", "0"],
        ["C1", "PQZ00000", "", "1", "0"],
        ["", "PQZ00002", "", "1", "0"],
        ["C5", "PXM00000", "", "-5", "0"],
    ]
    data = csv_bytes(rows, CLAIM_HEADER)
    with container.uow() as uow:
        rec = services.import_claims(
            uow, radar.p("fj_risk"), event_id, "claims.csv", data, container.clock.now()
        ).record
    assert (rec.rows, rec.created, rec.updated, rec.rejected) == (7, 2, 0, 5)
    assert {(e["row"], e["field"]) for e in rec.errors} == {
        (4, "policy_no"), (5, "paid"), (6, "claim_no"), (7, "claim_no"), (8, "paid")
    }  # fmt: skip
    with container.uow() as uow:
        rec2 = services.import_claims(
            uow, radar.p("fj_risk"), event_id, "claims.csv", data, container.clock.now()
        ).record
        assert (rec2.created, rec2.updated) == (0, 2)
        claims = {c.claim_no: c for c in uow.session.scalars(select(RadarClaim))}
        assert set(claims) == {"C1", "C2"}
        assert (claims["C2"].paid, claims["C2"].reserved) == (50_000, 30_000)
    # a Xiamen engineer cannot attach claims to Quanzhou sites
    with container.uow() as uow:
        rec3 = services.import_claims(
            uow, radar.p("xm_risk"), event_id, "c.csv", csv_bytes([["C9", "PQZ00000", "", "1", "0"]], CLAIM_HEADER),
            container.clock.now(),
        ).record  # fmt: skip
        assert rec3.created == 0 and rec3.errors[0]["field"] == "policy_no"
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.import_claims(
            uow, radar.p("fj_risk"), event_id, "c.csv", csv_bytes([["x"]], ["foo"]), container.clock.now()
        )
    assert e.value.problems[0].field == "file"


def test_comparison_numbers_on_a_small_case(container, radar):
    """Four Quanzhou warehouses of one stratum (same wind band, industry and construction): one visited.
    Actual losses are set to fixed shares of the modelled loss, so every figure can be checked by hand."""
    import_portfolio(container, radar, quanzhou_rows(4))
    event_id = make_event(container, radar)
    with container.uow() as uow:
        ass = sorted(
            uow.session.scalars(select(RadarAssessment).where(RadarAssessment.event_id == event_id)),
            key=lambda a: a.site.policy_no,
        )
        modelled = [a.expected_loss for a in ass]
        policies = [a.site.policy_no for a in ass]
        bands = {services.followup.wind_band(a.max_wind) for a in ass}
        sid0 = ass[0].site_id
    assert len(bands) == 1 and all(m > 0 for m in modelled)
    shares = [0.5, 0.8, 0.8, 0.8]  # site 0 visited: lost half its modelled loss; the others 80 %
    rows = [[f"C{k}", policies[k], "", f"{modelled[k] * shares[k]:.2f}", "0"] for k in range(4)]
    with container.uow() as uow:
        services.import_claims(
            uow, radar.p("fj_risk"), event_id, "c.csv", csv_bytes(rows, CLAIM_HEADER), container.clock.now()
        )
        services.record_visit(
            uow, radar.p("qz_risk"), event_id, services.VisitInput(sid0, REFERENCE), container.clock.now(),
            container.settings,
        )  # fmt: skip
    with container.uow() as uow:
        _, cmp, outcomes = services.comparison(uow.session, radar.p("fj_risk"), event_id)
    total_m = sum(modelled)
    total_a = sum(round(m * s, 2) for m, s in zip(modelled, shares, strict=True))
    assert cmp.total.sites == 4 and cmp.total.with_claims == 4
    assert cmp.total.modelled == pytest.approx(total_m)
    assert cmp.total.actual == pytest.approx(total_a, abs=0.05)
    assert cmp.by_branch[0].key == "泉州中心支公司" and cmp.by_industry[0].key == "物流仓储"
    a = cmp.avoided
    # r_U = 0.8, r_V = 0.5 → avoided = (0.8 - 0.5) × modelled of the visited site
    assert a.estimate == pytest.approx(0.3 * modelled[0], rel=1e-4)
    assert a.coverage == pytest.approx(1.0) and a.visited_sites == 1 and a.visited_in_usable == 1
    assert a.strata[0].n_visited == 1 and a.strata[0].n_unvisited == 3
    # with a minimum of 4 unvisited sites the stratum is too small: nothing is estimated
    with container.uow() as uow:
        _, cmp4, _ = services.comparison(uow.session, radar.p("fj_risk"), event_id, min_unvisited=4)
    assert cmp4.avoided.estimate == 0 and cmp4.avoided.coverage == 0 and not cmp4.avoided.strata[0].usable


# ---------------------------------------------------------------- scope


def test_scope_by_org_subtree(container, radar):
    import_portfolio(container, radar, quanzhou_rows(3) + xiamen_rows(2))
    event_id = make_event(container, radar)
    ids = site_ids(container)
    qz_site = ids["晋江测试仓储000有限公司"]
    with container.uow() as uow:
        s = uow.session

        def names(who: str) -> set[str]:
            return {
                a.site.name[:4] for a in services.assessments(s, radar.p(who), s.get(RadarEvent, event_id))
            }

        assert names("qz_risk") == {"晋江测试"}
        assert names("xm_risk") == {"厦门测试"}
        assert names("fj_risk") == names("hq_risk") == names("hq_commander") == {"晋江测试", "厦门测试"}
        assert services.list_sites(s, radar.p("xm_risk"))[1] == 2
        feats = services.map_data(s, radar.p("xm_risk"), event_id)["sites"]["features"]
        assert {f["properties"]["name"][:4] for f in feats} == {"厦门测试"}
        assert all("*" in f["properties"]["contact"] for f in feats)  # contact masked
        ranked = services.ranking(
            s, radar.p("xm_risk"), event_id, services.RankingFilter(affected_only=False)
        )
        assert ranked[2] == 2
        with pytest.raises(NotFound):
            services.access_site(s, radar.p("xm_risk"), qz_site)
        with pytest.raises(NotFound):
            services.access_event(s, radar.p("qz_handler"), event_id)  # no radar role
        with pytest.raises(ValidationFailed):  # filtering by an org outside one's scope
            services.ranking(
                s, radar.p("xm_risk"), event_id, services.RankingFilter(org_id=radar.orgs["QZ"].id)
            )
        with pytest.raises(Forbidden):
            services.list_events(s, radar.p("qz_handler"))


# ---------------------------------------------------------------- demo


def test_demo_loads_doksuri_with_synthetic_claims(container, radar):
    from tests.shared_data import DOKSURI_ADVISORIES, shared_file
    from xiaobao.radar.demo_load import load_radar_demo

    counts = load_radar_demo(
        container, n_sites=200, track=shared_file(DOKSURI_ADVISORIES), say=lambda _m: None
    )
    assert counts["radar.sites"] == 200 and counts["radar.visits"] > 0 and counts["radar.claims"] > 0
    assert counts["radar.tasks"] > 0
    with container.uow() as uow:
        ev = uow.session.scalar(select(RadarEvent))
        assert ev.synthetic_claims and ev.status == "assessed"
        _, cmp, _ = services.comparison(uow.session, radar.p("hq_risk"), ev.id)
        assert (
            cmp.total.actual > 0
            and cmp.total.modelled > 0
            and cmp.avoided.visited_sites == counts["radar.visits"]
        )


def test_demo_is_skipped_without_the_track_file(container, radar, monkeypatch):
    from xiaobao.radar import demo_load

    monkeypatch.setattr(demo_load, "advisories_path", lambda: None)
    said: list[str] = []
    assert demo_load.load_radar_demo(container, say=said.append) == {}
    assert "skipped" in said[0]
    with container.uow() as uow:
        assert uow.session.scalar(select(RadarEvent)) is None
