"""Co-handling in a real browser: a Quanzhou handler asks the Fujian claims department about a complaint, the
decision is blocked until the collaborator signs in and answers the task (with an attachment), the answer
shows on the complaint page, and the handler then decides. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import time

from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.e2e.test_journey import run_action, sign_in
from xiaobao.auth import services as auth
from xiaobao.auth.tables import User
from xiaobao.complaints import services as complaints
from xiaobao.complaints.domain import Action
from xiaobao.complaints.schemas import ActionRequest, ComplaintCreate

QUESTION = "请理赔部核实本案定损过程，说明定损金额与修理厂报价差异的原因。"
ANSWER = "经复核，原定损遗漏左前翼子板钣金费用，同意补充定损3,200元，已通知修理厂。"
DECISION = "经重新查勘，核定维修费用较原定损金额增加3,200元，差额将于3个工作日内支付。"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def complaint_in_handling(live_server) -> int:  # type: ignore[no-untyped-def]
    """A complaint at 泉州中支 assigned to qz_handler1 and in handling (set up through the services).

    The live server's in-process job runner writes to the same SQLite file (its first sweeps start with the
    server); a read-then-write transaction that meets one of its commits fails with "database is locked", so
    the setup is retried."""
    for attempt in range(10):
        try:
            return _complaint_in_handling(live_server)
        except OperationalError:
            if attempt == 9:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def _complaint_in_handling(live_server) -> int:  # type: ignore[no-untyped-def]
    c = live_server.container
    now = c.clock.now()
    with c.uow() as uow:
        s = uow.session
        users = {
            u.username: u
            for u in s.scalars(select(User).where(User.username.in_(["qz_officer", "qz_handler1"])))
        }
        officer, handler = auth.principal_for(users["qz_officer"]), auth.principal_for(users["qz_handler1"])
        data = ComplaintCreate(
            org_code="FJ-QZ",
            complainant_name="林秀英",
            phone="13905951234",
            business_line="motor.commercial",
            cause="claims.amount",
            demand="compensation",
            channel="hotline",
            description="车辆因台风受损，定损金额明显低于维修厂报价，多次联系理赔员未获答复，要求重新定损。",
        )
        complaint = complaints.create_complaint(
            s, officer, data, complaints.IntakeContext(now=now, calendar=c.calendar)
        )
        uow.commit()
        complaints.act(
            uow,
            officer,
            complaint.id,
            Action.ACCEPT,
            ActionRequest(version=complaint.version, handler_id=handler.user_id),
            now,
        )
        complaints.act(
            uow, handler, complaint.id, Action.START, ActionRequest(version=complaint.version), now
        )
        return int(complaint.id)


def test_collaborator_answers_then_handler_decides(
    browser: Browser, live_server, artifacts, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    cid = complaint_in_handling(live_server)

    # 1. the handler asks the province's claims department, blocking the decision
    handler_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    handler = handler_ctx.new_page()
    sign_in(handler, base, "qz_handler1")
    handler.goto(f"{base}/complaints/{cid}")
    panel = handler.locator("#cohandling")
    panel.locator("summary").click()
    panel.locator("select[name=org_id]").select_option(label="福建分公司理赔部")
    panel.locator("select[name=owner_id]").select_option(label="苏伟明 · 福建分公司理赔部")
    panel.locator("textarea[name=question]").fill(QUESTION)
    expect(panel.locator("input[name=blocking]")).to_be_checked()
    panel.locator("button[type=submit]").click()
    handler.wait_for_load_state("networkidle")
    expect(handler.locator("#cohandling")).to_contain_text("福建分公司理赔部")
    expect(handler.locator("#cohandling")).to_contain_text("阻断处理意见")
    expect(handler.locator("#timeline")).to_contain_text("发起部门协办")

    # 2. the decision is blocked while the request is open
    box = handler.locator("details:has(form[action$='/actions/decide'])")
    box.locator("summary").click()
    expect(box.locator(".blockers")).to_contain_text("协办任务")
    handler.screenshot(path=str(artifacts / "cohandling-1-requested.png"), full_page=True)
    box.locator("summary").click()  # closed again: run_action opens it
    run_action(
        handler,
        "decide",
        {
            "input[name=outcome][value=partial]": "x",
            "textarea[name=decision]": DECISION,
        },
    )
    expect(handler.locator(".banner.error")).to_contain_text("阻断性协办")

    # 3. the collaborator signs in, finds the task and answers it with an attachment
    collab_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    collab = collab_ctx.new_page()
    sign_in(collab, base, "fj_claims")
    collab.goto(f"{base}/tasks")
    expect(collab.locator("#mine")).to_contain_text("请理赔部核实本案定损过程")
    collab.locator("#mine a.task-title", has_text="请理赔部核实本案定损过程").first.click()
    collab.wait_for_load_state("networkidle")
    expect(collab.locator("#description")).to_contain_text(QUESTION)
    answer = collab.locator("details#action-complete")
    if answer.get_attribute("open") is None:
        answer.locator("summary").click()
    answer.locator("textarea[name=answer]").fill(ANSWER)
    evidence = tmp_path / "复核意见.pdf"
    evidence.write_bytes(PDF)
    answer.locator("input[type=file]").set_input_files(str(evidence))
    collab.screenshot(path=str(artifacts / "cohandling-2-collaborator-answering.png"), full_page=True)
    answer.locator("button[type=submit]").click()
    collab.wait_for_load_state("networkidle")
    expect(collab.locator("h1")).to_contain_text("已完成")
    expect(collab.locator("#answer")).to_contain_text("复核意见.pdf")

    # 4. the handler sees the answer on the complaint page and decides
    handler.goto(f"{base}/complaints/{cid}")
    expect(handler.locator("#cohandling")).to_contain_text(ANSWER)
    expect(handler.locator("#timeline")).to_contain_text("协办答复")
    run_action(
        handler,
        "decide",
        {
            "input[name=outcome][value=partial]": "x",
            "textarea[name=decision]": DECISION,
        },
    )
    expect(handler.locator("#notice")).to_contain_text("核查")
    expect(handler.locator("h1")).to_contain_text("已出具处理意见")
    handler.screenshot(path=str(artifacts / "cohandling-3-decided.png"), full_page=True)

    for ctx in (handler_ctx, collab_ctx):
        ctx.close()
