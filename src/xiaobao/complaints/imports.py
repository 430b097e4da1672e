"""Bulk import of regulator-forwarded complaints (监管转办) from .xlsx or .csv files, with a per-row report.

The file is read completely first (size, format, header and row limits are file-level errors: nothing is
imported). Then every row goes through the same intake rules as any other complaint
(`services.validate_intake` / `services.create_complaint`): a bad row is reported with its Excel row number
and each problem, the good rows are imported, each in its own transaction. A row whose 转办编号
(regulator_ref) is already registered, or was imported from an earlier row of the same file, is reported
as a duplicate, so a rerun of the same file, or of a half-imported one, creates nothing twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import Org
from xiaobao.complaints import services
from xiaobao.complaints.events import ComplaintReceived
from xiaobao.complaints.schemas import ComplaintCreate
from xiaobao.complaints.tables import Complaint
from xiaobao.complaints.taxonomy import Taxonomy, Term, load_taxonomy
from xiaobao.core import audit
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import FieldProblem, Forbidden, ValidationFailed, XiaobaoError
from xiaobao.web.validation import bilingual_problem

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 10_000
MB = MAX_BYTES // (1024 * 1024)
MAX_COLUMNS = 64
MAX_UNZIPPED_BYTES = 256 * 1024 * 1024
"""An .xlsx is a zip: refuse one that would inflate beyond this (zip bomb)."""
HEADER_SEARCH_ROWS = 10
"""Regulators' exports sometimes put a title above the header row: look this far for it."""
EXAMPLE_PREFIX = "示例"
CHANNEL = "regulator"

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportFileError(XiaobaoError):
    """The file as a whole cannot be imported (format, encoding, size, header): nothing was imported."""

    status_code = 422
    code = "import_file_invalid"


class ImportFileTooLarge(ImportFileError):
    status_code = 413
    code = "import_file_too_large"


# ---------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    field: str
    zh: str
    en: str
    required: bool
    aliases: tuple[str, ...] = ()
    hint_zh: str = ""
    hint_en: str = ""


COLUMNS: tuple[Column, ...] = (
    Column(
        "regulator_ref",
        "转办编号",
        "Regulator reference",
        True,
        ("监管转办编号", "转办单号", "工单编号"),
        "监管转办单上的编号，同一编号只导入一次",
        "The regulator's reference; each is imported once",
    ),
    Column(
        "complainant_name",
        "投诉人",
        "Complainant",
        True,
        ("投诉人姓名", "姓名", "name"),
        "投诉人姓名",
        "Complainant's name",
    ),
    Column(
        "id_number",
        "证件号码",
        "ID number",
        False,
        ("身份证号", "身份证号码", "证件号"),
        "18位居民身份证号，可空；请设为文本格式",
        "18-character resident ID, optional; keep it as text",
    ),
    Column(
        "phone",
        "联系电话",
        "Phone",
        True,
        ("电话", "手机号", "手机号码", "联系方式"),
        "11位手机号或带区号的固定电话",
        "11-digit mobile or landline with area code",
    ),
    Column("policy_no", "保单号", "Policy number", False, ("保单号码",), "可空", "optional"),
    Column("claim_no", "赔案号", "Claim number", False, ("赔案号码",), "可空", "optional"),
    Column(
        "org_code",
        "承办机构",
        "Handling org",
        False,
        ("机构", "承办单位", "org"),
        "机构代码或机构全称（如 泉州中心支公司）；空则为导入人所在机构",
        "org code or full name (e.g. 泉州中心支公司); blank: the importer's org",
    ),
    Column(
        "business_line",
        "险种",
        "Business line",
        True,
        (),
        "险种名称或代码（如 商业险）",
        "business line label or code (e.g. 商业险)",
    ),
    Column(
        "cause",
        "投诉原因",
        "Cause",
        True,
        ("投诉事由",),
        "二级投诉原因名称或代码（如 理赔金额/定损争议）",
        "leaf cause label or code",
    ),
    Column(
        "demand",
        "诉求",
        "Demand",
        True,
        ("投诉诉求",),
        "诉求名称或代码（如 要求赔付）",
        "demand label or code (e.g. 要求赔付)",
    ),
    Column(
        "description",
        "投诉内容",
        "Description",
        True,
        ("投诉事项", "投诉详情"),
        "投诉事项的完整描述",
        "the complaint in full",
    ),
    Column(
        "received_at",
        "接收时间",
        "Received at",
        True,
        ("转办时间", "received"),
        "如 2026-03-02 10:00 或 2026/3/2 10:00（北京时间）",
        "e.g. 2026-03-02 10:00 or 2026/3/2 10:00 (Beijing time)",
    ),
)
COLUMN_BY_FIELD = {c.field: c for c in COLUMNS}
ROW_NO_HEADER = "原行号"
ERROR_HEADER = "错误说明"
REPORT_HEADERS = (ROW_NO_HEADER, ERROR_HEADER)
"""Columns our own fix-file adds; ignored (silently) when the officer uploads it again."""


