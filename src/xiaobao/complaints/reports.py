"""Complaint statistics: the dashboard and the regulator report (监管统计).

Every figure is computed by GROUP BY in SQL over stored columns (org_id, status, business_line, cause,
local day); the small grouped result is then rolled up in Python (leaf codes to their top-level parent,
orgs to the branch they belong to). Nothing iterates over complaint rows, so the queries stay fast on a
million complaints.

Scope: every query is restricted to an org path prefix, the caller's subtree or a narrower org inside it.
Personal data never appears: only counts, org names and classification labels.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.tables import Org
from xiaobao.complaints.domain import OPEN_STATUSES, STATUS_META, Status
from xiaobao.complaints.tables import Complaint, PolicyCount
from xiaobao.complaints.taxonomy import Taxonomy, load_taxonomy
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import FieldProblem, ValidationFailed

SPLIT_LINES = frozenset({"motor"})
"""Top-level business lines reported by their children in regulator statistics (交强险 / 商业险)."""

NO_POLICY_ZH = "未加载保单数"
NO_POLICY_EN = "Policy count not loaded"


# ---------------------------------------------------------------- periods and days (pure)


def local_day_start(d: date) -> datetime:
    """00:00 Asia/Shanghai of a local date, as an aware UTC datetime."""
    return datetime.combine(d, time.min, tzinfo=CN_TZ).astimezone(UTC)


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) Asia/Shanghai as UTC datetimes: both dates are included."""
    return local_day_start(start), local_day_start(end + timedelta(days=1))


def quarter_of(d: date) -> tuple[int, int]:
    return d.year, (d.month - 1) // 3 + 1


def quarter_range(year: int, q: int) -> tuple[date, date]:
    if q not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1-4, got {q}")
    start = date(year, 3 * q - 2, 1)
    nxt = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, nxt - timedelta(days=1)


def last_full_quarter(today: date) -> tuple[date, date]:
    """The last quarter that ended before `today` (a local date)."""
    year, q = quarter_of(today)
    year, q = (year - 1, 4) if q == 1 else (year, q - 1)
    return quarter_range(year, q)


def recent_quarters(today: date, n: int = 8) -> list[tuple[str, date, date]]:
    """The current quarter and the n-1 before it, newest first, as (label '2026Q1', start, end)."""
    year, q = quarter_of(today)
    out = []
    for _ in range(n):
        start, end = quarter_range(year, q)
        out.append((f"{year}Q{q}", start, end))
        year, q = (year - 1, 4) if q == 1 else (year, q - 1)
    return out


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def per_10k(complaints: int, policies: int | None) -> float | None:
    """万张保单投诉量: complaints per 10,000 policies (None when no policy count is loaded)."""
    if not policies:
        return None
    return complaints * 10_000 / policies


def report_line(tax: Taxonomy, code: str) -> str:
    """The business line a code is reported under: its top-level line, except lines split in bulletins
    (motor: 交强险 / 商业险) which keep their second-level code. Unknown codes are reported as they are."""
    try:
        root = tax.root_of("business_lines", code)
    except KeyError:
        return code
    return code if root in SPLIT_LINES else root


def root_code(tax: Taxonomy, kind: str, code: str) -> str:
    try:
        return tax.root_of(kind, code)
    except KeyError:
        return code


def line_order(tax: Taxonomy) -> list[str]:
    """Report lines in taxonomy order (split lines replaced by their children)."""
    out: list[str] = []
    for t in tax.roots("business_lines"):
        if t.code in SPLIT_LINES and t.children:
            out.extend(c.code for c in t.children)
        else:
            out.append(t.code)
    return out


def _ordered(keys: Iterable[str], order: list[str]) -> list[str]:
    pos = {k: i for i, k in enumerate(order)}
    return sorted(set(keys), key=lambda k: (pos.get(k, len(pos)), k))


def _path_key(path: str) -> tuple[int, ...]:
    """Materialised paths in tree (creation) order: numerically, so '/1/10/' comes after '/1/9/'."""
    return tuple(int(p) for p in path.split("/") if p.isdigit())


def _lang(lang: str) -> str:
    return "en" if lang.lower().startswith("en") else "zh"


# ---------------------------------------------------------------- scope and org buckets


@dataclass(frozen=True)
class OrgNode:
    id: int
    code: str
    name_zh: str
    name_en: str
    kind: str
    path: str
    parent_id: int | None

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_zh


