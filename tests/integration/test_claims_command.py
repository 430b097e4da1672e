"""The live command page on both databases: the Server-Sent Events stream (first snapshot with the right numbers,
a new snapshot after a change, access refused before streaming), the snapshot itself, and the commander's moves
(staff to another factory through the audited staff service; refused without Perm.CAT_COMMAND)."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from tests.conftest import T0
from tests.factories import World, login
from tests.integration.claims_support import build_claims, report_payload
from xiaobao.bootstrap import Container
from xiaobao.claims import command, events, live, services
from xiaobao.claims.schemas import ContactCreate, EventCreate, ReportCreate, RescueCreate
from xiaobao.claims.tables import StaffProfile
from xiaobao.core.audit import AuditLog


@pytest.fixture
def cw(container: Container, world: World) -> World:
    with container.uow() as uow:
        build_claims(uow.session, world)
        uow.commit()
    return world


@pytest.fixture(autouse=True)
def _fast_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(live, "MIN_PUSH_SECONDS", 0.05)
    monkeypatch.setattr(live, "MAX_STREAM_SECONDS", 20.0)


def declare(container: Container, w: World) -> int:
    with container.uow() as uow:
        e, _ = events.declare(
            uow,
            w.p("fj_commander"),
            EventCreate(
                code="DK-T",
                name="测试台风",
                peril="typhoon",
                regions=["3505"],
                starts_at=T0 - timedelta(days=1),
            ),
            T0,
        )
        return e.id


def report(container: Container, w: World, n: int) -> int:
    with container.uow() as uow:
        c = services.create_report(
            uow.session,
            w.p("qz_claims_op"),
            ReportCreate(**report_payload(reporter_phone=f"139059{n:05d}", vehicle_plate=f"闽C{n:05d}")),
            T0,
        )
        uow.commit()
        return c.id


def seed(container: Container, w: World) -> tuple[int, list[int]]:
    eid = declare(container, w)
    ids = [report(container, w, i) for i in range(3)]
    with container.uow() as uow:
        services.record_contact(
            uow, w.p("qz_claims_op"), ids[0], ContactCreate(outcome="reached"), T0 + timedelta(minutes=5)
        )
    with container.uow() as uow:
        services.request_rescue(
            uow, w.p("qz_claims_op"), ids[1], RescueCreate(kind="tow", vendor="晋江安达拖车"), T0
        )
    return eid, ids


def read_stream(
    app: Any,
    path: str,
    cookie: str | None,
    *,
    want: int = 1,
    on_event: Callable[[int, dict[str, Any]], None] | None = None,
    timeout: float = 20.0,
) -> tuple[int, dict[str, str], list[tuple[str, str]]]:
    """Drive the ASGI app directly (the test client buffers whole bodies, a stream never ends): collect SSE
    messages until `want` snapshot events arrived, then disconnect. Returns (status, headers, [(event, data)])."""
    headers = [(b"host", b"testserver"), (b"accept", b"text/event-stream")]
    if cookie:
        headers.append((b"cookie", f"xb_session={cookie}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    out: dict[str, Any] = {"status": 0, "headers": {}, "buf": "", "events": []}

    async def main() -> None:
        gone = anyio.Event()
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                out["status"] = msg["status"]
                out["headers"] = {k.decode(): v.decode() for k, v in msg.get("headers", [])}
                if msg["status"] != 200:
                    return
            elif msg["type"] == "http.response.body":
                out["buf"] += msg.get("body", b"").decode()
                while "\n\n" in out["buf"]:
                    block, out["buf"] = out["buf"].split("\n\n", 1)
                    fields = dict(
                        line.split(": ", 1)
                        for line in block.splitlines()
                        if ": " in line and not line.startswith(":")
                    )
                    if "event" in fields:
                        out["events"].append((fields["event"], fields.get("data", "")))
                        snaps = [d for ev, d in out["events"] if ev == "snapshot"]
                        if fields["event"] == "snapshot" and on_event is not None and len(snaps) < want:
                            await run_in_threadpool(on_event, len(snaps), json.loads(fields["data"]))
                        if len(snaps) >= want or fields["event"] == "closed":
                            gone.set()

        with anyio.fail_after(timeout):
            await app(scope, receive, send)

    # in a thread of its own: the browser tests' sync Playwright may leave an event loop running in this one
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(anyio.run, main).result()
    return out["status"], out["headers"], out["events"]


def test_stream_sends_a_snapshot_with_the_right_numbers(
    app: Any, client: TestClient, container: Container, cw: World
) -> None:
    eid, ids = seed(container, cw)
    login(client, "fj_commander")
    status, headers, evs = read_stream(app, f"/claims/events/{eid}/live", client.cookies.get("xb_session"))
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-store"
    kind, data = evs[0]
    assert kind == "snapshot"
    snap = json.loads(data)
    assert snap["event"]["id"] == eid and snap["event"]["name"] == "测试台风"
    c = snap["counts"]
    assert c["reported"] == 3 and c["contacted"] == 1 and c["contacted_in_sla"] == 1
    assert c["awaiting_contact"] == 2 and c["closed"] == 0 and c["paid"] == 0
    assert snap["one_week"]["target"] == 0.30 and snap["motor"]["total"] == 3 and snap["motor"]["closed"] == 0
    feats = snap["map"]["cases"]["features"]
    assert sorted(f["properties"]["id"] for f in feats) == sorted(ids)
    assert {f["properties"]["status"] for f in feats} == {"reported", "contacted"}
    assert "陈志明" not in data and "13905" not in data  # no reporter names or phones in the stream
    resc = snap["map"]["rescues"]["features"]
    assert len(resc) == 1 and resc[0]["properties"]["case_id"] == ids[1] and snap["rescue_active"] == 1
    region = {r["key"]: r for r in snap["queues"]["region"]}
    assert region["3505"]["depth"] == 3 and region["3505"]["name"] == "泉州市"
    assert snap["projection"]["open"]["backlog"] == 3
    assert snap["rates"]["arrival"] > 0


def test_stream_pushes_a_new_snapshot_after_a_change(
    app: Any, client: TestClient, container: Container, cw: World
) -> None:
    eid, _ = seed(container, cw)
    login(client, "fj_commander")

    def change(n: int, snap: dict[str, Any]) -> None:
        assert snap["counts"]["reported"] == 3
        report(container, cw, 99)

    _, _, evs = read_stream(
        app, f"/claims/events/{eid}/live", client.cookies.get("xb_session"), want=2, on_event=change
    )
    snaps = [json.loads(d) for ev, d in evs if ev == "snapshot"]
    assert [s["counts"]["reported"] for s in snaps] == [3, 4]
    assert len(snaps[1]["map"]["cases"]["features"]) == 4


def test_stream_access_is_checked_before_streaming(
    app: Any, client: TestClient, container: Container, cw: World
) -> None:
    eid, _ = seed(container, cw)
    status, _, evs = read_stream(app, f"/claims/events/{eid}/live", None)
    assert status == 401 and evs == []
    login(client, "qz_handler")  # complaints staff: no claims permission at all
    status, _, evs = read_stream(app, f"/claims/events/{eid}/live", client.cookies.get("xb_session"))
    assert status == 404 and evs == []
    assert client.get(f"/claims/events/{eid}/command").status_code == 404
    login(client, "fj_commander")
    status, _, _ = read_stream(app, "/claims/events/999999/live", client.cookies.get("xb_session"))
    assert status == 404
    # a claims operator elsewhere sees the event, but only the cases they may see are counted
    login(client, "sh_claims_op")
    status, _, evs = read_stream(app, f"/claims/events/{eid}/live", client.cookies.get("xb_session"))
    assert status == 200 and json.loads(evs[0][1])["counts"]["reported"] == 0


def test_command_page_renders_the_snapshot_and_panel(
    client: TestClient, container: Container, cw: World
) -> None:
    eid, _ = seed(container, cw)
    login(client, "fj_commander")
    page = client.get(f"/claims/events/{eid}/command")
    assert page.status_code == 200
    assert f'data-stream="/claims/events/{eid}/live"' in page.text and 'id="move-form"' in page.text
    assert '"reported":3' in page.text and "command.js" in page.text
    login(client, "qz_claims_op")
    page = client.get(f"/claims/events/{eid}/command")
    assert page.status_code == 200 and 'id="move-form"' not in page.text


def test_commander_moves_staff_and_the_fingerprint_changes(
    client: TestClient, container: Container, cw: World, clock: Any
) -> None:
    eid, _ = seed(container, cw)
    with container.uow() as uow:
        before = command.fingerprint(uow.session, eid, clock.now())
    token = login(client, "qz_claims_op")
    r = client.post(
        f"/claims/events/{eid}/command/staff",
        data={"username": "fs_claims_op", "factory_code": "SZ"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 403
    token = login(client, "fj_commander")
    r = client.post(
        f"/claims/events/{eid}/command/staff",
        data={
            "username": "fs_claims_op",
            "factory_code": "SZ",
            "allowed_regions": "3505，3502",
            "online": "1",
        },
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 200, r.text
    with container.uow() as uow:
        s = uow.session
        p = s.scalar(select(StaffProfile).where(StaffProfile.user_id == cw.users["fs_claims_op"].id))
        assert p is not None and p.factory is not None and p.factory.code == "SZ"
        assert p.allowed_regions == ["3502", "3505"] and p.online is True
        assert p.skills == ["motor", "property"] and p.capacity == 30  # the rest of the profile is kept
        log = s.scalars(select(AuditLog).where(AuditLog.action == "claim_staff.upsert")).all()
        assert log and log[-1].actor_id == cw.users["fj_commander"].id
        after = command.fingerprint(s, eid, clock.now())
    assert after != before  # same minute, still online: the move itself changed it
    bad = client.post(
        f"/claims/events/{eid}/command/staff",
        data={"username": "fs_claims_op", "factory_code": "NOPE"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "factory_code"
    nobody = client.post(
        f"/claims/events/{eid}/command/staff",
        data={"username": "qz_handler"},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert nobody.status_code == 422 and nobody.json()["problems"][0]["field"] == "username"
    r = client.post(
        f"/claims/events/{eid}/command/dispatch",
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert r.status_code == 200 and set(r.json()) == {"items", "staff", "assigned", "skipped"}
