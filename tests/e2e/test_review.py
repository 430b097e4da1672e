"""Consumer-protection review in a real browser: a Quanzhou sales colleague submits a poster text, sees the
findings highlighted; the reviewer moves between findings with the keyboard, dismisses one with a reason,
accepts the others (htmx, progress counter), concludes "pass with changes" and gets the review number.
Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.e2e.test_journey import sign_in

POSTER = (
    "安心宝年金保险 · 开门红\n本产品保本保息，收益比银行定期高多了！\n全国销量第一，即将停售，赶紧抢购！\n"
    "本产品由示例人寿保险股份有限公司承保，具体保险责任以保险条款为准。"
)


def test_submit_poster_highlight_dismiss_approve(browser: Browser, live_server, artifacts) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url

    # 1. the submitter pastes the poster text and submits it to the branch's reviewer
    sub_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = sub_ctx.new_page()
    sign_in(page, base, "qz_collaborator")
    page.goto(f"{base}/review/new")
    page.fill("input[name=title]", "安心宝年金保险开门红海报")
    page.select_option("select[name=material_type]", "marketing")
    page.select_option("select[name=product_line]", "annuity")
    reviewer = page.locator("select[name=reviewer_id] option", has_text="蔡海燕").get_attribute("value")
    page.select_option("select[name=reviewer_id]", reviewer)
    page.fill("textarea[name=text]", POSTER)
    page.click("#review-new button[type=submit]")
    expect(page).to_have_url(re.compile(r"/review/\d+$"))
    url = page.url
    text = page.locator("#material-text")
    expect(text.locator("mark", has_text="保本保息")).to_be_visible()
    expect(text.locator("mark", has_text="第一")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("审查中")
    page.screenshot(path=str(artifacts / "review-1-submitted.png"), full_page=True)

    # 2. the reviewer opens it: keyboard navigation between findings
    rev_ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    rev = rev_ctx.new_page()
    sign_in(rev, base, "qz_reviewer")
    rev.goto(url)
    expect(rev.locator("#kbd-hint")).to_be_visible()
    cards = rev.locator("#findings-panel [data-finding]")
    n = cards.count()
    assert n >= 3
    expect(rev.locator("#progress")).to_have_text(f"0/{n} 条已处理")
    rev.locator("body").press("j")
    expect(cards.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
    rev.locator("body").press("j")
    expect(cards.nth(1)).to_have_class(re.compile(r"\bcurrent\b"))
    expect(cards.nth(1)).to_be_focused()
    rev.keyboard.press("ArrowUp")
    expect(cards.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
    # clicking a highlighted phrase selects its finding
    text = rev.locator("#material-text")
    text.locator("mark", has_text="保本保息").click()
    current = rev.locator("#findings-panel .finding-card.current")
    expect(current).to_contain_text("保本保息")
    expect(text.locator("mark.current", has_text="保本保息")).to_be_visible()

    # 3. dismiss one finding (reason required), accept the others
    target = rev.locator("#findings-panel .finding-card", has_text="「第一」")
    fid = target.get_attribute("data-finding")
    target.locator("input[value=dismiss]").check()
    target.locator("button[type=submit]").click()
    expect(rev.locator(f"#card-{fid}")).to_contain_text("驳回须说明理由")
    card = rev.locator(f"#card-{fid}")
    card.locator("input[value=dismiss]").check()
    card.locator("textarea[name=reason]").fill("“全国销量第一”有行业协会数据出处，已在海报脚注标明")
    card.locator("button[type=submit]").click()
    expect(rev.locator(f"#card-{fid}")).to_have_attribute("data-decision", "dismiss")
    expect(rev.locator("#progress")).to_have_text(f"1/{n} 条已处理")
    for i in range(n):
        c = cards.nth(i)
        if c.get_attribute("data-finding") == fid:
            continue
        cid = c.get_attribute("data-finding")
        c.locator("input[value=accept]").check()
        c.locator("button[type=submit]").click()
        expect(rev.locator(f"#card-{cid}")).to_have_attribute("data-decision", "accept")
    expect(rev.locator("#progress")).to_have_text(f"{n}/{n} 条已处理")
    rev.locator("body").press("j")
    rev.screenshot(path=str(artifacts / "review-2-decided.png"), full_page=False)

    # 4. approve: pass with changes, the review number is assigned
    concl = rev.locator("#conclude-card")
    concl.locator("input[value=pass_with_changes]").check()
    concl.locator("textarea[name=comment]").fill("删除保本、存款类比、绝对化用语和停售表述后可发布")
    concl.locator("#conclude-submit").click()
    rev.wait_for_load_state("networkidle")
    expect(rev.locator("h1")).to_contain_text("审查通过")
    expect(rev.locator("#review-number")).to_contain_text(re.compile(r"消保审查〔\d{4}〕第\d{6}号"))
    rev.screenshot(path=str(artifacts / "review-3-approved.png"), full_page=True)

    # 5. statistics: the charts draw (ECharts canvases) and the dismissed rule is listed
    rev.goto(f"{base}/review/stats")
    expect(rev.locator("#chart-category canvas")).to_have_count(1)
    expect(rev.locator("#most-dismissed")).to_contain_text("AT-002")
    rev.screenshot(path=str(artifacts / "review-4-stats.png"), full_page=True)

    for ctx in (sub_ctx, rev_ctx):
        ctx.close()