@dataclass(frozen=True)
class Bucket:
    """A row of the 'by branch' breakdown: a child org of the scope root, or the root's own complaints."""

    code: str
    name_zh: str
    name_en: str
    path: str
    own: bool = False
    """True for the scope root's own complaints (本级)."""

    def label(self, lang: str) -> str:
        if self.own:
            return f"{self.name_en} (own)" if lang == "en" else f"{self.name_zh}本级"
        return self.name_en if lang == "en" else self.name_zh


class Scope:
    """The org subtree a statistic covers and how its orgs roll up to branches (one level below the root)."""

    def __init__(self, root: OrgNode | None, path: str, orgs: Mapping[int, OrgNode]) -> None:
        self.root = root
        self.path = path
        self.orgs = orgs
        self._by_path = {o.path: o for o in orgs.values()}
        self._cache: dict[int, Bucket | None] = {}

    def institution(self, lang: str) -> str:
        if self.root is None:
            return "全部机构" if lang == "zh" else "All organisations"
        return self.root.name(lang)

    def bucket(self, org_id: int) -> Bucket | None:
        """The branch bucket of an org, or None if the org is outside the scope."""
        if org_id in self._cache:
            return self._cache[org_id]
        node = self.orgs.get(org_id)
        # departments roll up to the nearest non-department org
        while node is not None and node.kind == "department" and node.parent_id is not None:
            node = self.orgs.get(node.parent_id)
        result: Bucket | None = None
        if node is not None and node.path.startswith(self.path):
            rest = [p for p in node.path[len(self.path) :].split("/") if p]
            if not rest:
                r = self.root or node
                result = Bucket(r.code, r.name_zh, r.name_en, r.path, own=True)
            else:
                child_path = f"{self.path}{rest[0]}/"
                child = self._by_path.get(child_path, node)
                result = Bucket(child.code, child.name_zh, child.name_en, child.path)
        self._cache[org_id] = result
        return result


def _all_orgs(session: Session) -> dict[int, OrgNode]:
    rows = session.execute(
        select(Org.id, Org.code, Org.name_zh, Org.name_en, Org.kind, Org.path, Org.parent_id)
    )
    return {r.id: OrgNode(r.id, r.code, r.name_zh, r.name_en, r.kind, r.path, r.parent_id) for r in rows}


def resolve_scope(session: Session, who: Principal, org_code: str | None = None) -> Scope:
    """The caller's subtree, or the subtree of `org_code` when it lies inside it.

    An org outside the caller's scope is reported exactly like an unknown one."""
    orgs = _all_orgs(session)
    by_path = {o.path: o for o in orgs.values()}
    if org_code:
        node = next((o for o in orgs.values() if o.code == org_code), None)
        if node is None or not node.path.startswith(who.scope_path) or node.kind == "department":
            raise ValidationFailed(
                [
                    FieldProblem(
                        "org",
                        f"机构「{org_code}」不存在或不在您的管辖范围",
                        f"org {org_code!r} unknown or outside your scope",
                    )
                ]
            )
        return Scope(node, node.path, orgs)
    if who.scope_path == "/":
        tops = [o for o in orgs.values() if o.parent_id is None]
        if len(tops) == 1:
            return Scope(tops[0], tops[0].path, orgs)
        return Scope(None, "/", orgs)
    return Scope(by_path.get(who.scope_path), who.scope_path, orgs)


def scope_choices(session: Session, who: Principal, lang: str) -> list[tuple[str, str]]:
    """Orgs a caller may filter statistics by: their subtree without departments, in tree order."""
    rows = session.execute(
        select(Org.code, Org.name_zh, Org.name_en, Org.path)
        .where(Org.path.startswith(who.scope_path), Org.kind != "department")
        .order_by(Org.path)
    )
    return [(r.code, r.name_en if lang == "en" else r.name_zh) for r in rows]


def _within(stmt: Any, scope: Scope) -> Any:
    """Restrict a complaint query to the scope's org path prefix (one indexed prefix match on org)."""
    if scope.path == "/":
        return stmt
    return stmt.join(Org, Org.id == Complaint.org_id).where(Org.path.startswith(scope.path))


