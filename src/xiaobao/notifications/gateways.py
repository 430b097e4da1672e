"""Outbound gateways: e-mail senders (SMTP, in-memory, file drop) and a file-drop SMS gateway.

The fakes are real code (like httpx's MockTransport): the in-memory sender serves demos and tests in one
process; the file-drop sender and gateway record across processes, one file per message named by its
idempotency key, created with O_EXCL, so a message re-sent after a crash (same key) is recognised and not
delivered twice — what a real provider does with an idempotency key."""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger("xiaobao.notifications")


class DeliveryError(Exception):
    """A send failed. ``permanent`` failures (no address, address refused) are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str
    key: str
    """Idempotency key (the delivery id): becomes the Message-ID, so a re-sent copy is recognisable."""


class EmailSender(Protocol):
    def send(self, message: Email, *, at: datetime) -> str:
        """Send; return the provider's id for the message. Raise DeliveryError on failure."""
        ...


def _message_id(key: str, sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "xiaobao.local"
    safe = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in key)
    return f"<{safe}@{domain}>"


def build_mime(message: Email, sender: str, at: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = message.to
    msg["Subject"] = message.subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = _message_id(message.key, sender)
    msg["X-Idempotency-Key"] = message.key
    msg.set_content(message.body, charset="utf-8")
    return msg


class SmtpEmailSender:
    """E-mail over SMTP (smtplib): STARTTLS, implicit TLS or plain; one connection per message (deliveries
    are few and spread out; a pooled connection would go stale between them)."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        user: str | None = None,
        password: str | None = None,
        sender: str = "xiaobao@localhost",
        tls: str = "starttls",
        timeout: float = 15.0,
    ) -> None:
        if tls not in ("starttls", "ssl", "none"):
            raise ValueError(f"XIAOBAO_SMTP_TLS must be starttls, ssl or none, got {tls!r}")
        self.host, self.port, self.user, self.password = host, port, user, password
        self.sender, self.tls, self.timeout = sender, tls, timeout

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls == "starttls":
            conn.starttls(context=ssl.create_default_context())
        return conn

    def send(self, message: Email, *, at: datetime) -> str:
        msg = build_mime(message, self.sender, at)
        try:
            with self._connect() as conn:
                if self.user:
                    conn.login(self.user, self.password or "")
                refused = conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused as e:
            # 5xx: this address will never work; 4xx (mailbox busy, greylisting): try again later
            codes = [code for code, _msg in e.recipients.values()]
            raise DeliveryError(
                f"recipient refused: {e.recipients}", permanent=all(c >= 500 for c in codes)
            ) from e
        except smtplib.SMTPResponseException as e:
            # 5xx: the server will not take this message; 4xx: try again later
            raise DeliveryError(f"SMTP {e.smtp_code}: {e.smtp_error!r}", permanent=e.smtp_code >= 500) from e
        except (smtplib.SMTPException, OSError) as e:
            raise DeliveryError(f"SMTP error: {e}") from e
        if refused:
            raise DeliveryError(f"recipient refused: {refused}", permanent=True)
        return str(msg["Message-ID"])


@dataclass(frozen=True)
class SentEmail:
    message: Email
    sent_at: datetime


class MemoryEmailSender:
    """Keeps sent e-mails in memory (bounded) and logs them; a repeated key is accepted, not kept twice."""

    def __init__(self, keep: int = 1000) -> None:
        self._sent: list[SentEmail] = []
        self._keys: set[str] = set()
        self._keep = keep
        self._lock = threading.Lock()

    def send(self, message: Email, *, at: datetime) -> str:
        with self._lock:
            if message.key not in self._keys:
                self._keys.add(message.key)
                self._sent.append(SentEmail(message, at))
                del self._sent[: max(0, len(self._sent) - self._keep)]
        log.info("e-mail %s to %s: %s", message.key, message.to, message.subject)
        return f"memory:{message.key}"

    @property
    def sent(self) -> list[SentEmail]:
        with self._lock:
            return list(self._sent)


def _drop(directory: Path, key: str | None, payload: dict[str, object]) -> tuple[str, bool]:
    """Write one message file named by its key; False if a file with that key already exists."""
    directory.mkdir(parents=True, exist_ok=True)
    key = key or f"nokey-{uuid.uuid4().hex}"
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in key)
    path = directory / f"{safe}.json"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(directory / "_duplicates.log", "a", encoding="utf-8") as f:
            f.write(f"{key}\n")
        return key, False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(payload, f, ensure_ascii=False)
    return key, True


class FileDropEmailSender:
    """Writes each e-mail to ``directory/<key>.json`` (demo and the multi-process tests)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send(self, message: Email, *, at: datetime) -> str:
        key, _new = _drop(
            self.directory,
            message.key,
            {
                "to": message.to,
                "subject": message.subject,
                "body": message.body,
                "key": message.key,
                "at": at.isoformat(),
                "pid": os.getpid(),
            },
        )
        return f"file:{key}"


class FileDropSmsGateway:
    """SMS gateway writing each message to ``directory/<key>.json`` (demo and the multi-process tests)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send(self, phone: str, text: str, *, at: datetime, idempotency_key: str | None = None) -> None:
        _drop(
            self.directory,
            idempotency_key,
            {"phone": phone, "text": text, "key": idempotency_key, "at": at.isoformat(), "pid": os.getpid()},
        )
