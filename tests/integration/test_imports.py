"""Bulk import of regulator-forwarded complaints (监管转办): files are generated here, never committed."""

from __future__ import annotations

import base64
import csv
import io
import random
import re
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.factories import login
from xiaobao.complaints.tables import Complaint
from xiaobao.core.audit import AuditLog
from xiaobao.core.pii import compose_id_number

HEADERS = [
    "转办编号",
    "投诉人",
    "证件号码",
    "联系电话",
    "保单号",
    "赔案号",
    "承办机构",
    "险种",
    "投诉原因",
    "诉求",
    "投诉内容",
    "接收时间",
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def row(ref: str, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "转办编号": ref,
        "投诉人": "林秀英",
        "证件号码": "350521195803150021",
        "联系电话": "13905951234",
        "保单号": "PDAA202635050000012",
        "赔案号": "",
        "承办机构": "泉州中心支公司",
        "险种": "商业险",
        "投诉原因": "理赔金额/定损争议",
        "诉求": "要求赔付",
        "投诉内容": "车辆在晋江因台风受损，定损金额明显低于维修厂报价，要求重新定损。",
        "接收时间": "2026-03-01 09:30",
    }
    data.update(over)
    return data


def xlsx(rows: list[dict[str, Any]], headers: list[str] = HEADERS) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: list[dict[str, Any]], encoding: str, headers: list[str] = HEADERS) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    for r in rows:
        w.writerow(["" if r.get(h) is None else r.get(h) for h in headers])
    return buf.getvalue().encode(encoding)


def upload(client: Any, name: str, content: bytes, ctype: str = XLSX) -> Any:
    return client.post("/api/v1/complaint-imports", files={"file": (name, content, ctype)})


def complaint_count(container: Any) -> int:
    with container.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Complaint)) or 0)


def by_ref(container: Any, ref: str) -> Complaint:
    s = container.session_factory()
    try:
        c = s.scalar(select(Complaint).where(Complaint.regulator_ref == ref))
        assert c is not None, ref
        return c  # closed without a rollback: its loaded attributes stay readable
    finally:
        s.close()


def problems_of(report: dict[str, Any]) -> dict[int, set[str]]:
    return {
        o["row"]: {p["field"] for p in o["problems"]} for o in report["outcomes"] if o["status"] == "failed"
    }


# ---------------------------------------------------------------- good files


def test_good_xlsx_import(client, world, container, sms):
    login(client, "hq_officer")
    rows = [
        row("12378-2026-0001", 接收时间=datetime(2026, 3, 1, 9, 30)),  # an Excel datetime cell
        row(
            "12378-2026-0002",
            承办机构="XM",
            险种="motor.ctpl",
            投诉原因="claims.slow",
            诉求="explanation",
            接收时间="2026/2/27 16:05",
            证件号码=None,
            联系电话="0595-22345678",
        ),
        row(
            "12378-2026-0003",
            承办机构="厦门中支",
            险种="工程险",
            投诉原因="其他",
            诉求="其他",
            接收时间=date(2026, 2, 20),
            投诉人="陈建国",
            证件号码=compose_id_number("350203", date(1990, 5, 1), 17),
        ),
    ]
    r = upload(client, "12378转办清单.xlsx", xlsx(rows))
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["rows"], rep["imported"], rep["duplicates"], rep["failed"]) == (3, 3, 0, 0)
    assert [o["row"] for o in rep["outcomes"]] == [2, 3, 4]
    assert all(re.fullmatch(r"TS\d{6}[A-Z2-9]{6}", o["tracking_no"]) for o in rep["outcomes"])

    c1 = by_ref(container, "12378-2026-0001")
    assert c1.channel == "regulator" and c1.org.code == "QZ"
    assert (c1.business_line, c1.cause, c1.demand) == ("motor.commercial", "claims.amount", "compensation")
    assert c1.received_at == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)  # 09:30 Beijing time
    assert "elderly" in c1.groups() and c1.tracking_no == rep["outcomes"][0]["tracking_no"]
    c2 = by_ref(container, "12378-2026-0002")
    assert c2.org.code == "XM" and c2.business_line == "motor.ctpl" and c2.phone == "0595-22345678"
    assert c2.received_at == datetime(2026, 2, 27, 8, 5, tzinfo=UTC) and c2.id_number is None
    c3 = by_ref(container, "12378-2026-0003")
    assert (c3.org.code, c3.business_line, c3.cause) == ("XM", "engineering", "other")
    assert c3.received_at == datetime(2026, 2, 19, 16, 0, tzinfo=UTC)  # a bare date is midnight in Beijing

    with container.uow() as uow:
        audits = [
            (a.after, a.actor_id)
            for a in uow.session.scalars(select(AuditLog).where(AuditLog.action == "complaint.import"))
        ]
        creates = uow.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "complaint.create")
        )
    assert len(audits) == 1 and creates == 3
    after, actor_id = audits[0]
    assert after is not None and after["filename"] == "12378转办清单.xlsx"
    assert {k: after[k] for k in ("rows", "imported", "duplicates", "failed")} == {
        "rows": 3,
        "imported": 3,
        "duplicates": 0,
        "failed": 0,
    }
    assert actor_id == world.users["hq_officer"].id
    assert sum("已登记" in m.text for m in sms.sent) == 3  # acknowledged like any intake


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_good_csv_import(client, world, container, encoding):
    login(client, "qz_officer")
    rows = [row("粤12378-0001", 投诉人="黄丽娟"), row("粤12378-0002", 承办机构="QZ", 接收时间="2026-03-02")]
    content = csv_bytes(rows, encoding)
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            content.decode("utf-8")  # really a GBK file
    r = upload(client, "转办.csv", content, "text/csv")
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["rows"], rep["imported"], rep["failed"]) == (2, 2, 0), rep
    assert by_ref(container, "粤12378-0001").complainant_name == "黄丽娟"
    assert by_ref(container, "粤12378-0002").received_at == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)


