"""Who may call which complaint endpoint: every role against every /api/v1/complaints route, through
the HTTP API with a signed-in session, on SQLite and PostgreSQL.

The expected outcome of each (endpoint, role) pair is written out below as a table. A route added
under /api/v1/complaints without a row here fails `test_every_complaint_route_is_in_the_matrix`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from tests.factories import World, complaint_payload, login
from xiaobao.bootstrap import Container, bootstrap
from xiaobao.complaints import services
from xiaobao.complaints.domain import Action
from xiaobao.complaints.schemas import ActionRequest, ComplaintCreate
from xiaobao.complaints.tables import Complaint
from xiaobao.config import Settings

# ---------------------------------------------------------------- the expected outcomes

OK, FORBIDDEN, NOT_FOUND = "ok", "forbidden", "not_found"
CODES = {"O": OK, "F": FORBIDDEN, "N": NOT_FOUND}
STATUS = {FORBIDDEN: 403, NOT_FOUND: 404}

# One user per role (all able to see Quanzhou, except where the role itself gives no view), plus the
# superior-org officer and a handler who is not the assigned one. The complaint is at 泉州中支 (QZ) and
# assigned to qz_handler.
COLUMNS = {
    "officer": "qz_officer",
    "superior_officer": "fj_officer",
    "handler": "qz_handler",
    "other_handler": "qz_handler2",
    "collaborator": "qz_collab",
    "reviewer": "qz_reviewer",
    "branch_manager": "fj_manager",
    "auditor": "hq_auditor",
    "admin": "admin",
}

# Roles that cannot view complaints get 404 on any complaint (and 403 on list/create); roles that can
# see the complaint but may not do the thing get 403.
MATRIX_TEXT = """
endpoint                     off sup hdl oth col rev mgr aud adm
list                         O   O   O   O   F   F   O   O   F
create                       O   O   O   O   F   F   F   F   F
get                          O   O   O   O   N   N   O   O   N
reveal                       O   O   O   O   N   N   F   F   N
action:accept                O   O   F   F   N   N   F   F   N
action:reassign              O   O   F   F   N   N   F   F   N
action:start                 O   O   O   F   N   N   F   F   N
action:extend                O   O   O   F   N   N   F   F   N
action:request_extension2    O   O   O   F   N   N   F   F   N
action:approve_extension2    F   O   F   F   N   N   F   F   N
action:reject_extension2     F   O   F   F   N   N   F   F   N
action:pause                 O   O   O   F   N   N   F   F   N
action:resume                O   O   O   F   N   N   F   F   N
action:decide                O   O   O   F   N   N   F   F   N
action:close                 O   O   O   F   N   N   F   F   N
action:withdraw              O   O   O   O   N   N   F   F   N
action:merge                 O   O   F   F   N   N   F   F   N
action:request_review        O   O   O   O   N   N   F   F   N
action:conclude_review       F   O   F   F   N   N   F   F   N
action:reopen                O   O   F   F   N   N   F   F   N
contacts                     O   O   O   F   N   N   F   F   N
notes                        O   O   O   F   N   N   F   F   N
root_cause                   O   O   O   F   N   N   F   F   N
timeline                     O   O   O   O   N   N   O   O   N
duplicates                   O   O   O   O   N   N   O   O   N
notice                       O   O   O   O   N   N   O   O   N
attachments.upload           O   O   O   F   N   N   F   F   N
attachments.list             O   O   O   O   N   N   O   O   N
attachments.download         O   O   O   O   N   N   O   O   N
"""


def parse_matrix(text: str) -> dict[str, dict[str, str]]:
    lines = [ln.split() for ln in text.strip().splitlines()]
    header, rows = lines[0][1:], lines[1:]
    assert len(header) == len(COLUMNS)
    return {r[0]: {role: CODES[v] for role, v in zip(COLUMNS, r[1:], strict=True)} for r in rows}


MATRIX = parse_matrix(MATRIX_TEXT)

C = "/api/v1/complaints"
ROUTES: dict[str, tuple[str, str]] = {
    "list": ("GET", C),
    "create": ("POST", C),
    "get": ("GET", C + "/{complaint_id}"),
    "reveal": ("GET", C + "/{complaint_id}"),
    **{f"action:{a.value}": ("POST", C + "/{complaint_id}/actions/{action}") for a in Action},
    "contacts": ("POST", C + "/{complaint_id}/contacts"),
    "notes": ("POST", C + "/{complaint_id}/notes"),
    "root_cause": ("PUT", C + "/{complaint_id}/root-cause"),
    "timeline": ("GET", C + "/{complaint_id}/timeline"),
    "duplicates": ("GET", C + "/{complaint_id}/duplicates"),
    "notice": ("GET", C + "/{complaint_id}/notice"),
    "attachments.upload": ("POST", C + "/{complaint_id}/attachments"),
    "attachments.list": ("GET", C + "/{complaint_id}/attachments"),
    "attachments.download": ("GET", C + "/{complaint_id}/attachments/{attachment_id}"),
}


def test_matrix_rows_match_the_routes() -> None:
    assert set(MATRIX) == set(ROUTES)
    assert {k.split(":", 1)[1] for k in MATRIX if k.startswith("action:")} == {a.value for a in Action}


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, from the router tree and from the OpenAPI schema
    (so neither a route hidden from the schema nor one nested in an included router is missed)."""
    out: set[tuple[str, str]] = set()

    def walk(routes: Any, prefix: str = "") -> None:
        for r in routes:
            contexts = getattr(r, "effective_candidates", None)  # FastAPI's included routers
            if callable(contexts):
                contexts = contexts()
            if contexts is not None:
                for ctx in contexts:
                    out.update((m, ctx.path) for m in ctx.methods)
            elif getattr(r, "methods", None):
                out.update((m, prefix + r.path) for m in r.methods)
            elif hasattr(r, "routes") and hasattr(r, "path"):
                walk(r.routes, prefix + r.path)

    walk(app.routes)
    for path, ops in app.openapi()["paths"].items():
        out.update((m.upper(), path) for m in ops)
    return {(m, p) for m, p in out if m != "HEAD"}


