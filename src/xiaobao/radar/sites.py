"""Insured sites for the risk radar: read .csv (UTF-8 / GB18030) or .xlsx, geocode missing coordinates.

Columns (English or Chinese headers, case-insensitive; unknown columns are ignored):

- ``name`` 名称, ``address`` 地址, ``lat`` 纬度, ``lon`` 经度, ``industry`` 行业, ``construction`` 建筑结构,
  ``occupancy`` 占用性质, ``deductible`` 免赔额, ``limit`` 赔偿限额, ``policy_no`` 保单号, ``branch`` 机构,
  ``contact`` 联系人, ``account_manager`` 客户经理 (a username);
- sums insured per coverage: ``sum_insured_<coverage>`` (e.g. ``sum_insured_building``), or 建筑物保额 /
  设备保额 / 存货保额 / 内容物保额 / 装修保额; a plain ``sum_insured`` 保额 counts as coverage "total".
  Amounts in yuan; "1,200,000", "120万" and "120万元" are accepted.

Each bad row gives one ``RowError`` per problem (file row number, header = row 1, field, Chinese and English
text) and is left out; good rows are kept. A row without coordinates is placed at the seat of the
county/district named in its address (``fujian_centroids.csv``, from the cpca package's table, Fujian only)
and flagged ``approximate``; an address that names no known county/district is a row error.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

CENTROIDS_CSV = Path(__file__).with_name("data") / "fujian_centroids.csv"

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "企业名称", "客户名称", "被保险人", "site"),
    "address": ("address", "地址", "标的地址", "企业地址"),
    "lat": ("lat", "latitude", "纬度"),
    "lon": ("lon", "lng", "longitude", "经度"),
    "industry": ("industry", "行业"),
    "construction": ("construction", "建筑结构", "结构"),
    "occupancy": ("occupancy", "占用性质", "用途"),
    "deductible": ("deductible", "免赔额"),
    "limit": ("limit", "赔偿限额", "限额"),
    "policy_no": ("policy_no", "policy", "保单号"),
    "branch": ("branch", "机构", "分支机构", "支公司"),
    "contact": ("contact", "联系人", "联系方式"),
    "account_manager": ("account_manager", "客户经理"),
}
COVERAGE_ALIASES: dict[str, str] = {
    "建筑物保额": "building",
    "房屋保额": "building",
    "设备保额": "equipment",
    "机器设备保额": "equipment",
    "存货保额": "stock",
    "内容物保额": "contents",
    "装修保额": "fitout",
    "保额": "total",
    "sum_insured": "total",
}
FIELD_LABELS_ZH = {
    "name": "名称",
    "address": "地址",
    "lat": "纬度",
    "lon": "经度",
    "deductible": "免赔额",
    "limit": "赔偿限额",
    "sum_insured": "保额",
}
CONSTRUCTION_ALIASES: dict[str, str] = {
    "钢筋混凝土": "reinforced_concrete",
    "框架": "reinforced_concrete",
    "钢结构": "steel_frame",
    "砖混": "masonry",
    "砖木": "masonry",
    "轻钢": "light_steel",
    "彩钢板": "light_steel",
    "木结构": "timber",
    "临时建筑": "temporary",
    "简易": "temporary",
}
OCCUPANCY_ALIASES: dict[str, str] = {
    "仓库": "warehouse",
    "仓储": "warehouse",
    "厂房": "factory",
    "办公": "office",
    "商铺": "retail",
    "商业": "retail",
    "酒店": "hotel",
}


class SitesFileError(ValueError):
    """The file as a whole cannot be read (format, header)."""


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    problem_zh: str
    problem_en: str

    def __str__(self) -> str:
        zh = FIELD_LABELS_ZH.get(self.field, self.field)
        return f"第{self.row}行 {zh}: {self.problem_zh} / row {self.row}, {self.field}: {self.problem_en}"


@dataclass(frozen=True)
class Site:
    row: int
    name: str
    address: str
    lat: float
    lon: float
    sums_insured: dict[str, float]
    industry: str = ""
    construction: str = ""
    occupancy: str = ""
    deductible: float = 0.0
    limit: float = math.inf
    policy_no: str = ""
    branch: str = ""
    contact: str = ""
    approximate: bool = False
    adcode: str = ""
    account_manager: str = ""
    """The client's account manager (a username in the app), optional."""

    @property
    def total_sum_insured(self) -> float:
        return float(sum(self.sums_insured.values()))


