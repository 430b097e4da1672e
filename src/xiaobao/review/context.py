"""Chinese context around a hit: clause boundaries and negation or disclosure cues. Pure functions used by the
engine for every candidate hit ("不保本", "并非存款", "严禁承诺收益", "请警惕“保本高收益”的宣传" are
disclosures, not violations).

`negated(text, start)` is true when the hit starting at `start` is

1. directly negated: a short cue (不, 非, 没有, 未, 无法, 勿 ...) at most NEGATION_WINDOW characters before it in
   the same clause ("不保本", "并非无风险", "不是存款"), or a copula negation (不是, 并非, 不属于 ...) at most
   COPULA_WINDOW characters before it ("不是市场上最便宜的", "没法跟您保证一定赔"); words that merely start with 不 ("不断", "不仅",
   "不管", "不用") are not cues;
2. forbidden or warned against: a prohibition cue (严禁, 禁止, 不得, 切勿, 警惕, 谨防 ...) earlier in the same
   clause, at most PROHIBITION_WINDOW characters back ("严禁销售人员向客户承诺保本保息"); a clause that opens
   with an enumeration ("，如返还佣金") continues the clause before it;
3. quoted in a warning: the hit sits inside quotation marks and its sentence carries a warning or prohibition
   cue before or after the quote ("不得以“保本”“无风险”等用语", "以“稳赚不赔”为诱饵", "“全额退保”是骗局");
4. labelled a violation later in its sentence ("销售人员承诺的返现、送礼均属违规行为").

A rhetorical question is not a negation: in "您不是有笔定期要到期了吗？" the cue 不是 asserts (case 1 is skipped
when the sentence ends in 吗？ and the cue is 不是, 难道 or 没有).

Quotation marks never separate a cue from the quoted hit ("不是“存款”"). `CLAUSE_END` is the engine's clause
boundary for co-occurrence (a near match never spans one).
"""

from __future__ import annotations

import re

# Short cues: they negate what immediately follows.
NEGATION = re.compile(
    r"(?<!差)不(?![断菲少错久仅但光只管论用必怕愁再停过然妨如足到及限落])|非(?!常|法|凡|要)|没有|没(?=[啥法])|未(?!来|满|成年)"
    r"|无法|勿|别(?=[信听])|绝非|并非"
)
# Prohibition and warning cues: they cover the rest of their clause.
PROHIBITION = re.compile(
    r"严禁|禁止|不得|不准|不应|不宜|不可以?(?!错过|思议|多得)|不能(?!错过|少|没有)|切勿|请勿|勿|谨防|警惕|提防"
    r"|防范|杜绝|避免|打击|整治|不要(?!错过|犹豫|等|担心|怕|再|纠结|想)|轻信|所谓|冒用|冒充"
    r"|不会以|不以任何|从不|从未|绝不(?=[会以向对给承])|不法分子|犯罪分子|诈骗分子|假借"
)
# Cues that, anywhere in the sentence, mark a quoted phrase as an example of what not to do.
WARNING = re.compile(
    PROHIBITION.pattern + r"|骗局|诈骗|骗子|诱饵|陷阱|套路|话术|噱头|虚假|违规|违法|非法|不法|误导|黑产|谣言"
    r"|从未|从不|绝不|未授权|未经授权|不使用|不出现|极限用语|绝对化用语|禁用词|违禁词|敏感词"
    r"|并不是|并非|不存在|不等于|不代表|不保证"
)
CLAUSE_END = re.compile(r"[，。；！？,.;!?\n：:、“”\"]")
NEGATION_WINDOW = 4
# Copula negation scopes over the whole phrase it introduces ("不是市场上最便宜的", "并非所有疾病都赔").
COPULA_NEGATION = re.compile(
    r"不是|并非|并不是|绝不是|绝非|算不上|谈不上|称不上|不属于|不等于|不代表|没法|没办法|无法|不敢|不能(?!错过|少)"
)
COPULA_WINDOW = 10
PROHIBITION_WINDOW = 24

# Later in the sentence the phrase is called what it is ("承诺的返现、送礼均属违规行为", "保本的说法是骗局").
POST_LABEL = re.compile(
    r"(?<![不没])(均属|都属|属于|均为|都是|是|系|纯属)(于)?"
    r"(违规|违法|诈骗|骗局|虚假宣传|不实宣传|误导|违法违规|非法)"
    r"|(?<![不没])(可能|会|容易)(泄露|导致|造成|带来|引发)[^，。；]{0,12}(损失|风险|泄露|纠纷)"
)
POST_WINDOW = 24

_QUOTES = '“”"‘’「」『』《》'
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_CLAUSE = re.compile(r"[，。；！？,.;!?\n：:]")
_RHETORICAL_CUE = re.compile(r"不是|难道|没有")
_ENUMERATION = re.compile(r"(如|例如|比如|包括|诸如|即|或者?|以及|及|也|亦|更|甚至|特别是|尤其是)")


def _unquoted(s: str) -> str:
    return "".join(ch for ch in s if ch not in _QUOTES)


