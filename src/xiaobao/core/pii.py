"""Personal information helpers: ID-number and phone validation, age derivation, masking.

Pure functions, no I/O. Validation errors are `ValueError` subclasses whose message is "中文 / English" and
which also carry `.zh`, `.en` and a machine-readable `.reason`.

个人信息保护法 Art.28 treats ID numbers as sensitive: lists, logs and exports show them masked (`mask_id`,
`mask_phone`, `mask_name`, `mask_text`); only roles that must contact the complainant see them in full.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

__all__ = [
    "ELDERLY_AGE",
    "MINOR_AGE",
    "IdNumberError",
    "PhoneError",
    "PiiError",
    "age_on",
    "birth_date_from_id",
    "compose_id_number",
    "id_check_char",
    "is_elderly",
    "is_minor",
    "is_mobile",
    "mask_id",
    "mask_name",
    "mask_phone",
    "mask_text",
    "normalise_phone",
    "sex_from_id",
    "upgrade_legacy_id",
    "validate_id_number",
]

ELDERLY_AGE = 60
"""Elderly (老年人) from this age, counted in full years."""
MINOR_AGE = 18
"""Minor (未成年人) below this age."""


class PiiError(ValueError):
    """A malformed personal identifier. str() is "zh / en"; `reason` is a stable code for callers."""

    def __init__(self, reason: str, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.reason = reason
        self.zh = zh
        self.en = en


class IdNumberError(PiiError):
    """reason: empty, length, characters, region, birth_date, checksum."""


class PhoneError(PiiError):
    """reason: empty, format."""


# ---- resident ID numbers (GB 11643-1999) ----------------------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# Province-level prefixes (GB/T 2260), plus 71/81/82/83 used on residence permits.
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82 83".split()
)
_MIN_BIRTH_YEAR = 1870  # the GB 11643 worked example is born in 1880


def _clean(s: str) -> str:
    """NFKC (full-width digits and letters become ASCII), drop whitespace, upper-case."""
    return "".join(unicodedata.normalize("NFKC", s).split()).upper()


def id_check_char(first17: str) -> str:
    """The GB 11643 check character (0-9 or X) for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("id_check_char needs exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def _region_ok(s: str) -> bool:
    # foreigners' permanent residence ID cards (2023 edition) start with 9
    return s[:2] in _PROVINCES or s[0] == "9"


def _parse_birth(yyyymmdd: str) -> date | None:
    try:
        d = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None
    return d if d.year >= _MIN_BIRTH_YEAR else None


def validate_id_number(s: str, *, on: date | None = None) -> str:
    """Check an 18-character mainland resident ID number; return it normalised (ASCII, upper-case X).

    Checks length, characters, region prefix, birth date (a real calendar date from 1870 on; not after `on`
    when given) and the check character. Raises `IdNumberError` (a ValueError) naming the problem.
    """
    if s is None or not str(s).strip():
        raise IdNumberError("empty", "身份证号不能为空", "ID number is empty")
    v = _clean(str(s))
    if len(v) == 15 and v.isdigit():
        raise IdNumberError(
            "length",
            "15位旧版身份证号请换成18位新号码",
            "legacy 15-digit ID numbers are not accepted; use the 18-character number",
        )
    if len(v) != 18:
        raise IdNumberError(
            "length", f"身份证号应为18位，实际为{len(v)}位", f"ID number must be 18 characters, got {len(v)}"
        )
    if not (v[:17].isascii() and v[:17].isdigit()) or not (v[17].isdigit() or v[17] == "X"):
        raise IdNumberError(
            "characters",
            "身份证号前17位须为数字，最后一位为数字或X",
            "ID number must be 17 digits followed by a digit or X",
        )
    if not _region_ok(v):
        raise IdNumberError(
            "region", f"身份证号地区码「{v[:6]}」无效", f"ID number region code {v[:6]} is not valid"
        )
    birth = _parse_birth(v[6:14])
    if birth is None or (on is not None and birth > on):
        raise IdNumberError(
            "birth_date",
            f"身份证号中的出生日期「{v[6:14]}」无效",
            f"ID number birth date {v[6:14]} is not valid",
        )
    expected = id_check_char(v[:17])
    if v[17] != expected:
        raise IdNumberError(
            "checksum", "身份证号校验位错误，请核对号码", "ID number check digit does not match"
        )
    return v


def upgrade_legacy_id(s: str) -> str:
    """Convert a legacy 15-digit ID (birth year 19YY) to the 18-character form."""
    v = _clean(s)
    if len(v) != 15 or not v.isascii() or not v.isdigit():
        raise IdNumberError("length", "旧版身份证号应为15位数字", "legacy ID number must be 15 digits")
    if _parse_birth("19" + v[6:12]) is None:
        raise IdNumberError(
            "birth_date", f"身份证号中的出生日期「{v[6:12]}」无效", f"ID birth date {v[6:12]} is not valid"
        )
    body = v[:6] + "19" + v[6:]
    return body + id_check_char(body)


def birth_date_from_id(s: str) -> date:
    """Birth date from an 18-character ID (validated) or a legacy 15-digit one (born 19YY)."""
    v = _clean(s)
    if len(v) == 15 and v.isascii() and v.isdigit():
        v = upgrade_legacy_id(v)
    v = validate_id_number(v)
    return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))


