"""Jinja2 environment shared by every module's pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from xiaobao.auth.roles import Perm
from xiaobao.complaints.domain import STATUS_META, Status
from xiaobao.complaints.taxonomy import load_taxonomy
from xiaobao.core import pii
from xiaobao.core.calendar import CN_TZ
from xiaobao.web.i18n import translate

PKG = Path(__file__).resolve().parent.parent
MODULE_TEMPLATE_DIRS = [
    PKG / "web" / "templates",
    PKG / "complaints" / "templates",
    PKG / "notifications" / "templates",
    PKG / "jobs" / "templates",
    PKG / "admin" / "templates",
    PKG / "tasks" / "templates",
    PKG / "claims" / "templates",
    PKG / "review" / "templates",
    PKG / "radar" / "templates",
]

templates = Jinja2Templates(directory=str(MODULE_TEMPLATE_DIRS[0]))
templates.env.loader = ChoiceLoader([FileSystemLoader(str(d)) for d in MODULE_TEMPLATE_DIRS])


def _local(dt: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return dt.astimezone(CN_TZ).strftime(fmt) if dt else ""


templates.env.filters["local"] = _local
templates.env.globals.update(
    STATUS_META=STATUS_META,
    Status=Status,
    Perm=Perm,
    mask_phone=pii.mask_phone,
    mask_id=pii.mask_id,
    mask_name=pii.mask_name,
    mask_text=pii.mask_text,
)


def render(request: Request, name: str, ctx: dict[str, Any] | None = None, status_code: int = 200) -> Any:
    from xiaobao.web.deps import get_lang

    lang = get_lang(request)
    tax = load_taxonomy()
    base = {
        "request": request,
        "lang": lang,
        "_": lambda s: translate(s, lang),
        "label": lambda kind, code: tax.label(kind, code, lang) if code else "",
        "status_label": lambda s: STATUS_META[Status(s)][0 if lang == "zh" else 1],
        "status_colour": lambda s: STATUS_META[Status(s)][2],
        "user": getattr(request.state, "principal", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }
    base.update(ctx or {})
    return templates.TemplateResponse(request, name, base, status_code=status_code)
