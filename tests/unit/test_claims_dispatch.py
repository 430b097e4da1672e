"""Dispatch engine: eligibility rules, queue order, batch assignment (optimal on small instances), pins,
reassignment when someone goes offline."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest

from xiaobao.claims.dispatch import (
    CONTACT,
    DESK_KINDS,
    INFEASIBLE,
    KINDS,
    ONSITE_SURVEY,
    REMOTE_ASSESSMENT,
    DispatchConfig,
    Shift,
    StaffMember,
    WorkItem,
    dispatch,
    eligible,
    ineligibility,
    instance_matrix,
    queue_heads,
    queue_order,
    reassign_offline,
    window_for,
)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
QZ = (24.874, 118.676)
LINES = frozenset({"motor", "property", "agriculture"})


def item(i, kind=CONTACT, due=30.0, **kw) -> WorkItem:
    kw.setdefault("skill", "motor")
    kw.setdefault("region", "泉州市")
    kw.setdefault("lat", QZ[0])
    kw.setdefault("lon", QZ[1])
    created = kw.pop("created", 0.0)
    return WorkItem(
        id=i,
        kind=kind,
        deadline=NOW + timedelta(minutes=due),
        created_at=NOW + timedelta(minutes=created),
        **kw,
    )


def person(sid, kinds=DESK_KINDS, **kw) -> StaffMember:
    kw.setdefault("skills", LINES)
    kw.setdefault("authority_limit", 50_000.0)
    kw.setdefault("regions", frozenset({"泉州市"}))
    kw.setdefault("lat", QZ[0])
    kw.setdefault("lon", QZ[1])
    return StaffMember(id=sid, kinds=frozenset(kinds), **kw)


def by_item(assignments):
    return {a.item_id: a.staff_id for a in assignments}


# ---------------------------------------------------------------- queue order


def test_queue_order_rescue_then_special_groups_then_deadline():
    items = [
        item(1, due=10),
        item(2, due=300, special_group=True),
        item(3, due=900, rescue=True),
        item(4, due=5),
        item(5, due=5, created=-3),
        item(6, due=600, rescue=True, special_group=True),
    ]
    assert [i.id for i in queue_order(items)] == [6, 3, 2, 5, 4, 1]
    assert [i.priority_class for i in queue_order(items)] == [0, 0, 1, 2, 2, 2]


def test_work_item_rejects_unknown_kind_and_naive_times():
    with pytest.raises(ValueError, match="kind"):
        item(1, kind="phone_call")
    with pytest.raises(ValueError, match="timezone"):
        WorkItem(1, CONTACT, datetime(2026, 3, 2), NOW, "motor", "泉州市")


# ---------------------------------------------------------------- eligibility


def test_eligibility_reasons():
    desk = person("d")
    assert ineligibility(item(1), desk, NOW) is None
    assert ineligibility(item(1), person("x", online=False), NOW) == "offline"
    assert ineligibility(item(1, kind=ONSITE_SURVEY), desk, NOW) == "kind"
    assert (
        ineligibility(item(1, skill="agriculture"), person("m", skills=frozenset({"motor"})), NOW) == "skill"
    )
    big = item(1, kind=REMOTE_ASSESSMENT, amount=80_000)
    assert ineligibility(big, desk, NOW) == "authority"
    # contact decides nothing about money: no authority needed
    assert eligible(item(1, kind=CONTACT, amount=80_000), desk, NOW)
    assert ineligibility(item(1, region="福州市"), desk, NOW) == "region"
    remote = person("f", kinds=set(KINDS), remote=True, regions=frozenset({"泉州市", "福州市"}))
    assert ineligibility(item(1, kind=ONSITE_SURVEY), remote, NOW) == "onsite_remote"
    assert eligible(item(1, kind=REMOTE_ASSESSMENT, region="福州市"), remote, NOW)


def test_numeric_region_codes_cover_their_sub_codes():
    fujian = person("p", regions=frozenset({"35"}))
    assert eligible(item(1, region="3505"), fujian, NOW)
    assert eligible(item(1, region="350503"), fujian, NOW)
    assert ineligibility(item(1, region="4406"), fujian, NOW) == "region"
    # names are matched exactly, never by prefix
    assert ineligibility(item(1, region="泉州市丰泽区"), person("q"), NOW) == "region"


def test_shifts_in_local_time_including_overnight():
    day = person("day", shifts=(Shift(time(8), time(20)),))
    night = person("night", shifts=(Shift.parse("20:00-08:00"),))
    at_10 = NOW  # 10:00 Shanghai
    at_23 = NOW + timedelta(hours=13)
    assert eligible(item(1), day, at_10) and ineligibility(item(1), night, at_10) == "off_shift"
    assert eligible(item(1), night, at_23) and ineligibility(item(1), day, at_23) == "off_shift"
    assert Shift.parse("16:00-24:00").covers(time(23, 59))
    with pytest.raises(ValueError):
        Shift.parse("morning")


# ---------------------------------------------------------------- dispatch rules


def test_rescue_then_special_group_win_scarce_slots():
    items = [
        item(1, due=5),
        item(2, due=25, special_group=True),
        item(3, due=29, rescue=True),
        item(4, due=6),
    ]
    out = dispatch(items, [person("a", capacity=2)], NOW)
    assert sorted(by_item(out)) == [2, 3]
    assert all(a.staff_id == "a" for a in out)
    assert next(a for a in out if a.item_id == 3).reason.startswith("rescue")


def test_earliest_deadline_first_among_equals():
    items = [item(i, due=d) for i, d in [(1, 28), (2, 9), (3, 17), (4, 12)]]
    out = dispatch(items, [person("a"), person("b")], NOW)
    assert sorted(by_item(out)) == [2, 4]


def test_capacity_and_load_limit_the_number_of_assignments():
    items = [item(i, due=30 + i) for i in range(10)]
    staff = [person("a", capacity=3, load=1), person("b", capacity=2, load=2), person("c", capacity=1)]
    out = dispatch(items, staff, NOW)
    count = {s: sum(1 for a in out if a.staff_id == s) for s in "abc"}
    assert count == {"a": 2, "b": 0, "c": 1}
    assert sorted(a.slot for a in out if a.staff_id == "a") == [0, 1]


def test_authority_sends_large_claims_to_the_senior_surveyor():
    staff = [
        person("junior", kinds={ONSITE_SURVEY}, authority_limit=200_000),
        person("senior", kinds={ONSITE_SURVEY}, authority_limit=math.inf),
    ]
    items = [item(1, ONSITE_SURVEY, due=600, amount=500_000), item(2, ONSITE_SURVEY, due=60, amount=3_000)]
    assert by_item(dispatch(items, staff, NOW)) == {1: "senior", 2: "junior"}
    # alone, the junior surveyor cannot take the large claim at all
    assert dispatch([items[0]], [staff[0]], NOW) == []


def test_regions_are_respected_and_onsite_stays_local():
    staff = [
        person("qz-desk"),
        person("fz-desk", regions=frozenset({"福州市"})),
        person("foshan", remote=True, regions=frozenset({"泉州市", "福州市"}), capacity=5),
        person("qz-surveyor", kinds={ONSITE_SURVEY}),
    ]
    items = [item(i, CONTACT, due=30, region="福州市") for i in range(1, 4)]
    items += [item(i, ONSITE_SURVEY, due=600, region="福州市") for i in range(4, 6)]
    out = dispatch(items, staff, NOW)
    got = by_item(out)
    assert set(got) == {1, 2, 3}  # no local surveyor in Fuzhou: its on-site surveys wait
    assert set(got.values()) <= {"fz-desk", "foshan"}


def test_local_staff_preferred_remote_staff_take_the_overflow():
    staff = [person("local"), person("remote", remote=True)]
    assert by_item(dispatch([item(1)], staff, NOW)) == {1: "local"}
    assert set(by_item(dispatch([item(1), item(2, due=31)], staff, NOW)).values()) == {"local", "remote"}


def test_nearest_surveyor_goes_on_site():
    near = person("near", kinds={ONSITE_SURVEY}, lat=QZ[0] + 0.01, lon=QZ[1])
    far = person("far", kinds={ONSITE_SURVEY}, lat=QZ[0] + 0.3, lon=QZ[1])
    out = dispatch([item(1, ONSITE_SURVEY, due=120)], [far, near], NOW)
    assert by_item(out) == {1: "near"}
    assert "travel 2 min" in out[0].reason


def test_offline_and_off_shift_staff_get_nothing():
    staff = [person("off", online=False), person("night", shifts=(Shift.parse("20:00-08:00"),))]
    assert dispatch([item(1)], staff, NOW) == []


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        dispatch([item(1)], [person("a")], datetime(2026, 3, 2, 10))


# ---------------------------------------------------------------- manual override


def test_pin_is_followed_even_beyond_capacity():
    staff = [person("a", capacity=1, load=1), person("b")]
    out = dispatch([item(1, pinned_staff_id="a"), item(2)], staff, NOW)
    assert by_item(out) == {1: "a", 2: "b"}
    assert "pinned" in next(a for a in out if a.item_id == 1).reason


def test_pin_against_the_rules_is_ignored_with_the_reason():
    staff = [person("qz"), person("fz", regions=frozenset({"福州市"}))]
    out = dispatch([item(1, pinned_staff_id="fz"), item(2, pinned_staff_id="nobody")], staff, NOW)
    got = {a.item_id: a for a in out}
    assert got[1].staff_id == "qz" and "pin to fz ignored: region" in got[1].reason
    assert 2 not in got or "unknown staff" in got[2].reason


def test_pin_uses_up_a_slot_before_the_batch():
    out = dispatch([item(1, pinned_staff_id="a"), item(2), item(3)], [person("a", capacity=2)], NOW)
    assert len(out) == 2 and {a.slot for a in out} == {0, 1}


# ---------------------------------------------------------------- reassignment


def test_reassign_offline_releases_and_redispatches():
    staff = [
        person("gone", online=False),
        person("here", capacity=3, load=1),
        person("night", shifts=(Shift.parse("20:00-08:00"),)),
    ]
    items = [item(1), item(2, pinned_staff_id="gone"), item(3), item(4)]
    res = reassign_offline({1: "gone", 2: "gone", 3: "here", 4: "night"}, items, staff, NOW)
    assert sorted(res.released) == [1, 2, 4]
    got = {a.item_id: a for a in res.assignments}
    assert set(got) == {1, 2}  # "here" has two free slots; item 3 stays with them
    assert all(a.staff_id == "here" for a in got.values())
    assert "reassigned from gone: offline" in got[1].reason
    assert "pin" not in got[2].reason  # the pin to the absent person was dropped, not reported as ignored


# ---------------------------------------------------------------- optimality


def _random_instance(rng: random.Random, n_items: int, n_staff: int):
    regions = ["泉州市", "厦门市"]
    items = []
    for i in range(n_items):
        kind = rng.choice(KINDS)
        items.append(
            item(
                i,
                kind,
                due=rng.uniform(-30, 600),
                region=rng.choice(regions),
                skill=rng.choice(["motor", "property"]),
                amount=rng.choice([2_000, 30_000, 120_000]),
                lat=QZ[0] + rng.uniform(-0.2, 0.2),
                lon=QZ[1] + rng.uniform(-0.2, 0.2),
                rescue=rng.random() < 0.15,
                special_group=rng.random() < 0.2,
                created=-rng.uniform(0, 60),
            )
        )
    staff = []
    for j in range(n_staff):
        remote = rng.random() < 0.3
        staff.append(
            person(
                f"s{j}",
                kinds=set(rng.sample(KINDS, rng.randint(1, 3))),
                skills=frozenset(rng.sample(["motor", "property"], rng.randint(1, 2))),
                authority_limit=rng.choice([50_000, 200_000, math.inf]),
                regions=frozenset(regions if remote else [rng.choice(regions)]),
                remote=remote,
                capacity=rng.randint(1, 2),
                load=rng.randint(0, 1),
                lat=QZ[0] + rng.uniform(-0.2, 0.2),
                lon=QZ[1] + rng.uniform(-0.2, 0.2),
            )
        )
    return items, staff


def _objective(matrix, rows, labels, assignments, k):
    col = {lab: c for c, lab in enumerate(labels)}
    total = sum(matrix[rows[a.item_id], col[(a.staff_id, a.slot)]] for a in assignments)
    return total + INFEASIBLE * (k - len(assignments))


@pytest.mark.parametrize("seed", range(25))
def test_batch_is_optimal_against_brute_force(seed):
    rng = random.Random(seed)
    items, staff = _random_instance(rng, rng.randint(2, 7), rng.randint(1, 4))
    matrix, labels = instance_matrix(items, staff, NOW)
    n, m = matrix.shape
    if m == 0:
        assert dispatch(items, staff, NOW) == []
        return
    k = min(n, m)
    # every way to give k distinct items to k distinct slots (the same forced-k semantics as the solver)
    best = min(
        sum(matrix[r, c] for r, c in zip(rows, cols, strict=True))
        for cols in itertools.combinations(range(m), k)
        for rows in itertools.permutations(range(n), k)
    )
    out = dispatch(items, staff, NOW)
    rows = {it.id: r for r, it in enumerate(items)}
    assert _objective(matrix, rows, labels, out, k) == pytest.approx(best, rel=1e-9, abs=1e-6)
    for a in out:
        it = next(i for i in items if i.id == a.item_id)
        st = next(s for s in staff if s.id == a.staff_id)
        assert eligible(it, st, NOW)


def test_queue_heads_give_the_same_answer_as_the_whole_backlog_for_generalists():
    rng = random.Random(7)
    items, staff = _random_instance(rng, 400, 12)
    staff = [replace(s, skills=LINES, authority_limit=math.inf) for s in staff]
    whole = dispatch(items, staff, NOW)
    heads = queue_heads(items, window_for(staff))
    assert len(heads) < len(items)
    assert sorted((a.item_id, a.staff_id, a.slot) for a in dispatch(heads, staff, NOW)) == sorted(
        (a.item_id, a.staff_id, a.slot) for a in whole
    )


def test_instance_matrix_marks_ineligible_pairs():
    staff = [person("desk"), person("surveyor", kinds={ONSITE_SURVEY}, capacity=2)]
    items = [item(1), item(2, ONSITE_SURVEY, due=120)]
    matrix, labels = instance_matrix(items, staff, NOW)
    assert labels == [("desk", 0), ("surveyor", 0), ("surveyor", 1)]
    assert matrix[0, 0] < INFEASIBLE and matrix[0, 1] == INFEASIBLE
    assert matrix[1, 0] == INFEASIBLE and matrix[1, 1] < matrix[1, 2] < INFEASIBLE
    assert np.isfinite(matrix).all()


def test_config_weights_change_the_choice():
    """A local person 30 minutes behind: the remote agent takes the call, unless remote work is made prohibitive."""
    staff = [person("local", busy_minutes=30.0, capacity=2, load=1), person("remote", remote=True)]
    assert by_item(dispatch([item(1)], staff, NOW)) == {1: "remote"}
    assert by_item(dispatch([item(1)], staff, NOW, DispatchConfig(remote_penalty=10_000))) == {1: "local"}


def test_specialists_find_their_work_beyond_the_window():
    """Forty motor contacts ahead of one property contact: the property-only agent still gets it."""
    items = [item(i, due=10 + i * 0.1) for i in range(40)] + [item(99, due=60, skill="property")]
    staff = [person("motor", skills=frozenset({"motor"})), person("property", skills=frozenset({"property"}))]
    cfg = DispatchConfig(window_min=4, window_factor=1.0)
    assert by_item(dispatch(items, staff, NOW, cfg)) == {0: "motor", 99: "property"}
