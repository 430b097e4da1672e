"""The one place that wires settings, database, clock, calendar, SMS gateway and message bus.
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


@dataclass
class Container:
    settings: Settings
    engine: Engine | None
    session_factory: Callable[[], Session]
    clock: Clock
    calendar: WorkCalendar
    sms: SmsGateway
    handlers: dict[type, list[Callable[[Any, Container], None]]] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def publish(self, events: list[Any]) -> None:
        """Hand committed domain events to their handlers (notifications and the like)."""
        for ev in events:
            for handler in self.handlers.get(type(ev), []):
                handler(ev, self)


def make_sms_gateway(settings: Settings) -> SmsGateway:
    if settings.sms_gateway == "logging":
        return LoggingSmsGateway()
    raise ValueError(f"unknown XIAOBAO_SMS_GATEWAY {settings.sms_gateway!r} (known: logging)")


def bootstrap(
    settings: Settings | None = None,
    *,
    session_factory: Callable[[], Session] | None = None,
    clock: Clock | None = None,
    sms: SmsGateway | None = None,
    calendar: WorkCalendar | None = None,
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
        calendar=calendar or WorkCalendar(),
        sms=sms or make_sms_gateway(settings),
    )
    from xiaobao.complaints.handlers import register as register_complaints

    register_complaints(container)
    return container
