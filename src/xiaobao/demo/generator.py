"""Deterministic demo data: organisation tree, users and realistic complaints, as plain Python values.

No database and no web imports: a loader turns these into rows. The same seed always yields the same data.
Everyone here is invented; ID numbers are well-formed (valid check digit, plausible region and birth date)
but are generated, and phone numbers are random mainland mobile numbers.

The organisation mirrors the seed article: head office (HQ), five provincial branches, city sub-branches
(中心支公司) and departments under HQ and each branch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from xiaobao.complaints.taxonomy import Taxonomy, load_taxonomy
from xiaobao.core.pii import compose_id_number

__all__ = [
    "CN_TZ",
    "OUTCOME_HINTS",
    "ROLES",
    "OrgSpec",
    "UserSpec",
    "demo_orgs",
    "demo_users",
    "generate_complaints",
]

CN_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
"""China Standard Time (no daylight saving, so a fixed offset is exact)."""

ROLES: tuple[str, ...] = (
    "officer",
    "handler",
    "collaborator",
    "reviewer",
    "branch_manager",
    "auditor",
    "admin",
    "claims_operator",
    "surveyor",
    "commander",
    "risk_engineer",
)
ORG_KINDS: tuple[str, ...] = ("hq", "branch", "subbranch", "department")
OUTCOME_HINTS: tuple[str, ...] = ("open", "decided", "closed", "withdrawn")
DESCRIPTION_MIN = 60
DESCRIPTION_MAX = 300
HISTORY_DAYS = 150


@dataclass(frozen=True)
class OrgSpec:
    code: str
    name_zh: str
    name_en: str
    kind: str
    """hq | branch | subbranch | department"""
    parent_code: str | None
    region_code: str
    """First 6 digits of resident ID numbers issued in the org's city (GB/T 2260), e.g. 泉州 350500."""


@dataclass(frozen=True)
class UserSpec:
    username: str
    display_name: str
    org_code: str
    roles: tuple[str, ...]
    phone: str
    email: str


# ---- organisation ---------------------------------------------------------------------------------

_DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("CP", "消费者权益保护部", "Consumer Protection Dept"),
    ("CS", "客户服务部", "Customer Service Dept"),
    ("CLM", "理赔部", "Claims Dept"),
    ("SAL", "销售管理部", "Sales Management Dept"),
    ("UW", "核保部", "Underwriting Dept"),
)

# branch code, zh, en, region, [(sub-branch suffix, zh, en, region)]
_BRANCHES: tuple[tuple[str, str, str, str, tuple[tuple[str, str, str, str], ...]], ...] = (
    (
        "FJ",
        "福建分公司",
        "Fujian Branch",
        "350100",
        (
            ("FZ", "福州中心支公司", "Fuzhou Central Sub-branch", "350100"),
            ("XM", "厦门中心支公司", "Xiamen Central Sub-branch", "350200"),
            ("QZ", "泉州中心支公司", "Quanzhou Central Sub-branch", "350500"),
            ("ZZ", "漳州中心支公司", "Zhangzhou Central Sub-branch", "350600"),
        ),
    ),
    (
        "SH",
        "上海分公司",
        "Shanghai Branch",
        "310100",
        (
            ("PD", "浦东支公司", "Pudong Sub-branch", "310115"),
            ("MH", "闵行支公司", "Minhang Sub-branch", "310112"),
        ),
    ),
    (
        "GD",
        "广东分公司",
        "Guangdong Branch",
        "440100",
        (
            ("GZ", "广州中心支公司", "Guangzhou Central Sub-branch", "440100"),
            ("FS", "佛山中心支公司", "Foshan Central Sub-branch", "440600"),
            ("DG", "东莞中心支公司", "Dongguan Central Sub-branch", "441900"),
        ),
    ),
    (
        "SC",
        "四川分公司",
        "Sichuan Branch",
        "510100",
        (
            ("CD", "成都中心支公司", "Chengdu Central Sub-branch", "510100"),
            ("MY", "绵阳中心支公司", "Mianyang Central Sub-branch", "510700"),
        ),
    ),
    (
        "BJ",
        "北京分公司",
        "Beijing Branch",
        "110100",
        (
            ("CY", "朝阳支公司", "Chaoyang Sub-branch", "110105"),
            ("HD", "海淀支公司", "Haidian Sub-branch", "110108"),
        ),
    ),
)
_HQ_REGION = "310100"


def _departments(parent_code: str, parent_zh: str, parent_en: str, region: str) -> list[OrgSpec]:
    return [
        OrgSpec(
            f"{parent_code}-{suffix}",
            f"{parent_zh}{zh}",
            f"{parent_en} {en}",
            "department",
            parent_code,
            region,
        )
        for suffix, zh, en in _DEPARTMENTS
    ]


def demo_orgs() -> list[OrgSpec]:
    """The demo organisation, parents before children.

    Codes: ``HQ``; branches ``FJ`` ``SH`` ``GD`` ``SC`` ``BJ``; sub-branches ``FJ-QZ`` (泉州中心支公司) etc.;
    departments ``HQ-CP``, ``FJ-CLM`` (suffixes CP, CS, CLM, SAL, UW) under HQ and each branch.
    """
    orgs = [OrgSpec("HQ", "总公司", "Head Office", "hq", None, _HQ_REGION)]
    orgs += _departments("HQ", "总公司", "Head Office", _HQ_REGION)
    for code, zh, en, region, subs in _BRANCHES:
        orgs.append(OrgSpec(code, zh, en, "branch", "HQ", region))
        orgs += _departments(code, zh, en, region)
        for suffix, szh, sen, sregion in subs:
            orgs.append(OrgSpec(f"{code}-{suffix}", szh, sen, "subbranch", code, sregion))
    return orgs


# ---- users ----------------------------------------------------------------------------------------