def test_every_complaint_route_is_in_the_matrix(tmp_path: Any) -> None:
    from xiaobao.web.app import create_app

    settings = Settings(database_url="sqlite://", secret_key="x" * 20, data_dir=tmp_path)
    app = create_app(bootstrap(settings, session_factory=sessionmaker()))
    complaint_routes = {(m, p) for m, p in app_routes(app) if p == C or p.startswith(C + "/")}
    assert complaint_routes, "no complaint routes found: has the router tree changed?"
    missing = complaint_routes - set(ROUTES.values())
    assert not missing, f"complaint routes without a row in the access matrix: {sorted(missing)}"
    stale = set(ROUTES.values()) - complaint_routes
    assert not stale, f"matrix rows for routes that no longer exist: {sorted(stale)}"


# ---------------------------------------------------------------- putting complaints into each state


class Prep:
    """Creates complaints and moves them along through the services (fast, no HTTP)."""

    def __init__(self, container: Container, world: World) -> None:
        self.c, self.w = container, world

    def create(self, user: str = "qz_officer", **over: Any) -> int:
        ctx = services.IntakeContext(now=self.c.clock.now(), calendar=self.c.calendar)
        with self.c.uow() as uow:
            c = services.create_complaint(
                uow.session, self.w.p(user), ComplaintCreate(**complaint_payload(**over)), ctx
            )
            uow.commit()
            return c.id

    def version(self, cid: int) -> int:
        with self.c.uow() as uow:
            c = uow.session.get(Complaint, cid)
            assert c is not None
            return c.version

    def act(self, user: str, cid: int, action: str, **kw: Any) -> None:
        with self.c.uow() as uow:
            services.act(
                uow,
                self.w.p(user),
                cid,
                Action(action),
                ActionRequest(version=self.version(cid), **kw),
                self.c.clock.now(),
            )

    def run(self, cid: int, steps: list[tuple[str, str, dict[str, Any]]]) -> int:
        for user, action, kw in steps:
            self.act(user, cid, action, **kw)
        return cid


H = "qz_handler"
REASON = {"reason": "处理说明（测试）"}
DECISION = {"outcome": "partial", "decision": "经核实，部分支持投诉人的诉求。"}


def steps_before(action: Action, world: World) -> list[tuple[str, str, dict[str, Any]]]:
    """What must happen to a new complaint before `action` can be done to it."""
    accept = [("qz_officer", "accept", {"handler_id": world.users[H].id})]
    handling = accept + [(H, "start", {})]
    decided = handling + [(H, "decide", DECISION)]
    return {
        Action.ACCEPT: [],
        Action.REASSIGN: accept,
        Action.START: accept,
        Action.REQUEST_EXTENSION2: handling + [(H, "extend", REASON)],
        Action.APPROVE_EXTENSION2: handling + [(H, "extend", REASON), (H, "request_extension2", REASON)],
        Action.REJECT_EXTENSION2: handling + [(H, "extend", REASON), (H, "request_extension2", REASON)],
        Action.RESUME: handling + [(H, "pause", REASON)],
        Action.CLOSE: decided,
        Action.REQUEST_REVIEW: decided,
        Action.CONCLUDE_REVIEW: decided + [(H, "request_review", REASON)],
        Action.REOPEN: decided + [(H, "close", {})],
    }.get(action, handling)


