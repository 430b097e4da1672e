"""Sites import: headers in English and Chinese, encodings, .xlsx, per-row errors, approximate geocoding."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from openpyxl import Workbook

from xiaobao.radar import demo
from xiaobao.radar.sites import SitesFileError, geocode, read_sites

EN = (
    "name,address,lat,lon,industry,construction,occupancy,sum_insured_building,sum_insured_stock,"
    "deductible,limit,policy_no,branch,contact\n"
)


def test_english_csv_good_and_bad_rows(tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_text(
        EN
        + '甲厂,福建省泉州市晋江市陈埭镇,24.80,118.60,鞋业,轻钢,厂房,"1,000,000",500000,5000,,P1,泉州分公司,陈\n'
        + ",福州市鼓楼区,26.1,119.3,,,,100,,,,,,\n"  # row 3: no name
        + "乙厂,厦门市思明区,abc,118.1,,,,100,,,,,,\n"  # row 4: bad lat
        + "丙厂,福州市晋安区福新路1号,,,,钢结构,仓库,120万,,,2000000,P3,福州分公司,\n"  # row 5: geocoded
        + "丁厂,上海市浦东新区,,,,,,100,,,,,,\n"  # row 6: unresolvable
        + "戊厂,厦门市,24.5,118.1,,,,,,,,,,\n"  # row 7: no sum insured
        + "己厂,厦门市,24.5,118.1,,,,-5,,,,,,\n",  # row 8: negative
        encoding="utf-8",
    )
    imp = read_sites(f)
    assert imp.rows == 7
    assert [s.name for s in imp.sites] == ["甲厂", "丙厂"]
    a, c = imp.sites
    assert a.sums_insured == {"building": 1_000_000.0, "stock": 500_000.0}
    assert a.construction == "light_steel" and a.occupancy == "factory" and not a.approximate
    assert math.isinf(a.limit) and a.deductible == 5000
    assert c.approximate and c.adcode == "350111000000" and c.sums_insured == {"building": 1_200_000.0}
    assert c.limit == 2_000_000 and c.construction == "steel_frame" and c.occupancy == "warehouse"
    errs = {(e.row, e.field) for e in imp.errors}
    assert errs == {(3, "name"), (4, "lat"), (6, "address"), (7, "sum_insured"), (8, "sum_insured_building")}
    text = str(next(e for e in imp.errors if e.row == 4))
    assert "第4行" in text and "row 4" in text and "纬度" in text


def test_chinese_headers_gb18030(tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_bytes(
        (
            "名称,地址,纬度,经度,建筑结构,建筑物保额,设备保额,存货保额,免赔额,赔偿限额,保单号,机构,联系人\n"
            "宁德鑫茶叶,宁德市福鼎市,,,砖混,200万,50万,30万,1万,,P9,宁德分公司,林\n"
        ).encode("gb18030")
    )
    imp = read_sites(f)
    assert not imp.errors
    (s,) = imp.sites
    assert s.sums_insured == {"building": 2e6, "equipment": 5e5, "stock": 3e5}
    assert s.deductible == 1e4 and s.approximate and s.adcode.startswith("350982")


def test_xlsx(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["name", "lat", "lon", "sum_insured_building"])
    ws.append(["A", 24.5, 118.1, 1000])
    ws.append(["B", 95, 118.1, 1000])
    f = tmp_path / "s.xlsx"
    wb.save(f)
    imp = read_sites(f)
    assert [s.name for s in imp.sites] == ["A"]
    assert [(e.row, e.field) for e in imp.errors] == [(3, "lat")]


def test_unusable_files(tmp_path: Path) -> None:
    bad = tmp_path / "s.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(SitesFileError, match="name"):
        read_sites(bad)
    with pytest.raises(SitesFileError):
        read_sites(tmp_path / "s.txt")


def test_geocode() -> None:
    p = geocode("福建省泉州市晋江市陈埭镇")
    assert p is not None and p.name == "晋江市"
    p = geocode("福州市长乐区航城街道")  # renamed since the table was made
    assert p is not None and p.adcode.startswith("350182")
    p = geocode("漳州市")
    assert p is not None and p.name == "漳州市"
    assert geocode("北京市朝阳区") is None


def test_demo_portfolio_is_deterministic_and_readable(tmp_path: Path) -> None:
    assert demo.generate_sites(50, seed=1) == demo.generate_sites(50, seed=1)
    imp = read_sites(demo.write_sites_csv(tmp_path / "d.csv", n=2000))
    assert len(imp.sites) == 2000 and not imp.errors
    assert 0 < sum(s.approximate for s in imp.sites) < 200
    assert {s.branch for s in imp.sites} == {b for _, b, _ in demo.CITIES.values()}
    assert all(23.5 < s.lat < 27.6 and 116.5 < s.lon < 120.5 for s in imp.sites)
