"""Audit-log viewer and user / API-token administration."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import complaint_payload, login
from xiaobao.auth.tables import ApiToken, User
from xiaobao.core.audit import AuditLog


def test_auditor_reads_the_audit_log_with_filters(client, world):
    login(client, "qz_handler")
    r = client.post("/api/v1/complaints", json=complaint_payload())
    assert r.status_code == 201
    cid = r.json()["id"]
    client.get(f"/api/v1/complaints/{cid}?reveal=true")
    client.cookies.clear()
    login(client, "hq_auditor")
    body = client.get("/api/v1/audit", params={"action": "pii.view"}).json()
    assert body["total"] == 1
    assert body["items"][0]["entity_id"] == str(cid)
    assert "qz_handler" in body["items"][0]["actor"]
    page = client.get("/admin/audit", params={"entity_type": "complaint", "entity_id": str(cid)})
    assert page.status_code == 200
    assert "complaint.create" in page.text and "pii.view" in page.text


def test_audit_log_is_refused_to_other_roles(client, world):
    login(client, "qz_handler")
    assert client.get("/api/v1/audit").status_code == 403
    assert client.get("/admin/audit", headers={"accept": "text/html"}).status_code == 403


def test_admin_creates_user_with_field_errors_then_success(client, world, container):
    login(client, "admin")
    r = client.post(
        "/admin/users",
        data={
            "username": "new_handler",
            "display_name": "新人",
            "password": "short",
            "org_code": "QZ",
            "roles": [],
        },
    )
    assert r.status_code == 422
    assert "密码至少 12 个字符" in r.text and "请选择有效的角色" in r.text
    assert 'value="new_handler"' in r.text  # values kept
    r = client.post(
        "/admin/users",
        data={
            "username": "new_handler",
            "display_name": "新人",
            "password": "a-long-enough-password",
            "org_code": "QZ",
            "roles": ["handler"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    with container.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == "new_handler"))
        assert user is not None and user.roles == {"handler"}
        assert uow.session.scalar(select(AuditLog).where(AuditLog.action == "user.create")) is not None


def test_admin_issues_and_revokes_an_api_token(client, world, container):
    login(client, "admin")
    target = world.users["qz_officer"].id
    r = client.post(f"/admin/users/{target}/tokens", data={"name": "95500 热线"})
    assert r.status_code == 200
    raw = r.text.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert raw.startswith("xb_")
    api = client.__class__(client.app)
    ok = api.get("/api/v1/complaints", headers={"Authorization": f"Bearer {raw}"})
    assert ok.status_code == 200
    with container.uow() as uow:
        token_id = uow.session.scalar(select(ApiToken.id).where(ApiToken.user_id == target))
    client.post(f"/admin/tokens/{token_id}/revoke", follow_redirects=False)
    assert api.get("/api/v1/complaints", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_admin_cannot_lock_themself_out_and_deactivation_blocks_login(client, world):
    login(client, "admin")
    me = world.users["admin"].id
    r = client.post(f"/admin/users/{me}", data={"roles": ["admin"]})  # active unchecked
    assert r.status_code == 422
    victim = world.users["qz_handler2"].id
    r = client.post(f"/admin/users/{victim}", data={"roles": ["handler"]}, follow_redirects=False)
    assert r.status_code == 303
    other = client.__class__(client.app)
    r = other.post(
        "/login",
        data={"username": "qz_handler2", "password": "correct horse battery", "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 401


def test_branch_admin_sees_only_their_subtree(client, world, container):
    from xiaobao.admin import services
    from xiaobao.auth import services as auth

    with container.uow() as uow:
        auth.create_user(
            uow.session,
            username="fj_admin",
            display_name="fj_admin",
            password="x" * 12,
            org=world.orgs["FJ"],
            roles=["admin"],
            now=container.clock.now(),
        )
        uow.commit()
        fj_admin = auth.principal_for(uow.session.scalar(select(User).where(User.username == "fj_admin")))
        names = {u.username for u in services.users(uow.session, fj_admin)}
    assert "qz_handler" in names and "sh_officer" not in names and "hq_officer" not in names
