"""Pydantic validation errors as bilingual field problems."""

from __future__ import annotations

from typing import Any

from xiaobao.core.errors import FieldProblem

_ZH = {
    "missing": "必填",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "int_parsing": "须为整数",
    "decimal_parsing": "须为数字",
    "datetime_parsing": "日期时间格式不正确",
    "datetime_from_date_parsing": "日期时间格式不正确",
    "literal_error": "取值不在允许范围内",
    "json_invalid": "JSON 格式不正确",
    "model_attributes_type": "格式不正确",
    "decimal_max_places": "小数位过多",
    "string_type": "须为文本",
}


def bilingual_problem(err: dict[str, Any]) -> FieldProblem:
    loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "form")]
    field = ".".join(loc) or "request"
    kind = err.get("type", "")
    zh = _ZH.get(kind, "格式不正确")
    ctx = err.get("ctx") or {}
    if "min_length" in ctx:
        zh += f"（至少 {ctx['min_length']} 个字符）"
    if "max_length" in ctx:
        zh += f"（至多 {ctx['max_length']} 个字符）"
    return FieldProblem(field, zh, str(err.get("msg", kind)))