def test_english_headers_and_title_row_are_accepted(client, world, container):
    login(client, "hq_officer")
    fields = [
        "regulator_ref",
        "complainant_name",
        "phone",
        "org_code",
        "business_line",
        "cause",
        "demand",
        "description",
        "received_at",
    ]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["福建监管局转办投诉清单（2026年3月）"])  # a title above the header, as exports often have
    ws.append(fields)
    ws.append(
        [
            "FJ-2026-77",
            "王强",
            "13800001111",
            "QZ",
            "Commercial motor insurance",
            "理赔纠纷/拒赔",
            "要求赔付",
            "拒赔理由不成立，要求重新核定责任。",
            "2026年3月1日 8:00",
        ]
    )
    buf = io.BytesIO()
    wb.save(buf)
    rep = upload(client, "fj.xlsx", buf.getvalue()).json()
    assert rep["imported"] == 1 and rep["header_row"] == 2, rep
    assert rep["outcomes"][0]["row"] == 3
    c = by_ref(container, "FJ-2026-77")
    assert (c.business_line, c.cause) == ("motor.commercial", "claims.denial")


# ---------------------------------------------------------------- bad rows


def test_malformed_rows_are_reported_and_good_rows_kept(client, world, container):
    login(client, "qz_officer")  # scope: 泉州中心支公司 only
    rows = [
        row("R-01"),  # 2 good
        row("R-02", 证件号码="350521195803150022"),  # 3 ID check digit
        row("R-03", 联系电话="1390595"),  # 4 phone
        row("R-04", 投诉原因="天气原因"),  # 5 unknown cause
        row("R-05", 投诉内容=None),  # 6 missing description
        row("R-06", 承办机构="厦门中心支公司"),  # 7 outside qz_officer's scope
        row("R-07", 接收时间="下周一上午"),  # 8 unparseable date
        row("R-08", 接收时间="2026-03-05 10:00"),  # 9 future (now: 03-02 10:00)
        row("R-09", 联系电话="123", 险种="机动车辆保险", 投诉内容="太慢"),  # 10 several problems at once
        row("R-10", 投诉人="陈建国", 联系电话="13600000000"),  # 11 good
        row("", 投诉人="无编号"),  # 12 no reference
    ]
    r = upload(client, "mixed.xlsx", xlsx(rows))
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["rows"], rep["imported"], rep["duplicates"], rep["failed"]) == (11, 2, 0, 9)
    assert problems_of(rep) == {
        3: {"id_number"},
        4: {"phone"},
        5: {"cause"},
        6: {"description"},
        7: {"org_code"},
        8: {"received_at"},
        9: {"received_at"},
        10: {"phone", "business_line", "description"},
        12: {"regulator_ref"},
    }
    # failed rows first, in file order; then the imported ones
    assert [o["row"] for o in rep["outcomes"]] == [3, 4, 5, 6, 7, 8, 9, 10, 12, 2, 11]
    msgs = {o["row"]: o for o in rep["outcomes"]}
    assert "校验位" in msgs[3]["problems"][0]["message_zh"]
    assert msgs[3]["problems"][0]["column"] == "证件号码" and msgs[3]["problems"][0]["message_en"]
    assert "天气原因" in msgs[5]["problems"][0]["message_zh"]
    assert "管辖范围" in msgs[7]["problems"][0]["message_zh"]
    assert "无法识别" in msgs[8]["problems"][0]["message_zh"]
    assert "晚于当前时间" in msgs[9]["problems"][0]["message_zh"]
    assert "交强险" in {p["field"]: p for p in msgs[10]["problems"]}["business_line"]["message_zh"]
    assert msgs[4]["values"]["联系电话"] == "1390595"  # the failed row as uploaded, to fix it
    assert "values" not in msgs[2]
    assert {c for c in ("R-01", "R-10") if by_ref(container, c)} == {"R-01", "R-10"}
    assert complaint_count(container) == 2


