"""The complaint state machine as pure rules (no DB): transitions, permissions, the handler and
superior-org rules, guards, allowed_actions and the search terms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import PERMISSIONS, Role
from xiaobao.complaints.deadlines import review_window_end
from xiaobao.complaints.domain import (
    OPEN_STATUSES,
    TRANSITIONS,
    Action,
    Snapshot,
    Status,
    allowed_actions,
    check,
    parent_path,
    search_query_terms,
    search_tokens,
)
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import Forbidden, InvalidTransition

# The org tree of tests/factories.py as materialised paths.
HQ, FJ, QZ, XM, SH = "/1/", "/1/3/", "/1/3/5/", "/1/3/6/", "/1/7/"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 Asia/Shanghai


def who(uid: int, role: Role, scope: str) -> Principal:
    return Principal(
        user_id=uid,
        username=f"u{uid}",
        display_name=f"u{uid}",
        org_id=None,
        scope_path=scope,
        roles=frozenset({str(role)}),
    )


HANDLER = who(10, Role.HANDLER, QZ)
HANDLER2 = who(11, Role.HANDLER, QZ)
QZ_OFFICER = who(20, Role.OFFICER, QZ)
FJ_OFFICER = who(21, Role.OFFICER, FJ)
HQ_OFFICER = who(22, Role.OFFICER, HQ)
XM_OFFICER = who(23, Role.OFFICER, XM)
SH_OFFICER = who(24, Role.OFFICER, SH)
MANAGER = who(30, Role.BRANCH_MANAGER, FJ)


def snap(status: Status, **over: object) -> Snapshot:
    base = Snapshot(
        status=status,
        org_path=QZ,
        handler_id=HANDLER.user_id,
        extension_level=0,
        extension2_requested=False,
        paused=False,
        notified_at=None,
    )
    return replace(base, **over)  # type: ignore[arg-type]


def ready(action: Action, status: Status, **over: object) -> Snapshot:
    """A complaint in `status` that satisfies every guard of `action`."""
    extra: dict[str, object] = {}
    if action == Action.REQUEST_EXTENSION2:
        extra = {"extension_level": 1}
    elif action in (Action.APPROVE_EXTENSION2, Action.REJECT_EXTENSION2):
        extra = {"extension_level": 1, "extension2_requested": True}
    elif action == Action.RESUME:
        extra = {"paused": True}
    elif action == Action.REQUEST_REVIEW:
        extra = {"notified_at": NOW - timedelta(days=1)}
    extra.update(over)
    return snap(status, **extra)


def first_source(action: Action) -> Status:
    return sorted(TRANSITIONS[action].sources)[0]


# -- the transition table


def test_every_action_has_a_transition() -> None:
    assert set(TRANSITIONS) == set(Action)


# Written out so that a change to the lifecycle is a deliberate change to this test.
EXPECTED_SOURCES: dict[Action, set[Status]] = {
    Action.ACCEPT: {Status.RECEIVED},
    Action.REASSIGN: {Status.ACCEPTED, Status.HANDLING},
    Action.START: {Status.ACCEPTED},
    Action.EXTEND: {Status.ACCEPTED, Status.HANDLING},
    Action.REQUEST_EXTENSION2: {Status.ACCEPTED, Status.HANDLING},
    Action.APPROVE_EXTENSION2: {Status.ACCEPTED, Status.HANDLING},
    Action.REJECT_EXTENSION2: {Status.ACCEPTED, Status.HANDLING},
    Action.PAUSE: {Status.ACCEPTED, Status.HANDLING},
    Action.RESUME: {Status.ACCEPTED, Status.HANDLING},
    Action.DECIDE: {Status.HANDLING},
    Action.CLOSE: {Status.DECIDED},
    Action.WITHDRAW: {Status.RECEIVED, Status.ACCEPTED, Status.HANDLING},
    Action.MERGE: {Status.RECEIVED, Status.ACCEPTED, Status.HANDLING},
    Action.REQUEST_REVIEW: {Status.DECIDED, Status.CLOSED},
    Action.CONCLUDE_REVIEW: {Status.REVIEW},
    Action.REOPEN: {Status.DECIDED, Status.CLOSED},
}


def test_sources_are_as_specified() -> None:
    assert {a: set(t.sources) for a, t in TRANSITIONS.items()} == EXPECTED_SOURCES


def test_terminal_statuses_have_no_way_out() -> None:
    for status in (Status.WITHDRAWN, Status.MERGED):
        assert not [a for a, t in TRANSITIONS.items() if status in t.sources]


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(Status))
def test_action_allowed_only_from_its_sources(action: Action, status: Status) -> None:
    # FJ officer: every officer permission, superior to QZ, passes the handler rule
    c = ready(action, status)
    t = TRANSITIONS[action]
    if status in t.sources:
        assert check(action, c, FJ_OFFICER, NOW) is t
    else:
        with pytest.raises(InvalidTransition) as e:
            check(action, c, FJ_OFFICER, NOW)
        assert e.value.status_code == 409 and e.value.zh and e.value.en


# -- permissions by role

HANDLER_ACTIONS = {
    Action.START,
    Action.EXTEND,
    Action.REQUEST_EXTENSION2,
    Action.PAUSE,
    Action.RESUME,
    Action.DECIDE,
    Action.CLOSE,
    Action.WITHDRAW,
    Action.REQUEST_REVIEW,
}
EXPECTED_BY_ROLE: dict[Role, set[Action]] = {
    Role.OFFICER: set(Action),
    Role.HANDLER: HANDLER_ACTIONS,
    Role.COLLABORATOR: set(),
    Role.REVIEWER: set(),
    Role.BRANCH_MANAGER: set(),
    Role.AUDITOR: set(),
    Role.ADMIN: set(),
    Role.CLAIMS_OPERATOR: set(),
    Role.SURVEYOR: set(),
    Role.COMMANDER: set(),
    Role.RISK_ENGINEER: set(),
}


@pytest.mark.parametrize("role", list(Role))
def test_permission_by_role(role: Role) -> None:
    actor = who(50, role, FJ)  # at the superior org, and the assigned handler
    allowed = set()
    for action in Action:
        c = ready(action, first_source(action), handler_id=actor.user_id)
        try:
            check(action, c, actor, NOW)
        except Forbidden as e:
            assert e.status_code == 403
            assert role not in PERMISSIONS[TRANSITIONS[action].perm]
            continue
        allowed.add(action)
    assert allowed == EXPECTED_BY_ROLE[role]


def test_permission_is_checked_before_the_status() -> None:
    # a role that may not act at all learns nothing about the complaint's state
    with pytest.raises(Forbidden):
        check(Action.CLOSE, snap(Status.RECEIVED), MANAGER, NOW)


# -- handler_only

HANDLER_ONLY = sorted(a for a, t in TRANSITIONS.items() if t.handler_only)


def test_handler_only_actions() -> None:
    assert set(HANDLER_ONLY) == {
        Action.START,
        Action.EXTEND,
        Action.REQUEST_EXTENSION2,
        Action.PAUSE,
        Action.RESUME,
        Action.DECIDE,
        Action.CLOSE,
    }


@pytest.mark.parametrize("action", HANDLER_ONLY)
def test_handler_only_refuses_another_handler(action: Action) -> None:
    c = ready(action, first_source(action))
    assert check(action, c, HANDLER, NOW)
    with pytest.raises(Forbidden):
        check(action, c, HANDLER2, NOW)
    assert check(action, c, QZ_OFFICER, NOW)  # an officer may step in
    # unassigned: only an officer
    with pytest.raises(Forbidden):
        check(action, replace(c, handler_id=None), HANDLER, NOW)
    assert check(action, replace(c, handler_id=None), QZ_OFFICER, NOW)


@pytest.mark.parametrize("action", [Action.WITHDRAW, Action.REQUEST_REVIEW])
def test_any_handler_may_record_a_withdrawal_or_review_application(action: Action) -> None:
    assert check(action, ready(action, first_source(action)), HANDLER2, NOW)


# -- the superior-org rule

SUPERIOR = [Action.APPROVE_EXTENSION2, Action.REJECT_EXTENSION2, Action.CONCLUDE_REVIEW]


def test_superior_actions() -> None:
    assert sorted(a for a, t in TRANSITIONS.items() if t.superior) == sorted(SUPERIOR)


def test_parent_path() -> None:
    assert parent_path(QZ) == FJ
    assert parent_path(FJ) == HQ
    assert parent_path(HQ) == "/"


@pytest.mark.parametrize("action", SUPERIOR)
def test_superior_rule_on_a_subbranch_complaint(action: Action) -> None:
    c = ready(action, first_source(action), org_path=QZ)
    assert check(action, c, FJ_OFFICER, NOW)  # the superior org
    assert check(action, c, HQ_OFFICER, NOW)  # above it
    for refused in (QZ_OFFICER, XM_OFFICER, SH_OFFICER):  # itself, a sibling, another branch
        with pytest.raises(Forbidden):
            check(action, c, refused, NOW)


@pytest.mark.parametrize("action", SUPERIOR)
def test_superior_rule_on_a_branch_complaint(action: Action) -> None:
    c = ready(action, first_source(action), org_path=FJ)
    assert check(action, c, HQ_OFFICER, NOW)
    for refused in (FJ_OFFICER, QZ_OFFICER, SH_OFFICER):
        with pytest.raises(Forbidden):
            check(action, c, refused, NOW)


@pytest.mark.parametrize("action", SUPERIOR)
def test_head_office_complaint_is_approved_at_head_office(action: Action) -> None:
    c = ready(action, first_source(action), org_path=HQ)
    assert check(action, c, HQ_OFFICER, NOW)  # no superior: head-office senior management
    for refused in (FJ_OFFICER, QZ_OFFICER):
        with pytest.raises(Forbidden):
            check(action, c, refused, NOW)


def test_superior_rule_does_not_confuse_path_prefixes() -> None:
    # /1/3/ is not above /1/30/5/
    c = ready(Action.APPROVE_EXTENSION2, Status.HANDLING, org_path="/1/30/5/")
    with pytest.raises(Forbidden):
        check(Action.APPROVE_EXTENSION2, c, FJ_OFFICER, NOW)


# -- guards


@pytest.mark.parametrize(
    ("action", "actor", "state", "message"),
    [
        (Action.EXTEND, HANDLER, {"extension_level": 1}, "已延期"),
        (Action.EXTEND, HANDLER, {"extension_level": 2}, "已延期"),
        (Action.REQUEST_EXTENSION2, HANDLER, {"extension_level": 0}, "须先延期"),
        (Action.REQUEST_EXTENSION2, HANDLER, {"extension_level": 2}, "须先延期"),
        (
            Action.REQUEST_EXTENSION2,
            HANDLER,
            {"extension_level": 1, "extension2_requested": True},
            "等待审批",
        ),
        (Action.APPROVE_EXTENSION2, FJ_OFFICER, {"extension_level": 1}, "没有待审批"),
        (Action.REJECT_EXTENSION2, FJ_OFFICER, {"extension_level": 1}, "没有待审批"),
        (Action.PAUSE, HANDLER, {"paused": True}, "已暂停"),
        (Action.RESUME, HANDLER, {"paused": False}, "未暂停"),
        (Action.DECIDE, HANDLER, {"paused": True}, "恢复计时"),
    ],
)
def test_guards(action: Action, actor: Principal, state: dict[str, object], message: str) -> None:
    c = snap(Status.HANDLING, **state)
    with pytest.raises(InvalidTransition) as e:
        check(action, c, actor, NOW)
    assert message in e.value.zh
    assert e.value.en


def test_request_review_needs_a_notified_decision() -> None:
    with pytest.raises(InvalidTransition) as e:
        check(Action.REQUEST_REVIEW, snap(Status.DECIDED, notified_at=None), HANDLER, NOW)
    assert "尚未送达" in e.value.zh


def test_request_review_within_thirty_days_of_notification() -> None:
    notified = datetime(2026, 3, 2, 10, 0, tzinfo=CN_TZ)
    end = review_window_end(notified)
    assert end == datetime(2026, 4, 1, 23, 59, 59, 999999, tzinfo=CN_TZ)
    c = snap(Status.CLOSED, notified_at=notified)
    assert check(Action.REQUEST_REVIEW, c, HANDLER, end)
    with pytest.raises(InvalidTransition) as e:
        check(Action.REQUEST_REVIEW, c, HANDLER, end + timedelta(microseconds=1))
    assert "30" in e.value.zh and "30" in e.value.en
    with pytest.raises(InvalidTransition):
        check(Action.REQUEST_REVIEW, c, HANDLER, notified + timedelta(days=31))


# -- allowed_actions


@pytest.mark.parametrize(
    ("c", "actor", "expected"),
    [
        (snap(Status.RECEIVED, handler_id=None), QZ_OFFICER, {Action.ACCEPT, Action.WITHDRAW, Action.MERGE}),
        (snap(Status.RECEIVED, handler_id=None), HANDLER, {Action.WITHDRAW}),
        (snap(Status.ACCEPTED), HANDLER, {Action.START, Action.EXTEND, Action.PAUSE, Action.WITHDRAW}),
        (snap(Status.HANDLING), HANDLER, {Action.EXTEND, Action.PAUSE, Action.DECIDE, Action.WITHDRAW}),
        (snap(Status.HANDLING), HANDLER2, {Action.WITHDRAW}),
        (
            snap(Status.HANDLING),
            QZ_OFFICER,
            {Action.REASSIGN, Action.EXTEND, Action.PAUSE, Action.DECIDE, Action.WITHDRAW, Action.MERGE},
        ),
        (
            snap(Status.HANDLING, extension_level=1),
            HANDLER,
            {Action.REQUEST_EXTENSION2, Action.PAUSE, Action.DECIDE, Action.WITHDRAW},
        ),
        (
            snap(Status.HANDLING, extension_level=1, extension2_requested=True),
            HANDLER,
            {Action.PAUSE, Action.DECIDE, Action.WITHDRAW},
        ),
        (
            snap(Status.HANDLING, extension_level=1, extension2_requested=True),
            FJ_OFFICER,
            {
                Action.REASSIGN,
                Action.APPROVE_EXTENSION2,
                Action.REJECT_EXTENSION2,
                Action.PAUSE,
                Action.DECIDE,
                Action.WITHDRAW,
                Action.MERGE,
            },
        ),
        (snap(Status.HANDLING, paused=True), HANDLER, {Action.EXTEND, Action.RESUME, Action.WITHDRAW}),
        (snap(Status.DECIDED, notified_at=NOW), HANDLER, {Action.CLOSE, Action.REQUEST_REVIEW}),
        (
            snap(Status.DECIDED, notified_at=NOW),
            QZ_OFFICER,
            {Action.CLOSE, Action.REQUEST_REVIEW, Action.REOPEN},
        ),
        (snap(Status.CLOSED, notified_at=NOW - timedelta(days=40)), QZ_OFFICER, {Action.REOPEN}),
        (snap(Status.REVIEW, notified_at=NOW), QZ_OFFICER, set()),
        (snap(Status.REVIEW, notified_at=NOW), FJ_OFFICER, {Action.CONCLUDE_REVIEW}),
        (snap(Status.WITHDRAWN), FJ_OFFICER, set()),
        (snap(Status.MERGED), FJ_OFFICER, set()),
        (snap(Status.HANDLING), MANAGER, set()),
    ],
)
def test_allowed_actions(c: Snapshot, actor: Principal, expected: set[Action]) -> None:
    got = allowed_actions(c, actor, NOW)
    assert set(got) == expected
    assert got == [a for a in Action if a in expected]  # in the table's order, no repeats


# -- properties

ACTORS = [
    HANDLER,
    HANDLER2,
    QZ_OFFICER,
    FJ_OFFICER,
    HQ_OFFICER,
    XM_OFFICER,
    SH_OFFICER,
    MANAGER,
    who(40, Role.AUDITOR, HQ),
    who(41, Role.ADMIN, HQ),
    who(42, Role.COLLABORATOR, QZ),
]

snapshots = st.builds(
    Snapshot,
    status=st.sampled_from(list(Status)),
    org_path=st.sampled_from([QZ, XM, FJ, HQ]),
    handler_id=st.sampled_from([None, HANDLER.user_id, HANDLER2.user_id, QZ_OFFICER.user_id]),
    extension_level=st.integers(0, 2),
    extension2_requested=st.booleans(),
    paused=st.booleans(),
    notified_at=st.one_of(st.none(), st.integers(0, 60).map(lambda d: NOW - timedelta(days=d))),
)


@settings(max_examples=400, deadline=None)
@given(c=snapshots, actor=st.sampled_from(ACTORS), action=st.sampled_from(list(Action)))
def test_check_never_passes_outside_the_table(c: Snapshot, actor: Principal, action: Action) -> None:
    t = TRANSITIONS[action]
    try:
        assert check(action, c, actor, NOW) is t
    except (Forbidden, InvalidTransition):
        assert action not in allowed_actions(c, actor, NOW)
        return
    assert c.status in t.sources
    assert actor.can(t.perm)
    assert action in allowed_actions(c, actor, NOW)
    if t.handler_only:
        assert actor.user_id == c.handler_id or str(Role.OFFICER) in actor.roles
    if t.superior:
        assert actor.scope_path != c.org_path or c.org_path == HQ


def _apply(c: Snapshot, action: Action, choice: bool) -> Snapshot:
    """The effect of an allowed action on what the rules see, as the services apply it."""
    t = TRANSITIONS[action]
    status = t.target or c.status
    if t.alt_targets and choice:
        status = sorted(t.alt_targets)[0]
    c = replace(c, status=status)
    if action == Action.EXTEND:
        c = replace(c, extension_level=1)
    elif action == Action.REQUEST_EXTENSION2:
        c = replace(c, extension2_requested=True)
    elif action == Action.APPROVE_EXTENSION2:
        c = replace(c, extension_level=2, extension2_requested=False)
    elif action == Action.REJECT_EXTENSION2:
        c = replace(c, extension2_requested=False)
    elif action == Action.PAUSE:
        c = replace(c, paused=True)
    elif action in (Action.RESUME, Action.WITHDRAW, Action.MERGE):
        c = replace(c, paused=False)
    elif action == Action.DECIDE:
        c = replace(c, notified_at=NOW)
    if status == Status.HANDLING and action in (Action.REOPEN, Action.CONCLUDE_REVIEW):
        c = replace(c, extension_level=0, extension2_requested=False, notified_at=None)
    return c


REACHABLE = {Status.RECEIVED} | {s for t in TRANSITIONS.values() for src in t.sources for s in t.targets(src)}


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(list(Action)), st.sampled_from(ACTORS), st.booleans()), max_size=40
    )
)
def test_random_action_sequences_stay_inside_the_table(steps: list[tuple[Action, Principal, bool]]) -> None:
    c = snap(Status.RECEIVED, handler_id=None)
    for action, actor, choice in steps:
        try:
            t = check(action, c, actor, NOW)
        except (Forbidden, InvalidTransition):
            continue
        before = c.status
        c = _apply(c, action, choice)
        if action in (Action.ACCEPT, Action.REASSIGN):
            c = replace(c, handler_id=(HANDLER2 if choice else HANDLER).user_id)
        assert before in t.sources
        assert c.status in t.targets(before)
        assert c.status in REACHABLE
        if c.status not in OPEN_STATUSES:
            assert not c.paused  # deciding refuses a paused clock; withdrawal and merge end the pause


# -- search terms


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("定损金额", "定损 损金 金额"),
        ("车", "车"),
        ("理赔，定损", "理赔 定损"),
        ("车牌闽C12345定损", "车牌 牌闽 定损 c12345"),
        ("定损定损", "定损 损定"),
        ("Claim claim CLAIM 42", "claim 42"),
        ("", ""),
        ("，。！", ""),
    ],
)
def test_search_tokens(text: str, terms: str) -> None:
    assert search_tokens(text) == terms


def test_search_tokens_dedup() -> None:
    terms = search_tokens("定损 定损 定损 abc ABC").split()
    assert terms == ["定损", "abc"]


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("定损", "定损"),
        ("定损金额", "定损 损金 金额"),
        ("损", ""),  # may be inside a longer run in the text
        ("闽C12345", ""),  # "c12345" touches the end: the text may say c123456
        ("闽C12345车", "c12345"),
        ("车 损 险", "损"),
        ("%", ""),
        ("_定损_", "定损"),
    ],
)
def test_search_query_terms(query: str, terms: str) -> None:
    assert search_query_terms(query) == terms


text_alphabet = st.sampled_from(list("定损金额理赔车险闽C1234 ，_%aZ"))


@settings(max_examples=500, deadline=None)
@given(text=st.text(text_alphabet, max_size=30), data=st.data())
def test_query_terms_are_always_in_a_matching_text(text: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(text)))
    j = data.draw(st.integers(i, len(text)))
    query = text[i:j]
    assert set(search_query_terms(query).split()) <= set(search_tokens(text).split())
