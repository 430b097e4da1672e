"""Every rule's examples: the positive ones fire that rule, the negative ones do not; the library's size and
coverage; validation errors; and the benchmark's evaluation set kept apart from the rule examples."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from xiaobao.review.engine import Checker
from xiaobao.review.rules import (
    CATEGORIES,
    Rule,
    RuleError,
    absent_pattern,
    load_file,
    load_rules,
    parse_rule,
)

RULES = load_rules()
CHECKER = Checker(RULES)


def _context(rule: Rule) -> tuple[str, str | None]:
    return rule.applies_to[0], (rule.product_lines[0] if rule.product_lines else None)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_positive_examples_fire(rule: Rule) -> None:
    material_type, product_line = _context(rule)
    for example in rule.positive:
        ids = [f.rule_id for f in CHECKER.check(example, material_type, product_line)]
        assert rule.id in ids, f"{rule.id} ({rule.source}) should fire on {example!r}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_negative_examples_do_not_fire(rule: Rule) -> None:
    material_type, product_line = _context(rule)
    for example in rule.negative:
        hits = [f for f in CHECKER.check(example, material_type, product_line) if f.rule_id == rule.id]
        assert not hits, f"{rule.id} ({rule.source}) should not fire on {example!r}: {hits}"


def test_library_covers_every_category() -> None:
    counts = Counter(r.category for r in RULES)
    assert set(counts) == set(CATEGORIES)
    assert len(RULES) >= 150, counts
    assert min(counts.values()) >= 10, counts
    assert all(r.basis and r.suggestion for r in RULES)


def test_every_rule_has_examples_and_a_legal_basis() -> None:
    for rule in RULES:
        assert rule.positive and rule.negative, rule.id
        assert re.search(r"《[^》]+》|〔\d{4}〕", rule.basis), (
            f"{rule.id}: basis should name the law or document"
        )
        assert re.fullmatch(r"[A-Z]{2}-\d{3}", rule.id), rule.id
        assert set(rule.positive).isdisjoint(rule.negative), rule.id


def test_rule_id_prefix_matches_its_category() -> None:
    prefixes: dict[str, set[str]] = {}
    for rule in RULES:
        prefixes.setdefault(rule.category, set()).add(rule.id.split("-")[0])
    assert all(len(p) == 1 for p in prefixes.values()), prefixes


EVAL_SET = Path(__file__).resolve().parents[2] / "bench" / "data" / "review_eval.jsonl"


def test_evaluation_set_is_kept_apart_from_rule_examples() -> None:
    items = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(items) >= 400
    examples = {e for r in RULES for e in (*r.positive, *r.negative)}
    assert not [i["id"] for i in items if i["text"] in examples]
    assert len({i["text"] for i in items}) == len(items)
    for item in items:
        assert set(item["labels"]) <= set(CATEGORIES), item["id"]
        if item["scope"] == "sentence":
            assert "missing_disclosure" not in item["labels"], item["id"]
    labelled = Counter(c for i in items for c in i["labels"])
    assert set(labelled) == set(CATEGORIES)
    assert sum(1 for i in items if not i["labels"]) >= 100  # clean near-misses
    assert any(i["split"] == "holdout" for i in items)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD = """rules:
  - id: XX-001
    category: absolute_term
    severity: high
    match: {terms: [最好]}
    basis: b
    suggestion: s
    examples: {positive: [最好], negative: [好]}
"""


def test_a_valid_file_loads(tmp_path: Path) -> None:
    [rule] = load_file(_write(tmp_path, GOOD))
    assert rule.id == "XX-001" and rule.terms == ("最好",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("absolute_term", "absolute"), "category 'absolute' is not one of"),
        (("severity: high", "severity: urgent"), "severity 'urgent'"),
        (("terms: [最好]", "regex: ['(最好']"), "not a valid regular expression"),
        (("    basis: b\n", ""), "basis is required"),
        (("{positive: [最好], negative: [好]}", "{positive: [最好]}"), "examples must have"),
        (("match: {terms: [最好]}", "match: {words: [最好]}"), "match must be a mapping"),
        (("id: XX-001", "id: bad"), "rule id 'bad'"),
        (
            ("match: {terms: [最好]}", "match: {terms: [最好], when: [分红]}"),
            "match.when only qualifies a require",
        ),
        (("match: {terms: [最好]}", "match: {terms: [最好], require: [x]}"), "cannot be combined"),
    ],
)
def test_validation_names_file_and_rule(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(RuleError) as exc:
        load_file(_write(tmp_path, GOOD.replace(*change)))
    assert "bad.yaml" in str(exc.value)
    assert message in str(exc.value)
    if "rule id" not in message:
        assert "XX-001" in str(exc.value)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(RuleError, match="b.yaml: rule XX-001 duplicates the one in a.yaml"):
        load_rules(tmp_path)


def test_broken_yaml_is_reported_with_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="bad.yaml: not valid YAML"):
        load_file(_write(tmp_path, "rules: [\n"))


def _conditional_rule() -> Rule:
    return parse_rule(
        {
            "id": "TT-002",
            "category": "missing_disclosure",
            "severity": "high",
            "match": {"when": ["分红", "万能"], "require": ["不确定|不保证"]},
            "basis": "b",
            "suggestion": "s",
            "examples": {"positive": ["分红年金"], "negative": ["分红不保证"]},
        },
        "test",
    )


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("年金保险，每年领取养老金。", False),  # no trigger: the requirement does not apply
        ("分红型年金，每年都有红利。", True),  # trigger without the disclosure
        ("分红型年金，红利分配是不确定的。", False),
        ("本产品为万能型保险。" * 50 + "结算利率不保证。", False),
        ("本产品为万能型保险。" * 50, True),
        ("", False),
    ],
)
def test_conditional_required_elements(text: str, fires: bool) -> None:
    checker = Checker([_conditional_rule()])
    assert bool(checker.check(text, "marketing")) is fires


def test_absent_pattern_agrees_with_a_plain_search() -> None:
    import random
    import re as _re

    literals = ("分红", "万能", "投连", "投资连结", "投资账户", "结")
    pattern = _re.compile(absent_pattern(literals))
    alphabet = "分红万能投连资结账户这是保险"
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert bool(pattern.search(text)) == (not any(lit in text for lit in literals)), text
