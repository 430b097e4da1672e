"""Risk radar HTML pages: every page renders with its data, forms re-render with the problem next to the
field, htmx visit form, imports show their per-row report, the comparison states its method and limits."""

from __future__ import annotations

import html
import json
import re

from sqlalchemy import select

from tests.factories import login
from tests.integration.radar_support import (
    REFERENCE,
    add_radar_users,
    advisories_bytes,
    csv_bytes,
    import_portfolio,
    make_event,
    quanzhou_rows,
    xiamen_rows,
)
from xiaobao.radar import services
from xiaobao.radar.tables import RadarEvent, RadarSite, RadarVisit
from xiaobao.tasks.tables import Task

HTML = {"Accept": "text/html"}
HX = {"HX-Request": "true", "Accept": "text/html"}


def tiles_of(page: str) -> dict[str, str]:
    raw = re.search(r'data-tiles="([^"]*)"', page)
    assert raw is not None
    return dict(json.loads(html.unescape(raw.group(1))))


def setup(container, world, client, user="fj_risk"):  # type: ignore[no-untyped-def]
    add_radar_users(container, world)
    import_portfolio(container, world, quanzhou_rows(6, manager="qz_handler") + xiamen_rows(3))
    event_id = make_event(container, world)
    login(client, user)
    return event_id