def local_day(session: Session, col: Any) -> Any:
    """SQL expression: the Asia/Shanghai calendar day of a UTC timestamp column.

    PostgreSQL converts the timestamptz with AT TIME ZONE (timezone()); SQLite stores naive UTC text and
    shifts it by +8 hours (Asia/Shanghai has had no daylight saving since 1991)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(literal_column("'Asia/Shanghai'"), col), Date)
    return func.date(col, literal_column("'+8 hours'"))


def _as_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def _group_sums(tax: Taxonomy) -> list[tuple[str, Any]]:
    return [
        (
            g.code,
            func.sum(case((Complaint.special_groups.contains(f",{g.code},", autoescape=True), 1), else_=0)),
        )
        for g in tax.leaves("special_groups")
    ]


# ---------------------------------------------------------------- dashboard


@dataclass
class Bar:
    code: str
    label: str
    count: int
    colour: str | None = None


def _bars(items: list[Bar]) -> list[dict[str, Any]]:
    return [
        {"code": b.code, "label": b.label, "count": b.count} | ({"colour": b.colour} if b.colour else {})
        for b in items
    ]


@dataclass
class Kpis:
    """The dashboard's headline figures: open complaints now and decisions in the window."""

    start: date
    end: date
    days: int
    org_code: str | None
    institution: str
    open_total: int
    due_soon: int
    overdue: int
    contact_overdue: int
    decided: int
    decided_on_time: int
    open_by_status: list[Bar]

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.decided_on_time, self.decided)

    def kpi_dict(self) -> dict[str, Any]:
        return {
            "open": self.open_total,
            "due_soon": self.due_soon,
            "overdue": self.overdue,
            "contact_overdue": self.contact_overdue,
            "decided": self.decided,
            "decided_on_time": self.decided_on_time,
            "on_time_rate": self.on_time_rate,
        }


@dataclass
class Dashboard(Kpis):
    received: int = 0
    by_status: list[Bar] = field(default_factory=list)
    trend: list[dict[str, Any]] = field(default_factory=list)
    by_branch: list[Bar] = field(default_factory=list)
    by_cause: list[Bar] = field(default_factory=list)
    by_line: list[Bar] = field(default_factory=list)
    special_groups: list[Bar] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days},
            "org": self.org_code,
            "institution": self.institution,
            "kpi": self.kpi_dict() | {"received": self.received},
            "open_by_status": _bars(self.open_by_status),
            "by_status": _bars(self.by_status),
            "trend": self.trend,
            "by_branch": _bars(self.by_branch),
            "by_cause": _bars(self.by_cause),
            "by_line": _bars(self.by_line),
            "special_groups": _bars(self.special_groups),
        }


def _status_bars(counts: Mapping[str, int], lang: str) -> list[Bar]:
    out = []
    for s in Status:
        if counts.get(s.value):
            zh, en, colour = STATUS_META[s]
            out.append(Bar(s.value, en if lang == "en" else zh, counts[s.value], colour))
    return out


def _rollup(counts: Iterable[tuple[str, int]], key: Any, order: list[str], label: Any) -> list[Bar]:
    acc: dict[str, int] = {}
    for code, n in counts:
        k = key(code)
        acc[k] = acc.get(k, 0) + n
    return [Bar(k, label(k), acc[k]) for k in _ordered(acc, order) if acc[k]]


def _window(now: datetime, days: int) -> tuple[date, date]:
    if not 1 <= days <= 366:
        raise ValidationFailed(
            [FieldProblem("days", "统计天数须在 1 到 366 之间", "days must be between 1 and 366")]
        )
    end = now.astimezone(CN_TZ).date()
    return end - timedelta(days=days - 1), end


