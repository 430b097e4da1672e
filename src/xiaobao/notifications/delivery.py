"""The delivery job: send pending e-mail and SMS copies of notifications, retry failures with exponential
backoff, give up (status ``dead``) after the configured attempts — visible to admins (/admin/jobs) and to
the recipient (their inbox), never silently dropped.

Deliveries are claimed in small batches with SELECT ... FOR UPDATE SKIP LOCKED, sent, and their outcomes
committed with the batch; two workers never hold the same delivery. A worker killed between a send and the
commit leaves the delivery pending, so it is sent again: the delivery id travels as the message's
idempotency key (SMS gateway key, e-mail Message-ID) so the provider drops the copy."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from xiaobao.auth.principal import Principal
from xiaobao.auth.tables import User
from xiaobao.core import audit
from xiaobao.core.pii import mask_phone
from xiaobao.jobs.domain import JobDef
from xiaobao.jobs.sqltools import end_read_phase
from xiaobao.notifications import messages
from xiaobao.notifications.domain import Channel, DeliveryStatus, after_failure
from xiaobao.notifications.gateways import DeliveryError, Email
from xiaobao.notifications.tables import Notification, NotificationDelivery

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container

JOB_NAME = "notifications.deliver"
MAX_PER_RUN = 5000
BATCH = 20
"""Deliveries claimed per transaction: fewer commits, at the price of re-sending up to this many (each with
its idempotency key) if the worker dies mid-batch."""


def idempotency_key(delivery_id: int) -> str:
    return f"xiaobao-delivery-{delivery_id}"


def _mask_email(address: str) -> str:
    name, _, domain = address.partition("@")
    return (name[:1] + "***@" + domain) if domain else "***"


def _send(
    container: Container, d: NotificationDelivery, n: Notification, user: User, at: datetime
) -> tuple[str | None, str | None]:
    """Send one delivery; returns (masked address, provider id). Raises DeliveryError."""
    key = idempotency_key(d.id)
    if d.channel == Channel.EMAIL:
        if not user.email:
            raise DeliveryError("收件人未登记电子邮箱 / the recipient has no e-mail address", permanent=True)
        body = messages.email_body(n.body, n.link, container.settings.base_url)
        provider = container.email.send(Email(to=user.email, subject=n.title, body=body, key=key), at=at)
        return _mask_email(user.email), provider
    if d.channel == Channel.SMS:
        if not user.phone:
            raise DeliveryError("收件人未登记手机号 / the recipient has no mobile number", permanent=True)
        try:
            container.sms.send(user.phone, messages.sms_text(n.title), at=at, idempotency_key=key)
        except DeliveryError:
            raise
        except ValueError as e:  # the gateway refuses the number or the text
            raise DeliveryError(f"SMS refused: {e}", permanent=True) from e
        except Exception as e:  # noqa: BLE001 - any gateway failure is recorded and retried
            raise DeliveryError(f"SMS gateway error: {type(e).__name__}: {e}") from e
        return mask_phone(user.phone), key
    raise DeliveryError(f"unknown channel {d.channel!r}", permanent=True)


def _record(container: Container, d: NotificationDelivery, n: Notification, user: User) -> None:
    settings = container.settings
    at = container.clock.now()
    d.attempts += 1
    try:
        if not user.active:
            raise DeliveryError("收件人账号已停用 / the recipient's account is disabled", permanent=True)
        d.address, d.provider_id = _send(container, d, n, user, at)
    except DeliveryError as e:
        status, wait = after_failure(
            d.attempts,
            settings.delivery_max_attempts,
            timedelta(seconds=settings.delivery_backoff_seconds),
            permanent=e.permanent,
        )
        d.status = status.value
        d.last_error = str(e)[:2000]
        if wait is not None:
            d.next_attempt_at = at + wait
    else:
        d.status = DeliveryStatus.SENT.value
        d.sent_at = at
        d.last_error = None


def deliver_batch(container: Container, now: datetime, limit: int = BATCH) -> list[str]:
    """Claim up to ``limit`` due deliveries (rows other workers hold are skipped), send each, record the
    outcomes, commit. Returns the new statuses; empty when nothing is due."""
    with container.uow() as uow:
        rows = uow.session.execute(
            select(NotificationDelivery, Notification, User)
            .join(Notification, Notification.id == NotificationDelivery.notification_id)
            .join(User, User.id == Notification.user_id)
            .where(
                NotificationDelivery.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value]),
                NotificationDelivery.next_attempt_at <= now,
            )
            .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=NotificationDelivery)
            .options(lazyload(Notification.deliveries), lazyload(User.role_rows), lazyload(User.org))
        ).all()
        end_read_phase(uow.session)  # PostgreSQL keeps the rows locked while sending; SQLite has one runner
        for d, n, user in rows:
            _record(container, d, n, user)
        uow.commit()
        return [d.status for d, _, _ in rows]


def deliver_pending(container: Container, now: datetime) -> dict[str, Any]:
    """Send every delivery due at ``now`` (bounded per run); returns counts by outcome."""
    counts: dict[str, int] = {}
    done = 0
    while done < MAX_PER_RUN:
        statuses = deliver_batch(container, now)
        if not statuses:
            break
        done += len(statuses)
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
    return counts


def retry_dead(
    session: Any, delivery_id: int, now: datetime, who: Principal | None = None
) -> NotificationDelivery | None:
    """An admin sends a dead (or failed) delivery again now, with a fresh count of attempts (audited)."""
    d = session.scalar(
        select(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id)
        .with_for_update(skip_locked=True, of=NotificationDelivery)
    )
    if d is None or d.status not in (DeliveryStatus.DEAD.value, DeliveryStatus.FAILED.value):
        return None
    before = {"status": d.status, "attempts": d.attempts, "last_error": d.last_error}
    d.status = DeliveryStatus.PENDING.value
    d.attempts = 0
    d.next_attempt_at = now
    if who is not None:
        audit.record(
            session,
            at=now,
            actor_id=who.user_id,
            actor_label=who.label,
            action="notification.delivery_retry",
            entity_type="notification_delivery",
            entity_id=d.id,
            before=before,
            after={"status": d.status},
            ip=who.ip,
        )
    return d


def register(container: Container) -> JobDef:
    return container.jobs.register(
        JobDef(
            name=JOB_NAME,
            interval_seconds=30,
            fn=deliver_pending,
            concurrent=True,
            title_zh="发送邮件与短信通知",
            title_en="Send e-mail and SMS notifications",
        )
    )


def status_counts(session: Any) -> dict[str, int]:
    from sqlalchemy import func

    rows = session.execute(
        select(NotificationDelivery.status, func.count()).group_by(NotificationDelivery.status)
    )
    counts = {s.value: 0 for s in DeliveryStatus}
    counts.update({status: int(n) for status, n in rows})
    return counts


def problem_deliveries(
    session: Any, limit: int = 50
) -> list[tuple[NotificationDelivery, Notification, User]]:
    """Deliveries that failed (retrying) or were given up, newest first, with their notification and user."""
    rows = session.execute(
        select(NotificationDelivery, Notification, User)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .join(User, User.id == Notification.user_id)
        .where(NotificationDelivery.status.in_([DeliveryStatus.FAILED.value, DeliveryStatus.DEAD.value]))
        .order_by(NotificationDelivery.id.desc())
        .limit(limit)
    )
    return [(d, n, u) for d, n, u in rows]
