"""Pluggable SMS gateway. The logging gateway is a real implementation used in demo and tests:
it records messages (in memory, bounded) and writes them to the log instead of sending them."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

log = logging.getLogger("xiaobao.sms")


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    sent_at: datetime
    key: str | None = None


class SmsGateway(Protocol):
    def send(self, phone: str, text: str, *, at: datetime, idempotency_key: str | None = None) -> None:
        """Send one message. ``idempotency_key`` (e.g. a notification delivery id) lets a provider drop a
        copy re-sent after a crash."""
        ...


class LoggingSmsGateway:
    def __init__(self, keep: int = 1000) -> None:
        self._sent: deque[SmsMessage] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, phone: str, text: str, *, at: datetime, idempotency_key: str | None = None) -> None:
        from xiaobao.core.pii import mask_phone

        with self._lock:
            self._sent.append(SmsMessage(phone, text, at, idempotency_key))
        log.info("SMS to %s: %s", mask_phone(phone), text)

    @property
    def sent(self) -> list[SmsMessage]:
        with self._lock:
            return list(self._sent)

    def last_to(self, phone: str) -> SmsMessage | None:
        with self._lock:
            for m in reversed(self._sent):
                if m.phone == phone:
                    return m
        return None
