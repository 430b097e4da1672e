"""The checking engine on sentences and whole documents (.txt, .docx, .pdf generated here), and the CLI."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from xiaobao.cli import app
from xiaobao.review.context import CLAUSE_END, negated
from xiaobao.review.engine import Checker, Finding, check, word_boundaries
from xiaobao.review.extract import ExtractionError, decode_text, extract_bytes, extract_file
from xiaobao.review.rules import MATERIAL_TYPES, Rule, load_rules, parse_rule

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


# ---------------------------------------------------------------- the optimised engine against a reference
#
# A deliberately naive implementation of the documented semantics (module docstring of review/engine.py):
# rule by rule, str.find for every term, finditer over the whole text for every regex, all pairs for near,
# every exception match found by trying every position, whole-text jieba segmentation. The engine must return
# exactly the same findings for every rule example of the library and for random texts.


def _occurrences(text: str, term: str) -> list[tuple[int, int]]:
    out, k = [], text.find(term)
    while k >= 0:
        out.append((k, k + len(term)))
        k = text.find(term, k + 1)
    return out


def _automaton_order(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Occurrences in the order a multi-pattern scan reports them: by end, longest first."""
    return sorted(set(spans), key=lambda sp: (sp[1], sp[0]))


def reference_check(
    rules: list[Rule], text: str, material_type: str = "marketing", product_line: str | None = None
) -> list[Finding]:
    bounds: set[int] | None = None
    hits: list[Finding] = []
    for rule in rules:
        if material_type not in rule.applies_to:
            continue
        if rule.product_lines and product_line not in rule.product_lines:
            continue
        exception_spans = []
        if rule.exceptions is not None:
            for pos in range(len(text) + 1):
                m = rule.exceptions.match(text, pos)
                if m is not None:
                    exception_spans.append(m.span())

        def keep(start: int, end: int, literal: bool, rule: Rule = rule, exc: list = exception_spans) -> bool:
            nonlocal bounds
            if rule.negatable and negated(text, start):
                return False
            if any(s < end and start < e for s, e in exc):
                return False
            if rule.word and literal:
                if bounds is None:
                    bounds = word_boundaries(text)
                return start in bounds and end in bounds
            return True

        def finding(start: int, end: int, rule: Rule = rule) -> Finding:
            return Finding(
                rule.id,
                rule.category,
                rule.severity,
                start,
                end,
                text[start:end],
                rule.basis,
                rule.suggestion,
            )

        for term in set(rule.terms):
            hits += [finding(s, e) for s, e in _occurrences(text, term) if keep(s, e, True)]
        if rule.near is not None:
            a_spans = _automaton_order([sp for t in rule.near.a for sp in _occurrences(text, t)])
            b_spans = _automaton_order([sp for t in rule.near.b for sp in _occurrences(text, t)])
            for s1, e1 in a_spans:
                if not keep(s1, e1, True):
                    continue
                for s2, e2 in b_spans:
                    gap = max(s1, s2) - min(e1, e2)
                    between = text[min(e1, e2) : max(s1, s2)]
                    if gap <= rule.near.within and (s1, e1) != (s2, e2) and not CLAUSE_END.search(between):
                        hits.append(finding(min(s1, s2), max(e1, e2)))
                        break
        for pattern in rule.regex:
            for m in pattern.finditer(text):
                if m.end() > m.start() and keep(m.start(), m.end(), False):
                    hits.append(finding(m.start(), m.end()))
        if rule.require and not any(p.search(text) for p in rule.require):
            hits.append(finding(0, 0))
    out: list[Finding] = []
    last: dict[str, Finding] = {}
    for f in sorted(hits, key=lambda f: (f.start, -(f.end - f.start), f.rule_id)):
        prev = last.get(f.rule_id)
        if prev is not None and (f.start < prev.end or f.end == f.start == prev.start == prev.end):
            continue
        last[f.rule_id] = f
        out.append(f)
    return out


def _rule(rid: str, match: dict[str, object], **extra: object) -> Rule:
    raw: dict[str, object] = {
        "id": rid,
        "category": "absolute_term",
        "severity": "low",
        "match": match,
        "basis": "b",
        "suggestion": "s",
        "examples": {"positive": ["x"], "negative": ["y"]},
    }
    raw.update(extra)
    return parse_rule(raw, "test")