def _norm_header(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value or "")).strip().lower()
    text = re.sub(r"[\s*]", "", text)
    return re.sub(r"\((必填|选填|可空|required|optional)\)$", "", text)


_HEADER_INDEX: dict[str, str] = {}
for _c in COLUMNS:
    for _name in (_c.zh, _c.field, *_c.aliases):
        _HEADER_INDEX[_norm_header(_name)] = _c.field


def column_label(field_name: str, lang: str = "zh") -> str:
    col = COLUMN_BY_FIELD.get(field_name)
    if col is None:
        return field_name
    return col.zh if lang == "zh" else col.en


# ---------------------------------------------------------------- reading the file


@dataclass
class SourceRow:
    row: int
    """Row number as Excel shows it (the header is row 1 in the usual layout)."""
    cells: tuple[Any, ...]


@dataclass
class ParsedFile:
    kind: str  # xlsx | csv
    headers: list[str]
    header_row: int
    columns: dict[str, int]
    """field -> column index"""
    ignored_columns: list[str]
    rows: list[SourceRow]


def read_table(
    filename: str, data: bytes, *, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES
) -> ParsedFile:
    """Parse an uploaded .xlsx or .csv into header and rows.

    Raises `ImportFileError` for any file-level problem."""
    if len(data) > max_bytes:
        raise ImportFileTooLarge(
            f"文件超过 {max_bytes // (1024 * 1024)} MB 上限，请拆分后分批导入",
            f"The file is larger than the {max_bytes // (1024 * 1024)} MB limit; "
            "split it and import in parts",
        )
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        hint_zh = "（.xls 文件请在 Excel 中另存为 .xlsx）" if suffix == ".xls" else ""
        hint_en = " (save .xls files as .xlsx in Excel)" if suffix == ".xls" else ""
        raise ImportFileError(
            f"不支持的文件类型「{suffix or filename or '无扩展名'}」：仅支持 .xlsx 和 .csv{hint_zh}",
            f"Unsupported file type {suffix or filename or '(no extension)'!r}: only .xlsx and .csv are "
            f"accepted{hint_en}",
        )
    if not data.strip():
        raise ImportFileError("文件为空", "The file is empty")
    raw_rows = _xlsx_rows(data, max_rows) if suffix == ".xlsx" else _csv_rows(data, max_rows)
    return _with_header(suffix[1:], raw_rows, max_rows)


def _too_many_rows(max_rows: int) -> ImportFileError:
    return ImportFileError(
        f"文件超过每次 {max_rows} 行的上限，请拆分后分批导入（未导入任何数据）",
        f"The file has more than {max_rows} rows, the limit per file; split it and import in parts "
        "(nothing was imported)",
    )


