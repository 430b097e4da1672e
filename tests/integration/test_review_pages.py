"""Review pages and JSON API on SQLite and PostgreSQL: submitting through the form, the highlighted page
(escaped text, overlapping findings, decisions through htmx), conclusions refused with a clear error, the
queue, statistics (page and JSON twin), idempotent API intake, and the rule library editor (versioned edits,
bilingual errors naming the field, examples run on save, the edited library used by the next check)."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories import login
from xiaobao.core.audit import AuditLog
from xiaobao.review import library
from xiaobao.review.tables import ReviewRuleEdit, ReviewSubmission

HTML = {"Accept": "text/html"}
HX = {"HX-Request": "true", "Accept": "text/html"}
POSTER = (
    "<b>安心宝</b>年金保险，本产品保本保息，收益比银行定期高多了！全国销量第一，即将停售。"
    "本产品由示例人寿保险股份有限公司承保。"
)


def _submit_form(client, reviewer_id: int | None = None, text: str = POSTER) -> int:  # type: ignore[no-untyped-def]
    r = client.post(
        "/review/new",
        data={
            "title": "安心宝朋友圈海报",
            "material_type": "marketing",
            "product_line": "annuity",
            "text": text,
            "reviewer_id": str(reviewer_id or ""),
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_submit_page_highlight_decide_conclude(client, container, world):  # type: ignore[no-untyped-def]
    login(client, "qz_collab")
    assert client.get("/review/new", headers=HTML).status_code == 200
    # a bad form re-renders with the problem next to the field
    r = client.post(
        "/review/new", data={"title": "x", "material_type": "marketing", "text": ""}, headers=HTML
    )
    assert r.status_code == 422 and "标题须为" in r.text and "请填写或上传" in r.text
    sid = _submit_form(client, world.users["qz_reviewer"].id)
    page = client.get(f"/review/{sid}", headers=HTML).text
    # the text is escaped, findings are marked
    assert "&lt;b&gt;安心宝&lt;/b&gt;" in page and "<b>安心宝</b>" not in page
    marks = re.findall(r'<mark class="finding[^"]*" data-ids="([\d ]+)"[^>]*>([^<]*)</mark>', page)
    assert "保本保息" in [t for _, t in marks] and "第一" in [t for _, t in marks]
    assert 'id="progress"' in page and "0/" in page
    assert "j / n" in page  # the keyboard hint is visible
    # the submitter cannot decide: no decision form
    assert "f-form" not in page

    client.cookies.clear()
    login(client, "qz_reviewer")
    page = client.get(f"/review/{sid}", headers=HTML).text
    ids = [int(x) for x in re.findall(r'data-finding="(\d+)"', page)]
    assert len(ids) >= 3
    # dismissal without reason: the card comes back with the error (htmx)
    r = client.post(
        f"/review/{sid}/findings/{ids[0]}", data={"decision": "dismiss", "reason": ""}, headers=HX
    )
    assert r.status_code == 422 and "驳回须说明理由" in r.text and f'id="card-{ids[0]}"' in r.text
    r = client.post(
        f"/review/{sid}/findings/{ids[0]}",
        data={"decision": "dismiss", "reason": "此处为引用监管提示原文"},
        headers=HX,
    )
    assert r.status_code == 200 and 'data-decision="dismiss"' in r.text
    assert 'hx-swap-oob="true"' in r.text and f"1/{len(ids)}" in r.text
    # concluding early is refused with the count of open findings
    r = client.post(f"/review/{sid}/conclude", data={"conclusion": "pass"}, headers=HTML)
    assert r.status_code == 422 and f"还有 {len(ids) - 1} 条审查意见未处理" in r.text
    for fid in ids[1:]:
        r = client.post(
            f"/review/{sid}/findings/{fid}", data={"decision": "accept", "reason": ""}, headers=HX
        )
        assert r.status_code == 200
    r = client.post(f"/review/{sid}/conclude", data={"conclusion": "pass"}, headers=HTML)
    assert r.status_code == 422 and "修改后通过" in r.text
    r = client.post(
        f"/review/{sid}/conclude",
        data={"conclusion": "pass_with_changes", "comment": "删除保本等表述"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/review/{sid}", headers=HTML).text
    assert re.search(r"消保审查〔2026〕第\d{6}号", page)

    # release: only the submitter, with confirmation after "pass with changes"
    client.cookies.clear()
    login(client, "qz_collab")
    r = client.post(f"/review/{sid}/release", data={"note": "朋友圈"}, headers=HTML)
    assert r.status_code == 422 and "请确认已按采纳的审查意见修改材料" in r.text
    r = client.post(
        f"/review/{sid}/release",
        data={"note": "朋友圈", "changes_confirmed": "1"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    with container.uow() as uow:
        assert uow.session.get(ReviewSubmission, sid).status == "released"


def test_overlapping_findings_nest_without_breaking_markup(client, container, world):  # type: ignore[no-untyped-def]
    login(client, "qz_collab")
    # 保本 (GR-001) inside 保本保息 and 无风险 + 零风险 next to each other
    sid = _submit_form(
        client, text="本产品保本保息零风险，稳赚不赔，由示例人寿保险股份有限公司承保的年金保险。"
    )
    page = client.get(f"/review/{sid}", headers=HTML).text
    body = page.split('id="material-text"', 1)[1].split("</div>", 1)[0]
    assert body.count("<mark") == body.count("</mark>")
    assert "<mark" not in re.sub(r"<mark[^>]*>[^<]*</mark>", "", body)  # no nested or broken marks


def test_queue_and_assign_from_page(client, container, world):  # type: ignore[no-untyped-def]
    login(client, "qz_collab")
    sid = _submit_form(client)
    client.cookies.clear()
    login(client, "qz_reviewer")
    page = client.get("/review/queue", headers=HTML).text
    assert f"/review/{sid}" in page.split('id="waiting"', 1)[1]
    r = client.post(
        f"/review/{sid}/assign",
        data={"reviewer_id": str(world.users["qz_reviewer"].id)},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/review/queue", headers=HTML).text
    assert f"/review/{sid}" in page.split('id="waiting"', 1)[0]
    # the review task appears in the reviewer's task list and links back to the review
    page = client.get("/tasks", headers=HTML).text
    assert "消保审查：安心宝朋友圈海报" in page
    with container.uow() as uow:
        task_id = uow.session.get(ReviewSubmission, sid).task_id
    page = client.get(f"/tasks/{task_id}", headers=HTML)
    assert page.status_code == 200 and f'href="/review/{sid}"' in page.text


def test_api_submit_is_idempotent_and_flows(client, container, world):  # type: ignore[no-untyped-def]
    login(client, "qz_collab")
    body = {
        "title": "电话销售话术",
        "material_type": "script",
        "product_line": "life",
        "text": "这款产品就是存款，利息比银行高，稳赚不赔。",
        "reviewer_id": world.users["qz_reviewer"].id,
    }
    r1 = client.post("/api/v1/review/submissions", json=body, headers={"Idempotency-Key": "k-1"})
    assert r1.status_code == 201, r1.text
    r2 = client.post("/api/v1/review/submissions", json=body, headers={"Idempotency-Key": "k-1"})
    assert (
        r2.status_code == 201
        and r2.json()["id"] == r1.json()["id"]
        and r2.headers["Idempotent-Replayed"] == "true"
    )
    r3 = client.post(
        "/api/v1/review/submissions", json={**body, "title": "另一份"}, headers={"Idempotency-Key": "k-1"}
    )
    assert r3.status_code == 409
    with container.uow() as uow:
        assert len(list(uow.session.scalars(select(ReviewSubmission.id)))) == 1
    sid = r1.json()["id"]
    findings = r1.json()["current_version"]["findings"]
    assert {"GR-003"} <= {f["rule_id"] for f in findings}
    r = client.post("/api/v1/review/submissions", json={**body, "material_type": "poster"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "material_type"
    assert r.json()["problems"][0]["message_zh"] and r.json()["problems"][0]["message_en"]

    client.cookies.clear()
    login(client, "qz_reviewer")
    for f in findings:
        r = client.post(
            f"/api/v1/review/submissions/{sid}/findings/{f['id']}/decision", json={"decision": "accept"}
        )
        assert r.status_code == 200
    r = client.post(
        f"/api/v1/review/submissions/{sid}/conclusion", json={"conclusion": "fail", "comment": "话术误导"}
    )
    assert r.status_code == 200 and r.json()["status"] == "changes_requested"
    client.cookies.clear()
    login(client, "qz_collab")
    r = client.post(f"/api/v1/review/submissions/{sid}/release", json={})
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/review/submissions/{sid}/versions",
        json={"text": "本产品是保险，不是存款，分红不保证。", "note": "改为如实说明"},
    )
    assert r.status_code == 201 and r.json()["current_n"] == 2 and r.json()["status"] == "in_review"
    assert r.json()["current_version"]["diff_stats"]["inserted"] > 0
    page = client.get(f"/review/{sid}", headers=HTML).text
    assert "与上一版的差异" in page and "<ins>" in page and "<del>" in page
    assert "上一版的处理" in page  # the missing insurer name is found again, with version 1's decision
    # other branches do not see it
    client.cookies.clear()
    login(client, "sh_officer")
    assert client.get(f"/api/v1/review/submissions/{sid}").status_code == 404


def test_stats_page_and_json(client, container, world):  # type: ignore[no-untyped-def]
    login(client, "qz_collab")
    sid = _submit_form(client, world.users["qz_reviewer"].id)
    client.cookies.clear()
    login(client, "qz_reviewer")
    ids = [
        int(x) for x in re.findall(r'data-finding="(\d+)"', client.get(f"/review/{sid}", headers=HTML).text)
    ]
    for fid in ids:
        client.post(
            f"/review/{sid}/findings/{fid}", data={"decision": "dismiss", "reason": "误报"}, headers=HX
        )
    client.post(f"/review/{sid}/conclude", data={"conclusion": "pass"}, headers=HTML)
    client.cookies.clear()
    login(client, "qz_officer")
    r = client.get("/api/v1/review/stats")
    assert r.status_code == 200
    data = r.json()
    assert data["findings"] == len(ids) and data["versions_checked"] == 1
    assert sum(c["count"] for c in data["by_category"]) == len(ids)
    assert data["most_dismissed"] and all(m["rate"] == 1.0 for m in data["most_dismissed"])
    assert data["time_to_review"]["concluded"] == 1 and data["time_to_review"]["median_hours"] == 0.0
    page = client.get("/review/stats", headers=HTML)
    assert page.status_code == 200 and 'id="review-stats-data"' in page.text and "chart-category" in page.text
    # other branches count nothing of Quanzhou's
    client.cookies.clear()
    login(client, "sh_officer")
    assert client.get("/api/v1/review/stats").json()["findings"] == 0
    # collaborators may submit but not see statistics
    client.cookies.clear()
    login(client, "qz_collab")
    assert client.get("/api/v1/review/stats").status_code == 403


NEW_RULE = """id: AT-950
category: absolute_term
severity: medium
applies_to: [marketing]
match: {terms: [宇宙第一]}
basis: 《中华人民共和国广告法》第九条
suggestion: 删除绝对化用语
examples:
  positive: [我们是宇宙第一的保险。]
  negative: [我们努力做得更好。]
