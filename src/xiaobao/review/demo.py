"""Demo review submissions, driven through the real services (so findings, tasks, review numbers and the audit
trail are what the app itself produces): posters, WeChat posts, a telephone sales script, product terms and a
customer notice with the violations such material typically has, in every state of the workflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.tables import User
from xiaobao.review import services
from xiaobao.review.tables import ReviewSubmission

POSTER = """安心宝年金保险 · 开门红限时专享
本产品保本保息，年年返还，收益比银行定期高多了！
全国销量第一，即将停售，最后三天，赶紧抢购！
预期年化收益率高达5.5%，资金安全有保障。
扫码添加专属顾问，了解更多。"""

SCRIPT = """【电话销售话术 · e生保百万医疗】
您好，我是客户经理小林。我们这款百万医疗险什么都保，住院就能赔，百分百理赔。
每天只要几毛钱，就能获得600万保障，是全国最好的医疗险。
您原来买的那家公司理赔很慢，保障也不全，建议您退掉换我们的。
今天办理还赠送一份免费意外险。
本产品由示例财产保险股份有限公司承保，等待期30天，具体以保险条款为准。
如有疑问可拨打客服热线95500投诉。"""

NOTICE = """团体意外伤害保险客户告知书
尊敬的客户：感谢您选择本公司团体意外伤害保险。
本产品由示例财产保险股份有限公司承保。本保险为意外伤害保险，不是存款，也不是理财产品。
请您仔细阅读保险条款，特别是责任免除部分；我们将在投保前向您逐条说明。
如对服务不满意，可拨打客服热线95500或登录官网提出投诉。"""

TERMS_V1 = """鑫享年年两全保险条款
第一条 保险责任：在本合同有效期内，被保险人生存至每一保单周年日，我们按基本保险金额的5%给付生存保险金，稳赚不赔。
第二条 本产品与银行存款相比，利息更高，本金无忧。
第三条 保险期间为十年，保险费按年交纳。"""

TERMS_V2 = """鑫享年年两全保险条款
第一条 保险责任：在本合同有效期内，被保险人生存至每一保单周年日，我们按基本保险金额的5%给付生存保险金。
第二条 责任免除：因下列情形之一导致被保险人身故的，我们不承担给付保险金的责任：投保人对被保险人的故意杀害、故意伤害；被保险人故意犯罪。
第三条 犹豫期：自您签收本合同之日起15日内为犹豫期，犹豫期内解除合同的，我们无息退还所交保险费。犹豫期后解除合同会有一定损失。
第四条 保险期间为十年，保险费按年交纳。"""

MOTOR = """台风季车险理赔服务温馨提示
台风来临前，请将车辆停放在地势较高处，远离广告牌和大树。
车辆受损后请第一时间拨打95500报案，我们将开通绿色通道，快速查勘定损。
本服务由示例财产保险股份有限公司提供，车辆损失保险的保险责任以保险条款为准。
如对理赔服务有异议，可拨打95500投诉。"""

WECHAT = """【开门红】存钱首选！这款年金保险就是升级版定期存款，比余额宝收益高，零风险！
银保监会批准的好产品，国家监管，绝对安全。
马上涨价，现在不买明年就买不到了。"""


@dataclass
class _Spec:
    key: str
    submitter: str
    reviewer: str | None
    title: str
    material_type: str
    product_line: str
    text: str
    days_ago: float


SPECS = [
    _Spec(
        "poster",
        "qz_collaborator",
        "qz_reviewer",
        "安心宝年金保险开门红海报",
        "marketing",
        "annuity",
        POSTER,
        1,
    ),
    _Spec("script", "fj_sales", "fj_reviewer", "e生保百万医疗电话销售话术", "script", "health", SCRIPT, 12),
    _Spec("notice", "fj_cs", None, "团体意外险客户告知书", "notice", "accident", NOTICE, 0.5),
    _Spec("terms", "hq_sales", "hq_reviewer", "鑫享年年两全保险条款", "terms", "life", TERMS_V1, 9),
    _Spec("motor", "fj_cs", "fj_reviewer", "台风季车险理赔服务海报", "marketing", "motor", MOTOR, 6),
    _Spec("wechat", "hq_sales", "hq_reviewer", "开门红年金险微信推文", "marketing", "annuity", WECHAT, 4),
]


def _decide_all(container: Any, who: Principal, sid: int, at: datetime, dismiss: set[str]) -> None:
    with container.uow() as uow:
        sub, _ = services.access_submission(uow.session, who, sid)
        rows = [
            (f.id, f.rule_id, f.severity)
            for f in services.findings(uow.session, services.version_of(uow.session, sub))
        ]
    for fid, rule_id, severity in rows:
        with container.uow() as uow:
            if rule_id in dismiss or severity == "low":
                services.decide(uow, who, sid, fid, "dismiss", "上下文为风险提示或客观描述，不构成误导", at)
            else:
                services.decide(uow, who, sid, fid, "accept", None, at)


def load_review_demo(container: Any) -> dict[str, int]:
    """Needs the demo organisation and users; returns counts by status."""
    now: datetime = container.clock.now()
    with container.uow() as uow:
        users = {u.username: auth.principal_for(u) for u in uow.session.scalars(select(User))}
    ids: dict[str, int] = {}
    for spec in SPECS:
        who = users.get(spec.submitter)
        if who is None:
            continue
        at = now - timedelta(days=spec.days_ago)
        reviewer = users.get(spec.reviewer) if spec.reviewer else None
        m = services.Material(
            spec.title,
            spec.material_type,
            spec.product_line,
            text=spec.text,
            reviewer_id=reviewer.user_id if reviewer else None,
        )
        with container.uow() as uow:
            sub = services.submit(uow.session, who, m, services.Ctx(at, container.calendar))
            uow.commit()
            ids[spec.key] = sub.id

    def later(days_ago: float, hours: float) -> datetime:
        return now - timedelta(days=days_ago) + timedelta(hours=hours)

    # the telephone script: pass with changes after a day, released
    if "script" in ids:
        rev, sub_by = users["fj_reviewer"], users["fj_sales"]
        _decide_all(container, rev, ids["script"], later(12, 20), set())
        with container.uow() as uow:
            services.conclude(
                uow,
                rev,
                ids["script"],
                "pass_with_changes",
                "删除“什么都保”“百分百理赔”、诋毁同业和赠送表述后可使用",
                later(12, 26),
            )
        with container.uow() as uow:
            services.release(uow, sub_by, ids["script"], "电销中心 3 月起使用", True, later(10, 2))
    # the product terms: failed (missing exclusions and cooling-off), revised, back in review
    if "terms" in ids:
        rev, sub_by = users["hq_reviewer"], users["hq_sales"]
        _decide_all(container, rev, ids["terms"], later(9, 30), set())
        with container.uow() as uow:
            services.conclude(
                uow,
                rev,
                ids["terms"],
                "fail",
                "条款缺少责任免除和犹豫期，且含“稳赚不赔”“本金无忧”等承诺，请修改后重新提交",
                later(9, 52),
            )
        with container.uow() as uow:
            services.resubmit(
                uow,
                sub_by,
                ids["terms"],
                services.Material(
                    "", "", text=TERMS_V2, note="删除收益承诺和存款类比，增加责任免除和犹豫期条款"
                ),
                services.Ctx(later(6, 3), container.calendar),
            )
    # the motor poster: every finding dismissed, passed, not yet released
    if "motor" in ids:
        rev = users["fj_reviewer"]
        with container.uow() as uow:
            sub, _ = services.access_submission(uow.session, rev, ids["motor"])
            rules = {f.rule_id for f in services.findings(uow.session, services.version_of(uow.session, sub))}
        _decide_all(container, rev, ids["motor"], later(6, 5), rules)
        with container.uow() as uow:
            services.conclude(uow, rev, ids["motor"], "pass", "", later(6, 7))
    # the WeChat post: failed
    if "wechat" in ids:
        rev = users["hq_reviewer"]
        _decide_all(container, rev, ids["wechat"], later(4, 40), set())
        with container.uow() as uow:
            services.conclude(
                uow,
                rev,
                ids["wechat"],
                "fail",
                "混淆存款、承诺零风险、暗示监管背书和炒作涨价，不得发布",
                later(4, 48),
            )

    counts: dict[str, int] = {}
    with container.uow() as uow:
        for (status,) in uow.session.execute(select(ReviewSubmission.status)):
            counts[status] = counts.get(status, 0) + 1
    return counts
