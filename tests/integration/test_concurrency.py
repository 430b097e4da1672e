"""Concurrent changes: optimistic locking (both databases) and, on PostgreSQL with real committed
transactions from several threads, idempotent intake and a single winner among simultaneous actions."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from tests.conftest import T0
from tests.factories import World, build_world, complaint_payload, login
from xiaobao.auth import services as auth
from xiaobao.bootstrap import Container, bootstrap
from xiaobao.complaints.tables import Complaint, IdempotencyRecord
from xiaobao.config import Settings
from xiaobao.core import migrate
from xiaobao.core.clock import FakeClock
from xiaobao.core.sms import LoggingSmsGateway

C = "/api/v1/complaints"


# ---------------------------------------------------------------- optimistic locking, both databases


@pytest.fixture
def second_client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def test_stale_version_is_refused_and_nothing_is_overwritten(
    client: TestClient, second_client: TestClient, world: World, container: Container
) -> None:
    login(client, "qz_officer")
    created = client.post(C, json=complaint_payload()).json()
    cid = created["id"]
    r = client.post(
        f"{C}/{cid}/actions/accept",
        json={"version": created["version"], "handler_id": world.users["qz_handler"].id},
    )
    assert r.status_code == 200 and r.json()["handler"] == "qz_handler"
    r = client.post(f"{C}/{cid}/actions/start", json={"version": r.json()["version"]})
    assert r.status_code == 200

    # two handlers open the complaint and both see version N
    first, second = client, second_client
    login(first, "qz_handler")
    login(second, "qz_handler2")
    seen_first, seen_second = first.get(f"{C}/{cid}").json(), second.get(f"{C}/{cid}").json()
    n = seen_first["version"]
    assert seen_second["version"] == n

    r = second.post(f"{C}/{cid}/actions/withdraw", json={"version": n, "reason": "投诉人来电撤回"})
    assert r.status_code == 200 and r.json()["version"] == n + 1

    r = first.post(f"{C}/{cid}/actions/extend", json={"version": n, "reason": "案情复杂，需要延期"})
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "conflict"
    assert "已被他人修改" in body["message_zh"] and str(n) in body["message_zh"]
    assert "changed by someone else" in body["message_en"] and str(n + 1) in body["message_en"]

    now = first.get(f"{C}/{cid}").json()
    assert now["version"] == n + 1
    assert now["status"] == "withdrawn" and now["extension_level"] == 0  # the withdrawal stands

    # the same for the root-cause form
    r = first.put(
        f"{C}/{cid}/root-cause", json={"version": n, "root_cause": "定损标准不一", "rectification": "培训"}
    )
    assert r.status_code == 409
    assert first.get(f"{C}/{cid}").json()["version"] == n + 1


def test_same_idempotency_key_with_another_body_is_a_conflict(client: TestClient, world: World) -> None:
    login(client, "qz_officer")
    r1 = client.post(C, json=complaint_payload(), headers={"Idempotency-Key": "hotline-20260302-0001"})
    assert r1.status_code == 201 and r1.headers["Idempotent-Replayed"] == "false"
    r2 = client.post(C, json=complaint_payload(), headers={"Idempotency-Key": "hotline-20260302-0001"})
    assert r2.status_code == 201 and r2.json() == r1.json() and r2.headers["Idempotent-Replayed"] == "true"
    r3 = client.post(
        C, json=complaint_payload(phone="13805950000"), headers={"Idempotency-Key": "hotline-20260302-0001"}
    )
    assert r3.status_code == 409
    assert "Idempotency-Key" in r3.json()["message_zh"] and "Idempotency-Key" in r3.json()["message_en"]
    r4 = client.post(C, json=complaint_payload(), headers={"Idempotency-Key": "hotline-20260302-0002"})
    assert r4.status_code == 201 and r4.json()["id"] != r1.json()["id"]
    assert client.get(C).json()["total"] == 2
    # keys belong to their caller: the same key from someone else is a new request
    login(client, "qz_handler")
    r5 = client.post(C, json=complaint_payload(), headers={"Idempotency-Key": "hotline-20260302-0001"})
    assert r5.status_code == 201 and r5.json()["id"] not in (r1.json()["id"], r4.json()["id"])


# ---------------------------------------------------------------- real concurrency on PostgreSQL


@dataclass
class Committed:
    """An app on its own migrated PostgreSQL database where every transaction really commits."""

    url: str
    container: Container
    world: World
    app: Any

    def count(self, model: Any, *where: Any) -> int:
        with self.container.uow() as uow:
            return int(uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def token(self, username: str) -> str:
        with self.container.uow() as uow:
            user = uow.session.merge(self.world.users[username])
            raw = auth.issue_api_token(uow.session, user, f"test {uuid.uuid4().hex[:6]}", T0)
            uow.commit()
            return raw


@pytest.fixture(scope="module")
def committed(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Committed]:
    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    name = f"xb_conc_{uuid.uuid4().hex[:8]}"
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
            world = build_world(uow.session, T0)
            uow.commit()
        from xiaobao.web.app import create_app

        yield Committed(url, container, world, create_app(container))
        assert container.engine is not None
        container.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def at_once(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(0..n-1) in n threads released together."""
    barrier = threading.Barrier(n)

    def go(i: int) -> Any:
        barrier.wait(timeout=10)
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(go, range(n)))