def _blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _xlsx_rows(data: bytes, max_rows: int) -> list[SourceRow]:
    unreadable = ImportFileError(
        "无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式",
        "Cannot read the Excel file: it is damaged or not in .xlsx format",
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            inflated = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise unreadable from e
    if inflated > MAX_UNZIPPED_BYTES:
        raise ImportFileError(
            "Excel 文件解压后过大，无法导入", "The Excel file inflates to an excessive size"
        )
    import openpyxl

    rows: list[SourceRow] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it does not read
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many types for damaged files
            raise unreadable from e
        try:
            if not wb.worksheets:
                raise ImportFileError("Excel 文件中没有工作表", "The Excel file has no worksheet")
            ws = wb.worksheets[0]
            ws.reset_dimensions()  # some writers record wrong dimensions; read what is there
            data_rows = 0
            for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = tuple(values[:MAX_COLUMNS])
                if _blank(cells):
                    continue
                rows.append(SourceRow(n, cells))
                data_rows += 1
                if data_rows > max_rows + HEADER_SEARCH_ROWS:
                    break
        except ImportFileError:
            raise
        except Exception as e:
            raise unreadable from e
        finally:
            wb.close()
    return rows


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(
        "无法识别 CSV 文件的编码（支持 UTF-8 和 GBK/GB18030）",
        "Cannot decode the CSV file (UTF-8 and GBK/GB18030 are supported)",
    )


def _csv_rows(data: bytes, max_rows: int) -> list[SourceRow]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    rows: list[SourceRow] = []
    try:
        for n, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            cells = tuple(record[:MAX_COLUMNS])
            if _blank(cells):
                continue
            rows.append(SourceRow(n, cells))
            if len(rows) > max_rows + HEADER_SEARCH_ROWS:
                break
    except csv.Error as e:
        raise ImportFileError(f"CSV 文件格式错误：{e}", f"Malformed CSV file: {e}") from e
    return rows


def _with_header(kind: str, rows: list[SourceRow], max_rows: int) -> ParsedFile:
    if not rows:
        raise ImportFileError("文件中没有任何内容", "The file has no content")
    ref_names = {k for k, v in _HEADER_INDEX.items() if v == "regulator_ref"}
    at = 0
    for i, r in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(_norm_header(c) in ref_names for c in r.cells):
            at = i
            break
    header = rows[at]
    headers = ["" if c is None else str(c).strip() for c in header.cells]
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for idx, name in enumerate(headers):
        if not name:
            continue
        fld = _HEADER_INDEX.get(_norm_header(name))
        if fld is not None and fld not in columns:
            columns[fld] = idx
        elif name not in REPORT_HEADERS:
            ignored.append(name)
    missing = [c for c in COLUMNS if c.required and c.field not in columns]
    if missing:
        raise ImportFileError(
            "缺少必填列：" + "、".join(c.zh for c in missing) + "（请使用导入模板的表头）",
            "Missing required columns: "
            + ", ".join(f"{c.zh} ({c.field})" for c in missing)
            + " (use the header of the import template)",
            problems=[
                FieldProblem(c.field, f"缺少「{c.zh}」列", f"column {c.zh} ({c.field}) is missing")
                for c in missing
            ],
        )
    data_rows = rows[at + 1 :]
    if not data_rows:
        raise ImportFileError("文件中只有表头，没有数据行", "The file has a header but no data rows")
    if len(data_rows) > max_rows:
        raise _too_many_rows(max_rows)
    return ParsedFile(kind, headers, header.row, columns, ignored, data_rows)


# ---------------------------------------------------------------- cell values


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)
    return str(value).strip()


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y%m%d",
)


