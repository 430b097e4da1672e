"""Uploaded files shared by every module (complaint evidence, task answers, rectification evidence):
name, size and type checks, and content-addressed storage.

A file is stored once under ``settings.attachments_dir / <sha256[:2]> / <sha256>`` (identical uploads share
it); each module's own table carries the name, type, size and hash. Accepted types are checked by
extension AND by content (magic bytes), so a renamed executable is refused.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from xiaobao.config import Settings
from xiaobao.core.errors import FieldProblem, NotFound, ValidationFailed

FIELD = "file"
MAX_FILENAME = 255


@dataclass(frozen=True)
class FileKind:
    content_type: str
    label: str


KINDS: dict[str, FileKind] = {
    "pdf": FileKind("application/pdf", "PDF"),
    "jpg": FileKind("image/jpeg", "JPEG"),
    "jpeg": FileKind("image/jpeg", "JPEG"),
    "png": FileKind("image/png", "PNG"),
    "docx": FileKind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word"),
    "xlsx": FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel"),
    "txt": FileKind("text/plain; charset=utf-8", "TXT"),
    "mp3": FileKind("audio/mpeg", "MP3"),
    "m4a": FileKind("audio/mp4", "M4A"),
    "wav": FileKind("audio/wav", "WAV"),
}
ALLOWED_EXTENSIONS = tuple(sorted(KINDS))


def _zip_has(data: bytes, member: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return member in z.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    for enc in ("utf-8-sig", "gb18030"):
        try:
            data.decode(enc)
            return True
        except UnicodeDecodeError:
            continue
    return False


def _is_mp3(data: bytes) -> bool:
    # ID3v2 tag, or an MPEG audio frame sync (11 set bits)
    return data.startswith(b"ID3") or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def content_matches(ext: str, data: bytes) -> bool:
    """Whether the bytes really are of the type the extension claims."""
    if ext == "pdf":
        return data.startswith(b"%PDF-")
    if ext in ("jpg", "jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if ext == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if ext == "docx":
        return data.startswith(b"PK\x03\x04") and _zip_has(data, "word/document.xml")
    if ext == "xlsx":
        return data.startswith(b"PK\x03\x04") and _zip_has(data, "xl/workbook.xml")
    if ext == "txt":
        return _is_text(data)
    if ext == "mp3":
        return _is_mp3(data)
    if ext == "m4a":
        return len(data) >= 12 and data[4:8] == b"ftyp"
    if ext == "wav":
        return len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    return False


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def clean_filename(name: str | None) -> str:
    """The last path component, NFC-normalised, without control or reserved characters; at most 255 chars
    (the extension kept)."""
    raw = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    v = _UNSAFE.sub("_", raw).strip().strip(".")
    if len(v) > MAX_FILENAME:
        stem, dot, ext = v.rpartition(".")
        v = (stem[: MAX_FILENAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else v[:MAX_FILENAME]
    return v


def _problem(zh: str, en: str, field: str = FIELD) -> ValidationFailed:
    return ValidationFailed([FieldProblem(field, zh, en)])


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB" if n % (1024 * 1024) == 0 else f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n // 1024} KB"
    return f"{n} B"


def validate(filename: str | None, data: bytes, max_bytes: int, *, field: str = FIELD) -> tuple[str, str]:
    """Check name, size and type; return (clean filename, canonical content type). Problems name ``field``."""
    name = clean_filename(filename)
    if not name:
        raise _problem("请选择要上传的文件", "Choose a file to upload", field)
    if not data:
        raise _problem("文件为空", "The file is empty", field)
    if len(data) > max_bytes:
        limit = _human_size(max_bytes)
        raise _problem(
            f"文件过大：上限为 {limit}，该文件为 {_human_size(len(data))}",
            f"File too large: the limit is {limit}, this file is {_human_size(len(data))}",
            field,
        )
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    if ext not in KINDS:
        allowed = "、".join(ALLOWED_EXTENSIONS)
        raise _problem(
            f"不支持的文件类型「.{ext or '?'}」，仅支持：{allowed}",
            f"File type '.{ext or '?'}' is not accepted; allowed: {', '.join(ALLOWED_EXTENSIONS)}",
            field,
        )
    if not content_matches(ext, data):
        kind = KINDS[ext].label
        raise _problem(
            f"文件内容与扩展名不符：「{name}」不是有效的 {kind} 文件",
            f"The file content does not match its extension: '{name}' is not a valid {kind} file",
            field,
        )
    return name, KINDS[ext].content_type


def blob_path(settings: Settings, sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a sha256 hex digest")
    return settings.attachments_dir / sha256[:2] / sha256


def store(settings: Settings, sha256: str, data: bytes) -> Path:
    path = blob_path(settings, sha256)
    if path.exists() and path.stat().st_size == len(data):
        return path  # content-addressed: the same bytes are already there
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: readers never see a half-written file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def stored_blob(settings: Settings, sha256: str) -> Path:
    """The stored file of an attachment row; NotFound if the file is gone from storage."""
    path = blob_path(settings, sha256)
    if not path.is_file():
        raise NotFound("附件文件", "attachment file")
    return path
