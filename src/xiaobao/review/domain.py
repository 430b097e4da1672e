"""The review workflow as data: statuses, actions and who may take them from which status, conclusions,
decisions, material types and product lines with their labels, the review number format, and the
character-level diff between two versions of a material. Pure: no DB, no web."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum

from xiaobao.auth.roles import Perm
from xiaobao.review.rules import CATEGORIES, MATERIAL_TYPES, SEVERITIES

Label = tuple[str, str]


class Status(StrEnum):
    SUBMITTED = "submitted"
    """Checked automatically, waiting for a reviewer to be assigned."""
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    """Concluded "fail": the submitter revises the material and resubmits (a new version)."""
    APPROVED = "approved"
    RELEASED = "released"
    WITHDRAWN = "withdrawn"


STATUS_META: dict[Status, tuple[str, str, str]] = {
    Status.SUBMITTED: ("待分派", "Awaiting reviewer", "#409eff"),
    Status.IN_REVIEW: ("审查中", "In review", "#e6a23c"),
    Status.CHANGES_REQUESTED: ("不通过待修改", "Failed, to revise", "#d64545"),
    Status.APPROVED: ("审查通过", "Approved", "#2f855a"),
    Status.RELEASED: ("已发布", "Released", "#4c51bf"),
    Status.WITHDRAWN: ("已撤回", "Withdrawn", "#a0aec0"),
}
OPEN_STATUSES = frozenset({Status.SUBMITTED, Status.IN_REVIEW})


class Action(StrEnum):
    ASSIGN = "assign"
    DECIDE = "decide"
    CONCLUDE = "conclude"
    RESUBMIT = "resubmit"
    RELEASE = "release"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Rule:
    perm: Perm
    from_states: frozenset[Status]
    who: str
    """"reviewer": only the assigned reviewer; "submitter": the submitter (or an officer over the submitting
    org, see services); "manager": a reviewer or a task manager in scope."""


TRANSITIONS: dict[Action, Rule] = {
    Action.ASSIGN: Rule(Perm.REVIEW_VIEW, frozenset({Status.SUBMITTED, Status.IN_REVIEW}), "manager"),
    Action.DECIDE: Rule(Perm.REVIEW_DECIDE, frozenset({Status.IN_REVIEW}), "reviewer"),
    Action.CONCLUDE: Rule(Perm.REVIEW_DECIDE, frozenset({Status.IN_REVIEW}), "reviewer"),
    Action.RESUBMIT: Rule(Perm.REVIEW_SUBMIT, frozenset({Status.CHANGES_REQUESTED}), "submitter"),
    Action.RELEASE: Rule(Perm.REVIEW_SUBMIT, frozenset({Status.APPROVED}), "submitter"),
    Action.WITHDRAW: Rule(
        Perm.REVIEW_SUBMIT,
        frozenset({Status.SUBMITTED, Status.IN_REVIEW, Status.CHANGES_REQUESTED}),
        "submitter",
    ),
}
ACTION_LABELS: dict[Action, Label] = {
    Action.ASSIGN: ("分派审查人", "Assign reviewer"),
    Action.DECIDE: ("处理审查意见", "Decide a finding"),
    Action.CONCLUDE: ("出具审查结论", "Conclude"),
    Action.RESUBMIT: ("修改后重新提交", "Resubmit revised material"),
    Action.RELEASE: ("标记为已发布", "Mark as released"),
    Action.WITHDRAW: ("撤回", "Withdraw"),
}


class Conclusion(StrEnum):
    PASS = "pass"  # noqa: S105 - a review conclusion, not a password
    PASS_WITH_CHANGES = "pass_with_changes"  # noqa: S105
    FAIL = "fail"


CONCLUSION_META: dict[Conclusion, tuple[str, str, Status]] = {
    Conclusion.PASS: ("通过", "Pass", Status.APPROVED),
    Conclusion.PASS_WITH_CHANGES: ("修改后通过", "Pass with changes", Status.APPROVED),
    Conclusion.FAIL: ("不通过", "Fail", Status.CHANGES_REQUESTED),
}


class Decision(StrEnum):
    ACCEPT = "accept"
    """The finding stands: the material must change as suggested."""
    DISMISS = "dismiss"
    """The finding is a false alarm (the reason is required: it feeds the most-dismissed rules figure)."""


DECISION_META: dict[Decision, Label] = {
    Decision.ACCEPT: ("采纳（需修改）", "Accept (change required)"),
    Decision.DISMISS: ("驳回（误报）", "Dismiss (false alarm)"),
}

MATERIAL_TYPE_META: dict[str, Label] = {
    "terms": ("产品条款", "Product terms"),
    "marketing": ("营销宣传", "Marketing"),
    "script": ("销售话术", "Sales script"),
    "notice": ("客户告知", "Customer notice"),
}
assert set(MATERIAL_TYPE_META) == set(MATERIAL_TYPES)

PRODUCT_LINE_META: dict[str, Label] = {
    "motor": ("车险", "Motor"),
    "property": ("财产险", "Property"),
    "liability": ("责任险", "Liability"),
    "accident": ("意外险", "Accident"),
    "health": ("健康险", "Health"),
    "life": ("寿险", "Life"),
    "annuity": ("年金险", "Annuity"),
    "agriculture": ("农业保险", "Agriculture"),
    "other": ("其他", "Other"),
}

CATEGORY_META: dict[str, Label] = {
    "absolute_term": ("绝对化用语", "Absolute terms"),
    "guaranteed_return": ("承诺收益/保本", "Guaranteed returns"),
    "deposit_analogy": ("混淆存款理财", "Deposit analogy"),
    "stop_sale_hype": ("炒作停售", "Stop-sale hype"),
    "regulator_endorsement": ("暗示监管背书", "Regulator endorsement"),
    "disparagement": ("诋毁同业", "Disparagement"),
    "false_gift": ("虚假赠送", "False gifts"),
    "surrender_inducement": ("诱导退保", "Surrender inducement"),
    "exaggerated_coverage": ("夸大保障", "Exaggerated coverage"),
    "missing_disclosure": ("必备信息缺失", "Missing disclosure"),
}
assert set(CATEGORY_META) == set(CATEGORIES)

SEVERITY_META: dict[str, tuple[str, str, str]] = {
    "high": ("高", "High", "#d64545"),
    "medium": ("中", "Medium", "#e6a23c"),
    "low": ("低", "Low", "#718096"),
}
assert set(SEVERITY_META) == set(SEVERITIES)

REVIEW_WORKDAYS = 5
"""A reviewer has this many working days (the container's calendar) from assignment."""


def review_number(year: int, seq: int) -> str:
    """消保审查〔2026〕第000123号: the number printed on approved material."""
    return f"消保审查〔{year}〕第{seq:06d}号"


def allowed_conclusions(decisions: list[str | None]) -> set[Conclusion]:
    """Which conclusions the decided findings allow: "pass" only when no finding was accepted (nothing to
    change); "pass with changes" only when some were (the changes to make are those findings); "fail"
    always. Undecided findings allow none (every finding needs a decision first)."""
    if any(d is None for d in decisions):
        return set()
    accepted = any(d == Decision.ACCEPT for d in decisions)
    return {Conclusion.PASS_WITH_CHANGES, Conclusion.FAIL} if accepted else {Conclusion.PASS, Conclusion.FAIL}


# ---------------------------------------------------------------- diff between versions


@dataclass(frozen=True)
class DiffOp:
    op: str  # equal | insert | delete
    text: str


def diff_texts(old: str, new: str) -> list[DiffOp]:
    """Character-level diff (Chinese has no spaces to split words on), merged into runs."""
    sm = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out: list[DiffOp] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            out.append(DiffOp("equal", old[i1:i2]))
        else:
            if i2 > i1:
                out.append(DiffOp("delete", old[i1:i2]))
            if j2 > j1:
                out.append(DiffOp("insert", new[j1:j2]))
    return out


def diff_stats(ops: list[DiffOp]) -> dict[str, int]:
    return {
        "inserted": sum(len(o.text) for o in ops if o.op == "insert"),
        "deleted": sum(len(o.text) for o in ops if o.op == "delete"),
    }


# ---------------------------------------------------------------- highlight segments


@dataclass(frozen=True)
class Segment:
    text: str
    finding_ids: tuple[int, ...]
    """The findings covering this run of text (several when findings overlap; empty for plain text)."""


def segments(text: str, spans: list[tuple[int, int, int]]) -> list[Segment]:
    """Split `text` at every finding boundary so overlapping findings nest without breaking the markup:
    each piece carries the ids of every finding that covers it. `spans` are (finding id, start, end);
    empty or out-of-range spans are ignored (document-level findings such as a missing disclosure)."""
    n = len(text)
    valid = [(fid, max(0, s), min(n, e)) for fid, s, e in spans if 0 <= s < e and s < n]
    cuts = sorted({0, n, *(s for _, s, _ in valid), *(e for _, _, e in valid)})
    out: list[Segment] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        if b <= a:
            continue
        ids = tuple(fid for fid, s, e in valid if s <= a and b <= e)
        out.append(Segment(text[a:b], ids))
    return out