# Rules that exercise what the library may not: regexes with look-around, anchors, alternations of
# different lengths, unbounded parts, empty matches, inline flags, back-references; exceptions that are
# zero-width, overlapping or unbounded; word rules; a term in both near lists.
TRICKY_RULES = [
    _rule("TX-001", {"regex": [r"(?<=本)产品[^，。]{0,3}(最好|第一)", r"(?i)no\.?1", r"保本|稳赚(?!不)"]}),
    _rule("TX-002", {"regex": [r"(收益|回报)+率?\d*%", r"(?:a|bb)(?=c)\b", r"^本产品", r"保险$"]}),
    _rule("TX-003", {"regex": [r"(银行)?", r"(保|赔)(?P<x>付)(?P=x)?", r"[^，。]*安全", r"(?:最(?:好|高))"]}),
    _rule("TX-004", {"terms": ["最好", "最好的", "好的"]}, exceptions=["(?=好)", "的产", "最好(?=的)"]),
    _rule("TX-005", {"terms": ["保本", "本金"]}, exceptions=["不[^，。]*保本", "本金(?=.*风险)"]),
    _rule("TX-006", {"terms": ["最高", "第一", "保额"]}, word=True, negatable=False),
    _rule("TX-007", {"near": {"a": ["本金", "保本"], "b": ["安全", "保本", "本"], "within": 3}}),
    _rule("TX-008", {"near": {"a": ["最高"], "b": ["保额"], "within": 2}}, word=True),
    _rule("TX-009", {"regex": [r"(?:第[一二三]|前三)名?"], "terms": ["第一"]}, exceptions=["第一(?=年)"]),
    _rule("TX-010", {"require": ["犹豫期", "冷静期"]}, applies_to=["terms"], product_lines=["health"]),
    _rule("TX-011", {"regex": [r"a+b", r"(ab)*c", r"x{2,}y", r"(?s:.)保"]}),
    _rule(
        "TX-012", {"regex": [r"(收益|回报)率?[^，。]{0,3}\d+(\.\d+)?%", r"(退保|停交)(可达)?(\d{2,}|十)倍"]}
    ),
    _rule("TX-013", {"near": {"a": ["收益", "退保"], "b": ["%", "倍", "收益率"], "within": 4}}),
]

FRAGMENTS = [
    *"本产品 保本 保本保息 本金 安全 最好 最好的 最高 最高保额 保额 第一 第一年 第一名 前三 NO.1 no1 收益率5% 回报回报8%"
    " 银行 发行 稳赚 稳赚不赔 不 非 没有 并非 严禁 ， 。 ； 的 产品 保险 保付付 abc aab xxy 犹豫期 风险 全国领先 行业第一"
    " 存款 比银行定期高 退保 重新买 承保 投保 赔付 公司 最强 好的 免费 赠送 意外险 预期收益率3.5% 每年分红6% 仅剩3天"
    " 5 ５ ٣ 12 可达 倍 % 十 停交 收益率".split(),
    "\n",
    "\r\n",
    " ",
    "保险\n",
]
FILLER = "尊敬的客户您好这款计划为家庭提供全面守护具体以条款为准"


def _all_rules() -> list[Rule]:
    return [*load_rules(), *TRICKY_RULES]


@pytest.fixture(scope="module")
def all_rules() -> list[Rule]:
    return _all_rules()


@pytest.fixture(scope="module")
def checker(all_rules: list[Rule]) -> Checker:
    return Checker(all_rules)


def _assert_same(checker: Checker, rules: list[Rule], text: str, mt: str, pl: str | None = None) -> None:
    assert checker.check(text, mt, pl) == reference_check(rules, text, mt, pl), text


def test_engine_matches_the_reference_on_every_library_example(
    checker: Checker, all_rules: list[Rule]
) -> None:
    examples = [ex for r in load_rules() for ex in (*r.positive, *r.negative)]
    assert examples
    for mt in MATERIAL_TYPES:
        for pl in (None, "health", "life"):
            for text in examples:
                _assert_same(checker, all_rules, text, mt, pl)
    # and all examples as one document
    _assert_same(checker, all_rules, "\n".join(examples), "marketing")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(
        st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet=FILLER, min_size=1, max_size=6)), max_size=40
    ),
    mt=st.sampled_from(MATERIAL_TYPES),
    pl=st.sampled_from([None, "health", "accident"]),
)
def test_engine_matches_the_reference_on_random_texts(
    checker: Checker, all_rules: list[Rule], parts: list[str], mt: str, pl: str | None
) -> None:
    _assert_same(checker, all_rules, "".join(parts), mt, pl)


