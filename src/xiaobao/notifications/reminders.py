"""Deadline sweeps: reminders before an item's due moment and escalation after it, exactly once.

A module with deadlines describes its items as a `ReminderTrack` (which table, which columns hold the due
moment, the owner and the org, which rows are still open) and registers it with `register_track()`; that
adds a background job ``reminders.<track name>`` that runs `sweep()`.

`sweep()` walks the open items whose next stage is due, in batches. Each batch is one transaction that

1. claims the items with SELECT ... FOR NO KEY UPDATE SKIP LOCKED (two workers split the work; a row a
   handler is editing right now waits for the next run),
2. inserts the notifications with INSERT ... ON CONFLICT (dedupe_key) DO NOTHING, plus their deliveries,
3. advances the item's stage in `reminder_state`,

and commits. A worker killed mid-batch leaves nothing behind (the transaction rolls back and its locks go
with its connection); a replayed batch finds the dedupe keys taken and creates nothing new. The stage
lives in `reminder_state` (entity_type, entity_id, track), not in the item's table: no module needs a
column of its own, and a background reminder never bumps a complaint's optimistic-lock version (which
would make a handler's open form fail with "changed by someone else")."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, and_, case, cast, null, or_, select
from sqlalchemy.orm import Session

from xiaobao.auth.roles import Role
from xiaobao.auth.tables import Org, User, UserRole
from xiaobao.core.calendar import CN_TZ
from xiaobao.jobs.domain import JobDef
from xiaobao.jobs.sqltools import end_read_phase, insert_for
from xiaobao.notifications import messages
from xiaobao.notifications.domain import (
    Audience,
    OrgNode,
    OrgTree,
    Plan,
    Policy,
    Stage,
    dedupe_key,
    department_heads,
    duration_zh,
    institution_officers,
    plan,
    superior_officers,
    thresholds,
)
from xiaobao.notifications.services import NewNotification, notify
from xiaobao.notifications.tables import ReminderState

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container
    from xiaobao.config import Settings


@dataclass(frozen=True)
class ReminderTrack:
    """One kind of deadline on one kind of item. Column attributes come from the owning module's table
    (e.g. ``Complaint.regulatory_due``); ``open_where`` selects the items whose deadline still runs."""

    name: str
    """Unique, short: "complaint.regulatory", "task.due"; used in settings, job names and dedupe keys."""
    entity_type: str
    table: Any
    """The mapped class whose rows are claimed (locked) by the sweep."""
    id_col: Any
    due_col: Any
    owner_col: Any
    label_col: Any
    open_where: tuple[Any, ...]
    deadline_zh: str
    """What the deadline is called in messages: "监管处理时限"."""
    link: str
    """Path of the item's page, with ``{id}``: "/complaints/{id}"."""
    subject: str = "{label}"
    """How messages name the item, with ``{label}``: "投诉 {label}"."""
    org_col: Any = None
    """The item's org: used to route unassigned items (no owner) to the org's officers."""
    watcher_col: Any = None
    """A user told when the item goes overdue (e.g. the officer who sent a 督办)."""
    lead_hours: float = 24
    escalate_after_hours: float = 24
    interval_seconds: int = 300
    title_zh: str = ""
    title_en: str = ""

    def policy(self, settings: Settings) -> Policy:
        return Policy.hours(
            settings.reminder_lead_hours.get(self.name, self.lead_hours),
            settings.escalate_after_hours.get(self.name, self.escalate_after_hours),
        )

    @property
    def job_name(self) -> str:
        return f"reminders.{self.name}"


def register_track(container: Container, track: ReminderTrack) -> JobDef:
    """Add the track's sweep as a background job (concurrent: every worker helps with a long sweep)."""

    def run(c: Container, now: datetime) -> dict[str, Any]:
        return sweep(c, track, now)

    return container.jobs.register(
        JobDef(
            name=track.job_name,
            interval_seconds=track.interval_seconds,
            fn=run,
            concurrent=True,
            title_zh=track.title_zh or f"到期提醒与超期升级：{track.deadline_zh}",
            title_en=track.title_en or f"Reminders and escalation: {track.name}",
        )
    )


# ---------------------------------------------------------------- who is told


