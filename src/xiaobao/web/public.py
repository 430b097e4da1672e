"""Plumbing shared by the consumer pages under /public (no sign-in): complaints (`complaints.public_pages`) and
claim reports (`claims.public_pages`) use the same pieces, so a consumer moving between them keeps one CSRF
cookie and one elder-mode (大字版) choice.

- `seal` / `unseal`: HMAC-SHA256 signed values with `settings.secret_key`; the purpose is part of the MAC, so a
  token made for one use never passes as another.
- Double-submit CSRF for anonymous forms (there is no session to bind a token to): `render_public_page` sets a
  signed, time-stamped token in a cookie and in the page (`pcsrf`); `csrf_ok` checks the form's copy against
  the cookie; `CSRF_FAILED` is the bilingual answer when it does not match.
- Elder mode: `elder_mode` reads `?elder=`, then the form's hidden field, then the cookie; pages and redirects
  remember the choice (`remember_elder`, `public_redirect`).
- `public_principal` is the anonymous consumer as services see it; `check_public_rate` is the per-IP limit,
  counted from the audit rows the public actions write anyway (no table, holds across processes).

Timestamps come from the container clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.core import audit
from xiaobao.core.errors import RateLimited, XiaobaoError
from xiaobao.web.templating import render

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container

CSRF_COOKIE = "xb_pcsrf"
ELDER_COOKIE = "xb_elder"
CSRF_MAX_AGE = timedelta(hours=12)
PUBLIC_WINDOW = timedelta(hours=1)
"""Default window of the per-IP limits (`check_public_rate`)."""

# ---------------------------------------------------------------- signed values


def _mac(secret: str, purpose: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}\x00{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def seal(secret: str, purpose: str, payload: str) -> str:
    """`payload.signature`; the purpose is part of the MAC so a token of one kind never passes as another."""
    return f"{payload}.{_mac(secret, purpose, payload)}"


def unseal(secret: str, purpose: str, token: str | None) -> str | None:
    """The payload of a token made by `seal` with the same secret and purpose, else None."""
    if not token or "." not in token:
        return None
    payload, _, sig = token.rpartition(".")
    return payload if hmac.compare_digest(sig, _mac(secret, purpose, payload)) else None


def timestamp(dt: datetime) -> int:
    """Whole seconds since the epoch, for sealed payloads."""
    return int(dt.timestamp())


def from_timestamp(value: str) -> datetime | None:
    """The aware UTC datetime of a `timestamp` string, or None when it is not one."""
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


# ---------------------------------------------------------------- CSRF (double submit, signed)


def _csrf_valid(container: Container, token: str | None) -> bool:
    payload = unseal(container.settings.secret_key, "public-csrf", token)
    if payload is None or ":" not in payload:
        return False
    issued = from_timestamp(payload.rsplit(":", 1)[1])
    now = container.clock.now()
    return issued is not None and issued <= now + timedelta(minutes=5) and now - issued < CSRF_MAX_AGE


def csrf_token(request: Request, container: Container) -> tuple[str, bool]:
    """The browser's current token if still valid, else a new one; (token, is_new)."""
    current = request.cookies.get(CSRF_COOKIE)
    if current and _csrf_valid(container, current):
        return current, False
    nonce = secrets.token_urlsafe(18)
    return seal(
        container.settings.secret_key, "public-csrf", f"{nonce}:{timestamp(container.clock.now())}"
    ), True


def csrf_ok(request: Request, container: Container, sent: str) -> bool:
    """Whether the form's token equals the browser's CSRF cookie and that cookie is a valid, unexpired token."""
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(sent and cookie and hmac.compare_digest(sent, cookie) and _csrf_valid(container, cookie))


CSRF_FAILED = XiaobaoError(
    "页面已过期或来源不明，请重新提交（您填写的内容已保留）",
    "The page expired or came from elsewhere; please submit again (your entries are kept)",
)
"""What to tell a consumer whose form failed `csrf_ok` (re-render the form with their entries)."""