def test_numeric_id_cell_and_example_row_are_refused(client, world, container):
    login(client, "hq_officer")
    rows = [row("R-N1", 证件号码=350521195803150021), row("示例-12378-2026-000001")]
    rep = upload(client, "n.xlsx", xlsx(rows)).json()
    assert problems_of(rep) == {2: {"id_number"}, 3: {"regulator_ref"}}
    assert "文本" in rep["outcomes"][0]["problems"][0]["message_zh"]
    assert "示例行" in rep["outcomes"][1]["problems"][0]["message_zh"]


# ---------------------------------------------------------------- idempotency


def test_reimport_creates_nothing_new(client, world, container):
    login(client, "hq_officer")
    content = xlsx([row("DUP-1"), row("DUP-2", 投诉人="陈建国"), row("DUP-1", 投诉人="重复行")])
    first = upload(client, "a.xlsx", content).json()
    assert (first["imported"], first["duplicates"]) == (2, 1)
    in_file = [o for o in first["outcomes"] if o["status"] == "duplicate"][0]
    tracking = {o["regulator_ref"]: o["tracking_no"] for o in first["outcomes"] if o["status"] == "imported"}
    assert (
        in_file["row"] == 4
        and in_file["duplicate_of_row"] == 2
        and in_file["tracking_no"] == tracking["DUP-1"]
    )

    again = upload(client, "a.xlsx", content).json()
    assert (again["rows"], again["imported"], again["duplicates"], again["failed"]) == (3, 0, 3, 0)
    assert {o["regulator_ref"]: o["tracking_no"] for o in again["outcomes"]} == tracking
    assert complaint_count(container) == 2

    # a run that stopped half way: the rerun of the full file picks up the rest
    upload(client, "b.xlsx", xlsx([row("P-1"), row("P-2")]))
    rerun = upload(client, "b.xlsx", xlsx([row("P-1"), row("P-2"), row("P-3"), row("P-4")])).json()
    assert [(o["row"], o["status"]) for o in rerun["outcomes"]] == [
        (2, "duplicate"),
        (3, "duplicate"),
        (4, "imported"),
        (5, "imported"),
    ]
    assert complaint_count(container) == 6


