"""Administration: the audit-log viewer (auditors) and user / API-token management (admins).
Every query is limited to the caller's org subtree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm, Role
from xiaobao.auth.tables import ApiToken, Org, User, UserRole
from xiaobao.core import audit
from xiaobao.core.audit import AuditLog
from xiaobao.core.errors import FieldProblem, Forbidden, NotFound, ValidationFailed


@dataclass
class AuditFilter:
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    per_page: int = 50


def _need(who: Principal, perm: Perm) -> None:
    if not who.can(perm):
        raise Forbidden()


def audit_entries(s: Session, who: Principal, f: AuditFilter) -> tuple[int, list[AuditLog]]:
    """Audit rows, newest first. Outside head office, only rows written by users of the caller's subtree."""
    _need(who, Perm.AUDIT_VIEW)
    stmt = select(AuditLog)
    if who.scope_path != "/":
        members = select(User.id).join(Org, Org.id == User.org_id).where(Org.path.startswith(who.scope_path))
        stmt = stmt.where(AuditLog.actor_id.in_(members))
    if f.action:
        stmt = stmt.where(AuditLog.action.startswith(f.action))
    if f.entity_type:
        stmt = stmt.where(AuditLog.entity_type == f.entity_type)
    if f.entity_id:
        stmt = stmt.where(AuditLog.entity_id == f.entity_id)
    if f.actor:
        stmt = stmt.where(AuditLog.actor_label.contains(f.actor))
    if f.since:
        stmt = stmt.where(AuditLog.at >= f.since)
    if f.until:
        stmt = stmt.where(AuditLog.at < f.until)
    total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    per_page = max(1, min(f.per_page, 200))
    rows = s.scalars(
        stmt.order_by(AuditLog.id.desc()).offset((max(1, f.page) - 1) * per_page).limit(per_page)
    )
    return total, list(rows)


def users(s: Session, who: Principal, q: str | None = None) -> list[User]:
    _need(who, Perm.ADMIN)
    stmt = select(User).join(Org, Org.id == User.org_id).where(Org.path.startswith(who.scope_path))
    if q:
        stmt = stmt.where(or_(User.username.contains(q), User.display_name.contains(q)))
    return list(s.scalars(stmt.order_by(Org.path, User.username)).unique())


def access_user(s: Session, who: Principal, user_id: int) -> User:
    _need(who, Perm.ADMIN)
    user = s.get(User, user_id)
    if user is None or not who.sees_path(user.org.path):
        raise NotFound("用户", "user")
    return user


def create_user(
    s: Session,
    who: Principal,
    *,
    username: str,
    display_name: str,
    password: str,
    org_code: str,
    roles: list[str],
    now: datetime,
) -> User:
    _need(who, Perm.ADMIN)
    problems = []
    org = s.scalar(select(Org).where(Org.code == org_code))
    if org is None or not who.sees_path(org.path):
        problems.append(
            FieldProblem("org_code", "机构不存在或不在您的管辖范围", "unknown org or outside your scope")
        )
    bad = [r for r in roles if r not in Role.__members__.values()]
    if bad or not roles:
        problems.append(FieldProblem("roles", "请选择有效的角色", "choose at least one valid role"))
    if len(password) < 12:
        problems.append(
            FieldProblem("password", "密码至少 12 个字符", "password must be at least 12 characters")
        )
    if not username.strip() or not username.isascii():
        problems.append(
            FieldProblem("username", "用户名须为英文字母、数字或下划线", "username must be ASCII")
        )
    if problems:
        raise ValidationFailed(problems)
    assert org is not None
    user = auth.create_user(
        s,
        username=username.strip(),
        display_name=display_name.strip() or username,
        password=password,
        org=org,
        roles=roles,
        now=now,
    )
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        after={"username": user.username, "org": org.code, "roles": sorted(roles)},
    )
    return user


def update_user(
    s: Session, who: Principal, user_id: int, *, roles: list[str], active: bool, now: datetime
) -> User:
    user = access_user(s, who, user_id)
    if user.id == who.user_id and (not active or Role.ADMIN not in roles):
        raise ValidationFailed(
            [
                FieldProblem(
                    "roles",
                    "不能停用自己或取消自己的管理员角色",
                    "you cannot deactivate yourself or drop your own admin role",
                )
            ]
        )
    bad = [r for r in roles if r not in Role.__members__.values()]
    if bad:
        raise ValidationFailed([FieldProblem("roles", f"未知角色 {bad}", f"unknown roles {bad}")])
    before = {"roles": sorted(user.roles), "active": user.active}
    user.role_rows = [UserRole(role=r) for r in sorted(set(roles))]
    user.active = active
    s.flush()
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="user.update",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after={"roles": sorted(user.roles), "active": user.active},
    )
    return user


def tokens(s: Session, who: Principal) -> list[ApiToken]:
    _need(who, Perm.ADMIN)
    stmt = (
        select(ApiToken)
        .join(User, User.id == ApiToken.user_id)
        .join(Org, Org.id == User.org_id)
        .where(Org.path.startswith(who.scope_path))
        .order_by(ApiToken.created_at.desc())
    )
    return list(s.scalars(stmt))


def issue_token(s: Session, who: Principal, user_id: int, name: str, now: datetime) -> str:
    user = access_user(s, who, user_id)
    if not name.strip():
        raise ValidationFailed([FieldProblem("name", "请填写令牌用途", "name the token's purpose")])
    return auth.issue_api_token(s, user, name.strip(), now)


def revoke_token(s: Session, who: Principal, token_id: int, now: datetime) -> None:
    row = s.get(ApiToken, token_id)
    if row is None:
        raise NotFound("令牌", "token")
    access_user(s, who, row.user_id)
    if row.revoked_at is None:
        row.revoked_at = now
        audit.record(
            s,
            at=now,
            actor_id=who.user_id,
            actor_label=who.label,
            action="auth.token_revoked",
            entity_type="user",
            entity_id=row.user_id,
            after={"prefix": row.prefix},
        )