@dataclass
class Directory:
    """The org tree and the role holders escalation routes to, loaded once per sweep; users looked up as
    batches need them."""

    tree: OrgTree
    org_names: dict[int, str]
    managers: dict[int, list[int]]
    officers: dict[int, list[int]]
    users: dict[int, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Directory:
        orgs = session.execute(select(Org.id, Org.parent_id, Org.kind, Org.name_zh)).all()
        holders = session.execute(
            select(UserRole.role, User.id, User.org_id)
            .join(User, User.id == UserRole.user_id)
            .where(User.active.is_(True), UserRole.role.in_([Role.BRANCH_MANAGER.value, Role.OFFICER.value]))
        ).all()
        managers: dict[int, list[int]] = {}
        officers: dict[int, list[int]] = {}
        for role, uid, org_id in holders:
            (managers if role == Role.BRANCH_MANAGER else officers).setdefault(org_id, []).append(uid)
        return cls(
            tree=OrgTree(OrgNode(o.id, o.parent_id, o.kind) for o in orgs),
            org_names={o.id: o.name_zh for o in orgs},
            managers=managers,
            officers=officers,
        )

    def need_users(self, session: Session, ids: set[int]) -> None:
        missing = sorted(i for i in ids if i not in self.users)
        for i in range(0, len(missing), 1000):
            for uid, name, org_id in session.execute(
                select(User.id, User.display_name, User.org_id).where(User.id.in_(missing[i : i + 1000]))
            ):
                self.users[uid] = (name, org_id)

    def recipients(
        self,
        audience: Audience,
        owner_id: int | None,
        owner_org: int | None,
        item_org: int | None,
        watcher_id: int | None,
    ) -> list[int]:
        if audience == Audience.OWNER:
            if owner_id is not None:
                return [owner_id]
            return institution_officers(self.tree, self.officers, item_org) if item_org is not None else []
        if audience == Audience.WATCHER:
            return [watcher_id] if watcher_id is not None and watcher_id != owner_id else []
        if owner_org is None:
            return []
        if audience == Audience.DEPT_HEAD:
            # no department head anywhere above: the escalation still has to reach someone
            return department_heads(self.tree, self.managers, owner_org) or superior_officers(
                self.tree, self.officers, owner_org
            )
        return superior_officers(self.tree, self.officers, owner_org)


# ---------------------------------------------------------------- the sweep


def claim_statement(
    track: ReminderTrack, now: datetime, policy: Policy, limit: int, after: tuple[datetime, int] | None = None
) -> Any:
    """Open items of the track whose stage is behind, oldest due first, locked for this transaction;
    rows another worker holds are skipped (SQLite ignores the lock clause: it has one writer anyway)."""
    t_soon, t_overdue, t_severe = thresholds(now, policy)
    due, ident = track.due_col, track.id_col
    rs = ReminderState
    reached = case(
        (due <= t_severe, int(Stage.SEVERE)),
        (due <= t_overdue, int(Stage.OVERDUE)),
        else_=int(Stage.DUE_SOON),
    )
    stmt = (
        select(
            ident.label("entity_id"),
            due.label("due"),
            track.owner_col.label("owner_id"),
            (track.org_col if track.org_col is not None else cast(null(), Integer)).label("org_id"),
            track.label_col.label("label"),
            (track.watcher_col if track.watcher_col is not None else cast(null(), Integer)).label(
                "watcher_id"
            ),
            rs.stage.label("stage"),
            rs.due_at.label("state_due"),
        )
        .select_from(track.table)
        .outerjoin(
            rs, and_(rs.entity_type == track.entity_type, rs.track == track.name, rs.entity_id == ident)
        )
        .where(
            *track.open_where,
            due.is_not(None),
            due <= t_soon,
            or_(rs.stage.is_(None), rs.due_at != due, rs.stage < reached),
        )
    )
    if after is not None:
        stmt = stmt.where(or_(due > after[0], and_(due == after[0], ident > after[1])))
    return (
        stmt.order_by(due, ident)
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True, of=track.table)
    )


def current_stages(session: Session, track: ReminderTrack, ids: list[int]) -> dict[int, tuple[int, datetime]]:
    rs = ReminderState
    rows = session.execute(
        select(rs.entity_id, rs.stage, rs.due_at).where(
            rs.entity_type == track.entity_type, rs.track == track.name, rs.entity_id.in_(ids)
        )
    )
    return {eid: (stage, due_at) for eid, stage, due_at in rows}


def _hours(seconds: float) -> int:
    return max(0, math.ceil(seconds / 3600))


