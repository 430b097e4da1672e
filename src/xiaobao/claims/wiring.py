"""Wiring called at bootstrap: the contact job.

The contact job (`claims.contact_sms`, every minute) texts a reporter once after each failed contact attempt
("we tried to call you about report ..."), through the container's SMS gateway, while the case is still waiting
for first contact. It claims the attempts with SELECT ... FOR UPDATE SKIP LOCKED (several workers split them),
sends with the attempt's id as the gateway idempotency key (a copy re-sent after a crash is dropped by the
provider), marks the attempt and writes an `sms_sent` timeline step in the same transaction. The retry schedule
itself is data (domain.RETRY_AFTER): each failed attempt sets `next_retry_at`, and the contact queue puts cases
whose retry is due first."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import lazyload

from xiaobao.claims.domain import Status, retry_sms_text
from xiaobao.claims.tables import ClaimCase, ClaimEvent, ContactAttempt
from xiaobao.jobs.domain import JobDef
from xiaobao.jobs.sqltools import end_read_phase

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container

JOB_NAME = "claims.contact_sms"
BATCH = 100
MAX_PER_RUN = 2000


def _batch(container: Container, now: datetime) -> dict[str, int]:
    counts = {"sent": 0, "skipped": 0}
    with container.uow() as uow:
        s = uow.session
        rows = s.execute(
            select(ContactAttempt, ClaimCase)
            .join(ClaimCase, ClaimCase.id == ContactAttempt.case_id)
            .where(
                ContactAttempt.sms_due.is_(True),
                ContactAttempt.sms_sent_at.is_(None),
                ContactAttempt.at <= now,
            )
            .order_by(ContactAttempt.at, ContactAttempt.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True, of=ContactAttempt)
            .options(lazyload(ClaimCase.org), lazyload(ClaimCase.assignee), lazyload(ClaimCase.event))
        ).all()
        if not rows:
            return counts
        end_read_phase(s)
        for attempt, case in rows:
            if case.status != Status.REPORTED or case.contacted_at is not None:
                attempt.sms_due = False  # reached (or closed) since: no text needed
                counts["skipped"] += 1
                continue
            container.sms.send(
                case.reporter_phone,
                retry_sms_text(case.report_no),
                at=now,
                idempotency_key=f"claim-contact-sms:{attempt.id}",
            )
            attempt.sms_sent_at = now
            s.add(
                ClaimEvent(
                    case_id=case.id,
                    at=now,
                    actor_id=None,
                    actor_label="系统 (contact job)",
                    kind="sms_sent",
                    from_status=None,
                    to_status=None,
                    text=None,
                    data={"attempt_no": attempt.attempt_no},
                )
            )
            counts["sent"] += 1
        uow.commit()
    return counts


def send_contact_sms(container: Container, now: datetime) -> dict[str, Any]:
    total = {"sent": 0, "skipped": 0}
    done = 0
    while done < MAX_PER_RUN:
        c = _batch(container, now)
        n = c["sent"] + c["skipped"]
        if n == 0:
            break
        done += n
        for k in total:
            total[k] += c[k]
    return total


def register(container: Container) -> None:
    if container.jobs.get(JOB_NAME) is None:
        container.jobs.register(
            JobDef(
                name=JOB_NAME,
                interval_seconds=60,
                fn=send_contact_sms,
                concurrent=True,
                title_zh="理赔联系未果短信",
                title_en="Claims: text reporters after failed contact attempts",
            )
        )


__all__ = ["register", "send_contact_sms"]
