"""The live command page in a real browser: a commander opens it, new reports and a contact are recorded
through the services (as the hotline and an operator would), and the KPI tiles, map and tables change in place
within seconds from the Server-Sent Events push, without a reload; then the commander moves a staff member to
a factory from the page and sees the utilisation table follow. Screenshots in test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.e2e.test_journey import sign_in
from tests.integration.claims_support import report_payload
from xiaobao.auth import services as auth
from xiaobao.auth.tables import User
from xiaobao.claims import events, services
from xiaobao.claims.schemas import ContactCreate, EventCreate, ReportCreate, RescueCreate
from xiaobao.claims.tables import Factory, StaffProfile


def _who(container, username: str):  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        assert user is not None
        return auth.principal_for(user)


def _report(container, n: int) -> int:  # type: ignore[no-untyped-def]
    now = container.clock.now()
    with container.uow() as uow:
        c = services.create_report(
            uow.session,
            _who(container, "fj_commander"),
            ReportCreate(
                **report_payload(
                    reporter_phone=f"139059{n:05d}",
                    vehicle_plate=f"闽D{n:05d}",
                    place_text="厦门市思明区湖滨南路100号地下车库",
                    loss_at=(now - timedelta(hours=1)).isoformat(),
                )
            ),
            now,
        )
        uow.commit()
        return c.id


def test_command_page_updates_live(browser: Browser, live_server, artifacts) -> None:  # type: ignore[no-untyped-def]
    container = live_server.container
    now = container.clock.now()
    with container.uow() as uow:
        e, _ = events.declare(
            uow,
            _who(container, "fj_commander"),
            EventCreate(
                code="E2E-CMD",
                name="台风指挥演练",
                peril="typhoon",
                regions=["3502"],
                starts_at=now - timedelta(days=1),
            ),
            now,
        )
        eid = e.id
    first = [_report(container, i) for i in range(2)]
    with container.uow() as uow:
        services.request_rescue(
            uow,
            _who(container, "fj_commander"),
            first[0],
            RescueCreate(kind="tow", vendor="厦门顺安拖车"),
            now,
        )
    with container.uow() as uow:
        s = uow.session
        f = Factory(code="E2E", name_zh="演练理赔工厂", name_en="Drill factory", city="佛山", regions=["44"])
        s.add(f)
        user = s.scalar(select(User).where(User.username == "fj_claims_op1"))
        assert user is not None
        if s.scalar(select(StaffProfile).where(StaffProfile.user_id == user.id)) is None:
            s.add(
                StaffProfile(
                    user_id=user.id,
                    kind="operator",
                    skills=["motor"],
                    allowed_regions=["3502"],
                    shifts=[["00:00", "23:59"]],
                    capacity=20,
                    online=True,
                    updated_at=now,
                )
            )
        uow.commit()

    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, live_server.url, "fj_commander")
    page.goto(f"{live_server.url}/claims/events/{eid}")
    page.click(f"a[href='/claims/events/{eid}/command']")
    expect(page.locator("h1")).to_contain_text("大灾指挥看板")
    expect(page.locator("#live-state")).to_have_text("实时", timeout=10_000)
    reported = page.locator("[data-kpi=reported] .kpi-value")
    expect(reported).to_have_text("2")
    expect(page.locator("[data-kpi=contact_sla] .kpi-value")).to_have_text("0.0%")
    expect(page.locator("#command-map")).to_have_attribute("data-points", "2")
    expect(page.locator("#rescue-count")).to_have_text("(1)")
    expect(page.locator("#queue-region tbody")).to_contain_text("厦门市")
    page.evaluate("window.__noReload = 42")
    stamp = page.locator("#last-updated").inner_text()

    # the hotline takes a new report and an operator reaches one reporter: no reload on the page
    third = _report(container, 2)
    with container.uow() as uow:
        services.record_contact(
            uow,
            _who(container, "fj_commander"),
            third,
            ContactCreate(outcome="reached"),
            container.clock.now(),
        )
    expect(reported).to_have_text("3", timeout=8_000)
    expect(page.locator("[data-kpi=contact_sla] .kpi-value")).to_have_text("33.3%", timeout=8_000)
    expect(page.locator("#command-map")).to_have_attribute("data-points", "3")
    expect(page.locator("#command-map .case-marker")).to_have_count(3)
    expect(page.locator("#command-map .rescue-icon")).to_have_count(1)
    assert page.evaluate("window.__noReload") == 42
    assert page.locator("#last-updated").inner_text() != stamp
    page.screenshot(path=str(artifacts / "claims-command-live.png"), full_page=True)

    # the commander moves a staff member onto the drill factory from the page; the table follows the push
    page.select_option("#move-username", "fj_claims_op1")
    page.select_option("#move-factory", "E2E")
    page.fill("#move-regions", "3502, 3505")
    page.click("#move-form button[type=submit]")
    expect(page.locator("#move-result")).to_have_text("已保存，看板将自动更新", timeout=8_000)
    expect(page.locator("#utilisation tbody tr[data-factory=E2E]")).to_contain_text(
        "演练理赔工厂", timeout=8_000
    )
    assert page.evaluate("window.__noReload") == 42
    with container.uow() as uow:
        p = uow.session.scalar(
            select(StaffProfile)
            .join(User, User.id == StaffProfile.user_id)
            .where(User.username == "fj_claims_op1")
        )
        assert p is not None and p.factory is not None and p.factory.code == "E2E"
        assert p.allowed_regions == ["3502", "3505"]
    page.screenshot(path=str(artifacts / "claims-command-moved.png"), full_page=True)
    ctx.close()