# username, display name, org code, roles
_USERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("admin", "周敏", "HQ", ("admin",)),
    ("hq_officer", "陈立新", "HQ", ("officer",)),
    ("hq_handler", "林晓燕", "HQ", ("handler",)),
    ("hq_collaborator", "郑国栋", "HQ", ("collaborator",)),
    ("hq_reviewer", "吴思远", "HQ", ("reviewer",)),
    ("hq_manager", "黄志强", "HQ", ("branch_manager",)),
    ("hq_auditor", "许丽萍", "HQ", ("auditor",)),
    ("hq_cp_officer", "何静", "HQ-CP", ("officer", "reviewer")),
    ("hq_claims", "谢海波", "HQ-CLM", ("collaborator",)),
    ("hq_uw", "罗慧敏", "HQ-UW", ("collaborator",)),
    ("hq_sales", "高俊杰", "HQ-SAL", ("collaborator",)),
    ("fj_officer", "王雪梅", "FJ", ("officer",)),
    ("fj_handler", "李明辉", "FJ", ("handler",)),
    ("fj_collaborator", "张少华", "FJ", ("collaborator",)),
    ("fj_reviewer", "刘春燕", "FJ", ("reviewer",)),
    ("fj_manager", "杨建伟", "FJ", ("branch_manager",)),
    ("fj_auditor", "蔡美玲", "FJ", ("auditor",)),
    ("fj_admin", "洪文杰", "FJ", ("admin",)),
    ("fj_claims", "苏伟明", "FJ-CLM", ("collaborator",)),
    ("fj_cs", "庄晓红", "FJ-CS", ("collaborator",)),
    ("fj_sales", "施家豪", "FJ-SAL", ("collaborator",)),
    ("fj_uw", "曾丽娟", "FJ-UW", ("collaborator",)),
    ("qz_officer", "陈秀梅", "FJ-QZ", ("officer", "handler")),
    ("qz_handler1", "黄俊熙", "FJ-QZ", ("handler",)),
    ("qz_handler2", "林佳", "FJ-QZ", ("handler",)),
    ("qz_collaborator", "吴志伟", "FJ-QZ", ("collaborator",)),
    ("qz_reviewer", "蔡海燕", "FJ-QZ", ("reviewer",)),
    ("qz_manager", "王国华", "FJ-QZ", ("branch_manager",)),
    ("qz_auditor", "郭婷", "FJ-QZ", ("auditor",)),
    ("qz_admin", "柯明", "FJ-QZ", ("admin",)),
    ("fz_handler1", "郑晓东", "FJ-FZ", ("handler",)),
    ("xm_handler1", "叶慧", "FJ-XM", ("handler",)),
    ("zz_handler1", "戴文斌", "FJ-ZZ", ("handler",)),
    ("sh_officer", "顾晓婷", "SH", ("officer",)),
    ("sh_manager", "沈建华", "SH", ("branch_manager",)),
    ("pd_handler1", "陆海峰", "SH-PD", ("handler",)),
    ("mh_handler1", "钱雨桐", "SH-MH", ("handler",)),
    ("gd_officer", "梁丽", "GD", ("officer",)),
    ("gd_manager", "陈家豪", "GD", ("branch_manager",)),
    ("gz_handler1", "冯子轩", "GD-GZ", ("handler",)),
    ("fs_handler1", "麦婉婷", "GD-FS", ("handler",)),
    ("dg_handler1", "袁志明", "GD-DG", ("handler",)),
    ("sc_officer", "唐静", "SC", ("officer",)),
    ("sc_manager", "邓军", "SC", ("branch_manager",)),
    ("cd_handler1", "彭雪", "SC-CD", ("handler",)),
    ("my_handler1", "蒋涛", "SC-MY", ("handler",)),
    ("bj_officer", "赵敏", "BJ", ("officer",)),
    ("bj_manager", "孙立军", "BJ", ("branch_manager",)),
    ("cy_handler1", "马晓宇", "BJ-CY", ("handler",)),
    ("hd_handler1", "韩冰", "BJ-HD", ("handler",)),
    # claims factory, catastrophe command and risk reduction (appended: earlier users keep their numbers)
    ("hq_commander", "钟永强", "HQ", ("commander",)),
    ("fj_commander", "陈国梁", "FJ", ("commander",)),
    ("fj_claims_op1", "林燕华", "FJ", ("claims_operator",)),
    ("fj_claims_op2", "黄秋萍", "FJ", ("claims_operator",)),
    ("qz_surveyor1", "王志坚", "FJ-QZ", ("surveyor",)),
    ("qz_surveyor2", "李建成", "FJ-QZ", ("surveyor",)),
    ("fz_surveyor1", "张立群", "FJ-FZ", ("surveyor",)),
    ("fs_claims_op1", "何丽珊", "GD-FS", ("claims_operator",)),
    ("fs_claims_op2", "梁志勇", "GD-FS", ("claims_operator",)),
    ("hq_risk", "孔令辉", "HQ", ("risk_engineer",)),
    ("fj_risk", "徐振华", "FJ", ("risk_engineer",)),
    ("qz_risk", "潘晓东", "FJ-QZ", ("risk_engineer",)),
    ("hq_claims_op", "赵春华", "HQ", ("claims_operator",)),
    ("hq_surveyor", "刘振东", "HQ", ("surveyor",)),
    ("fj_surveyor", "陈文龙", "FJ", ("surveyor",)),
    ("qz_commander", "吴国庆", "FJ-QZ", ("commander",)),
    ("qz_claims_op", "郑美华", "FJ-QZ", ("claims_operator",)),
)

_MOBILE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 173 176 177 "
    "178 180 181 182 183 185 186 187 188 189 191 193 195 198 199"
).split()


def _mobile(rng: random.Random) -> str:
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def demo_users() -> list[UserSpec]:
    """Demo staff: every role at HQ, at 福建分公司 (FJ) and at 泉州中心支公司 (FJ-QZ), handlers elsewhere.

    Usernames are ASCII (``admin``, ``fj_officer``, ``qz_handler1``...); emails use the reserved example.com.
    """
    rng = random.Random(20240315)
    return [
        UserSpec(username, name, org, roles, _mobile(rng), f"{username}@example.com")
        for username, name, org, roles in _USERS
    ]


# ---- places ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _City:
    name: str
    counties: tuple[str, ...]
    """ID-number region codes of residents (county level; first four digits are the city)."""
    plates: tuple[str, ...]
    places: tuple[str, ...]
    ports: tuple[str, ...] = ()


_CITIES: Mapping[str, _City] = {
    "350100": _City(
        "福州",
        ("350102", "350103", "350104", "350111", "350121", "350181"),
        ("闽A",),
        (
            "鼓楼区五四路",
            "仓山区浦上大道",
            "晋安区福新中路",
            "闽侯县上街镇",
            "福清市龙山街道",
            "台江区工业路",
        ),
        ("福州江阴港", "福州马尾港"),
    ),
    "350200": _City(
        "厦门",
        ("350203", "350205", "350206", "350211", "350212"),
        ("闽D",),
        ("思明区湖滨南路", "湖里区仙岳路", "集美区杏林湾路", "同安区祥平街道", "海沧区新阳街道"),
        ("厦门港", "厦门海沧港"),
    ),
    "350500": _City(
        "泉州",
        ("350502", "350503", "350504", "350521", "350524", "350581", "350582", "350583"),
        ("闽C",),
        (
            "晋江市陈埭镇",
            "丰泽区泉秀路",
            "石狮市宝盖镇",
            "南安市水头镇",
            "鲤城区江南街道",
            "晋江市安海镇",
            "惠安县崇武镇",
            "安溪县城厢镇",
        ),
        ("泉州石湖港", "泉州围头港"),
    ),
    "350600": _City(
        "漳州",
        ("350602", "350603", "350623", "350624"),
        ("闽E",),
        ("芗城区胜利西路", "龙文区蓝田街道", "漳浦县绥安镇", "龙海区石码街道"),
        ("漳州招银港",),
    ),
    "310100": _City(
        "上海",
        ("310101", "310104", "310105", "310106", "310107", "310110"),
        ("沪A", "沪B", "沪C", "沪D"),
        ("黄浦区南京东路", "徐汇区漕溪北路", "长宁区延安西路", "静安区共和新路", "普陀区真北路"),
        ("上海洋山港", "上海外高桥港"),
    ),
    "310115": _City(
        "上海",
        ("310115",),
        ("沪A", "沪B", "沪D", "沪E"),
        ("浦东新区张江镇", "浦东新区川沙新镇", "浦东新区世纪大道", "浦东新区周浦镇"),
        ("上海洋山港", "上海外高桥港"),
    ),
    "310112": _City(
        "上海",
        ("310112",),
        ("沪A", "沪C", "沪H"),
        ("闵行区莘庄镇", "闵行区七宝镇", "闵行区虹梅路", "闵行区浦江镇"),
        ("上海外高桥港",),
    ),
    "110100": _City(
        "北京",
        ("110101", "110102", "110105", "110106", "110108"),
        ("京A", "京B", "京N", "京Q"),
        ("东城区东直门", "西城区西直门外大街", "丰台区南三环", "朝阳区建国路"),
        ("天津港",),
    ),
    "110105": _City(
        "北京",
        ("110105",),
        ("京A", "京N", "京Q"),
        ("朝阳区望京街道", "朝阳区朝阳北路", "朝阳区双井", "朝阳区亚运村"),
        ("天津港",),
    ),
    "110108": _City(
        "北京",
        ("110108",),
        ("京A", "京N", "京P"),
        ("海淀区中关村大街", "海淀区学院路", "海淀区西二旗", "海淀区五道口"),
        ("天津港",),
    ),
    "440100": _City(
        "广州",
        ("440103", "440104", "440105", "440106", "440111", "440113"),
        ("粤A",),
        ("天河区天河路", "白云区机场路", "海珠区新港西路", "番禺区市桥街道", "越秀区东风中路"),
        ("广州南沙港", "广州黄埔港"),
    ),
    "440600": _City(
        "佛山",
        ("440604", "440605", "440606"),
        ("粤E", "粤X", "粤Y"),
        ("南海区桂城街道", "顺德区大良街道", "禅城区季华路", "南海区狮山镇"),
        ("佛山新港",),
    ),
    "441900": _City(
        "东莞",
        ("441900",),
        ("粤S",),
        ("南城街道", "长安镇", "虎门镇", "松山湖"),
        ("东莞虎门港",),
    ),
    "510100": _City(
        "成都",
        ("510104", "510105", "510106", "510107", "510108"),
        ("川A",),
        ("武侯区天府大道", "锦江区春熙路", "成华区建设路", "双流区东升街道", "郫都区犀浦镇"),
        ("重庆港",),
    ),
    "510700": _City(
        "绵阳",
        ("510703", "510704", "510781"),
        ("川B",),
        ("涪城区临园路", "游仙区游仙镇", "江油市中坝镇"),
        ("重庆港",),
    ),
}

