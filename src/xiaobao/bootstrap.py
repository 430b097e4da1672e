"""The one place that wires settings, database, clock, calendar, SMS gateway, e-mail sender, message bus
and background jobs.
Tests call `bootstrap()` with fakes; nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from xiaobao.config import Settings, get_settings
from xiaobao.core.calendar import WorkCalendar
from xiaobao.core.clock import Clock, SystemClock
from xiaobao.core.db import UnitOfWork, make_engine, make_session_factory
from xiaobao.core.sms import LoggingSmsGateway, SmsGateway
from xiaobao.jobs.domain import JobRegistry
from xiaobao.notifications.gateways import (
    EmailSender,
    FileDropEmailSender,
    FileDropSmsGateway,
    MemoryEmailSender,
    SmtpEmailSender,
)


@dataclass
class Container:
    settings: Settings
    engine: Engine | None
    session_factory: Callable[[], Session]
    clock: Clock
    calendar: WorkCalendar
    sms: SmsGateway
    handlers: dict[type, list[Callable[[Any, Container], None]]] = field(default_factory=dict)
    email: EmailSender = field(default_factory=MemoryEmailSender)
    jobs: JobRegistry = field(default_factory=JobRegistry)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def publish(self, events: list[Any]) -> None:
        """Hand committed domain events to their handlers (notifications and the like)."""
        for ev in events:
            for handler in self.handlers.get(type(ev), []):
                handler(ev, self)


def make_calendar(settings: Settings) -> WorkCalendar:
    if settings.holidays_file is not None:
        return WorkCalendar.from_yaml(settings.holidays_file)
    return WorkCalendar()


def make_sms_gateway(settings: Settings) -> SmsGateway:
    if settings.sms_gateway == "logging":
        return LoggingSmsGateway()
    if settings.sms_gateway == "file":
        if settings.sms_file_dir is None:
            raise ValueError("XIAOBAO_SMS_GATEWAY=file needs XIAOBAO_SMS_FILE_DIR")
        return FileDropSmsGateway(settings.sms_file_dir)
    raise ValueError(f"unknown XIAOBAO_SMS_GATEWAY {settings.sms_gateway!r} (known: logging, file)")


def make_email_sender(settings: Settings) -> EmailSender:
    backend = settings.email_backend
    if backend == "auto":
        backend = "smtp" if settings.smtp_host else "memory"
    if backend == "smtp":
        if not settings.smtp_host:
            raise ValueError("XIAOBAO_EMAIL_BACKEND=smtp needs XIAOBAO_SMTP_HOST")
        return SmtpEmailSender(
            settings.smtp_host,
            settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            sender=settings.smtp_from,
            tls=settings.smtp_tls,
            timeout=settings.smtp_timeout_seconds,
        )
    if backend == "memory":
        return MemoryEmailSender()
    if backend == "file":
        if settings.email_file_dir is None:
            raise ValueError("XIAOBAO_EMAIL_BACKEND=file needs XIAOBAO_EMAIL_FILE_DIR")
        return FileDropEmailSender(settings.email_file_dir)
    raise ValueError(f"unknown XIAOBAO_EMAIL_BACKEND {backend!r} (known: auto, smtp, memory, file)")


def bootstrap(
    settings: Settings | None = None,
    *,
    session_factory: Callable[[], Session] | None = None,
    clock: Clock | None = None,
    sms: SmsGateway | None = None,
    calendar: WorkCalendar | None = None,
    email: EmailSender | None = None,
) -> Container:
    settings = settings or get_settings()
    engine = None
    if session_factory is None:
        engine = make_engine(
            settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
        )
        session_factory = make_session_factory(engine)
    container = Container(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        clock=clock or SystemClock(),
        calendar=calendar or make_calendar(settings),
        sms=sms or make_sms_gateway(settings),
        email=email or make_email_sender(settings),
    )
    from xiaobao.complaints.handlers import register as register_complaints
    from xiaobao.notifications.setup import register as register_notifications

    register_complaints(container)
    register_notifications(container)
    from xiaobao.tasks.wiring import register as register_tasks

    register_tasks(container)
    from xiaobao.review.wiring import register as register_review

    register_review(container)
    from xiaobao.radar.wiring import register as register_radar

    register_radar(container)
    from xiaobao.claims.wiring import register as register_claims

    register_claims(container)
    return container