def test_reference_registered_meanwhile_is_a_duplicate(client, world, container, monkeypatch):
    """Another import commits the same reference between our look-ahead and our insert."""
    from xiaobao.complaints import imports

    login(client, "hq_officer")
    first = upload(client, "a.xlsx", xlsx([row("RACE-1")])).json()["outcomes"][0]
    real = imports._existing
    calls: list[int] = []

    def blind_first_lookup(s, refs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return {} if len(calls) == 1 else real(s, refs)

    monkeypatch.setattr(imports, "_existing", blind_first_lookup)
    rep = upload(client, "b.xlsx", xlsx([row("RACE-1"), row("RACE-2")])).json()
    assert [(o["row"], o["status"]) for o in rep["outcomes"]] == [(2, "duplicate"), (3, "imported")]
    assert rep["outcomes"][0]["tracking_no"] == first["tracking_no"]
    assert complaint_count(container) == 2


def test_duplicate_outside_scope_does_not_reveal_the_tracking_number(client, world, container):
    login(client, "hq_officer")
    upload(client, "sh.xlsx", xlsx([row("SH-1", 承办机构="SH")]))
    client.cookies.clear()
    login(client, "qz_officer")
    rep = upload(client, "qz.xlsx", xlsx([row("SH-1")])).json()
    out = rep["outcomes"][0]
    assert out["status"] == "duplicate" and out["tracking_no"] is None and out["complaint_id"] is None
    assert "其他机构" in out["message_zh"]


# ---------------------------------------------------------------- file-level errors


def _random_bytes(n: int) -> bytes:
    rnd = random.Random(7)  # noqa: S311
    return bytes(rnd.randrange(256) for _ in range(n))


@pytest.mark.parametrize(
    ("name", "content", "status", "needle"),
    [
        ("corrupt.xlsx", _random_bytes(4096), 422, "无法读取 Excel"),
        ("zipped.xlsx", b"PK\x03\x04" + _random_bytes(500), 422, "无法读取 Excel"),
        ("empty.xlsx", b"", 422, "文件为空"),
        ("empty.csv", b"", 422, "文件为空"),
        (
            "header-only.csv",
            "转办编号,投诉人,联系电话,险种,投诉原因,诉求,投诉内容,接收时间\n".encode(),
            422,
            "没有数据行",
        ),
        (
            "missing.csv",
            "投诉人,证件号码,险种,投诉原因,诉求,投诉内容,接收时间\n张三,,商业险,拒赔,要求赔付,内容内容内容,2026-03-01\n".encode(),
            422,
            "缺少必填列：转办编号、联系电话",
        ),
        ("notes.txt", b"hello", 422, "仅支持 .xlsx 和 .csv"),
        ("old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, 422, "另存为 .xlsx"),
        ("binary.csv", _random_bytes(2048), 422, "编码"),
    ],
)
def test_unusable_files_are_refused_with_a_clear_error(
    client, world, container, name, content, status, needle
):
    login(client, "hq_officer")
    r = upload(client, name, content, "application/octet-stream")
    assert r.status_code == status, r.text
    body = r.json()
    assert needle in body["message_zh"], body
    assert body["message_en"] and body["message_en"] != body["message_zh"]
    assert complaint_count(container) == 0


def test_missing_columns_are_named_in_both_languages(client, world, container):
    login(client, "hq_officer")
    headers = [h for h in HEADERS if h not in ("转办编号", "接收时间")]
    body = upload(client, "m.xlsx", xlsx([row("X")], headers)).json()
    assert {p["field"] for p in body["problems"]} == {"regulator_ref", "received_at"}
    assert "regulator_ref" in body["message_en"] and "接收时间" in body["message_zh"]


def test_row_and_size_limits(client, world, container):
    login(client, "hq_officer")
    line = "R{n},林秀英,,13905951234,,,QZ,商业险,拒赔,要求赔付,车辆受损要求赔付处理,2026-03-01 09:00\n"
    big = ",".join(HEADERS) + "\n" + "".join(line.format(n=i) for i in range(10_001))
    r = upload(client, "big.csv", big.encode(), "text/csv")
    assert r.status_code == 422 and "10000" in r.json()["message_zh"]
    r = upload(client, "huge.csv", b"a" * (10 * 1024 * 1024 + 1), "text/csv")
    assert r.status_code == 413 and "10 MB" in r.json()["message_zh"]
    assert complaint_count(container) == 0


# ---------------------------------------------------------------- permission, page, template


def test_import_needs_the_permission(client, world, container):
    r = upload(client, "a.xlsx", xlsx([row("P")]))
    assert r.status_code == 401
    login(client, "qz_handler")
    assert upload(client, "a.xlsx", xlsx([row("P")])).status_code == 403
    assert client.get("/complaints/import/template.xlsx").status_code == 403
    assert complaint_count(container) == 0


def test_page_shows_the_report_and_the_fix_file_round_trips(client, world, container):
    login(client, "hq_officer")
    page = client.get("/complaints/import", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'name="file"' in page.text and "转办编号" in page.text
    content = xlsx([row("W-1"), row("W-2", 联系电话="12"), row("W-3", 投诉原因="天气原因")])
    r = client.post(
        "/complaints/import", files={"file": ("周报.xlsx", content, XLSX)}, headers={"accept": "text/html"}
    )
    assert r.status_code == 200, r.text
    html = r.text
    assert 'data-count="imported">1<' in html and 'data-count="failed">2<' in html
    assert (
        html.index('data-row="3"') < html.index('data-row="4"') < html.index('data-row="2"')
    )  # failed first
    assert "天气原因" in html and "林**" in html and "林秀英" not in html  # names masked on screen
    assert by_ref(container, "W-1").tracking_no in html

    b64 = re.search(r'href="data:[^;]+;base64,([^"]+)"', html)
    assert b64 is not None
    wb = openpyxl.load_workbook(io.BytesIO(base64.b64decode(b64.group(1))))
    fix = wb.worksheets[0]
    values = list(fix.iter_rows(values_only=True))
    assert list(values[0]) == [*HEADERS, "原行号", "错误说明"]
    assert [v[0] for v in values[1:]] == ["W-2", "W-3"]
    assert values[1][-2] == 3 and "联系电话" in values[1][-1]
    results = list(wb.worksheets[1].iter_rows(values_only=True))
    assert len(results) == 4
    wb.close()

    # the officer fixes the failed rows in the downloaded sheet and uploads it again
    fix["D2"] = "13905950000"
    fix["I3"] = "拒赔"
    buf = io.BytesIO()
    wb.save(buf)
    rep = upload(client, "fixed.xlsx", buf.getvalue()).json()
    assert (rep["imported"], rep["failed"], rep["ignored_columns"]) == (2, 0, [])
    assert complaint_count(container) == 3


def test_page_shows_file_errors_on_the_form(client, world, container):
    login(client, "hq_officer")
    r = client.post(
        "/complaints/import",
        files={"file": ("x.pdf", b"%PDF", "application/pdf")},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 422 and "仅支持 .xlsx 和 .csv" in r.text and 'name="file"' in r.text


def test_template_download(client, world, container):
    login(client, "qz_officer")
    r = client.get("/complaints/import/template.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    assert "attachment" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(min_row=1, max_row=2, values_only=True))
    assert list(rows[0]) == HEADERS
    assert rows[1][0].startswith("示例") and rows[1][6] == "泉州中心支公司"
    assert "商业险" in [c.value for c in wb["可选值"]["A"]]
    wb.close()
    # the template as downloaded imports nothing: the example row is refused
    rep = upload(client, "template.xlsx", r.content).json()
    assert (rep["rows"], rep["imported"], rep["failed"]) == (1, 0, 1)
    # with the example replaced by a real referral it imports
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    wb.worksheets[0]["A2"] = "12378-REAL-1"
    buf = io.BytesIO()
    wb.save(buf)
    rep = upload(client, "template.xlsx", buf.getvalue()).json()
    assert rep["imported"] == 1, rep


# ---------------------------------------------------------------- CLI


def test_cli_import_regulator(tmp_path, monkeypatch):
    from sqlalchemy.orm import Session
    from typer.testing import CliRunner

    from tests.factories import build_world
    from xiaobao.cli import app
    from xiaobao.config import get_settings
    from xiaobao.core import migrate
    from xiaobao.core.db import make_engine

    url = "sqlite:///" + str(tmp_path / "cli.db")
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        build_world(s, datetime.now(UTC))
        s.commit()
    engine.dispose()
    monkeypatch.setenv("XIAOBAO_DATABASE_URL", url)
    monkeypatch.setenv("XIAOBAO_SECRET_KEY", "cli-test-secret-key-0123456789")
    monkeypatch.setenv("XIAOBAO_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        src = tmp_path / "转办.xlsx"
        src.write_bytes(xlsx([row("CLI-1"), row("CLI-2", 联系电话="12")]))
        out = tmp_path / "report.xlsx"
        runner = CliRunner()
        args = ["complaints", "import-regulator", str(src), "--as", "hq_officer", "--report", str(out)]
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        assert "已导入" in res.output and "CLI-1" in res.output and "联系电话" in res.output
        assert out.exists()
        wb = openpyxl.load_workbook(out)
        assert [r[0] for r in wb.worksheets[0].iter_rows(min_row=2, values_only=True)] == ["CLI-2"]
        wb.close()

        res = runner.invoke(app, args[:-2])
        assert res.exit_code == 0, res.output
        assert "重复" in res.output

        bad = tmp_path / "bad.xlsx"
        bad.write_bytes(_random_bytes(300))
        res = runner.invoke(app, ["complaints", "import-regulator", str(bad), "--as", "hq_officer"])
        assert res.exit_code == 1 and "无法读取 Excel" in res.output
        res = runner.invoke(
            app, ["complaints", "import-regulator", str(tmp_path / "nope.csv"), "--as", "hq_officer"]
        )
        assert res.exit_code == 1
        res = runner.invoke(app, ["complaints", "import-regulator", str(src), "--as", "qz_handler"])
        assert res.exit_code == 1 and "无权" in res.output

        engine = make_engine(url)
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(Complaint)) == 1
            assert (
                s.scalar(
                    select(func.count()).select_from(AuditLog).where(AuditLog.action == "complaint.import")
                )
                == 2
            )
        engine.dispose()
    finally:
        get_settings.cache_clear()