"""


def test_rule_library_edits_are_versioned_validated_and_used(client, container, world):  # type: ignore[no-untyped-def]
    login(client, "admin")
    assert client.get("/review/rules", headers=HTML).status_code == 200
    # invalid: a bad severity is named
    r = client.post(
        "/review/rules/new",
        data={"body": NEW_RULE.replace("medium", "urgent"), "reason": "新增"},
        headers=HTML,
    )
    assert r.status_code == 422 and "<code>severity</code>" in r.text
    # the examples are run: a positive example that does not fire refuses the save
    bad = NEW_RULE.replace("positive: [我们是宇宙第一的保险。]", "positive: [我们是很好的保险。]")
    r = client.post("/review/rules/new", data={"body": bad, "reason": "新增"}, headers=HTML)
    assert r.status_code == 422 and "examples.positive[0]" in r.text and "正例未命中本规则" in r.text
    # a reason is required
    r = client.post("/review/rules/new", data={"body": NEW_RULE, "reason": ""}, headers=HTML)
    assert r.status_code == 422 and "请说明修改原因" in r.text
    r = client.post(
        "/review/rules/new",
        data={"body": NEW_RULE, "reason": "新出现的夸张用语"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/review/rules/AT-950"
    # the next check uses it
    client.cookies.clear()
    login(client, "qz_collab")
    sid = _submit_form(client, text="宇宙第一的年金保险，由示例人寿保险股份有限公司承保。")
    data = client.get(f"/api/v1/review/submissions/{sid}").json()
    assert "AT-950" in {f["rule_id"] for f in data["current_version"]["findings"]}
    assert data["current_version"]["rules_version"].split("·")[0] != "0"

    # edit a shipped YAML rule (history kept), then disable it: the check no longer reports it
    client.cookies.clear()
    login(client, "qz_reviewer")
    page = client.get("/review/rules/GR-001/edit", headers=HTML).text
    body = re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)  # type: ignore[union-attr]
    import html

    body = html.unescape(body).replace("severity: high", "severity: medium")
    r = client.post(
        "/review/rules/GR-001/edit",
        data={"body": body, "reason": "降级为中"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        "/review/rules/GR-001/edit",
        data={"body": body.replace("id: GR-001", "id: GR-999"), "reason": "x改"},
        headers=HTML,
    )
    assert r.status_code == 422 and "<code>id</code>" in r.text
    r = client.post(
        "/review/rules/GR-001/state",
        data={"action": "disable", "reason": "误报太多"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/review/rules/GR-001", headers=HTML).text
    assert "降级为中" in page and "误报太多" in page and "v2" in page
    with container.uow() as uow:
        edits = list(
            uow.session.scalars(
                select(ReviewRuleEdit)
                .where(ReviewRuleEdit.rule_id == "GR-001")
                .order_by(ReviewRuleEdit.rule_version)
            )
        )
        assert [(e.rule_version, e.action) for e in edits] == [(1, "edit"), (2, "disable")]
        assert uow.session.scalar(
            select(AuditLog).where(AuditLog.action == "review.rule.disable", AuditLog.entity_id == "GR-001")
        )
        checker, version = library.checker(uow.session)
        assert "GR-001" not in {r.id for r in checker.rules}
    r = client.get("/api/v1/review/rules/GR-001")
    assert r.status_code == 200 and r.json()["enabled"] is False and len(r.json()["history"]) == 2
    # people without the rules permission may not edit
    client.cookies.clear()
    login(client, "qz_collab")
    assert client.get("/review/rules", headers=HTML).status_code == 403
    assert (
        client.post(
            "/review/rules/GR-001/state", data={"action": "enable", "reason": "再启用"}, headers=HTML
        ).status_code
        == 403
    )


WHEN_RULE = """id: MD-950
category: missing_disclosure
severity: high
applies_to: [marketing]
match: {when: [分红], require: ['不保证']}
basis: 《人身保险产品信息披露管理办法》
suggestion: 分红产品须提示红利不保证
examples:
  positive: [分红型年金，每年都能领红利。]
  negative: [分红型年金，红利不保证。, 终身寿险，保障一生。]