def parse_received(value: Any) -> datetime | None:
    """An Excel date/datetime, an Excel serial number or text such as ``2026-03-02 10:00``,
    ``2026/3/2 10:00``, ``2026-03-02`` or ``2026年3月2日``.

    Naive values are Beijing time. None if unreadable."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    elif isinstance(value, int | float) and not isinstance(value, bool) and 20000 < value < 80000:
        from openpyxl.utils.datetime import from_excel

        dt = from_excel(value)
    elif isinstance(value, str):
        dt_parsed = _parse_date_text(value)
        if dt_parsed is None:
            return None
        dt = dt_parsed
    else:
        return None
    return dt.replace(tzinfo=CN_TZ) if dt.tzinfo is None else dt


def _parse_date_text(value: str) -> datetime | None:
    text = unicodedata.normalize("NFKC", value).strip()
    text = re.sub(r"(\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?", r"\1-\2-\3", text)
    text = re.sub(r"\s+", " ", text.replace("T", " ") if re.match(r"\d{4}-\d{2}-\d{2}T", text) else text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007 - naive Beijing time, zone added by the caller
        except ValueError:
            continue
    return None


def _norm_label(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower().replace("／", "/")


class _Resolver:
    """Turns what a person types in a spreadsheet (labels, names) into the codes intake expects."""

    def __init__(self, session: Session, tax: Taxonomy) -> None:
        self.tax = tax
        self.labels: dict[str, dict[str, list[Term]]] = {}
        for kind in ("business_lines", "causes", "demands"):
            index: dict[str, list[Term]] = {}
            for t in tax.terms(kind):
                keys = {_norm_label(t.zh), _norm_label(t.en)}
                if t.parent is not None:
                    parent = tax.term(kind, t.parent)
                    keys |= {_norm_label(f"{parent.zh}/{t.zh}"), _norm_label(f"{parent.en}/{t.en}")}
                for k in keys:
                    index.setdefault(k, []).append(t)
            self.labels[kind] = index
        self.orgs = list(session.scalars(select(Org)))
        self.org_codes = {o.code.upper(): o.code for o in self.orgs}
        self.org_names: dict[str, list[str]] = {}
        for o in self.orgs:
            for name in {_org_key(o.name_zh), _org_key(o.name_en)}:
                self.org_names.setdefault(name, []).append(o.code)

    def term(self, fld: str, kind: str, value: str) -> tuple[str, FieldProblem | None]:
        """(code, None) or (value, problem)."""
        if self.tax.is_valid(kind, value):
            t = self.tax.term(kind, value)
        else:
            found = {c.code: c for c in self.labels[kind].get(_norm_label(value), [])}
            if not found:
                return value, FieldProblem(
                    fld,
                    f"「{value}」不在分类表中（可选值见导入模板“可选值”工作表）",
                    f"{value!r} is not in the classification (see the template's value list)",
                )
            if len(found) > 1:
                return value, FieldProblem(
                    fld,
                    f"「{value}」对应多个分类，请填写代码",
                    f"{value!r} matches several entries; use the code",
                )
            t = next(iter(found.values()))
        if not t.is_leaf:
            leaves = [x for x in t.walk() if x.is_leaf]
            if len(leaves) == 1:
                return leaves[0].code, None
            names_zh = "、".join(x.zh for x in leaves)
            names_en = ", ".join(x.en for x in leaves)
            return value, FieldProblem(
                fld,
                f"「{value}」下有多个二级分类，请选择其一：{names_zh}",
                f"{value!r} has several sub-categories; choose one of: {names_en}",
            )
        return t.code, None

    def org(self, value: str) -> tuple[str | None, FieldProblem | None]:
        if not value:
            return None, None
        code = self.org_codes.get(value.upper())
        if code is not None:
            return code, None
        codes = self.org_names.get(_org_key(value), [])
        if len(codes) == 1:
            return codes[0], None
        if len(codes) > 1:
            return value, FieldProblem(
                "org_code",
                f"机构名称「{value}」对应多个机构，请填写机构代码",
                f"org name {value!r} matches several orgs; use the org code",
            )
        return value, None  # unknown: intake validation reports it (unknown or outside scope)


def _org_key(name: str) -> str:
    return _norm_label(name).replace("中心支公司", "中支")


def normalise_ref(value: Any) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", _text(value)))


# ---------------------------------------------------------------- the report


@dataclass
class RowOutcome:
    row: int
    status: str  # imported | duplicate | failed
    regulator_ref: str
    complainant_name: str
    cells: tuple[Any, ...] = ()
    tracking_no: str | None = None
    complaint_id: int | None = None
    duplicate_of_row: int | None = None
    problems: list[FieldProblem] = field(default_factory=list)

    def note(self, lang: str = "zh") -> str:
        if self.status == "duplicate":
            if self.duplicate_of_row is not None:
                return (
                    f"与本文件第 {self.duplicate_of_row} 行的转办编号重复，已跳过"
                    if lang == "zh"
                    else f"same regulator reference as row {self.duplicate_of_row} of this file; skipped"
                )
            if self.tracking_no is None:
                return (
                    "该转办编号已由其他机构登记，已跳过"
                    if lang == "zh"
                    else "already registered by another org; skipped"
                )
            return "该转办编号已登记，已跳过" if lang == "zh" else "already registered; skipped"
        if self.status == "failed":
            return (
                "；".join(f"{column_label(p.field, 'zh')}：{p.zh}" for p in self.problems)
                if lang == "zh"
                else "; ".join(f"{column_label(p.field, 'en')}: {p.en}" for p in self.problems)
            )
        return ""


STATUS_ORDER = {"failed": 0, "duplicate": 1, "imported": 2}
STATUS_LABELS = {
    "imported": ("已导入", "Imported"),
    "duplicate": ("重复，已跳过", "Duplicate, skipped"),
    "failed": ("未导入", "Failed"),
}


@dataclass
class ImportReport:
    filename: str
    sha256: str
    headers: list[str]
    header_row: int
    ignored_columns: list[str]
    outcomes: list[RowOutcome] = field(default_factory=list)
    at: datetime | None = None

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def rows(self) -> int:
        return len(self.outcomes)

    @property
    def imported(self) -> int:
        return self.count("imported")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def failed(self) -> int:
        return self.count("failed")

    def ordered(self) -> list[RowOutcome]:
        """Failed rows first, then duplicates, then imported rows, each in file order."""
        return sorted(self.outcomes, key=lambda o: (STATUS_ORDER[o.status], o.row))

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "failed": self.failed,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of the API. Original cell values come back for failed rows only (to fix them)."""
        out: list[dict[str, Any]] = []
        for o in self.ordered():
            item: dict[str, Any] = {
                "row": o.row,
                "status": o.status,
                "regulator_ref": o.regulator_ref or None,
                "tracking_no": o.tracking_no,
                "complaint_id": o.complaint_id,
                "duplicate_of_row": o.duplicate_of_row,
                "message_zh": o.note("zh"),
                "message_en": o.note("en"),
                "problems": [
                    {
                        "field": p.field,
                        "column": column_label(p.field),
                        "message_zh": p.zh,
                        "message_en": p.en,
                    }
                    for p in o.problems
                ],
            }
            if o.status == "failed":
                item["values"] = {
                    h: _text(o.cells[i]) if i < len(o.cells) else "" for i, h in enumerate(self.headers) if h
                }
            out.append(item)
        return {
            "filename": self.filename,
            "sha256": self.sha256,
            "header_row": self.header_row,
            "ignored_columns": self.ignored_columns,
            **self.counts(),
            "outcomes": out,
        }