_PROVINCE_ABBR = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑",
    "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫",
    "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川", "52": "贵",
    "53": "云", "54": "藏", "61": "陕", "62": "甘", "63": "青", "64": "宁", "65": "新",
}  # fmt: skip

# Where new urban residents (新市民) come from: city-level region codes of common origins.
_ORIGIN_REGIONS = ("411600", "360700", "341200", "430500", "511300", "520500", "450900", "421100")


def _city_for(region: str) -> _City:
    city = _CITIES.get(region)
    if city is not None:
        return city
    abbr = _PROVINCE_ABBR.get(region[:2], "粤")
    return _City("当地", (region,), (abbr + "A",), ("市区某路段", "城郊某镇"), ("附近港口",))


# ---- weights --------------------------------------------------------------------------------------

_ORG_WEIGHTS = {
    "FJ-QZ": 20, "FJ-FZ": 12, "FJ-XM": 10, "FJ-ZZ": 6, "FJ": 3,
    "GD-GZ": 8, "GD-FS": 6, "GD-DG": 5, "GD": 2,
    "SC-CD": 8, "SC-MY": 3, "SC": 2,
    "SH-PD": 6, "SH-MH": 4, "SH": 2,
    "BJ-CY": 5, "BJ-HD": 4, "BJ": 2,
}  # fmt: skip

_LINE_WEIGHTS = {
    "motor.commercial": 34, "motor.ctpl": 14, "health": 12, "accident": 9, "property.household": 5,
    "property.enterprise": 4, "liability": 4, "agriculture": 4, "surety": 5, "credit": 1, "engineering": 1.5,
    "marine.cargo": 1.5, "marine.hull": 0.7, "other": 2.5,
}  # fmt: skip
_LINE_WEIGHTS_MINOR = {"accident": 60, "health": 35, "other": 5}
_LINE_WEIGHTS_ELDERLY = {
    "motor.commercial": 22, "motor.ctpl": 10, "health": 25, "accident": 18, "property.household": 8,
    "agriculture": 6, "liability": 2, "other": 3,
}  # fmt: skip

_FAMILY = {
    "motor.commercial": "motor", "motor.ctpl": "motor", "health": "health", "accident": "accident",
    "property.household": "household", "property.enterprise": "enterprise", "engineering": "engineering",
    "liability": "liability", "surety": "surety", "credit": "credit", "agriculture": "agri",
    "marine.cargo": "cargo", "marine.hull": "hull", "other": "other",
}  # fmt: skip

_GROUP_WEIGHTS_DEFAULT = {
    "claims": 65, "sales": 8, "surrender": 4, "underwriting": 8, "harassment": 2, "service": 11, "other": 2,
}  # fmt: skip
_GROUP_WEIGHTS = {
    "motor": {
        "claims": 58, "sales": 6, "surrender": 3, "underwriting": 9, "harassment": 12,
        "service": 10, "other": 2,
    },
    "health": {
        "claims": 50, "sales": 18, "surrender": 10, "underwriting": 8, "harassment": 4,
        "service": 8, "other": 2,
    },
    "accident": {
        "claims": 45, "sales": 20, "surrender": 10, "underwriting": 6, "harassment": 6,
        "service": 10, "other": 3,
    },
    "surety": {
        "claims": 3, "sales": 25, "surrender": 22, "underwriting": 3, "harassment": 30,
        "service": 14, "other": 3,
    },
    "credit": {"claims": 60, "sales": 10, "underwriting": 10, "service": 15, "other": 5},
    "other": {"claims": 40, "sales": 20, "surrender": 15, "harassment": 5, "service": 15, "other": 5},
}  # fmt: skip

_LEAF_WEIGHTS = {
    "claims": {"claims.amount": 40, "claims.liability": 20, "claims.slow": 25, "claims.denial": 15},
    "sales": {
        "sales.misleading": 40,
        "sales.nondisclosure": 35,
        "sales.bundling": 15,
        "sales.unauthorized": 10,
    },
    "surrender": {"surrender.amount": 55, "surrender.procedure": 45},
    "underwriting": {
        "underwriting.refusal": 35,
        "underwriting.conditions": 30,
        "underwriting.policy_error": 35,
    },
    "harassment": {"harassment.phone": 75, "harassment.sms": 25},
    "service": {"service.attitude": 40, "service.response": 40, "service.privacy": 20},
    "other": {"other": 1},
}

_DEMAND_WEIGHTS = {
    "claims.amount": {"increase_payment": 75, "compensation": 10, "explanation": 15},
    "claims.liability": {"compensation": 70, "explanation": 30},
    "claims.slow": {"compensation": 75, "explanation": 15, "apology": 10},
    "claims.denial": {"compensation": 80, "explanation": 20},
    "sales.misleading": {"refund": 60, "apology": 10, "explanation": 30},
    "sales.nondisclosure": {"refund": 55, "explanation": 45},
    "sales.bundling": {"refund": 80, "explanation": 20},
    "sales.unauthorized": {"refund": 85, "apology": 15},
    "surrender.amount": {"refund": 85, "explanation": 15},
    "surrender.procedure": {"refund": 70, "explanation": 20, "apology": 10},
    "underwriting.refusal": {"explanation": 80, "other": 20},
    "underwriting.conditions": {"explanation": 80, "other": 20},
    "underwriting.policy_error": {"correct_info": 90, "explanation": 10},
    "harassment.phone": {"stop_harassment": 85, "apology": 15},
    "harassment.sms": {"stop_harassment": 90, "apology": 10},
    "service.attitude": {"apology": 80, "explanation": 20},
    "service.response": {"explanation": 70, "apology": 20, "other": 10},
    "service.privacy": {"explanation": 40, "apology": 30, "stop_harassment": 30},
    "other": {"other": 60, "explanation": 40},
}

