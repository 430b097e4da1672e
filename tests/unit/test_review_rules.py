"""Every rule's examples: the positive ones fire that rule, the negative ones do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from xiaobao.review.engine import Checker
from xiaobao.review.rules import CATEGORIES, Rule, RuleError, load_file, load_rules

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
    assert {r.category for r in RULES} == set(CATEGORIES)
    assert len(RULES) >= 60
    assert all(r.basis and r.suggestion for r in RULES)


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
