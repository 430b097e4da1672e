"""Staff HTML pages for complaints: list, intake, detail, PII reveal, actions, breach watch."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.factories import complaint_payload, login
from xiaobao.complaints import services
from xiaobao.complaints.domain import Action
from xiaobao.complaints.schemas import ActionRequest, ComplaintCreate
from xiaobao.complaints.tables import Complaint
from xiaobao.core.audit import AuditLog

HTML = {"Accept": "text/html"}
HX = {"HX-Request": "true", "Accept": "text/html"}


def make(container, world, who: str = "qz_officer", **over) -> int:  # type: ignore[no-untyped-def]
    ctx = services.IntakeContext(now=container.clock.now(), calendar=container.calendar)
    with container.uow() as uow:
        c = services.create_complaint(
            uow.session, world.p(who), ComplaintCreate(**complaint_payload(**over)), ctx
        )
        uow.commit()
        return c.id


def act(container, world, who: str, cid: int, action: Action, **fields) -> None:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        version = uow.session.get(Complaint, cid).version
        services.act(
            uow, world.p(who), cid, action, ActionRequest(version=version, **fields), container.clock.now()
        )


def assign(container, world, cid: int, handler: str = "qz_handler") -> None:  # type: ignore[no-untyped-def]
    act(container, world, "qz_officer", cid, Action.ACCEPT, handler_id=world.users[handler].id)


def tracking_no(container, cid: int) -> str:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        return uow.session.get(Complaint, cid).tracking_no


def version_of(container, cid: int) -> int:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        return uow.session.get(Complaint, cid).version


# ---------------------------------------------------------------- access


def test_anonymous_is_sent_to_login(client, world):
    for path in ("/complaints", "/complaints/new", "/complaints/breaches", "/complaints/1"):
        r = client.get(path, headers=HTML, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"] == f"/login?next={path}"


# ---------------------------------------------------------------- list


def test_list_renders_and_filters(client, container, world):
    storm = make(container, world)  # elderly (ID born 1958), description mentions 台风
    young = make(
        container,
        world,
        id_number=None,
        phone="13800001111",
        policy_no="P-2",
        description="电话销售时承诺保本收益，实际为保险产品，要求全额退保。",
        cause="sales.misleading",
        business_line="accident",
        demand="refund",
    )
    other_branch = make(
        container, world, who="sh_officer", org_code="SH", phone="13800002222", policy_no="P-3"
    )
    assign(container, world, young)
    login(client, "qz_officer")

    r = client.get("/complaints", headers=HTML)
    assert r.status_code == 200
    page = r.text
    assert tracking_no(container, storm) in page and tracking_no(container, young) in page
    assert tracking_no(container, other_branch) not in page  # outside the Quanzhou subtree
    assert "林**" in page and "林秀英" not in page  # masked complainant name
    assert "老" in page  # elderly badge
    assert "共 2 件" in page

    r = client.get("/complaints", params={"status": "accepted"}, headers=HTML)
    assert tracking_no(container, young) in r.text and tracking_no(container, storm) not in r.text

    # the form submitted without JS sends every field, most of them empty
    r = client.get(
        "/complaints?q=&org=&business_line=&cause=&channel=&due=&special_group=&sort=-received"
        "&per_page=20&status=accepted",
        headers=HTML,
    )
    assert "共 1 件" in r.text and tracking_no(container, young) in r.text

    r = client.get("/complaints", params={"status": ["received", "accepted"]}, headers=HTML)
    assert "共 2 件" in r.text

    r = client.get("/complaints", params={"q": "台风受损"}, headers=HTML)
    assert tracking_no(container, storm) in r.text and tracking_no(container, young) not in r.text

    r = client.get("/complaints", params={"special_group": "elderly"}, headers=HTML)
    assert tracking_no(container, storm) in r.text and tracking_no(container, young) not in r.text

    r = client.get("/complaints", params={"cause": "sales"}, headers=HTML)  # parent code filters its group
    assert tracking_no(container, young) in r.text and tracking_no(container, storm) not in r.text

    r = client.get("/complaints", params={"status": "bogus"}, headers=HTML)
    assert r.status_code == 200 and "未知状态" in r.text


def test_list_htmx_returns_the_table_partial(client, container, world):
    cid = make(container, world)
    login(client, "qz_officer")
    r = client.get("/complaints", params={"q": "定损"}, headers=HX)
    assert r.status_code == 200
    assert "<html" not in r.text and 'id="filters"' not in r.text
    assert "<table" in r.text and tracking_no(container, cid) in r.text
    assert "HX-Request" in r.headers["vary"]
    assert r.headers["hx-push-url"] == "/complaints?q=%E5%AE%9A%E6%8D%9F"  # canonical, no empty fields
    # a history restore needs the whole page
    r = client.get("/complaints", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in r.text and 'id="filters"' in r.text


def test_list_paginates(client, container, world):
    ids = [make(container, world, phone=f"1380000{i:04d}", policy_no=f"P{i}") for i in range(23)]
    login(client, "qz_officer")
    r = client.get("/complaints", params={"sort": "received"}, headers=HTML)
    assert "共 23 件" in r.text and "第 1 / 2 页" in r.text
    r2 = client.get("/complaints", params={"sort": "received", "page": 2}, headers=HTML)
    shown = set(re.findall(r'href="/complaints/(\d+)"', r2.text))
    assert len(shown) == 3 and shown <= {str(i) for i in ids}


# ---------------------------------------------------------------- intake


def _form(**over):  # type: ignore[no-untyped-def]
    data = complaint_payload()
    data["received_at"] = "2026-03-02T09:30"
    data.update(over)
    return data


def test_new_form_error_keeps_values_and_names_the_field(client, container, world):
    login(client, "qz_officer")
    r = client.get("/complaints/new", headers=HTML)
    assert r.status_code == 200 and 'name="csrf_token"' in r.text
    assert 'value="2026-03-02T10:00"' in r.text  # received time defaults to now (Beijing time)
    assert "<optgroup" in r.text  # taxonomy grouped by parent

    r = client.post(
        "/complaints/new",
        data=_form(phone="12345", description="", cause="", complainant_name="王大明"),
        headers=HTML,
    )
    assert r.status_code == 422
    page = r.text
    assert 'value="王大明"' in page  # values kept
    # the description problem is shown next to its field (pydantic: required)
    assert re.search(
        r'name="description"[^>]*>\s*</textarea>\s*<span class="hint">[^<]*</span>\s*'
        r'<span class="field-error"[^>]*>此项必填',
        page,
    )
    # every problem at once: the schema's (description) and the service's (phone format, cause missing)
    assert re.search(r'name="phone"[^>]*>\s*<span class="field-error"[^>]*>电话号码格式不正确', page)
    assert re.search(r'</select>\s*<span class="field-error"[^>]*>此项必填', page)
    assert 'value="claims.amount" selected' not in page and 'value="compensation" selected' in page
    with container.uow() as uow:
        assert uow.session.scalar(select(Complaint.id)) is None

    # service-level problem (phone format) shown next to the phone field, in the user's language
    r = client.post("/complaints/new", data=_form(phone="12345"), headers=HTML)
    assert r.status_code == 422
    assert re.search(r'name="phone"[^>]*>\s*<span class="field-error"[^>]*>电话号码格式不正确', r.text)
    assert "林秀英" in r.text  # typed values are kept
    client.cookies.set("xb_lang", "en")
    r = client.post("/complaints/new", data=_form(phone="12345"), headers=HTML)
    assert "not a valid phone number" in r.text


def test_new_complaint_created_and_redirected(client, container, world):
    login(client, "qz_officer")
    r = client.post(
        "/complaints/new", data=_form(special_groups=["disabled"]), headers=HTML, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"/complaints/(\d+)\?done=created", r.headers["location"])
    assert m
    with container.uow() as uow:
        c = uow.session.get(Complaint, int(m.group(1)))
        assert c.created_by_id == world.users["qz_officer"].id
        assert set(c.groups()) == {"disabled", "elderly"}
        assert c.received_at.isoformat() == "2026-03-02T01:30:00+00:00"
        number = c.tracking_no
    page = client.get(r.headers["location"], headers=HTML).text
    assert "投诉已登记" in page and number in page


def test_new_complaint_shows_duplicates_with_merge(client, container, world):
    first = make(container, world)
    login(client, "qz_officer")
    r = client.post("/complaints/new", data=_form(), headers=HTML, follow_redirects=False)
    second = int(r.headers["location"].split("/")[2].split("?")[0])
    page = client.get(f"/complaints/{second}", headers=HTML).text
    assert "疑似重复投诉" in page and tracking_no(container, first) in page
    assert f'action="/complaints/{second}/actions/merge"' in page
    r = client.post(
        f"/complaints/{second}/actions/merge",
        data={"version": version_of(container, second), "target_id": first},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with container.uow() as uow:
        c = uow.session.get(Complaint, second)
        assert c.status == "merged" and c.merged_into_id == first


def test_intake_needs_create_permission(client, world):
    login(client, "fj_manager")
    assert client.get("/complaints/new", headers=HTML).status_code == 403


# ---------------------------------------------------------------- detail and PII


def test_detail_masks_personal_data(client, container, world):
    cid = make(container, world, description="请回电13905951234，身份证350521195803150021。")
    login(client, "qz_officer")
    page = client.get(f"/complaints/{cid}", headers=HTML).text
    assert "139****1234" in page and "3505**********0021" in page
    assert "13905951234" not in page and "350521195803150021" not in page and "林秀英" not in page
    assert "显示完整信息" in page  # officer has PII_VIEW
    assert "登记投诉" in page  # timeline label


def test_pii_partial_for_handler_is_audited(client, container, world):
    cid = make(container, world)
    assign(container, world, cid)
    login(client, "qz_handler")
    r = client.post(f"/complaints/{cid}/pii", headers=HX)
    assert r.status_code == 200
    assert "13905951234" in r.text and "350521195803150021" in r.text and "林秀英" in r.text
    assert "<html" not in r.text and r.headers["cache-control"] == "private, no-store"
    with container.uow() as uow:
        rows = uow.session.scalars(select(AuditLog).where(AuditLog.action == "pii.view")).all()
        assert [(r.entity_id, r.actor_id) for r in rows] == [(str(cid), world.users["qz_handler"].id)]
    # without htmx the same form shows a full page
    r = client.post(f"/complaints/{cid}/pii", headers=HTML)
    assert r.status_code == 200 and "<html" in r.text and "13905951234" in r.text


def test_pii_partial_refused_for_branch_manager(client, container, world):
    cid = make(container, world)
    login(client, "fj_manager")
    page = client.get(f"/complaints/{cid}", headers=HTML)
    assert page.status_code == 200 and "显示完整信息" not in page.text
    r = client.post(f"/complaints/{cid}/pii", headers=HX)
    assert r.status_code == 403  # services.reveal_pii: the complaint is visible, its unmasked data is not
    assert "13905951234" not in r.text
    with container.uow() as uow:
        assert uow.session.scalar(select(AuditLog.id).where(AuditLog.action == "pii.view")) is None


def test_detail_outside_scope_is_not_found(client, container, world):
    cid = make(container, world)
    login(client, "sh_officer")
    assert client.get(f"/complaints/{cid}", headers=HTML).status_code == 404
    assert client.post(f"/complaints/{cid}/pii", headers=HX).status_code == 404


# ---------------------------------------------------------------- actions


def test_stale_version_shows_conflict_and_changes_nothing(client, container, world):
    cid = make(container, world)
    login(client, "qz_officer")
    seen = version_of(container, cid)
    handler2 = world.users["qz_handler2"].id
    r = client.post(
        f"/complaints/{cid}/actions/accept",
        data={"version": seen, "handler_id": world.users["qz_handler"].id},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/complaints/{cid}?done=accept"
    # a second tab still shows the old version
    r = client.post(
        f"/complaints/{cid}/actions/reassign", data={"version": seen, "handler_id": handler2}, headers=HTML
    )
    assert r.status_code == 409
    assert "已被他人修改" in r.text and "请刷新" in r.text
    with container.uow() as uow:
        assert uow.session.get(Complaint, cid).handler_id == world.users["qz_handler"].id


def test_action_problem_is_shown_next_to_its_form(client, container, world):
    cid = make(container, world)
    assign(container, world, cid)
    act(container, world, "qz_handler", cid, Action.START)
    login(client, "qz_handler")
    r = client.post(
        f"/complaints/{cid}/actions/decide",
        data={"version": version_of(container, cid), "outcome": "partial", "decision": "太短"},
        headers=HTML,
    )
    assert r.status_code == 422
    assert re.search(r"<details class=\"action primary\" open>\s*<summary>出具处理意见", r.text)
    assert "请填写处理意见" in r.text and ">太短</textarea>" in r.text
    decision = "经核实，定损金额偏低，同意按维修厂报价重新核定并补足差额。"
    r = client.post(
        f"/complaints/{cid}/actions/decide",
        data={
            "version": version_of(container, cid),
            "outcome": "partial",
            "decision": decision,
            "notified": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/complaints/{cid}", headers=HTML).text
    assert "处理意见告知书" in page and '<pre class="notice" id="notice">' in page and "打印告知书" in page
    assert "部分支持您的诉求" in page


def test_handler_sees_only_allowed_actions(client, container, world):
    cid = make(container, world)
    login(client, "qz_handler")
    page = client.get(f"/complaints/{cid}", headers=HTML).text
    # received: accepting is an officer's job; a handler may only record a withdrawal
    assert set(re.findall(r'/actions/(\w+)"', page)) == {"withdraw"}

    assign(container, world, cid)
    page = client.get(f"/complaints/{cid}", headers=HTML).text
    actions = set(re.findall(r'/actions/(\w+)"', page))
    assert actions == {"start", "extend", "pause", "withdraw"}
    assert "记录联系" in page  # the assigned handler adds to the handling record

    client.post("/logout")
    login(client, "qz_handler2")  # not the assigned handler
    page = client.get(f"/complaints/{cid}", headers=HTML).text
    assert set(re.findall(r'/actions/(\w+)"', page)) == {"withdraw"}
    assert "记录联系" not in page

    client.post("/logout")
    login(client, "qz_officer")
    page = client.get(f"/complaints/{cid}", headers=HTML).text
    assert {"reassign", "start", "extend"} <= set(re.findall(r'/actions/(\w+)"', page))
    assert f'<option value="{world.users["qz_handler2"].id}"' in page
    assert f'<option value="{world.users["xm_handler"].id}"' not in page  # Xiamen handler cannot take it


def test_contact_note_and_root_cause_forms(client, container, world):
    cid = make(container, world)
    assign(container, world, cid)
    login(client, "qz_handler")
    r = client.post(
        f"/complaints/{cid}/contacts",
        data={"method": "phone", "outcome": "reached", "note": "已致电，解释定损依据"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/complaints/{cid}/contacts", data={"method": "pigeon", "outcome": "reached"}, headers=HTML
    )
    assert r.status_code == 422 and "取值不在允许范围内" in r.text
    r = client.post(f"/complaints/{cid}/notes", data={"text": "待查勘员补充照片"}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post(
        f"/complaints/{cid}/root-cause",
        data={
            "version": version_of(container, cid),
            "root_cause": "定损标准执行不一",
            "rectification": "统一定损口径并培训",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/complaints/{cid}", headers=HTML).text
    for text in (
        "联系投诉人",
        "电话 · 已联系上",
        "已致电，解释定损依据",
        "待查勘员补充照片",
        "统一定损口径并培训",
    ):
        assert text in page
    with container.uow() as uow:
        assert uow.session.get(Complaint, cid).first_contact_at is not None


# ---------------------------------------------------------------- breach watch


def test_breach_list_shows_overdue_due_soon_and_contact(client, container, world, clock):
    late = make(container, world)  # received Mon 03-02, due end of 03-17
    clock.advance(timedelta(days=3))
    soon = make(container, world, phone="13800003333", policy_no="P-9")  # 03-05, due end of 03-20
    clock.advance(timedelta(days=10))
    fresh = make(
        container, world, phone="13800004444", policy_no="P-10"
    )  # Sun 03-15: contact by end of 03-16
    clock.advance(timedelta(days=3))  # now Wed 03-18 10:00
    login(client, "qz_officer")
    page = client.get("/complaints/breaches", headers=HTML).text
    overdue_part, rest = page.split('id="due-soon"')
    soon_part, contact_part = rest.split('id="contact"')
    assert tracking_no(container, late) in overdue_part and "已超期 10 小时" in overdue_part
    assert tracking_no(container, soon) in soon_part and "剩余 62 小时" in soon_part
    assert tracking_no(container, fresh) not in overdue_part + soon_part
    assert tracking_no(container, fresh) in contact_part  # never contacted, 1-workday target passed
    page = client.get("/complaints/breaches", params={"days": 1}, headers=HTML).text
    assert tracking_no(container, soon) not in page.split('id="due-soon"')[1].split('id="contact"')[0]