_CHANNEL_WEIGHTS = {
    "hotline": 33, "regulator": 13, "web": 8, "mobile": 12, "app": 12, "letter": 3, "visit": 6, "email": 2,
    "media": 3, "other": 6,
}  # fmt: skip

_SPECIAL_GROUPS = ("new_resident", "disabled")

# policy-number line codes: P + code + year + region + serial, claims: C + code + ...
_LINE_PREFIX = {
    "motor.commercial": "DAA", "motor.ctpl": "DZA", "property.enterprise": "QCA", "property.household": "JCA",
    "engineering": "GCA", "liability": "ZRA", "surety": "BZA", "credit": "XYA", "accident": "YWA",
    "health": "JKA", "agriculture": "NYA", "marine.cargo": "HYA", "marine.hull": "CBA", "other": "QTA",
}  # fmt: skip

# (low, high) in yuan, drawn log-uniformly
_CLAIM_RANGE = {
    "motor": (800, 60000), "health": (2000, 120000), "accident": (1000, 60000), "household": (2000, 50000),
    "enterprise": (20000, 900000), "engineering": (50000, 600000), "liability": (5000, 300000),
    "agri": (2000, 80000), "cargo": (10000, 400000), "hull": (20000, 600000), "credit": (50000, 1200000),
    "surety": (5000, 50000), "other": (300, 8000),
}  # fmt: skip
_PREMIUM_RANGE = {
    "motor": (1800, 9000), "health": (180, 2500), "accident": (60, 800), "household": (200, 1500),
    "enterprise": (5000, 80000), "engineering": (20000, 200000), "liability": (1500, 30000),
    "agri": (100, 3000), "cargo": (1000, 20000), "hull": (3000, 40000), "credit": (20000, 150000),
    "surety": (800, 12000), "other": (50, 1500),
}  # fmt: skip


def _check_codes(tax: Taxonomy) -> None:
    wanted = {
        "business_lines": set(_LINE_WEIGHTS),
        "causes": {c for leaves in _LEAF_WEIGHTS.values() for c in leaves},
        "demands": {d for ds in _DEMAND_WEIGHTS.values() for d in ds},
        "channels": set(_CHANNEL_WEIGHTS),
        "special_groups": set(_SPECIAL_GROUPS),
    }
    missing = [f"{kind}:{code}" for kind, codes in wanted.items() for code in sorted(codes)
               if not tax.is_valid(kind, code, leaf_only=True)]  # fmt: skip
    if missing:
        raise ValueError(
            "the demo generator needs the default taxonomy; these leaf codes are missing: "
            + ", ".join(missing)
        )


# ---- vocabulary -----------------------------------------------------------------------------------

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万严洪庄柯施"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
_GIVEN = {
    ("M", "old"): "建国 国强 志明 德华 永福 金水 国华 福生 振华 文斌 建华 水生 荣生 金龙 光明".split(),
    ("F", "old"): "桂英 秀兰 玉兰 淑芬 美华 秀英 金花 丽珍 凤英 素珍 月娥 碧霞 玉珍 秀珠 阿妹 惠".split(),
    ("M", "mid"): "伟 强 磊 军 勇 杰 涛 斌 鹏 辉 志强 俊杰 建伟 海波 晓东 文杰 明辉 伟明 家豪 志伟".split(),
    ("F", "mid"): "丽 静 敏 燕 芳 婷 娜 丽娟 晓燕 海燕 雪梅 秀梅 慧敏 丽萍 春燕 晓红 美玲 佳 琳 艳".split(),
    ("M", "young"): "浩然 子轩 宇航 俊熙 梓豪 博文 一鸣 天佑 思远 皓轩 宇 泽".split(),
    ("F", "young"): "欣怡 梓涵 雨桐 诗琪 紫萱 可馨 思彤 子涵 佳怡 若曦 悦 琪".split(),
}  # fmt: skip

_VEHICLES = (
    "比亚迪秦PLUS", "比亚迪宋PLUS", "大众朗逸", "大众帕萨特", "丰田卡罗拉", "丰田凯美瑞", "本田雅阁",
    "本田思域", "日产轩逸", "吉利帝豪", "吉利星越L", "长安CS75", "哈弗H6", "五菱宏光MINI", "理想L7",
    "特斯拉Model Y", "宝马3系", "奥迪A4L", "别克英朗", "广汽埃安S",
)  # fmt: skip
_SHOPS = ("当地4S店", "品牌授权4S店", "贵公司合作的修理厂", "附近一家修理厂")
_PRODUCTS = {
    "motor": ("机动车商业保险",),
    "health": ("百万医疗险", "住院医疗保险", "惠民保", "门急诊医疗险", "防癌医疗险"),
    "accident": ("个人意外伤害保险", "驾乘意外险", "团体意外险"),
    "household": ("家庭财产保险",),
    "enterprise": ("财产一切险", "企业财产综合险"),
    "engineering": ("建筑工程一切险",),
    "liability": ("雇主责任险", "公众责任险", "产品责任险"),
    "agri": ("水稻种植保险", "能繁母猪保险", "茶叶低温气象指数保险", "香蕉种植保险"),
    "cargo": ("国内货物运输保险",),
    "hull": ("渔船保险", "沿海内河船舶保险"),
    "surety": ("个人贷款保证保险",),
    "credit": ("国内贸易信用保险",),
    "other": ("手机碎屏险", "宠物医疗保险", "家电延保服务"),
}
_CTPL_PRODUCT = "交强险"
_PRODUCTS_MINOR = {"accident": ("学平险",), "health": ("学平险", "少儿医疗保险", "惠民保")}
_PRODUCTS_ELDERLY = {"accident": ("老年人意外险", "个人意外伤害保险"), "health": ("惠民保", "防癌医疗险")}
_CROPS = ("水稻", "香蕉", "茶叶", "甘蔗", "柑橘", "蔬菜大棚", "玉米")
_CARGO = ("服装", "电子元器件", "陶瓷制品", "鞋材", "茶叶", "家具", "冷冻水产品")
_PI_ITEMS = ("姓名和车牌号", "住址和家庭成员", "保单到期时间", "身份证号码")
_ADDONS = ("驾乘意外险", "道路救援服务卡", "车上人员责任险", "非车险产品")
_MATTERS = ("发票开具", "保单邮寄", "积分兑换", "道路救援服务", "增值服务兑现")
_DENY_REASONS = {
    "motor": (
        "车辆改变使用性质从事网约车营运", "驾驶人事发后离开现场", "未及时报案导致损失无法核实",
        "损失属于车辆自然磨损",
    ),
    "health": ("投保前未如实告知既往病史", "疾病发生在等待期内", "就诊医院不在合同约定范围内"),
    "accident": ("伤情属于疾病所致而非意外", "从事高风险职业未告知", "未及时报案"),
    "": ("损失属于免责条款约定的情形", "未及时报案导致损失无法核实", "提交的材料不完整"),
}  # fmt: skip
_PROMISES = {
    "health": ("住院费用全部都能报销", "既往病史也能赔", "什么病都能保", "没有免赔额"),
    "accident": ("只要受伤就能赔", "猝死也在保障范围内"),
    "motor": ("出险后全部由保险公司负责", "续保可以打五折"),
    "surety": ("保费可以全额退还", "买了保险贷款利率更低"),
    "": ("出险后百分百赔付", "到期可以返还全部保费"),
}
_FIELDS = {
    "motor": ("车架号", "车牌号", "被保险人姓名", "车辆使用性质"),
    "": ("被保险人姓名", "身份证号码", "联系地址", "受益人信息"),
}

