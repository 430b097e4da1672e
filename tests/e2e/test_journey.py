"""The whole complaint journey in a real browser: a consumer files on a phone, an officer assigns,
a handler contacts and decides, the consumer follows it with a texted code, and the officer exports the
quarter's regulator statistics. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
from playwright.sync_api import Browser, Page, expect

from xiaobao.core.calendar import CN_TZ
from xiaobao.demo.load import DEMO_PASSWORD

PHONE = "13905958888"
STORY = "台风过后车辆泡水，理赔员定损金额远低于4S店报价，多次沟通无果，请求重新核定损失。"


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))


def user_id(live_server, username: str) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from xiaobao.auth.tables import User

    with live_server.container.uow() as uow:
        return int(uow.session.scalar(select(User.id).where(User.username == username)))


def run_action(page: Page, action: str, fill: dict[str, str] | None = None) -> None:
    box = page.locator(f"details:has(form[action$='/actions/{action}'])")
    box.locator("summary").click()
    form = box.locator("form")
    for selector, value in (fill or {}).items():
        field = form.locator(selector)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        elif field.get_attribute("type") == "radio":
            form.locator(f"label:has({selector})").click()  # styled chips: the user clicks the label
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def test_complaint_journey(browser: Browser, live_server, artifacts) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url

    # 1. a consumer files a complaint on a phone (no login)
    phone_ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    consumer = phone_ctx.new_page()
    consumer.goto(f"{base}/public/complaint")
    consumer.fill("#f-name", "陈阿婆")
    consumer.fill("#f-phone", PHONE)
    consumer.select_option("#f-org", "FJ-QZ")
    consumer.select_option("#f-line", "motor.commercial")
    consumer.locator("input[name=cause]").first.check()
    consumer.locator("input[name=demand]").first.check()
    consumer.fill("#f-desc", STORY)
    consumer.check("input[name=consent]")
    consumer.screenshot(path=str(artifacts / "journey-1-consumer-form.png"), full_page=True)
    consumer.click("button[type=submit].primary.big")
    tracking_no = consumer.locator("#tracking-no").inner_text().strip()
    assert re.fullmatch(r"TS\d{6}[A-Z0-9]{6}", tracking_no)
    consumer.screenshot(path=str(artifacts / "journey-2-consumer-done.png"), full_page=True)

    # 2. the officer finds it in the list and assigns a handler
    officer_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    officer = officer_ctx.new_page()
    sign_in(officer, base, "hq_officer")
    officer.goto(f"{base}/complaints?q=定损金额")
    officer.get_by_text(tracking_no).first.click()
    expect(officer.locator("body")).to_contain_text(tracking_no)
    expect(officer.locator("#complainant")).not_to_contain_text(PHONE)  # masked by default
    run_action(officer, "accept", {"select[name=handler_id]": str(user_id(live_server, "qz_handler1"))})
    expect(officer.locator("body")).to_contain_text("已受理")
    detail_url = officer.url

    # 3. the handler contacts the complainant, starts, and decides
    handler_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    handler = handler_ctx.new_page()
    sign_in(handler, base, "qz_handler1")
    handler.goto(detail_url)
    contact = handler.locator("form[action$='/contacts']")
    contact.locator("select[name=method]").select_option("phone")
    contact.locator("select[name=outcome]").select_option("reached")
    contact.locator("textarea[name=note]").fill("已致电投诉人，约定重新查勘。")
    contact.locator("button[type=submit]").click()
    handler.wait_for_load_state("networkidle")
    run_action(handler, "start")
    run_action(
        handler,
        "decide",
        {
            "input[name=outcome][value=partial]": "x",
            "textarea[name=decision]": "经重新查勘，核定维修费用为12,800元，较原定损金额增加3,200元，差额将于3个工作日内支付。",
        },
    )
    expect(handler.locator("#notice")).to_contain_text("核查")
    expect(handler.locator("#notice")).to_contain_text("仲裁")
    handler.screenshot(path=str(artifacts / "journey-3-handler-decided.png"), full_page=True)

    # 4. the consumer follows the complaint with the tracking number and a texted code
    consumer.goto(f"{base}/public/track")
    consumer.fill("input[name=tracking_no]", tracking_no)
    consumer.click("button[type=submit].primary.big")
    message = live_server.sms.last_to(PHONE)
    assert message is not None
    code = re.search(r"验证码为 (\d{6})", message.text)
    assert code, message.text
    consumer.fill("input[name=code]", code.group(1))
    consumer.click("button[type=submit].primary.big")
    expect(consumer.locator("body")).to_contain_text("核查")
    expect(consumer.locator("body")).to_contain_text(tracking_no)
    consumer.screenshot(path=str(artifacts / "journey-4-consumer-status.png"), full_page=True)

    # 5. the officer reports this quarter's statistics to the regulator
    today = live_server.container.clock.now().astimezone(CN_TZ).date()
    q_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    officer.goto(f"{base}/complaints/stats?start={q_start.isoformat()}&end={today.isoformat()}")
    expect(officer.locator("body")).to_contain_text("监管统计")
    officer.screenshot(path=str(artifacts / "journey-5-stats.png"), full_page=True)
    with officer.expect_download() as dl:
        officer.get_by_text("导出 Excel").click()
    assert dl.value.suggested_filename.endswith(".xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(dl.value.path().read_bytes()))
    text = "\n".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value)
    assert "福建分公司" in text  # HQ sees the quarter by provincial branch
    assert PHONE not in text  # no personal data in the regulator report

    for ctx in (phone_ctx, officer_ctx, handler_ctx):
        ctx.close()