def test_anonymous_is_sent_to_login(client, world):
    for path in ("/radar", "/radar/sites", "/radar/events/1/map"):
        r = client.get(path, headers=HTML, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"


def test_pages_render(client, container, world):
    event_id = setup(container, world, client)
    base = f"/radar/events/{event_id}"
    r = client.get("/radar", headers=HTML)
    assert r.status_code == 200 and "杜苏芮" in r.text or "DOKSURI" in r.text
    r = client.get(base, headers=HTML)
    assert r.status_code == 200 and "晋江测试仓储" in r.text and 'id="summary"' in r.text
    r = client.get(base + "/map", headers=HTML)
    assert r.status_code == 200 and f"/api/v1/radar/events/{event_id}/map" in r.text
    assert "/static/vendor/leaflet/leaflet.js" in r.text
    assert tiles_of(r.text) == {"url": "", "attribution": ""}  # no base layer unless configured
    r = client.get(base + "/ranking", headers=HTML, params={"industry": "电子制造"})
    assert r.status_code == 200 and "厦门测试电子" in r.text and "晋江测试仓储" not in r.text
    r = client.get(base + "/ranking", headers=HTML, params={"org_id": world.orgs["QZ"].id, "sort": "hours"})
    assert "晋江测试仓储" in r.text and "厦门测试电子" not in r.text
    for tab in ("/plan", "/visits", "/claims", "/comparison"):
        assert client.get(base + tab, headers=HTML).status_code == 200, tab
    r = client.get("/radar/sites", headers=HTML, params={"q": "厦门"})
    assert r.status_code == 200 and "厦门测试电子" in r.text and "晋江测试" not in r.text
    assert "13805920000" not in r.text  # contact masked


def test_event_form_problem_is_shown(client, container, world):
    setup(container, world, client)
    r = client.post(
        "/radar/events",
        files={"file": ("track.csv", b"time_utc,lat,lon,pressure_hpa,wind_ms\nnope,1,2,3,4\n", "text/csv")},
        data={"reference_time": ""},
        headers=HTML,
    )
    assert r.status_code == 422 and "路径文件无法读取" in r.text and 'class="field-error"' in r.text
    r = client.post(
        "/radar/events",
        files={"file": ("doksuri.csv", advisories_bytes(), "text/csv")},
        data={"reference_time": "2023-07-26T08:00", "name": "杜苏芮复盘"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    with container.uow() as uow:
        ev = uow.session.scalar(select(RadarEvent).where(RadarEvent.name == "杜苏芮复盘"))
        assert ev.reference_time == REFERENCE  # the form's time is Beijing time


def test_assess_and_plan_through_the_pages(client, container, world):
    event_id = setup(container, world, client)
    base = f"/radar/events/{event_id}"
    assert client.post(base + "/assess", headers=HTML, follow_redirects=False).status_code == 303
    qz = world.orgs["QZ"].id
    r = client.post(
        base + "/plan", data={"org_id": qz, "inspectors": "x", "visits_per_day": "3"}, headers=HTML
    )
    assert r.status_code == 422 and "请输入数字" in r.text
    r = client.post(
        base + "/plan",
        data={"org_id": qz, "inspectors": "1", "visits_per_day": "2", "work_start": "08:00", "work_end": "18:00",
              "margin_hours": "2"},
        headers=HTML,
    )  # fmt: skip
    assert r.status_code == 200 and 'id="plan-grid"' in r.text
    planned = re.findall(r'class="plan-visit"', r.text)
    assert 0 < len(planned) <= 6
    assert 'id="unreachable"' in r.text


def test_visit_form_htmx_creates_visit_and_tasks(client, container, world):
    event_id = setup(container, world, client, user="qz_risk")
    with container.uow() as uow:
        sid = uow.session.scalar(select(RadarSite.id).where(RadarSite.policy_no == "PQZ00002"))
    url = f"/radar/events/{event_id}/visits"
    r = client.post(url, data={"site_id": "", "hazard_kind_0": "roof"}, headers=HX)
    assert r.status_code == 422 and "请选择走访企业" in r.text and 'id="visit-form"' in r.text
    assert "<html" not in r.text  # the form partial only
    r = client.post(
        url,
        data={"site_id": str(sid), "visited_at": "2023-07-26T10:30", "hazard_kind_0": "roof", "hazard_severity_0": "high",
              "hazard_desc_0": "屋面彩钢板松动", "hazard_kind_1": "drainage", "measures": ["sandbags", "drainage"],
              "notes": "厂区低洼"},
        headers=HX,
    )  # fmt: skip
    assert r.status_code == 204
    vid = int(r.headers["HX-Redirect"].rsplit("/", 1)[1])
    with container.uow() as uow:
        v = uow.session.get(RadarVisit, vid)
        assert v.site_id == sid and [h["kind"] for h in v.hazards] == ["roof", "drainage"]
        assert v.visited_at == REFERENCE.replace(hour=2, minute=30)
        tasks = list(uow.session.scalars(select(Task.id).where(Task.source_type == "radar_visit")))
        assert len(tasks) == 2
    r = client.get(f"/radar/visits/{vid}", headers=HTML)
    assert r.status_code == 200 and "屋面彩钢板松动" in r.text and f"/tasks/{tasks[0]}" in r.text
    r = client.get(url, headers=HTML)
    assert f"/radar/visits/{vid}" in r.text


def test_imports_show_their_report(client, container, world):
    event_id = setup(container, world, client)
    rows = quanzhou_rows(1, start=50) + [
        ["", "福建省泉州市", "24.8", "118.6", "鞋业", "轻钢", "厂房", "100", "", "", "P2", "泉州", "", ""]
    ]
    r = client.post(
        "/radar/sites/import",
        files={"file": ("more.csv", csv_bytes(rows), "text/csv")},
        data={"org_id": str(world.orgs["FJ"].id)},
        headers=HTML,
    )
    assert r.status_code == 200 and 'id="import-errors"' in r.text and "名称为空" in r.text
    r = client.post(
        "/radar/sites/import", files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")}, headers=HTML
    )
    assert r.status_code == 422 and "仅支持" in r.text
    claims = csv_bytes([["C1", "PQZ00000", "", "100000", "0"], ["C2", "PNONE", "", "1", "0"]],
                       ["赔案号", "保单号", "企业名称", "已决赔款", "未决估损"])  # fmt: skip
    r = client.post(
        f"/radar/events/{event_id}/claims", files={"file": ("c.csv", claims, "text/csv")}, headers=HTML
    )
    assert r.status_code == 200 and "PNONE" in r.text and 'id="import-errors"' in r.text


def test_comparison_page_shows_figure_with_method_and_limits(client, container, world):
    event_id = setup(container, world, client)
    with container.uow() as uow:
        sites = list(uow.session.scalars(select(RadarSite).where(RadarSite.policy_no.like("PQZ%"))))
        services.record_visit(
            uow, world.p("qz_risk"), event_id, services.VisitInput(sites[0].id, REFERENCE), container.clock.now(),
            container.settings,
        )  # fmt: skip
    rows = [[f"C{s.id}", s.policy_no, "", "100000", "0"] for s in sites]
    with container.uow() as uow:
        services.import_claims(
            uow, world.p("fj_risk"), event_id, "c.csv",
            csv_bytes(rows, ["claim_no", "policy_no", "name", "paid", "reserved"]), container.clock.now(),
        )  # fmt: skip
    r = client.get(f"/radar/events/{event_id}/comparison", headers=HTML)
    assert r.status_code == 200
    avoided = r.text.split('id="avoided"')[1].split("</section>")[0]
    assert 'id="avoided-figure"' in avoided and 'id="method"' in avoided and "选择偏差" in avoided
    assert "分层" in avoided and 'id="strata"' in avoided
    assert 'id="chart-data"' in r.text and "泉州中心支公司" in r.text
    client.get("/lang/en")
    r = client.get(f"/radar/events/{event_id}/comparison", headers=HTML)
    assert "Selection bias" in r.text and "Loss avoided" in r.text


def test_map_base_layer_is_configurable(client, container, world):
    event_id = setup(container, world, client)
    container.settings.radar_tile_url = "https://tiles.internal.example/{z}/{x}/{y}.png"
    container.settings.radar_tile_attribution = "© 内网底图"
    r = client.get(f"/radar/events/{event_id}/map", headers=HTML)
    assert tiles_of(r.text) == {
        "url": "https://tiles.internal.example/{z}/{x}/{y}.png",
        "attribution": "© 内网底图",
    }
