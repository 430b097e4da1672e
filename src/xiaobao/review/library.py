"""The effective rule library: the YAML rules shipped in review/data/rules overlaid by the edits admins and
reviewers make in the UI (table review_rule_edit, every edit a new row: add, edit, disable, enable).

* `effective(session)` lists every rule with its latest body, origin and state;
* `checker(session)` returns a `Checker` for the enabled rules, cached per library content, and the
  library version string recorded on every checked version ("<latest edit id>·<YAML digest>");
* `save_edit(...)` validates an edit with `rules.parse_rule` (bilingual problems naming the field), runs
  the rule's own positive and negative examples and refuses the edit when they fail, then writes the edit
  row and the audit row.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.core import audit
from xiaobao.core.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from xiaobao.review.engine import Checker
from xiaobao.review.rules import RULES_DIR, Rule, RuleError, parse_rule
from xiaobao.review.tables import ReviewRuleEdit

ACTIONS = ("add", "edit", "disable", "enable")
_FIELDS = (
    "examples.positive",
    "examples.negative",
    "examples",
    "match.when",
    "match.terms",
    "match.regex",
    "match.near",
    "match.require",
    "match",
    "applies_to",
    "product_lines",
    "exceptions",
    "negatable",
    "word",
    "basis",
    "suggestion",
    "category",
    "severity",
    "id",
)


@dataclass(frozen=True)
class LibraryRule:
    id: str
    body: dict[str, Any]
    rule: Rule
    origin: str  # yaml | ui
    source: str  # the YAML file name, or "ui"
    enabled: bool
    rule_version: int
    """0 for a YAML rule never edited in the UI."""
    edited_at: datetime | None
    edited_by: str | None


# ---------------------------------------------------------------- YAML


_yaml_lock = threading.Lock()
_yaml_cache: dict[tuple[tuple[str, float, int], ...], tuple[str, dict[str, tuple[dict[str, Any], str]]]] = {}


def _yaml_signature(directory: Path) -> tuple[tuple[str, float, int], ...]:
    return tuple((p.name, p.stat().st_mtime, p.stat().st_size) for p in sorted(directory.glob("*.yaml")))


def yaml_rules(directory: Path = RULES_DIR) -> tuple[str, dict[str, tuple[dict[str, Any], str]]]:
    """(digest, {rule id: (raw body, file name)}) of the shipped YAML files, re-read when they change."""
    sig = _yaml_signature(directory)
    with _yaml_lock:
        hit = _yaml_cache.get(sig)
        if hit is not None:
            return hit
        digest = hashlib.sha256()
        out: dict[str, tuple[dict[str, Any], str]] = {}
        for path in sorted(directory.glob("*.yaml")):
            data = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + data)
            raw = yaml.safe_load(data.decode("utf-8")) or {}
            for body in raw.get("rules", []):
                if isinstance(body, dict) and isinstance(body.get("id"), str):
                    out[body["id"]] = (body, path.name)
        result = (digest.hexdigest()[:8], out)
        _yaml_cache.clear()
        _yaml_cache[sig] = result
        return result


# ---------------------------------------------------------------- the effective library


def _latest_edits(s: Session) -> dict[str, ReviewRuleEdit]:
    latest: dict[str, ReviewRuleEdit] = {}
    for e in s.scalars(select(ReviewRuleEdit).order_by(ReviewRuleEdit.id)):
        latest[e.rule_id] = e
    return latest


def library_version(s: Session) -> int:
    """The number of the latest UI edit (0: the YAML library as shipped)."""
    return int(s.scalar(select(func.max(ReviewRuleEdit.id))) or 0)


def effective(s: Session) -> list[LibraryRule]:
    _digest, shipped = yaml_rules()
    latest = _latest_edits(s)
    out: list[LibraryRule] = []
    for rid in sorted(set(shipped) | set(latest)):
        edit = latest.get(rid)
        if edit is not None:
            body, origin = edit.body, ("yaml" if rid in shipped else "ui")
            source = shipped[rid][1] if rid in shipped else "ui"
        else:
            body, source = shipped[rid]
            origin = "yaml"
        try:
            rule = parse_rule(body, source)
        except RuleError:
            continue  # a shipped YAML rule that stopped validating is the YAML tests' business
        out.append(
            LibraryRule(
                id=rid,
                body=body,
                rule=rule,
                origin=origin,
                source=source,
                enabled=edit is None or edit.action != "disable",
                rule_version=edit.rule_version if edit else 0,
                edited_at=edit.at if edit else None,
                edited_by=edit.author_label if edit else None,
            )
        )
    return out


def get_rule(s: Session, rule_id: str) -> LibraryRule:
    for r in effective(s):
        if r.id == rule_id:
            return r
    raise NotFound("规则", "rule")


def history(s: Session, rule_id: str) -> list[ReviewRuleEdit]:
    return list(
        s.scalars(
            select(ReviewRuleEdit)
            .where(ReviewRuleEdit.rule_id == rule_id)
            .order_by(ReviewRuleEdit.rule_version)
        )
    )


_checker_lock = threading.Lock()
_checkers: dict[str, tuple[Checker, str]] = {}


def checker(s: Session) -> tuple[Checker, str]:
    """The Checker for the enabled rules of the effective library, and its version string. Cached by the
    library's content (every edit row and the YAML digest), so an edit takes effect at the next check."""
    digest, _ = yaml_rules()
    rows = s.execute(
        select(ReviewRuleEdit.id, ReviewRuleEdit.rule_id, ReviewRuleEdit.rule_version, ReviewRuleEdit.action)
    ).all()
    key = hashlib.sha256(json.dumps([digest, [tuple(r) for r in rows]], default=str).encode()).hexdigest()
    version = f"{max((r[0] for r in rows), default=0)}·{digest}"
    with _checker_lock:
        hit = _checkers.get(key)
    if hit is not None:
        return hit
    built = Checker([r.rule for r in effective(s) if r.enabled])
    with _checker_lock:
        if len(_checkers) >= 8:
            _checkers.clear()
        _checkers[key] = (built, version)
    return built, version