# ---------------------------------------------------------------- the import


def import_regulator_complaints(
    uow: UnitOfWork,
    who: Principal,
    filename: str,
    data: bytes,
    ctx: services.IntakeContext,
    *,
    max_rows: int = MAX_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a regulator's file. Raises `Forbidden` without the import permission and `ImportFileError`
    when the file as a whole is unusable (then nothing is imported). Row problems go into the report."""
    if not who.can(Perm.COMPLAINT_IMPORT):
        raise Forbidden(
            "无权导入监管转办投诉", "You are not allowed to import regulator-forwarded complaints"
        )
    filename = PurePath((filename or "").replace("\\", "/")).name[:255]
    parsed = read_table(filename, data, max_rows=max_rows)
    report = ImportReport(
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        headers=parsed.headers,
        header_row=parsed.header_row,
        ignored_columns=parsed.ignored_columns,
        at=ctx.now,
    )
    s = uow.session
    resolver = _Resolver(s, load_taxonomy())
    ref_col = parsed.columns["regulator_ref"]
    refs = [normalise_ref(r.cells[ref_col]) if ref_col < len(r.cells) else "" for r in parsed.rows]
    existing = _existing(s, {r for r in refs if r})
    imported_here: dict[str, RowOutcome] = {}
    total = len(parsed.rows)
    for i, (src, ref) in enumerate(zip(parsed.rows, refs, strict=True), start=1):
        outcome = _import_row(uow, who, ctx, parsed, resolver, src, ref, existing, imported_here)
        report.outcomes.append(outcome)
        if outcome.status == "imported":
            imported_here[ref] = outcome
        if progress is not None:
            progress(i, total)
    audit.record(
        s,
        at=ctx.now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="complaint.import",
        entity_type="complaint_import",
        entity_id=report.sha256[:16],
        ip=who.ip,
        after={"filename": filename, "sha256": report.sha256, "channel": CHANNEL, **report.counts()},
    )
    uow.commit()
    return report


@dataclass(frozen=True)
class _Existing:
    tracking_no: str
    complaint_id: int
    org_path: str


def _existing(s: Session, refs: Iterable[str]) -> dict[str, _Existing]:
    found: dict[str, _Existing] = {}
    pending = sorted(refs)
    for start in range(0, len(pending), 500):
        chunk = pending[start : start + 500]
        stmt = (
            select(Complaint.regulator_ref, Complaint.tracking_no, Complaint.id, Org.path)
            .join(Org, Org.id == Complaint.org_id)
            .where(Complaint.regulator_ref.in_(chunk))
        )
        for ref, tracking_no, cid, path in s.execute(stmt):
            if ref is not None:
                found[ref] = _Existing(tracking_no, cid, path)
    return found


def _lookup_one(s: Session, ref: str) -> _Existing | None:
    return _existing(s, [ref]).get(ref)


def _duplicate(src: SourceRow, ref: str, name: str, who: Principal, hit: _Existing) -> RowOutcome:
    visible = who.sees_path(hit.org_path)  # not even the number leaks outside the importer's scope
    return RowOutcome(
        src.row,
        "duplicate",
        ref,
        name,
        src.cells,
        tracking_no=hit.tracking_no if visible else None,
        complaint_id=hit.complaint_id if visible else None,
    )


def _import_row(
    uow: UnitOfWork,
    who: Principal,
    ctx: services.IntakeContext,
    parsed: ParsedFile,
    resolver: _Resolver,
    src: SourceRow,
    ref: str,
    existing: dict[str, _Existing],
    imported_here: dict[str, RowOutcome],
) -> RowOutcome:
    def cell(fld: str) -> Any:
        idx = parsed.columns.get(fld)
        return src.cells[idx] if idx is not None and idx < len(src.cells) else None

    name = _text(cell("complainant_name"))
    if ref in imported_here:
        first = imported_here[ref]
        return RowOutcome(
            src.row,
            "duplicate",
            ref,
            name,
            src.cells,
            tracking_no=first.tracking_no,
            complaint_id=first.complaint_id,
            duplicate_of_row=first.row,
        )
    if ref in existing:
        return _duplicate(src, ref, name, who, existing[ref])

    problems: list[FieldProblem] = []
    payload: dict[str, Any] = {
        "channel": CHANNEL,
        "regulator_ref": ref or None,
        "special_groups": [],
        "representatives": 1,
        "amount_claimed": None,
    }
    for col in COLUMNS:
        if col.field in ("regulator_ref", "received_at"):
            continue
        value = _text(cell(col.field))
        if col.required and not value:
            problems.append(FieldProblem(col.field, "不能为空", "required"))
        payload[col.field] = value or None
    if not ref:
        problems.insert(0, FieldProblem("regulator_ref", "不能为空", "required"))
    elif ref.startswith(EXAMPLE_PREFIX):
        problems.insert(
            0,
            FieldProblem(
                "regulator_ref",
                "这是导入模板中的示例行，请删除后再导入",
                "this is the template's example row; delete it",
            ),
        )
    if isinstance(cell("id_number"), int | float):
        problems.append(
            FieldProblem(
                "id_number",
                "被 Excel 存成了数字，末几位可能已丢失；请将该列设为文本后重新填写",
                "Excel stored the ID number as a number and may have lost digits; "
                "format the column as text and enter it again",
            )
        )
        payload["id_number"] = None
    for fld, kind in (("business_line", "business_lines"), ("cause", "causes"), ("demand", "demands")):
        if payload.get(fld):
            code, problem = resolver.term(fld, kind, payload[fld])
            payload[fld] = code
            if problem is not None:
                problems.append(problem)
    org_code, problem = resolver.org(payload.get("org_code") or "")
    payload["org_code"] = org_code
    if problem is not None:
        problems.append(problem)
    raw_when = cell("received_at")
    payload["received_at"] = None
    if raw_when is None or (isinstance(raw_when, str) and not raw_when.strip()):
        problems.append(FieldProblem("received_at", "不能为空", "required"))
    else:
        when = parse_received(raw_when)
        if when is None:
            problems.append(
                FieldProblem(
                    "received_at",
                    f"「{_text(raw_when)}」无法识别为日期时间，请使用 2026-03-02 10:00 这样的格式",
                    f"cannot read {_text(raw_when)!r} as a date and time; use e.g. 2026-03-02 10:00",
                )
            )
        else:
            payload["received_at"] = when

    checked_model = False
    if not problems:
        checked_model = True
        try:
            data = ComplaintCreate.model_validate(payload)
        except ValidationError as e:
            problems.extend(bilingual_problem(dict(err)) for err in e.errors())
        else:
            return _create(uow, who, ctx, src, ref, name, data)
    # The row fails: gather the intake rule problems too, so the officer sees all that is wrong at once.
    flagged = {p.field for p in problems}
    try:
        services.validate_intake(uow.session, who, ComplaintCreate.model_construct(**payload), ctx.now)
    except ValidationFailed as e:
        problems.extend(p for p in e.problems if p.field not in flagged)
    if not checked_model:
        try:
            ComplaintCreate.model_validate(payload)
        except ValidationError as e:
            flagged = {p.field for p in problems}
            problems.extend(
                p for p in (bilingual_problem(dict(err)) for err in e.errors()) if p.field not in flagged
            )
    order = {c.field: i for i, c in enumerate(COLUMNS)}
    problems.sort(key=lambda p: order.get(p.field, len(order)))
    return RowOutcome(src.row, "failed", ref, name, src.cells, problems=problems)


def _create(
    uow: UnitOfWork,
    who: Principal,
    ctx: services.IntakeContext,
    src: SourceRow,
    ref: str,
    name: str,
    data: ComplaintCreate,
) -> RowOutcome:
    s = uow.session
    for attempt in range(3):
        try:
            c = services.create_complaint(s, who, data, ctx)
            uow.commit()
        except ValidationFailed as e:  # raised before anything is added to the session
            hit = _lookup_one(s, ref) if any(p.field == "regulator_ref" for p in e.problems) else None
            if hit is not None:  # registered meanwhile by a concurrent import or by hand
                return _duplicate(src, ref, name, who, hit)
            return RowOutcome(src.row, "failed", ref, name, src.cells, problems=list(e.problems))
        except IntegrityError:
            # Someone imported the same reference meanwhile (unique regulator_ref), or, rarely, the random
            # tracking number collided: find out which, and retry only the latter.
            uow.rollback()
            hit = _lookup_one(s, ref)
            if hit is not None:
                return _duplicate(src, ref, name, who, hit)
            if attempt == 2:
                raise
            continue
        uow.emit(ComplaintReceived(c.id))
        return RowOutcome(
            src.row, "imported", ref, name, src.cells, tracking_no=c.tracking_no, complaint_id=c.id
        )
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- workbooks


def _header_style(ws: Any, width: dict[int, int] | None = None) -> None:
    from openpyxl.styles import Font, PatternFill

    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E8EEF7")
    ws.freeze_panes = "A2"
    for idx, w in (width or {}).items():
        from openpyxl.utils import get_column_letter

        ws.column_dimensions[get_column_letter(idx)].width = w


def _save(wb: Any) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def report_workbook(report: ImportReport, lang: str = "zh") -> bytes:
    """The downloadable report: sheet 1 holds the failed rows as uploaded plus their row number and the
    errors (fix them and upload this file again: our two extra columns are ignored); sheet 2 lists every
    row's outcome and new tracking number."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    wb = openpyxl.Workbook()
    fix = wb.active
    fix.title = "待修正行" if lang == "zh" else "Rows to fix"
    headers = list(report.headers)
    fix.append([*headers, ROW_NO_HEADER, ERROR_HEADER])
    width = len(headers)
    for o in report.ordered():
        if o.status != "failed":
            continue
        cells = [_excel_value(v) for v in o.cells[:width]] + [None] * max(0, width - len(o.cells))
        fix.append([*cells, o.row, o.note(lang)])
        err = fix.cell(row=fix.max_row, column=width + 2)
        err.font = Font(color="B91C1C")
        err.alignment = Alignment(wrap_text=True, vertical="top")
    _header_style(fix, {i + 1: 16 for i in range(width)} | {width + 1: 8, width + 2: 60})
    for i, h in enumerate(headers, start=1):
        if h and _HEADER_INDEX.get(_norm_header(h)) in ("id_number", "phone", "regulator_ref"):
            for row in fix.iter_rows(min_row=2, min_col=i, max_col=i):
                for c in row:
                    c.number_format = "@"

    res = wb.create_sheet("导入结果" if lang == "zh" else "Results")
    zh = lang == "zh"
    res.append(
        ["行号", "转办编号", "结果", "投诉编号", "说明"]
        if zh
        else ["Row", "Regulator reference", "Outcome", "Tracking number", "Note"]
    )
    for o in report.ordered():
        res.append(
            [
                o.row,
                o.regulator_ref,
                STATUS_LABELS[o.status][0 if zh else 1],
                o.tracking_no or "",
                o.note(lang),
            ]
        )
    _header_style(res, {1: 8, 2: 24, 3: 14, 4: 18, 5: 80})
    return _save(wb)


def _excel_value(v: Any) -> Any:
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.astimezone(CN_TZ).replace(tzinfo=None)
    return v


def template_workbook(orgs: Sequence[Org] = (), lang: str = "zh") -> bytes:
    """The import template: the header row with one example row (reference starting with 示例, which the
    importer refuses, so a forgotten example never becomes a complaint), a sheet explaining every column and
    a sheet of accepted values with drop-downs on the classification columns."""
    import openpyxl
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    tax = load_taxonomy()
    branches = [o for o in orgs if o.kind != "department"]
    example_org = next((o for o in branches if o.kind == "subbranch"), branches[0] if branches else None)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "监管转办"
    ws.append([c.zh for c in COLUMNS])
    example: dict[str, Any] = {
        "regulator_ref": f"{EXAMPLE_PREFIX}-12378-2026-000001",
        "complainant_name": "林秀英",
        "id_number": "350521195803150021",
        "phone": "13905951234",
        "policy_no": "PDAA202635050000012",
        "claim_no": "",
        "org_code": example_org.name_zh if example_org else "泉州中心支公司",
        "business_line": "商业险",
        "cause": "理赔金额/定损争议",
        "demand": "要求赔付",
        "description": "车辆因台风受损，定损金额明显低于维修厂报价，要求重新定损。（示例行，导入前请删除）",
        "received_at": datetime(2026, 3, 2, 10, 0),  # noqa: DTZ001 - Excel cells hold naive Beijing time
    }
    ws.append([example[c.field] for c in COLUMNS])
    _header_style(ws)
    for i, c in enumerate(COLUMNS, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = {"description": 50, "received_at": 18, "cause": 22}.get(
            c.field, 16
        )
        head = ws.cell(row=1, column=i)
        if c.required:
            head.fill = PatternFill("solid", fgColor="FDE2E1")
        ex = ws.cell(row=2, column=i)
        ex.font = Font(italic=True, color="808080")
        if c.field in ("regulator_ref", "id_number", "phone", "policy_no", "claim_no"):
            for r in range(2, 1002):
                ws.cell(row=r, column=i).number_format = "@"
        if c.field == "received_at":
            for r in range(2, 1002):
                ws.cell(row=r, column=i).number_format = "yyyy-mm-dd hh:mm"

    guide = wb.create_sheet("填写说明")
    guide.append(["列名", "英文字段名", "必填", "说明", "Description"])
    for c in COLUMNS:
        guide.append([c.zh, c.field, "是" if c.required else "否", c.hint_zh, c.hint_en])
    guide.append([])
    guide.append(
        [
            "第一个工作表中的数据会被导入；表头须在第 1 行（其上可有标题行）。",
            "",
            "",
            f"每个文件最多 {MAX_ROWS} 行、{MB} MB；支持 .xlsx 和 .csv（UTF-8 或 GBK）。",
            f"Only the first sheet is read; at most {MAX_ROWS} rows and {MB} MB per file.",
        ]
    )
    _header_style(guide, {1: 14, 2: 18, 3: 6, 4: 60, 5: 60})

    values = wb.create_sheet("可选值")
    lists: list[tuple[str, list[str]]] = [
        (
            "险种",
            [
                t.zh
                for t in tax.terms("business_lines")
                if t.is_leaf or len([x for x in t.walk() if x.is_leaf]) == 1
            ],
        ),
        ("投诉原因", [t.zh for t in tax.leaves("causes")]),
        ("诉求", [t.zh for t in tax.leaves("demands")]),
        ("承办机构", [o.name_zh for o in orgs if o.kind != "department"]),
        ("承办机构代码", [o.code for o in orgs if o.kind != "department"]),
    ]
    for col, (title, items) in enumerate(lists, start=1):
        values.cell(row=1, column=col, value=title)
        for r, item in enumerate(items, start=2):
            values.cell(row=r, column=col, value=item)
    _header_style(values, {i: 22 for i in range(1, len(lists) + 1)})
    targets = {"business_line": 1, "cause": 2, "demand": 3, "org_code": 4}
    for i, c in enumerate(COLUMNS, start=1):
        src_col = targets.get(c.field)
        if src_col is None or len(lists[src_col - 1][1]) == 0:
            continue
        letter = get_column_letter(src_col)
        dv = DataValidation(
            type="list",
            formula1=f"'可选值'!${letter}$2:${letter}${len(lists[src_col - 1][1]) + 1}",
            allow_blank=True,
            errorStyle="warning",
            showErrorMessage=True,
            error="不在可选值中（也可填写代码）",
            errorTitle="请核对",
        )
        dv.add(f"{get_column_letter(i)}2:{get_column_letter(i)}1001")
        ws.add_data_validation(dv)
    return _save(wb)


def orgs_in_scope(s: Session, who: Principal) -> list[Org]:
    stmt = select(Org).order_by(Org.path)
    if who.scope_path != "/":
        stmt = stmt.where(Org.path.startswith(who.scope_path))
    return list(s.scalars(stmt))
