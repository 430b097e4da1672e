"""Who may call which review endpoint: every role against every /api/v1/review route (and every /review page),
through HTTP with a signed-in session, on SQLite and PostgreSQL.

The expected outcome of each (endpoint, role) pair is written out below as a table, like the complaint matrix
in test_access_matrix.py. A route added under /api/v1/review or /review without a row here fails
`test_every_review_route_is_in_the_matrix`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from tests.factories import World, login
from tests.integration.test_access_matrix import app_routes
from xiaobao.bootstrap import Container, bootstrap
from xiaobao.config import Settings
from xiaobao.review import services
from xiaobao.review.tables import ReviewSubmission

OK, FORBIDDEN, NOT_FOUND = "ok", "forbidden", "not_found"
CODES = {"O": OK, "F": FORBIDDEN, "N": NOT_FOUND}

# The submission is at 泉州中支 (QZ), submitted by qz_collab and assigned to qz_reviewer.
COLUMNS = {
    "submitter": "qz_collab",
    "officer": "qz_officer",
    "superior_officer": "fj_officer",
    "reviewer": "qz_reviewer",
    "handler": "qz_handler",
    "branch_manager": "fj_manager",
    "auditor": "hq_auditor",
    "admin": "admin",
    "other_branch": "sh_officer",
}

MATRIX_TEXT = """
endpoint        sub off sup rev hdl mgr aud adm oth
list            O   O   O   O   F   O   O   F   O
create          O   O   O   O   F   F   F   F   O
get             O   O   O   O   N   O   O   N   N
assign          F   O   O   O   N   O   F   N   N
decide          F   F   F   O   N   F   F   N   N
conclude        F   F   F   O   N   F   F   N   N
resubmit        O   F   F   F   N   F   F   N   N
release         O   F   F   F   N   F   F   N   N
withdraw        O   F   F   F   N   F   F   N   N
stats           F   O   O   O   F   O   O   F   O
rules           F   O   O   O   F   O   O   O   O
rule            F   O   O   O   F   O   O   O   O
"""
PAGES_TEXT = """
page            sub off sup rev hdl mgr aud adm oth
list            O   O   O   O   F   O   O   F   O
queue           F   F   F   O   F   F   F   F   F
new             O   O   O   O   F   F   F   F   O
detail          O   O   O   O   N   O   O   N   N
stats           F   O   O   O   F   O   O   F   O
rules           F   F   F   O   F   F   F   O   F
rule            F   F   F   O   F   F   F   O   F
rule_edit       F   F   F   O   F   F   F   O   F
rule_new        F   F   F   O   F   F   F   O   F
"""


def parse(text: str) -> dict[str, dict[str, str]]:
    lines = [ln.split() for ln in text.strip().splitlines()]
    assert len(lines[0]) - 1 == len(COLUMNS)
    return {r[0]: {role: CODES[v] for role, v in zip(COLUMNS, r[1:], strict=True)} for r in lines[1:]}


MATRIX, PAGES = parse(MATRIX_TEXT), parse(PAGES_TEXT)

A, S = "/api/v1/review", "/api/v1/review/submissions/{submission_id}"
ROUTES: dict[str, tuple[str, str]] = {
    "list": ("GET", A + "/submissions"),
    "create": ("POST", A + "/submissions"),
    "get": ("GET", S),
    "assign": ("POST", S + "/assign"),
    "decide": ("POST", S + "/findings/{finding_id}/decision"),
    "conclude": ("POST", S + "/conclusion"),
    "resubmit": ("POST", S + "/versions"),
    "release": ("POST", S + "/release"),
    "withdraw": ("POST", S + "/withdraw"),
    "stats": ("GET", A + "/stats"),
    "rules": ("GET", A + "/rules"),
    "rule": ("GET", A + "/rules/{rule_id}"),
}
PAGE_ROUTES: dict[str, tuple[str, str]] = {
    "list": ("GET", "/review"),
    "queue": ("GET", "/review/queue"),
    "new": ("GET", "/review/new"),
    "detail": ("GET", "/review/{submission_id}"),
    "stats": ("GET", "/review/stats"),
    "rules": ("GET", "/review/rules"),
    "rule": ("GET", "/review/rules/{rule_id}"),
    "rule_edit": ("GET", "/review/rules/{rule_id}/edit"),
    "rule_new": ("GET", "/review/rules/new"),
}
# Form posts go through the same services as the API rows named here (checked below for a refusal each).
FORM_POSTS: dict[tuple[str, str], str] = {
    ("POST", "/review/new"): "create",
    ("POST", "/review/{submission_id}/findings/{finding_id}"): "decide",
    ("POST", "/review/{submission_id}/conclude"): "conclude",
    ("POST", "/review/{submission_id}/assign"): "assign",
    ("POST", "/review/{submission_id}/resubmit"): "resubmit",
    ("POST", "/review/{submission_id}/release"): "release",
    ("POST", "/review/{submission_id}/withdraw"): "withdraw",
    ("POST", "/review/rules/new"): "rule_new",
    ("POST", "/review/rules/{rule_id}/edit"): "rule_edit",
    ("POST", "/review/rules/{rule_id}/state"): "rule_edit",
}


def _norm(path: str) -> str:
    return path.replace(":int}", "}")


def test_every_review_route_is_in_the_matrix(tmp_path: Any) -> None:
    from xiaobao.web.app import create_app

    settings = Settings(database_url="sqlite://", secret_key="x" * 20, data_dir=tmp_path)
    app = create_app(bootstrap(settings, session_factory=sessionmaker()))
    served = {
        (m, _norm(p))
        for m, p in app_routes(app)
        if p.startswith(A) or p == "/review" or p.startswith("/review/")
    }
    assert served, "no review routes found"
    known = set(ROUTES.values()) | set(PAGE_ROUTES.values()) | set(FORM_POSTS)
    assert not served - known, f"review routes without a row in the access matrix: {sorted(served - known)}"
    assert not known - served, f"matrix rows for routes that no longer exist: {sorted(known - served)}"
    assert set(MATRIX) == set(ROUTES) and set(PAGES) == set(PAGE_ROUTES)


# ---------------------------------------------------------------- preparing submissions


POSTER = "安心宝年金保险，本产品保本保息，全国销量第一。本产品由示例人寿保险股份有限公司承保。"


class Prep:
    def __init__(self, container: Container, world: World) -> None:
        self.c, self.w = container, world

    def ctx(self) -> services.Ctx:
        return services.Ctx(self.c.clock.now(), self.c.calendar)

    def submit(self, assigned: bool = True) -> int:
        m = services.Material(
            "安心宝海报",
            "marketing",
            "annuity",
            text=POSTER,
            reviewer_id=self.w.users["qz_reviewer"].id if assigned else None,
        )
        with self.c.uow() as uow:
            sub = services.submit(uow.session, self.w.p("qz_collab"), m, self.ctx())
            uow.commit()
            return sub.id

    def findings(self, sid: int) -> list[int]:
        with self.c.uow() as uow:
            sub, _ = services.access_submission(uow.session, self.w.p("qz_reviewer"), sid)
            return [f.id for f in services.findings(uow.session, services.version_of(uow.session, sub))]

    def decide_all(self, sid: int) -> None:
        for fid in self.findings(sid):
            with self.c.uow() as uow:
                services.decide(uow, self.w.p("qz_reviewer"), sid, fid, "accept", None, self.c.clock.now())

    def conclude(self, sid: int, conclusion: str) -> None:
        self.decide_all(sid)
        with self.c.uow() as uow:
            services.conclude(uow, self.w.p("qz_reviewer"), sid, conclusion, "请修改", self.c.clock.now())

    def status(self, sid: int) -> tuple[str, int]:
        with self.c.uow() as uow:
            sub = uow.session.get(ReviewSubmission, sid)
            assert sub is not None
            return sub.status, sub.version


def state_for(endpoint: str, prep: Prep) -> int:
    """A fresh submission in the state `endpoint` needs."""
    if endpoint in ("resubmit",):
        sid = prep.submit()
        prep.conclude(sid, "fail")
        return sid
    if endpoint == "release":
        sid = prep.submit()
        prep.conclude(sid, "pass_with_changes")
        return sid
    if endpoint == "assign":
        return prep.submit(assigned=False)
    if endpoint == "conclude":
        sid = prep.submit()
        prep.decide_all(sid)
        return sid
    return prep.submit()


def call(client: TestClient, endpoint: str, sid: int, prep: Prep) -> Any:
    base = f"{A}/submissions/{sid}"
    if endpoint == "list":
        return client.get(f"{A}/submissions")
    if endpoint == "create":
        return client.post(
            f"{A}/submissions", json={"title": "话术", "material_type": "script", "text": POSTER}
        )
    if endpoint == "get":
        return client.get(base)
    if endpoint == "assign":
        return client.post(f"{base}/assign", json={"reviewer_id": prep.w.users["qz_reviewer"].id})
    if endpoint == "decide":
        fid = prep.findings(sid)[0]
        return client.post(f"{base}/findings/{fid}/decision", json={"decision": "dismiss", "reason": "误报"})
    if endpoint == "conclude":
        return client.post(
            f"{base}/conclusion", json={"conclusion": "pass_with_changes", "comment": "改后可用"}
        )
    if endpoint == "resubmit":
        return client.post(f"{base}/versions", json={"text": "本产品是保险，不是存款。", "note": "已修改"})
    if endpoint == "release":
        return client.post(f"{base}/release", json={"changes_confirmed": True})
    if endpoint == "withdraw":
        return client.post(f"{base}/withdraw", json={"reason": "方案调整"})
    if endpoint == "stats":
        return client.get(f"{A}/stats")
    if endpoint == "rules":
        return client.get(f"{A}/rules")
    if endpoint == "rule":
        return client.get(f"{A}/rules/GR-001")
    raise AssertionError(endpoint)


def outcome(status: int) -> str:
    if 200 <= status < 300 or status == 303:
        return OK
    return {403: FORBIDDEN, 404: NOT_FOUND}.get(status, f"unexpected {status}")


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


READ_ONLY = {"list", "create", "get", "stats", "rules", "rule"}


def test_review_access_matrix(
    container: Container, world: World, clients: Callable[[str], TestClient]
) -> None:
    prep = Prep(container, world)
    got: dict[tuple[str, str], str] = {}
    shared = prep.submit()
    for endpoint in READ_ONLY:
        for role, username in COLUMNS.items():
            r = call(clients(username), endpoint, shared, prep)
            got[(endpoint, role)] = outcome(r.status_code)
            if endpoint == "get" and r.status_code == 200:
                assert r.json()["id"] == shared
            if endpoint == "list" and r.status_code == 200:
                assert (shared in [i["id"] for i in r.json()]) == (role != "other_branch")
            if r.status_code in (403, 404):
                assert r.json()["message_zh"] and r.json()["message_en"]
    for endpoint, expected in MATRIX.items():
        if endpoint in READ_ONLY:
            continue
        refused_on = state_for(endpoint, prep)
        for role in sorted(COLUMNS, key=lambda r: expected[r] == OK):
            sid = refused_on if expected[role] != OK else state_for(endpoint, prep)
            before = prep.status(sid)
            r = call(clients(COLUMNS[role]), endpoint, sid, prep)
            got[(endpoint, role)] = outcome(r.status_code)
            if got[(endpoint, role)] != OK:
                assert prep.status(sid) == before  # a refusal changes nothing
    wrong = {k: (MATRIX[k[0]][k[1]], v) for k, v in got.items() if MATRIX[k[0]][k[1]] != v}
    assert not wrong, "(endpoint, role): (expected, got)\n" + "\n".join(
        f"{k}: {v}" for k, v in sorted(wrong.items())
    )
    assert len(got) == len(MATRIX) * len(COLUMNS)


def test_review_pages_matrix(
    container: Container, world: World, clients: Callable[[str], TestClient]
) -> None:
    prep = Prep(container, world)
    sid = prep.submit()
    got: dict[tuple[str, str], str] = {}
    for page, (_, path) in PAGE_ROUTES.items():
        url = path.replace("{submission_id}", str(sid)).replace("{rule_id}", "GR-001")
        for role, username in COLUMNS.items():
            r = clients(username).get(url, headers={"Accept": "text/html"})
            got[(page, role)] = outcome(r.status_code)
    wrong = {k: (PAGES[k[0]][k[1]], v) for k, v in got.items() if PAGES[k[0]][k[1]] != v}
    assert not wrong, "(page, role): (expected, got)\n" + "\n".join(
        f"{k}: {v}" for k, v in sorted(wrong.items())
    )
    # each form post is refused for someone the matching API row refuses, and changes nothing
    fid = prep.findings(sid)[0]
    html = {"Accept": "text/html"}
    for (_, path), _row in FORM_POSTS.items():
        url = (
            path.replace("{submission_id}", str(sid))
            .replace("{finding_id}", str(fid))
            .replace("{rule_id}", "GR-001")
        )
        before = prep.status(sid)
        r = clients("qz_handler").post(url, data={"reason": "x理由", "decision": "dismiss"}, headers=html)
        assert r.status_code in (403, 404), (path, r.status_code)
        assert prep.status(sid) == before
