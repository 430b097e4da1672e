"""Sign-in, sign-out, language switch and the home page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from xiaobao.auth import services as auth
from xiaobao.auth.services import LoginPolicy
from xiaobao.core.errors import XiaobaoError
from xiaobao.web.deps import (
    LANG_COOKIE,
    SESSION_COOKIE,
    ContainerDep,
    CurrentUser,
    LangDep,
    UowDep,
    client_ip,
)
from xiaobao.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # only local paths: no open redirect to another site
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Any:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    uow: UowDep,
    container: ContainerDep,
    lang: LangDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Any:
    s = container.settings
    now = container.clock.now()
    try:
        user = auth.authenticate(
            uow.session,
            username.strip(),
            password,
            ip=client_ip(request),
            now=now,
            policy=LoginPolicy(s.login_max_failures),
        )
    except XiaobaoError as e:
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": e.message(lang)},
            status_code=e.status_code if e.status_code != 400 else 401,
        )
    token = auth.start_session(uow.session, user, now=now, hours=s.session_hours, ip=client_ip(request))
    uow.commit()
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=s.cookie_secure,
        max_age=s.session_hours * 3600,
        path="/",
    )
    return resp


@router.post("/logout")
def logout(request: Request, uow: UowDep, who: CurrentUser) -> Any:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth.end_session(uow.session, token)
        uow.commit()
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/lang/{code}")
def switch_lang(code: str, request: Request) -> Any:
    back = _safe_next(request.headers.get("referer", "/").split(request.url.netloc, 1)[-1])
    resp = RedirectResponse(back, status_code=303)
    if code in ("zh", "en"):
        resp.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 86400, path="/")
    return resp


@router.get("/")
def home(who: CurrentUser) -> Any:
    from xiaobao.auth.roles import Perm

    if who.can(Perm.STATS_VIEW):
        target = "/complaints/dashboard"
    elif who.can(Perm.COMPLAINT_VIEW):
        target = "/complaints"
    elif who.can(Perm.ADMIN):
        target = "/admin/users"
    else:
        target = "/inbox"
    return RedirectResponse(target, status_code=303)


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}
