"""The checking engine on sentences and whole documents (.txt, .docx, .pdf generated here), and the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xiaobao.cli import app
from xiaobao.review.context import negated
from xiaobao.review.engine import Checker, check
from xiaobao.review.extract import ExtractionError, decode_text, extract_bytes, extract_file
from xiaobao.review.rules import parse_rule

CLEAN_FOOTER = "本产品由示例财产保险股份有限公司承保，具体保险责任以保险条款为准。"
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def ids(text: str, material_type: str = "marketing", product_line: str | None = None) -> list[str]:
    return [f.rule_id for f in check(text, material_type, product_line)]


def test_offsets_point_at_the_exact_text() -> None:
    text = "尊敬的客户：本产品保本保息，全国销量第一！" + CLEAN_FOOTER
    findings = check(text, "marketing")
    assert findings, "expected findings"
    for f in findings:
        assert text[f.start : f.end] == f.text
    by_rule = {f.rule_id: f for f in findings}
    assert by_rule["GR-001"].text == "保本保息"
    assert by_rule["AT-002"].start == text.index("第一")


@pytest.mark.parametrize(
    "text",
    [
        "本产品不保本，投资有风险。",
        "本产品是保险产品，不是存款。",
        "过往业绩不代表未来表现，分红水平不确定。",
        "请勿将保险产品与银行存款混淆。",
    ],
)
def test_negation_and_disclosure_context_do_not_fire(text: str) -> None:
    assert ids(text + CLEAN_FOOTER) == []


def test_negation_is_limited_to_the_clause() -> None:
    assert negated("本产品不保本", 4)
    assert not negated("不用担心，保本", 5)
    assert "GR-001" in ids("不用担心，保本保息。" + CLEAN_FOOTER)


def test_first_year_is_not_an_absolute_claim_but_ranking_is() -> None:
    assert "AT-002" not in ids("第一年保费300元，第一次理赔免材料。" + CLEAN_FOOTER)
    assert "AT-002" in ids("我们是行业第一。" + CLEAN_FOOTER)


def test_word_boundaries_keep_contractual_maximums() -> None:
    assert "AT-005" not in ids("本产品最高保额100万元。" + CLEAN_FOOTER)
    assert "AT-005" in ids("我们的服务最强。" + CLEAN_FOOTER)


def test_co_occurrence_within_n_characters_in_one_clause() -> None:
    rule = parse_rule(
        {
            "id": "TT-001",
            "category": "deposit_analogy",
            "severity": "low",
            "match": {"near": {"a": ["银行"], "b": ["发行"], "within": 3}},
            "basis": "b",
            "suggestion": "s",
            "examples": {"positive": ["银行发行"], "negative": ["x"]},
        },
        "test",
    )
    checker = Checker([rule])
    [hit] = checker.check("这是银行的发行产品")
    assert (hit.start, hit.end, hit.text) == (2, 7, "银行的发行")
    assert checker.check("这是银行代理销售、保险公司负责发行的产品") == []  # too far and across a clause
    assert checker.check("银行，发行") == []


def test_required_elements_per_material_type() -> None:
    poster = "安心守护计划，每天一块钱。"
    assert {"MD-001", "MD-002"} <= set(ids(poster, "marketing"))
    assert "MD-002" not in ids(poster, "script")  # the underwriter rule is for marketing material
    assert not {"MD-001", "MD-002"} & set(ids("安心意外保险。" + CLEAN_FOOTER, "marketing"))
    terms = "第一条 保险责任：被保险人因意外伤害身故的，给付身故保险金。"
    missing = set(ids(terms, "terms", "accident"))
    assert {"MD-003", "MD-004"} <= missing
    assert "MD-005" not in missing  # the waiting period is for health insurance only
    full = terms + "第二条 责任免除。第三条 犹豫期为15日。如有投诉请拨打客服热线95518。"
    assert not {"MD-003", "MD-004", "MD-007"} & set(ids(full, "terms", "accident"))
    required = [f for f in check(terms, "terms", "accident") if f.category == "missing_disclosure"]
    assert all(f.start == f.end == 0 and f.text == "" for f in required)


def test_unknown_material_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="material type"):
        check("x", "poster")


def test_text_decoding_utf8_and_gb18030() -> None:
    assert decode_text("保本".encode()) == "保本"
    assert decode_text("保本".encode("gb18030")) == "保本"
    assert extract_bytes("\ufeff稳赚".encode(), "a.txt").text == "稳赚"


def _docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_whole_docx_document_with_paragraph_offsets() -> None:
    paragraphs = ["安心宝年金保险", "本产品保本保息，收益比银行定期高多了。", CLEAN_FOOTER]
    extracted = extract_bytes(_docx_bytes(paragraphs), "poster.docx")
    assert extracted.text == "\n".join(paragraphs)
    second = extracted.parts[1]
    assert extracted.text[second.start : second.end] == paragraphs[1]
    findings = check(extracted.text, "marketing")
    assert {"GR-001", "DA-004"} <= {f.rule_id for f in findings}
    for f in findings:
        assert extracted.text[f.start : f.end] == f.text
        if f.end > f.start:
            assert second.start <= f.start and f.end <= second.end


def _pdf_bytes(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    if CJK_FONT.exists():
        pdf.add_font("cjk", fname=str(CJK_FONT), collection_font_number=0)
        pdf.set_font("cjk", size=12)
    else:
        pdf.set_font("helvetica", size=12)
    for page in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, page)
    return bytes(pdf.output())


def test_whole_pdf_document_with_page_offsets() -> None:
    if CJK_FONT.exists():
        pages = ["安心宝年金保险，本产品保本保息。", "全国销量第一！" + CLEAN_FOOTER]
        expected = {"GR-001", "AT-002"}
    else:  # no CJK font on this machine: exercise the PDF path with ASCII text
        pages = ["Our service is NO.1", "insurance"]
        expected = {"AT-002"}
    extracted = extract_bytes(_pdf_bytes(pages), "poster.pdf")
    assert [p.kind for p in extracted.parts] == ["page", "page"]
    assert extracted.text.split("\n")[0].strip() == pages[0]
    findings = check(extracted.text, "marketing")
    assert expected <= {f.rule_id for f in findings}
    for f in findings:
        assert extracted.text[f.start : f.end] == f.text


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.docx", b"not a zip", "cannot read the Word document"),
        ("a.pdf", b"%PDF-1.4 garbage", "cannot read the PDF"),
        ("a.xlsx", b"x", "unsupported file type"),
        ("a.txt", b"\xff\xfe\xff\x00\x81", "cannot decode"),
    ],
)
def test_unreadable_files_raise_bilingual_errors(name: str, data: bytes, message: str) -> None:
    with pytest.raises(ExtractionError) as exc:
        extract_bytes(data, name)
    assert message in exc.value.en
    assert exc.value.zh


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="cannot read the file"):
        extract_file(tmp_path / "nope.txt")


runner = CliRunner()


def test_cli_prints_findings_as_json(tmp_path: Path) -> None:
    path = tmp_path / "poster.docx"
    path.write_bytes(_docx_bytes(["本产品稳赚不赔。", CLEAN_FOOTER]))
    result = runner.invoke(app, ["review", "check", str(path), "--type", "marketing", "--format", "json"])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)["findings"]
    [hit] = [f for f in findings if f["rule_id"] == "GR-003"]
    assert set(hit) == {"rule_id", "category", "severity", "start", "end", "text", "basis", "suggestion"}
    assert hit["text"] == "稳赚不赔" and hit["start"] == 3 and hit["category"] == "guaranteed_return"


def test_cli_exit_zero_without_findings(tmp_path: Path) -> None:
    path = tmp_path / "notice.txt"
    path.write_text("尊敬的客户，您的保单将于下月到期，如有投诉请拨打客服热线95518。", encoding="gb18030")
    result = runner.invoke(app, ["review", "check", str(path), "--type", "notice"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"findings": []}


def test_cli_unreadable_file_fails_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4 nothing here")
    result = runner.invoke(app, ["review", "check", str(path)])
    assert result.exit_code != 0
    assert "cannot read the PDF" in result.output


def test_cli_rejects_unknown_type(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["review", "check", str(path), "--type", "poster"])
    assert result.exit_code != 0
