"""Text extraction with character offsets into the extracted text (.txt / plain text, .docx, .pdf)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from xiaobao.core.errors import XiaobaoError


class ExtractionError(XiaobaoError):
    code = "unreadable_material"


@dataclass(frozen=True)
class Part:
    """One paragraph (docx), page (pdf) or the whole text (txt): [start, end) in Extracted.text."""

    kind: str
    index: int
    start: int
    end: int


@dataclass(frozen=True)
class Extracted:
    text: str
    parts: list[Part] = field(default_factory=list)


def _join(kind: str, chunks: list[str]) -> Extracted:
    parts: list[Part] = []
    pos = 0
    for i, chunk in enumerate(chunks):
        if i:
            pos += 1  # the "\n" separator
        parts.append(Part(kind, i, pos, pos + len(chunk)))
        pos += len(chunk)
    return Extracted("\n".join(chunks), parts)


def from_text(text: str) -> Extracted:
    return Extracted(text, [Part("text", 0, 0, len(text))])


def decode_text(data: bytes, name: str = "") -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ExtractionError(
        f"无法识别文本编码（支持 UTF-8、GB18030）：{name}",
        f"cannot decode the text (UTF-8 or GB18030 expected): {name}",
    )


def from_docx(data: bytes, name: str = "") -> Extracted:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises several unrelated types for corrupt files
        raise ExtractionError(
            f"无法读取 Word 文档（.docx 已损坏或格式不符）：{name}",
            f"cannot read the Word document (corrupt or not a .docx): {name}",
        ) from e
    return _join("paragraph", [p.text for p in document.paragraphs])


def from_pdf(data: bytes, name: str = "") -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(page.extract_text() or "") for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as e:
        raise ExtractionError(
            f"无法读取 PDF 文件（已损坏或加密）：{name}",
            f"cannot read the PDF (corrupt or encrypted): {name}",
        ) from e
    if not any(p.strip() for p in pages):
        raise ExtractionError(
            f"PDF 没有文字层（扫描件需先做文字识别）：{name}",
            f"the PDF has no text layer (scanned documents need OCR first): {name}",
        )
    return _join("page", pages)


def extract_bytes(data: bytes, name: str) -> Extracted:
    suffix = Path(name).suffix.lower()
    if suffix == ".docx":
        return from_docx(data, name)
    if suffix == ".pdf":
        return from_pdf(data, name)
    if suffix in ("", ".txt", ".text", ".md"):
        return from_text(decode_text(data, name))
    raise ExtractionError(
        f"不支持的文件类型 {suffix}（支持 .txt、.docx、.pdf）：{name}",
        f"unsupported file type {suffix} (.txt, .docx and .pdf are supported): {name}",
    )


def extract_file(path: Path) -> Extracted:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ExtractionError(
            f"无法读取文件：{path}（{e.strerror}）", f"cannot read the file {path}: {e.strerror}"
        ) from e
    return extract_bytes(data, path.name)
