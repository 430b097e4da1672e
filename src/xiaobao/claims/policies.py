"""Policy table import (.csv in UTF-8 or GB18030, or .xlsx; English or Chinese headers) with a per-row report:
bad rows are reported with their row number and field, good rows are kept (an existing policy number is
updated). Intake then looks policies up by number or plate."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import Org
from xiaobao.claims.domain import LINES
from xiaobao.claims.services import PLATE_RE, normalise_plate
from xiaobao.claims.tables import Policy
from xiaobao.core import audit
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import FieldProblem, Forbidden, ImportRowError

HEADERS: dict[str, tuple[str, ...]] = {
    "policy_no": ("policy_no", "保单号"),
    "line": ("line", "险种"),
    "holder_name": ("holder_name", "投保人", "被保险人"),
    "plate": ("plate", "车牌号"),
    "property_address": ("property_address", "标的地址"),
    "district_code": ("district_code", "区县代码"),
    "org_code": ("org_code", "机构代码"),
    "valid_from": ("valid_from", "起保日期"),
    "valid_to": ("valid_to", "终保日期"),
    "sum_insured": ("sum_insured", "保额"),
}
REQUIRED = ("policy_no", "line", "holder_name", "valid_from", "valid_to")
LINE_ALIASES = {"车险": "motor", "财产险": "property", "农险": "agriculture"}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[ImportRowError] = field(default_factory=list)


class PolicyFileError(ValueError):
    pass


def read_rows(name: str, raw: bytes) -> list[list[str]]:
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises several types for a broken file
            raise PolicyFileError(f"不是有效的 .xlsx 文件 / not a readable .xlsx file ({e})") from e
        ws = wb.worksheets[0]
        rows = [
            ["" if v is None else (v.date().isoformat() if isinstance(v, datetime) else str(v)) for v in r]
            for r in ws.iter_rows(values_only=True)
        ]
        wb.close()
        return rows
    if suffix != ".csv":
        raise PolicyFileError("仅支持 .csv 或 .xlsx / expected .csv or .xlsx")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover
        raise PolicyFileError("编码无法识别 / unknown encoding")
    return list(csv.reader(io.StringIO(text)))


def _date(v: str) -> date:
    return date.fromisoformat(v.strip().replace("/", "-")[:10])


def import_policies(session: Session, who: Principal, name: str, raw: bytes, now: datetime) -> ImportReport:
    """Needs Perm.CAT_COMMAND (claims operations management loads the policy extract)."""
    if not who.can(Perm.CAT_COMMAND):
        raise Forbidden()
    rows = read_rows(name, raw)
    rep = ImportReport()
    if not rows:
        raise PolicyFileError("文件为空 / the file is empty")
    alias = {a.lower(): k for k, names in HEADERS.items() for a in names}
    cols = {alias[h.strip().lower()]: i for i, h in enumerate(rows[0]) if h.strip().lower() in alias}
    missing = [k for k in REQUIRED if k not in cols]
    if missing:
        raise PolicyFileError(f"缺少列 / missing columns: {', '.join(missing)}")
    orgs = {o.code: o.id for o in session.scalars(select(Org))}
    seen: set[str] = set()
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue

        def get(k: str, row: list[str] = row) -> str:
            i = cols.get(k)
            return row[i].strip() if i is not None and i < len(row) else ""

        problems: list[FieldProblem] = []
        for k in REQUIRED:
            if not get(k):
                problems.append(FieldProblem(k, "必填", "required"))
        line = LINE_ALIASES.get(get("line"), get("line"))
        if get("line") and line not in LINES:
            problems.append(
                FieldProblem("line", f"未知险种「{get('line')}」", f"unknown line {get('line')!r}")
            )
        plate = normalise_plate(get("plate"))
        if plate and not PLATE_RE.match(plate):
            problems.append(FieldProblem("plate", f"车牌号「{get('plate')}」格式不正确", "invalid plate"))
        vf = vt = None
        try:
            vf = _date(get("valid_from")) if get("valid_from") else None
            vt = _date(get("valid_to")) if get("valid_to") else None
        except ValueError:
            problems.append(FieldProblem("valid_from", "日期格式应为 YYYY-MM-DD", "dates must be YYYY-MM-DD"))
        if vf and vt and vt < vf:
            problems.append(FieldProblem("valid_to", "终保日期早于起保日期", "valid_to is before valid_from"))
        si = None
        if get("sum_insured"):
            try:
                si = Decimal(get("sum_insured").replace(",", ""))
            except InvalidOperation:
                problems.append(FieldProblem("sum_insured", "保额须为数字", "sum_insured must be a number"))
        org_id = None
        if get("org_code"):
            org_id = orgs.get(get("org_code"))
            if org_id is None:
                problems.append(FieldProblem("org_code", f"机构「{get('org_code')}」不存在", "unknown org"))
        dc = get("district_code")
        if dc and not (dc.isdigit() and len(dc) == 6):
            problems.append(
                FieldProblem("district_code", "区县代码须为6位数字", "district_code must be 6 digits")
            )
        pno = get("policy_no")
        if pno in seen:
            problems.append(
                FieldProblem("policy_no", "文件中保单号重复", "policy number repeated in the file")
            )
        if problems:
            rep.errors.append(ImportRowError(n, problems))
            continue
        assert vf is not None and vt is not None
        seen.add(pno)
        p = session.scalar(select(Policy).where(Policy.policy_no == pno))
        if p is None:
            p = Policy(policy_no=pno, imported_at=now)
            session.add(p)
            rep.created += 1
        else:
            rep.updated += 1
        p.line = line
        p.holder_name = get("holder_name")
        p.plate = plate
        p.property_address = get("property_address") or None
        p.district_code = dc or None
        p.org_id = org_id
        p.valid_from = datetime.combine(vf, time.min, tzinfo=CN_TZ)
        p.valid_to = datetime.combine(vt, time.max, tzinfo=CN_TZ)
        p.sum_insured = si
        p.imported_at = now
    session.flush()
    audit.record(
        session,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim_policy.import",
        entity_type="claim_policy",
        entity_id=None,
        after={"file": name, "created": rep.created, "updated": rep.updated, "errors": len(rep.errors)},
        ip=who.ip,
    )
    return rep