def _open_counts(
    session: Session, scope: Scope, now: datetime, due_soon: timedelta
) -> tuple[dict[str, int], int, int, int]:
    """Open complaints by status with (overdue, due soon, contact overdue) counts, under the same
    conditions as the complaint list's `due` filter so a KPI and its list agree."""
    stmt = (
        select(
            Complaint.status,
            func.count(),
            func.sum(case((Complaint.regulatory_due < now, 1), else_=0)),
            func.sum(
                case(
                    ((Complaint.regulatory_due >= now) & (Complaint.regulatory_due < now + due_soon), 1),
                    else_=0,
                )
            ),
            func.sum(
                case((Complaint.first_contact_at.is_(None) & (Complaint.contact_due < now), 1), else_=0)
            ),
        )
        .where(Complaint.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(Complaint.status)
    )
    counts: dict[str, int] = {}
    overdue = soon = contact = 0
    for status, n, o, s_, c_ in session.execute(_within(stmt, scope)):
        counts[status] = n
        overdue += o or 0
        soon += s_ or 0
        contact += c_ or 0
    return counts, overdue, soon, contact


def _decided_by_day(
    session: Session, scope: Scope, lo: datetime, hi: datetime
) -> list[tuple[date, int, int]]:
    """(local day, decided, decided on time) for decisions in [lo, hi)."""
    day = local_day(session, Complaint.decided_at)
    stmt = (
        select(day, func.count(), func.sum(case((Complaint.on_time.is_(True), 1), else_=0)))
        .where(Complaint.decided_at >= lo, Complaint.decided_at < hi)
        .group_by(day)
    )
    return [(_as_date(d), n, ok or 0) for d, n, ok in session.execute(_within(stmt, scope))]


def kpis(
    session: Session,
    who: Principal,
    now: datetime,
    *,
    org_code: str | None = None,
    days: int = 90,
    due_soon: timedelta = timedelta(days=3),
    lang: str = "zh",
) -> Kpis:
    """The headline figures alone (for the page's cards; the charts fetch `dashboard`)."""
    lang = _lang(lang)
    start, end = _window(now, days)
    scope = resolve_scope(session, who, org_code)
    counts, overdue, soon, contact = _open_counts(session, scope, now, due_soon)
    decided = _decided_by_day(session, scope, *period_bounds(start, end))
    return Kpis(
        start=start,
        end=end,
        days=days,
        org_code=org_code,
        institution=scope.institution(lang),
        open_total=sum(counts.values()),
        due_soon=soon,
        overdue=overdue,
        contact_overdue=contact,
        decided=sum(d[1] for d in decided),
        decided_on_time=sum(d[2] for d in decided),
        open_by_status=_status_bars(counts, lang),
    )


def dashboard(
    session: Session,
    who: Principal,
    now: datetime,
    *,
    org_code: str | None = None,
    days: int = 90,
    due_soon: timedelta = timedelta(days=3),
    lang: str = "zh",
) -> Dashboard:
    """Dashboard figures for the caller's scope (or an org inside it) over the last `days` local days:
    open complaints now, and complaints received / decided in the window."""
    lang = _lang(lang)
    start, end = _window(now, days)
    tax = load_taxonomy()
    scope = resolve_scope(session, who, org_code)
    lo, hi = period_bounds(start, end)
    open_counts, overdue, soon, contact = _open_counts(session, scope, now, due_soon)

    # received in the window: one grouped scan by org, line, cause and status, with special-group sums.
    # Merged repeats show in the status breakdown only: they are not counted as complaints again.
    recv = (Complaint.received_at >= lo) & (Complaint.received_at < hi)
    sums = _group_sums(tax)
    stmt = (
        select(
            Complaint.org_id,
            Complaint.business_line,
            Complaint.cause,
            Complaint.status,
            func.count(),
            *[s for _, s in sums],
        )
        .where(recv)
        .group_by(Complaint.org_id, Complaint.business_line, Complaint.cause, Complaint.status)
    )
    grouped = [tuple(r) for r in session.execute(_within(stmt, scope))]
    by_status: dict[str, int] = {}
    group_counts = {code: 0 for code, _ in sums}
    buckets: dict[str, tuple[Bucket, int]] = {}
    for org_id, _line, _cause, status, n, *gs in grouped:
        by_status[status] = by_status.get(status, 0) + n
        if status == Status.MERGED:
            continue  # a merged repeat is not another complaint
        for (code, _), v in zip(sums, gs, strict=True):
            group_counts[code] += int(v or 0)
        b = scope.bucket(org_id)
        if b is not None:
            prev = buckets.get(b.code)
            buckets[b.code] = (b, (prev[1] if prev else 0) + n)
    by_branch = [
        Bar(b.code, b.label(lang), n)
        for b, n in sorted(buckets.values(), key=lambda bn: (-bn[1], not bn[0].own, _path_key(bn[0].path)))
    ]
    cause_roots = [t.code for t in tax.roots("causes")]
    line_roots = [t.code for t in tax.roots("business_lines")]
    counted = [r for r in grouped if r[3] != Status.MERGED]
    by_cause = _rollup(
        ((r[2], r[4]) for r in counted),
        lambda c: root_code(tax, "causes", c),
        cause_roots,
        lambda c: tax.label("causes", c, lang),
    )
    by_line = _rollup(
        ((r[1], r[4]) for r in counted),
        lambda c: root_code(tax, "business_lines", c),
        line_roots,
        lambda c: tax.label("business_lines", c, lang),
    )
    special = [Bar(code, tax.label("special_groups", code, lang), n) for code, n in group_counts.items()]

    # daily trend in Asia/Shanghai days
    trend = {start + timedelta(days=i): {"received": 0, "decided": 0} for i in range(days)}
    day = local_day(session, Complaint.received_at)
    stmt = select(day, func.count()).where(recv, Complaint.status != Status.MERGED).group_by(day)
    for d, n in session.execute(_within(stmt, scope)):
        trend[_as_date(d)]["received"] = n
    decided = _decided_by_day(session, scope, lo, hi)
    for d, n, _ok in decided:
        trend[d]["decided"] = n

    return Dashboard(
        start=start,
        end=end,
        days=days,
        org_code=org_code,
        institution=scope.institution(lang),
        open_total=sum(open_counts.values()),
        due_soon=soon,
        overdue=overdue,
        contact_overdue=contact,
        decided=sum(d[1] for d in decided),
        decided_on_time=sum(d[2] for d in decided),
        open_by_status=_status_bars(open_counts, lang),
        received=sum(r[4] for r in counted),
        by_status=_status_bars(by_status, lang),
        trend=[{"day": d.isoformat(), **v} for d, v in sorted(trend.items())],
        by_branch=by_branch,
        by_cause=by_cause,
        by_line=by_line,
        special_groups=special,
    )


# ---------------------------------------------------------------- regulator report


@dataclass
class Counts:
    received: int = 0
    decided: int = 0
    on_time: int = 0
    regulator: int = 0
    groups: dict[str, int] = field(default_factory=dict)

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.on_time, self.decided)

    def add(self, other: Counts) -> None:
        self.received += other.received
        self.decided += other.decided
        self.on_time += other.on_time
        self.regulator += other.regulator
        for k, v in other.groups.items():
            self.groups[k] = self.groups.get(k, 0) + v

    def to_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "decided": self.decided,
            "on_time": self.on_time,
            "on_time_rate": self.on_time_rate,
            "regulator": self.regulator,
            "special_groups": dict(self.groups),
        }


