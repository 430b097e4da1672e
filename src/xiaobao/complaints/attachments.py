"""Complaint attachments (evidence, letters, recordings): validated, content-addressed files.

A file is stored once under ``settings.attachments_dir / <sha256[:2]> / <sha256>`` (identical uploads share
it); the database row carries the name, type, size and hash. Uploading needs the same access as adding to the
handling record (`services.handling_access`); reading needs access to the complaint
(`services.access_complaint`). Both are audited, since evidence often holds personal data.

Accepted types are checked by extension AND by content (magic bytes), so a renamed executable is refused;
the checks and the storage live in `xiaobao.core.files`, shared with the other modules' uploads.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.complaints import services
from xiaobao.complaints.tables import Attachment, ComplaintEvent
from xiaobao.config import Settings
from xiaobao.core import audit
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import NotFound
from xiaobao.core.files import (  # noqa: F401 - re-exported: the checks live in core, shared by every module
    ALLOWED_EXTENSIONS,
    FIELD,
    KINDS,
    MAX_FILENAME,
    FileKind,
    blob_path,
    clean_filename,
    content_matches,
    stored_blob,
    validate,
)
from xiaobao.core.files import store as _store


def add_attachment(
    uow: UnitOfWork,
    who: Principal,
    complaint_id: int,
    filename: str | None,
    content_type: str | None,
    data: bytes,
    now: datetime,
    settings: Settings,
) -> Attachment:
    """Validate and store an upload, record it in the handling record and the audit log, commit.

    `content_type` as sent by the client is not trusted: the stored type follows the checked content.
    """
    s = uow.session
    c = services.handling_access(s, who, complaint_id)
    name, ctype = validate(filename, data, settings.attachment_max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    _store(settings, digest, data)
    att = Attachment(
        complaint_id=c.id,
        filename=name,
        content_type=ctype,
        size=len(data),
        sha256=digest,
        uploaded_by_id=who.user_id,
        uploaded_at=now,
    )
    s.add(att)
    s.flush()
    s.add(
        ComplaintEvent(
            complaint_id=c.id,
            at=now,
            actor_id=who.user_id,
            actor_label=who.label,
            kind="attachment",
            text=name,
            data={"attachment_id": att.id, "size": len(data)},
        )
    )
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="complaint.attachment",
        entity_type="complaint",
        entity_id=c.id,
        after={
            "attachment_id": att.id,
            "filename": name,
            "size": len(data),
            "sha256": digest,
            "declared_type": (content_type or "")[:100],
        },
        ip=who.ip,
    )
    uow.commit()
    return att


def list_attachments(s: Session, who: Principal, complaint_id: int) -> list[Attachment]:
    c = services.access_complaint(s, who, complaint_id)
    return list(
        s.scalars(
            select(Attachment)
            .where(Attachment.complaint_id == c.id)
            .order_by(Attachment.uploaded_at, Attachment.id)
        )
    )


def open_attachment(
    uow: UnitOfWork, who: Principal, complaint_id: int, attachment_id: int, now: datetime, settings: Settings
) -> tuple[Attachment, Path]:
    """Access-checked read of one attachment: (row, file path). Audited and committed."""
    s = uow.session
    c = services.access_complaint(s, who, complaint_id)
    att = s.scalar(select(Attachment).where(Attachment.id == attachment_id, Attachment.complaint_id == c.id))
    if att is None:
        raise NotFound("附件", "attachment")
    path = stored_blob(settings, att.sha256)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="attachment.download",
        entity_type="complaint",
        entity_id=c.id,
        after={"attachment_id": att.id, "filename": att.filename},
        ip=who.ip,
    )
    uow.commit()
    return att, path