"""


def test_rule_edit_with_conditional_requirement_is_validated_per_field(client, container, world):  # type: ignore[no-untyped-def]
    """`match.when` (the trigger of a conditional required element) in the rule editor: its errors are shown
    against match.when, a valid one is saved with its examples run, and the next check applies it only when a
    trigger occurs."""
    import html

    login(client, "admin")
    # when without a require matcher, and an empty when list: both named match.when
    for match in ("{when: [分红], terms: [分红]}", "{when: [], require: ['不保证']}"):
        r = client.post(
            "/review/rules/new",
            data={"body": WHEN_RULE.replace("{when: [分红], require: ['不保证']}", match), "reason": "新增"},
            headers=HTML,
        )
        assert r.status_code == 422, r.text
        assert "<code>match.when</code>" in r.text and "<code>match</code>" not in r.text
    # a require matcher mixed with another matcher is a problem of match itself
    r = client.post(
        "/review/rules/new",
        data={
            "body": WHEN_RULE.replace("require: ['不保证']", "require: ['不保证'], terms: [红利]"),
            "reason": "新增",
        },
        headers=HTML,
    )
    assert r.status_code == 422 and "<code>match</code>" in r.text
    # the examples run with the trigger semantics: a negative example without the trigger is quiet, and one
    # that lacks the element while the trigger occurs refuses the save
    bad = WHEN_RULE.replace("negative: [分红型年金，红利不保证。,", "negative: [分红型年金，红利可观。,")
    r = client.post("/review/rules/new", data={"body": bad, "reason": "新增"}, headers=HTML)
    assert r.status_code == 422 and "examples.negative[0]" in r.text
    r = client.post(
        "/review/rules/new",
        data={"body": WHEN_RULE, "reason": "分红提示"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/review/rules/MD-950"
    with container.uow() as uow:
        checker, _ = library.checker(uow.session)
        assert "MD-950" in {f.rule_id for f in checker.check("分红年金，年年领钱。", "marketing")}
        assert "MD-950" not in {f.rule_id for f in checker.check("分红年金，红利不保证。", "marketing")}
        assert "MD-950" not in {f.rule_id for f in checker.check("意外险，保障一年。", "marketing")}

    # a shipped rule with match.when round-trips through the editor; breaking its when is refused by field
    page = client.get("/review/rules/MD-010/edit", headers=HTML).text
    body = html.unescape(re.search(r'<textarea name="body"[^>]*>(.*?)</textarea>', page, re.S).group(1))  # type: ignore[union-attr]
    assert "when:" in body
    r = client.post(
        "/review/rules/MD-010/edit",
        data={"body": body.replace("require:", "terms:"), "reason": "改坏"},
        headers=HTML,
    )
    assert r.status_code == 422 and "<code>match.when</code>" in r.text
    r = client.post(
        "/review/rules/MD-010/edit",
        data={"body": body.replace("severity: high", "severity: medium"), "reason": "降级"},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    with container.uow() as uow:
        edited = library.get_rule(uow.session, "MD-010")
        assert edited.rule.severity == "medium" and edited.rule_version == 1 and edited.body["match"]["when"]
