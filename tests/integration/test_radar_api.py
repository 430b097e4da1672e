"""Who may call which risk-radar endpoint: every radar route against users of every relevant role, through
the HTTP API with a signed-in session, on SQLite and PostgreSQL. A route added under /api/v1/radar or
/radar without a row here fails `test_every_radar_route_is_in_the_matrix` (the complaint matrix in
test_access_matrix.py covers /api/v1/complaints the same way)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import login
from tests.integration.radar_support import (
    REFERENCE,
    add_radar_users,
    advisories_bytes,
    csv_bytes,
    import_portfolio,
    make_event,
    quanzhou_rows,
    xiamen_rows,
)
from tests.integration.test_access_matrix import app_routes
from xiaobao.radar import services
from xiaobao.radar.tables import RadarSite

OK, FORBIDDEN, NOT_FOUND, INVALID = "ok", "forbidden", "not_found", "invalid"
CODES = {"O": OK, "F": FORBIDDEN, "N": NOT_FOUND, "V": INVALID}

# hq/fj/qz/xm risk engineers, a commander and an FJ officer, manager and an HQ auditor (view only), a handler
# and an admin (no radar role). The entity is a Quanzhou site, its visit and photo.
COLUMNS = {
    "hq_risk": "hq_risk",
    "fj_risk": "fj_risk",
    "qz_risk": "qz_risk",
    "xm_risk": "xm_risk",
    "commander": "hq_commander",
    "officer": "fj_officer",
    "manager": "fj_manager",
    "auditor": "hq_auditor",
    "handler": "qz_handler",
    "admin": "admin",
}

MATRIX_TEXT = """
endpoint            hqr fjr qzr xmr cmd off mgr aud hdl adm
sites.list          O   O   O   O   O   O   O   O   F   F
sites.import        O   O   O   O   F   F   F   F   F   F
events.list         O   O   O   O   O   O   O   O   F   F
events.create       O   O   O   O   F   F   F   F   F   F
events.get          O   O   O   O   O   O   O   O   N   N
events.assess       O   O   O   O   F   F   F   F   N   N
events.map          O   O   O   O   O   O   O   O   N   N
events.ranking      O   O   O   O   O   O   O   O   N   N
plans.create        O   O   O   V   F   F   F   F   N   N
plans.list          O   O   O   O   O   O   O   O   N   N
visits.create       O   O   O   N   F   F   F   F   N   N
visits.list         O   O   O   O   O   O   O   O   N   N
visits.get          O   O   O   N   O   O   O   O   N   N
visits.photo        O   O   O   N   O   O   O   O   N   N
claims.import       O   O   O   O   F   F   F   F   N   N
comparison          O   O   O   O   O   O   O   O   N   N
"""

R = "/api/v1/radar"
ROUTES: dict[str, tuple[str, str]] = {
    "sites.list": ("GET", R + "/sites"),
    "sites.import": ("POST", R + "/sites/import"),
    "events.list": ("GET", R + "/events"),
    "events.create": ("POST", R + "/events"),
    "events.get": ("GET", R + "/events/{event_id}"),
    "events.assess": ("POST", R + "/events/{event_id}/assess"),
    "events.map": ("GET", R + "/events/{event_id}/map"),
    "events.ranking": ("GET", R + "/events/{event_id}/ranking"),
    "plans.create": ("POST", R + "/events/{event_id}/plans"),
    "plans.list": ("GET", R + "/events/{event_id}/plans"),
    "visits.create": ("POST", R + "/events/{event_id}/visits"),
    "visits.list": ("GET", R + "/events/{event_id}/visits"),
    "visits.get": ("GET", R + "/visits/{visit_id}"),
    "visits.photo": ("GET", R + "/visits/{visit_id}/photos/{photo_id}"),
    "claims.import": ("POST", R + "/events/{event_id}/claims/import"),
    "comparison": ("GET", R + "/events/{event_id}/comparison"),
}
# HTML pages: a view role sees them; the rest is tested in test_radar_pages.py
PAGES = {
    ("GET", "/radar"),
    ("POST", "/radar/events"),
    ("GET", "/radar/events/{event_id}"),
    ("POST", "/radar/events/{event_id}/assess"),
    ("GET", "/radar/events/{event_id}/map"),
    ("GET", "/radar/events/{event_id}/ranking"),
    ("GET", "/radar/events/{event_id}/plan"),
    ("POST", "/radar/events/{event_id}/plan"),
    ("GET", "/radar/events/{event_id}/visits"),
    ("POST", "/radar/events/{event_id}/visits"),
    ("GET", "/radar/visits/{visit_id}"),
    ("GET", "/radar/visits/{visit_id}/photos/{photo_id}"),
    ("GET", "/radar/sites"),
    ("POST", "/radar/sites/import"),
    ("GET", "/radar/events/{event_id}/claims"),
    ("POST", "/radar/events/{event_id}/claims"),
    ("GET", "/radar/events/{event_id}/comparison"),
}


def parse_matrix(text: str) -> dict[str, dict[str, str]]:
    lines = [ln.split() for ln in text.strip().splitlines()]
    header, rows = lines[0][1:], lines[1:]
    assert len(header) == len(COLUMNS)
    return {r[0]: {role: CODES[v] for role, v in zip(COLUMNS, r[1:], strict=True)} for r in rows}


MATRIX = parse_matrix(MATRIX_TEXT)


def test_matrix_rows_match_the_routes() -> None:
    assert set(MATRIX) == set(ROUTES)


def test_every_radar_route_is_in_the_matrix(app: Any) -> None:
    radar = {(m, p) for m, p in app_routes(app) if p.startswith((R, "/radar"))}
    assert radar - set(ROUTES.values()) - PAGES == set(), "add the new radar routes to this test"
    assert (set(ROUTES.values()) | PAGES) - radar == set(), "stale rows"


@pytest.fixture
def clients(app: Any, world: Any) -> Iterator[Callable[[str], TestClient]]:
    cache: dict[str, TestClient] = {}
    with ExitStack() as stack:

        def get(username: str) -> TestClient:
            if username not in cache:
                cache[username] = stack.enter_context(TestClient(app))
                login(cache[username], username)
            return cache[username]

        yield get


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def request(c: TestClient, endpoint: str, ids: dict[str, int], world: Any) -> Any:
    e, v, p = ids["event"], ids["visit"], ids["photo"]
    if endpoint == "sites.list":
        return c.get(f"{R}/sites")
    if endpoint == "sites.import":
        return c.post(f"{R}/sites/import", files={"file": ("s.csv", csv_bytes(xiamen_rows(1)), "text/csv")})
    if endpoint == "events.list":
        return c.get(f"{R}/events")
    if endpoint == "events.create":
        return c.post(
            f"{R}/events",
            files={"file": ("doksuri.csv", advisories_bytes(), "text/csv")},
            data={"reference_time": REFERENCE.isoformat()},
        )
    if endpoint == "events.get":
        return c.get(f"{R}/events/{e}")
    if endpoint == "events.assess":
        return c.post(f"{R}/events/{e}/assess")
    if endpoint == "events.map":
        return c.get(f"{R}/events/{e}/map")
    if endpoint == "events.ranking":
        return c.get(f"{R}/events/{e}/ranking")
    if endpoint == "plans.create":
        return c.post(f"{R}/events/{e}/plans", json={"org_id": world.orgs["QZ"].id, "inspectors": 1})
    if endpoint == "plans.list":
        return c.get(f"{R}/events/{e}/plans")
    if endpoint == "visits.create":
        return c.post(
            f"{R}/events/{e}/visits",
            json={"site_id": ids["site"], "visited_at": REFERENCE.isoformat(), "measures": ["sandbags"]},
        )
    if endpoint == "visits.list":
        return c.get(f"{R}/events/{e}/visits")
    if endpoint == "visits.get":
        return c.get(f"{R}/visits/{v}")
    if endpoint == "visits.photo":
        return c.get(f"{R}/visits/{v}/photos/{p}")
    if endpoint == "claims.import":
        body = csv_bytes(
            [["CX", "PQZ00000", "", "100", "0"]], ["claim_no", "policy_no", "name", "paid", "reserved"]
        )
        return c.post(f"{R}/events/{e}/claims/import", files={"file": ("c.csv", body, "text/csv")})
    if endpoint == "comparison":
        return c.get(f"{R}/events/{e}/comparison")
    raise AssertionError(endpoint)


def outcome(status: int) -> str:
    if 200 <= status < 300:
        return OK
    return {403: FORBIDDEN, 404: NOT_FOUND, 422: INVALID}.get(status, f"unexpected {status}")


def test_radar_access_matrix(container: Any, world: Any, clients: Callable[[str], TestClient]) -> None:
    add_radar_users(container, world)
    import_portfolio(container, world, quanzhou_rows(3) + xiamen_rows(2))
    event_id = make_event(container, world)
    with container.uow() as uow:
        site = uow.session.scalar(select(RadarSite.id).where(RadarSite.policy_no == "PQZ00000"))
        v = services.record_visit(
            uow, world.p("qz_risk"), event_id, services.VisitInput(site, REFERENCE), container.clock.now(),
            container.settings, [("roof.png", PNG)],
        )  # fmt: skip
        visit_id = v.id
        photo_id = services.visit_photos(uow.session, v)[0].id
    ids = {"event": event_id, "visit": visit_id, "photo": photo_id, "site": site}
    got: dict[tuple[str, str], str] = {}
    for endpoint in MATRIX:
        for role, username in COLUMNS.items():
            r = request(clients(username), endpoint, ids, world)
            got[(endpoint, role)] = outcome(r.status_code)
            if got[(endpoint, role)] != OK:
                assert r.json()["message_zh"] and r.json()["message_en"]
            else:
                check_ok_body(endpoint, r, ids)
    wrong = {k: (MATRIX[k[0]][k[1]], v) for k, v in got.items() if MATRIX[k[0]][k[1]] != v}
    assert not wrong, "(endpoint, role): (expected, got)\n" + "\n".join(
        f"{k}: {v}" for k, v in sorted(wrong.items())
    )


def check_ok_body(endpoint: str, r: Any, ids: dict[str, int]) -> None:
    if endpoint == "events.get":
        assert r.json()["id"] == ids["event"] and r.json()["summary"]["sites"] >= 2
    elif endpoint == "events.map":
        body = r.json()
        assert body["track"]["geometry"]["type"] == "LineString"
        assert body["sites"]["features"] and all(
            "*" in f["properties"]["contact"] for f in body["sites"]["features"]
        )
    elif endpoint == "visits.photo":
        assert r.content == PNG
    elif endpoint == "visits.get":
        assert r.json()["id"] == ids["visit"] and r.json()["photos"]


def test_other_branch_sees_nothing_of_quanzhou(
    container: Any, world: Any, clients: Callable[[str], TestClient]
) -> None:
    add_radar_users(container, world)
    import_portfolio(container, world, quanzhou_rows(2) + xiamen_rows(2))
    event_id = make_event(container, world)
    xm = clients("xm_risk")
    ranking = xm.get(f"{R}/events/{event_id}/ranking", params={"all_sites": "true"}).json()
    assert {i["site"]["name"][:4] for i in ranking["items"]} == {"厦门测试"}
    assert "晋江" not in xm.get(f"{R}/events/{event_id}/map").text
    assert "晋江" not in xm.get(f"{R}/sites", params={"per_page": 500}).text
    assert "晋江" not in xm.get(f"{R}/events/{event_id}/comparison").text
    hq = clients("hq_risk").get(f"{R}/events/{event_id}/ranking", params={"all_sites": "true"}).json()
    assert hq["total"] == 4
