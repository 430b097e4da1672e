"""Wiring called by `bootstrap()`: the source types tasks can be about, the complaint decision guard, the
task entity for notifications and 督办, and one reminder track per task kind (so the
reminder lead time is configurable per kind: XIAOBAO_REMINDER_LEAD_HOURS='{"task.rectification": 120}')."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.tasks import services, sources
from xiaobao.tasks.domain import ACTIVE_STATUSES, KIND_META, TaskKind
from xiaobao.tasks.tables import Task

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container
    from xiaobao.complaints.services import DecisionBlocker
    from xiaobao.complaints.tables import Complaint
    from xiaobao.notifications.entities import EntityInfo
    from xiaobao.notifications.reminders import ReminderTrack

# (kind, reminder lead hours, hours overdue before the superior officer is told, sweep interval seconds)
TRACK_DEFAULTS: dict[TaskKind, tuple[float, float, int]] = {
    TaskKind.COHANDLING: (24, 24, 300),
    TaskKind.GENERAL: (24, 48, 300),
    TaskKind.RECTIFICATION: (72, 72, 600),
}


def track_name(kind: TaskKind) -> str:
    return f"task.{kind.value}"


def reminder_tracks() -> list[ReminderTrack]:
    from xiaobao.notifications.reminders import ReminderTrack

    active = [s.value for s in ACTIVE_STATUSES]
    out = []
    for kind, (lead, escalate, interval) in TRACK_DEFAULTS.items():
        zh, en = KIND_META[kind]
        out.append(
            ReminderTrack(
                name=track_name(kind),
                entity_type="task",
                table=Task,
                id_col=Task.id,
                due_col=Task.due_at,
                owner_col=Task.owner_id,
                org_col=Task.org_id,
                label_col=Task.title,
                watcher_col=Task.requester_id,
                open_where=(Task.kind == kind.value, Task.status.in_(active)),
                deadline_zh=f"{zh}完成期限",
                subject="任务「{label}」",
                link="/tasks/{id}",
                lead_hours=lead,
                escalate_after_hours=escalate,
                interval_seconds=interval,
                title_zh=f"{zh}到期提醒与超期升级",
                title_en=f"{en} tasks: reminders and escalation",
            )
        )
    return out


def _blockers(session: Session, c: Complaint) -> list[DecisionBlocker]:
    from xiaobao.complaints.services import DecisionBlocker

    return [
        DecisionBlocker(
            ref=f"task:{t.id}",
            label_zh=f"协办任务 #{t.id}（{t.org.name_zh}）",
            label_en=f"co-handling task #{t.id} ({t.org.name_en})",
            link=f"/tasks/{t.id}",
        )
        for t in services.open_blocking(session, "complaint", c.id)
    ]


def _task_entity(session: Session, who: Principal, entity_id: int) -> EntityInfo:
    from xiaobao.notifications.entities import EntityInfo

    t = services.access_task(session, who, entity_id)
    return EntityInfo(label=f"任务「{t.title}」", link=f"/tasks/{t.id}", org_path=t.org.path)


def register(container: Container) -> None:
    from xiaobao.complaints.services import register_decision_blocker
    from xiaobao.notifications.entities import register_entity
    from xiaobao.notifications.reminders import register_track

    sources.register_source(sources.COMPLAINT)
    register_decision_blocker("tasks.cohandling", _blockers)
    register_entity("task", _task_entity, "任务", "task")
    for track in reminder_tracks():
        register_track(container, track)
