"""Claim photos, videos and documents: validated, content-addressed files (core/files.py storage).

Photos and documents go through core.files.validate (extension AND content sniffing, the app's size limit);
videos (.mp4, .mov, .3gp: ISO base media files, checked for their 'ftyp' box) get their own, larger limit."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.claims.services import _handling_check, access_claim, add_event
from xiaobao.claims.tables import ClaimAttachment, ClaimCase
from xiaobao.config import Settings
from xiaobao.core import audit
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import FieldProblem, NotFound, ValidationFailed
from xiaobao.core.files import clean_filename, store, stored_blob, validate

VIDEO_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "3gp": "video/3gpp"}
VIDEO_MAX_BYTES = 100 * 1024 * 1024
PHOTO_TYPES = ("jpg", "jpeg", "png")
DOCUMENT_TYPES = ("pdf",)


def _human(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def check_file(
    filename: str | None, data: bytes, settings: Settings, field: str = "file"
) -> tuple[str, str, str]:
    """(clean name, content type, kind photo|video|document) or ValidationFailed naming `field`."""
    name = clean_filename(filename)
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    if ext in VIDEO_TYPES:
        if not data:
            raise ValidationFailed([FieldProblem(field, "文件为空", "The file is empty")])
        if len(data) > VIDEO_MAX_BYTES:
            raise ValidationFailed(
                [
                    FieldProblem(
                        field,
                        f"视频过大：上限为 {_human(VIDEO_MAX_BYTES)}",
                        f"Video too large: the limit is {_human(VIDEO_MAX_BYTES)}",
                    )
                ]
            )
        if data[4:8] != b"ftyp":
            raise ValidationFailed(
                [FieldProblem(field, f"「{name}」不是有效的视频文件", f"'{name}' is not a valid video file")]
            )
        return name, VIDEO_TYPES[ext], "video"
    if ext not in PHOTO_TYPES + DOCUMENT_TYPES:
        allowed = ", ".join((*PHOTO_TYPES, *DOCUMENT_TYPES, *VIDEO_TYPES))
        raise ValidationFailed(
            [
                FieldProblem(
                    field,
                    f"不支持的文件类型「.{ext or '?'}」，仅支持：{allowed}",
                    f"File type '.{ext or '?'}' is not accepted; allowed: {allowed}",
                )
            ]
        )
    name, ctype = validate(filename, data, settings.attachment_max_bytes, field=field)
    return name, ctype, "photo" if ext in PHOTO_TYPES else "document"


def store_attachment(
    session: Session,
    c: ClaimCase,
    who: Principal,
    filename: str | None,
    data: bytes,
    now: datetime,
    settings: Settings,
    *,
    public: bool = False,
    field: str = "file",
) -> ClaimAttachment:
    name, ctype, kind = check_file(filename, data, settings, field)
    digest = hashlib.sha256(data).hexdigest()
    store(settings, digest, data)
    a = ClaimAttachment(
        case_id=c.id,
        kind=kind,
        filename=name,
        content_type=ctype,
        size=len(data),
        sha256=digest,
        uploaded_by_id=who.user_id,
        uploaded_at=now,
        public=public,
    )
    session.add(a)
    session.flush()
    add_event(
        session,
        c,
        who,
        now,
        "attachment",
        text=name,
        data={"attachment_id": a.id, "kind": kind, "size": len(data)},
    )
    audit.record(
        session,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim.attachment_add",
        entity_type="claim",
        entity_id=c.id,
        after={"attachment_id": a.id, "filename": name, "kind": kind, "sha256": digest},
        ip=who.ip,
    )
    return a


def add_attachment(
    uow: UnitOfWork,
    who: Principal,
    case_id: int,
    filename: str | None,
    data: bytes,
    now: datetime,
    settings: Settings,
) -> ClaimAttachment:
    s = uow.session
    c = access_claim(s, who, case_id)
    _handling_check(c, who)
    a = store_attachment(s, c, who, filename, data, now, settings)
    uow.commit()
    return a


def list_attachments(session: Session, who: Principal, case_id: int) -> list[ClaimAttachment]:
    access_claim(session, who, case_id)
    return list(
        session.scalars(
            select(ClaimAttachment).where(ClaimAttachment.case_id == case_id).order_by(ClaimAttachment.id)
        )
    )


def open_attachment(
    uow: UnitOfWork, who: Principal, case_id: int, attachment_id: int, now: datetime, settings: Settings
) -> tuple[ClaimAttachment, Path]:
    s = uow.session
    access_claim(s, who, case_id)
    a = s.get(ClaimAttachment, attachment_id)
    if a is None or a.case_id != case_id:
        raise NotFound("附件", "attachment")
    path = stored_blob(settings, a.sha256)
    audit.record(
        s,
        at=now,
        actor_id=who.user_id,
        actor_label=who.label,
        action="claim.attachment_view",
        entity_type="claim",
        entity_id=case_id,
        after={"attachment_id": a.id},
        ip=who.ip,
    )
    uow.commit()
    return a, path
