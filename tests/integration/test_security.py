"""Sign-in, sessions, CSRF, API tokens, personal-data masking and the audited reveal, redirects and
security headers, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import PASSWORD, World, complaint_payload, login
from xiaobao.auth import services as auth
from xiaobao.auth.tables import ApiToken, User
from xiaobao.bootstrap import Container
from xiaobao.core.audit import AuditLog

C = "/api/v1/complaints"
RAW_ID = "350521195803150021"
RAW_PHONE = "13905951234"


def sign_in(client: TestClient, username: str, password: str = PASSWORD, next_: str = "/") -> Any:
    return client.post(
        "/login", data={"username": username, "password": password, "next": next_}, follow_redirects=False
    )


@pytest.fixture
def other_client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def audit(container: Container, action: str) -> list[AuditLog]:
    s = container.session_factory()
    try:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))
    finally:
        s.close()


def new_complaint(client: TestClient, **over: Any) -> dict[str, Any]:
    r = client.post(C, json=complaint_payload(**over))
    assert r.status_code == 201, r.text
    return dict(r.json())


# ---------------------------------------------------------------- sign-in


def test_login_sets_an_httponly_samesite_session_cookie(client: TestClient, world: World) -> None:
    r = sign_in(client, "qz_officer")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("xb_session=")
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs
    assert "samesite=lax" in attrs
    assert "path=/" in attrs
    assert "secure" not in attrs  # plain HTTP in development; XIAOBAO_COOKIE_SECURE=1 behind HTTPS
    assert len(client.cookies["xb_session"]) >= 40


def test_secure_cookie_behind_https(client: TestClient, world: World, container: Container) -> None:
    container.settings = container.settings.model_copy(update={"cookie_secure": True})
    r = sign_in(client, "qz_officer")
    assert "secure" in [a.strip().lower() for a in r.headers["set-cookie"].split(";")]


def test_wrong_password_is_a_401_page(client: TestClient, world: World) -> None:
    for username in ("qz_officer", "nobody_here"):
        r = sign_in(client, username, "wrong password")
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("text/html")
        assert "用户名或密码错误" in r.text  # the same answer for an unknown user: no username probing
        assert "set-cookie" not in r.headers
        assert client.get(C).status_code == 401


def test_login_is_rate_limited(client: TestClient, world: World, clock: Any, container: Container) -> None:
    for _ in range(5):
        assert sign_in(client, "qz_officer", "guess").status_code == 401
    r = sign_in(client, "qz_officer")  # the right password no longer helps
    assert r.status_code == 429
    assert "登录失败次数过多" in r.text
    assert "set-cookie" not in r.headers
    assert sign_in(client, "hq_officer").status_code == 429  # the same address is held back too
    clock.advance(timedelta(minutes=14))
    assert sign_in(client, "qz_officer").status_code == 429
    clock.advance(timedelta(minutes=1, seconds=1))  # the failures are now older than the 15-minute window
    assert sign_in(client, "qz_officer").status_code == 303
    assert client.get(C).status_code == 200
    assert len(audit(container, "auth.login")) == 1


def test_session_expires(client: TestClient, world: World, clock: Any) -> None:
    login(client, "qz_officer")
    assert client.get(C).status_code == 200
    clock.advance(timedelta(hours=12, seconds=1))
    assert client.get(C).status_code == 401


def test_anonymous_requests(client: TestClient, world: World) -> None:
    r = client.get(C)
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
    assert client.post(C, json=complaint_payload()).status_code == 401
    r = client.get("/complaints", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    client.cookies.set("xb_session", "made-up")
    assert client.get(f"{C}/1").status_code == 401


# ---------------------------------------------------------------- CSRF


def test_csrf_token_required_for_unsafe_cookie_requests(client: TestClient, world: World) -> None:
    token = login(client, "qz_officer")
    del client.headers["X-CSRF-Token"]
    r = client.post(C, json=complaint_payload())
    assert r.status_code == 403 and "CSRF" in r.json()["message_zh"] and "CSRF" in r.json()["message_en"]
    r = client.post(C, json=complaint_payload(), headers={"X-CSRF-Token": "not-the-token"})
    assert r.status_code == 403
    assert client.get(C).status_code == 200  # reads need no token
    assert client.get(C, params={"q": "定损"}).json()["total"] == 0  # nothing was created
    r = client.post(C, json=complaint_payload(), headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    # a form may send it as a field instead
    r = client.post("/logout", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303


def test_csrf_token_belongs_to_its_session(
    client: TestClient, other_client: TestClient, world: World
) -> None:
    mine = login(client, "qz_officer")
    login(other_client, "qz_handler")
    del other_client.headers["X-CSRF-Token"]
    r = other_client.post(C, json=complaint_payload(), headers={"X-CSRF-Token": mine})
    assert r.status_code == 403


def test_logout_invalidates_the_session(client: TestClient, world: World) -> None:
    login(client, "qz_officer")
    old = client.cookies["xb_session"]
    r = client.post("/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "xb_session=" in r.headers["set-cookie"]  # the cookie is cleared
    client.cookies.set("xb_session", old)  # replaying the old cookie does not work
    assert client.get(C).status_code == 401


# ---------------------------------------------------------------- API tokens


def issue_token(container: Container, username: str) -> str:
    with container.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        assert user is not None
        raw = auth.issue_api_token(uow.session, user, "hotline CRM", container.clock.now())
        uow.commit()
    return raw


def test_api_token_works_without_csrf(other_client: TestClient, world: World, container: Container) -> None:
    raw = issue_token(container, "qz_officer")
    bearer = {"Authorization": f"Bearer {raw}"}
    r = other_client.post(C, json=complaint_payload(), headers={**bearer, "Idempotency-Key": "crm-1"})
    assert r.status_code == 201, r.text
    assert other_client.get(f"{C}/{r.json()['id']}", headers=bearer).status_code == 200
    assert other_client.get(C, headers=bearer).json()["total"] == 1
    assert "set-cookie" not in r.headers
    with container.uow() as uow:
        row = uow.session.scalar(select(ApiToken))
        assert row is not None and row.token_hash != raw and raw not in (row.prefix + row.token_hash)
        assert row.last_used_at == container.clock.now()
    # the token acts as its user, with that user's scope
    sh = issue_token(container, "sh_officer")
    assert (
        other_client.get(f"{C}/{r.json()['id']}", headers={"Authorization": f"Bearer {sh}"}).status_code
        == 404
    )


def test_revoked_or_unknown_tokens_are_refused(
    other_client: TestClient, world: World, container: Container, clock: Any
) -> None:
    raw = issue_token(container, "qz_officer")
    assert other_client.get(C, headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    for bad in ("xb_" + "A" * 43, raw[:-1], "", raw + "x"):
        r = other_client.get(C, headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, bad
    with container.uow() as uow:
        row = uow.session.scalar(select(ApiToken))
        assert row is not None
        row.revoked_at = clock.now()
        uow.commit()
    assert other_client.get(C, headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert (
        other_client.post(C, json=complaint_payload(), headers={"Authorization": f"Bearer {raw}"}).status_code
        == 401
    )


def test_token_of_a_deactivated_user_is_refused(
    other_client: TestClient, world: World, container: Container
) -> None:
    raw = issue_token(container, "qz_officer")
    with container.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == "qz_officer"))
        assert user is not None
        user.active = False
        uow.commit()
    assert other_client.get(C, headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert sign_in(other_client, "qz_officer").status_code == 401


# ---------------------------------------------------------------- personal data


def test_lists_and_details_are_masked(client: TestClient, world: World) -> None:
    login(client, "qz_officer")
    body = new_complaint(
        client, description=f"投诉人留下的联系电话{RAW_PHONE}，身份证号{RAW_ID}，要求重新定损。"
    )
    cid = body["id"]
    responses = [
        client.post(C, json=complaint_payload(), headers={"Idempotency-Key": "k"}),
        client.get(C),
        client.get(C, params={"q": "定损"}),
        client.get(f"{C}/{cid}"),
        client.get(f"{C}/{cid}/timeline"),
        client.get(f"{C}/{cid}/duplicates"),
        client.get(f"{C}/{cid}/notice"),
    ]
    for r in responses:
        assert r.status_code in (200, 201), r.text
        assert RAW_PHONE not in r.text and RAW_ID not in r.text, r.request.url
        assert "林秀英" not in r.text
    assert body["phone"] == "139****1234" and body["pii_masked"] is True
    assert (
        body["id_number"] is not None
        and body["id_number"].startswith("3505")
        and RAW_ID not in body["id_number"]
    )
    assert RAW_PHONE not in body["description"] and RAW_ID not in body["description"]


def test_reveal_is_audited(client: TestClient, world: World, container: Container) -> None:
    login(client, "qz_handler")
    cid = new_complaint(client)["id"]
    assert audit(container, "pii.view") == []
    r = client.get(f"{C}/{cid}", params={"reveal": "true"})
    assert r.status_code == 200
    body = r.json()
    assert body["pii_masked"] is False
    assert (body["phone"], body["id_number"], body["complainant_name"]) == (RAW_PHONE, RAW_ID, "林秀英")
    assert "no-store" in r.headers["cache-control"]  # never kept by a browser or proxy cache
    rows = audit(container, "pii.view")
    assert len(rows) == 1
    assert rows[0].actor_id == world.users["qz_handler"].id
    assert rows[0].entity_type == "complaint" and rows[0].entity_id == str(cid)
    assert rows[0].ip == "testclient"
    client.get(f"{C}/{cid}", params={"reveal": "true"})
    assert len(audit(container, "pii.view")) == 2  # every view


@pytest.mark.parametrize("username", ["fj_manager", "hq_auditor"])
def test_reveal_refused_for_read_only_roles(
    client: TestClient, other_client: TestClient, world: World, container: Container, username: str
) -> None:
    login(client, "qz_officer")
    cid = new_complaint(client)["id"]
    login(other_client, username)
    assert other_client.get(f"{C}/{cid}").status_code == 200  # they may read it, masked
    r = other_client.get(f"{C}/{cid}", params={"reveal": "true"})
    assert r.status_code == 403
    assert RAW_PHONE not in r.text and RAW_ID not in r.text
    assert audit(container, "pii.view") == []


# ---------------------------------------------------------------- redirects and headers


FOREIGN_TARGETS = [
    "//evil.example",
    "//evil.example/complaints",
    "https://evil.example",
    "http://evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "evil.example",
    " //evil.example",
]


def test_no_open_redirect_after_login(client: TestClient, world: World) -> None:
    for target in FOREIGN_TARGETS:
        r = sign_in(client, "qz_officer", next_=target)
        assert r.status_code == 303
        location = r.headers["location"]
        # what a browser would do with it: backslashes read as slashes, tabs and newlines dropped
        seen = location.replace("\\", "/").replace("\t", "").replace("\n", "")
        parts = urlsplit(seen)
        assert parts.scheme == "" and parts.netloc == "" and not seen.startswith("//"), (target, location)


def test_local_next_is_kept(client: TestClient, world: World) -> None:
    r = sign_in(client, "qz_officer", next_="/complaints?status=handling")
    assert r.headers["location"] == "/complaints?status=handling"


def test_login_form_does_not_carry_a_foreign_next(client: TestClient, world: World) -> None:
    r = client.get("/login", params={"next": "//evil.example"})
    assert r.status_code == 200
    assert "evil.example" not in r.text


def test_language_switch_does_not_redirect_off_site(client: TestClient) -> None:
    r = client.get("/lang/en", headers={"referer": "https://evil.example/phish"}, follow_redirects=False)
    assert r.status_code == 303
    assert urlsplit(r.headers["location"]).netloc == ""
    assert "evil.example" not in r.headers["location"]


def test_security_headers(client: TestClient, world: World) -> None:
    login(client, "qz_officer")
    for r in (
        client.get("/login"),
        client.get(C),
        client.get(f"{C}/999999"),
        client.get("/healthz"),
        sign_in(client, "qz_officer", "wrong"),
    ):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