def post_complaint(
    app: Any, token: str, key: str, payload: dict[str, Any]
) -> tuple[int, dict[str, Any], str]:
    with TestClient(app) as client:
        r = client.post(C, json=payload, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
        return r.status_code, r.json(), r.headers.get("Idempotent-Replayed", "")


def test_concurrent_intake_with_one_key_creates_one_complaint(committed: Committed) -> None:
    token = committed.token("qz_officer")
    key = "crm-" + uuid.uuid4().hex
    payload = complaint_payload(policy_no="PDAA2026CONC0001")
    before = committed.count(Complaint)

    results = at_once(8, lambda _: post_complaint(committed.app, token, key, payload))

    assert [status for status, _, _ in results] == [201] * 8, results
    ids = {body["id"] for _, body, _ in results}
    assert len(ids) == 1
    assert sorted(replayed for _, _, replayed in results) == ["false"] + ["true"] * 7
    assert committed.count(Complaint) == before + 1
    assert committed.count(Complaint, Complaint.policy_no == "PDAA2026CONC0001") == 1
    assert committed.count(IdempotencyRecord, IdempotencyRecord.key == key) == 1
    # every answer is the same answer
    bodies = [body for _, body, _ in results]
    assert all(b == bodies[0] for b in bodies)


def test_concurrent_intake_with_different_keys_creates_each(committed: Committed) -> None:
    token = committed.token("qz_officer")
    prefix = "crm-" + uuid.uuid4().hex
    before = committed.count(Complaint)

    results = at_once(
        8,
        lambda i: post_complaint(
            committed.app, token, f"{prefix}-{i}", complaint_payload(policy_no=f"PDAA2026CONC1{i:03d}")
        ),
    )

    assert [status for status, _, _ in results] == [201] * 8
    assert len({body["id"] for _, body, _ in results}) == 8
    assert committed.count(Complaint) == before + 8


def test_same_key_different_body_is_a_conflict_under_concurrency(committed: Committed) -> None:
    token = committed.token("qz_officer")
    key = "crm-" + uuid.uuid4().hex
    before = committed.count(Complaint)

    results = at_once(
        4,
        lambda i: post_complaint(
            committed.app, token, key, complaint_payload(policy_no=f"PDAA2026CONC2{i % 2:03d}")
        ),
    )

    statuses = sorted(status for status, _, _ in results)
    assert committed.count(Complaint) == before + 1  # one body won; the other body is refused
    winner = {body["id"] for status, body, _ in results if status == 201}
    assert len(winner) == 1
    assert statuses.count(409) >= 1 and set(statuses) <= {201, 409}


def test_simultaneous_actions_on_one_version_have_one_winner(committed: Committed) -> None:
    officer = committed.token("qz_officer")
    status, body, _ = post_complaint(
        committed.app, officer, "crm-" + uuid.uuid4().hex, complaint_payload(policy_no="PDAA2026CONC3000")
    )
    assert status == 201
    cid, version = body["id"], body["version"]
    handlers = [committed.world.users[u].id for u in ("qz_handler", "qz_handler2")]

    def accept(i: int) -> tuple[int, dict[str, Any]]:
        with TestClient(committed.app) as client:
            r = client.post(
                f"{C}/{cid}/actions/accept",
                headers={"Authorization": f"Bearer {officer}"},
                json={"version": version, "handler_id": handlers[i % 2]},
            )
            return r.status_code, r.json()

    results = at_once(8, accept)

    statuses = sorted(s for s, _ in results)
    assert statuses == [200] + [409] * 7, results
    won = next(b for s, b in results if s == 200)
    with committed.container.uow() as uow:
        c = uow.session.get(Complaint, cid)
        assert c is not None
        assert c.version == version + 1 == won["version"]
        assert c.status == "accepted" and c.handler is not None and c.handler.display_name == won["handler"]