def action_body(action: Action, world: World, merge_target: int) -> dict[str, Any]:
    body: dict[str, Any] = dict(REASON)
    if action == Action.ACCEPT:
        body["handler_id"] = world.users[H].id
    elif action == Action.REASSIGN:
        body["handler_id"] = world.users["qz_handler2"].id
    elif action == Action.DECIDE:
        body.update(DECISION)
    elif action == Action.CONCLUDE_REVIEW:
        body["outcome"] = "upheld"
    elif action == Action.MERGE:
        body["target_id"] = merge_target
    return body


# ---------------------------------------------------------------- one signed-in client per user


@pytest.fixture
def clients(app: Any, world: World) -> Iterator[Callable[[str], TestClient]]:
    cache: dict[str, TestClient] = {}
    with ExitStack() as stack:

        def get(username: str) -> TestClient:
            if username not in cache:
                cache[username] = stack.enter_context(TestClient(app))
                login(cache[username], username)
            return cache[username]

        yield get


TXT = ("evidence.txt", "维修厂报价单：前保险杠更换 3200 元".encode(), "text/plain")


def request(
    client: TestClient,
    endpoint: str,
    cid: int,
    *,
    version: int = 0,
    body: dict[str, Any] | None = None,
    attachment_id: int = 0,
) -> Any:
    base = f"{C}/{cid}"
    if endpoint == "list":
        return client.get(C, params={"per_page": 200})
    if endpoint == "create":
        return client.post(C, json=complaint_payload())
    if endpoint == "get":
        return client.get(base)
    if endpoint == "reveal":
        return client.get(base, params={"reveal": "true"})
    if endpoint.startswith("action:"):
        return client.post(
            f"{base}/actions/{endpoint.split(':', 1)[1]}", json={"version": version, **(body or {})}
        )
    if endpoint == "contacts":
        return client.post(
            f"{base}/contacts", json={"method": "phone", "outcome": "reached", "note": "已联系"}
        )
    if endpoint == "notes":
        return client.post(f"{base}/notes", json={"text": "调取了查勘照片"})
    if endpoint == "root_cause":
        return client.put(
            f"{base}/root-cause",
            json={"version": version, "root_cause": "定损标准执行不一", "rectification": "统一定损培训"},
        )
    if endpoint == "timeline":
        return client.get(f"{base}/timeline")
    if endpoint == "duplicates":
        return client.get(f"{base}/duplicates")
    if endpoint == "notice":
        return client.get(f"{base}/notice")
    if endpoint == "attachments.upload":
        return client.post(f"{base}/attachments", files={"file": TXT})
    if endpoint == "attachments.list":
        return client.get(f"{base}/attachments")
    if endpoint == "attachments.download":
        return client.get(f"{base}/attachments/{attachment_id}")
    raise AssertionError(f"no request for {endpoint}")


def outcome(status: int) -> str:
    if 200 <= status < 300:
        return OK
    return {403: FORBIDDEN, 404: NOT_FOUND}.get(status, f"unexpected {status}")


# ---------------------------------------------------------------- the matrix


def test_access_matrix(container: Container, world: World, clients: Callable[[str], TestClient]) -> None:
    prep = Prep(container, world)
    handler = clients(H)
    # a complaint in handling with an attachment and a decision notice to read
    base = prep.run(prep.create(), steps_before(Action.DECIDE, world))
    r = handler.post(f"{C}/{base}/attachments", files={"file": TXT})
    assert r.status_code == 201, r.text
    attachment_id = int(r.json()["id"])
    merge_target = prep.run(prep.create(), steps_before(Action.DECIDE, world))

    got: dict[tuple[str, str], str] = {}
    for endpoint, expected in MATRIX.items():
        if endpoint.startswith("action:"):
            continue
        for role, username in COLUMNS.items():
            r = request(
                clients(username), endpoint, base, version=prep.version(base), attachment_id=attachment_id
            )
            got[(endpoint, role)] = outcome(r.status_code)
            if outcome(r.status_code) == OK:
                check_ok_body(endpoint, r, base)
            elif expected[role] in STATUS:
                assert r.json()["message_zh"] and r.json()["message_en"]

    for action in Action:
        endpoint = f"action:{action.value}"
        expected = MATRIX[endpoint]
        body = action_body(action, world, merge_target)
        steps = steps_before(action, world)
        # refusals first, all on one complaint (a refusal changes nothing), then one fresh complaint
        # for each role that may do it
        shared = prep.run(prep.create(), steps)
        for role in sorted(COLUMNS, key=lambda r: expected[r] == OK):
            cid = shared if expected[role] != OK else prep.run(prep.create(), steps)
            before = prep.version(cid)
            r = request(clients(COLUMNS[role]), endpoint, cid, version=before, body=body)
            got[(endpoint, role)] = outcome(r.status_code)
            if got[(endpoint, role)] == OK:
                assert r.json()["version"] == before + 1
            else:
                assert prep.version(cid) == before  # nothing changed

    wrong = {k: (MATRIX[k[0]][k[1]], v) for k, v in got.items() if MATRIX[k[0]][k[1]] != v}
    assert not wrong, "(endpoint, role): (expected, got)\n" + "\n".join(
        f"{k}: {v}" for k, v in sorted(wrong.items())
    )
    assert len(got) == len(MATRIX) * len(COLUMNS)


