"""Negation and disclosure context (review/context.py): which hits count as violations."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xiaobao.review import context
from xiaobao.review.context import CLAUSE_END, negated


def at(text: str, term: str) -> bool:
    return negated(text, text.index(term))


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("本产品不保本", "保本"),
        ("投资并非无风险", "无风险"),
        ("本产品是保险产品，不是存款", "存款"),
        ("本产品不是“存款”", "存款"),  # quotation marks do not separate the cue from the hit
        ("本产品不是市场上最便宜的", "最便宜"),  # copula negation scopes over the phrase
        ("严禁销售人员向客户承诺保本保息", "保本"),  # prohibition covers its clause
        ("销售人员不得给予投保人合同约定以外的利益，如返还佣金、赠送礼品等", "返还佣金"),  # enumeration
        ("银行保险机构不得以“保本”“无风险”等用语误导消费者", "无风险"),
        ("近期有不法分子以“稳赚不赔”为诱饵推销非法理财", "稳赚不赔"),  # quoted in a warning
        ("任何承诺“零风险、高回报”的都是骗局", "零风险"),
        ("销售人员承诺的返现、送礼均属违规行为", "返现"),  # labelled a violation later
        ("提示：代理退保可能泄露您的个人信息并导致财产损失", "代理退保"),
        ("近期有不法分子以代理退保名义骗取钱财", "代理退保"),  # the offender names the clause
    ],
)
def test_disclosures_and_warnings_are_negated(text: str, term: str) -> None:
    assert at(text, term)


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("本产品保本保息", "保本"),
        ("不用担心，保本保息", "保本"),  # the cue is in another clause
        ("不仅保本，还有分红", "保本"),  # 不仅 is not a negation
        ("不管市场怎么变，收益都稳稳到手", "稳稳到手"),
        ("“保本保息”年金险，限时抢购", "保本"),  # a quoted slogan without a warning
        ("不要错过这款保本产品", "保本"),  # 不要错过 is urging, not prohibiting
        ("长按识别二维码，了解保本产品", "保本"),
        ("这款产品保本保息，是很多客户的选择", "保本"),
        ("这款年金保本，不会造成任何损失", "保本"),  # "不会造成损失" is a promise, not a warning
        ("您不是有笔定期要到期了吗？", "定期"),  # a rhetorical question asserts
        ("难道您不想收益稳稳到手吗？", "稳稳到手"),
        ("一个不落全都赔", "全都赔"),  # 不落 / 差不多 are not negations
        ("差不多能赚一万", "能赚"),
    ],
)
def test_violations_are_not_negated(text: str, term: str) -> None:
    assert not at(text, term)


def test_negation_stays_in_its_clause() -> None:
    assert not negated("我们不推销，保本保息", 6)
    assert negated("我们不推销保本产品", 5)


def test_clause_end_covers_chinese_and_ascii_punctuation() -> None:
    for ch in '，。；！？,.;!?\n：:、“”"':
        assert CLAUSE_END.match(ch), ch
    assert not CLAUSE_END.match("保")


# -- the prefilters in `negated` are shortcuts only: same answer as the cases without them

_PIECES = sorted(
    {
        *"不非没未无勿别绝并算谈称严禁切请谨警提防杜避打整轻所冒从犯诈假违骗虚误损风泄纠是属均都系纯可会容",
        *"保本收益存款理财最好第一稳赚送免费退保全额停售监管赔",
        *'，。；！？、：“”‘’「」『』"吗嘛 \n',
        "不是",
        "并非",
        "严禁",
        "不得",
        "不能",
        "不要",
        "警惕",
        "骗局",
        "违规",
        "均属违规",
        "可能导致损失",
        "不保本",
        # every alternative of the prohibition and copula patterns, so the prefilters meet each one
        *"严禁 禁止 不得 不准 不应 不宜 不可 不可以 不能 切勿 请勿 勿 谨防 警惕 提防 防范 杜绝 避免 打击 整治".split(),
        *"不要 轻信 所谓 冒用 冒充 不会以 不以任何 从不 从未 绝不 不法分子 犯罪分子 诈骗分子 假借".split(),
        *"并不是 绝不是 绝非 算不上 谈不上 称不上 不属于 不等于 不代表 没办法 无法 不敢 差不多 不断".split(),
        "没法",
        "难道",
        "吗？",
        "保本",
        "无风险",
        "存款",
        "最好",
        "第一",
    }
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=40))
def test_prefilters_change_no_answer(pieces: list[str]) -> None:
    text = "".join(pieces)
    for start in range(len(text) + 1):
        assert negated(text, start) == context.negated_slow(text, start), (text, start)


def test_prefilters_change_no_answer_on_the_evaluation_set() -> None:
    path = Path(__file__).resolve().parents[2] / "bench" / "data" / "review_eval.jsonl"
    rng = random.Random(5)
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in rng.sample(lines, min(400, len(lines))):
        text = json.loads(line)["text"]
        for start in range(len(text) + 1):
            assert negated(text, start) == context.negated_slow(text, start), (text, start)