def test_engine_matches_the_reference_on_many_seeded_texts(checker: Checker, all_rules: list[Rule]) -> None:
    import random

    rnd = random.Random(20260302)
    for n in range(1500):
        parts = [
            rnd.choice(FRAGMENTS) if rnd.random() < 0.6 else "".join(rnd.choices(FILLER, k=3))
            for _ in range(rnd.randint(0, 40))
        ]
        _assert_same(checker, all_rules, "".join(parts), MATERIAL_TYPES[n % 4], "health" if n % 3 else None)


def test_array_paths_match_the_reference(
    checker: Checker, all_rules: list[Rule], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big texts filter windows, near pairs and digit positions on numpy arrays; force those paths on
    small texts (thresholds 0) and compare with the reference again."""
    import random

    from xiaobao.review import engine

    monkeypatch.setattr(engine, "_NUMPY_FROM", 0)
    monkeypatch.setattr(engine, "_DIGIT_FILTER_FROM", 0)
    rnd = random.Random(4)
    for n in range(400):
        parts = [
            rnd.choice(FRAGMENTS) if rnd.random() < 0.6 else "".join(rnd.choices(FILLER, k=3))
            for _ in range(rnd.randint(0, 60))
        ]
        _assert_same(checker, all_rules, "".join(parts), MATERIAL_TYPES[n % 4], "health" if n % 3 else None)
    examples = [ex for r in load_rules() for ex in (*r.positive, *r.negative)]
    _assert_same(checker, all_rules, "\n".join(examples), "marketing")


def test_digit_table_is_the_regex_engines() -> None:
    from xiaobao.review.engine import _decimal_digits

    table = _decimal_digits()
    assert {c for c in range(0x110000) if table[c]} == {
        c for c in range(0x110000) if not 0xD800 <= c < 0xE000 and re.match(r"\d", chr(c))
    }


def test_windowed_regex_sees_the_end_of_the_text_like_finditer(
    checker: Checker, all_rules: list[Rule]
) -> None:
    # `$` also matches before a final newline: a search cut just after that newline would see an end there
    text = "收益率5%重新买保险\n护划以"
    assert ("TX-002", "保险") not in {(f.rule_id, f.text) for f in checker.check(text)}
    _assert_same(checker, all_rules, text, "marketing")
    _assert_same(checker, all_rules, "本产品是保险\n", "marketing")


def test_regex_anchors_and_reach_are_found() -> None:
    from xiaobao.review.engine import _analyse

    p = _analyse(re.compile(r"(预期|固定)(年化)?(收益|回报)率?[^，。]{0,6}\d+"), want_anchors=True)
    # literals and optional literals combine into longer (rarer) strings; 预期收益率 is left out, since where
    # it occurs 预期收益 does too; the set (收益|回报) is dropped because 预期收益 ... all contain one of it
    assert p.anchor_sets == (
        tuple(
            (s, 0, 0)
            for s in [
                "预期收益",
                "预期回报",
                "预期年化收益",
                "预期年化回报",
                "固定收益",
                "固定回报",
                "固定年化收益",
                "固定年化回报",
            ]
        ),
    )
    assert p.max_width is None and p.reach is None
    assert p.digit == (4, 13)  # the first digit of \d+ comes after 4 to 13 characters
    q = _analyse(re.compile(r"最高(?=(可?[赔给]付|保额))"), want_anchors=True)
    assert (q.max_width, q.reach) == (2, 5)
    assert q.anchor_sets == ((("最高", 0, 0),),)
    r = _analyse(re.compile(r"(比|高于)(银行)?(存款|定期)"), want_anchors=True)
    # 比 alone would be reported everywhere: it only counts as part of a longer string
    assert {s for s, _, _ in r.anchor_sets[0]} == {
        "比存款",
        "比定期",
        "比银行存款",
        "比银行定期",
        "高于存款",
        "高于定期",
        "高于银行存款",
        "高于银行定期",
    }
    assert len(r.anchor_sets) == 1
    s = _analyse(re.compile(r"(你的|老的?)(保单|产品)[^，]{0,4}(白买|过时)"), want_anchors=True)
    assert s.anchor_sets == (
        tuple((x, 0, 0) for x in ["你的保单", "你的产品", "老保单", "老产品", "老的保单", "老的产品"]),
        (("白买", 3, 8), ("过时", 3, 8)),
    )
    assert _analyse(re.compile(r"退(保|掉)了"), want_anchors=True).anchor_sets[0] == (
        ("退保了", 0, 0),
        ("退掉了", 0, 0),
    )
    # an alternative that is not all literals still gives how its matches begin (最具)
    t = _analyse(re.compile(r"最(权威|专业|具[一-龥]{1,3})"), want_anchors=True)
    assert t.anchor_sets == ((("最权威", 0, 0), ("最专业", 0, 0), ("最具", 0, 0)),)
    # only one-character literals, and sre finds the first character quickly by itself: no anchors
    assert _analyse(re.compile(r"送\s*\d+万"), want_anchors=True).anchor_sets == ()
    assert _analyse(re.compile(r"(?a)保费\d+"), want_anchors=True).digit is None  # ASCII digits only
    # no anchor: empty matches possible, or no literal at a bounded offset
    assert _analyse(re.compile(r"(银行)?"), want_anchors=True).anchor_sets == ()
    assert _analyse(re.compile(r"[^，]*安全"), want_anchors=True).anchor_sets == ()


def test_a_regex_runs_in_the_windows_of_its_rarest_anchor_set() -> None:
    rule = _rule("TR-001", {"regex": [r"(保险|保单)[^，。]{0,4}(白送|免费送)"]})
    checker = Checker([rule])
    text = "保险保单，" * 1000 + "这份保险白送。"
    [hit] = checker.check(text)
    assert hit.text == "保险白送"
    assert checker.check("保险保单，" * 1000) == []  # 白送/免费送 never occur: the regex is not run


def test_local_word_boundaries_equal_whole_text_segmentation() -> None:
    import jieba

    from xiaobao.review.engine import _HAN_CHAR, _Run

    han = jieba.re_han_default  # the same character class as jieba's
    assert all(bool(_HAN_CHAR.match(chr(c))) == bool(han.match(chr(c))) for c in range(0x10000))
    text = "本产品最高保额100万元，我们的服务最强！\r\n第一年保费300元 NO.1 最高\n最大限度地保障。"
    run = _Run(text, Checker([]))
    assert {x for x in range(len(text) + 1) if run._boundary(x)} == word_boundaries(text)


def test_near_with_many_occurrences_is_not_quadratic() -> None:
    rule = _rule("TN-001", {"near": {"a": ["本金"], "b": ["安全"], "within": 2}})
    text = "本金很安全。" * 20000 + "本金" * 20000
    found = Checker([rule]).check(text)
    assert len(found) == 20000 and found[0].text == "本金很安全"


def test_construction_from_many_rules_is_cheap() -> None:
    import time

    rules = load_rules() * 6
    t0 = time.perf_counter()
    Checker(rules)
    assert time.perf_counter() - t0 < 5  # generous: a shared, noisy machine; typically well under 0.5 s


def test_case_insensitive_regexes_get_anchors_for_every_case() -> None:
    from xiaobao.review.engine import _analyse

    p = _analyse(re.compile(r"(?i)best"), want_anchors=True)
    [anchors] = p.anchor_sets
    assert {"best", "BEST", "Best", "beſt"} <= {s for s, _, _ in anchors}  # ſ matches s when ignoring case
    rule = _rule("TI-001", {"regex": [r"(?i)(?<![a-z])best(?![a-z])", r"(?i:ⓐb)c"]})
    for text in ["the BEST one", "beſt", "Best!", "bestseller", "ⒶBc ⓐbC ⓐbc"]:
        assert Checker([rule]).check(text) == reference_check([rule], text), text


def test_extra_case_table_matches_the_regex_engine() -> None:
    from xiaobao.review.engine import EXTRA_CASES

    every = "".join(chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c < 0xE000)
    found: dict[str, set[str]] = {}
    for ch in set(re.findall("(?i)[a-z]", every)):
        for letter in "abcdefghijklmnopqrstuvwxyz":
            if re.fullmatch(letter, ch, re.IGNORECASE):
                found.setdefault(letter, set()).add(ch)
    assert found == {k: set(v) for k, v in EXTRA_CASES.items()}
