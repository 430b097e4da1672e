"""Review statistics for a period, within the caller's org subtree: findings by category and by rule, by
submitting department, time to review (median and 90th percentile from a version's submission to its
conclusion), conclusions, and the most-dismissed rules (a rule reviewers keep dismissing probably misfires).

Counted per checked version: a version checked in the period contributes its findings; a conclusion given in
the period contributes its time to review."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import Org
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import Forbidden
from xiaobao.review.domain import CATEGORY_META, CONCLUSION_META, Conclusion, Decision
from xiaobao.review.tables import ReviewConclusion, ReviewFinding, ReviewSubmission, ReviewVersion


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def lo(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=CN_TZ)

    @property
    def hi(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=CN_TZ) + timedelta(days=1)


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def compute(s: Session, who: Principal, period: Period, lang: str = "zh") -> dict[str, Any]:
    if not who.can(Perm.REVIEW_VIEW):
        raise Forbidden("您的角色不能查看审查统计", "Your role may not see review statistics")
    scope = Org.path.startswith(who.scope_path)
    rows = s.execute(
        select(
            ReviewFinding.rule_id,
            ReviewFinding.category,
            ReviewFinding.severity,
            ReviewFinding.decision,
            Org.name_zh,
            Org.name_en,
        )
        .join(ReviewVersion, ReviewVersion.id == ReviewFinding.version_id)
        .join(ReviewSubmission, ReviewSubmission.id == ReviewVersion.submission_id)
        .join(Org, Org.id == ReviewSubmission.org_id)
        .where(scope, ReviewVersion.checked_at >= period.lo, ReviewVersion.checked_at < period.hi)
    ).all()
    versions = s.execute(
        select(ReviewVersion.id, Org.name_zh, Org.name_en)
        .join(ReviewSubmission, ReviewSubmission.id == ReviewVersion.submission_id)
        .join(Org, Org.id == ReviewSubmission.org_id)
        .where(scope, ReviewVersion.checked_at >= period.lo, ReviewVersion.checked_at < period.hi)
    ).all()
    concl = s.execute(
        select(ReviewConclusion.conclusion, ReviewConclusion.at, ReviewVersion.created_at)
        .join(ReviewVersion, ReviewVersion.id == ReviewConclusion.version_id)
        .join(ReviewSubmission, ReviewSubmission.id == ReviewVersion.submission_id)
        .join(Org, Org.id == ReviewSubmission.org_id)
        .where(scope, ReviewConclusion.at >= period.lo, ReviewConclusion.at < period.hi)
    ).all()

    zh = lang == "zh"
    by_cat: Counter[str] = Counter(r.category for r in rows)
    by_rule: Counter[str] = Counter(r.rule_id for r in rows)
    rule_cat = {r.rule_id: r.category for r in rows}
    dept_versions: Counter[str] = Counter((v.name_zh if zh else v.name_en) for v in versions)
    dept_findings: Counter[str] = Counter((r.name_zh if zh else r.name_en) for r in rows)
    decided: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        if r.decision:
            decided[r.rule_id][r.decision] += 1
    hours = [(c.at - c.created_at).total_seconds() / 3600 for c in concl]
    median, p90 = percentile(hours, 0.5), percentile(hours, 0.9)

    dismissed = []
    for rid, cnt in decided.items():
        total = sum(cnt.values())
        d = cnt[Decision.DISMISS.value]
        if d:
            dismissed.append(
                {
                    "rule_id": rid,
                    "category": rule_cat.get(rid, ""),
                    "decided": total,
                    "dismissed": d,
                    "rate": round(d / total, 4),
                }
            )
    dismissed.sort(key=lambda x: (-x["rate"], -x["dismissed"], x["rule_id"]))

    def cat_label(c: str) -> str:
        meta = CATEGORY_META.get(c)
        return (meta[0] if zh else meta[1]) if meta else c

    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "versions_checked": len(versions),
        "findings": len(rows),
        "by_category": [
            {"category": c, "label": cat_label(c), "count": by_cat.get(c, 0)} for c in CATEGORY_META
        ],
        "by_rule": [
            {
                "rule_id": rid,
                "category": rule_cat[rid],
                "label": f"{rid} {cat_label(rule_cat[rid])}",
                "count": n,
            }
            for rid, n in by_rule.most_common(20)
        ],
        "by_department": [
            {
                "label": name,
                "versions": n,
                "findings": dept_findings.get(name, 0),
                "per_version": round(dept_findings.get(name, 0) / n, 2) if n else 0.0,
            }
            for name, n in sorted(dept_versions.items(), key=lambda kv: (-dept_findings.get(kv[0], 0), kv[0]))
        ],
        "time_to_review": {
            "concluded": len(hours),
            "median_hours": round(median, 1) if median is not None else None,
            "p90_hours": round(p90, 1) if p90 is not None else None,
        },
        "conclusions": [
            {
                "conclusion": c.value,
                "label": CONCLUSION_META[c][0 if zh else 1],
                "count": sum(1 for x in concl if x.conclusion == c.value),
            }
            for c in Conclusion
        ],
        "most_dismissed": dismissed[:20],
    }
