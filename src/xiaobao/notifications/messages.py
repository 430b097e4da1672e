"""Chinese message templates, one Jinja2 text template per kind (templates/messages/<kind>.txt): the
first line is the title, the rest the body. E-mail adds the link; SMS is the title alone."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from xiaobao.notifications.domain import Kind

TEMPLATE_DIR = Path(__file__).parent / "templates" / "messages"
SMS_MAX = 120


@lru_cache
def _env() -> Environment:
    # plain text (e-mail, SMS, inbox rows rendered by the autoescaping page templates): no HTML escaping here
    return Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=False,  # noqa: S701
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(kind: Kind | str, **ctx: Any) -> tuple[str, str]:
    """(title, body) of a message of this kind."""
    text = _env().get_template(f"{Kind(kind).value}.txt").render(**ctx).strip()
    title, _, body = text.partition("\n")
    title = title.strip()
    if len(title) > 200:
        title = title[:199] + "…"
    return title, body.strip()


def email_body(body: str, link: str | None, base_url: str) -> str:
    out = body
    if link:
        out += f"\n\n查看详情：{base_url.rstrip('/')}{link}"
    return out + "\n\n—— 消保管理平台（系统自动发送，请勿直接回复）"


def sms_text(title: str) -> str:
    text = f"【消保】{title}，请登录消保管理平台查看。"
    return text if len(text) <= SMS_MAX else text[: SMS_MAX - 1] + "…"
