"""Claims in a real browser: a consumer reports flood damage on a phone in elder mode, the Quanzhou operator finds
it in the contact queue and records the call, the commander declares a typhoon and sees the case on the command
board. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.e2e.test_journey import sign_in


def test_report_contact_and_command(browser: Browser, live_server, artifacts) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = phone.new_page()
    page.goto(f"{base}/public/claim?elder=1")
    expect(page.locator("body")).to_have_class(re.compile("elder"))
    page.fill("#f-name", "林秀英")
    page.fill("#f-phone", "13905956666")
    page.select_option("#f-line", "property")
    page.select_option("#f-cause", "waterlogging")
    page.fill("#f-addr", "晋江市安海镇桥头村32号")
    page.fill("#f-people", "1")
    page.fill("#f-place", "泉州市晋江市安海镇桥头村32号")
    page.check("input[name=consent]")
    page.screenshot(path=str(artifacts / "claims-public-form-elder.png"), full_page=True)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("报案成功")
    report_no = page.locator("strong.mono").inner_text()
    assert re.fullmatch(r"BA\d{6}[A-Z0-9]{6}", report_no)
    page.screenshot(path=str(artifacts / "claims-public-done.png"), full_page=True)
    phone.close()

    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, base, "qz_claims_op")
    page.goto(f"{base}/claims/queue")
    row = page.locator("tr", has_text=report_no)
    expect(row).to_contain_text("人员被困")
    page.screenshot(path=str(artifacts / "claims-queue.png"), full_page=True)
    row.locator("a").click()
    page.select_option("#contact select[name=outcome]", "reached")
    page.click("#contact button[type=submit]")
    expect(page.locator(".success.banner")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("已联系")
    page.screenshot(path=str(artifacts / "claims-case.png"), full_page=True)
    ctx.close()

    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, base, "fj_commander")
    page.goto(f"{base}/claims/events")
    page.fill("input[name=code]", "E2E-TY")
    page.fill("input[name=name]", "台风演练")
    page.fill("input[name=regions]", "3505")
    page.fill("input[name=starts_at]", "2020-01-01T00:00")
    page.click("form.card.form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("台风演练")
    expect(page.locator("#event-live")).to_contain_text("案件")
    page.screenshot(path=str(artifacts / "claims-event.png"), full_page=True)
    ctx.close()
