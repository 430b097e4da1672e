"""Chinese full-text search over complaint descriptions, on SQLite and PostgreSQL: a query matches
exactly the descriptions that contain it as a substring (ASCII letters in either case), whatever the
index does underneath."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from tests.factories import World, complaint_payload, login
from xiaobao.bootstrap import Container
from xiaobao.complaints import queries, services
from xiaobao.complaints.schemas import ComplaintCreate
from xiaobao.complaints.tables import Complaint

CORPUS = {
    "loss": "车辆在晋江因台风受损，定损金额明显低于维修厂报价，要求重新定损。",
    "periodic": "保险公司定期损失评估报告迟迟未出，影响企业复工。",
    "bigram_trap": "定损完成后损金另算，金额至今待定。",  # has 定损 损金 金额, but not 定损金额
    "plate": "车牌闽C12345的车辆在泉州被追尾，对方全责。",
    "plate_lower": "借用的车辆车牌为闽d67890，理赔被拒。",
    "marketing": "营销电话每天打来，严重扰民。",
    "percent": "退保手续费高达50%，且未提前告知。",
    "underscore": "系统显示保单号PDAA_2026异常，无法理赔。",
    "english": "Claim handler never called back about the Claim.",
}


def add(container: Container, world: World, description: str, user: str = "qz_officer", **over: Any) -> int:
    ctx = services.IntakeContext(now=container.clock.now(), calendar=container.calendar)
    with container.uow() as uow:
        c = services.create_complaint(
            uow.session,
            world.p(user),
            ComplaintCreate(**complaint_payload(description=description, **over)),
            ctx,
        )
        uow.commit()
        return c.id


@pytest.fixture
def corpus(container: Container, world: World) -> dict[str, int]:
    return {key: add(container, world, text) for key, text in CORPUS.items()}


def search(container: Container, world: World, q: str, user: str = "qz_officer", **filters: Any) -> set[int]:
    with container.uow() as uow:
        total, rows = queries.list_complaints(
            uow.session,
            world.p(user),
            queries.ComplaintFilter(q=q, per_page=200, **filters),
            container.clock.now(),
        )
        assert total == len(rows)
        return {c.id for c in rows}


QUERIES: list[tuple[str, set[str]]] = [
    ("定损", {"loss", "bigram_trap"}),
    ("  定损 ", {"loss", "bigram_trap"}),  # surrounding spaces do not count
    ("定损金额", {"loss"}),  # every bigram of it is in bigram_trap, the string is not
    ("重新定损", {"loss"}),
    ("定期损失", {"periodic"}),
    ("损失", {"periodic"}),
    ("损", {"loss", "periodic", "bigram_trap"}),  # one character
    ("车", {"loss", "plate", "plate_lower"}),
    ("追尾", {"plate"}),
    ("闽C12345", {"plate"}),
    ("闽c12345", {"plate"}),  # ASCII in either case
    ("C123", {"plate"}),  # part of an ASCII word
    ("12345", {"plate"}),
    ("闽D67890", {"plate_lower"}),
    ("闽", {"plate", "plate_lower"}),
    ("claim", {"english"}),
    ("CALLED BACK", {"english"}),
    ("handler never", {"english"}),
    ("%", {"percent"}),  # LIKE wildcards are literal characters
    ("50%", {"percent"}),
    ("%%", set()),
    ("_", {"underscore"}),
    ("A_2", {"underscore"}),
    ("PDAA%2026", set()),
    ("PDAA_2026", {"underscore"}),
    ("\\", set()),
    ("台风定损", set()),
    ("保险公司台风", set()),
    ("理赔", {"plate_lower", "underscore"}),
]


def test_search(container: Container, world: World, corpus: dict[str, int]) -> None:
    names = {v: k for k, v in corpus.items()}
    wrong = {}
    for q, expected in QUERIES:
        got = {names[i] for i in search(container, world, q)}
        if got != expected:
            wrong[q] = {"missing": expected - got, "unexpected": got - expected}
    assert not wrong, wrong


def test_search_respects_scope_and_other_filters(
    container: Container, world: World, corpus: dict[str, int]
) -> None:
    sh = add(
        container, world, "上海的客户：定损金额太低。", user="sh_officer", org_code="SH", phone="13905950002"
    )
    assert search(container, world, "定损金额") == {corpus["loss"]}
    assert search(container, world, "定损金额", user="sh_officer") == {sh}
    assert search(container, world, "定损金额", user="hq_officer") == {corpus["loss"], sh}
    assert search(container, world, "定损", status=["handling"]) == set()
    assert search(container, world, "定损", org_code="QZ") == {corpus["loss"], corpus["bigram_trap"]}


def test_search_through_the_api(
    client: TestClient, container: Container, world: World, corpus: dict[str, int]
) -> None:
    login(client, "qz_handler")
    for q, expected in (
        ("定损", {"loss", "bigram_trap"}),
        ("定损金额", {"loss"}),
        ("50%", {"percent"}),
        ("闽c12345", {"plate"}),
        ("损", {"loss", "periodic", "bigram_trap"}),
    ):
        r = client.get("/api/v1/complaints", params={"q": q})
        assert r.status_code == 200
        assert {i["id"] for i in r.json()["items"]} == {corpus[k] for k in expected}, q
        assert r.json()["total"] == len(expected)


def test_postgresql_narrows_through_the_index() -> None:
    """The SQL sent to PostgreSQL: the GIN-indexed term match, then the exact substring recheck."""
    pg_session: Any = SimpleNamespace(get_bind=lambda: SimpleNamespace(dialect=postgresql.dialect()))

    def compiled(q: str) -> tuple[str, list[Any]]:
        c = (
            select(Complaint)
            .where(queries.text_condition(pg_session, q))
            .compile(dialect=postgresql.dialect())
        )
        return str(c), list(c.params.values())

    sql, params = compiled("定损金额")
    assert "to_tsvector" in sql and "search_doc" in sql and "@@ plainto_tsquery" in sql and "ILIKE" in sql
    assert "定损 损金 金额" in params and "%定损金额%" in params
    # no term every match must have: the substring alone
    for q in ("损", "C123", "%"):
        sql, params = compiled(q)
        assert "@@" not in sql and "ILIKE" in sql


ALPHABET = list("定损金额期失车险闽理赔aBc12 %_")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(st.sampled_from(ALPHABET), min_size=1, max_size=5))
def test_search_is_exactly_substring_match(
    container: Container, world: World, random_corpus: dict[int, str], q: str
) -> None:
    expected = {cid for cid, text in random_corpus.items() if q.strip().lower() in text.lower()}
    assert search(container, world, q) == expected


@pytest.fixture
def random_corpus(container: Container, world: World) -> dict[int, str]:
    """Descriptions made of few characters, so that bigrams and words collide a lot."""
    import random

    rnd = random.Random(20260302)  # fixed: the same corpus on every run
    texts = ["".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(5, 24))).strip() for _ in range(30)]
    texts += ["定损金额赔", "定期损失险", "金额定损车", "aBc12c", "ABC123 定损", "50%_定损"]
    return {add(container, world, t): t for t in texts if len(t) >= 5}