@dataclass
class ReportRow:
    line: str
    line_label: str
    cause: str
    cause_label: str
    branch: str
    branch_label: str
    counts: Counts


@dataclass
class Breakdown:
    code: str
    label: str
    counts: Counts


@dataclass
class RateRow:
    """万张保单投诉量 for one branch × line (line '' = all lines of the branch; branch '' = all branches)."""

    branch: str
    branch_label: str
    line: str
    line_label: str
    received: int
    policies: int | None
    per_10k: float | None
    partial: bool = False
    """Totals only: some lines with complaints have no policy count and are left out of this row."""


@dataclass
class RegulatorReport:
    start: date
    end: date
    lang: str
    institution: str
    org_code: str | None
    generated_at: datetime
    generated_by: str
    policy_year: int
    special_groups: list[tuple[str, str]]
    rows: list[ReportRow]
    totals: Counts
    by_branch: list[Breakdown]
    by_cause: list[Breakdown]
    by_line: list[Breakdown]
    rates: list[RateRow]

    @property
    def has_policy_counts(self) -> bool:
        return any(r.policies for r in self.rates)

    def to_dict(self) -> dict[str, Any]:
        def bd(items: list[Breakdown]) -> list[dict[str, Any]]:
            return [{"code": b.code, "label": b.label, **b.counts.to_dict()} for b in items]

        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "institution": self.institution,
            "org": self.org_code,
            "generated_at": self.generated_at.isoformat(),
            "generated_by": self.generated_by,
            "policy_year": self.policy_year,
            "special_groups": [{"code": c, "label": lbl} for c, lbl in self.special_groups],
            "rows": [
                {
                    "line": r.line,
                    "line_label": r.line_label,
                    "cause": r.cause,
                    "cause_label": r.cause_label,
                    "branch": r.branch,
                    "branch_label": r.branch_label,
                    **r.counts.to_dict(),
                }
                for r in self.rows
            ],
            "totals": self.totals.to_dict(),
            "by_branch": bd(self.by_branch),
            "by_cause": bd(self.by_cause),
            "by_line": bd(self.by_line),
            "rates": [
                {
                    "branch": r.branch,
                    "branch_label": r.branch_label,
                    "line": r.line,
                    "line_label": r.line_label,
                    "received": r.received,
                    "policies": r.policies,
                    "per_10k": r.per_10k,
                    "partial": r.partial,
                }
                for r in self.rates
            ],
        }


