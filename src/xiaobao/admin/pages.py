"""Audit-log viewer and user / API-token administration: HTML pages and the JSON audit API."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse

from xiaobao.admin import services
from xiaobao.auth.roles import ROLE_LABELS, Perm, Role
from xiaobao.auth.tables import Org
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import XiaobaoError
from xiaobao.web.deps import ContainerDep, CurrentUser, LangDep, UowDep
from xiaobao.web.templating import render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def _filter(
    action: str | None,
    entity_type: str | None,
    entity_id: str | None,
    actor: str | None,
    since: str | None,
    until: str | None,
    page: int,
) -> services.AuditFilter:
    def day(v: str | None, end: bool = False) -> datetime | None:
        if not v:
            return None
        d = datetime.fromisoformat(v).date()
        return datetime.combine(d, time.max if end else time.min, tzinfo=CN_TZ)

    return services.AuditFilter(
        action=action or None,
        entity_type=entity_type or None,
        entity_id=entity_id or None,
        actor=actor or None,
        since=day(since),
        until=day(until, end=True),
        page=page,
    )


@api.get("", summary="Audit log entries (auditors and admins), newest first")
def audit_json(
    uow: UowDep,
    who: CurrentUser,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> dict[str, Any]:
    total, rows = services.audit_entries(
        uow.session, who, _filter(action, entity_type, entity_id, actor, since, until, page)
    )
    return {
        "total": total,
        "page": page,
        "items": [
            {
                "id": r.id,
                "at": r.at.isoformat(),
                "actor": r.actor_label,
                "action": r.action,
                "entity_type": r.entity_type,
                "entity_id": r.entity_id,
                "before": r.before,
                "after": r.after,
                "ip": r.ip,
            }
            for r in rows
        ],
    }


@router.get("/admin/audit")
def audit_page(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Any:
    f = _filter(action, entity_type, entity_id, actor, since, until, page)
    total, rows = services.audit_entries(uow.session, who, f)
    return render(
        request,
        "admin/audit.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // f.per_page)),
            "q": {
                "action": action or "",
                "entity_type": entity_type or "",
                "entity_id": entity_id or "",
                "actor": actor or "",
                "since": since or "",
                "until": until or "",
            },
        },
    )


def _users_page(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    *,
    error: XiaobaoError | None = None,
    new_token: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Any:
    s = uow.session
    from sqlalchemy import select

    orgs = list(s.scalars(select(Org).where(Org.path.startswith(who.scope_path)).order_by(Org.path)))
    return render(
        request,
        "admin/users.html",
        {
            "users": services.users(s, who, request.query_params.get("q")),
            "tokens": services.tokens(s, who),
            "orgs": orgs,
            "roles": [(r.value, ROLE_LABELS[r]) for r in Role],
            "error": error,
            "new_token": new_token,
            "v": values or {},
            "problems": {p.field: p for p in (error.problems if error else [])},
        },
        status_code=status_code,
    )


@router.get("/admin/users")
def users_page(request: Request, uow: UowDep, who: CurrentUser) -> Any:
    if not who.can(Perm.ADMIN):
        services.users(uow.session, who)  # raises Forbidden
    return _users_page(request, uow, who)


@router.post("/admin/users")
def create_user(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    username: Annotated[str, Form()],
    display_name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    org_code: Annotated[str, Form()],
    roles: Annotated[list[str] | None, Form()] = None,
) -> Any:
    try:
        services.create_user(
            uow.session,
            who,
            username=username,
            display_name=display_name,
            password=password,
            org_code=org_code,
            roles=roles or [],
            now=container.clock.now(),
        )
        uow.commit()
    except XiaobaoError as e:
        uow.rollback()
        values = {
            "username": username,
            "display_name": display_name,
            "org_code": org_code,
            "roles": roles or [],
        }
        return _users_page(request, uow, who, error=e, values=values, status_code=e.status_code)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}")
def update_user(
    request: Request,
    user_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    roles: Annotated[list[str] | None, Form()] = None,
    active: Annotated[bool, Form()] = False,
) -> Any:
    try:
        services.update_user(
            uow.session, who, user_id, roles=roles or [], active=active, now=container.clock.now()
        )
        uow.commit()
    except XiaobaoError as e:
        uow.rollback()
        return _users_page(request, uow, who, error=e, status_code=e.status_code)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/tokens")
def issue_token(
    request: Request,
    user_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    name: Annotated[str, Form()] = "",
) -> Any:
    try:
        raw = services.issue_token(uow.session, who, user_id, name, container.clock.now())
        uow.commit()
    except XiaobaoError as e:
        uow.rollback()
        return _users_page(request, uow, who, error=e, status_code=e.status_code)
    # shown once, never stored in clear
    return _users_page(request, uow, who, new_token=raw)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(token_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep) -> Any:
    services.revoke_token(uow.session, who, token_id, container.clock.now())
    uow.commit()
    return RedirectResponse("/admin/users", status_code=303)