def sex_from_id(s: str) -> str:
    """ "M" or "F" from the 17th digit (odd: male); accepts 18- and legacy 15-digit IDs."""
    v = _clean(s)
    if len(v) == 15 and v.isascii() and v.isdigit():
        v = upgrade_legacy_id(v)
    return "M" if int(validate_id_number(v)[16]) % 2 else "F"


def compose_id_number(region: str, birth: date, sequence: int) -> str:
    """Build a valid ID from a 6-digit region code, a birth date and a 3-digit sequence (odd: male).

    For test and demo data; it does not make the number belong to anyone.
    """
    if len(region) != 6 or not region.isascii() or not region.isdigit():
        raise ValueError("region must be 6 digits")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be 0..999")
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + id_check_char(body)


def age_on(id_or_birth: str | date, on: date) -> int:
    """Age in full years on `on`.

    The birthday itself counts; a 29 February birthday is reached on 1 March in common years.
    """
    if isinstance(id_or_birth, datetime):
        birth = id_or_birth.date()
    elif isinstance(id_or_birth, date):
        birth = id_or_birth
    else:
        birth = birth_date_from_id(id_or_birth)
    if isinstance(on, datetime):
        on = on.date()
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def is_elderly(id_or_birth: str | date, on: date) -> bool:
    """60 or older on `on` (老年人)."""
    return age_on(id_or_birth, on) >= ELDERLY_AGE


def is_minor(id_or_birth: str | date, on: date) -> bool:
    """Under 18 on `on` (未成年人)."""
    return age_on(id_or_birth, on) < MINOR_AGE


# ---- phone numbers --------------------------------------------------------------------------------

_MOBILE_RE = re.compile(r"1[3-9]\d{9}", re.ASCII)
# 0 + area code (010, 02X: 3 digits in all; others 4) + local number of 7-8 digits not starting 0/1
_LANDLINE_RE = re.compile(r"(0(?:10|2\d|[3-9]\d{2}))([2-9]\d{6,7})", re.ASCII)
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def normalise_phone(s: str) -> str:
    """Normalise a mainland phone number.

    Mobile numbers become 11 digits ("13812345678"); landlines become "area-local" ("0591-87654321").
    Spaces, dashes, dots, brackets and a +86 / 0086 prefix are dropped. Anything else raises `PhoneError`.
    """
    if s is None or not str(s).strip():
        raise PhoneError("empty", "电话号码不能为空", "phone number is empty")
    v = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", str(s)))
    international = False
    if v.startswith("+86"):
        v, international = v[3:], True
    elif v.startswith("0086"):
        v, international = v[4:], True
    elif v.startswith("86") and len(v) == 13 and _MOBILE_RE.fullmatch(v[2:]):
        v = v[2:]
    if _MOBILE_RE.fullmatch(v):
        return v
    if international and v[:1] not in ("", "0", "1"):
        v = "0" + v  # +86 591 87654321 -> 0591 87654321
    m = _LANDLINE_RE.fullmatch(v)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    raise PhoneError(
        "format",
        "电话号码格式不正确，请填写11位手机号或带区号的固定电话",
        "not a valid phone number: use an 11-digit mobile number or a landline with area code",
    )