# ---------------------------------------------------------------- elder mode and page rendering


def elder_mode(request: Request, form_value: str | None = None) -> bool:
    """Large-text mode: `?elder=1|0` wins, then the form's hidden field, then the cookie."""
    q = request.query_params.get("elder")
    if q in ("0", "1"):
        return q == "1"
    if form_value in ("0", "1"):
        return form_value == "1"
    return request.cookies.get(ELDER_COOKIE) == "1"


def elder_toggle_url(request: Request, elder: bool) -> str:
    """This page's address with elder mode switched."""
    params = dict(request.query_params)
    params["elder"] = "0" if elder else "1"
    return f"{request.url.path}?{urlencode(params)}"


def render_public_page(
    request: Request,
    container: Container,
    name: str,
    ctx: dict[str, Any],
    *,
    status_code: int = 200,
    elder: bool | None = None,
) -> Response:
    """Render a consumer page (templates extend `public/base.html`): adds `elder`, `pcsrf` (the form token),
    `elder_url` and `page` to the context, sets the CSRF cookie when the token is new, remembers the elder-mode
    choice, and forbids caching (the page carries a token and possibly personal data)."""
    elder = elder_mode(request) if elder is None else elder
    token, fresh = csrf_token(request, container)
    base = {"elder": elder, "pcsrf": token, "elder_url": elder_toggle_url(request, elder), "page": name}
    base.update(ctx)
    resp: Response = render(request, name, base, status_code=status_code)
    remember_elder(resp, request, container, elder)
    if fresh:
        resp.set_cookie(
            CSRF_COOKIE,
            token,
            max_age=int(CSRF_MAX_AGE.total_seconds()),
            path="/public",
            httponly=True,
            samesite="lax",
            secure=container.settings.cookie_secure,
        )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def remember_elder(resp: Response, request: Request, container: Container, elder: bool) -> None:
    """Set the elder-mode cookie on `resp` when the choice differs from the browser's cookie."""
    if (request.cookies.get(ELDER_COOKIE) == "1") != elder:
        resp.set_cookie(
            ELDER_COOKIE,
            "1" if elder else "0",
            max_age=365 * 86400,
            path="/",
            samesite="lax",
            secure=container.settings.cookie_secure,
        )


def public_redirect(url: str, request: Request, container: Container, elder: bool) -> Response:
    """303 to `url`, keeping the elder-mode choice."""
    resp = RedirectResponse(url, status_code=303)
    remember_elder(resp, request, container, elder)
    return resp


# ---------------------------------------------------------------- anonymous actor and per-IP limits


def public_principal(ip: str | None) -> Principal:
    """The anonymous consumer as services see it: no user and no permission, but the IP is audited."""
    return Principal(
        user_id=None,
        username="public",
        display_name="公众",
        org_id=None,
        scope_path="/",
        roles=frozenset(),
        ip=ip,
    )


def check_public_rate(
    session: Session, action: str, ip: str, now: datetime, limit: int, window: timedelta = PUBLIC_WINDOW
) -> None:
    """Refuse (429) when anonymous callers from `ip` already did `action` `limit` times in `window`.

    Counts the audit rows the action writes anyway, so the limit holds across processes and needs no table."""
    log = audit.AuditLog
    done = (
        session.scalar(
            select(func.count())
            .select_from(log)
            .where(log.action == action, log.ip == ip, log.actor_id.is_(None), log.at > now - window)
        )
        or 0
    )
    if done >= limit:
        minutes = int(window.total_seconds() // 60)
        zh, en = (
            (f"{minutes // 60} 小时", f"{minutes // 60} hour(s)")
            if minutes % 60 == 0
            else (f"{minutes} 分钟", f"{minutes} minutes")
        )
        raise RateLimited(
            f"操作过于频繁：同一网络 {zh}内最多 {limit} 次，请稍后再试",
            f"Too many requests: at most {limit} per {en} from one network; try again later",
        )