def check_ok_body(endpoint: str, r: Any, cid: int) -> None:
    """An allowed call returns the thing asked for, not just a 2xx."""
    if endpoint == "list":
        assert cid in [i["id"] for i in r.json()["items"]]
    elif endpoint == "create":
        assert r.status_code == 201 and r.json()["status"] == "received"
    elif endpoint == "get":
        assert r.json()["id"] == cid and r.json()["pii_masked"] is True
    elif endpoint == "reveal":
        assert r.json()["pii_masked"] is False and r.json()["phone"] == "13905951234"
    elif endpoint == "timeline":
        assert r.json()[0]["kind"] == "received"
    elif endpoint == "attachments.download":
        assert r.content == TXT[1]
    elif endpoint == "attachments.list":
        assert [a["filename"] for a in r.json()][0] == "evidence.txt"


# ---------------------------------------------------------------- other branches


CROSS_BRANCH = ["sh_officer", "sh_handler", "xm_handler"]


def test_other_branches_never_see_a_quanzhou_complaint(
    container: Container, world: World, clients: Callable[[str], TestClient]
) -> None:
    prep = Prep(container, world)
    qz = prep.run(prep.create(), steps_before(Action.DECIDE, world))
    r = clients(H).post(f"{C}/{qz}/attachments", files={"file": TXT})
    assert r.status_code == 201
    attachment_id = int(r.json()["id"])
    xm = prep.create("xm_handler", org_code="XM", phone="13905950001", description="厦门的投诉：理赔太慢。")
    sh = prep.create(
        "sh_officer", org_code="SH", phone="13905950002", description="上海的投诉：营销电话扰民。"
    )
    merge_target = prep.create()

    for username in CROSS_BRANCH:
        client = clients(username)
        for endpoint in MATRIX:
            if endpoint in ("list", "create"):
                continue
            action = Action(endpoint.split(":", 1)[1]) if endpoint.startswith("action:") else None
            body = action_body(action, world, merge_target) if action else None
            r = request(
                client, endpoint, qz, version=prep.version(qz), body=body, attachment_id=attachment_id
            )
            assert r.status_code == 404, (username, endpoint, r.status_code, r.text)
            assert "泉州" not in r.text and "13905951234" not in r.text
        # the list never shows it, whatever the filter
        for params in ({}, {"org": "QZ"}, {"q": "定损"}, {"status": "handling"}, {"per_page": 200}):
            r = client.get(C, params=params)
            assert r.status_code == 200
            assert qz not in [i["id"] for i in r.json()["items"]], (username, params)
        # nor can they file one for Quanzhou
        r = client.post(C, json=complaint_payload(org_code="QZ"))
        assert r.status_code == 422 and r.json()["problems"][0]["field"] == "org_code"
    # nor merge one of their own into it
    sh_version = prep.version(sh)
    r = clients("sh_officer").post(
        f"{C}/{sh}/actions/merge", json={"version": sh_version, "target_id": qz, "reason": "重复投诉"}
    )
    assert r.status_code == 404 and prep.version(sh) == sh_version

    def visible(username: str) -> set[int]:
        r = clients(username).get(C, params={"per_page": 200})
        assert r.status_code == 200
        return {i["id"] for i in r.json()["items"]}

    assert {qz, xm} <= visible("fj_officer") and sh not in visible("fj_officer")
    assert {qz, xm} <= visible("fj_manager") and sh not in visible("fj_manager")
    assert {qz, xm, sh} <= visible("hq_officer")
    assert {qz, xm, sh} <= visible("hq_auditor")
    assert visible("sh_officer") == {sh}
    assert visible("xm_handler") == {xm}
    assert xm not in visible("qz_officer") and sh not in visible("qz_officer")
    for username in ("fj_officer", "hq_officer"):
        assert clients(username).get(f"{C}/{qz}").status_code == 200
        assert clients(username).get(f"{C}/{xm}").status_code == 200
    assert clients("fj_officer").get(f"{C}/{sh}").status_code == 404
    # a complaint id that does not exist looks the same as one out of sight
    r1, r2 = clients("sh_officer").get(f"{C}/{qz}"), clients("sh_officer").get(f"{C}/999999")
    assert (r1.status_code, r1.json()) == (r2.status_code, r2.json())