def regulator_report(
    session: Session,
    who: Principal,
    start: date,
    end: date,
    lang: str = "zh",
    *,
    org_code: str | None = None,
    now: datetime | None = None,
) -> RegulatorReport:
    """Counts by business line (motor split into 交强险/商业险) × cause (top level) × branch for a period of
    local dates (both included): received, decided, decided on time, special groups, regulator-forwarded;
    with totals, breakdowns and 万张保单投诉量 where policy counts are loaded for the period's year.

    A repeat merged into an earlier complaint (status merged) is not counted again (Order 2020 No.3: a repeat
    inside the handling period is merged); withdrawn complaints were received and count."""
    if end < start:
        raise ValidationFailed(
            [FieldProblem("end", "结束日期不能早于开始日期", "end must not be before start")]
        )
    lang = _lang(lang)
    tax = load_taxonomy()
    scope = resolve_scope(session, who, org_code)
    lo, hi = period_bounds(start, end)
    group_codes = [t.code for t in tax.leaves("special_groups")]
    regulator_channels = sorted(tax.regulator_channels())

    # (bucket code, report line, root cause) -> Counts
    cells: dict[tuple[str, str, str], Counts] = {}
    bucket_of: dict[str, Bucket] = {}

    def cell(org_id: int, line: str, cause: str) -> Counts | None:
        b = scope.bucket(org_id)
        if b is None:
            return None
        bucket_of[b.code] = b
        key = (b.code, report_line(tax, line), root_code(tax, "causes", cause))
        return cells.setdefault(key, Counts(groups=dict.fromkeys(group_codes, 0)))

    sums = _group_sums(tax)
    recv = (Complaint.received_at >= lo) & (Complaint.received_at < hi)
    stmt = (
        select(
            Complaint.org_id,
            Complaint.business_line,
            Complaint.cause,
            func.count(),
            func.sum(case((Complaint.channel.in_(regulator_channels), 1), else_=0)),
            *[s for _, s in sums],
        )
        .where(recv, Complaint.status != Status.MERGED)
        .group_by(Complaint.org_id, Complaint.business_line, Complaint.cause)
    )
    for org_id, line, cause, n, reg, *gs in session.execute(_within(stmt, scope)):
        c = cell(org_id, line, cause)
        if c is not None:
            c.add(
                Counts(
                    received=n,
                    regulator=reg or 0,
                    groups={code: int(v or 0) for (code, _), v in zip(sums, gs, strict=True)},
                )
            )

    dec = (Complaint.decided_at >= lo) & (Complaint.decided_at < hi)
    stmt = (
        select(
            Complaint.org_id,
            Complaint.business_line,
            Complaint.cause,
            func.count(),
            func.sum(case((Complaint.on_time.is_(True), 1), else_=0)),
        )
        .where(dec)
        .group_by(Complaint.org_id, Complaint.business_line, Complaint.cause)
    )
    for org_id, line, cause, n, ok in session.execute(_within(stmt, scope)):
        c = cell(org_id, line, cause)
        if c is not None:
            c.add(Counts(decided=n, on_time=ok or 0))

    lines = line_order(tax)
    causes = [t.code for t in tax.roots("causes")]
    branch_order = [b.code for b in sorted(bucket_of.values(), key=lambda b: (not b.own, _path_key(b.path)))]

    def line_label(code: str) -> str:
        return tax.label("business_lines", code, lang)

    def cause_label(code: str) -> str:
        return tax.label("causes", code, lang)

    def branch_label(code: str) -> str:
        return bucket_of[code].label(lang)

    line_pos = {k: i for i, k in enumerate(lines)}
    cause_pos = {k: i for i, k in enumerate(causes)}
    branch_pos = {k: i for i, k in enumerate(branch_order)}

    def row_key(k: tuple[str, str, str]) -> tuple[Any, ...]:
        br, ln, ca = k
        return (line_pos.get(ln, len(line_pos)), ln, cause_pos.get(ca, len(cause_pos)), ca, branch_pos[br])

    rows = [
        ReportRow(ln, line_label(ln), ca, cause_label(ca), br, branch_label(br), cells[(br, ln, ca)])
        for br, ln, ca in sorted(cells, key=row_key)
    ]

    def breakdown(pos: int, order: list[str], label: Any) -> list[Breakdown]:
        acc: dict[str, Counts] = {}
        for key, c in cells.items():
            acc.setdefault(key[pos], Counts(groups=dict.fromkeys(group_codes, 0))).add(c)
        return [Breakdown(k, label(k), acc[k]) for k in _ordered(acc, order)]

    totals = Counts(groups=dict.fromkeys(group_codes, 0))
    for c in cells.values():
        totals.add(c)

    # 万张保单投诉量: policies of the period's (end) year, summed up each branch's subtree
    policy_year = end.year
    policies: dict[tuple[str, str], int] = {}
    stmt = (
        select(PolicyCount.org_id, PolicyCount.business_line, func.sum(PolicyCount.policies))
        .where(PolicyCount.year == policy_year)
        .group_by(PolicyCount.org_id, PolicyCount.business_line)
    )
    for org_id, line, n in session.execute(stmt):
        b = scope.bucket(org_id)
        if b is None:
            continue
        bucket_of.setdefault(b.code, b)
        key = (b.code, report_line(tax, line))
        policies[key] = policies.get(key, 0) + int(n or 0)
    branch_order = [b.code for b in sorted(bucket_of.values(), key=lambda b: (not b.own, _path_key(b.path)))]
    received_bl: dict[tuple[str, str], int] = {}
    for (br, ln, _ca), c in cells.items():
        received_bl[(br, ln)] = received_bl.get((br, ln), 0) + c.received
    rates = _rates(received_bl, policies, branch_order, lines, branch_label, line_label, lang)

    return RegulatorReport(
        start=start,
        end=end,
        lang=lang,
        institution=scope.institution(lang),
        org_code=org_code,
        generated_at=now or datetime.now(UTC),
        generated_by=who.label,
        policy_year=policy_year,
        special_groups=[(c, tax.label("special_groups", c, lang)) for c in group_codes],
        rows=rows,
        totals=totals,
        by_branch=breakdown(0, branch_order, branch_label),
        by_cause=breakdown(2, causes, cause_label),
        by_line=breakdown(1, lines, line_label),
        rates=rates,
    )