def _clause_start(text: str, start: int, lo: int) -> int:
    """Start of the clause holding `start` (not before lo), ignoring quotation marks."""
    pos = start
    while pos > lo:
        ch = text[pos - 1]
        if _CLAUSE.match(ch):
            return pos
        pos -= 1
    return lo


def _rhetorical(text: str, start: int) -> bool:
    """The hit sits in a rhetorical question ("您不是有笔定期要到期了吗？"): it asserts, it does not negate."""
    m = _SENTENCE_END.search(text, start, start + 40)
    if m is None or m.group() not in "？?" or m.start() == 0 or text[m.start() - 1] not in "吗嘛":
        return False
    cut = _clause_start(text, start, max(0, start - COPULA_WINDOW - 2))
    return _RHETORICAL_CUE.search(text, cut, start) is not None


def _direct(text: str, start: int) -> bool:
    if _rhetorical(text, start):
        return False
    lo = max(0, start - NEGATION_WINDOW - 2)  # room for quotation marks inside the window
    cut = _clause_start(text, start, lo)
    window = text[cut:start]
    if "、" in window:
        window = window[window.rindex("、") + 1 :]
    window = _unquoted(window)
    if NEGATION.search(window[-NEGATION_WINDOW:]) is not None:
        return True
    wide = _unquoted(text[_clause_start(text, start, max(0, start - COPULA_WINDOW - 2)) : start])
    return COPULA_NEGATION.search(wide[-COPULA_WINDOW:]) is not None


def _prohibited(text: str, start: int) -> bool:
    lo = max(0, start - PROHIBITION_WINDOW)
    pos = _clause_start(text, start, lo)
    # an enumerating clause ("，如返还佣金、赠送礼品") continues the clause before it
    while pos > lo and text[pos - 1] in "，,：:" and _ENUMERATION.match(text, pos):
        pos = _clause_start(text, pos - 1, lo)
    return PROHIBITION.search(text, pos, start) is not None


def _quoted_warning(text: str, start: int) -> bool:
    lo = max(0, start - 40)
    sent_lo = lo
    for end in _SENTENCE_END.finditer(text, lo, start):
        sent_lo = end.end()
    before = text[sent_lo:start]
    opened = False
    for ch in before:
        if ch in "“‘「『":
            opened = True
        elif ch in "”’」』":
            opened = False
        elif ch == '"':
            opened = not opened
    if not opened:
        return False
    m = _SENTENCE_END.search(text, start, start + 60)
    sent_hi = m.start() if m else min(len(text), start + 60)
    return WARNING.search(text, sent_lo, sent_hi) is not None


def _labelled_after(text: str, start: int) -> bool:
    m = _SENTENCE_END.search(text, start, start + POST_WINDOW)
    hi = m.start() if m else min(len(text), start + POST_WINDOW)
    return POST_LABEL.search(text, start, hi) is not None


# Exact prefilters: each case above needs at least one of these strings inside the span it reads, so a span
# without any of them cannot match and the (costlier) case is skipped. Each must hold a necessary piece of every
# alternative of the pattern it guards (keep them in step when a pattern changes);
# tests/unit/test_review_context.py checks on random and real texts that the shortcut changes no answer.
_NEGATION_NEED = re.compile(r"[不非没未无勿别绝并]")  # first characters of NEGATION
_NEGATION_REACH = NEGATION_WINDOW + 2
_COPULA_NEED = re.compile(r"不[是属等代敢能]|并[非不]|绝[不非]|[算谈称]不上|没法|没办法|无法")
_COPULA_REACH = COPULA_WINDOW + 2
_PROHIBITION_NEED = re.compile(
    r"严禁|禁止|不[得准应宜可能要会以法]|勿|谨防|警惕|提防|防范|杜绝|避免|打击|整治|轻信|所谓|冒[用充]|从[不未]"
    r"|绝不|犯罪|诈骗|假借"
)
_OPEN_QUOTE = re.compile(r"[“‘「『\"]")
_POST_NEED = re.compile(r"违|诈|骗|虚|不实|误|非法|损|风|泄|纠")  # a piece of every label word of POST_LABEL


def negated(text: str, start: int) -> bool:
    """True when the hit at `start` is negated, forbidden, or quoted in a warning (see the module doc)."""
    return (
        (
            (
                _NEGATION_NEED.search(text, max(0, start - _NEGATION_REACH), start) is not None
                or _COPULA_NEED.search(text, max(0, start - _COPULA_REACH), start) is not None
            )
            and _direct(text, start)
        )
        or (
            _PROHIBITION_NEED.search(text, max(0, start - PROHIBITION_WINDOW), start) is not None
            and _prohibited(text, start)
        )
        or (_OPEN_QUOTE.search(text, max(0, start - 40), start) is not None and _quoted_warning(text, start))
        or (_POST_NEED.search(text, start, start + POST_WINDOW) is not None and _labelled_after(text, start))
    )


def negated_slow(text: str, start: int) -> bool:
    """`negated` without the prefilters (the reference the tests compare it with)."""
    return (
        _direct(text, start)
        or _prohibited(text, start)
        or _quoted_warning(text, start)
        or _labelled_after(text, start)
    )
