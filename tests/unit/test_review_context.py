"""Negation and disclosure context (review/context.py): which hits count as violations."""

from __future__ import annotations

import pytest

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