@dataclass
class SiteImport:
    sites: list[Site] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0

    @property
    def coverages(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.sites:
            for c in s.sums_insured:
                seen.setdefault(c, None)
        return list(seen)


# --- geocoding -------------------------------------------------------------------------------------------

_RENAMED = {"长乐区": "长乐市", "龙海区": "龙海市", "长泰区": "长泰县", "沙县区": "沙县"}


@dataclass(frozen=True)
class Place:
    adcode: str
    name: str
    lon: float
    lat: float


@lru_cache(maxsize=1)
def _places() -> tuple[list[Place], list[Place]]:
    """(counties/districts, prefecture cities) from the centroid table."""
    counties: list[Place] = []
    cities: list[Place] = []
    lines = [ln for ln in CENTROIDS_CSV.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    for rec in csv.DictReader(lines):
        p = Place(rec["adcode"], rec["name"], float(rec["longitude"]), float(rec["latitude"]))
        if p.adcode.endswith("0000000000"):
            continue  # the province
        (cities if p.adcode[4:6] == "00" else counties).append(p)
    by_name = {p.name: p for p in counties}
    for new, old in _RENAMED.items():
        if old in by_name:
            counties.append(Place(by_name[old].adcode, new, by_name[old].lon, by_name[old].lat))
    return counties, cities


def _short(name: str) -> str:
    return name[:-1] if len(name) >= 3 and name[-1] in "区县市" else name


def geocode(address: str) -> Place | None:
    """County/district seat named in ``address`` (full names first, then short names, restricted to the
    prefecture city named in the address if any); the city's seat when only the city is named."""
    addr = address.strip()
    if not addr:
        return None
    counties, cities = _places()
    city = next((c for c in cities if c.name in addr or _short(c.name) in addr[:6]), None)
    pool = [c for c in counties if city is None or c.adcode[:4] == city.adcode[:4]]
    for key in (lambda p: p.name, lambda p: _short(p.name)):
        hits = [p for p in pool if key(p) in addr]
        if hits:
            return max(hits, key=lambda p: (len(key(p)), -addr.index(key(p))))
    return city


# --- reading ---------------------------------------------------------------------------------------------


def _read_rows(path: Path) -> list[list[str]]:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises several types for a broken file
            raise SitesFileError(f"{path.name}: not a readable .xlsx file ({e})") from e
        ws = wb.worksheets[0]
        rows = [["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    if suffix != ".csv":
        raise SitesFileError(f"{path.name}: expected .csv or .xlsx / 仅支持 .csv 或 .xlsx")
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise SitesFileError(f"{path.name}: neither UTF-8 nor GB18030 / 编码无法识别")
    return [r for r in csv.reader(io.StringIO(text))]


def _map_header(header: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    fields: dict[str, int] = {}
    coverages: dict[str, int] = {}
    alias_to_field = {a.lower(): f for f, aliases in FIELD_ALIASES.items() for a in aliases}
    for i, h in enumerate(header):
        key = h.strip().lower()
        if not key:
            continue
        if key in alias_to_field:
            fields.setdefault(alias_to_field[key], i)
        elif key in COVERAGE_ALIASES:
            coverages.setdefault(COVERAGE_ALIASES[key], i)
        elif key.startswith("sum_insured_") and len(key) > len("sum_insured_"):
            coverages.setdefault(key[len("sum_insured_") :], i)
        elif key.endswith("保额"):
            coverages.setdefault(key, i)
    return fields, coverages


_AMOUNT = re.compile(r"^(-?\d+(?:\.\d+)?)(万)?元?$")


def _amount(raw: str) -> float | None:
    s = raw.strip().replace(",", "").replace("，", "").replace(" ", "")
    if not s:
        return None
    m = _AMOUNT.match(s)
    if not m:
        raise ValueError(raw)
    v = float(m.group(1))
    return v * 10_000 if m.group(2) else v


def _norm_class(raw: str, aliases: dict[str, str]) -> str:
    s = raw.strip()
    for zh, key in aliases.items():
        if zh in s:
            return key
    return s.lower().replace(" ", "_")


def read_sites(src: str | Path) -> SiteImport:
    """Read a sites file; see the module docstring. Raises ``SitesFileError`` for an unusable file."""
    path = Path(src)
    rows = _read_rows(path)
    while rows and not any(c.strip() for c in rows[0]):
        rows.pop(0)
    if not rows:
        raise SitesFileError(f"{path.name}: file is empty / 文件为空")
    fields, coverages = _map_header(rows[0])
    if "name" not in fields:
        raise SitesFileError(f"{path.name}: no name column (name / 名称) / 缺少名称列")
    if not coverages:
        raise SitesFileError(f"{path.name}: no sum insured column (sum_insured_* / 保额) / 缺少保额列")
    out = SiteImport()
    for rowno, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        out.rows += 1
        site, errs = _parse_row(rowno, row, fields, coverages)
        if errs:
            out.errors.extend(errs)
        elif site is not None:
            out.sites.append(site)
    return out


def _parse_row(
    rowno: int, row: list[str], fields: dict[str, int], coverages: dict[str, int]
) -> tuple[Site | None, list[RowError]]:
    def get(f: str) -> str:
        i = fields.get(f)
        return row[i].strip() if i is not None and i < len(row) else ""

    errs: list[RowError] = []
    name = get("name")
    if not name:
        errs.append(RowError(rowno, "name", "名称为空", "name is empty"))

    def num(f: str, raw: str) -> float | None:
        try:
            v = _amount(raw)
        except ValueError:
            errs.append(RowError(rowno, f, f"不是数字: {raw!r}", f"not a number: {raw!r}"))
            return None
        if v is not None and v < 0:
            errs.append(RowError(rowno, f, "不能为负数", "must not be negative"))
            return None
        return v

    sums: dict[str, float] = {}
    for cov, i in coverages.items():
        raw = row[i] if i < len(row) else ""
        v = num(f"sum_insured_{cov}", raw)
        if v:
            sums[cov] = v
    if not sums and not any(e.field.startswith("sum_insured") for e in errs):
        errs.append(RowError(rowno, "sum_insured", "没有保额", "no sum insured"))
    deductible = num("deductible", get("deductible")) or 0.0
    lim_v = num("limit", get("limit"))
    limit = math.inf if lim_v is None else lim_v

    address = get("address")
    lat_raw, lon_raw = get("lat"), get("lon")
    lat = lon = math.nan
    approximate = False
    adcode = ""
    if lat_raw or lon_raw:
        for f, raw, lo, hi in (("lat", lat_raw, -90.0, 90.0), ("lon", lon_raw, -180.0, 180.0)):
            if not raw:
                errs.append(RowError(rowno, f, "缺少坐标", "coordinate missing"))
                continue
            try:
                v = float(raw)
            except ValueError:
                errs.append(RowError(rowno, f, f"不是数字: {raw!r}", f"not a number: {raw!r}"))
                continue
            if not lo <= v <= hi:
                errs.append(RowError(rowno, f, f"超出范围 {lo}..{hi}", f"out of range {lo}..{hi}"))
            elif f == "lat":
                lat = v
            else:
                lon = v
    else:
        place = geocode(address)
        if place is None:
            errs.append(
                RowError(
                    rowno,
                    "address",
                    "无坐标且地址无法定位到区县",
                    "no coordinates and the address names no known county/district",
                )
            )
        else:
            lat, lon, approximate, adcode = place.lat, place.lon, True, place.adcode
    if errs:
        return None, errs
    return (
        Site(
            row=rowno,
            name=name,
            address=address,
            lat=lat,
            lon=lon,
            sums_insured=sums,
            industry=get("industry"),
            construction=_norm_class(get("construction"), CONSTRUCTION_ALIASES),
            occupancy=_norm_class(get("occupancy"), OCCUPANCY_ALIASES),
            deductible=deductible,
            limit=limit,
            policy_no=get("policy_no"),
            branch=get("branch"),
            contact=get("contact"),
            approximate=approximate,
            adcode=adcode,
            account_manager=get("account_manager"),
        ),
        [],
    )
