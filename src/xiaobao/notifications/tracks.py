"""The deadline tracks that exist today: a complaint's regulatory decision deadline, its first-contact
target, and the reply deadline of a 督办 notice. (The co-handling task module adds its own.)"""

from __future__ import annotations

from xiaobao.complaints.domain import OPEN_STATUSES
from xiaobao.complaints.tables import Complaint
from xiaobao.notifications.reminders import ReminderTrack
from xiaobao.notifications.tables import SupervisionNotice

_OPEN = [s.value for s in OPEN_STATUSES]

COMPLAINT_REGULATORY = ReminderTrack(
    name="complaint.regulatory",
    entity_type="complaint",
    table=Complaint,
    id_col=Complaint.id,
    due_col=Complaint.regulatory_due,
    owner_col=Complaint.handler_id,
    org_col=Complaint.org_id,
    label_col=Complaint.tracking_no,
    # a paused complaint has no regulatory_due (clock stopped) and is left alone
    open_where=(Complaint.status.in_(_OPEN),),
    deadline_zh="监管处理时限",
    subject="投诉 {label}",
    link="/complaints/{id}",
    title_zh="投诉处理时限提醒与超期升级",
    title_en="Complaint decision deadline: reminders and escalation",
)

COMPLAINT_CONTACT = ReminderTrack(
    name="complaint.contact",
    entity_type="complaint",
    table=Complaint,
    id_col=Complaint.id,
    due_col=Complaint.contact_due,
    owner_col=Complaint.handler_id,
    org_col=Complaint.org_id,
    label_col=Complaint.tracking_no,
    open_where=(Complaint.status.in_(_OPEN), Complaint.first_contact_at.is_(None)),
    deadline_zh="首次联系时限",
    subject="投诉 {label}",
    link="/complaints/{id}",
    title_zh="首次联系时限提醒与超期升级",
    title_en="Complaint first-contact target: reminders and escalation",
)

SUPERVISION = ReminderTrack(
    name="supervision",
    entity_type="supervision",
    table=SupervisionNotice,
    id_col=SupervisionNotice.id,
    due_col=SupervisionNotice.reply_due,
    owner_col=SupervisionNotice.recipient_id,
    label_col=SupervisionNotice.entity_label,
    watcher_col=SupervisionNotice.sender_id,
    open_where=(SupervisionNotice.status == "open",),
    deadline_zh="督办回复时限",
    subject="关于{label}的督办",
    link="/inbox/supervision/{id}",
    lead_hours=4,
    interval_seconds=300,
    title_zh="督办回复时限提醒与超期升级",
    title_en="督办 reply deadline: reminders and escalation",
)

BUILT_IN = (COMPLAINT_REGULATORY, COMPLAINT_CONTACT, SUPERVISION)
