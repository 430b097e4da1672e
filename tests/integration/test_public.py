"""The consumer side without sign-in: complaint form (CSRF, validation, rate limit, elder mode, English) and
tracking with a texted one-time code."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories import complaint_payload
from xiaobao.complaints import services
from xiaobao.complaints.domain import Action
from xiaobao.complaints.public_pages import TRACK_COOKIE
from xiaobao.complaints.schemas import ActionRequest
from xiaobao.complaints.tables import Complaint
from xiaobao.core.audit import AuditLog
from xiaobao.web.public import CSRF_COOKIE, seal

ID_NUMBER = "350521195803150021"  # born 1958: elderly on 2026-03-02
PHONE = "13905951234"
TRACKING_RE = re.compile(r"TS\d{6}[A-Z2-9]{6}")


def csrf(client: Any, path: str = "/public/complaint") -> str:
    r = client.get(path)
    assert r.status_code == 200
    m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert m, "the page carries the CSRF token in a hidden field"
    return m.group(1)


def form(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "complainant_name": "林秀英",
        "phone": PHONE,
        "id_number": ID_NUMBER,
        "id_consent": "1",
        "org_code": "QZ",
        "policy_no": "PDAA202635050000012",
        "business_line": "motor.commercial",
        "cause": "claims.amount",
        "demand": "compensation",
        "description": "车辆因台风受损，定损金额明显低于维修厂报价，多次联系理赔员未获答复。",
        "special_groups": ["disabled"],
        "channel": "mobile",
        "consent": "1",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def submit(client: Any, **over: Any) -> Any:
    data = form(**over)
    data.setdefault("csrf_token", csrf(client))
    return client.post("/public/complaint", data=data)


def count(container: Any) -> int:
    with container.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Complaint)) or 0)


def file_one(client: Any) -> str:
    r = submit(client)
    assert r.status_code == 200, r.text
    m = TRACKING_RE.search(r.text)
    assert m
    return m.group(0)


# ---------------------------------------------------------------- the form


def test_form_is_mobile_chinese_and_lists_branches_not_departments(client, world):
    r = client.get("/public/complaint")
    assert r.status_code == 200
    html = r.text
    assert 'name="viewport"' in html and 'lang="zh-CN"' in html
    assert "我要投诉" in html and "个人信息处理说明" in html
    assert '<optgroup label="福建分公司">' in html
    assert 'value="QZ"' in html and 'value="XM"' in html and 'value="SH"' in html
    assert 'value="FJ-CP"' not in html and 'value="HQ-CP"' not in html  # departments are not offered
    assert 'value="HQ"' in html  # "not sure": head office forwards it
    assert r.cookies.get(CSRF_COOKIE) or client.cookies.get(CSRF_COOKIE)


def test_anonymous_submit_returns_tracking_number_and_texts_acknowledgement(client, world, container, sms):
    r = submit(client, channel="web")
    assert r.status_code == 200, r.text
    assert r.url.path == "/public/complaint/done"
    no = TRACKING_RE.search(r.text).group(0)  # type: ignore[union-attr]
    # the regulatory promise and this complaint's due day
    assert "15日内" in r.text and "2026年03月17日" in r.text
    assert f"/public/track?no={no}" in r.text
    with container.uow() as uow:
        c = uow.session.scalar(select(Complaint).where(Complaint.tracking_no == no))
        assert c is not None
        assert c.org.code == "QZ" and c.channel == "web" and c.created_by_id is None
        assert set(c.groups()) == {"disabled", "elderly"}
        audit = uow.session.scalar(
            select(AuditLog).where(AuditLog.action == "complaint.create", AuditLog.entity_id == str(c.id))
        )
        assert audit is not None and audit.ip == "testclient"
        consent = uow.session.scalar(
            select(AuditLog).where(AuditLog.action == "complaint.consent", AuditLog.entity_id == str(c.id))
        )
        assert consent is not None and consent.after["id_number"] is True  # evidence of the separate consent
    ack = sms.last_to(PHONE)
    assert ack is not None and no in ack.text


def test_channel_comes_from_the_hidden_field_and_defaults_to_mobile(client, world, container):
    submit(client, channel="regulator")  # tampered: a consumer cannot pose as a regulator referral
    with container.uow() as uow:
        assert uow.session.scalar(select(Complaint.channel)) == "mobile"


def test_done_page_refuses_a_forged_token(client, world):
    r = client.get(
        "/public/complaint/done", params={"t": "TS260302AAAAAA|1773763199.forged"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/public/complaint"


def test_missing_consent_and_bad_phone_show_field_errors_and_keep_values(client, world, container, sms):
    r = submit(client, consent=None, phone="12345", id_consent=None, description="短")
    assert r.status_code == 422
    html = r.text
    assert 'id="e-consent"' in html and "请阅读并勾选同意个人信息处理说明" in html
    assert 'id="e-phone"' in html and "电话号码格式不正确" in html
    assert 'id="e-id_consent"' in html  # an ID number needs its own consent (PIPL Art.29)
    assert 'id="e-description"' in html
    assert 'value="林秀英"' in html and 'value="12345"' in html and 'value="PDAA202635050000012"' in html
    assert 'value="claims.amount" required checked' in html
    assert '<option value="QZ" selected>' in html
    assert count(container) == 0 and sms.sent == []


def test_every_problem_is_reported_at_once(client, world):
    r = submit(client, phone="12345", org_code="", business_line="", cause="", demand="", description="")
    assert r.status_code == 422
    for field in ("phone", "org_code", "business_line", "cause", "demand", "description"):
        assert f'id="e-{field}"' in r.text, field


def test_bad_id_number_is_reported_by_the_field(client, world):
    r = submit(client, id_number="350521195803150022")
    assert r.status_code == 422
    assert 'id="e-id_number"' in r.text and "校验位" in r.text


def test_field_errors_in_english(client, world):
    client.get("/lang/en", follow_redirects=False)
    r = submit(client, consent=None, phone="12345")
    assert r.status_code == 422
    assert "Please read and accept the personal information notice" in r.text
    assert "not a valid phone number" in r.text
    assert "请阅读" not in r.text


@pytest.mark.parametrize("token", [None, "", "forged.token", "x" * 40])
def test_form_rejects_missing_or_forged_csrf(client, world, container, sms, token):
    csrf(client)  # the browser holds a genuine cookie; the post carries none or another value
    data = form()
    if token is not None:
        data["csrf_token"] = token
    r = client.post("/public/complaint", data=data)
    assert r.status_code == 403
    assert "页面已过期或来源不明" in r.text
    assert 'value="林秀英"' in r.text  # entries kept for an honest user whose page expired
    assert count(container) == 0 and sms.sent == []


def test_csrf_cookie_must_be_genuine_not_just_equal(client, world, container):
    forged = "nonce:1772416800.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    client.cookies.set(CSRF_COOKIE, forged, path="/public")
    r = client.post("/public/complaint", data={**form(), "csrf_token": forged})
    assert r.status_code == 403
    assert count(container) == 0


def test_csrf_token_expires(client, world, container, clock):
    token = csrf(client)
    clock.advance(timedelta(hours=13))
    r = client.post("/public/complaint", data={**form(), "csrf_token": token})
    assert r.status_code == 403
    assert count(container) == 0
    r = submit(client)  # a fresh page gets a fresh token
    assert r.status_code == 200


def test_rate_limit_per_ip(client, world, container, clock):
    for _ in range(services.PUBLIC_SUBMIT_LIMIT):
        assert submit(client).status_code == 200
    r = submit(client)
    assert r.status_code == 429
    assert "操作过于频繁" in r.text and 'value="林秀英"' in r.text
    assert count(container) == services.PUBLIC_SUBMIT_LIMIT
    clock.advance(timedelta(minutes=61))
    assert submit(client).status_code == 200


def test_json_api_shares_the_rate_limit(client, world, container):
    for _ in range(services.PUBLIC_SUBMIT_LIMIT):
        assert submit(client).status_code == 200
    r = client.post("/api/v1/public/complaints", json=complaint_payload(channel="mobile"))
    assert r.status_code == 429
    assert r.json()["error"] == "rate_limited"


def test_elder_mode_renders_large_text_and_persists(client, world):
    r = client.get("/public/complaint?elder=1")
    assert r.status_code == 200
    assert 'class="public elder"' in r.text
    assert 'data-elder="1"' in r.text and "退出大字版" in r.text
    assert client.cookies.get("xb_elder") == "1"
    assert 'class="public elder"' in client.get("/public/complaint").text  # the cookie keeps it on
    assert 'class="public elder"' in client.get("/public/track").text
    assert 'class="public"' in client.get("/public/complaint?elder=0").text
    assert 'class="public"' in client.get("/public/complaint").text


def test_elder_mode_survives_a_failed_submission(client, world):
    token = csrf(client, "/public/complaint?elder=1")
    r = client.post("/public/complaint", data={**form(consent=None), "csrf_token": token, "elder": "1"})
    assert r.status_code == 422 and 'class="public elder"' in r.text


def test_english_switch(client, world):
    r = client.get("/lang/en", follow_redirects=False)
    assert r.status_code == 303
    html = client.get("/public/complaint").text
    assert 'lang="en"' in html
    assert "Make a complaint" in html and "How we use your personal information" in html
    assert "Quanzhou sub-branch" in html and "Paid too little" in html
    assert "我要投诉" not in html


# ---------------------------------------------------------------- tracking


def request_code(client: Any, no: str) -> Any:
    token = csrf(client, "/public/track")
    return client.post("/public/track/code", data={"csrf_token": token, "tracking_no": no})


def texted_code(sms: Any) -> str:
    m = re.search(r"验证码为 (\d{6})", sms.sent[-1].text)
    assert m
    return m.group(1)


def verify(client: Any, no: str, code: str) -> Any:
    return client.post(
        "/public/track/verify",
        follow_redirects=False,
        data={"csrf_token": csrf(client, "/public/track"), "tracking_no": no, "code": code},
    )


def test_code_request_never_reveals_whether_the_number_exists(client, world, sms):
    no = file_one(client)
    before = len(sms.sent)
    known = request_code(client, no)
    assert known.status_code == 200 and len(sms.sent) == before + 1
    assert sms.sent[-1].phone == PHONE
    unknown = request_code(client, "TS260302ZZZZZZ")
    assert unknown.status_code == 200 and len(sms.sent) == before + 1
    for r in (known, unknown):
        assert "如果编号正确，验证码已通过短信发送到投诉时登记的手机" in r.text
        assert "139****1234" not in r.text and PHONE not in r.text


def test_code_request_needs_csrf(client, world, sms):
    no = file_one(client)
    before = len(sms.sent)
    r = client.post("/public/track/code", data={"tracking_no": no})
    assert r.status_code == 403 and len(sms.sent) == before


def test_right_code_shows_status_without_personal_numbers(client, world, container, sms):
    no = file_one(client)
    request_code(client, no)
    r = verify(client, no, texted_code(sms))
    assert r.status_code == 303 and r.headers["location"] == "/public/track/status"
    page = client.get("/public/track/status")
    assert page.status_code == 200
    html = page.text
    assert no in html and "已登记" in html
    assert "2026年03月02日" in html and "2026年03月17日" in html  # received, regulatory due
    assert 'class="stepper"' in html and "已出具处理意见" in html
    assert "我们收到了您的投诉" in html
    assert ID_NUMBER not in html and "3505**********0021" not in html
    assert PHONE not in html
    with container.uow() as uow:
        assert (
            uow.session.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "complaint.public_view")
            )
            == 1
        )


def test_wrong_code_refused(client, world, sms):
    no = file_one(client)
    request_code(client, no)
    code = texted_code(sms)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    r = verify(client, no, wrong)
    assert r.status_code == 400 and "验证码不正确" in r.text
    assert TRACK_COOKIE not in r.cookies
    assert client.get("/public/track/status", follow_redirects=False).status_code == 303
    assert verify(client, no, code).status_code == 303  # one miss does not burn the code


def test_malformed_code_and_number(client, world):
    no = file_one(client)
    r = verify(client, no, "12ab")
    assert r.status_code == 422 and 'id="e-code"' in r.text
    r = request_code(client, "")
    assert r.status_code == 422 and 'id="e-no"' in r.text


def test_max_attempts(client, world, sms):
    no = file_one(client)
    request_code(client, no)
    code = texted_code(sms)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(services.TRACK_MAX_ATTEMPTS):
        assert verify(client, no, wrong).status_code == 400
    r = verify(client, no, code)
    assert r.status_code == 400  # the code is spent after five misses


def test_expired_code(client, world, sms, clock):
    no = file_one(client)
    request_code(client, no)
    code = texted_code(sms)
    clock.advance(services.TRACK_CODE_TTL + timedelta(seconds=1))
    assert verify(client, no, code).status_code == 400


def test_code_is_single_use(client, world, sms):
    no = file_one(client)
    request_code(client, no)
    code = texted_code(sms)
    assert verify(client, no, code).status_code == 303
    assert verify(client, no, code).status_code == 400


def test_codes_are_throttled_per_complaint(client, world, sms, clock):
    no = file_one(client)
    request_code(client, no)
    request_code(client, no)  # within a minute: no second text
    codes = [m for m in sms.sent if "验证码为" in m.text]
    assert len(codes) == 1
    for _ in range(10):
        clock.advance(timedelta(minutes=2))
        request_code(client, no)
    codes = [m for m in sms.sent if "验证码为" in m.text]
    assert len(codes) <= services.TRACK_CODES_PER_HOUR


def test_status_view_lasts_thirty_minutes(client, world, sms, clock):
    no = file_one(client)
    request_code(client, no)
    assert verify(client, no, texted_code(sms)).status_code == 303
    clock.advance(timedelta(minutes=29))
    assert client.get("/public/track/status").status_code == 200
    clock.advance(timedelta(minutes=2))
    r = client.get("/public/track/status", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/public/track?expired=1"


def test_status_cookie_is_bound_to_one_complaint(client, world, container, sms):
    first = file_one(client)
    second = file_one(client)
    with container.uow() as uow:
        other_id = uow.session.scalar(select(Complaint.id).where(Complaint.tracking_no == second))
    request_code(client, first)
    assert verify(client, first, texted_code(sms)).status_code == 303
    genuine = client.cookies.get(TRACK_COOKIE)
    payload = genuine.rpartition(".")[0]
    _, exp = payload.split(":")
    client.cookies.delete(TRACK_COOKIE)
    client.cookies.set(TRACK_COOKIE, f"{other_id}:{exp}.{genuine.rpartition('.')[2]}", path="/public/track")
    r = client.get("/public/track/status", follow_redirects=False)
    assert r.status_code == 303  # a signature for one complaint does not open another
    signed_elsewhere = seal("another-secret-key-0123456789", "public-track", f"{other_id}:{exp}")
    client.cookies.set(TRACK_COOKIE, signed_elsewhere, path="/public/track")
    assert client.get("/public/track/status", follow_redirects=False).status_code == 303


def test_leaving_ends_the_view(client, world, sms):
    no = file_one(client)
    request_code(client, no)
    assert verify(client, no, texted_code(sms)).status_code == 303
    r = client.post(
        "/public/track/end", data={"csrf_token": csrf(client, "/public/track")}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get("/public/track/status", follow_redirects=False).status_code == 303


def test_decided_complaint_shows_notice_with_review_and_dispute_routes(client, world, container, sms, clock):
    no = file_one(client)
    with container.uow() as uow:
        cid = uow.session.scalar(select(Complaint.id).where(Complaint.tracking_no == no))
    officer, handler = world.p("qz_officer"), world.p("qz_handler")

    def act(who: Any, action: Action, **kw: Any) -> None:
        with container.uow() as uow:
            version = uow.session.get(Complaint, cid).version
            services.act(uow, who, cid, action, ActionRequest(version=version, **kw), clock.now())

    act(officer, Action.ACCEPT, handler_id=world.users["qz_handler"].id)
    clock.advance(timedelta(days=1))
    act(handler, Action.START)
    clock.advance(timedelta(days=3))
    act(
        handler,
        Action.DECIDE,
        outcome="partial",
        decision="经重新定损，同意按维修厂报价的九成赔付，联系电话13905951234。",
    )
    request_code(client, no)
    assert verify(client, no, texted_code(sms)).status_code == 303
    html = client.get("/public/track/status").text
    assert "已出具处理意见" in html and "处理结果" in html
    for words in ("核查", "调解", "仲裁", "诉讼", "福建分公司"):
        assert words in html, words
    assert "2026年04月05日" in html  # 核查 window: 30 days after the decision of 2026-03-06
    assert "林**" in html and "林秀英" not in html  # the notice online masks the name...
    assert PHONE not in html and "139****1234" in html  # ...and numbers in the decision text
    assert ID_NUMBER not in html
    assert "已安排专人负责处理" in html and "开始调查处理" in html


def test_track_page_in_elder_mode_and_english(client, world):
    assert 'class="public elder"' in client.get("/public/track?elder=1").text
    client.get("/lang/en", follow_redirects=False)
    html = client.get("/public/track").text
    assert "Track your complaint" in html and "Send me a code" in html


def test_post_only_addresses_lead_back_to_the_form(client, world):
    # the language and elder switches return to the page's address, which after a POST is a POST-only one
    r = client.get("/public/track/code?elder=1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/public/track"
    assert 'class="public elder"' in client.get("/public/track").text
    client.get("/lang/en", headers={"referer": "http://testserver/public/track/verify"})
    assert "Track your complaint" in client.get("/public/track").text
