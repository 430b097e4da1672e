"""After-commit reactions to complaint events: SMS acknowledgements and decision notices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xiaobao.complaints.events import ComplaintDecided, ComplaintReceived
from xiaobao.complaints.tables import Complaint

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container


def acknowledge(ev: ComplaintReceived, c: Container) -> None:
    if ev.phone is not None and ev.tracking_no is not None:
        phone, tracking_no = ev.phone, ev.tracking_no  # intake's hot path: no second session
    else:
        with c.uow() as uow:
            row = uow.session.get(Complaint, ev.complaint_id)
            if row is None:
                return
            phone, tracking_no = row.phone, row.tracking_no
    c.sms.send(
        phone, f"【消保】您的投诉已登记，编号 {tracking_no}。可凭编号和手机验证码查询进度。", at=c.clock.now()
    )


def notify_decision(ev: ComplaintDecided, c: Container) -> None:
    with c.uow() as uow:
        row = uow.session.get(Complaint, ev.complaint_id)
        if row is None:
            return
        c.sms.send(
            row.phone,
            f"【消保】您的投诉 {row.tracking_no} 已出具处理意见，请查收告知书。如有异议，"
            "可在30日内申请核查，或申请调解、仲裁、诉讼。",
            at=c.clock.now(),
        )


def register(container: Container) -> None:
    container.handlers.setdefault(ComplaintReceived, []).append(acknowledge)
    container.handlers.setdefault(ComplaintDecided, []).append(notify_decision)
