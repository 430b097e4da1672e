"""Helpers shared by every module's HTML form handlers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError

from xiaobao.core.errors import FieldProblem, ValidationFailed, XiaobaoError
from xiaobao.web.validation import bilingual_problem

Label = tuple[str, str]
"""(Chinese, English)."""


def tr(label: Label, lang: str) -> str:
    return label[0] if lang == "zh" else label[1]


def now_of(container: Any) -> datetime:
    now: datetime = container.clock.now()
    return now


def blank(v: str | None) -> str | None:
    """A form value with blanks as None."""
    v = (v or "").strip()
    return v or None


def problems_by_field(exc: XiaobaoError, lang: str) -> dict[str, list[str]]:
    """Field name -> messages in the user's language."""
    out: dict[str, list[str]] = {}
    for p in exc.problems:
        out.setdefault(p.field, []).append(p.zh if lang == "zh" else p.en)
    return out


def form_problems(e: ValidationError, raw: dict[str, Any]) -> ValidationFailed:
    """Pydantic errors as bilingual field problems; an empty field reads "required"."""
    problems: list[FieldProblem] = []
    for err in e.errors():
        p = bilingual_problem(dict(err))
        if raw.get(p.field) in ("", None, []):
            p = FieldProblem(p.field, "此项必填", "This field is required")
        problems.append(p)
    return ValidationFailed(problems)


def validate_form(model: type[BaseModel], raw: dict[str, Any]) -> Any:
    """Build a schema from form values, turning pydantic errors into bilingual field problems."""
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise form_problems(e, raw) from e


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )
