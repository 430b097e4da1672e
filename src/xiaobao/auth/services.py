"""Users, passwords (argon2), sessions, API tokens and login rate limiting."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, object_session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Role
from xiaobao.auth.tables import ApiToken, LoginAttempt, Org, User, UserRole, UserSession
from xiaobao.core import audit
from xiaobao.core.errors import Conflict, RateLimited, Unauthenticated, XiaobaoError

_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("dummy-password-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scope_path_for(org: Org, orgs_by_id: dict[int, Org] | None = None) -> str:
    """A user sees the subtree of their nearest non-department org (a department's staff see
    their branch), HQ sees everything.

    A department's ancestors are read from its materialised path in one query (or taken from
    `orgs_by_id`), not lazy-loaded parent by parent."""
    if org.kind != "department":
        return org.path
    ancestor_ids = [int(x) for x in org.path.strip("/").split("/")[:-1]]
    if orgs_by_id is not None and all(i in orgs_by_id for i in ancestor_ids):
        kinds = {i: (orgs_by_id[i].kind, orgs_by_id[i].path) for i in ancestor_ids}
    else:
        session = object_session(org)
        if session is None:  # a detached org: walk the loaded parents
            node: Org | None = org
            while node is not None and node.kind == "department":
                node = node.parent
            return node.path if node is not None else org.path
        kinds = {
            r.id: (r.kind, r.path)
            for r in session.execute(select(Org.id, Org.kind, Org.path).where(Org.id.in_(ancestor_ids)))
        }
    return _nearest_non_department(ancestor_ids, kinds, org.path)


def _nearest_non_department(ancestor_ids: list[int], kinds: dict[int, tuple[str, str]], own_path: str) -> str:
    for i in reversed(ancestor_ids):
        kind, path = kinds.get(i, ("department", ""))
        if kind != "department":
            return path
    return own_path


def principal_for(user: User, ip: str | None = None, via_token: bool = False) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        org_id=user.org_id,
        scope_path=scope_path_for(user.org),
        roles=user.roles,
        ip=ip,
        via_token=via_token,
    )


def add_org(
    session: Session,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    kind: str,
    parent: Org | None,
    region_code: str | None = None,
) -> Org:
    org = Org(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        kind=kind,
        parent=parent,
        path="",
        region_code=region_code,
    )
    session.add(org)
    session.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    session.flush()
    return org


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    org: Org,
    roles: list[str],
    now: datetime,
    phone: str | None = None,
    email: str | None = None,
) -> User:
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在", f"username {username} already exists")
    for r in roles:
        Role(r)  # raises on unknown role
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        org=org,
        phone=phone,
        email=email,
        created_at=now,
    )
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    return user


@dataclass
class LoginPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


def authenticate(
    session: Session, username: str, password: str, *, ip: str, now: datetime, policy: LoginPolicy
) -> User:
    """Checks the password; refuses (429) after too many recent failures for this username or IP."""
    since = now - policy.window
    failures = (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.at >= since,
                LoginAttempt.success.is_(False),
                (LoginAttempt.username == username) | (LoginAttempt.ip == ip),
            )
        )
        or 0
    )
    if failures >= policy.max_failures:
        raise RateLimited("登录失败次数过多，请稍后再试", "Too many failed sign-in attempts; try again later")
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password) and bool(user and user.active)
    session.add(LoginAttempt(username=username, ip=ip, at=now, success=ok))
    if not ok or user is None:
        session.commit()
        raise XiaobaoError("用户名或密码错误", "Wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(
        session,
        at=now,
        actor_id=user.id,
        actor_label=user.username,
        action="auth.login",
        entity_type="user",
        entity_id=user.id,
        ip=ip,
    )
    return user


def start_session(session: Session, user: User, *, now: datetime, hours: int, ip: str | None) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=sha256(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            ip=ip,
        )
    )
    session.flush()
    return token


def resolve_session(session: Session, token: str, now: datetime) -> tuple[User, UserSession]:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == sha256(token)))
    if row is None or row.expires_at <= now:
        raise Unauthenticated()
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthenticated()
    return user, row


def end_session(session: Session, token: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == sha256(token)))


def issue_api_token(session: Session, user: User, name: str, now: datetime) -> str:
    raw = "xb_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, prefix=raw[:10], token_hash=sha256(raw), user_id=user.id, created_at=now))
    audit.record(
        session,
        at=now,
        actor_id=user.id,
        actor_label=user.username,
        action="auth.token_issued",
        entity_type="user",
        entity_id=user.id,
        after={"name": name, "prefix": raw[:10]},
    )
    session.flush()
    return raw


_TOKEN_ROLES = (
    select(func.aggregate_strings(UserRole.role, ","))
    .where(UserRole.user_id == User.id)
    .correlate(User)
    .scalar_subquery()
)
_TOKEN_LOOKUP = (
    select(
        ApiToken.id,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        User.id.label("user_id"),
        User.username,
        User.display_name,
        User.org_id,
        User.active,
        Org.kind.label("org_kind"),
        Org.path.label("org_path"),
        _TOKEN_ROLES.label("roles"),
    )
    .join(User, User.id == ApiToken.user_id)
    .join(Org, Org.id == User.org_id)
)


def principal_for_api_token(
    session: Session, raw: str, now: datetime, ip: str | None = None
) -> tuple[Principal, bool]:
    """The Principal a Bearer API token acts as, from one query (token, its user, the user's org and
    roles); a department user's scope needs one more (their ancestors). Returns (principal, touched):
    `touched` when last_used_at was moved and the caller should commit."""
    row = session.execute(_TOKEN_LOOKUP.where(ApiToken.token_hash == sha256(raw))).one_or_none()
    if row is None or row.revoked_at is not None or not row.active:
        raise Unauthenticated()
    scope_path = row.org_path
    if row.org_kind == "department":
        ancestor_ids = [int(x) for x in row.org_path.strip("/").split("/")[:-1]]
        kinds = {
            r.id: (r.kind, r.path)
            for r in session.execute(select(Org.id, Org.kind, Org.path).where(Org.id.in_(ancestor_ids)))
        }
        scope_path = _nearest_non_department(ancestor_ids, kinds, row.org_path)
    # last_used_at is advisory; update at most once a minute to keep the hot path write-free
    touched = row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1)
    if touched:
        session.execute(
            update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now),
            execution_options={"synchronize_session": False},
        )
    principal = Principal(
        user_id=row.user_id,
        username=row.username,
        display_name=row.display_name,
        org_id=row.org_id,
        scope_path=scope_path,
        roles=frozenset(row.roles.split(",")) if row.roles else frozenset(),
        ip=ip,
        via_token=True,
    )
    return principal, touched


def subtree(session: Session, root_path: str) -> list[Org]:
    return list(session.scalars(select(Org).where(Org.path.startswith(root_path)).order_by(Org.path)))
