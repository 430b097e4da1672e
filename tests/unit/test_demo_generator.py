"""Unit tests for xiaobao.demo.generator: organisation, users and complaint data (no DB)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from xiaobao.complaints.taxonomy import load_taxonomy
from xiaobao.core import pii
from xiaobao.demo.generator import (
    CN_TZ,
    OUTCOME_HINTS,
    ROLES,
    OrgSpec,
    demo_orgs,
    demo_users,
    generate_complaints,
)

NOW = datetime(2026, 5, 20, 2, 30, tzinfo=UTC)
N = 400


@pytest.fixture(scope="module")
def complaints() -> list[dict[str, Any]]:
    return generate_complaints(N, 42, NOW, demo_orgs())


class TestOrgs:
    def test_tree_is_consistent(self) -> None:
        orgs = demo_orgs()
        codes = [o.code for o in orgs]
        assert len(codes) == len(set(codes))
        seen: set[str] = set()
        for o in orgs:
            assert o.kind in {"hq", "branch", "subbranch", "department"}
            assert re.fullmatch(r"\d{6}", o.region_code), o
            assert o.name_zh and o.name_en
            if o.kind == "hq":
                assert o.parent_code is None
            else:
                assert o.parent_code in seen, f"{o.code}: parent must come first"
            seen.add(o.code)

    def test_mirrors_the_seed_article(self) -> None:
        by_code = {o.code: o for o in demo_orgs()}
        assert by_code["HQ"].name_zh == "总公司" and by_code["HQ"].kind == "hq"
        branches = {"FJ": "福建", "SH": "上海", "GD": "广东", "SC": "四川", "BJ": "北京"}
        for code, name in branches.items():
            assert by_code[code].name_zh == f"{name}分公司" and by_code[code].kind == "branch"
            assert by_code[code].parent_code == "HQ"
            subs = [o for o in by_code.values() if o.parent_code == code and o.kind == "subbranch"]
            assert 2 <= len(subs) <= 4
        qz = by_code["FJ-QZ"]
        assert qz.name_zh.startswith("泉州") and qz.region_code == "350500" and qz.parent_code == "FJ"
        assert by_code["FJ-FZ"].region_code == "350100"
        for parent in ("HQ", "FJ", "SH", "GD", "SC", "BJ"):
            for suffix in ("CP", "CS", "CLM", "SAL", "UW"):
                dept = by_code[f"{parent}-{suffix}"]
                assert dept.kind == "department" and dept.parent_code == parent
        assert by_code["FJ-CP"].name_zh.endswith("消费者权益保护部")

    def test_deterministic(self) -> None:
        assert demo_orgs() == demo_orgs()


class TestUsers:
    def test_users_are_well_formed(self) -> None:
        orgs = {o.code for o in demo_orgs()}
        users = demo_users()
        names = [u.username for u in users]
        assert len(names) == len(set(names))
        for u in users:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", u.username)
            assert u.org_code in orgs
            assert u.roles and set(u.roles) <= set(ROLES)
            assert pii.normalise_phone(u.phone) == u.phone and pii.is_mobile(u.phone)
            assert u.email.endswith("@example.com")
            assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", u.display_name)

    @pytest.mark.parametrize("org", ["HQ", "FJ", "FJ-QZ"])
    def test_every_role_present(self, org: str) -> None:
        roles = {r for u in demo_users() if u.org_code == org for r in u.roles}
        assert roles == set(ROLES)

    def test_named_accounts(self) -> None:
        by_name = {u.username: u for u in demo_users()}
        assert by_name["admin"].roles == ("admin",) and by_name["admin"].org_code == "HQ"
        assert by_name["fj_officer"].org_code == "FJ"
        assert "handler" in by_name["qz_handler1"].roles and by_name["qz_handler1"].org_code == "FJ-QZ"
        assert "officer" in by_name["hq_officer"].roles

    def test_deterministic(self) -> None:
        assert demo_users() == demo_users()


class TestComplaints:
    def test_same_seed_same_output(self, complaints: list[dict[str, Any]]) -> None:
        assert generate_complaints(N, 42, NOW, demo_orgs()) == complaints
        other = generate_complaints(N, 43, NOW, demo_orgs())
        assert other != complaints

    def test_shape(self, complaints: list[dict[str, Any]]) -> None:
        keys = {
            "org_code", "complainant_name", "id_number", "phone", "policy_no", "claim_no", "business_line",
            "cause", "demand", "channel", "description", "amount_claimed", "received_at", "special_groups",
            "outcome_hint",
        }  # fmt: skip
        assert len(complaints) == N
        for c in complaints:
            assert set(c) == keys

    def test_ids_valid_and_local(self, complaints: list[dict[str, Any]]) -> None:
        region = {o.code: o.region_code for o in demo_orgs()}
        outsiders = 0
        for c in complaints:
            on = c["received_at"].date()
            assert pii.validate_id_number(c["id_number"], on=on) == c["id_number"]
            if c["id_number"][:4] != region[c["org_code"]][:4]:
                assert "new_resident" in c["special_groups"], c
                outsiders += 1
        assert outsiders < N * 0.15

    def test_phones_and_names(self, complaints: list[dict[str, Any]]) -> None:
        for c in complaints:
            assert pii.normalise_phone(c["phone"]) == c["phone"] and pii.is_mobile(c["phone"])
            assert 2 <= len(c["complainant_name"]) <= 4

    def test_codes_are_taxonomy_leaves(self, complaints: list[dict[str, Any]]) -> None:
        tax = load_taxonomy()
        for c in complaints:
            assert tax.is_valid("business_lines", c["business_line"], leaf_only=True)
            assert tax.is_valid("causes", c["cause"], leaf_only=True)
            assert tax.is_valid("demands", c["demand"], leaf_only=True)
            assert tax.is_valid("channels", c["channel"], leaf_only=True)
            assert set(c["special_groups"]) <= {"new_resident", "disabled"}
        assert len({c["cause"] for c in complaints}) >= 15
        assert len({c["business_line"] for c in complaints}) >= 10

    def test_orgs_receive_complaints(self, complaints: list[dict[str, Any]]) -> None:
        kinds = {o.code: o.kind for o in demo_orgs()}
        counts = Counter(c["org_code"] for c in complaints)
        assert all(kinds[code] in {"branch", "subbranch"} for code in counts)
        assert counts.most_common(1)[0][0] == "FJ-QZ"

    def test_special_group_shares(self, complaints: list[dict[str, Any]]) -> None:
        elderly = sum(pii.is_elderly(c["id_number"], c["received_at"].date()) for c in complaints)
        minors = sum(pii.is_minor(c["id_number"], c["received_at"].date()) for c in complaints)
        assert 0.08 * N <= elderly <= 0.25 * N
        assert 1 <= minors <= 0.06 * N
        assert any("new_resident" in c["special_groups"] for c in complaints)
        assert any("disabled" in c["special_groups"] for c in complaints)

    def test_regulator_share(self, complaints: list[dict[str, Any]]) -> None:
        share = sum(c["channel"] == "regulator" for c in complaints) / N
        assert 0.08 <= share <= 0.25

    def test_descriptions(self, complaints: list[dict[str, Any]]) -> None:
        for c in complaints:
            d = c["description"]
            assert 60 <= len(d) <= 300, d
            assert "{" not in d and "}" not in d
            assert re.search(r"[\u4e00-\u9fff]", d)
        assert len({c["description"] for c in complaints}) > N * 0.9
        text = "".join(c["description"] for c in complaints)
        for word in ("定损", "拒赔", "退保", "短信", "业务员", "95500"):
            assert word in text

    def test_claims_fields(self, complaints: list[dict[str, Any]]) -> None:
        for c in complaints:
            assert re.fullmatch(r"P[A-Z]{3}20\d{2}\d{6}\d{6}", c["policy_no"]), c["policy_no"]
            if c["cause"].startswith("claims."):
                assert re.fullmatch(r"C[A-Z]{3}20\d{2}\d{6}\d{6}", c["claim_no"])
                assert isinstance(c["amount_claimed"], Decimal) and c["amount_claimed"] > 0
            else:
                assert c["claim_no"] is None
            if c["amount_claimed"] is not None:
                assert c["amount_claimed"] == c["amount_claimed"].quantize(Decimal("0.01"))

    def test_received_at_spread(self, complaints: list[dict[str, Any]]) -> None:
        times = [c["received_at"] for c in complaints]
        assert times == sorted(times)
        for t in times:
            assert t.tzinfo is not None and t.utcoffset() == timedelta(hours=8)
            assert NOW - timedelta(days=151) <= t <= NOW
        assert (NOW - times[0]).days >= 120
        weekdays = sum(t.astimezone(CN_TZ).weekday() < 5 for t in times)
        office = sum(9 <= t.astimezone(CN_TZ).hour < 18 for t in times)
        assert weekdays > 0.8 * N and office > 0.7 * N

    def test_outcomes_follow_age(self, complaints: list[dict[str, Any]]) -> None:
        def hints(lo: int, hi: int) -> Counter[str]:
            return Counter(c["outcome_hint"] for c in complaints if lo <= (NOW - c["received_at"]).days < hi)

        assert {c["outcome_hint"] for c in complaints} <= set(OUTCOME_HINTS)
        old, recent = hints(60, 200), hints(0, 7)
        assert old["closed"] > 0.7 * sum(old.values())
        assert recent["open"] > 0.6 * sum(recent.values())
        near_or_past = hints(12, 40)["open"]
        assert 1 <= near_or_past <= 0.1 * N

    def test_repeats_for_duplicate_detection(self, complaints: list[dict[str, Any]]) -> None:
        pairs = 0
        by_person: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for c in complaints:
            by_person.setdefault((c["id_number"], c["policy_no"]), []).append(c)
        for group in by_person.values():
            for a, b in zip(group, group[1:], strict=False):
                if b["received_at"] - a["received_at"] <= timedelta(days=30):
                    pairs += 1
                    assert (a["phone"], a["cause"], a["org_code"]) == (b["phone"], b["cause"], b["org_code"])
        assert pairs >= N * 0.03

    def test_accepts_other_time_zones_and_custom_orgs(self) -> None:
        now = datetime(2025, 1, 6, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
        orgs = [
            OrgSpec("X", "某分公司", "Some Branch", "branch", None, "330100"),
            OrgSpec("X-1", "某支公司", "Some Sub-branch", "subbranch", "X", "330200"),
            OrgSpec("X-CP", "消保部", "CP", "department", "X", "330100"),
        ]
        items = generate_complaints(30, 1, now, orgs)
        assert len(items) == 30
        assert {c["org_code"] for c in items} <= {"X", "X-1"}
        for c in items:
            assert c["received_at"] <= now
            assert pii.validate_id_number(c["id_number"]) == c["id_number"]

    def test_small_and_empty(self) -> None:
        assert generate_complaints(0, 1, NOW) == []
        assert len(generate_complaints(3, 1, NOW)) == 3

    def test_rejects_bad_arguments(self) -> None:
        with pytest.raises(ValueError, match="timezone"):
            generate_complaints(5, 1, datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
        with pytest.raises(ValueError):
            generate_complaints(-1, 1, NOW)
        with pytest.raises(ValueError, match="no branch"):
            generate_complaints(5, 1, NOW, [OrgSpec("HQ", "总公司", "HQ", "hq", None, "310100")])
