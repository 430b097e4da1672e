"""Review engine speed (issue 4): 1,000 rules over 10 MB of Chinese text, against a bare multi-pattern scan.

1. Rules: the shipped library (`xiaobao.review.rules.load_rules`) plus generated variants up to 1,000 rules,
   built like the library's own (and validated by `parse_rule`): term lists combined from insurance
   marketing vocabulary (绝对化用语, 承诺收益, 停售炒作 ...), regexes in the library's style (an alternation,
   optional parts, a bounded gap, a number and a unit), co-occurrence rules, some with exceptions, some
   marked `word`, some for other material types or product lines only.
2. Text: 10 MB (UTF-8, about 3.5 million characters) of marketing and terms-like Chinese, sentence by
   sentence from templates with a fixed seed: mostly clean sentences, about one sentence in six with a
   violation (library positive examples, generated terms in context), disclosures with negations, and
   numbers, so hits occur at a realistic density. No data files.
3. Timing, interleaved and repeated (the machine is shared; medians are reported):
   - review: `Checker(rules).check(text, "marketing")`, the whole engine (terms, regexes, near, required
     elements, negation, exceptions, word boundaries, dedupe, Finding objects);
   - scan: a bare pyahocorasick automaton of the same literal terms (every rule's terms and near terms),
     iterating over the same text and counting the hits;
   - doc20k: one 20,000-character document reviewed end to end (`check`), median of several documents.

Last line on stdout:
    review_speed: chars_per_s=<n> scan_chars_per_s=<n> ratio=<review/scan> doc20k_ms=<n>
Target: ratio >= 0.3; a 20,000-character document reviewed in <= 100 ms.

Run: .venv/bin/python bench/review_speed.py [--mb 10] [--rules 1000] [--repeat 3] [--docs 9] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import ahocorasick

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from xiaobao.review.engine import Checker, word_boundaries  # noqa: E402
from xiaobao.review.rules import CATEGORIES, Rule, load_rules, parse_rule  # noqa: E402


def log(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- vocabulary

# per category: (id prefix, heads, tails) — generated terms are head + tail, like 全网最低 or 收益翻倍
VOCAB: dict[str, tuple[str, list[str], list[str]]] = {
    "absolute_term": (
        "VAT",
        "全网 全国 业内 史上 行业 市面上 同类 全市 全省 亚洲".split(),
        "最强 最全 最优 最低价 最划算 第一品牌 唯一 首选 顶配 天花板 之王 无敌".split(),
    ),
    "guaranteed_return": (
        "VGR",
        "收益 回报 分红 利息 本金 资金 账户价值 现金价值 年金 保单价值".split(),
        "稳涨 翻倍 只增不减 稳稳到手 保证兑付 零亏损 稳赚 旱涝保收 锁死 有保证".split(),
    ),
    "deposit_analogy": (
        "VDA",
        "银行 存款 储蓄 定存 零存整取 大额存单 理财 余额宝".split(),
        "同款 替代品 升级版 一样安全 一样灵活 随存随取 利息更高 保本替代".split(),
    ),
    "stop_sale_hype": (
        "VSS",
        "最后 限时 即将 马上 错过 仅此 今晚 月底".split(),
        "停售 下架 涨价 绝版 炸裂 抢光 不再有 恢复原价".split(),
    ),
    "regulator_endorsement": (
        "VRE",
        "政府 国家 监管 银保监 官方 社保局 财政部 人民银行".split(),
        "推荐 背书 兜底 担保 指定产品 认证产品 官方合作 监制".split(),
    ),
    "disparagement": (
        "VDP",
        "别家 友商 同行 其他公司 某公司 小公司 外资公司 网红产品".split(),
        "坑人 骗人 不赔 理赔难 要倒闭 套路多 不靠谱 垃圾产品".split(),
    ),
    "false_gift": (
        "VFG",
        "免费 白送 赠送 0元 零元 白拿 白领 送".split(),
        "领取保险 送保障 拿保单 意外险 医疗险 体检卡 加油卡 购物卡".split(),
    ),
    "surrender_inducement": (
        "VSI",
        "退保 退掉 停交 断交 转保 换保".split(),
        "全额退 不吃亏 更划算 无损失 退全款 能退钱 拿回本金 零损失".split(),
    ),
    "exaggerated_coverage": (
        "VEC",
        "什么都 全部 所有 任何 百病 一切 终身 全家".split(),
        "都保 都赔 全报销 全能赔 无限额 百分百赔 无责任免除 随便赔".split(),
    ),
}
# middles make three-part phrases (全网 + 公认 + 最强), so the generated terms rarely repeat across rules
MIDS = ["", "公认", "真正", "绝对", "保证", "一定", "稳稳", "超级", "真的", "完全"]
NUM_UNITS = ["%", "％", "倍", "万", "元"]
NEGATIONS = ["不", "并非", "没有", "严禁", "禁止", "请勿"]
CLEAN = [
    "本产品由示例财产保险股份有限公司承保，具体保险责任以保险条款为准。",
    "被保险人因意外伤害导致身故的，保险人按约定给付身故保险金。",
    "投保前请仔细阅读保险条款，特别是责任免除部分。",
    "保险期间为一年，保险费按年交纳，续保需重新审核。",
    "如有疑问或投诉，请拨打客服热线95518。",
    "本合同的等待期为90日，等待期内出险的不承担保险责任。",
    "自您签收保险合同之日起有15日犹豫期，犹豫期内解除合同无息退还保险费。",
    "住院医疗费用在扣除免赔额后按80%比例报销，年度限额200万元。",
    "安心守护计划为您的家庭提供意外、医疗和重疾保障。",
    "理赔申请材料包括保险金申请书、身份证明和医院诊断证明。",
    "第一年保费为300元，第二年起按被保险人年龄调整。",
    "本产品最高保额为100万元，具体以保单载明为准。",
    "分红水平不确定，过往业绩不代表未来表现。",
    "退保可能造成一定损失，退还保单现金价值。",
    "我们持续改进理赔服务，提高理赔时效和客户体验。",
    "请根据家庭需要和支付能力选择合适的保险产品。",
    "保险产品不是存款，投资有风险，投保需谨慎。",
    "投保人应如实告知被保险人的健康状况，否则可能影响理赔。",
    "疫情期间线上理赔服务照常开放，材料可以拍照上传。",
    "本计划适用于出生满28天至65周岁的人群。",
]
FILLER = "尊敬的客户您好这款计划为家庭提供全面守护和贴心服务我们一直陪伴在您身边用心经营每一份保障"


# ---------------------------------------------------------------- rules


def generate_rules(library: list[Rule], total: int, rnd: random.Random) -> list[Rule]:
    """The library plus generated variants (validated by parse_rule) up to `total` rules."""
    rules = list(library)
    cats = [c for c in CATEGORIES if c in VOCAB]
    serial: dict[str, int] = {}
    used: set[str] = {t for r in library for t in r.terms}  # a generated term belongs to one rule

    def fresh_terms(heads: list[str], tails: list[str], k: int) -> list[str]:
        out: list[str] = []
        for _ in range(50):
            term = rnd.choice(heads) + rnd.choice(MIDS) + rnd.choice(tails)
            if term not in used:
                used.add(term)
                out.append(term)
                if len(out) == k:
                    break
        return out or [rnd.choice(heads) + rnd.choice(tails)]

    while len(rules) < total:
        cat = cats[len(rules) % len(cats)]
        prefix, heads, tails = VOCAB[cat]
        serial[prefix] = serial.get(prefix, 0) + 1
        rid = f"{prefix}-{serial[prefix]:03d}"
        kind = rnd.random()
        raw: dict[str, Any] = {
            "id": rid,
            "category": cat,
            "severity": rnd.choice(["high", "medium", "low"]),
            "basis": "《中华人民共和国广告法》第九条（生成的规则变体）",
            "suggestion": "删除或改写该表述（生成的规则变体）",
        }
        if rnd.random() < 0.2:
            raw["applies_to"] = rnd.sample(["marketing", "script", "notice", "terms"], 2)
        if rnd.random() < 0.05:
            raw["product_lines"] = [rnd.choice(["health", "life", "accident"])]
        h = rnd.sample(heads, 3)
        t = rnd.sample(tails, 3)
        if kind < 0.55:  # terms built from combinations
            terms = fresh_terms(heads, tails, rnd.randint(2, 6))
            raw["match"] = {"terms": terms}
            positive = f"这款产品{terms[0]}，快来了解。"
            if rnd.random() < 0.3:
                raw["exceptions"] = [f"{terms[0]}(?=(说明|提示|须知|条款))"]
            if rnd.random() < 0.1:
                raw["word"] = True
        elif kind < 0.85:  # a regex in the library's style
            gap = rnd.randint(2, 8)
            if rnd.random() < 0.5:
                pattern = f"({'|'.join(h)})(的)?[^，。；\\n]{{0,{gap}}}({'|'.join(t)})"
                positive = f"{h[0]}{t[0]}，不容错过。"
            else:
                unit = rnd.choice(NUM_UNITS)
                pattern = f"({'|'.join(h)})(高达|可达|超过)?[^，。；\\n]{{0,{gap}}}\\d+(\\.\\d+)?\\s*{unit}"
                positive = f"{h[0]}高达8{unit}，不容错过。"
            raw["match"] = {"regex": [pattern]}
        else:  # co-occurrence
            raw["match"] = {"near": {"a": h[:2], "b": t, "within": rnd.randint(3, 12)}}
            positive = f"{h[0]}{t[0]}。"
        raw["examples"] = {"positive": [positive], "negative": ["请仔细阅读保险条款。"]}
        rules.append(parse_rule(raw, "bench"))
    return rules


def literal_terms(rules: list[Rule]) -> set[str]:
    """The literal terms of the rules (terms and near terms): what the bare scan looks for."""
    out: set[str] = set()
    for r in rules:
        out.update(r.terms)
        if r.near:
            out.update(r.near.a)
            out.update(r.near.b)
    return out


# ---------------------------------------------------------------- text


def violating_sentence(rules: list[Rule], rnd: random.Random) -> str:
    rule = rnd.choice(rules)
    choice = rnd.random()
    if choice < 0.5 and rule.positive:
        return rnd.choice(rule.positive)
    if choice < 0.7 and rule.negative:
        return rnd.choice(rule.negative)
    prefix, heads, tails = VOCAB[rnd.choice(list(VOCAB))]
    phrase = rnd.choice(heads) + rnd.choice(MIDS) + rnd.choice(tails)
    if rnd.random() < 0.25:  # a disclosure: negated
        return f"本产品{rnd.choice(NEGATIONS)}{phrase}，请谨慎选择。"
    return f"{''.join(rnd.choices(FILLER, k=rnd.randint(2, 8)))}{phrase}，{rnd.choice(CLEAN)}"


def generate_text(rules: list[Rule], megabytes: float, rnd: random.Random) -> str:
    """Sentences until the UTF-8 size is reached: ~5/6 clean (with filler), ~1/6 with a violation."""
    target = int(megabytes * 1024 * 1024)
    parts: list[str] = []
    size = 0
    while size < target:
        if rnd.random() < 0.17:
            s = violating_sentence(rules, rnd)
        else:
            s = rnd.choice(CLEAN)
            if rnd.random() < 0.5:
                s = "".join(rnd.choices(FILLER, k=rnd.randint(4, 16))) + "，" + s
        if rnd.random() < 0.08:
            s += "\n"
        parts.append(s)
        size += len(s.encode("utf-8"))
    return "".join(parts)


# ---------------------------------------------------------------- timing


# Both sides are single-threaded and CPU-bound, so they are timed in CPU seconds of this process
# (time.process_time): on a shared machine, waiting for a core does not count against either side.


def time_review(checker: Checker, text: str) -> tuple[float, int]:
    t0 = time.process_time()
    findings = checker.check(text, "marketing")
    return time.process_time() - t0, len(findings)


def time_scan(automaton: Any, text: str) -> tuple[float, int]:
    t0 = time.process_time()
    hits = 0
    for _ in automaton.iter(text):
        hits += 1
    return time.process_time() - t0, hits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=10.0, help="size of the text in MB of UTF-8")
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved review/scan rounds")
    ap.add_argument("--docs", type=int, default=9, help="20,000-character documents to time")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    rnd = random.Random(args.seed)
    library = load_rules()
    rules = generate_rules(library, args.rules, rnd)
    t0, c0 = time.perf_counter(), time.process_time()
    checker = Checker(rules)
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    regex_slots = len(checker._slots)
    unanchored = len(checker._unanchored)
    log(
        f"rules: {len(rules)} ({len(library)} from the library), Checker built in {build_s * 1000:.0f} ms "
        f"({build_cpu * 1000:.0f} ms CPU); "
        f"{regex_slots} regexes, {regex_slots - unanchored} with anchors, {unanchored} run on the whole text"
    )

    t0 = time.perf_counter()
    text = generate_text(rules, args.mb, rnd)
    log(
        f"text: {len(text.encode('utf-8')) / 1048576:.1f} MB, {len(text):,} characters "
        f"(generated in {time.perf_counter() - t0:.1f} s)"
    )
    terms = literal_terms(rules)
    automaton = ahocorasick.Automaton()
    for term in terms:
        automaton.add_word(term, term)
    automaton.make_automaton()

    # warm up, once per process: jieba's dictionary (about 1-2 s to load, on the first word-boundary check),
    # the per-material-type action tables, the regex caches
    word_boundaries("本产品最高保额100万元")
    checker.check(text[:20000], "marketing")
    reviews, scans = [], []
    for k in range(args.repeat):
        ts, hits = time_scan(automaton, text)
        tr, found = time_review(checker, text)
        scans.append(ts)
        reviews.append(tr)
        log(f"round {k + 1}: scan {ts:.2f} s ({hits:,} hits of {len(terms)} terms), review {tr:.2f} s "
            f"({found:,} findings), ratio {ts / tr:.2f}")  # fmt: skip
    ratios = [s / r for s, r in zip(scans, reviews, strict=True)]

    docs = []
    for _ in range(args.docs):
        start = rnd.randrange(0, max(1, len(text) - 20000))
        docs.append(text[start : start + 20000])
    doc_ms, doc_cpu_ms = [], []
    for doc in docs:
        t0, c0 = time.perf_counter(), time.process_time()
        checker.check(doc, "marketing")
        doc_ms.append((time.perf_counter() - t0) * 1000)
        doc_cpu_ms.append((time.process_time() - c0) * 1000)
    log(f"doc20k wall: {', '.join(f'{x:.1f}' for x in doc_ms)} ms")
    log(f"doc20k cpu:  {', '.join(f'{x:.1f}' for x in doc_cpu_ms)} ms")

    n = len(text)
    chars_per_s = n / statistics.median(reviews)
    scan_chars_per_s = n / statistics.median(scans)
    print(
        f"review_speed: chars_per_s={chars_per_s:.0f} scan_chars_per_s={scan_chars_per_s:.0f} "
        f"ratio={statistics.median(ratios):.2f} doc20k_ms={statistics.median(doc_ms):.1f}"
    )


if __name__ == "__main__":
    main()
