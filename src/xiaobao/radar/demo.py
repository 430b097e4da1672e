"""Deterministic demo portfolio: insured enterprises around 福州/厦门/泉州/漳州/莆田/宁德 (pure Python).

Rows use the column headers ``sites.read_sites`` reads, so demos and tests go through the real reader.
Coordinates are the county/district seat (``fujian_centroids.csv``) plus a random offset of up to ~8 km;
about 5 % of the rows have no coordinates (address only) to exercise the approximate geocoding.
Industries, constructions and amounts are plausible, not real.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from xiaobao.radar.sites import _places

CITIES = {
    "福州市": ("3501", "福州分公司", 0.26),
    "厦门市": ("3502", "厦门分公司", 0.20),
    "泉州市": ("3505", "泉州分公司", 0.24),
    "漳州市": ("3506", "漳州分公司", 0.12),
    "莆田市": ("3503", "莆田分公司", 0.09),
    "宁德市": ("3509", "宁德分公司", 0.09),
}
# industry: (weight, typical constructions with weights, occupancy, median total sum insured in yuan)
INDUSTRIES: dict[str, tuple[float, list[tuple[str, float]], str, float]] = {
    "纺织服装": (0.14, [("钢结构", 0.4), ("轻钢", 0.35), ("钢筋混凝土", 0.25)], "厂房", 18e6),
    "鞋业": (0.12, [("轻钢", 0.45), ("钢结构", 0.3), ("砖混", 0.25)], "厂房", 15e6),
    "食品加工": (0.10, [("钢结构", 0.5), ("钢筋混凝土", 0.5)], "厂房", 20e6),
    "电子制造": (0.08, [("钢筋混凝土", 0.7), ("钢结构", 0.3)], "厂房", 60e6),
    "石材加工": (0.06, [("轻钢", 0.6), ("临时建筑", 0.15), ("砖混", 0.25)], "厂房", 8e6),
    "陶瓷卫浴": (0.06, [("钢结构", 0.5), ("轻钢", 0.5)], "厂房", 25e6),
    "茶叶": (0.05, [("砖混", 0.5), ("木结构", 0.2), ("钢筋混凝土", 0.3)], "仓库", 4e6),
    "水产加工": (0.07, [("轻钢", 0.5), ("钢结构", 0.3), ("临时建筑", 0.2)], "厂房", 10e6),
    "物流仓储": (0.12, [("轻钢", 0.55), ("钢结构", 0.45)], "仓库", 30e6),
    "机械制造": (0.08, [("钢结构", 0.6), ("钢筋混凝土", 0.4)], "厂房", 35e6),
    "商贸零售": (0.08, [("钢筋混凝土", 0.8), ("砖混", 0.2)], "商铺", 6e6),
    "酒店餐饮": (0.04, [("钢筋混凝土", 0.9), ("砖混", 0.1)], "酒店", 40e6),
}
COLUMNS = [
    "name",
    "address",
    "lat",
    "lon",
    "industry",
    "construction",
    "occupancy",
    "sum_insured_building",
    "sum_insured_contents",
    "sum_insured_stock",
    "deductible",
    "limit",
    "policy_no",
    "branch",
    "contact",
]
_SURNAMES = "陈林黄张吴王郑李刘蔡杨许洪苏谢"
_GIVEN = "志明建华国强丽芳伟文秀英海燕金水"
_WORDS = "鑫华盛泰隆兴源达丰恒通宏顺福安永嘉信诚"


def _pick(rng: random.Random, items: list[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def generate_sites(n: int = 3000, seed: int = 20230728) -> list[dict[str, str]]:
    """``n`` site rows (header → text), the same for the same ``n`` and ``seed``."""
    rng = random.Random(seed)
    counties, _ = _places()
    by_city = {
        city: [p for p in counties if p.adcode[:4] == code and p.name not in ("金门县",)]
        for city, (code, _, _) in CITIES.items()
    }
    city_names = list(CITIES)
    city_w = [CITIES[c][2] for c in city_names]
    ind_names = list(INDUSTRIES)
    ind_w = [INDUSTRIES[i][0] for i in ind_names]
    rows: list[dict[str, str]] = []
    for k in range(n):
        city = rng.choices(city_names, weights=city_w)[0]
        county = rng.choice(by_city[city])
        industry = rng.choices(ind_names, weights=ind_w)[0]
        _, constructions, occupancy, median = INDUSTRIES[industry]
        construction = _pick(rng, constructions)
        total = round(median * rng.lognormvariate(0.0, 0.8), -4)
        b_share = rng.uniform(0.35, 0.6)
        stock_share = rng.uniform(0.1, 0.35) if occupancy in ("仓库", "厂房", "商铺") else 0.0
        building = round(total * b_share, -2)
        stock = round(total * stock_share, -2)
        contents = round(total - building - stock, -2)
        has_coords = rng.random() > 0.05
        lat = county.lat + rng.uniform(-0.07, 0.07)
        lon = county.lon + rng.uniform(-0.07, 0.07)
        name = f"{county.name[:2]}{rng.choice(_WORDS)}{rng.choice(_WORDS)}{industry[:2]}有限公司"
        rows.append(
            {
                "name": name,
                "address": f"福建省{city}{county.name}{rng.choice(_WORDS)}{rng.choice('山江海湖新')}路{rng.randint(1, 999)}号",
                "lat": f"{lat:.5f}" if has_coords else "",
                "lon": f"{lon:.5f}" if has_coords else "",
                "industry": industry,
                "construction": construction,
                "occupancy": occupancy,
                "sum_insured_building": f"{building:.0f}",
                "sum_insured_contents": f"{max(contents, 0.0):.0f}",
                "sum_insured_stock": f"{stock:.0f}",
                "deductible": f"{max(5000.0, round(total * 0.001, -3)):.0f}",
                "limit": f"{round(total * rng.choice([0.5, 0.8, 1.0]), -4):.0f}",
                "policy_no": f"PQYC2023{CITIES[city][0]}{k:06d}",
                "branch": CITIES[city][1],
                "contact": f"{rng.choice(_SURNAMES)}{rng.choice(_GIVEN)}{rng.choice(_GIVEN)} 1{rng.randint(3, 9)}{rng.randint(0, 999999999):09d}",
            }
        )
    return rows


def write_sites_csv(path: str | Path, n: int = 3000, seed: int = 20230728) -> Path:
    """Write ``generate_sites(n, seed)`` as a UTF-8 CSV; returns the path."""
    p = Path(path)
    with p.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(generate_sites(n, seed))
    return p