# A template list per key; "" is the fallback used when a family has no entry of its own.
_INCIDENTS: Mapping[str, tuple[str, ...]] = {
    "motor": (
        "{date}，我驾驶{vehicle}（车牌{plate}）在{place}与一辆电动自行车发生碰撞，当即报案，车辆送至{shop}维修。",
        "{date}暴雨期间，我的{vehicle}（车牌{plate}）停在{place}一处地下车库被水淹，发动机无法启动。",
        "{date}我的车辆{plate}停放在{place}路边时被剐蹭，前保险杠和左前翼子板受损。",
        "{date}在{place}发生追尾事故，交警认定对方全责，我的{vehicle}后部严重变形。",
        "{date}台风过境，{place}路边的行道树倒下砸中我的{vehicle}，车顶和前挡风玻璃损坏。",
        "{date}我驾驶{vehicle}在{place}倒车时撞到石墩，后保险杠和尾灯受损。",
    ),
    "motor.ctpl": (
        "{date}我驾车在{place}与一名行人发生碰撞，对方受伤住院，医疗费{amount}元由我先行垫付。",
        "{date}我驾驶{vehicle}在{place}与一辆电动车相撞，对方骑车人受伤，我依据交强险申请赔偿。",
    ),
    "health": (
        "{date}我因急性阑尾炎在{hospital}住院{stay}天，花费医疗费用{amount}元，已按要求提交发票和病历。",
        "我母亲于{date}因脑梗在{hospital}住院治疗，我们依据所投保的{product}申请理赔。",
        "{date}我因肺炎在{hospital}住院，出院后通过公众号提交了{product}理赔申请。",
        "{date}我在{hospital}做了甲状腺结节手术，自付费用{amount}元，投保的是{product}。",
    ),
    "accident": (
        "{date}我在{place}骑电动车摔倒导致右腿骨折，在{hospital}手术治疗，投保了{product}。",
        "{date}我在{place}下楼梯时摔伤腰部，在{hospital}住院{stay}天，投保了{product}。",
        "{date}我在工地干活时从脚手架跌落受伤，花费医疗费{amount}元，单位为我们投保了{product}。",
        "{date}我乘坐朋友的车在{place}发生交通事故，面部和手臂受伤，投保了{product}。",
    ),
    "household": (
        "{date}楼上住户水管爆裂，导致我位于{place}的房屋天花板和木地板被泡坏，投保了{product}。",
        "{date}家中因电线老化起火，厨房和客厅家具受损，损失约{amount}元。",
        "{date}我家位于{place}的住宅被盗，丢失现金和首饰若干，已报警并向贵公司报案。",
    ),
    "enterprise": (
        "{date}暴雨导致我公司位于{place}的仓库进水，库存货物受损，估损约{amount}元。",
        "我公司厂房于{date}因雷击引发配电柜起火，部分生产设备损坏，投保了{product}。",
        "{date}台风过境，我公司位于{place}的厂房屋顶彩钢瓦被掀翻，车间设备被雨水浸泡。",
    ),
    "engineering": (
        "我公司承建的{place}项目工地于{date}遭遇台风，塔吊和临时设施受损，投保了{product}。",
        "{date}我公司施工的{place}道路工程因连续降雨发生边坡塌方，已按要求报案。",
    ),
    "liability": (
        "我公司员工于{date}在车间作业时受伤，依据{product}申请赔偿，医疗费用{amount}元。",
        "{date}有顾客在我店内滑倒受伤，我们投保了{product}，已及时报案。",
    ),
    "agri": (
        "{date}台风过境，我在{place}种植的{crop}大面积倒伏，投保了{product}。",
        "我家养殖的生猪于{date}因病死亡{heads}头，已按要求无害化处理并向贵公司报案。",
        "{date}持续低温导致我在{place}承包的{crop}受冻减产，投保了{product}。",
    ),
    "cargo": (
        "我公司一批{cargo}于{date}从{port}发出，到货后发现外包装破损、货物受潮。",
        "{date}我公司委托物流公司运输的{cargo}途中发生侧翻，货物损毁严重。",
    ),
    "hull": (
        "我的渔船于{date}在{port}附近海域触礁，船体和螺旋桨受损，投保了{product}。",
        "{date}我的货船在{port}锚地被其他船只碰撞，船舷受损。",
    ),
    "minor": (
        "{date}我在学校体育课上扭伤脚踝，在{hospital}就诊，家长为我投保了{product}。",
        "{date}我在{place}打篮球时摔伤手腕，在{hospital}治疗，花费医疗费{amount}元，投保了{product}。",
        "{date}我因急性肠胃炎在{hospital}住院{stay}天，家长为我投保了{product}，出院后申请理赔。",
    ),
    "credit": ("我公司投保了{product}，买方自{date}起逾期未付货款{amount}元，已按约定报损。",),
    "surety": ("我办理的贷款附带{product}，{date}已提前还清贷款，但保险相关费用迟迟未处理。",),
    "": (
        "{date}我投保的{product}发生保险事故，已向贵公司报案并提交了材料。",
        "{date}我的手机屏幕意外摔碎，依据购买的{product}申请理赔。",
    ),
}

