"""The decision notice (处理意见告知书), rendered from a template that carries the mandatory
核查 / mediation / arbitration / litigation wording (Order 2020 No.3 Art.19-20)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from xiaobao.complaints.tables import Complaint
from xiaobao.core.calendar import CN_TZ

# plain text, never HTML: nothing to escape
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701
    keep_trailing_newline=True,
)

OUTCOME_ZH = {"upheld": "支持您的诉求", "partial": "部分支持您的诉求", "rejected": "不支持您的诉求"}


def render_notice(c: Complaint, now: datetime) -> str:
    superior = c.org.parent.name_zh if c.org.parent is not None else f"{c.org.name_zh}（总公司）"
    return _env.get_template("notice_zh.txt").render(
        name=c.complainant_name,
        received=c.received_at.astimezone(CN_TZ).strftime("%Y年%m月%d日"),
        tracking_no=c.tracking_no,
        policy_no=c.policy_no,
        outcome=OUTCOME_ZH[c.decision_outcome or "rejected"],
        decision=c.decision,
        superior=superior,
        org=c.org.name_zh,
        today=now.astimezone(CN_TZ).strftime("%Y年%m月%d日"),
    )
