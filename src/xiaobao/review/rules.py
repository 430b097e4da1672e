"""Rule library as data: review/data/rules/*.yaml, validated on load (errors name the file and the rule)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CATEGORIES: tuple[str, ...] = (
    "absolute_term",
    "guaranteed_return",
    "deposit_analogy",
    "stop_sale_hype",
    "regulator_endorsement",
    "disparagement",
    "false_gift",
    "surrender_inducement",
    "exaggerated_coverage",
    "missing_disclosure",
)
SEVERITIES: tuple[str, ...] = ("high", "medium", "low")
MATERIAL_TYPES: tuple[str, ...] = ("marketing", "terms", "script", "notice")
RULES_DIR = Path(__file__).parent / "data" / "rules"
_KEYS = {
    "id",
    "category",
    "severity",
    "applies_to",
    "product_lines",
    "match",
    "exceptions",
    "negatable",
    "word",
    "basis",
    "suggestion",
    "examples",
}
_MATCH_KEYS = {"terms", "regex", "near", "require", "when"}


class RuleError(ValueError):
    """A rule file that does not validate; the message names the file and the rule."""


@dataclass(frozen=True)
class Near:
    a: tuple[str, ...]
    b: tuple[str, ...]
    within: int


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    severity: str
    basis: str
    suggestion: str
    applies_to: tuple[str, ...] = MATERIAL_TYPES
    product_lines: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    regex: tuple[re.Pattern[str], ...] = ()
    near: Near | None = None
    require: tuple[re.Pattern[str], ...] = ()
    exceptions: re.Pattern[str] | None = None
    negatable: bool = True
    word: bool = False  # literal terms must sit on word boundaries (jieba with the insurance dictionary)
    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    source: str = field(default="", compare=False)


def _strs(value: Any, where: str, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise RuleError(f"{where}: {what} must be a non-empty list of non-empty strings")
    return tuple(value)


def _compile(patterns: tuple[str, ...], where: str, what: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error as e:
            raise RuleError(f"{where}: {what} {p!r} is not a valid regular expression: {e}") from e
    return tuple(out)


def absent_pattern(literals: tuple[str, ...]) -> str:
    """A pattern that matches (empty, at the start) exactly when none of the literals occurs in the text.

    Used for conditional required elements (`match.when`): the rule's required elements only matter when one of
    the `when` literals occurs, so "none of them occurs" is one more way to satisfy the requirement. Written as
    a possessive scan (runs of characters that cannot start a literal are skipped in one step), which is linear
    and about ten times faster than a lookahead over `[\\s\\S]*` on long documents."""
    firsts: dict[str, list[str]] = {}
    for lit in sorted(set(literals), key=lambda x: (-len(x), x)):
        firsts.setdefault(lit[0], []).append(lit[1:])
    chars = "".join(re.escape(c) for c in sorted(firsts))
    steps = [f"[^{chars}]++"]
    for c, rests in sorted(firsts.items()):
        if "" in rests:
            continue  # a one-character literal: every occurrence of c is a trigger
        steps.append(f"{re.escape(c)}(?!{'|'.join(re.escape(r) for r in rests)})")
    alts = "|".join(re.escape(lit) for lit in sorted(set(literals), key=lambda x: (-len(x), x)))
    return rf"\A(?!(?:{'|'.join(steps)})*+(?:{alts}))"


def parse_rule(raw: Any, source: str) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError(f"{source}: every rule must be a mapping, got {type(raw).__name__}")
    rid = raw.get("id")
    if not isinstance(rid, str) or not re.fullmatch(r"[A-Z]{2,4}-\d{3}", rid):
        raise RuleError(f"{source}: rule id {rid!r} must look like AT-001")
    where = f"{source}: rule {rid}"
    unknown = set(raw) - _KEYS
    if unknown:
        raise RuleError(f"{where}: unknown keys {sorted(unknown)}")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise RuleError(f"{where}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        raise RuleError(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    for key in ("basis", "suggestion"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise RuleError(f"{where}: {key} is required")
    applies_to = _strs(raw.get("applies_to", list(MATERIAL_TYPES)), where, "applies_to")
    bad = [t for t in applies_to if t not in MATERIAL_TYPES]
    if bad:
        raise RuleError(f"{where}: applies_to {bad} not in {', '.join(MATERIAL_TYPES)}")
    product_lines = _strs(raw["product_lines"], where, "product_lines") if "product_lines" in raw else ()
    match = raw.get("match")
    if not isinstance(match, dict) or not match or set(match) - _MATCH_KEYS:
        raise RuleError(f"{where}: match must be a mapping with some of {sorted(_MATCH_KEYS)}")
    if "when" in match and "require" not in match:
        raise RuleError(f"{where}: match.when only qualifies a require matcher")
    if "require" in match and len(set(match) - {"when"}) > 1:
        raise RuleError(f"{where}: a require matcher cannot be combined with other matchers")
    terms = _strs(match["terms"], where, "match.terms") if "terms" in match else ()
    regex = (
        _compile(_strs(match["regex"], where, "match.regex"), where, "match.regex")
        if "regex" in match
        else ()
    )
    near = None
    if "near" in match:
        n = match["near"]
        if not isinstance(n, dict) or not isinstance(n.get("within"), int) or n["within"] < 1:
            raise RuleError(f"{where}: match.near needs a, b and a positive integer within")
        near = Near(
            _strs(n.get("a"), where, "match.near.a"), _strs(n.get("b"), where, "match.near.b"), n["within"]
        )
    require: tuple[re.Pattern[str], ...] = ()
    if "require" in match:
        patterns = _strs(match["require"], where, "match.require")
        if "when" in match:
            patterns = (*patterns, absent_pattern(_strs(match["when"], where, "match.when")))
        require = _compile(patterns, where, "match.require")
    exceptions = None
    if "exceptions" in raw:
        exc = _strs(raw["exceptions"], where, "exceptions")
        _compile(exc, where, "exception")
        exceptions = re.compile("|".join(f"(?:{e})" for e in exc))
    examples = raw.get("examples")
    if not isinstance(examples, dict) or set(examples) != {"positive", "negative"}:
        raise RuleError(f"{where}: examples must have positive and negative lists")
    positive = _strs(examples["positive"], where, "examples.positive")
    negative = _strs(examples["negative"], where, "examples.negative")
    for key in ("negatable", "word"):
        if key in raw and not isinstance(raw[key], bool):
            raise RuleError(f"{where}: {key} must be true or false")
    return Rule(
        id=rid,
        category=category,
        severity=severity,
        basis=raw["basis"].strip(),
        suggestion=raw["suggestion"].strip(),
        applies_to=applies_to,
        product_lines=product_lines,
        terms=terms,
        regex=regex,
        near=near,
        require=require,
        exceptions=exceptions,
        negatable=raw.get("negatable", True),
        word=raw.get("word", False),
        positive=positive,
        negative=negative,
        source=source,
    )


def load_file(path: Path) -> list[Rule]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RuleError(f"{path.name}: not valid YAML: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{path.name}: expected a mapping with a 'rules' list")
    return [parse_rule(raw, path.name) for raw in data["rules"]]


def load_rules(directory: Path = RULES_DIR) -> list[Rule]:
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        for rule in load_file(path):
            if rule.id in seen:
                raise RuleError(f"{path.name}: rule {rule.id} duplicates the one in {seen[rule.id]}")
            seen[rule.id] = path.name
            rules.append(rule)
    return rules