# ---------------------------------------------------------------- edits


def _field_of(message: str) -> str:
    tail = message.split(": rule ", 1)[-1]
    tail = tail.split(":", 1)[1] if ":" in tail else tail
    for f in _FIELDS:
        if re.search(rf"(^|\W){re.escape(f)}(\W|$)", tail):
            return f
    if "matcher" in tail:  # "a require matcher cannot be combined with other matchers"
        return "match"
    return "body"


def _problem(field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed([FieldProblem(field, zh, en)])


def parse_body(text: str) -> dict[str, Any]:
    """A rule as YAML text (the editor's content) -> its body mapping."""
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise _problem("body", f"不是有效的 YAML：{e}", f"not valid YAML: {e}") from e
    if isinstance(body, dict) and isinstance(body.get("rules"), list) and len(body["rules"]) == 1:
        body = body["rules"][0]  # pasted as a whole file with one rule
    if not isinstance(body, dict):
        raise _problem("body", "规则须为一个映射（键: 值）", "the rule must be a mapping (key: value)")
    return body


def body_yaml(body: dict[str, Any]) -> str:
    return yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=100)


def validate(body: dict[str, Any]) -> Rule:
    """parse_rule with bilingual problems naming the field, then the rule's own examples."""
    try:
        rule = parse_rule(body, "ui")
    except RuleError as e:
        msg = str(e).removeprefix("ui: ")
        raise _problem(
            _field_of(str(e)), f"规则校验未通过：{msg}", f"the rule does not validate: {msg}"
        ) from e
    examples_fail(rule)
    return rule


def examples_fail(rule: Rule) -> None:
    material_type = rule.applies_to[0]
    product_line = rule.product_lines[0] if rule.product_lines else None
    one = Checker([rule])
    problems: list[FieldProblem] = []
    for i, text in enumerate(rule.positive):
        if not any(f.rule_id == rule.id for f in one.check(text, material_type, product_line)):
            problems.append(
                FieldProblem(
                    f"examples.positive[{i}]",
                    f"正例未命中本规则：{text}",
                    f"the positive example does not fire the rule: {text}",
                )
            )
    for i, text in enumerate(rule.negative):
        if any(f.rule_id == rule.id for f in one.check(text, material_type, product_line)):
            problems.append(
                FieldProblem(
                    f"examples.negative[{i}]",
                    f"反例误命中本规则：{text}",
                    f"the negative example fires the rule: {text}",
                )
            )
    if problems:
        raise ValidationFailed(problems)


def save_edit(
    s: Session,
    who: Principal,
    *,
    action: str,
    rule_id: str | None,
    body: dict[str, Any] | None,
    reason: str,
    now: datetime,
) -> ReviewRuleEdit:
    """Add, edit, disable or enable one rule. The caller commits."""
    if not who.can(Perm.REVIEW_RULES):
        raise Forbidden("您的角色不能维护审查规则", "Your role may not maintain review rules")
    if action not in ACTIONS:
        raise _problem("action", "未知的操作", f"unknown action (one of {', '.join(ACTIONS)})")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise _problem("reason", "请说明修改原因", "give the reason for the change")
    current = {r.id: r for r in effective(s)}
    if action == "add":
        if body is None:
            raise _problem("body", "请填写规则内容", "the rule body is required")
        rid = body.get("id")
        if isinstance(rid, str) and rid in current:
            raise _problem("id", f"规则编号 {rid} 已存在", f"rule id {rid} already exists")
        validate(body)
    else:
        if rule_id is None or rule_id not in current:
            raise NotFound("规则", "rule")
        rid = rule_id
        if action == "edit":
            if body is None:
                raise _problem("body", "请填写规则内容", "the rule body is required")
            if body.get("id") != rule_id:
                raise _problem("id", "规则编号不能修改", "the rule id cannot be changed")
            validate(body)
        else:
            enabled = current[rule_id].enabled
            if action == "disable" and not enabled:
                raise _problem("action", "该规则已停用", "the rule is already disabled")
            if action == "enable" and enabled:
                raise _problem("action", "该规则已启用", "the rule is already enabled")
            body = current[rule_id].body
    assert isinstance(rid, str) and body is not None
    prior = s.scalar(select(func.max(ReviewRuleEdit.rule_version)).where(ReviewRuleEdit.rule_id == rid))
    before = current.get(rid)
    edit = ReviewRuleEdit(
        rule_id=rid,
        rule_version=int(prior or 0) + 1,
        action=action,
        body=json.loads(json.dumps(body, default=str)),
        reason=reason,
        author_id=who.user_id,
        author_label=who.label,
        at=now,
    )
    s.add(edit)
    s.flush()
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action=f"review.rule.{action}",
        entity_type="review_rule",
        entity_id=rid,
        before={"body": before.body, "enabled": before.enabled} if before else None,
        after={"body": edit.body, "rule_version": edit.rule_version, "reason": reason},
        ip=who.ip,
    )
    return edit