def _rates(
    received: Mapping[tuple[str, str], int],
    policies: Mapping[tuple[str, str], int],
    branch_order: list[str],
    lines: list[str],
    branch_label: Any,
    line_label: Any,
    lang: str,
) -> list[RateRow]:
    """Per branch × line rows, then a per-branch total and a grand total.

    A total divides the complaints of the lines that have a policy count by those policies. When some line
    with complaints has no policy count, the total covers only the loaded lines and says so (`partial`);
    without any policy count it is None (未加载保单数), never 0."""
    all_label = "全部险种" if lang == "zh" else "All lines"
    loaded_label = "已加载保单数的险种" if lang == "zh" else "Lines with policy counts"
    out: list[RateRow] = []
    grand = [0, 0, False]  # complaints in loaded lines, policies, partial

    def total_row(br: str, label: str, recv: int, pol: int, partial: bool) -> RateRow:
        if not pol:
            return RateRow(br, label, "", all_label, recv, None, None)
        return RateRow(
            br,
            label,
            "",
            loaded_label if partial else all_label,
            recv,
            pol,
            per_10k(recv, pol),
            partial=partial,
        )

    branches = _ordered({k[0] for k in received} | {k[0] for k in policies}, branch_order)
    for br in branches:
        all_recv = loaded_recv = pol_sum = 0
        partial = False
        for ln in _ordered(
            {k[1] for k in received if k[0] == br} | {k[1] for k in policies if k[0] == br}, lines
        ):
            n, p = received.get((br, ln), 0), policies.get((br, ln))
            out.append(RateRow(br, branch_label(br), ln, line_label(ln), n, p, per_10k(n, p)))
            all_recv += n
            if p:
                loaded_recv += n
                pol_sum += p
            elif n:
                partial = True
        out.append(total_row(br, branch_label(br), loaded_recv if pol_sum else all_recv, pol_sum, partial))
        grand[0] += loaded_recv if pol_sum else 0
        grand[1] += pol_sum
        grand[2] = grand[2] or partial or not pol_sum and all_recv > 0
    if branches:
        total_recv = sum(received.values())
        out.append(
            total_row(
                "",
                "合计" if lang == "zh" else "Total",
                grand[0] if grand[1] else total_recv,
                int(grand[1]),
                bool(grand[2]),
            )
        )
    return out


# ---------------------------------------------------------------- .xlsx export (Chinese columns)


