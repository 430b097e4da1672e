"""督办 (supervision notices): an officer tells a user to act on an item and reply in the app by a
deadline. Sending and replying each notify the other side; an unanswered notice escalates through the
"supervision" deadline track like any overdue item (reminder, department head, superior officer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm, Role
from xiaobao.auth.tables import Org, User
from xiaobao.core import audit
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import Conflict, FieldProblem, Forbidden, NotFound, ValidationFailed, XiaobaoError
from xiaobao.notifications import entities
from xiaobao.notifications.domain import Kind
from xiaobao.notifications.services import notify_message
from xiaobao.notifications.tables import Notification, SupervisionNotice

TEXT_MAX = 2000
MAX_REPLY_DAYS = 60
ACTING_ROLES = frozenset({Role.OFFICER, Role.HANDLER, Role.COLLABORATOR, Role.REVIEWER, Role.BRANCH_MANAGER})
"""Who can be told to act: not auditors or administrators (their roles are read-only or technical)."""


def _acts(user: User) -> bool:
    return any(r in ACTING_ROLES for r in user.roles)


@dataclass(frozen=True)
class SupervisionRequest:
    entity_type: str
    entity_id: int
    recipient_id: int
    text: str
    reply_due: datetime | None = None
    """None: the configured default window (XIAOBAO_SUPERVISION_REPLY_HOURS)."""


def _local(dt: datetime) -> str:
    return dt.astimezone(CN_TZ).strftime("%Y-%m-%d %H:%M")


def recipients_for(session: Session, who: Principal, entity_type: str, entity_id: int) -> list[User]:
    """Active users in the sender's scope with a working role who may see the item."""
    entities.resolve(session, who, entity_type, entity_id)
    users = session.scalars(
        select(User)
        .join(Org, Org.id == User.org_id)
        .where(User.active.is_(True), Org.path.startswith(who.scope_path))
        .order_by(Org.path, User.username)
    )
    out = []
    for u in users:
        if u.id == who.user_id or not _acts(u):
            continue
        try:
            entities.resolve(session, auth.principal_for(u), entity_type, entity_id)
        except XiaobaoError:
            continue
        out.append(u)
    return out


def send(
    uow: UnitOfWork, who: Principal, req: SupervisionRequest, now: datetime, default_hours: int = 48
) -> SupervisionNotice:
    if not who.can(Perm.SUPERVISE):
        raise Forbidden("只有消保专员可以发出督办", "Only consumer-protection officers can send 督办 notices")
    s = uow.session
    info = entities.resolve(s, who, req.entity_type, req.entity_id)
    problems: list[FieldProblem] = []
    text = req.text.strip()
    if not text:
        problems.append(FieldProblem("text", "请填写督办事项", "describe what must be done"))
    elif len(text) > TEXT_MAX:
        problems.append(
            FieldProblem("text", f"督办事项不能超过 {TEXT_MAX} 字", f"at most {TEXT_MAX} characters")
        )
    reply_due = req.reply_due or now + timedelta(hours=default_hours)
    if reply_due.tzinfo is None:
        problems.append(FieldProblem("reply_due", "回复期限须带时区", "the reply deadline needs a time zone"))
    elif reply_due <= now:
        problems.append(
            FieldProblem("reply_due", "回复期限须晚于当前时间", "the reply deadline must be in the future")
        )
    elif reply_due > now + timedelta(days=MAX_REPLY_DAYS):
        problems.append(
            FieldProblem(
                "reply_due",
                f"回复期限不能超过 {MAX_REPLY_DAYS} 天",
                f"the reply deadline must be within {MAX_REPLY_DAYS} days",
            )
        )
    recipient = s.get(User, req.recipient_id)
    if recipient is None or not recipient.active or not who.sees_path(recipient.org.path):
        problems.append(
            FieldProblem(
                "recipient_id",
                "接收人不存在或不在您的管辖范围内",
                "unknown recipient, or outside your organisation",
            )
        )
    elif recipient.id == who.user_id:
        problems.append(
            FieldProblem("recipient_id", "不能向自己发出督办", "you cannot send a 督办 to yourself")
        )
    elif not _acts(recipient):
        problems.append(
            FieldProblem(
                "recipient_id",
                "接收人须为业务人员（审计人员、系统管理员不办理督办）",
                "the recipient must have a working role (auditors and administrators do not handle 督办)",
            )
        )
    else:
        try:
            entities.resolve(s, auth.principal_for(recipient), req.entity_type, req.entity_id)
        except XiaobaoError:
            problems.append(
                FieldProblem(
                    "recipient_id", "接收人无权查看该事项，无法办理", "the recipient cannot see this item"
                )
            )
    if problems:
        raise ValidationFailed(problems)
    assert recipient is not None and who.user_id is not None
    sender = s.get(User, who.user_id)
    notice = SupervisionNotice(
        entity_type=req.entity_type,
        entity_id=req.entity_id,
        entity_label=info.label[:100],
        entity_link=info.link,
        sender_id=who.user_id,
        recipient_id=recipient.id,
        text=text,
        reply_due=reply_due,
        created_at=now,
        status="open",
    )
    s.add(notice)
    s.flush()
    notify_message(
        s,
        user_id=recipient.id,
        kind=Kind.SUPERVISION,
        dedupe_key=f"supervision:{notice.id}:sent",
        now=now,
        link=f"/inbox/supervision/{notice.id}",
        entity_type="supervision",
        entity_id=notice.id,
        sender=who.display_name,
        sender_org=sender.org.name_zh if sender else "",
        subject=info.label,
        reply_due=_local(reply_due),
        text=text,
    )
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="supervision.send",
        entity_type=req.entity_type,
        entity_id=req.entity_id,
        ip=who.ip,
        after={"notice": notice.id, "recipient": recipient.username, "reply_due": reply_due},
    )
    uow.commit()
    return notice


