"""Complaint attachments: upload limits, type checks, content-addressed storage, access-checked download."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from sqlalchemy import select

from tests.factories import complaint_payload, login
from xiaobao.complaints import attachments, services
from xiaobao.complaints.domain import Action
from xiaobao.complaints.schemas import ActionRequest, ComplaintCreate
from xiaobao.complaints.tables import Attachment, Complaint
from xiaobao.core.audit import AuditLog
from xiaobao.core.errors import ValidationFailed

HTML = {"Accept": "text/html"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17


def office(member: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(member, "<doc/>")
    return buf.getvalue()


@pytest.fixture
def cid(container, world) -> int:  # type: ignore[no-untyped-def]
    """A Quanzhou complaint assigned to qz_handler."""
    ctx = services.IntakeContext(now=container.clock.now(), calendar=container.calendar)
    with container.uow() as uow:
        c = services.create_complaint(
            uow.session, world.p("qz_officer"), ComplaintCreate(**complaint_payload()), ctx
        )
        uow.commit()
        complaint_id = c.id
    with container.uow() as uow:
        services.act(
            uow,
            world.p("qz_officer"),
            complaint_id,
            Action.ACCEPT,
            ActionRequest(version=1, handler_id=world.users["qz_handler"].id),
            container.clock.now(),
        )
    return complaint_id


def rows(container) -> list[Attachment]:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        out = list(uow.session.scalars(select(Attachment).order_by(Attachment.id)))
        uow.session.expunge_all()  # keep the loaded values readable after the unit of work ends
        return out


# ---------------------------------------------------------------- validation (no database)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("定损单.pdf", PDF),
        ("photo.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 20),
        ("scan.png", PNG),
        ("说明.docx", office("word/document.xml")),
        ("清单.xlsx", office("xl/workbook.xml")),
        ("通话记录.txt", "投诉人来电要求重新定损".encode()),
        ("录音.mp3", b"ID3\x03\x00" + b"\x00" * 10),
        ("录音.m4a", b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 8),
        ("录音.wav", b"RIFF\x24\x00\x00\x00WAVEfmt "),
    ],
)
def test_accepted_types(name, data):
    clean, ctype = attachments.validate(name, data, 1024 * 1024)
    assert clean == name and ctype


@pytest.mark.parametrize(
    ("name", "data", "zh"),
    [
        ("tool.exe", b"MZ\x90\x00", "不支持的文件类型「.exe」"),
        ("noext", PDF, "不支持的文件类型"),
        ("fake.pdf", PNG, "文件内容与扩展名不符"),
        ("fake.png", PDF, "不是有效的 PNG 文件"),
        ("fake.docx", office("xl/workbook.xml"), "不是有效的 Word 文件"),
        ("fake.xlsx", b"PK\x03\x04garbage", "不是有效的 Excel 文件"),
        ("bin.txt", b"abc\x00def", "文件内容与扩展名不符"),
        ("empty.pdf", b"", "文件为空"),
        ("", PDF, "请选择要上传的文件"),
    ],
)
def test_refused_files_name_the_field(name, data, zh):
    with pytest.raises(ValidationFailed) as e:
        attachments.validate(name, data, 1024 * 1024)
    (p,) = e.value.problems
    assert p.field == "file" and zh in p.zh and p.en


def test_too_large_and_filename_cleaning():
    with pytest.raises(ValidationFailed) as e:
        attachments.validate("big.pdf", PDF + b"0" * 2048, 1024)
    assert "文件过大" in e.value.problems[0].zh and "1 KB" in e.value.problems[0].zh
    assert attachments.clean_filename("C:\\Users\\x\\..\\证据:1.pdf") == "证据_1.pdf"
    assert attachments.clean_filename('../../etc/"pass"wd.txt') == "_pass_wd.txt"
    long = "长" * 300 + ".pdf"
    assert len(attachments.clean_filename(long)) == 255 and attachments.clean_filename(long).endswith(".pdf")


# ---------------------------------------------------------------- upload through the page and the API


def test_upload_via_page_stores_audits_and_lists(client, container, world, cid):
    login(client, "qz_handler")
    r = client.post(
        f"/complaints/{cid}/attachments",
        files={"file": ("定损单.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/complaints/{cid}?done=attachment#attachments"
    (att,) = rows(container)
    digest = hashlib.sha256(PDF).hexdigest()
    assert (att.filename, att.size, att.sha256, att.content_type) == (
        "定损单.pdf",
        len(PDF),
        digest,
        "application/pdf",
    )
    stored = container.settings.attachments_dir / digest[:2] / digest
    assert stored.read_bytes() == PDF
    with container.uow() as uow:
        audit = uow.session.scalar(select(AuditLog).where(AuditLog.action == "complaint.attachment"))
        assert audit is not None and audit.after["sha256"] == digest
    page = client.get(f"/complaints/{cid}", headers=HTML).text
    assert f'href="/complaints/{cid}/attachments/{att.id}">定损单.pdf</a>' in page
    assert "上传附件" in page and "附件已上传" not in page

    # the same bytes again: a second row, one stored file
    r = client.post(
        f"/api/v1/complaints/{cid}/attachments", files={"file": ("copy.pdf", PDF, "application/pdf")}
    )
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == digest and r.json()["filename"] == "copy.pdf"
    assert len(list(stored.parent.iterdir())) == 1
    listed = client.get(f"/api/v1/complaints/{cid}/attachments").json()
    assert [a["filename"] for a in listed] == ["定损单.pdf", "copy.pdf"]


def test_upload_too_large(client, container, world, cid):
    container.settings.attachment_max_bytes = 1024
    login(client, "qz_handler")
    r = client.post(
        f"/complaints/{cid}/attachments",
        files={"file": ("big.pdf", PDF + b"x" * 4096, "application/pdf")},
        headers=HTML,
    )
    assert r.status_code == 422
    assert "文件过大：上限为 1 KB" in r.text and 'class="field-error"' in r.text
    r = client.post(f"/api/v1/complaints/{cid}/attachments", files={"file": ("big.pdf", PDF + b"x" * 4096)})
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "file" and "too large" in r.json()["problems"][0]["message_en"]
    assert rows(container) == []
    assert not container.settings.attachments_dir.exists()


def test_upload_wrong_type_or_mismatched_content(client, container, world, cid):
    login(client, "qz_handler")
    r = client.post(
        f"/complaints/{cid}/attachments",
        files={"file": ("run.exe", b"MZ\x90\x00", "application/pdf")},
        headers=HTML,
    )
    assert r.status_code == 422 and "不支持的文件类型" in r.text
    r = client.post(f"/api/v1/complaints/{cid}/attachments", files={"file": ("photo.png", PDF, "image/png")})
    assert r.status_code == 422
    problem = r.json()["problems"][0]
    assert problem["field"] == "file" and "文件内容与扩展名不符" in problem["message_zh"]
    r = client.post(
        f"/api/v1/complaints/{cid}/attachments", files={"file": ("a.docx", office("xl/workbook.xml"))}
    )
    assert r.status_code == 422
    r = client.post(
        f"/complaints/{cid}/attachments", files={"file": ("", b"", "application/octet-stream")}, headers=HTML
    )
    assert r.status_code == 422 and "请选择要上传的文件" in r.text
    assert rows(container) == []


def test_upload_needs_handling_access(client, container, world, cid):
    login(client, "qz_handler2")  # same branch, not the assigned handler
    r = client.post(f"/api/v1/complaints/{cid}/attachments", files={"file": ("a.pdf", PDF)})
    assert r.status_code in (400, 403)
    client.post("/logout")
    login(client, "xm_handler")  # another branch: the complaint does not exist for them
    r = client.post(f"/api/v1/complaints/{cid}/attachments", files={"file": ("a.pdf", PDF)})
    assert r.status_code == 404
    assert rows(container) == []


# ---------------------------------------------------------------- download


def test_download_is_access_checked(client, container, world, cid):
    login(client, "qz_handler")
    client.post(f"/complaints/{cid}/attachments", files={"file": ("定损 单.pdf", PDF, "application/pdf")})
    (att,) = rows(container)
    r = client.get(f"/complaints/{cid}/attachments/{att.id}")
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment; filename*=utf-8''")
    assert r.headers["cache-control"] == "private, no-store"
    r = client.get(f"/api/v1/complaints/{cid}/attachments/{att.id}")
    assert r.status_code == 200 and r.content == PDF
    with container.uow() as uow:
        downloads = uow.session.scalars(
            select(AuditLog).where(AuditLog.action == "attachment.download")
        ).all()
        assert len(downloads) == 2

    client.post("/logout")
    for outsider in ("xm_handler", "sh_officer"):  # other branches
        login(client, outsider)
        assert client.get(f"/complaints/{cid}/attachments/{att.id}").status_code == 404
        assert client.get(f"/api/v1/complaints/{cid}/attachments/{att.id}").status_code == 404
        assert client.get(f"/api/v1/complaints/{cid}/attachments").status_code == 404
        client.post("/logout")

    # an attachment id under the wrong complaint is not found either
    with container.uow() as uow:
        other = services.create_complaint(
            uow.session,
            world.p("qz_officer"),
            ComplaintCreate(**complaint_payload(phone="13800009999")),
            services.IntakeContext(now=container.clock.now(), calendar=container.calendar),
        )
        uow.commit()
        other_id = other.id
    login(client, "qz_officer")
    assert client.get(f"/complaints/{other_id}/attachments/{att.id}").status_code == 404
    assert client.get(f"/complaints/{cid}/attachments/{att.id}").status_code == 200


def test_finished_complaint_takes_no_uploads(client, container, world, cid):
    with container.uow() as uow:
        version = uow.session.get(Complaint, cid).version
        services.act(
            uow,
            world.p("qz_officer"),
            cid,
            Action.WITHDRAW,
            ActionRequest(version=version, reason="投诉人来电撤回"),
            container.clock.now(),
        )
    login(client, "qz_handler")
    r = client.post(f"/api/v1/complaints/{cid}/attachments", files={"file": ("a.pdf", PDF)})
    assert r.status_code in (400, 409)
    page = client.get(f"/complaints/{cid}", headers=HTML).text
    assert 'enctype="multipart/form-data"' not in page