def regulator_xlsx(report: RegulatorReport) -> bytes:
    """The regulator report as an .xlsx workbook: a header block on every sheet, then the detail
    (line × cause × branch), a summary by branch, a sheet by cause, one by line and 万张保单投诉量.
    The workbook is in Chinese: build the report with lang="zh"."""
    if report.lang != "zh":
        raise ValueError("regulator_xlsx needs a report built with lang='zh' (the workbook is in Chinese)")
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    groups = report.special_groups
    tax = load_taxonomy()
    group_zh = [tax.label("special_groups", c, "zh") for c, _ in groups]
    count_cols = [
        "受理件数",
        "办结件数",
        "按时办结件数",
        "按时办结率",
        *[f"{g}件数" for g in group_zh],
        "监管转办件数",
    ]
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE7F3")

    def counts_cells(c: Counts) -> list[Any]:
        return [
            c.received,
            c.decided,
            c.on_time,
            "—" if c.on_time_rate is None else c.on_time_rate,
            *[c.groups.get(k, 0) for k, _ in groups],
            c.regulator,
        ]

    def header_block(ws: Any, title: str) -> int:
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append(["机构", report.institution])
        ws.append(["统计期间", f"{report.start.isoformat()} 至 {report.end.isoformat()}"])
        ws.append(
            ["生成时间", report.generated_at.astimezone(CN_TZ).strftime("%Y-%m-%d %H:%M:%S") + " (北京时间)"]
        )
        ws.append(["生成人", report.generated_by])
        ws.append([])
        return ws.max_row + 1

    def table(ws: Any, columns: list[str], rows: list[list[Any]], total: list[Any] | None) -> None:
        ws.append(columns)
        hr = ws.max_row
        for i in range(1, len(columns) + 1):
            cell = ws.cell(row=hr, column=i)
            cell.font = bold
            cell.fill = head_fill
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
        for r in rows:
            ws.append(r)
        if total is not None:
            ws.append(total)
            for i in range(1, len(total) + 1):
                ws.cell(row=ws.max_row, column=i).font = bold
        ws.freeze_panes = ws.cell(row=hr + 1, column=1)
        formats = {"按时办结率": "0.0%", "万张保单投诉量": "0.0000", "保单数": "#,##0"}
        for i, col in enumerate(columns, start=1):
            if col in formats:
                for (cell,) in ws.iter_rows(min_row=hr + 1, min_col=i, max_col=i):
                    if isinstance(cell.value, int | float):
                        cell.number_format = formats[col]
            ws.column_dimensions[get_column_letter(i)].width = max(10, min(28, len(col) * 2 + 4))

    wb = Workbook()
    ws = wb.active
    ws.title = "明细"
    header_block(ws, "保险消费投诉统计明细（险种 × 投诉原因 × 机构）")
    table(
        ws,
        ["险种", "投诉原因", "机构", *count_cols],
        [
            [
                tax.label("business_lines", r.line, "zh"),
                tax.label("causes", r.cause, "zh"),
                r.branch_label,
                *counts_cells(r.counts),
            ]
            for r in report.rows
        ],
        ["合计", "", "", *counts_cells(report.totals)],
    )

    ws = wb.create_sheet("按机构汇总")
    header_block(ws, "按机构汇总")
    table(
        ws,
        ["机构", *count_cols],
        [[b.label, *counts_cells(b.counts)] for b in report.by_branch],
        ["合计", *counts_cells(report.totals)],
    )

    ws = wb.create_sheet("按投诉原因")
    header_block(ws, "按投诉原因汇总")
    table(
        ws,
        ["投诉原因", *count_cols],
        [[tax.label("causes", b.code, "zh"), *counts_cells(b.counts)] for b in report.by_cause],
        ["合计", *counts_cells(report.totals)],
    )

    ws = wb.create_sheet("按险种")
    header_block(ws, "按险种汇总")
    table(
        ws,
        ["险种", *count_cols],
        [[tax.label("business_lines", b.code, "zh"), *counts_cells(b.counts)] for b in report.by_line],
        ["合计", *counts_cells(report.totals)],
    )

    ws = wb.create_sheet("万张保单投诉量")
    header_block(ws, f"万张保单投诉量（保单数年度：{report.policy_year}）")
    rate_rows = []
    for r in report.rates:
        line = tax.label("business_lines", r.line, "zh") if r.line else r.line_label
        rate_rows.append(
            [
                r.branch_label,
                line,
                r.received,
                r.policies if r.policies is not None else NO_POLICY_ZH,
                r.per_10k if r.per_10k is not None else NO_POLICY_ZH,
            ]
        )
    table(ws, ["机构", "险种", "受理件数", "保单数", "万张保单投诉量"], rate_rows, None)
    ws.append([])
    ws.append(
        [
            "说明：分母为统计期间结束年度的保单数，机构保单数按下级机构合计；"
            "“已加载保单数的险种”合计行只含已加载保单数的险种。"
        ]
    )

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
