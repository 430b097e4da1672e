"""Claims pages in English: the fixed UI text comes from the catalog (web/i18n_en.yaml) through `_()`, the data
labels (statuses, lines, causes) from the claims tables; the consumer header links both public services."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import World, login
from tests.integration.claims_support import build_claims
from xiaobao.bootstrap import Container
from xiaobao.web.i18n import catalog

REPORT = {
    "channel": "hotline",
    "reporter_name": "黄秋萍",
    "reporter_phone": "13905957777",
    "line": "motor",
    "cause": "waterlogging",
    "loss_at": "2026-03-02T08:30",
    "place_text": "泉州市丰泽区东海街道泉秀路12号",
    "vehicle_plate": "闽C55555",
    "estimated_amount": "4200",
    "people_at_risk": "0",
    "description": "车辆泡水",
}


@pytest.fixture
def cw(container: Container, world: World) -> World:
    with container.uow() as uow:
        build_claims(uow.session, world)
        uow.commit()
    return world


def _english(client: TestClient) -> None:
    assert client.get("/lang/en", follow_redirects=False).status_code == 303


def test_staff_claim_pages_in_english(client: TestClient, cw: World) -> None:
    login(client, "qz_claims_op")
    r = client.post("/claims/new", data=REPORT, follow_redirects=False)
    assert r.status_code == 303
    case_url = r.headers["location"].split("?")[0]
    _english(client)
    expected = {
        "/claims": ["Claims navigation", "Contact queue", "New claim report", "Catastrophe events"],
        "/claims/queue": ["awaiting contact", "in event mode", "Report no."],
        "/claims/new": [
            "New claim report",
            "Time of loss",
            "Place of loss",
            "Cause of loss",
            "Submit report",
        ],
        "/claims/events": ["Catastrophe events", "Event code"],
        "/claims/staff": ["Factory code"],
        case_url: [
            "Contact the reporter",
            "Flooded (water ingress)",
            "Contact attempts",
            "Record attempt",
            "Timeline (replayed)",
        ],
    }
    for url, texts in expected.items():
        page = client.get(url)
        assert page.status_code == 200, url
        for text in texts:
            assert text in page.text, (url, text)
        for zh in ("理赔导航", "待联系队列", "坐席报案", "出险时间"):
            assert zh not in page.text, (url, zh)


def test_public_claim_pages_in_english_and_header_links(client: TestClient, cw: World) -> None:
    zh_page = client.get("/public/claim").text
    for href, zh in (
        ("/public/complaint", "我要投诉"),
        ("/public/track", "投诉进度"),
        ("/public/claim", "我要报案"),
        ("/public/claim/track", "报案进度"),
    ):
        assert f'href="{href}"' in zh_page and zh in zh_page
    # the current tab is marked on each service's pages
    assert 'href="/public/claim" aria-current="page"' in zh_page
    track = client.get("/public/claim/track").text
    assert 'href="/public/claim/track" aria-current="page"' in track
    assert 'href="/public/claim" aria-current="page"' not in track
    assert 'href="/public/claim" aria-current="page"' not in client.get("/public/complaint").text
    _english(client)
    for url in ("/public/claim", "/public/claim/track", "/public/complaint"):
        page = client.get(url).text
        for en in ("Report a claim", "Claim progress", "Make a complaint", "Complaint progress"):
            assert en in page, (url, en)
    form = client.get("/public/claim").text
    assert catalog()["出险原因"] in form and "Typhoon" in form and "我要报案" not in form