_ISSUES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "claims.amount": {
        "motor": (
            "定损员只核定了{offered}元，但{shop}的维修报价为{amount}元，差距过大。",
            "查勘员坚持部分配件只修不换，定损金额{offered}元，我无法接受。",
            "贵公司按{offered}元定损，而4S店出具的维修清单是{amount}元。",
        ),
        "": (
            "贵公司核定赔付{offered}元，远低于实际损失{amount}元，且未说明计算依据。",
            "理赔人员以部分费用不在保险责任范围内为由，只同意赔付{offered}元。",
            "公估报告核定的损失只有{offered}元，对实际损失{amount}元中的大部分不予认可。",
        ),
    },
    "claims.liability": {
        "motor": (
            "理赔人员认为发动机损坏是涉水后二次启动造成的，不属于保险责任，我对此不认可。",
            "贵公司认为驾驶人存在违规情形不予承担，但交警出具的事故认定书并无此记载。",
        ),
        "health": (
            "贵公司以既往症为由认定不属于保险责任，但医院诊断并未显示相关病史。",
            "贵公司认为属于等待期内发病，但我投保已经超过一年。",
        ),
        "": (
            "贵公司认为事故属于免责情形，但投保时从未有人向我说明该免责条款。",
            "理赔人员认为损失原因不在保险责任范围内，却拒绝出示相关条款依据。",
        ),
    },
    "claims.slow": {
        "motor": ("查勘员拖了{late}天才到现场查勘，车辆一直停在修理厂无法使用，每天还要付停车费。",),
        "": (
            "报案至今已{days}天，材料早已交齐，赔款仍未到账。",
            "我已多次致电95500询问进度，每次都说在审核中，{days}天过去了仍没有结果。",
            "理赔人员多次要求补充材料，每次只说一项，{days}天了还在补材料。",
        ),
    },
    "claims.denial": {
        "": (
            "{date2}收到拒赔通知，理由是{deny_reason}，我认为拒赔理由不成立。",
            "贵公司以{deny_reason}为由拒绝赔付，但一直没有出具书面的拒赔通知书。",
            "理赔人员口头告知因{deny_reason}不予赔付，我对此不服。",
        ),
    },
    "sales.misleading": {
        "": (
            "业务员当时称{promise}，但合同条款并非如此，属于误导宣传。",
            "宣传页面写着“{promise}”，实际理赔时才发现有诸多限制。",
        ),
    },
    "sales.nondisclosure": {
        "": (
            "投保时业务员没有向我说明免责条款和等待期，也没有让我本人阅读合同。",
            "直到申请理赔时我才知道有{wait}天等待期，销售时从未告知。",
            "销售时未告知退保要扣除高额手续费，也没有提示犹豫期。",
        ),
    },
    "sales.bundling": {
        "motor": ("办理车险时被要求必须同时购买{addon}，否则不给出单。",),
        "surety": ("银行和保险公司工作人员称不买保证保险就不能放款，属于捆绑销售。",),
        "": ("购买时页面默认勾选了其他附加产品，我事后才发现被多扣了费用。",),
    },
    "sales.unauthorized": {
        "": (
            "我后来发现投保单上的签名不是我本人所签，我从未同意购买该保险。",
            "我的银行卡被自动扣款{premium}元，我并未授权购买该保险。",
        ),
    },
    "surrender.amount": {
        "": (
            "我申请退保，贵公司只退还{offered}元，扣除的费用过高，与当初业务员说的可以全额退还不符。",
            "按照条款计算应退{amount}元，实际只退了{offered}元，且未说明扣费依据。",
        ),
    },
    "surrender.procedure": {
        "surety": ("贷款已经提前还清，申请退还剩余期间保费却被告知需要层层审批。",),
        "": (
            "申请退保时被要求本人到柜面办理并提供多项材料，来回跑了{times}次仍未办好。",
            "在APP上找不到退保入口，客服让我等待回电，{days}天了仍未处理。",
        ),
    },
    "underwriting.refusal": {
        "motor": (
            "我的{vehicle}车龄已{car_age}年，今年续保时贵公司拒绝承保商业险，只能投保交强险。",
            "我的新能源车续保时被以车型出险率高为由拒保商业险。",
        ),
        "elderly": ("我今年{age}岁，想投保{product}被以年龄超限拒保，但宣传页面并未注明年龄限制。",),
        "": (
            "我想投保{product}，被以职业类别风险高为由拒保，但未说明具体依据。",
            "我申请投保{product}被拒，业务员未说明拒保原因。",
        ),
    },
    "underwriting.conditions": {
        "motor": ("续保时被要求加收{surcharge}%的保费，还必须同时购买附加险才能出单。",),
        "health": ("核保时被要求提供大量体检材料，体检费用还要自行承担，最后又加了除外责任。",),
        "": ("核保时被要求大幅提高免赔额，未给出合理解释。",),
    },
    "underwriting.policy_error": {
        "": (
            "保单上的{field}登记错误，申请更正后迟迟未处理，影响了后续理赔。",
            "我发现电子保单上的{field}与实际不符，联系客服多次仍未更正。",
        ),
    },
    "harassment.phone": {
        "motor": (
            "最近{days}天我几乎每天都接到自称贵公司的电话推销车险续保，一天最多{times}次，我已明确拒绝仍不停拨打。",
            "我的车险还有两个月才到期，却每天接到多个不同号码的续保来电，严重影响工作和休息。",
        ),
        "surety": (
            "贷款逾期后，催收人员频繁拨打我家人和同事的电话，言语带有威胁。",
            "催收人员每天从早到晚打电话，一天多达{times}次，还给我单位领导打电话。",
        ),
        "": ("近期频繁接到推销{product}的电话，我已多次表示不需要，对方仍然继续拨打。",),
    },
    "harassment.sms": {
        "motor": ("近一个月收到{sms_count}条推销车险的短信，短信中还包含我的姓名和车牌号。",),
        "": (
            "每天都收到贵公司的营销短信，回复退订后仍然继续发送。",
            "近一个月收到{sms_count}条推销保险的短信，短信中还包含我的姓名。",
        ),
    },
    "service.attitude": {
        "motor": ("查勘员到现场后态度恶劣，催促我在定损单上签字。",),
        "": (
            "致电95500时客服人员态度生硬，多次打断我说话后直接挂断电话。",
            "在{place}的营业网点办理业务时，工作人员态度冷漠、互相推诿。",
        ),
    },
    "service.response": {
        "": (
            "在APP上提交的咨询{days}天没有任何回复。",
            "客服承诺48小时内回电，但至今没有人联系我。",
            "我通过线上表单反映的问题，{days}天了仍显示“处理中”。",
        ),
    },
    "service.privacy": {
        "": (
            "刚在贵公司投保不久就接到其他机构的推销电话，对方能准确说出我的{pi_item}，怀疑个人信息被泄露。",
            "业务员把我的保单和身份证照片发到了微信群里，泄露了我的个人信息。",
        ),
    },
    "other": {
        "": (
            "我对贵公司{matter}的处理方式不满意，多次沟通未果。",
            "投保时承诺的{matter}一直没有兑现，联系业务员也找不到人。",
        ),
    },
}

_PURCHASE: Mapping[str, tuple[str, ...]] = {
    "motor": ("{date}我通过贵公司业务员续保了车险，保费{premium}元。",),
    "health": (
        "{date}业务员通过电话向我推销{product}，保费{premium}元。",
        "{date}我在手机上看到广告后购买了{product}，年保费{premium}元。",
    ),
    "accident": ("{date}我在网上购买了{product}，保费{premium}元。",),
    "surety": ("{date}我在办理一笔{loan}万元的贷款时被要求投保{product}，保费{premium}元。",),
    "household": ("{date}在业务员推荐下购买了{product}，保费{premium}元。",),
    "other": ("{date}在业务员推荐下购买了{product}，保费{premium}元。",),
    "": ("{date}我公司在业务员推荐下投保了{product}，保费{premium}元。",),
}

_BEHAVIOUR = (
    "期间多次联系{staff}，对方总是推诿，说要等上级审批。",
    "{staff}承诺三个工作日内给答复，至今没有任何消息。",
    "工作人员反复要求我提交已经提供过的材料。",
    "拨打95500转人工要等很久，接通后又让我等回电。",
    "{staff}只说这是公司规定，没有给出任何依据。",
)
_BEHAVIOUR_ELDERLY = "我年纪大了不会用手机上传材料，希望有工作人员上门协助。"
_BEHAVIOUR_NEW_RESIDENT = "我是来{city}务工的新市民，对办理流程不熟悉，希望能得到指导。"
_BEHAVIOUR_DISABLED = "本人肢体残疾，行动不便，无法多次往返网点办理。"

_DEMAND_TEXT: Mapping[str, tuple[str, ...]] = {
    "compensation": (
        "请贵公司尽快依约赔付。",
        "要求贵公司依法履行赔付责任。",
        "要求尽快支付赔款{amount}元。",
    ),
    "increase_payment": ("要求重新核定损失，按{amount}元赔付。", "要求提高赔付金额，按实际损失赔付。"),
    "refund": ("要求退还{refund}元。", "要求退保并退还已缴保费。"),
    "apology": ("要求相关人员向我道歉，并对其进行处理。", "要求贵公司书面道歉。"),
    "stop_harassment": ("要求立即停止拨打电话和发送短信，将我的号码列入免打扰名单。", "要求停止骚扰。"),
    "correct_info": ("要求尽快更正保单信息并出具批单。",),
    "explanation": ("要求贵公司给出书面解释说明。", "希望贵公司给个明确说法。"),
    "other": ("希望贵公司重视并妥善处理。",),
}
_FILLERS = ("希望贵公司高度重视，尽快给我一个满意的答复。", "如不能妥善解决，我将向监管部门反映。")
_REPEAT_PREFIX = (
    "我于{orig_date}已就同一问题投诉，至今未得到解决，现再次反映：",
    "{orig_date}通过{orig_channel}投诉后一直无人跟进，再次投诉。",
    "此前已通过{orig_channel}反映过，问题仍未解决。",
)


