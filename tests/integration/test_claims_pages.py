"""Claims HTML pages end to end through the app (both databases): agent report form, list and queue, case page
with contact, action, rescue and upload forms, events (declare, page, tag), staff page, and the public
consumer report with photos, elder mode, double-submit protection and tracking."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.factories import World, login
from tests.integration.claims_support import build_claims
from xiaobao.bootstrap import Container
from xiaobao.claims.tables import ClaimAttachment, ClaimCase

JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64 + b"\xff\xd9"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.fixture
def cw(container: Container, world: World) -> World:
    with container.uow() as uow:
        build_claims(uow.session, world)
        uow.commit()
    return world


FORM = {
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


def _case_id(r: Any) -> int:
    m = re.search(r"/claims/(\d+)", r.headers["location"])
    assert m
    return int(m.group(1))


def test_agent_form_case_page_and_forms(client: TestClient, cw: World, container: Container) -> None:
    login(client, "qz_claims_op")
    assert client.get("/claims/new").status_code == 200
    bad = client.post("/claims/new", data={**FORM, "vehicle_plate": "xx", "reporter_phone": "1234567"})
    assert bad.status_code == 422 and "车牌号" in bad.text and 'value="黄秋萍"' in bad.text
    r = client.post("/claims/new", data=FORM, follow_redirects=False)
    assert r.status_code == 303
    cid = _case_id(r)
    page = client.get(f"/claims/{cid}")
    assert page.status_code == 200 and "139****7777" in page.text and "13905957777" not in page.text
    assert "小额快赔" in page.text and "丰泽区" in page.text

    r = client.post(
        f"/claims/{cid}/contacts", data={"channel": "phone", "outcome": "reached"}, follow_redirects=False
    )
    assert r.status_code == 303
    with container.uow() as uow:
        version = uow.session.get(ClaimCase, cid).version  # type: ignore[union-attr]
    r = client.post(f"/claims/{cid}/actions/collect_info", data={"version": version}, follow_redirects=False)
    assert r.status_code == 303
    # a refused action re-renders the page with the bilingual reason
    r = client.post(f"/claims/{cid}/actions/pay", data={"version": version + 1, "amount": "1"})
    assert r.status_code == 409 and "不能执行" in r.text
    r = client.post(
        f"/claims/{cid}/rescues",
        data={"kind": "tow", "vendor": "泉州安达拖车", "eta": "2026-03-02T11:00"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/claims/{cid}/attachments", files={"file": ("scene.mp4", MP4, "video/mp4")}, follow_redirects=False
    )
    assert r.status_code == 303
    r = client.post(
        f"/claims/{cid}/attachments", files={"file": ("evil.exe", b"MZ...", "application/octet-stream")}
    )
    assert r.status_code == 422 and "不支持的文件类型" in r.text
    page = client.get(f"/claims/{cid}")
    assert "泉州安达拖车" in page.text and "scene.mp4" in page.text and "资料已收集" in page.text
    assert client.get("/claims").status_code == 200 and "139****7777" not in client.get("/claims").text
    assert client.get("/claims", params={"queue": "contact"}).status_code == 200
    assert client.get("/claims", params={"region": "abc"}).status_code == 200  # error shown, not a crash
    assert client.get("/claims/queue").status_code == 200
    assert client.get("/claims/staff").status_code == 200


def test_events_pages(client: TestClient, cw: World) -> None:
    login(client, "qz_claims_op")
    assert client.get("/claims/events").status_code == 200
    assert client.post("/claims/events", data={"code": "X"}).status_code == 403
    login(client, "fj_commander")
    bad = client.post(
        "/claims/events",
        data={
            "code": "DK",
            "name": "杜苏芮",
            "peril": "typhoon",
            "regions": "fujian",
            "starts_at": "2026-03-01T00:00",
        },
    )
    assert bad.status_code == 422 and "行政区划" in bad.text
    r = client.post(
        "/claims/events",
        data={
            "code": "DK-1",
            "name": "台风杜苏芮",
            "peril": "typhoon",
            "regions": "3505, 3502",
            "starts_at": "2026-03-01T00:00",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    eid = int(r.headers["location"].split("/")[-1].split("?")[0])
    page = client.get(f"/claims/events/{eid}")
    assert page.status_code == 200 and "台风杜苏芮" in page.text
    r = client.post(f"/claims/events/{eid}/factories", data={"factory_code": "FS"}, follow_redirects=False)
    assert r.status_code == 303
    assert "佛山理赔工厂" in client.get(f"/claims/events/{eid}").text
    # no polling: the event page links to the live (Server-Sent Events) command page
    ev_page = client.get(f"/claims/events/{eid}").text
    assert "every 15s" not in ev_page and f"/claims/events/{eid}/command" in ev_page
    assert client.get(f"/claims/events/{eid}/command").status_code == 200
    x = client.get(f"/claims/events/{eid}/daily.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    r = client.post(f"/claims/events/{eid}/tag", data={"case_ids": "BA000NOPE"})
    assert r.status_code == 200 and "BA000NOPE" in r.text
    r = client.post(f"/claims/events/{eid}/close", follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/claims/queue/dispatch", follow_redirects=False)
    assert r.status_code == 303 and "dispatched=0" in r.headers["location"]
    assert "调度完成" in client.get(r.headers["location"]).text


def _pcsrf(client: TestClient, url: str) -> tuple[str, str]:
    page = client.get(url)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    sub = re.search(r'name="submission" value="([^"]+)"', page.text)
    assert token
    return token.group(1), sub.group(1) if sub else ""


PUBLIC = {
    "reporter_name": "林秀英",
    "reporter_phone": "13905956666",
    "line": "property",
    "cause": "typhoon",
    "loss_at": "2026-03-02T07:00",
    "place_text": "泉州市晋江市安海镇桥头村",
    "property_address": "晋江市安海镇桥头村32号",
    "people_at_risk": "2",
    "consent": "1",
    "lat": "24.72",
    "lon": "118.46",
}


def test_public_report_with_photos_elder_mode_and_tracking(
    client: TestClient, cw: World, container: Container
) -> None:
    page = client.get("/public/claim", params={"elder": "1"})
    assert page.status_code == 200 and "elder" in page.text and "使用我现在的位置" in page.text
    token, sub = _pcsrf(client, "/public/claim")
    # missing consent and a bad file: both named, nothing filed
    r = client.post(
        "/public/claim",
        data={**PUBLIC, "consent": "", "csrf_token": token, "submission": sub},
        files=[("files", ("x.exe", b"MZ", "application/octet-stream"))],
    )
    assert r.status_code == 422 and "个人信息" in r.text and "不支持的文件类型" in r.text
    data = {**PUBLIC, "csrf_token": token, "submission": sub}
    files = [("files", ("house.jpg", JPG, "image/jpeg")), ("files", ("flood.mp4", MP4, "video/mp4"))]
    r = client.post("/public/claim", data=data, files=files, follow_redirects=False)
    assert r.status_code == 303 and "/public/claim/done" in r.headers["location"]
    # the same submission again (double tap): no second case
    r2 = client.post("/public/claim", data=data, files=files, follow_redirects=False)
    assert r2.status_code == 303
    done = client.get(r.headers["location"])
    report_no = re.search(r"BA\d{6}[A-Z0-9]{6}", done.text)
    assert report_no
    with container.uow() as uow:
        s = uow.session
        assert (
            s.scalar(
                select(func.count()).select_from(ClaimCase).where(ClaimCase.reporter_phone == "13905956666")
            )
            == 1
        )
        c = s.scalar(select(ClaimCase).where(ClaimCase.report_no == report_no.group()))
        assert c is not None and c.channel == "mobile" and c.people_at_risk == 2 and c.rescue_needed
        assert c.org.code == "QZ" and c.created_by_id is None and c.lat == pytest.approx(24.72)
        assert (
            s.scalar(select(func.count()).select_from(ClaimAttachment).where(ClaimAttachment.case_id == c.id))
            == 2
        )
    # without the CSRF token nothing is filed
    r = client.post("/public/claim", data={**PUBLIC, "reporter_phone": "13905956667"})
    assert r.status_code == 403
    # tracking needs the matching phone
    token, _ = _pcsrf(client, "/public/claim/track")
    r = client.post(
        "/public/claim/track",
        data={"csrf_token": token, "report_no": report_no.group(), "phone": "13900000000"},
    )
    assert r.status_code == 404
    r = client.post(
        "/public/claim/track",
        data={"csrf_token": token, "report_no": report_no.group(), "phone": "13905956666"},
    )
    assert r.status_code == 200 and "已报案" in r.text


def test_public_reports_are_limited_per_network(client: TestClient, cw: World, container: Container) -> None:
    from xiaobao.claims.public_pages import REPORT_LIMIT

    for i in range(REPORT_LIMIT):
        token, sub = _pcsrf(client, "/public/claim")
        r = client.post(
            "/public/claim",
            data={**PUBLIC, "reporter_phone": f"139059{i:05d}", "csrf_token": token, "submission": sub},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[:300]
    token, sub = _pcsrf(client, "/public/claim")
    r = client.post("/public/claim", data={**PUBLIC, "csrf_token": token, "submission": sub})
    assert r.status_code == 429 and "95500" in r.text
    with container.uow() as uow:
        n = uow.session.scalar(
            select(func.count()).select_from(ClaimCase).where(ClaimCase.channel == "mobile")
        )
    assert n == REPORT_LIMIT
