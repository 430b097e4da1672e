"""Escalation, routing and retry rules (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from xiaobao.core.calendar import CN_TZ
from xiaobao.notifications import messages
from xiaobao.notifications.domain import (
    BACKOFF_CAP,
    Audience,
    Channel,
    DeliveryStatus,
    Kind,
    OrgNode,
    OrgTree,
    Policy,
    Stage,
    after_failure,
    channels_for,
    dedupe_key,
    department_heads,
    institution_officers,
    plan,
    retry_delay,
    superior_officers,
    target_stage,
    thresholds,
)

DUE = datetime(2026, 3, 17, 23, 59, 59, tzinfo=CN_TZ)
P = Policy.hours(24, 24)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("now", "stage"),
    [
        (DUE - 48 * H, Stage.NONE),
        (DUE - 24 * H - timedelta(seconds=1), Stage.NONE),
        (DUE - 24 * H, Stage.DUE_SOON),
        (DUE - timedelta(seconds=1), Stage.DUE_SOON),
        (DUE, Stage.OVERDUE),
        (DUE + 23 * H, Stage.OVERDUE),
        (DUE + 24 * H, Stage.SEVERE),
        (DUE + 2400 * H, Stage.SEVERE),
    ],
)
def test_target_stage_boundaries(now: datetime, stage: Stage) -> None:
    assert target_stage(DUE, now, P) == stage


def test_thresholds_agree_with_target_stage() -> None:
    # the SQL cut-offs and the Python rule must draw the same lines
    for offset_h in range(-60, 60):
        now = DUE + offset_h * H
        t1, t2, t3 = thresholds(now, P)
        expected = 3 if DUE <= t3 else 2 if DUE <= t2 else 1 if DUE <= t1 else 0
        assert target_stage(DUE, now, P) == expected


def test_reminder_then_escalations_step_by_step() -> None:
    p1 = plan(DUE, DUE - 10 * H, Stage.NONE, P)
    assert p1.target == Stage.DUE_SOON
    assert [(s.audience, s.kind) for s in p1.steps] == [(Audience.OWNER, Kind.REMINDER)]

    p2 = plan(DUE, DUE + H, p1.target, P)
    assert p2.target == Stage.OVERDUE
    assert [(s.audience, s.kind) for s in p2.steps] == [
        (Audience.DEPT_HEAD, Kind.ESCALATION),
        (Audience.OWNER, Kind.OVERDUE),
        (Audience.WATCHER, Kind.OVERDUE),
    ]

    p3 = plan(DUE, DUE + 30 * H, p2.target, P)
    assert p3.target == Stage.SEVERE
    assert [(s.audience, s.kind) for s in p3.steps] == [(Audience.CP_OFFICER, Kind.ESCALATION_SEVERE)]

    assert plan(DUE, DUE + 90 * H, p3.target, P).steps == ()


def test_nothing_is_sent_twice_for_the_same_stage() -> None:
    assert plan(DUE, DUE - H, Stage.DUE_SOON, P).steps == ()
    assert plan(DUE, DUE + H, Stage.OVERDUE, P).steps == ()


def test_late_sweep_skips_the_stale_reminder_but_sends_every_escalation() -> None:
    p = plan(DUE, DUE + 50 * H, Stage.NONE, P)
    assert p.target == Stage.SEVERE
    kinds = [s.kind for s in p.steps]
    assert Kind.REMINDER not in kinds
    assert kinds.count(Kind.ESCALATION) == 1 and kinds.count(Kind.ESCALATION_SEVERE) == 1


def test_stage_never_goes_back() -> None:
    # already escalated, then the due moment moved later: nothing new until the item catches up
    assert plan(DUE + 240 * H, DUE, Stage.OVERDUE, P).steps == ()
    assert plan(DUE + 240 * H, DUE, Stage.OVERDUE, P).target == Stage.OVERDUE


def test_lead_time_is_per_policy() -> None:
    early = Policy.hours(72, 24)
    assert target_stage(DUE, DUE - 48 * H, early) == Stage.DUE_SOON
    assert target_stage(DUE, DUE - 48 * H, P) == Stage.NONE
    quick = Policy.hours(24, 2)
    assert target_stage(DUE, DUE + 3 * H, quick) == Stage.SEVERE


def test_policy_and_times_are_validated() -> None:
    with pytest.raises(ValueError, match="lead"):
        Policy(lead=-H)
    with pytest.raises(ValueError, match="escalate_after"):
        Policy(escalate_after=timedelta(0))
    with pytest.raises(ValueError, match="timezone-aware"):
        target_stage(datetime(2026, 3, 17), DUE, P)  # noqa: DTZ001


def test_dedupe_key_names_item_stage_local_due_day_user_and_kind() -> None:
    # 2026-03-17 23:59:59 Shanghai is 15:59:59 UTC: the key uses the local day
    key = dedupe_key("complaint.regulatory", 123, Stage.OVERDUE, DUE.astimezone(UTC), 45, Kind.ESCALATION)
    assert key == "complaint.regulatory:123:overdue:2026-03-17:u45:escalation"
    assert dedupe_key("t", 1, Stage.OVERDUE, DUE, 45, Kind.OVERDUE) != dedupe_key(
        "t", 1, Stage.OVERDUE, DUE, 45, Kind.ESCALATION
    )
    assert dedupe_key("t", 1, Stage.DUE_SOON, DUE, 4, Kind.REMINDER) != dedupe_key(
        "t", 1, Stage.DUE_SOON, DUE + 24 * H, 4, Kind.REMINDER
    )


# HQ(1) ─ HQ-CP(2, dept) ; FJ(3) ─ FJ-CP(4, dept), QZ(5) ─ QZ-CLAIMS(6, dept) ; SH(7)
TREE = OrgTree(
    [
        OrgNode(1, None, "hq"),
        OrgNode(2, 1, "department"),
        OrgNode(3, 1, "branch"),
        OrgNode(4, 3, "department"),
        OrgNode(5, 3, "subbranch"),
        OrgNode(6, 5, "department"),
        OrgNode(7, 1, "branch"),
    ]
)


def test_tree_helpers() -> None:
    assert TREE.ancestors(6) == [6, 5, 3, 1]
    assert TREE.institution(6) == 5
    assert TREE.institution(4) == 3
    assert TREE.with_departments(3) == [3, 4]


def test_department_head_is_the_nearest_branch_manager_upwards() -> None:
    managers = {3: [30], 1: [10]}
    assert department_heads(TREE, managers, 6) == [30]  # QZ has none: FJ's manager
    assert department_heads(TREE, {**managers, 5: [52, 51]}, 6) == [51, 52]
    assert department_heads(TREE, managers, 7) == [10]
    assert department_heads(TREE, {}, 6) == []


def test_superior_officer_is_in_the_parent_institution_or_its_departments() -> None:
    officers = {2: [20], 4: [40], 5: [50]}
    assert superior_officers(TREE, officers, 5) == [40]  # QZ -> FJ's consumer-protection department
    assert superior_officers(TREE, officers, 6) == [40]  # a QZ department belongs to QZ
    assert superior_officers(TREE, officers, 3) == [20]  # FJ -> HQ-CP
    assert superior_officers(TREE, officers, 4) == [20]  # FJ-CP staff belong to FJ
    assert superior_officers(TREE, officers, 1) == [20]  # head office has no superior: its own officers
    assert superior_officers(TREE, {2: [20]}, 5) == [20]  # FJ has none: climb to HQ


def test_unassigned_items_go_to_their_institutions_officers() -> None:
    officers = {2: [20], 4: [40], 5: [50]}
    assert institution_officers(TREE, officers, 5) == [50]
    assert institution_officers(TREE, {2: [20], 4: [40]}, 6) == [40]


def test_default_channels_and_preferences() -> None:
    assert channels_for(Kind.REMINDER) == frozenset()
    assert channels_for(Kind.ESCALATION) == {Channel.EMAIL, Channel.SMS}
    assert channels_for(Kind.ESCALATION_SEVERE) == {Channel.EMAIL, Channel.SMS}
    assert Channel.EMAIL in channels_for(Kind.SUPERVISION)
    assert channels_for("escalation", {"escalation": ["email"]}) == {Channel.EMAIL}
    assert channels_for("reminder", {"reminder": ["sms", "inbox"]}) == {Channel.SMS}
    assert channels_for("reminder", {"escalation": []}) == frozenset()


def test_retry_backoff_doubles_and_gives_up() -> None:
    base = timedelta(minutes=1)
    assert [retry_delay(n, base) for n in (1, 2, 3, 4)] == [base, 2 * base, 4 * base, 8 * base]
    assert retry_delay(40, base) == BACKOFF_CAP
    assert after_failure(1, 3, base, permanent=False) == (DeliveryStatus.FAILED, base)
    assert after_failure(2, 3, base, permanent=False) == (DeliveryStatus.FAILED, 2 * base)
    assert after_failure(3, 3, base, permanent=False) == (DeliveryStatus.DEAD, None)
    assert after_failure(1, 3, base, permanent=True) == (DeliveryStatus.DEAD, None)
    with pytest.raises(ValueError):
        retry_delay(0, base)


def test_every_kind_has_a_chinese_template() -> None:
    ctx = {
        "subject": "投诉 TS1",
        "deadline_name": "监管处理时限",
        "due": "2026-03-17 23:59",
        "owner": "张三",
        "owner_org": "泉州中心支公司",
        "hours_left": 5,
        "overdue_hours": 30,
        "overdue_for": "30 小时",
        "escalate_hours": 24,
        "is_owner": True,
        "sender": "李四",
        "sender_org": "福建分公司",
        "reply_due": "2026-03-04 10:00",
        "text": "请核实",
        "recipient": "王五",
        "replied_at": "2026-03-03 09:00",
        "late": False,
        "reply_text": "已联系",
    }
    for kind in Kind:
        title, body = messages.render(kind, **ctx)
        assert title.startswith("【") and "TS1" in title, kind
        assert body and "\n\n" not in body.strip()[:1]
    assert (
        messages.render(Kind.OVERDUE, **{**ctx, "is_owner": False})[1]
        != messages.render(Kind.OVERDUE, **ctx)[1]
    )
    sms = messages.sms_text("【严重超期】" + "很长的标题" * 40)
    assert sms.startswith("【消保】【严重超期】") and len(sms) <= messages.SMS_MAX


def test_durations_in_messages() -> None:
    from xiaobao.notifications.domain import duration_zh

    assert duration_zh(-5) == "0 小时"
    assert duration_zh(42 * 3600 + 59) == "42 小时"
    assert duration_zh(48 * 3600) == "2 天"
    assert duration_zh(642 * 3600) == "26 天 18 小时"
