"""Co-handling tasks on SQLite and PostgreSQL: a complaint handler asks another department, the collaborator
answers, the answer shows in the complaint; the decide guard and the officer's audited override; parent and
child tasks rolling progress up; access from another branch; the task reminder sweep sending each reminder
once; and the pages (my tasks, board, overdue, calendar, on-time chart)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.factories import World, login
from tests.integration.tasks_support import (
    PDF,
    complaint_events,
    ctx,
    decide_request,
    extend_world,
    handling_complaint,
    inbox_of,
    reading,
    reload_task,
    today,
)
from xiaobao.bootstrap import Container
from xiaobao.complaints import services as complaints
from xiaobao.complaints.domain import Action, Status
from xiaobao.core.audit import AuditLog
from xiaobao.core.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from xiaobao.notifications.reminders import sweep
from xiaobao.notifications.tables import Notification
from xiaobao.tasks import services
from xiaobao.tasks.domain import TaskAction
from xiaobao.tasks.schemas import CohandlingCreate, TaskActionRequest, TaskCreate
from xiaobao.tasks.tables import Task
from xiaobao.tasks.wiring import reminder_tracks


@pytest.fixture
def tw(container: Container, world: World) -> World:
    return extend_world(container, world)


def ask(
    container: Container,
    tw: World,
    cid: int,
    *,
    owner: str | None = "fj_claims",
    blocking: bool = True,
    days: int = 3,
    who: str = "qz_handler",
) -> Task:
    with container.uow() as uow:
        return services.request_cohandling(
            uow,
            tw.p(who),
            cid,
            CohandlingCreate(
                org_id=tw.orgs["FJ-CLM"].id,
                owner_id=tw.users[owner].id if owner else None,
                question="请理赔部核实该案定损过程及与修理厂报价差异的原因。",
                due_on=today(container, days),
                blocking=blocking,
            ),
            container.clock.now(),
        )


def answer(container: Container, tw: World, task_id: int, who: str = "fj_claims", files=()) -> Task:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        return services.act(
            uow,
            tw.p(who),
            task_id,
            TaskAction.COMPLETE,
            TaskActionRequest(answer="经复核，原定损遗漏了左前翼子板钣金费用，同意补充定损3,200元。"),
            ctx(container),
            uploads=files,
        )


# ---------------------------------------------------------------- co-handling


def test_cohandling_request_answer_shows_in_the_complaint(container: Container, tw: World) -> None:
    c = handling_complaint(container, tw)
    t = ask(container, tw, c.id)
    assert (t.kind, t.status, t.source_type, t.source_id, t.blocking) == (
        "cohandling",
        "open",
        "complaint",
        c.id,
        True,
    )
    assert t.owner_id == tw.users["fj_claims"].id and t.requester_id == tw.users["qz_handler"].id
    ev = complaint_events(container, c.id)[-1]
    assert ev.kind == "cohandling_requested" and ev.data["task_id"] == t.id and "定损" in (ev.text or "")
    assert any("协办请求" in n.title for n in inbox_of(container, tw.users["fj_claims"].id))

    done = answer(container, tw, t.id, files=[("复核意见.pdf", PDF)])
    assert done.status == "done" and done.completed_by_id == tw.users["fj_claims"].id
    ev = complaint_events(container, c.id)[-1]
    assert (
        ev.kind == "cohandling_answered"
        and "3,200" in (ev.text or "")
        and ev.data["attachments"] == ["复核意见.pdf"]
    )
    assert any("协办答复" in n.title for n in inbox_of(container, tw.users["qz_handler"].id))
    with container.uow() as uow:
        atts = services.attachments(uow.session, reload_task(container, t.id))
        assert [(a.filename, a.purpose) for a in atts] == [("复核意见.pdf", "answer")]


def test_unassigned_request_is_claimed_by_a_department_member(container: Container, tw: World) -> None:
    c = handling_complaint(container, tw)
    t = ask(container, tw, c.id, owner=None)
    told = {n.user_id for n in _notes(container, t.id)}
    assert {tw.users["fj_claims"].id, tw.users["fj_claims2"].id} <= told
    with container.uow() as uow:
        started = services.act(
            uow, tw.p("fj_claims2"), t.id, TaskAction.START, TaskActionRequest(), ctx(container)
        )
    assert started.owner_id == tw.users["fj_claims2"].id and started.status == "in_progress"
    with pytest.raises(Forbidden):  # now owned: the colleague may not answer for them
        answer(container, tw, t.id, who="fj_claims")


def _notes(container: Container, task_id: int) -> list[Notification]:
    with reading(container) as s:
        return list(
            s.scalars(
                select(Notification).where(
                    Notification.entity_type == "task", Notification.entity_id == task_id
                )
            )
        )


def test_cohandling_refuses_bad_requests(container: Container, tw: World) -> None:
    c = handling_complaint(container, tw)
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.request_cohandling(
            uow,
            tw.p("qz_handler"),
            c.id,
            CohandlingCreate(org_id=tw.orgs["SH-CLM"].id, question="请核实", due_on=today(container, 2)),
            container.clock.now(),
        )
    assert e.value.problems[0].field == "org_id"  # Shanghai's department is not above Quanzhou
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.request_cohandling(
            uow,
            tw.p("qz_handler"),
            c.id,
            CohandlingCreate(
                org_id=tw.orgs["FJ-CLM"].id,
                owner_id=tw.users["sh_claims"].id,
                question="请核实",
                due_on=today(container, 2),
            ),
            container.clock.now(),
        )
    assert e.value.problems[0].field == "owner_id"
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.request_cohandling(
            uow,
            tw.p("qz_handler"),
            c.id,
            CohandlingCreate(org_id=tw.orgs["FJ-CLM"].id, question="请核实", due_on=today(container, -1)),
            container.clock.now(),
        )
    assert e.value.problems[0].field == "due_on"
    with container.uow() as uow, pytest.raises(Forbidden):  # in scope but not the complaint's handler
        services.request_cohandling(
            uow,
            tw.p("qz_handler2"),
            c.id,
            CohandlingCreate(org_id=tw.orgs["FJ-CLM"].id, question="请核实", due_on=today(container, 2)),
            container.clock.now(),
        )
    with container.uow() as uow, pytest.raises(NotFound):  # another branch: the complaint does not exist
        services.request_cohandling(
            uow,
            tw.p("sh_handler"),
            c.id,
            CohandlingCreate(org_id=tw.orgs["FJ-CLM"].id, question="请核实", due_on=today(container, 2)),
            container.clock.now(),
        )


def test_answer_needs_text_and_return_reopens(container: Container, tw: World) -> None:
    c = handling_complaint(container, tw)
    t = ask(container, tw, c.id)
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.act(
            uow, tw.p("fj_claims"), t.id, TaskAction.COMPLETE, TaskActionRequest(answer=" "), ctx(container)
        )
    assert e.value.problems[0].field == "answer"
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.act(
            uow,
            tw.p("fj_claims"),
            t.id,
            TaskAction.COMPLETE,
            TaskActionRequest(answer="已核实情况如下"),
            ctx(container),
            uploads=[("virus.pdf", b"MZ\x90\x00")],
        )
    assert e.value.problems[0].field == "file"
    answer(container, tw, t.id)
    with container.uow() as uow, pytest.raises(Forbidden):  # the collaborator cannot return their own answer
        services.act(
            uow,
            tw.p("fj_claims"),
            t.id,
            TaskAction.RETURN,
            TaskActionRequest(reason="重新说明"),
            ctx(container),
        )
    with container.uow() as uow:
        back = services.act(
            uow,
            tw.p("qz_handler"),
            t.id,
            TaskAction.RETURN,
            TaskActionRequest(reason="请补充修理厂报价单的核对结果"),
            ctx(container),
        )
    assert back.status == "returned" and back.completed_at is None
    assert complaint_events(container, c.id)[-1].kind == "cohandling_returned"
    answer(container, tw, t.id)
    assert reload_task(container, t.id).status == "done"


# ---------------------------------------------------------------- the decide guard


def test_open_blocking_task_stops_the_decision(container: Container, tw: World) -> None:
    c = handling_complaint(container, tw)
    t = ask(container, tw, c.id, blocking=True)
    now = container.clock.now()
    with container.uow() as uow, pytest.raises(InvalidTransition) as e:
        complaints.act(uow, tw.p("qz_handler"), c.id, Action.DECIDE, decide_request(c), now)
    assert f"#{t.id}" in e.value.zh
    # the handler cannot override, even with a reason
    with container.uow() as uow, pytest.raises(Forbidden):
        complaints.act(
            uow,
            tw.p("qz_handler"),
            c.id,
            Action.DECIDE,
            decide_request(c, override_reason="投诉人要求尽快答复"),
            now,
        )
    answer(container, tw, t.id)
    with container.uow() as uow:
        decided = complaints.act(uow, tw.p("qz_handler"), c.id, Action.DECIDE, decide_request(c), now)
    assert decided.status == Status.DECIDED


def test_non_blocking_task_does_not_stop_the_decision(container: Container, tw: World) -> None:
    c = handling_complaint(container, tw)
    ask(container, tw, c.id, blocking=False)
    with container.uow() as uow:
        assert (
            complaints.act(
                uow, tw.p("qz_handler"), c.id, Action.DECIDE, decide_request(c), container.clock.now()
            ).status
            == Status.DECIDED
        )


def test_officer_override_is_audited(container: Container, tw: World) -> None:
    c = handling_complaint(container, tw)
    t = ask(container, tw, c.id, blocking=True)
    now = container.clock.now()
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        complaints.act(
            uow, tw.p("qz_officer"), c.id, Action.DECIDE, decide_request(c, override_reason="急"), now
        )
    assert e.value.problems[0].field == "override_reason"
    with container.uow() as uow:
        decided = complaints.act(
            uow,
            tw.p("qz_officer"),
            c.id,
            Action.DECIDE,
            decide_request(c, override_reason="临近监管时限，理赔部已电话确认结论，书面答复后补"),
            now,
        )
    assert decided.status == Status.DECIDED
    with container.uow() as uow:
        row = uow.session.scalar(
            select(AuditLog).where(
                AuditLog.action == "complaint.decision_override", AuditLog.entity_id == str(c.id)
            )
        )
        assert row is not None and row.after["blockers"] == [f"task:{t.id}"] and "临近" in row.after["reason"]
        assert row.actor_id == tw.users["qz_officer"].id
    kinds = [e.kind for e in complaint_events(container, c.id)]
    assert kinds[-2:] == ["decision_override", "decided"]
    assert reload_task(container, t.id).status == "open"  # the answer may still come


# ---------------------------------------------------------------- parent and child tasks


def test_parent_progress_rolls_up(container: Container, tw: World) -> None:
    now = container.clock.now()
    with container.uow() as uow:
        parent = services.create_task(
            uow,
            tw.p("fj_officer"),
            TaskCreate(
                title="第一季度消保培训",
                org_id=tw.orgs["FJ"].id,
                owner_id=tw.users["fj_officer"].id,
                due_on=today(container, 20),
            ),
            now,
        )
    kids = []
    for org, owner in (("QZ", "qz_handler"), ("XM", "xm_handler"), ("FJ-CLM", "fj_claims")):
        with container.uow() as uow:
            kids.append(
                services.create_task(
                    uow,
                    tw.p("fj_officer"),
                    TaskCreate(
                        title=f"{org} 培训",
                        org_id=tw.orgs[org].id,
                        owner_id=tw.users[owner].id,
                        parent_id=parent.id,
                        due_on=today(container, 10),
                        checklist=["制定计划", "组织培训", "签到表存档"],
                    ),
                    now,
                )
            )
    with container.uow() as uow:
        services.set_checklist_item(uow, tw.p("qz_handler"), kids[0].id, kids[0].checklist[0].id, True, now)
    with container.uow() as uow:
        rows = [uow.session.get(Task, i) for i in (parent.id, kids[0].id, kids[1].id)]
        prog = services.progress_map(uow.session, [r for r in rows if r])
    assert prog[kids[0].id] == pytest.approx(1 / 3) and prog[kids[1].id] == 0 and prog[parent.id] == 0
    # a leaf cannot be completed with open checklist items; the parent not with open children
    with container.uow() as uow, pytest.raises(InvalidTransition):
        services.act(
            uow, tw.p("qz_handler"), kids[0].id, TaskAction.COMPLETE, TaskActionRequest(), ctx(container)
        )
    with container.uow() as uow, pytest.raises(InvalidTransition):
        services.act(
            uow, tw.p("fj_officer"), parent.id, TaskAction.COMPLETE, TaskActionRequest(), ctx(container)
        )
    for item in kids[0].checklist[1:]:
        with container.uow() as uow:
            services.set_checklist_item(uow, tw.p("qz_handler"), kids[0].id, item.id, True, now)
    with container.uow() as uow:
        services.act(
            uow, tw.p("qz_handler"), kids[0].id, TaskAction.COMPLETE, TaskActionRequest(), ctx(container)
        )
    with container.uow() as uow:
        services.act(
            uow,
            tw.p("fj_officer"),
            kids[2].id,
            TaskAction.CANCEL,
            TaskActionRequest(reason="不再需要"),
            ctx(container),
        )
    with container.uow() as uow:
        p = uow.session.get(Task, parent.id)
        assert p is not None
        assert services.progress_map(uow.session, [p])[parent.id] == pytest.approx(
            1 / 2
        )  # cancelled not counted
    with container.uow() as uow, pytest.raises(ValidationFailed):  # a child cannot be due after its parent
        services.create_task(
            uow,
            tw.p("fj_officer"),
            TaskCreate(
                title="迟到的子任务",
                org_id=tw.orgs["QZ"].id,
                parent_id=parent.id,
                due_on=today(container, 30),
            ),
            now,
        )


# ---------------------------------------------------------------- access


def test_access_from_another_branch_is_not_found(container: Container, tw: World) -> None:
    c = handling_complaint(container, tw)
    t = ask(container, tw, c.id)
    with container.uow() as uow:
        s = uow.session
        for username in (
            "fj_claims",
            "fj_claims2",
            "qz_handler",
            "qz_handler2",
            "qz_officer",
            "fj_officer",
            "fj_manager",
            "hq_officer",
        ):
            assert services.access_task(s, tw.p(username), t.id).id == t.id, username
        for username in ("sh_handler", "sh_officer", "sh_claims", "xm_handler", "admin"):
            with pytest.raises(NotFound):
                services.access_task(s, tw.p(username), t.id)
        with pytest.raises(NotFound):
            services.access_task(s, tw.p("qz_handler"), 999_999)


def test_task_pages_and_api_hide_other_branches(container: Container, tw: World, client: TestClient) -> None:
    c = handling_complaint(container, tw)
    t = ask(container, tw, c.id)
    login(client, "sh_officer")
    assert client.get(f"/tasks/{t.id}", headers={"accept": "text/html"}).status_code == 404
    assert client.get(f"/api/v1/tasks/{t.id}").status_code == 404
    r = client.post(f"/api/v1/tasks/{t.id}/actions/complete", json={"answer": "越权答复"})
    assert r.status_code == 404
    assert str(t.id) not in client.get("/api/v1/tasks?view=overdue").text


# ---------------------------------------------------------------- the reminder sweep


def test_task_sweep_sends_each_reminder_once(container: Container, tw: World) -> None:
    c = handling_complaint(container, tw)
    soon = ask(container, tw, c.id, days=0)  # due tonight: within the 24 h lead
    later = ask(container, tw, c.id, days=10)
    track = next(tr for tr in reminder_tracks() if tr.name == "task.cohandling")
    first = sweep(container, track, container.clock.now())
    again = sweep(container, track, container.clock.now())
    assert first["notifications"] == 1 and again.get("notifications", 0) == 0
    with reading(container) as rs:
        rows = list(
            rs.scalars(
                select(Notification).where(
                    Notification.entity_type == "task", Notification.kind == "reminder"
                )
            )
        )
    assert [(n.entity_id, n.user_id) for n in rows] == [(soon.id, tw.users["fj_claims"].id)]
    assert later.id not in {n.entity_id for n in rows}
    # overdue: the department head above the owner and the owner; the requester watches
    container.clock.advance(timedelta(days=1))
    sweep(container, track, container.clock.now())
    with container.uow() as uow:
        kinds = {
            (n.kind, n.user_id)
            for n in uow.session.scalars(
                select(Notification).where(
                    Notification.entity_type == "task", Notification.entity_id == soon.id
                )
            )
        }
    assert ("escalation", tw.users["fj_manager"].id) in kinds
    assert ("overdue", tw.users["fj_claims"].id) in kinds and ("overdue", tw.users["qz_handler"].id) in kinds
    # a day later still open: the consumer-protection officer above the owner's branch
    container.clock.advance(timedelta(days=1))
    sweep(container, track, container.clock.now())
    sweep(container, track, container.clock.now())
    with container.uow() as uow:
        severe = [
            (n.kind, n.user_id)
            for n in uow.session.scalars(
                select(Notification).where(
                    Notification.entity_type == "task",
                    Notification.entity_id == soon.id,
                    Notification.kind == "escalation_severe",
                )
            )
        ]
    assert severe == [("escalation_severe", tw.users["hq_officer"].id)]
    # a finished task is left alone
    answer(container, tw, later.id)
    container.clock.advance(timedelta(days=12))
    with container.uow() as uow:
        before = uow.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.entity_id == later.id,
                Notification.entity_type == "task",
                Notification.kind.in_(["reminder", "overdue", "escalation"]),
            )
        )
    sweep(container, track, container.clock.now())
    with container.uow() as uow:
        after = uow.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.entity_id == later.id,
                Notification.entity_type == "task",
                Notification.kind.in_(["reminder", "overdue", "escalation"]),
            )
        )
    assert before == after == 0


def test_reminder_lead_is_configurable_per_kind(container: Container, tw: World) -> None:
    container.settings.reminder_lead_hours["task.cohandling"] = 24 * 5
    c = handling_complaint(container, tw)
    t = ask(container, tw, c.id, days=4)
    track = next(tr for tr in reminder_tracks() if tr.name == "task.cohandling")
    assert sweep(container, track, container.clock.now())["notifications"] == 1
    with container.uow() as uow:
        n = uow.session.scalar(
            select(Notification).where(Notification.entity_id == t.id, Notification.kind == "reminder")
        )
        assert n is not None and "协办任务完成期限" in n.title


# ---------------------------------------------------------------- pages and API


def test_cohandling_through_the_pages(container: Container, tw: World, client: TestClient) -> None:
    c = handling_complaint(container, tw)
    login(client, "qz_handler")
    page = client.get(f"/complaints/{c.id}")
    assert page.status_code == 200 and "发起部门协办" in page.text and "福建分公司理赔部" in page.text
    bad = client.post(
        f"/complaints/{c.id}/cohandling",
        data={"org_id": str(tw.orgs["FJ-CLM"].id), "question": "", "due_on": today(container, 2).isoformat()},
    )
    assert bad.status_code == 422 and "此项必填" in bad.text and 'id="cohandling"' in bad.text
    r = client.post(
        f"/complaints/{c.id}/cohandling",
        follow_redirects=False,
        data={
            "org_id": str(tw.orgs["FJ-CLM"].id),
            "owner_id": str(tw.users["fj_claims"].id),
            "blocking": "1",
            "question": "请核实定损员是否向客户说明了定损依据。",
            "due_on": today(container, 2).isoformat(),
        },
    )
    assert r.status_code == 303 and r.headers["location"].endswith("#cohandling")
    with reading(container) as s:
        task = s.scalar(select(Task).where(Task.source_id == c.id))
        assert task is not None and task.blocking
    # the handler cannot decide yet: the refused form says why
    decide = {
        "version": str(c.version + 0),
        "outcome": "partial",
        "notified": "1",
        "decision": "经核实，理赔部门已重新核定损失，差额部分将于3个工作日内支付。",
    }
    with reading(container) as s:
        decide["version"] = str(s.get(type(c), c.id).version)  # type: ignore[union-attr]
    refused = client.post(f"/complaints/{c.id}/actions/decide", data=decide)
    assert refused.status_code == 409 and "阻断性协办" in refused.text and f"#{task.id}" in refused.text

    login(client, "fj_claims")
    mine = client.get("/tasks")
    assert mine.status_code == 200 and "请核实定损员" in mine.text
    assert client.get(f"/tasks/{task.id}").status_code == 200
    done = client.post(
        f"/tasks/{task.id}/actions/complete",
        follow_redirects=False,
        data={"version": str(task.version), "answer": "定损员已当场出具定损单并口头说明，录音见附件。"},
        files={"files": ("录音说明.pdf", PDF, "application/pdf")},
    )
    assert done.status_code == 303, done.text
    assert (
        client.get(f"/complaints/{c.id}", headers={"accept": "text/html"}).status_code == 404
    )  # no complaint access

    login(client, "qz_handler")
    page = client.get(f"/complaints/{c.id}")
    assert "定损员已当场出具定损单" in page.text and "协办答复" in page.text and "录音说明.pdf" in page.text
    ok = client.post(f"/complaints/{c.id}/actions/decide", data=decide, follow_redirects=False)
    assert ok.status_code == 303


def test_override_through_the_page(container: Container, tw: World, client: TestClient) -> None:
    c = handling_complaint(container, tw)
    ask(container, tw, c.id, blocking=True)
    login(client, "qz_officer")
    page = client.get(f"/complaints/{c.id}")
    assert "强制出具处理意见的理由" in page.text
    with reading(container) as s:
        version = s.get(type(c), c.id).version  # type: ignore[union-attr]
    r = client.post(
        f"/complaints/{c.id}/actions/decide",
        follow_redirects=False,
        data={
            "version": str(version),
            "outcome": "rejected",
            "notified": "1",
            "decision": "经核实，本案不属于保险责任范围，理由已书面告知投诉人。",
            "override_reason": "理赔部已口头确认，临近监管时限先行出具处理意见",
        },
    )
    assert r.status_code == 303
    page = client.get(f"/complaints/{c.id}")
    assert "协办未完成时强制出具处理意见" in page.text


def test_board_calendar_overdue_and_stats(container: Container, tw: World, client: TestClient) -> None:
    c = handling_complaint(container, tw)
    t = ask(container, tw, c.id, owner=None, days=1)
    login(client, "fj_claims")
    board = client.get(f"/tasks/board?org={tw.orgs['FJ-CLM'].id}")
    assert board.status_code == 200 and t.title in board.text and 'data-status="in_progress"' in board.text
    moved = client.post(
        f"/tasks/{t.id}/move",
        headers={"HX-Request": "true"},
        data={"to": "in_progress", "version": str(t.version), "org": str(tw.orgs["FJ-CLM"].id)},
    )
    assert moved.status_code == 200 and 'id="board"' in moved.text
    assert reload_task(container, t.id).status == "in_progress"
    assert reload_task(container, t.id).owner_id == tw.users["fj_claims"].id  # claimed by moving
    # completing a co-handling task needs an answer: the board sends the user to the form
    go = client.post(
        f"/tasks/{t.id}/move",
        headers={"HX-Request": "true"},
        data={"to": "done", "org": str(tw.orgs["FJ-CLM"].id)},
    )
    assert go.status_code == 204 and go.headers["HX-Redirect"].startswith(f"/tasks/{t.id}?open=complete")
    assert client.get(f"/tasks/board?org={tw.orgs['SH'].id}").status_code == 404

    container.clock.advance(timedelta(days=3))
    login(client, "fj_manager")
    over = client.get("/tasks/overdue")
    assert over.status_code == 200 and t.title in over.text
    month = container.clock.now().strftime("%Y-%m")
    cal = client.get(f"/tasks/calendar?month={month}")
    assert cal.status_code == 200 and f'href="/tasks/{t.id}"' in cal.text
    assert client.get("/tasks/calendar?month=2026-13").status_code == 422
    stats = client.get("/tasks/stats")
    assert stats.status_code == 200 and "福建分公司理赔部" in stats.text
    data = client.get("/api/v1/tasks/stats/on-time").json()
    row = next(r for r in data["rows"] if r["org_id"] == tw.orgs["FJ-CLM"].id)
    assert row["overdue_open"] == 1 and row["completed"] == 0
    login(client, "sh_officer")
    assert t.title not in client.get("/tasks/overdue").text


def test_task_api(container: Container, tw: World, client: TestClient) -> None:
    login(client, "fj_officer")
    r = client.post(
        "/api/v1/tasks",
        json={
            "title": "排查理赔时效",
            "org_id": tw.orgs["QZ"].id,
            "owner_id": tw.users["qz_handler"].id,
            "due_on": today(container, 5).isoformat(),
            "priority": "urgent",
            "checklist": ["导出清单", "逐件核对"],
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "open" and body["priority"] == "urgent" and len(body["checklist"]) == 2
    assert "cancel" in body["allowed_actions"] and "complete" not in body["allowed_actions"]
    bad = client.post("/api/v1/tasks", json={"title": "越权", "org_id": tw.orgs["SH"].id})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "org_id"
    login(client, "qz_handler")
    tid = body["id"]
    refused = client.post(f"/api/v1/tasks/{tid}/actions/complete", json={})
    assert refused.status_code == 409  # the checklist is not done
    for item in body["checklist"]:
        assert client.patch(f"/api/v1/tasks/{tid}/checklist/{item['id']}", json={"done": True}).json()["done"]
    assert client.post(f"/api/v1/tasks/{tid}/comments", json={"text": "已开始核对"}).status_code == 201
    up = client.post(f"/api/v1/tasks/{tid}/attachments", files={"file": ("清单.pdf", PDF, "application/pdf")})
    assert up.status_code == 201
    assert client.get(f"/api/v1/tasks/{tid}/attachments/{up.json()['id']}").content == PDF
    stale = client.post(f"/api/v1/tasks/{tid}/actions/complete", json={"version": body["version"] + 5})
    assert stale.status_code == 409
    done = client.post(f"/api/v1/tasks/{tid}/actions/complete", json={"answer": "已核对完毕"})
    assert done.status_code == 200 and done.json()["status"] == "done" and done.json()["progress"] == 1
    mine = client.get("/api/v1/tasks?view=mine").json()
    assert tid not in [i["id"] for i in mine["items"]]  # finished
    login(client, "xm_handler")
    assert client.get(f"/api/v1/tasks/{tid}").status_code == 404


def test_personal_data_in_a_question_is_masked(container: Container, tw: World, client: TestClient) -> None:
    c = handling_complaint(container, tw)
    with container.uow() as uow:
        t = services.request_cohandling(
            uow,
            tw.p("qz_handler"),
            c.id,
            CohandlingCreate(
                org_id=tw.orgs["FJ-CLM"].id,
                owner_id=tw.users["fj_claims"].id,
                question="请回电客户13905951234核实出险经过。",
                due_on=today(container, 2),
            ),
            container.clock.now(),
        )
    login(client, "fj_claims")
    page = client.get(f"/tasks/{t.id}")
    assert page.status_code == 200 and "13905951234" not in page.text and "139****1234" in page.text


def test_new_task_form_with_owner_and_cohandlers(container: Container, tw: World, client: TestClient) -> None:
    login(client, "fj_officer")
    form = client.get("/tasks/new")
    assert form.status_code == 200 and 'name="cohandler_ids"' in form.text
    people = client.get(f"/tasks/org-members?org_id={tw.orgs['QZ'].id}", headers={"HX-Request": "true"})
    assert "qz_handler2" in people.text and "sh_handler" not in people.text
    assert "qz_handler" not in client.get(f"/tasks/org-members?org_id={tw.orgs['SH'].id}").text
    r = client.post(
        "/tasks/new",
        follow_redirects=False,
        data={
            "title": "整理季度投诉台账",
            "org_id": str(tw.orgs["QZ"].id),
            "owner_id": str(tw.users["qz_handler"].id),
            "cohandler_ids": [str(tw.users["qz_handler2"].id), str(tw.users["qz_collab"].id)],
            "due_on": today(container, 7).isoformat(),
            "priority": "high",
            "checklist": "导出\n核对\n",
        },
    )
    assert r.status_code == 303, r.text
    tid = int(r.headers["location"].split("/")[2].split("?")[0])
    t = reload_task(container, tid)
    assert t.cohandler_ids == {tw.users["qz_handler2"].id, tw.users["qz_collab"].id} and len(t.checklist) == 2
    login(client, "qz_collab")  # a co-handler sees it among their tasks and may work on it
    assert "整理季度投诉台账" in client.get("/tasks").text
    bad = client.post("/tasks/new", data={"title": "x", "org_id": str(tw.orgs["QZ"].id)})
    assert bad.status_code in (403, 422)
