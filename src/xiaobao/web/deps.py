"""Typed FastAPI dependencies: the container, a unit of work per request, the current principal."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.bootstrap import Container
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import Forbidden, Unauthenticated

SESSION_COOKIE = "xb_session"
LANG_COOKIE = "xb_lang"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def _finish_uow(container: Container, uow: UnitOfWork, events: list[Any]) -> None:
    uow.__exit__(None, None, None)
    container.publish(events)


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """A unit of work per request; committed events are published after the route returned.

    Opening a session does no I/O (it connects on first use), so that happens on the event loop. Closing
    runs in the thread pool only when it has I/O to do: a transaction still open (a read-only request, or
    an error: ROLLBACK) or events to publish. A route that committed and published its events itself
    closes without another thread hand-off."""
    container = get_container(request)
    uow = container.uow().__enter__()
    try:
        yield uow
    except BaseException:
        await run_in_threadpool(uow.__exit__, None, None, None)
        raise
    events = uow.collect_events()
    if events or uow.session.in_transaction():
        await run_in_threadpool(_finish_uow, container, uow, events)
    else:
        uow.__exit__(None, None, None)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_lang(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE) or request.app.state.container.settings.default_lang
    return lang if lang in ("zh", "en") else "zh"


LangDep = Annotated[str, Depends(get_lang)]


async def _csrf_value(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


def _principal_from_token(uow: UnitOfWork, raw: str, now: datetime, ip: str) -> Principal:
    principal, touched = auth.principal_for_api_token(uow.session, raw, now, ip)
    if touched:  # last_used_at moved (at most once a minute): persist it now
        uow.commit()
    # otherwise nothing was written: the request goes on in the same transaction (saves a COMMIT round trip)
    return principal


def _principal_from_session(uow: UnitOfWork, token: str, now: datetime, ip: str) -> tuple[Principal, str]:
    user, sess = auth.resolve_session(uow.session, token, now)
    return auth.principal_for(user, ip), sess.csrf_token


async def get_principal(request: Request, uow: UowDep, container: ContainerDep) -> Principal:
    """Bearer API token (integrations) or session cookie (people). Cookie-authenticated unsafe
    requests must carry the session's CSRF token (header X-CSRF-Token or form field csrf_token).

    The database look-ups run in the thread pool: this dependency is async (it may read the form for
    the CSRF token), and blocking the event loop on a pool checkout deadlocks the worker under load."""
    now = container.clock.now()
    ip = client_ip(request)
    authz = request.headers.get("authorization", "")
    if authz.lower().startswith("bearer "):
        return await run_in_threadpool(_principal_from_token, uow, authz[7:].strip(), now, ip)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated()
    principal, csrf_token = await run_in_threadpool(_principal_from_session, uow, token, now, ip)
    request.state.csrf_token = csrf_token
    if request.method not in SAFE_METHODS:
        sent = await _csrf_value(request)
        if not sent or not secrets.compare_digest(sent, csrf_token):
            raise Forbidden(
                "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试",
                "Form expired or of unknown origin (CSRF check failed); reload and retry",
            )
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(get_principal)]


def require(perm: Perm) -> Any:
    def _dep(who: CurrentUser) -> Principal:
        if not who.can(perm):
            raise Forbidden()
        return who

    return Depends(_dep)