def is_mobile(s: str) -> bool:
    """Whether `s` normalises to a mainland mobile number."""
    try:
        return _MOBILE_RE.fullmatch(normalise_phone(s)) is not None
    except ValueError:
        return False


# ---- masking --------------------------------------------------------------------------------------
# Masking never raises: it is used while rendering lists, logs and exports.


def _star_middle(v: str, keep_head: int, keep_tail: int) -> str:
    if len(v) <= keep_head + keep_tail:
        return "*" * len(v)
    return v[:keep_head] + "*" * (len(v) - keep_head - keep_tail) + v[len(v) - keep_tail :]


def mask_id(s: str | None) -> str:
    """ "350521196203150012" -> "3505**********0012": first 4 and last 4 kept ("" for None)."""
    if not s:
        return ""
    v = _clean(s)
    if len(v) <= 8:
        return "*" * len(v)
    return _star_middle(v, 4, 4)


def mask_phone(s: str | None) -> str:
    """ "13812345678" -> "138****5678"; "0591-87654321" -> "0591-****4321" ("" for None)."""
    if not s:
        return ""
    try:
        v = normalise_phone(s)
    except ValueError:
        digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", s))
        return _star_middle(digits, 3, 4) if len(digits) >= 8 else "*" * len(digits)
    if "-" in v:
        area, local = v.split("-", 1)
        return f"{area}-{_star_middle(local, 0, 4)}"
    return _star_middle(v, 3, 4)


def mask_name(s: str | None) -> str:
    """ "张三" -> "张*", "张小明" -> "张**", "欧阳小明" -> "欧阳**" ("" for None).

    Two- and three-character names keep the first character, longer names the first two. Names with a middle
    dot ("买买提·艾力") or spaces keep the first character and the separators.
    """
    if not s:
        return ""
    v = s.strip()
    if len(v) <= 1:
        return "*" * len(v)
    if any(sep in v for sep in "·• "):
        return v[0] + "".join(c if c in "·• " else "*" for c in v[1:])
    keep = 1 if len(v) <= 3 else 2
    return v[:keep] + "*" * (len(v) - keep)


# An ID (18 chars or legacy 15 digits), a mobile (optionally +86, optionally split 3-4-4) or a landline, not
# glued to other letters or digits (so policy and claim numbers like PDAA2025350500000123 are left alone).
_EDGE_L = r"(?<![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"
_EDGE_R = r"(?![0-9A-Za-z０-９Ａ-Ｚａ-ｚ])"
_TEXT_RE = re.compile(
    _EDGE_L
    + r"(?:"
    + r"(?P<id18>\d{17}[\dXxＸｘ])"
    + r"|(?P<id15>\d{15})"
    + r"|(?P<mobile>(?:(?:\+|＋)?86[\s\-]?)?1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4})"
    + r"|(?P<landline>0\d{2,3}[\-－]\d{7,8})"
    + r")"
    + _EDGE_R
)


def _looks_like_birth(yyyymmdd: str) -> bool:
    d = _parse_birth(yyyymmdd)
    return d is not None and d.year <= 2100


def _mask_match(m: re.Match[str]) -> str:
    raw = m.group(0)
    v = unicodedata.normalize("NFKC", raw)
    if m.group("id18") is not None:
        # mask anything shaped like an ID (plausible birth date), even with a wrong check digit
        return mask_id(v) if _looks_like_birth(v[6:14]) else raw
    if m.group("id15") is not None:
        return mask_id(v) if _looks_like_birth("19" + v[6:12]) else raw
    if m.group("mobile") is not None:
        digits = re.sub(r"\D", "", v)[-11:]
        return mask_phone(digits)
    return mask_phone(v)


def mask_text(text: str | None) -> str:
    """Mask ID numbers, mobile numbers and landlines embedded in free text ("" for None)."""
    if not text:
        return ""
    return _TEXT_RE.sub(_mask_match, text)
