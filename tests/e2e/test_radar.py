"""The risk-radar map in a real browser: the Doksuri demo event (generated portfolio, assessment, plan,
visits, synthetic claims) loaded through the services, then the map page: the track and wind radii drawn
without any base layer (offline), one marker per site in scope, the legend, a popup on click, and the
colouring switch. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.e2e.test_journey import sign_in
from tests.shared_data import DOKSURI_ADVISORIES, shared_file
from xiaobao.radar.demo_load import load_radar_demo
from xiaobao.radar.tables import RadarAssessment, RadarEvent


def radar_event(live_server) -> int:  # type: ignore[no-untyped-def]
    """Load the radar demo once (retrying while the in-process job runner holds the SQLite write lock)."""
    c = live_server.container
    with c.uow() as uow:
        existing = uow.session.scalar(select(RadarEvent.id).limit(1))
    if existing is not None:
        return int(existing)
    track = shared_file(DOKSURI_ADVISORIES)
    for attempt in range(10):
        try:
            load_radar_demo(c, n_sites=400, track=track, say=lambda _m: None)
            break
        except OperationalError:
            if attempt == 9:
                raise
            time.sleep(0.5)
    with c.uow() as uow:
        return int(uow.session.scalar(select(RadarEvent.id).limit(1)))


def test_map_shows_track_radii_sites_legend_and_popup(browser: Browser, live_server, artifacts) -> None:  # type: ignore[no-untyped-def]
    event_id = radar_event(live_server)
    with live_server.container.uow() as uow:
        n_sites = len(
            list(
                uow.session.scalars(
                    select(RadarAssessment.site_id).where(RadarAssessment.event_id == event_id)
                )
            )
        )
    assert n_sites == 400
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    # offline: any request that leaves the app fails the test
    outside: list[str] = []
    ctx.route(
        re.compile(r"^(?!http://127\.0\.0\.1).*"),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    page = ctx.new_page()
    base = live_server.url
    sign_in(page, base, "fj_risk")
    page.goto(f"{base}/radar/events/{event_id}/map")
    expect(page.locator("#radar-map[data-ready='1']")).to_be_visible(timeout=20_000)
    # one circle marker per site (SVG paths), plus the track, its 6-hourly points, the radii and the centre
    markers = page.locator("#radar-map path.leaflet-interactive")
    assert markers.count() >= n_sites
    expect(page.locator("#radar-map path.gale-radius")).to_have_count(1)
    expect(page.locator("#radar-map path.storm-radius")).to_have_count(1)
    assert page.locator("#radar-map .leaflet-tile").count() == 0  # no base layer configured
    # ... so the vendored Natural Earth land outline is drawn instead (served by the app itself)
    expect(page.locator("#radar-map[data-land='1']")).to_have_count(1, timeout=10_000)
    # the legend: the four wind bands with counts that add up to the sites, and the radii key
    legend = page.locator("#map-legend")
    expect(legend).to_contain_text("最大风速")
    counts = [int(x) for x in re.findall(r"\((\d+)\)", legend.inner_text())]
    assert len(counts) == 4 and sum(counts) == n_sites
    expect(legend).to_contain_text("8级风圈")
    expect(page.locator("#map-status")).to_contain_text(str(n_sites))
    page.screenshot(path=str(artifacts / "radar_map.png"))

    # click the site with the highest rank: its popup shows the name, wind, loss, gale arrival, visit status
    page.evaluate("""() => { const m = document.getElementById('radar-map'); m.scrollIntoView(); }""")
    box = page.locator("#radar-map").bounding_box()
    assert box is not None
    clicked = False
    for i in range(min(markers.count(), 60)):
        mk = markers.nth(i)
        b = mk.bounding_box()
        if b is None or b["width"] > 30:  # the radii polygons and the track are not site markers
            continue
        mk.click(force=True)
        popup = page.locator(".leaflet-popup-content")
        if popup.count() and "m/s" in popup.inner_text():
            clicked = True
            break
    assert clicked, "no site popup opened"
    text = page.locator(".leaflet-popup-content").inner_text()
    assert "最大风速" in text and "预期损失" in text and "大风到达" in text and "走访" in text
    assert re.search(r"\*{2,}|\d\*", text) or "联系人" in text  # contact masked
    page.locator("#radar-map").screenshot(path=str(artifacts / "radar_map_popup.png"))

    # colour by expected loss: the legend switches to loss bands
    page.select_option("#colour-by", "loss")
    expect(legend).to_contain_text("预期损失")
    expect(legend).to_contain_text("万元")
    # move the time slider: the radii move with the storm
    before = page.locator("#radar-map path.gale-radius").get_attribute("d")
    page.locator("#time-slider").fill("10")
    page.locator("#time-slider").dispatch_event("input")
    after = page.locator("#radar-map path.gale-radius").get_attribute("d")
    assert before != after
    page.screenshot(path=str(artifacts / "radar_map_loss.png"))
    assert not outside, outside
    ctx.close()


def test_comparison_page_charts(browser: Browser, live_server, artifacts) -> None:  # type: ignore[no-untyped-def]
    event_id = radar_event(live_server)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, live_server.url, "hq_risk")
    page.goto(f"{live_server.url}/radar/events/{event_id}/comparison")
    expect(page.locator("#avoided-figure")).to_be_visible()
    expect(page.locator("#method")).to_contain_text("分层")
    expect(page.locator("#chart-branch canvas")).to_have_count(1, timeout=10_000)
    expect(page.locator(".banner")).to_contain_text("演示数据")
    page.screenshot(path=str(artifacts / "radar_comparison.png"))
    page.goto(f"{live_server.url}/radar/events/{event_id}")
    expect(page.locator("#summary")).to_contain_text("400")
    page.screenshot(path=str(artifacts / "radar_event.png"))
    page.goto(f"{live_server.url}/radar/events/{event_id}/ranking")
    expect(page.locator("#ranking tbody tr").first).to_contain_text("有限公司")
    page.screenshot(path=str(artifacts / "radar_ranking.png"))
    ctx.close()


def test_plan_and_visit_form(browser: Browser, live_server, artifacts) -> None:  # type: ignore[no-untyped-def]
    event_id = radar_event(live_server)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    base = live_server.url
    sign_in(page, base, "qz_risk")
    page.goto(f"{base}/radar/events/{event_id}/plan")
    expect(page.locator("#plan-grid")).to_be_visible()
    page.screenshot(path=str(artifacts / "radar_plan.png"))
    page.goto(f"{base}/radar/events/{event_id}/visits")
    page.select_option("select[name=site_id]", index=1)
    page.select_option("select[name=hazard_kind_0]", "roof")
    page.select_option("select[name=hazard_severity_0]", "high")
    page.fill("input[name=hazard_desc_0]", "彩钢瓦屋面螺栓松动")
    page.check("input[name=measures][value=secure_roof]")
    page.click("#visit-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/radar/visits/\d+$"))
    expect(page.locator("#hazards")).to_contain_text("彩钢瓦屋面螺栓松动")
    expect(page.locator("#visit-tasks a")).to_have_count(1)
    page.screenshot(path=str(artifacts / "radar_visit.png"))
    ctx.close()