def get(session: Session, who: Principal, notice_id: int) -> SupervisionNotice:
    """Sender and recipient see a notice; to anyone else it does not exist."""
    n = session.get(SupervisionNotice, notice_id)
    if n is None or who.user_id not in (n.sender_id, n.recipient_id):
        raise NotFound("督办", "督办 notice")
    return n


def reply(uow: UnitOfWork, who: Principal, notice_id: int, text: str, now: datetime) -> SupervisionNotice:
    s = uow.session
    n = get(s, who, notice_id)
    if n.recipient_id != who.user_id:
        raise Forbidden("只有督办接收人可以回复", "Only the recipient can reply to a 督办 notice")
    if n.status != "open":
        raise Conflict("该督办已回复或已撤销", "This 督办 notice has already been answered or withdrawn")
    text = text.strip()
    if not text:
        raise ValidationFailed([FieldProblem("text", "请填写回复内容", "write your reply")])
    if len(text) > TEXT_MAX:
        raise ValidationFailed(
            [FieldProblem("text", f"回复不能超过 {TEXT_MAX} 字", f"at most {TEXT_MAX} characters")]
        )
    n.status, n.reply_text, n.replied_at = "replied", text, now
    # answering is reading: the 督办 notice leaves the recipient's unread count
    s.execute(
        update(Notification)
        .where(
            Notification.user_id == n.recipient_id,
            Notification.entity_type == "supervision",
            Notification.entity_id == n.id,
            Notification.read_at.is_(None),
        )
        .values(read_at=now)
    )
    notify_message(
        s,
        user_id=n.sender_id,
        kind=Kind.SUPERVISION_REPLY,
        dedupe_key=f"supervision:{n.id}:reply",
        now=now,
        link=f"/inbox/supervision/{n.id}",
        entity_type="supervision",
        entity_id=n.id,
        recipient=who.display_name,
        subject=n.entity_label,
        replied_at=_local(now),
        late=now > n.reply_due,
        reply_text=text,
    )
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="supervision.reply",
        entity_type=n.entity_type,
        entity_id=n.entity_id,
        ip=who.ip,
        after={"notice": n.id, "late": now > n.reply_due},
    )
    uow.commit()
    return n


def cancel(uow: UnitOfWork, who: Principal, notice_id: int, now: datetime) -> SupervisionNotice:
    s = uow.session
    n = get(s, who, notice_id)
    if n.sender_id != who.user_id:
        raise Forbidden("只有督办发出人可以撤销", "Only the sender can withdraw a 督办 notice")
    if n.status != "open":
        raise Conflict("该督办已回复或已撤销", "This 督办 notice has already been answered or withdrawn")
    n.status = "cancelled"
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="supervision.cancel",
        entity_type=n.entity_type,
        entity_id=n.entity_id,
        ip=who.ip,
        after={"notice": n.id},
    )
    uow.commit()
    return n


def received(
    session: Session, who: Principal, *, open_only: bool = False, limit: int = 100
) -> list[SupervisionNotice]:
    stmt = select(SupervisionNotice).where(SupervisionNotice.recipient_id == who.user_id)
    if open_only:
        stmt = stmt.where(SupervisionNotice.status == "open")
    return list(session.scalars(stmt.order_by(SupervisionNotice.id.desc()).limit(limit)))


def sent(session: Session, who: Principal, *, limit: int = 100) -> list[SupervisionNotice]:
    stmt = select(SupervisionNotice).where(SupervisionNotice.sender_id == who.user_id)
    return list(session.scalars(stmt.order_by(SupervisionNotice.id.desc()).limit(limit)))


def for_entity(session: Session, who: Principal, entity_type: str, entity_id: int) -> list[SupervisionNotice]:
    """Notices about one item, for a page that shows the item (the caller has checked access to it)."""
    entities.resolve(session, who, entity_type, entity_id)
    return list(
        session.scalars(
            select(SupervisionNotice)
            .where(SupervisionNotice.entity_type == entity_type, SupervisionNotice.entity_id == entity_id)
            .order_by(SupervisionNotice.id.desc())
        )
    )