# ---- generation -----------------------------------------------------------------------------------


@dataclass
class _Draft:
    record: dict[str, Any]
    core: list[str] = field(default_factory=list)
    """Description sentences without the demand, reused by repeat complaints."""
    demand_text: str = ""


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _templates(table: Mapping[str, tuple[str, ...]], *keys: str) -> tuple[str, ...]:
    for key in keys:
        if key in table:
            return table[key]
    return table[""]


def _log_amount(rng: random.Random, lo: float, hi: float) -> int:
    x = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    step = 100 if x >= 10000 else 10
    return max(step, int(round(x / step)) * step)


def _plate_tail(rng: random.Random) -> str:
    """Five characters, mostly digits, with up to two letters (no I or O), like 5K2A8."""
    chars = [rng.choice("0123456789") for _ in range(5)]
    for pos in rng.sample(range(5), rng.choice((0, 1, 1, 2))):
        chars[pos] = rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
    return "".join(chars)


def _round10(x: float) -> int:
    return max(10, int(round(x / 10)) * 10)


def _years_before(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _cn_date(d: date, ref: date) -> str:
    return f"{d.month}月{d.day}日" if d.year == ref.year else f"{d.year}年{d.month}月{d.day}日"


def _received_at(rng: random.Random, now: datetime) -> datetime:
    now_local = now.astimezone(CN_TZ)
    for _ in range(10):
        day = now_local.date() - timedelta(days=rng.randrange(HISTORY_DAYS))
        if day.weekday() < 5 or rng.random() < 0.35:
            break
    r = rng.random()
    if r < 0.82:
        hour = rng.choice((9, 9, 10, 10, 10, 11, 11, 13, 14, 14, 15, 15, 16, 16, 17))
    elif r < 0.95:
        hour = rng.randint(18, 21)
    else:
        hour = rng.choice((7, 8, 22, 23))
    at = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=CN_TZ)
    if at > now_local:
        at = now_local - timedelta(minutes=rng.randint(5, 600))
    return at


def _outcome(rng: random.Random, age_days: float) -> str:
    if age_days < 7:
        w = {"open": 88, "decided": 8, "withdrawn": 4}
    elif age_days < 12:
        w = {"open": 70, "decided": 24, "withdrawn": 4, "closed": 2}
    elif age_days < 15:  # near the 15-day limit
        w = {"open": 45, "decided": 45, "withdrawn": 5, "closed": 5}
    elif age_days < 30:  # open ones are extended or overdue
        w = {"open": 12, "decided": 48, "closed": 30, "withdrawn": 10}
    elif age_days < 45:
        w = {"open": 4, "decided": 40, "closed": 48, "withdrawn": 8}
    else:
        w = {"open": 1, "decided": 4, "closed": 87, "withdrawn": 8}
    return _weighted(rng, w)


def _person(rng: random.Random, received: date, city: _City) -> dict[str, Any]:
    r = rng.random()
    if r < 0.025:
        group, age = "minor", rng.randint(14, 17)
    elif r < 0.175:
        group, age = "elderly", min(rng.randint(60, 75) + int(rng.expovariate(0.25)), 92)
    else:
        group, age = "adult", max(18, min(59, int(rng.triangular(18, 60, 38))))
    sex = rng.choice("MF")
    birth = _years_before(received, age) - timedelta(days=rng.randint(1, 360))
    specials: list[str] = []
    if group == "adult" and rng.random() < 0.07:
        specials.append("new_resident")
    if rng.random() < 0.025:
        specials.append("disabled")
    region = rng.choice(_ORIGIN_REGIONS) if "new_resident" in specials else rng.choice(city.counties)
    sequence = rng.randrange(500) * 2 + (1 if sex == "M" else 0)
    generation = "old" if birth.year < 1966 else "mid" if birth.year < 1995 else "young"
    surname = rng.choice(_COMPOUND_SURNAMES) if rng.random() < 0.01 else rng.choice(_SURNAMES)
    return {
        "group": group,
        "age": age,
        "name": surname + rng.choice(_GIVEN[(sex, generation)]),
        "id_number": compose_id_number(region, birth, sequence),
        "phone": _mobile(rng),
        "special_groups": specials,
    }


def _fit(parts: list[str], limit: int = DESCRIPTION_MAX) -> str:
    text = ""
    for p in parts:
        if len(text) + len(p) <= limit:
            text += p
    return text


