"""The claims JSON API: idempotent intake (replays, conflicts, concurrent retries on PostgreSQL), who may call
which /api/v1/claims route (a matrix covering every route), masking and audited reveal."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import sessionmaker

from tests.conftest import T0
from tests.factories import World, build_world, login
from tests.integration.claims_support import build_claims, report_payload
from tests.integration.test_access_matrix import app_routes
from tests.integration.test_concurrency import at_once
from xiaobao.auth import services as auth
from xiaobao.bootstrap import Container, bootstrap
from xiaobao.claims import events, services
from xiaobao.claims.schemas import EventCreate, ReportCreate, RescueCreate
from xiaobao.claims.tables import ClaimCase, ClaimIdempotency
from xiaobao.config import Settings
from xiaobao.core import migrate
from xiaobao.core.audit import AuditLog
from xiaobao.core.clock import FakeClock
from xiaobao.core.sms import LoggingSmsGateway

C = "/api/v1/claims"


@pytest.fixture
def cw(container: Container, world: World) -> World:
    with container.uow() as uow:
        build_claims(uow.session, world)
        uow.commit()
    return world


# ---------------------------------------------------------------- idempotent intake


def test_intake_replays_and_refuses_a_reused_key(client: TestClient, cw: World) -> None:
    login(client, "qz_claims_op")
    r1 = client.post(C, json=report_payload(), headers={"Idempotency-Key": "ivr-0001"})
    assert r1.status_code == 201 and r1.headers["Idempotent-Replayed"] == "false"
    body = r1.json()
    assert body["reporter_phone"] == "139****8888" and body["pii_masked"]
    for _ in range(3):
        r = client.post(C, json=report_payload(), headers={"Idempotency-Key": "ivr-0001"})
        assert r.status_code == 201 and r.json() == body and r.headers["Idempotent-Replayed"] == "true"
    r3 = client.post(
        C, json=report_payload(reporter_phone="13800000001"), headers={"Idempotency-Key": "ivr-0001"}
    )
    assert r3.status_code == 409 and "Idempotency-Key" in r3.json()["message_en"]
    assert client.get(C).json()["total"] == 1
    # the same key from another caller is another report
    login(client, "fj_commander")
    r4 = client.post(C, json=report_payload(), headers={"Idempotency-Key": "ivr-0001"})
    assert r4.status_code == 201 and r4.json()["id"] != body["id"]


def test_intake_errors_name_the_field(client: TestClient, cw: World) -> None:
    login(client, "qz_claims_op")
    r = client.post(C, json=report_payload(cause="meteor", vehicle_plate="xx"))
    assert r.status_code == 422
    fields = {p["field"] for p in r.json()["problems"]}
    assert fields == {"cause", "vehicle_plate"}
    r = client.post(C, json={k: v for k, v in report_payload().items() if k != "place_text"})
    assert r.status_code == 422 and any("place_text" in p["field"] for p in r.json()["problems"])


def test_reveal_is_audited_and_refused_to_commanders(
    client: TestClient, cw: World, container: Container
) -> None:
    login(client, "qz_claims_op")
    cid = client.post(C, json=report_payload()).json()["id"]
    r = client.get(f"{C}/{cid}", params={"reveal": "true"})
    assert r.status_code == 200 and r.json()["reporter_phone"] == "13905958888"
    with container.uow() as uow:
        n = uow.session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "claim.pii_view", AuditLog.entity_id == str(cid))
        )
    assert n == 1
    login(client, "fj_commander")
    assert client.get(f"{C}/{cid}", params={"reveal": "true"}).status_code == 403
    assert client.get(f"{C}/{cid}").json()["reporter_phone"] == "139****8888"


def test_timeline_replays_through_the_api(client: TestClient, cw: World) -> None:
    login(client, "qz_claims_op")
    c = client.post(C, json=report_payload()).json()
    client.post(f"{C}/{c['id']}/contacts", json={"channel": "phone", "outcome": "no_answer"})
    r = client.post(f"{C}/{c['id']}/contacts", json={"channel": "phone", "outcome": "reached"})
    assert r.status_code == 201
    got = client.get(f"{C}/{c['id']}").json()
    r = client.post(f"{C}/{c['id']}/actions/collect_info", json={"version": got["version"]})
    assert r.status_code == 200 and r.json()["status"] == "info_collected"
    tl = client.get(f"{C}/{c['id']}/timeline").json()
    assert [t["kind"] for t in tl] == ["reported", "contact_attempt", "contact_attempt", "collect_info"]
    assert [t["state"]["status"] for t in tl] == ["reported", "reported", "contacted", "info_collected"]
    assert tl[-1]["state"]["contact_attempts"] == 2


# ---------------------------------------------------------------- the access matrix

OK, FORBIDDEN, NOT_FOUND = "ok", "forbidden", "not_found"
CODES = {"O": OK, "F": FORBIDDEN, "N": NOT_FOUND}
COLUMNS = {
    "operator": "qz_claims_op",
    "surveyor": "qz_surveyor",
    "commander": "fj_commander",
    "manager": "fj_manager",
    "auditor": "hq_auditor",
    "complaint_handler": "qz_handler",
    "other_branch_op": "sh_claims_op",
    "admin": "admin",
}
# The case is a report in 晋江 (Quanzhou), unassigned. Roles without claim view get 404 on a case and 403 on
# lists; roles that see the case but may not do the thing get 403; other branches get 404.
MATRIX_TEXT = """
endpoint              op  sv  cmd mgr aud hdl oth adm
list                  O   O   O   O   O   F   O   F
create                O   F   O   F   F   F   O   F
queue                 O   O   O   O   O   F   O   F
get                   O   O   O   O   O   N   N   N
reveal                O   O   F   F   F   N   N   N
timeline              O   O   O   O   O   N   N   N
action                O   O   F   F   F   N   N   N
contacts.create       O   O   O   F   F   N   N   N
contacts.list         O   O   O   O   O   N   N   N
rescues.create        O   O   O   F   F   N   N   N
rescues.list          O   O   O   O   O   N   N   N
rescues.update        O   O   O   F   F   N   N   N
attachments.upload    O   O   O   F   F   N   N   N
attachments.list      O   O   O   O   O   N   N   N
attachments.download  O   O   O   O   O   N   N   N
events.list           O   O   O   O   O   F   O   F
events.declare        F   F   O   F   F   F   F   F
events.get            O   O   O   O   O   N   O   N
events.tag            F   F   O   F   F   F   F   F
events.close          F   F   O   F   F   F   F   F
events.factories      F   F   O   F   F   F   F   F
factories.list        O   O   O   O   O   F   O   F
factories.create      F   F   O   F   F   F   F   F
staff.list            O   O   O   O   O   F   O   F
staff.upsert          F   F   O   F   F   F   F   F
policies.import       F   F   O   F   F   F   F   F
dispatch              F   F   O   F   F   F   F   F
"""


def parse_matrix(text_: str) -> dict[str, dict[str, str]]:
    lines = [ln.split() for ln in text_.strip().splitlines()]
    return {r[0]: {role: CODES[v] for role, v in zip(COLUMNS, r[1:], strict=True)} for r in lines[1:]}


MATRIX = parse_matrix(MATRIX_TEXT)
ROUTES: dict[str, tuple[str, str]] = {
    "list": ("GET", C),
    "create": ("POST", C),
    "queue": ("GET", C + "/queue"),
    "get": ("GET", C + "/{case_id}"),
    "reveal": ("GET", C + "/{case_id}"),
    "timeline": ("GET", C + "/{case_id}/timeline"),
    "action": ("POST", C + "/{case_id}/actions/{action}"),
    "contacts.create": ("POST", C + "/{case_id}/contacts"),
    "contacts.list": ("GET", C + "/{case_id}/contacts"),
    "rescues.create": ("POST", C + "/{case_id}/rescues"),
    "rescues.list": ("GET", C + "/{case_id}/rescues"),
    "rescues.update": ("PUT", C + "/{case_id}/rescues/{rescue_id}"),
    "attachments.upload": ("POST", C + "/{case_id}/attachments"),
    "attachments.list": ("GET", C + "/{case_id}/attachments"),
    "attachments.download": ("GET", C + "/{case_id}/attachments/{attachment_id}"),
    "events.list": ("GET", C + "/events"),
    "events.declare": ("POST", C + "/events"),
    "events.get": ("GET", C + "/events/{event_id}"),
    "events.tag": ("POST", C + "/events/{event_id}/tag"),
    "events.close": ("POST", C + "/events/{event_id}/close"),
    "events.factories": ("POST", C + "/events/{event_id}/factories"),
    "factories.list": ("GET", C + "/factories"),
    "factories.create": ("POST", C + "/factories"),
    "staff.list": ("GET", C + "/staff"),
    "staff.upsert": ("PUT", C + "/staff"),
    "policies.import": ("POST", C + "/policies/import"),
    "dispatch": ("POST", C + "/dispatch"),
}


def test_matrix_rows_match_the_routes() -> None:
    assert set(MATRIX) == set(ROUTES)


def test_every_claims_route_is_in_the_matrix(tmp_path: Path) -> None:
    from xiaobao.web.app import create_app

    settings = Settings(database_url="sqlite://", secret_key="x" * 20, data_dir=tmp_path)
    app = create_app(bootstrap(settings, session_factory=sessionmaker()))
    # path convertors ({case_id:int}) as the schema shows them ({case_id})
    routes = {(m, re.sub(r":\w+}", "}", p)) for m, p in app_routes(app) if p == C or p.startswith(C + "/")}
    assert routes
    missing = routes - set(ROUTES.values())
    assert not missing, f"claims routes without a row in the access matrix: {sorted(missing)}"
    assert not set(ROUTES.values()) - routes


JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64 + b"\xff\xd9"


class Prep:
    def __init__(self, container: Container, w: World) -> None:
        self.c, self.w, self.n = container, w, 0

    def case(self) -> dict[str, Any]:
        self.n += 1
        with self.c.uow() as uow:
            s = uow.session
            c = services.create_report(
                s,
                self.w.p("qz_claims_op"),
                ReportCreate(**report_payload(reporter_phone=f"139059{self.n:05d}")),
                T0,
            )
            uow.commit()
            cid, version = c.id, c.version
        with self.c.uow() as uow:
            r = services.request_rescue(
                uow, self.w.p("qz_claims_op"), cid, RescueCreate(kind="tow", vendor="晋江安达拖车"), T0
            )
            rid = r.id
        with self.c.uow() as uow:
            from xiaobao.claims.attachments import add_attachment

            a = add_attachment(uow, self.w.p("qz_claims_op"), cid, "car.jpg", JPG, T0, self.c.settings)
            aid = a.id
        with self.c.uow() as uow:
            version = uow.session.get(ClaimCase, cid).version  # type: ignore[union-attr]
        return {"case_id": cid, "version": version, "rescue_id": rid, "attachment_id": aid}

    def event(self) -> int:
        self.n += 1
        with self.c.uow() as uow:
            e, _ = events.declare(
                uow,
                self.w.p("fj_commander"),
                EventCreate(
                    code=f"EV{self.n}",
                    name="测试台风",
                    peril="typhoon",
                    regions=["3505"],
                    starts_at=T0 - timedelta(days=1),
                ),
                T0,
            )
            return e.id


def call(client: TestClient, endpoint: str, prep: Prep, username: str) -> Any:
    method, path = ROUTES[endpoint]
    ids: dict[str, Any] = {}
    if "{case_id}" in path:
        ids = prep.case()
    if "{event_id}" in path:
        ids["event_id"] = prep.event()
    url = path.format(action="take", **ids)
    body: Any = None
    files = None
    params: dict[str, Any] = {}
    if endpoint == "create":
        body = report_payload(reporter_phone="13905950999")
    elif endpoint == "reveal":
        params = {"reveal": "true"}
    elif endpoint == "action":
        body = {"version": ids["version"]}
    elif endpoint == "contacts.create":
        body = {"channel": "phone", "outcome": "no_answer"}
    elif endpoint == "rescues.create":
        body = {"kind": "pump", "vendor": "泉州排涝队"}
    elif endpoint == "rescues.update":
        body = {"status": "accepted"}
    elif endpoint == "attachments.upload":
        files = {"file": ("scene.jpg", JPG, "image/jpeg")}
    elif endpoint == "events.declare":
        body = {
            "code": f"D-{username}",
            "name": "测试暴雨",
            "peril": "rainstorm",
            "regions": ["35"],
            "starts_at": T0.isoformat(),
        }
    elif endpoint == "events.tag":
        body = {"case_ids": [], "matching": True}
    elif endpoint == "events.factories":
        params = {"factory_code": "FS"}
    elif endpoint == "factories.create":
        body = {
            "code": f"F{prep.n}{len(username)}",
            "name_zh": "西安理赔工厂",
            "name_en": "Xi'an",
            "city": "西安",
            "regions": ["61"],
        }
    elif endpoint == "staff.upsert":
        body = {"username": "qz_surveyor", "kind": "surveyor", "skills": ["motor"], "home_district": "350582"}
    elif endpoint == "policies.import":
        files = {
            "file": (
                "p.csv",
                "policy_no,line,holder_name,valid_from,valid_to\nP1,motor,张三,2026-01-01,2026-12-31\n".encode(),
                "text/csv",
            )
        }
    return client.request(method, url, json=body, files=files, params=params)


@pytest.fixture
def clients(app: Any, cw: World) -> Iterator[Callable[[str], TestClient]]:
    with ExitStack() as stack:
        made: dict[str, TestClient] = {}

        def get(username: str) -> TestClient:
            if username not in made:
                made[username] = stack.enter_context(TestClient(app))
                login(made[username], username)
            return made[username]

        yield get


def test_access_matrix(container: Container, cw: World, clients: Callable[[str], TestClient]) -> None:
    prep = Prep(container, cw)
    wrong = []
    for endpoint, expected in MATRIX.items():
        for role, username in COLUMNS.items():
            r = call(clients(username), endpoint, prep, username)
            outcome = (
                OK
                if r.status_code < 400
                else {403: FORBIDDEN, 404: NOT_FOUND}.get(r.status_code, str(r.status_code))
            )
            if outcome != expected[role]:
                wrong.append((endpoint, role, expected[role], r.status_code, r.text[:200]))
            if expected[role] == NOT_FOUND:
                assert "13905" not in r.text and "晋江" not in r.text
    assert not wrong, wrong


def test_lists_never_show_other_branches(
    container: Container, cw: World, clients: Callable[[str], TestClient]
) -> None:
    prep = Prep(container, cw)
    cid = prep.case()["case_id"]
    for username in ("sh_claims_op", "fs_claims_op", "xm_claims_op"):
        client = clients(username)
        for params in ({}, {"region": "3505"}, {"q": "闽C12345"}, {"queue": "contact"}, {"per_page": 200}):
            r = client.get(C, params=params)
            assert r.status_code == 200 and cid not in [i["id"] for i in r.json()["items"]], (
                username,
                params,
            )
        assert cid not in [i["id"] for i in client.get(C + "/queue").json()["items"]]
    assert cid in [i["id"] for i in clients("fj_manager").get(C).json()["items"]]


# ---------------------------------------------------------------- real concurrency on PostgreSQL


@pytest.fixture(scope="module")
def committed(
    pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Container, World, Any]]:
    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    name = f"xb_claims_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        migrate.upgrade(url)
        settings = Settings(
            database_url=url,
            secret_key="test-secret-key-0123456789",
            data_dir=Path(tmp_path_factory.mktemp("var")),
            db_pool_size=12,
            db_max_overflow=4,
        )
        container = bootstrap(settings, clock=FakeClock(T0), sms=LoggingSmsGateway())
        with container.uow() as uow:
            world = build_claims(uow.session, build_world(uow.session, T0))
            uow.commit()
        from xiaobao.web.app import create_app

        yield container, world, create_app(container)
        assert container.engine is not None
        container.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_concurrent_retries_with_one_key_create_one_case(committed: tuple[Container, World, Any]) -> None:
    container, world, app = committed
    with container.uow() as uow:
        user = uow.session.merge(world.users["qz_claims_op"])
        token = auth.issue_api_token(uow.session, user, "ivr", T0)
        uow.commit()
    key = "ivr-" + uuid.uuid4().hex
    payload = report_payload(policy_no="PDAA2026CLAIMCONC1")

    def post(_: int) -> tuple[int, dict[str, Any], str]:
        with TestClient(app) as client:
            r = client.post(
                C, json=payload, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key}
            )
            return r.status_code, r.json(), r.headers.get("Idempotent-Replayed", "")

    results = at_once(8, post)
    assert [s for s, _, _ in results] == [201] * 8, results
    assert len({b["id"] for _, b, _ in results}) == 1
    assert sorted(r for _, _, r in results) == ["false"] + ["true"] * 7
    with container.uow() as uow:
        s = uow.session
        assert (
            s.scalar(
                select(func.count()).select_from(ClaimCase).where(ClaimCase.policy_no == "PDAA2026CLAIMCONC1")
            )
            == 1
        )
        assert (
            s.scalar(select(func.count()).select_from(ClaimIdempotency).where(ClaimIdempotency.key == key))
            == 1
        )

    # different keys: one case each
    prefix = "ivr-" + uuid.uuid4().hex
    results = at_once(
        6,
        lambda i: (
            lambda c: (
                c.post(
                    C,
                    json=report_payload(policy_no=f"PDAA2026CLAIMCONC2{i}"),
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"{prefix}-{i}"},
                ).status_code
            )
        )(TestClient(app)),
    )
    assert results == [201] * 6
    with container.uow() as uow:
        n = uow.session.scalar(
            select(func.count()).select_from(ClaimCase).where(ClaimCase.policy_no.like("PDAA2026CLAIMCONC2%"))
        )
    assert n == 6
