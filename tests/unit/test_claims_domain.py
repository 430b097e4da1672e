"""Claims rules without a database: transitions and guards, fast track, retry schedule, rescue statuses, legal
deadlines (保险法 Art.23/24/25), SLA switch, timeline replay, shift windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from xiaobao.auth.principal import Principal
from xiaobao.claims import deadlines
from xiaobao.claims.domain import (
    TRANSITIONS,
    Action,
    ReplayError,
    RescueStatus,
    Snapshot,
    Status,
    TimelineEntry,
    allowed_actions,
    check,
    check_rescue,
    is_fast_track,
    next_retry,
    priority,
    region_matches,
    replay,
    target_of,
)
from xiaobao.claims.staff import on_shift
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import Forbidden, InvalidTransition

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 Asia/Shanghai


def who(*roles: str, user_id: int = 1) -> Principal:
    return Principal(
        user_id=user_id, username="u", display_name="u", org_id=1, scope_path="/1/", roles=frozenset(roles)
    )


def snap(status: Status = Status.REPORTED, **kw: object) -> Snapshot:
    base: dict[str, object] = dict(
        status=status,
        assigned_user_id=None,
        line="motor",
        cause="waterlogging",
        people_at_risk=0,
        estimated_amount=Decimal("3000"),
        assessed_amount=None,
        contacted=True,
        denial_notified=False,
    )
    base.update(kw)
    return Snapshot(**base)  # type: ignore[arg-type]


OP, CMD, AUD = who("claims_operator"), who("commander", user_id=2), who("auditor", user_id=3)


def test_happy_path_statuses_chain() -> None:
    path = [
        (Action.COLLECT_INFO, Status.CONTACTED, Status.INFO_COLLECTED),
        (Action.SURVEY, Status.INFO_COLLECTED, Status.SURVEYED),
        (Action.ASSESS, Status.SURVEYED, Status.ASSESSED),
        (Action.SETTLE, Status.ASSESSED, Status.SETTLED),
        (Action.PAY, Status.SETTLED, Status.PAID),
        (Action.CLOSE, Status.PAID, Status.CLOSED),
    ]
    for action, source, target in path:
        check(action, snap(source), OP)
        assert target_of(action, snap(source)) == target


def test_wrong_state_and_wrong_role_are_refused_bilingually() -> None:
    with pytest.raises(InvalidTransition) as e:
        check(Action.PAY, snap(Status.REPORTED), OP)
    assert "已报案" in e.value.zh and "Reported" in e.value.en
    with pytest.raises(Forbidden):
        check(Action.SURVEY, snap(Status.INFO_COLLECTED), AUD)
    with pytest.raises(Forbidden):
        check(Action.ASSIGN, snap(), OP)  # dispatching is a commander's


def test_only_the_holder_or_a_dispatcher_works_an_assigned_case() -> None:
    held = snap(Status.CONTACTED, assigned_user_id=99)
    with pytest.raises(Forbidden):
        check(Action.COLLECT_INFO, held, OP)
    check(Action.COLLECT_INFO, snap(Status.CONTACTED, assigned_user_id=1), OP)
    with pytest.raises(InvalidTransition):
        check(Action.TAKE, held, OP)


def test_fast_track_assess_without_survey_only_for_small_motor_damage() -> None:
    check(Action.ASSESS, snap(Status.INFO_COLLECTED), OP)
    for kw in (
        {"estimated_amount": Decimal("5000.01")},
        {"line": "property"},
        {"people_at_risk": 1},
        {"cause": "theft"},
        {"estimated_amount": None},
    ):
        with pytest.raises(InvalidTransition):
            check(Action.ASSESS, snap(Status.INFO_COLLECTED, **kw), OP)
    assert is_fast_track("motor", "collision", Decimal("5000"), 0)
    assert not is_fast_track("motor", "collision", Decimal("0"), 0)


def test_denied_case_closes_only_after_the_notice_and_reopens() -> None:
    with pytest.raises(InvalidTransition):
        check(Action.CLOSE, snap(Status.DENIED), OP)
    check(Action.CLOSE, snap(Status.DENIED, denial_notified=True), OP)
    with pytest.raises(InvalidTransition):
        check(Action.NOTIFY_DENIAL, snap(Status.DENIED, denial_notified=True), OP)
    assert target_of(Action.REOPEN, snap(Status.CLOSED)) == Status.INFO_COLLECTED
    assert target_of(Action.REOPEN, snap(Status.CANCELLED, contacted=False)) == Status.REPORTED
    with pytest.raises(InvalidTransition):
        check(Action.DENY, snap(Status.PAID), OP)


def test_allowed_actions_never_offer_contact_and_every_action_has_a_transition() -> None:
    assert set(TRANSITIONS) == set(Action)
    acts = allowed_actions(snap(Status.REPORTED, contacted=False), OP)
    assert Action.CONTACT not in acts and Action.TAKE in acts and Action.CANCEL in acts
    assert allowed_actions(snap(Status.REPORTED), AUD) == []


def test_retry_schedule_and_priorities() -> None:
    assert [next_retry(n, T0) - T0 for n in (1, 2, 3, 4, 5, 9)] == [
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=8),
        timedelta(hours=8),
    ]
    with pytest.raises(ValueError):
        next_retry(0, T0)
    lives = priority(
        people_at_risk=1, rescue_needed=False, special_group=None, in_event=False, fast_track=False
    )
    elder_cat = priority(
        people_at_risk=0, rescue_needed=True, special_group="elderly", in_event=True, fast_track=True
    )
    assert lives > elder_cat > 0


def test_rescue_status_moves() -> None:
    check_rescue(RescueStatus.REQUESTED, RescueStatus.ACCEPTED)
    check_rescue(RescueStatus.EN_ROUTE, RescueStatus.ARRIVED)
    for a, b in ((RescueStatus.DONE, RescueStatus.CANCELLED), (RescueStatus.REQUESTED, RescueStatus.DONE)):
        with pytest.raises(InvalidTransition):
            check_rescue(a, b)


def test_legal_deadlines_count_calendar_days_from_the_next_day() -> None:
    info = datetime(2026, 3, 2, 23, 30, tzinfo=CN_TZ)
    d = deadlines.compute(
        deadlines.CaseClock(
            reported_at=T0,
            info_collected_at=info,
            settled_at=datetime(2026, 3, 10, 9, 0, tzinfo=CN_TZ),
            denied_at=datetime(2026, 3, 31, 0, 5, tzinfo=CN_TZ),
        )
    )
    assert d.contact_due == T0 + timedelta(minutes=5) and d.survey_due == T0 + timedelta(hours=24)
    assert d.decision_due is not None and d.decision_due.astimezone(CN_TZ).date().isoformat() == "2026-04-01"
    assert d.decision_due.astimezone(CN_TZ).hour == 23
    assert d.prepay_due is not None and d.prepay_due.astimezone(CN_TZ).date().isoformat() == "2026-05-01"
    assert d.payment_due is not None and d.payment_due.astimezone(CN_TZ).date().isoformat() == "2026-03-20"
    assert (
        d.denial_notice_due is not None
        and d.denial_notice_due.astimezone(CN_TZ).date().isoformat() == "2026-04-03"
    )
    nothing = deadlines.compute(deadlines.CaseClock(reported_at=T0))
    assert nothing.decision_due is None and nothing.payment_due is None
    with pytest.raises(ValueError):
        deadlines.compute(deadlines.CaseClock(reported_at=datetime(2026, 3, 2)))


def test_event_mode_switches_the_service_targets() -> None:
    sla = deadlines.event_sla(None, None)
    d = deadlines.compute(deadlines.CaseClock(reported_at=T0), sla)
    assert (
        sla.event_mode
        and d.contact_due == T0 + timedelta(minutes=30)
        and d.survey_due == T0 + timedelta(hours=48)
    )
    d = deadlines.compute(deadlines.CaseClock(reported_at=T0), deadlines.event_sla(15, 72))
    assert d.contact_due == T0 + timedelta(minutes=15) and d.survey_due == T0 + timedelta(hours=72)


def test_assess_states() -> None:
    due = T0 + timedelta(minutes=30)
    soon = timedelta(minutes=6)
    assert deadlines.assess(due, None, T0, soon) == deadlines.State.ON_TRACK
    assert deadlines.assess(due, None, due - timedelta(minutes=5), soon) == deadlines.State.DUE_SOON
    assert deadlines.assess(due, None, due + timedelta(seconds=1), soon) == deadlines.State.OVERDUE
    assert deadlines.assess(due, due, due + timedelta(days=1), soon) == deadlines.State.MET
    assert deadlines.assess(due, due + timedelta(seconds=1), due, soon) == deadlines.State.MISSED


def test_replay_rebuilds_and_detects_gaps() -> None:
    e = [
        TimelineEntry(T0, "reported", None, "reported"),
        TimelineEntry(T0 + timedelta(minutes=1), "contact_attempt", None, None, {"outcome": "no_answer"}),
        TimelineEntry(
            T0 + timedelta(minutes=9), "contact_attempt", "reported", "contacted", {"outcome": "reached"}
        ),
        TimelineEntry(T0 + timedelta(minutes=10), "taken", None, None, {"user_id": 7}),
        TimelineEntry(T0 + timedelta(hours=1), "collect_info", "contacted", "info_collected"),
        TimelineEntry(
            T0 + timedelta(hours=2), "assess", "info_collected", "assessed", {"assessed_amount": "3200"}
        ),
    ]
    states = replay(e)
    last = states[-1]
    assert last.status == Status.ASSESSED and last.assigned_user_id == 7 and last.contact_attempts == 2
    assert last.contacted_at == T0 + timedelta(minutes=9) and last.assessed_amount == Decimal("3200")
    assert last.stamps["info_collected"] == T0 + timedelta(hours=1)
    with pytest.raises(ReplayError):
        replay([e[0], e[4]])  # contacted step missing


def test_regions_and_shifts() -> None:
    assert region_matches("350582", ["3505"]) and region_matches("350582", ["35"])
    assert not region_matches("350582", ["3502"]) and not region_matches(None, ["35"])
    assert on_shift([["08:00", "20:00"]], datetime(2026, 3, 2, 9, 0, tzinfo=CN_TZ))
    assert not on_shift([["08:00", "20:00"]], datetime(2026, 3, 2, 21, 0, tzinfo=CN_TZ))
    assert on_shift([["20:00", "08:00"]], datetime(2026, 3, 2, 2, 0, tzinfo=CN_TZ))  # night shift
