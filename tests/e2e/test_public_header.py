"""The consumer header on a small phone: the four service tabs (complaint, complaint progress, claim report, claim
progress) fit (and the claim form below them) without sideways scrolling in Chinese and English, normal and elder mode, and each leads to its
page. Screenshots of the header are kept in test-artifacts/."""

from __future__ import annotations

from playwright.sync_api import Browser, expect


def test_public_tabs_fit_and_link_both_services(browser: Browser, live_server, artifacts) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    for lang in ("zh", "en"):
        ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
        page = ctx.new_page()
        if lang == "en":
            page.goto(f"{base}/lang/en")
        for elder in ("0", "1"):
            page.goto(f"{base}/public/claim?elder={elder}")
            tabs = page.locator(".pub-tabs a")
            expect(tabs).to_have_count(4)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (lang, elder, overflow)
            boxes = [tabs.nth(i).bounding_box() for i in range(4)]
            assert all(b is not None and b["x"] >= 0 and b["x"] + b["width"] <= 361 for b in boxes), boxes
            page.locator(".pub-header").screenshot(
                path=str(artifacts / f"public-header-{lang}-elder{elder}.png")
            )
        tabs = page.locator(".pub-tabs a")
        tabs.nth(3).click()
        page.wait_for_url(f"{base}/public/claim/track")
        expect(tabs.nth(3)).to_have_attribute("aria-current", "page")
        tabs.nth(1).click()
        page.wait_for_url(f"{base}/public/track")
        expect(tabs.nth(1)).to_have_attribute("aria-current", "page")
        tabs.nth(2).click()
        page.wait_for_url(f"{base}/public/claim")
        expect(tabs.nth(2)).to_have_attribute("aria-current", "page")
        tabs.nth(0).click()
        page.wait_for_url(f"{base}/public/complaint")
        expect(tabs.nth(0)).to_have_attribute("aria-current", "page")
        ctx.close()