def _draft(rng: random.Random, org: OrgSpec, now: datetime) -> _Draft:
    city = _city_for(org.region_code)
    received_at = _received_at(rng, now)
    received = received_at.date()
    person = _person(rng, received, city)
    group = person["group"]

    line = _weighted(
        rng,
        _LINE_WEIGHTS_MINOR
        if group == "minor"
        else _LINE_WEIGHTS_ELDERLY
        if group == "elderly"
        else _LINE_WEIGHTS,
    )
    family = _FAMILY[line]
    cause_group = _weighted(rng, _GROUP_WEIGHTS.get(family, _GROUP_WEIGHTS_DEFAULT))
    cause = _weighted(rng, _LEAF_WEIGHTS[cause_group])
    demand = _weighted(rng, _DEMAND_WEIGHTS[cause])
    channel = _weighted(rng, _CHANNEL_WEIGHTS)

    incident = received - timedelta(days=rng.randint(5, 75))
    policy_year = (incident - timedelta(days=rng.randint(0, 300))).year
    prefix = _LINE_PREFIX[line]
    policy_no = f"P{prefix}{policy_year}{org.region_code}{rng.randrange(10**6):06d}"
    claim_no = None
    if cause_group == "claims":
        claim_no = f"C{prefix}{incident.year}{org.region_code}{rng.randrange(10**6):06d}"

    premium = _log_amount(rng, *_PREMIUM_RANGE[family])
    if cause_group == "claims":
        amount = _log_amount(rng, *_CLAIM_RANGE[family])
        offered = (
            0 if cause in ("claims.liability", "claims.denial") else _round10(amount * rng.uniform(0.25, 0.8))
        )
    elif cause == "surrender.amount":
        amount = premium if rng.random() < 0.6 else _round10(premium * rng.uniform(0.7, 0.95))
        offered = _round10(premium * rng.uniform(0.1, 0.6))
    else:
        amount, offered = premium, 0
    refund = amount if cause_group == "surrender" else premium
    amount_claimed: Decimal | None = None
    if cause_group == "claims":
        amount_claimed = Decimal(amount).quantize(Decimal("0.01"))
    elif demand == "refund":
        amount_claimed = Decimal(refund).quantize(Decimal("0.01"))

    staff_pool = {
        "claims": ("理赔员", "查勘员", "定损员", "客服人员"),
        "sales": ("业务员", "销售人员", "代理人"),
    }.get(cause_group, ("客服人员", "工作人员"))
    if line == "motor.ctpl":
        products: tuple[str, ...] = (_CTPL_PRODUCT,)
    elif group == "minor":
        products = _PRODUCTS_MINOR.get(family, _PRODUCTS[family])
    elif group == "elderly":
        products = _PRODUCTS_ELDERLY.get(family, _PRODUCTS[family])
    else:
        products = _PRODUCTS[family]
    slots = {
        "date": _cn_date(incident, received),
        "date2": _cn_date(
            incident + timedelta(days=rng.randint(3, max(3, (received - incident).days))), received
        ),
        "vehicle": rng.choice(_VEHICLES),
        "plate": rng.choice(city.plates) + _plate_tail(rng),
        "place": rng.choice(city.places),
        "city": city.name,
        "port": rng.choice(city.ports or ("附近港口",)),
        "shop": rng.choice(_SHOPS),
        "hospital": rng.choice(
            (f"{city.name}市人民医院", f"{city.name}市中医院", "当地一家三甲医院", "区人民医院")
        ),
        "product": rng.choice(products),
        "premium": premium,
        "amount": amount,
        "offered": offered,
        "refund": refund,
        "days": max(5, (received - incident).days),
        "late": rng.randint(3, 7),
        "times": rng.randint(3, 12),
        "sms_count": rng.randint(15, 60),
        "stay": rng.randint(3, 15),
        "heads": rng.randint(5, 60),
        "crop": rng.choice(_CROPS),
        "cargo": rng.choice(_CARGO),
        "deny_reason": rng.choice(_templates(_DENY_REASONS, family)),
        "promise": rng.choice(_templates(_PROMISES, family)),
        "wait": rng.choice((30, 60, 90, 180)),
        "addon": rng.choice(_ADDONS),
        "loan": rng.randint(3, 30),
        "car_age": rng.randint(10, 15),
        "surcharge": rng.choice((15, 20, 25, 30, 40, 50)),
        "field": rng.choice(_templates(_FIELDS, family)),
        "pi_item": rng.choice(_PI_ITEMS),
        "matter": rng.choice(_MATTERS),
        "staff": rng.choice(staff_pool),
        "age": person["age"],
    }

    issue_keys = ["elderly", family] if group == "elderly" and cause == "underwriting.refusal" else [family]
    issue = rng.choice(_templates(_ISSUES[cause], *issue_keys)).format_map(slots)
    context = ""
    if cause_group == "claims":
        if group == "minor" and family in ("accident", "health"):
            pool = _INCIDENTS["minor"]
        else:
            pool = _INCIDENTS.get(line, ()) + _templates(_INCIDENTS, family)
        context = rng.choice(pool).format_map(slots)
    elif cause_group in ("sales", "surrender") or (
        cause_group in ("service", "other") and rng.random() < 0.35
    ):
        context = rng.choice(_templates(_PURCHASE, family)).format_map(slots)

    opening = ""
    if group == "elderly" and rng.random() < 0.5:
        opening = f"我今年{person['age']}岁，"
    elif rng.random() < 0.08:
        opening = "本人是贵公司多年的老客户，"
    behaviour = ""
    if cause_group in ("claims", "surrender", "service", "sales"):  # process complaints: who struggles how
        if "new_resident" in person["special_groups"] and rng.random() < 0.6:
            behaviour = _BEHAVIOUR_NEW_RESIDENT.format_map(slots)
        elif "disabled" in person["special_groups"] and rng.random() < 0.6:
            behaviour = _BEHAVIOUR_DISABLED
        elif group == "elderly" and rng.random() < 0.3:
            behaviour = _BEHAVIOUR_ELDERLY
    if not behaviour and rng.random() < (0.5 if cause_group in ("claims", "service") else 0.2):
        behaviour = rng.choice(_BEHAVIOUR).format_map(slots)

    core = [opening + context if context else opening, issue, behaviour]
    core = [c for c in core if c]
    demand_text = rng.choice(_DEMAND_TEXT[demand]).format_map(slots)

    record: dict[str, Any] = {
        "org_code": org.code,
        "complainant_name": person["name"],
        "id_number": person["id_number"],
        "phone": person["phone"],
        "policy_no": policy_no,
        "claim_no": claim_no,
        "business_line": line,
        "cause": cause,
        "demand": demand,
        "channel": channel,
        "description": "",
        "amount_claimed": amount_claimed,
        "received_at": received_at,
        "special_groups": sorted(person["special_groups"]),
        "outcome_hint": _outcome(rng, (now - received_at).total_seconds() / 86400),
    }
    draft = _Draft(record, core, demand_text)
    record["description"] = _describe(rng, core, demand_text)
    return draft


def _describe(rng: random.Random, core: list[str], demand_text: str, prefix: str = "") -> str:
    parts = ([prefix] if prefix else []) + core + [demand_text]
    text = _fit(parts)
    fillers = list(_FILLERS)
    rng.shuffle(fillers)
    for f in fillers:
        if len(text) >= DESCRIPTION_MIN:
            break
        text += f
    return text


def _repeat(rng: random.Random, orig: _Draft, now: datetime, tax: Taxonomy) -> dict[str, Any]:
    first: datetime = orig.record["received_at"]
    latest = min(first + timedelta(days=29), now.astimezone(CN_TZ) - timedelta(hours=1))
    span = max(1.0, (latest - first).total_seconds())
    at = first + timedelta(seconds=rng.uniform(min(span, 86400.0), span))
    channel = "regulator" if rng.random() < 0.5 else _weighted(rng, _CHANNEL_WEIGHTS)
    slots = {
        "orig_date": _cn_date(first.date(), at.date()),
        "orig_channel": tax.label("channels", orig.record["channel"], "zh"),
    }
    prefix = rng.choice(_REPEAT_PREFIX).format_map(slots)
    record = dict(orig.record)
    record["special_groups"] = list(orig.record["special_groups"])
    record.update(
        channel=channel,
        received_at=at,
        description=_describe(rng, orig.core, orig.demand_text, prefix),
        outcome_hint=_outcome(rng, (now - at).total_seconds() / 86400),
    )
    return record


def generate_complaints(
    n: int,
    seed: int,
    now: datetime,
    orgs: Sequence[OrgSpec] | None = None,
    *,
    taxonomy: Taxonomy | None = None,
) -> list[dict[str, Any]]:
    """`n` demo complaints received over the `HISTORY_DAYS` days before `now`, sorted by `received_at`.

    Keys: org_code, complainant_name, id_number, phone, policy_no, claim_no (claims causes only),
    business_line, cause, demand, channel (leaf codes of the default taxonomy), description (60-300
    characters of Chinese), amount_claimed (Decimal yuan or None), received_at (aware, China time),
    special_groups (declared groups only: new_resident, disabled; elderly and minor are derived from the ID
    number), outcome_hint (open, decided, closed, withdrawn; older complaints mostly closed).

    About 6% are repeats of an earlier complaint (same person, phone, policy and cause within 30 days, often
    escalated through the regulator). ID numbers carry the handling city's region code (the first four digits
    match the org's `region_code`) except for new urban residents, whose IDs come from their home province.
    Same arguments, same output.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if n < 0:
        raise ValueError("n must not be negative")
    tax = taxonomy if taxonomy is not None else load_taxonomy()
    _check_codes(tax)
    org_list = list(orgs) if orgs is not None else demo_orgs()
    targets = [o for o in org_list if o.kind in ("subbranch", "branch")]
    if not targets:
        raise ValueError("orgs contains no branch or sub-branch to receive complaints")
    weights = [_ORG_WEIGHTS.get(o.code, 3 if o.kind == "subbranch" else 1) for o in targets]

    rng = random.Random(seed)
    n_repeats = round(n * 0.06) if n >= 10 else 0
    drafts = [_draft(rng, rng.choices(targets, weights=weights)[0], now) for _ in range(n - n_repeats)]
    records = [d.record for d in drafts]
    cutoff = now - timedelta(days=2)
    eligible = [d for d in drafts if d.record["received_at"] <= cutoff]
    for _ in range(n_repeats):
        if eligible:
            records.append(_repeat(rng, rng.choice(eligible), now, tax))
        else:  # everything is too recent to be repeated
            records.append(_draft(rng, rng.choices(targets, weights=weights)[0], now).record)
    records.sort(key=lambda r: r["received_at"])
    return records
