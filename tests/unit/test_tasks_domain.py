"""The task rules without a database: who may do what from which status, the guards, progress roll-up, due
dates, on-time figures and the calendar grid."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Role
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import Forbidden, InvalidTransition, ValidationFailed
from xiaobao.tasks.domain import (
    ACTIVE_STATUSES,
    BOARD_MOVES,
    TRANSITIONS,
    Rel,
    TaskAction,
    TaskKind,
    TaskSnapshot,
    TaskStatus,
    allowed_actions,
    check,
    deadline,
    due_from_date,
    effective,
    is_overdue,
    month_grid,
    on_time_by_org,
    parse_due,
    progress,
    shift_month,
)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def who(*roles: Role, uid: int = 7) -> Principal:
    return Principal(
        user_id=uid,
        username=f"u{uid}",
        display_name=f"u{uid}",
        org_id=1,
        scope_path="/1/",
        roles=frozenset(str(r) for r in roles),
    )


def snap(status: TaskStatus = TaskStatus.OPEN, **kw: object) -> TaskSnapshot:
    base: dict[str, object] = {"status": status, "kind": TaskKind.COHANDLING, "has_owner": True}
    base.update(kw)
    return TaskSnapshot(**base)  # type: ignore[arg-type]


COLLAB = who(Role.COLLABORATOR)
HANDLER = who(Role.HANDLER, uid=8)
OFFICER = who(Role.OFFICER, uid=9)


def test_transitions_are_data_and_consistent() -> None:
    assert set(TRANSITIONS) == set(TaskAction)
    for t in TRANSITIONS.values():
        assert t.sources, t.action
        assert t.target is None or t.target in TaskStatus
        assert t.who, t.action
    # finished tasks take no work; cancelled ones only reopen
    assert {a for a, t in TRANSITIONS.items() if TaskStatus.CANCELLED in t.sources} == {TaskAction.REOPEN}
    assert {a for a, t in TRANSITIONS.items() if TaskStatus.DONE in t.sources} == {
        TaskAction.RETURN,
        TaskAction.SIGN_OFF,
    }
    for target, action in BOARD_MOVES.items():
        assert TRANSITIONS[action].target == target


def test_owner_works_requester_manages() -> None:
    assert set(allowed_actions(snap(), {Rel.OWNER}, COLLAB)) == {TaskAction.START, TaskAction.COMPLETE}
    assert set(allowed_actions(snap(), {Rel.REQUESTER}, HANDLER)) == {TaskAction.CANCEL, TaskAction.ASSIGN}
    assert set(allowed_actions(snap(TaskStatus.DONE, completed_by_id=7), {Rel.REQUESTER}, HANDLER)) == {
        TaskAction.RETURN
    }
    assert allowed_actions(snap(), set(), OFFICER) == []
    with pytest.raises(Forbidden):
        check(TaskAction.COMPLETE, snap(), {Rel.REQUESTER}, HANDLER)  # the requester cannot answer themselves
    with pytest.raises(InvalidTransition):
        check(TaskAction.START, snap(TaskStatus.IN_PROGRESS), {Rel.OWNER}, COLLAB)


def test_owning_org_managers_assign_but_do_not_cancel_the_request() -> None:
    manager = who(Role.BRANCH_MANAGER, uid=11)
    assert allowed_actions(snap(), {Rel.MANAGER}, manager) == [TaskAction.ASSIGN]
    with pytest.raises(Forbidden):
        check(TaskAction.CANCEL, snap(), {Rel.MANAGER}, manager)
    with pytest.raises(Forbidden):
        check(TaskAction.RETURN, snap(TaskStatus.DONE, completed_by_id=5), {Rel.MANAGER}, manager)


def test_department_members_claim_only_unowned_tasks() -> None:
    assert effective({Rel.MEMBER}, snap(has_owner=False)) == {Rel.MEMBER}
    assert effective({Rel.MEMBER}, snap(has_owner=True)) == frozenset()
    assert TaskAction.START in allowed_actions(snap(has_owner=False), {Rel.MEMBER}, COLLAB)
    with pytest.raises(Forbidden):
        check(TaskAction.COMPLETE, snap(has_owner=True), {Rel.MEMBER}, COLLAB)
    # a member without the work permission (an auditor) cannot claim
    with pytest.raises(Forbidden):
        check(TaskAction.START, snap(has_owner=False), {Rel.MEMBER}, who(Role.AUDITOR))


def test_complete_waits_for_children_and_checklist() -> None:
    with pytest.raises(InvalidTransition) as e:
        check(TaskAction.COMPLETE, snap(open_children=2), {Rel.OWNER}, COLLAB)
    assert "2" in e.value.zh
    with pytest.raises(InvalidTransition):
        check(TaskAction.COMPLETE, snap(open_checklist=1), {Rel.OWNER}, COLLAB)
    with pytest.raises(InvalidTransition):
        check(TaskAction.CANCEL, snap(open_children=1), {Rel.REQUESTER}, HANDLER)
    check(TaskAction.COMPLETE, snap(TaskStatus.RETURNED), {Rel.OWNER}, COLLAB)


def test_sign_off_rules() -> None:
    done = snap(TaskStatus.DONE, kind=TaskKind.RECTIFICATION, completed_by_id=5)
    check(TaskAction.SIGN_OFF, done, {Rel.SIGNER}, OFFICER)
    with pytest.raises(Forbidden):  # only officers sign off
        check(TaskAction.SIGN_OFF, done, {Rel.SIGNER}, who(Role.BRANCH_MANAGER))
    with pytest.raises(Forbidden):  # not one's own work
        check(
            TaskAction.SIGN_OFF, snap(TaskStatus.DONE, completed_by_id=OFFICER.user_id), {Rel.SIGNER}, OFFICER
        )
    signed = snap(TaskStatus.DONE, completed_by_id=5, signed_off=True)
    with pytest.raises(InvalidTransition):
        check(TaskAction.SIGN_OFF, signed, {Rel.SIGNER}, OFFICER)
    with pytest.raises(InvalidTransition):  # signed-off work is not returned
        check(TaskAction.RETURN, signed, {Rel.REQUESTER}, HANDLER)
    with pytest.raises(InvalidTransition):
        check(TaskAction.SIGN_OFF, snap(TaskStatus.IN_PROGRESS), {Rel.SIGNER}, OFFICER)


@pytest.mark.parametrize(
    ("status", "children", "done", "total", "expected"),
    [
        ("open", [], 0, 0, 0.0),
        ("in_progress", [], 1, 4, 0.25),
        ("done", [], 1, 4, 1.0),
        ("open", ["done", "open", "cancelled", "done"], 0, 0, 2 / 3),
        ("open", ["cancelled"], 2, 2, 1.0),  # only cancelled children: the checklist counts
        ("returned", ["in_progress", "returned"], 0, 0, 0.0),
    ],
)
def test_progress_rolls_up(status: str, children: list[str], done: int, total: int, expected: float) -> None:
    assert progress(status, children, done, total) == pytest.approx(expected)


def test_due_dates_end_of_local_day() -> None:
    due = due_from_date(date(2026, 3, 5))
    assert due.astimezone(CN_TZ).date() == date(2026, 3, 5) and due.astimezone(CN_TZ).hour == 23
    assert parse_due("2026-03-02", NOW) == due_from_date(date(2026, 3, 2))  # today is fine
    with pytest.raises(ValidationFailed) as e:
        parse_due("2026-03-01", NOW)
    assert e.value.problems[0].field == "due_on"
    with pytest.raises(ValidationFailed):
        parse_due("3/5/2026", NOW)
    with pytest.raises(ValidationFailed):
        parse_due("2035-01-01", NOW)
    assert parse_due("", NOW, required=False) is None
    with pytest.raises(ValidationFailed):
        parse_due(" ", NOW)


def test_deadline_view_and_overdue() -> None:
    due = due_from_date(date(2026, 3, 3))
    assert deadline(due, "open", None, NOW, timedelta(days=3)).state.value == "due_soon"  # type: ignore[union-attr]
    assert deadline(due, "open", None, NOW + timedelta(days=5), timedelta(days=3)).state.value == "overdue"  # type: ignore[union-attr]
    assert deadline(due, "done", NOW, NOW + timedelta(days=5), timedelta(days=3)).state.value == "met"  # type: ignore[union-attr]
    assert deadline(due, "cancelled", None, NOW, timedelta(days=3)) is None
    assert deadline(None, "open", None, NOW, timedelta(days=3)) is None
    assert is_overdue(due, "returned", NOW + timedelta(days=2))
    assert not is_overdue(due, "done", NOW + timedelta(days=2))
    assert ACTIVE_STATUSES == {TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.RETURNED}


def test_on_time_by_org() -> None:
    d = due_from_date(date(2026, 3, 10))
    rows = [
        (1, "done", d, d - timedelta(hours=1)),
        (1, "done", d, d + timedelta(hours=1)),
        (1, "open", d, None),
        (1, "open", d + timedelta(days=30), None),  # not due yet: not counted
        (2, "done", None, d),  # no due date: on time
    ]
    figures = {f.org_id: f for f in on_time_by_org(rows, d + timedelta(days=1))}
    assert (figures[1].completed, figures[1].on_time, figures[1].late, figures[1].overdue_open) == (
        2,
        1,
        1,
        1,
    )
    assert figures[1].rate == pytest.approx(0.5) and figures[2].rate == 1.0
    assert on_time_by_org([(3, "open", d, None)], d - timedelta(days=1))[0].rate is None


def test_month_grid_and_shift() -> None:
    weeks = month_grid(2026, 3)
    assert weeks[0][0] == date(2026, 2, 23) and weeks[0][0].weekday() == 0  # Monday first
    assert all(len(w) == 7 for w in weeks)
    assert date(2026, 3, 31) in weeks[-1]
    assert shift_month(2026, 12, 1) == (2027, 1) and shift_month(2026, 1, -1) == (2025, 12)