def build_notifications(
    track: ReminderTrack,
    row: Any,
    p: Plan,
    now: datetime,
    policy: Policy,
    directory: Directory,
    counts: Counter[str],
) -> list[NewNotification]:
    owner_id, watcher_id, item_org = row.owner_id, row.watcher_id, row.org_id
    owner_name, owner_org = directory.users.get(owner_id, ("", None)) if owner_id is not None else ("", None)
    if owner_org is None:
        owner_org = item_org
    due_local = row.due.astimezone(CN_TZ)
    base = {
        "subject": track.subject.format(label=row.label),
        "deadline_name": track.deadline_zh,
        "due": due_local.strftime("%Y-%m-%d %H:%M"),
        "owner": owner_name or "未分派",
        "owner_org": directory.org_names.get(owner_org, "") if owner_org is not None else "",
        "hours_left": _hours((row.due - now).total_seconds()),
        "overdue_hours": max(0, int((now - row.due).total_seconds() // 3600)),
        "overdue_for": duration_zh((now - row.due).total_seconds()),
        "escalate_hours": round(policy.escalate_after.total_seconds() / 3600),
    }
    link = track.link.format(id=row.entity_id)
    out: list[NewNotification] = []
    told: set[tuple[Stage, int]] = set()
    rendered: dict[tuple[str, bool], tuple[str, str]] = {}
    for step in p.steps:
        users = directory.recipients(step.audience, owner_id, owner_org, item_org, watcher_id)
        if not users and step.audience != Audience.WATCHER:
            counts["unrouted"] += 1
        for uid in users:
            if (step.stage, uid) in told:
                continue
            told.add((step.stage, uid))
            is_owner = step.audience == Audience.OWNER and owner_id is not None
            key = (step.kind.value, is_owner)
            if key not in rendered:
                rendered[key] = messages.render(step.kind, is_owner=is_owner, **base)
            title, body = rendered[key]
            out.append(
                NewNotification(
                    user_id=uid,
                    kind=step.kind,
                    title=title,
                    body=body,
                    link=link,
                    entity_type=track.entity_type,
                    entity_id=row.entity_id,
                    dedupe_key=dedupe_key(track.name, row.entity_id, step.stage, row.due, uid, step.kind),
                )
            )
    return out


def sweep(container: Container, track: ReminderTrack, now: datetime) -> dict[str, Any]:
    """Send every reminder and escalation of the track that is due at ``now``; returns counts."""
    settings = container.settings
    policy = track.policy(settings)
    batch = settings.sweep_batch_size
    delay = settings.sweep_batch_delay_ms / 1000
    counts: Counter[str] = Counter()
    directory: Directory | None = None
    after: tuple[datetime, int] | None = None
    while True:
        with container.uow() as uow:
            session = uow.session
            if directory is None:
                directory = Directory.load(session)
            rows = session.execute(claim_statement(track, now, policy, batch, after)).all()
            if not rows:
                break
            after = (rows[-1].due, rows[-1].entity_id)
            # The rows are ours now, but the statement's snapshot may predate another worker's commit of the
            # same items (it held them, then let go): read their stage again, in a fresh snapshot.
            fresh = current_stages(session, track, [r.entity_id for r in rows])
            directory.need_users(
                session,
                {r.owner_id for r in rows if r.owner_id is not None}
                | {r.watcher_id for r in rows if r.watcher_id is not None},
            )
            end_read_phase(session)
            items: list[NewNotification] = []
            states: list[dict[str, Any]] = []
            for r in rows:
                stage, state_due = fresh.get(r.entity_id, (None, None))
                current = stage if stage is not None and state_due == r.due else Stage.NONE
                p = plan(r.due, now, current, policy)
                if p.target == current:
                    counts["already_done"] += 1  # another worker got there first
                    continue
                items.extend(build_notifications(track, r, p, now, policy, directory, counts))
                states.append(
                    {
                        "entity_type": track.entity_type,
                        "entity_id": r.entity_id,
                        "track": track.name,
                        "stage": int(p.target),
                        "due_at": r.due,
                        "updated_at": now,
                    }
                )
                counts[f"stage_{int(p.target)}"] += 1
            created = notify(session, items, now)
            if states:
                stmt = insert_for(session, ReminderState)
                session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["entity_type", "entity_id", "track"],
                        set_={
                            "stage": stmt.excluded.stage,
                            "due_at": stmt.excluded.due_at,
                            "updated_at": stmt.excluded.updated_at,
                        },
                    ),
                    states,
                )
            counts["items"] += len(states)
            counts["notifications"] += len(created)
            counts["duplicates_skipped"] += len(items) - len(created)
            counts["batches"] += 1
            if delay and states:
                time.sleep(delay)
            uow.commit()
        if len(rows) < batch:
            break
    return dict(counts)
