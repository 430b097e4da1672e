"""Claim cases through the services on SQLite and PostgreSQL: intake (geocoding, policy flag, event tagging),
the full lifecycle with time stamps, audit and a replayable timeline, denial notice, reopen, authority limits,
contact attempts with retries and the SMS job, rescue requests, catastrophe events and their SLA switch."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import T0
from tests.factories import World
from tests.integration.claims_support import build_claims, report_payload
from xiaobao.bootstrap import Container
from xiaobao.claims import events, policies, queries, services
from xiaobao.claims.domain import Action, Status
from xiaobao.claims.schemas import (
    ActionRequest,
    ContactCreate,
    EventCreate,
    ReportCreate,
    RescueCreate,
    RescueUpdate,
)
from xiaobao.claims.tables import ClaimCase, ClaimEvent, ContactAttempt
from xiaobao.claims.wiring import send_contact_sms
from xiaobao.core.audit import AuditLog
from xiaobao.core.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed


@pytest.fixture
def cw(container: Container, world: World) -> World:
    with container.uow() as uow:
        build_claims(uow.session, world)
        uow.commit()
    return world


def report(container: Container, w: World, user: str = "qz_claims_op", **over: Any) -> ClaimCase:
    with container.uow() as uow:
        c = services.create_report(
            uow.session, w.p(user), ReportCreate(**report_payload(**over)), container.clock.now()
        )
        uow.commit()
        return c


def act(container: Container, w: World, user: str, cid: int, action: str, **kw: Any) -> ClaimCase:
    with container.uow() as uow:
        version = uow.session.get(ClaimCase, cid).version  # type: ignore[union-attr]
    with container.uow() as uow:
        return services.act(
            uow, w.p(user), cid, Action(action), ActionRequest(version=version, **kw), container.clock.now()
        )


def contact(container: Container, w: World, user: str, cid: int, outcome: str) -> ContactAttempt:
    with container.uow() as uow:
        return services.record_contact(
            uow, w.p(user), cid, ContactCreate(outcome=outcome), container.clock.now()
        )


def test_intake_geocodes_routes_to_the_city_and_flags_missing_policy(container: Container, cw: World) -> None:
    c = report(container, cw)
    assert c.report_no.startswith("BA260302")
    assert c.status == Status.REPORTED and c.district_code == "350582" and c.geocode == "text"
    assert c.org.code == "QZ"  # 晋江 is in Quanzhou
    assert c.vehicle_plate == "闽C12345"
    assert c.policy_check == "no_table"  # a plate to look up, but no policy table loaded: flagged
    assert c.fast_track  # motor, damage only, 3,800 yuan
    assert c.contact_due == c.reported_at + timedelta(minutes=5) and not c.event_mode
    # a property report with an address only has nothing to look up
    c2 = report(
        container,
        cw,
        line="property",
        vehicle_plate=None,
        property_address="晋江市安海镇某商铺",
        reporter_phone="13905950002",
    )
    assert c2.policy_check == "not_given" and not c2.fast_track
    # coordinates alone still find the district
    c3 = report(container, cw, place_text="路边", lat=24.90, lon=118.60, reporter_phone="13905950003")
    assert c3.district_code == "350502" and c3.geocode == "latlon"


def test_intake_reports_every_bad_field_at_once(container: Container, cw: World) -> None:
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.create_report(
            uow.session,
            cw.p("qz_claims_op"),
            ReportCreate(
                **report_payload(
                    line="boat",
                    cause="aliens",
                    reporter_phone="1234567",
                    vehicle_plate="ABC",
                    loss_at=(T0 + timedelta(days=1)).isoformat(),
                )
            ),
            T0,
        )
    fields = {p.field for p in e.value.problems}
    assert {"line", "cause", "reporter_phone", "vehicle_plate", "loss_at"} <= fields
    assert all(p.zh and p.en for p in e.value.problems)


def test_policy_lookup_after_import(container: Container, cw: World) -> None:
    csv_text = (
        "保单号,险种,被保险人,车牌号,起保日期,终保日期,保额\n"
        "PDAA2026350500000009,车险,陈志明,闽C12345,2026-01-01,2026-12-31,150000\n"
        "PDAA2026350500000010,船险,张三,,2026-01-01,2026-12-31,\n"
        "PDAA2026350500000011,车险,李四,闽C88888,2026-13-01,2026-12-31,\n"
    )
    with container.uow() as uow:
        rep = policies.import_policies(
            uow.session, cw.p("fj_commander"), "p.csv", csv_text.encode("gb18030"), T0
        )
        uow.commit()
    assert rep.created == 1 and [r.row for r in rep.errors] == [3, 4]
    assert rep.errors[0].problems[0].field == "line"
    found = report(container, cw)  # no number given: found by plate
    assert found.policy_check == "found" and found.policy_id is not None
    missing = report(
        container, cw, policy_no="PDAA0000", vehicle_plate="闽C99999", reporter_phone="13905950005"
    )
    assert missing.policy_check == "not_found" and missing.status == Status.REPORTED


def test_full_lifecycle_is_stamped_audited_and_replayable(
    container: Container, cw: World, clock: Any
) -> None:
    c = report(container, cw, estimated_amount="8000")  # above the fast-track limit
    assert not c.fast_track
    clock.advance(timedelta(minutes=3))
    contact(container, cw, "qz_claims_op", c.id, "reached")
    clock.advance(timedelta(minutes=20))
    act(container, cw, "qz_claims_op", c.id, "collect_info")
    with pytest.raises(InvalidTransition):  # no fast track: survey first
        act(container, cw, "qz_claims_op", c.id, "assess", amount=Decimal("7600"))
    clock.advance(timedelta(hours=3))
    act(container, cw, "qz_claims_op", c.id, "survey", method="remote_video")
    act(container, cw, "qz_claims_op", c.id, "assess", amount=Decimal("7600"))
    act(container, cw, "qz_claims_op", c.id, "prepay", amount=Decimal("2000"))
    act(container, cw, "qz_claims_op", c.id, "settle")
    clock.advance(timedelta(days=1))
    with pytest.raises(ValidationFailed):  # the amount due is what is left after the pre-payment
        act(container, cw, "qz_claims_op", c.id, "pay", amount=Decimal("7600"))
    act(container, cw, "qz_claims_op", c.id, "pay", amount=Decimal("5600"))
    done = act(container, cw, "qz_claims_op", c.id, "close")

    assert done.status == Status.CLOSED and done.close_reason == "paid"
    assert done.assigned_user_id == cw.users["qz_claims_op"].id  # the contact took the case
    assert done.contacted_at == T0 + timedelta(minutes=3)
    assert done.info_collected_at == T0 + timedelta(minutes=23)
    assert done.paid_amount == Decimal("7600") and done.prepaid_amount == Decimal("2000")
    assert done.decision_due is not None and done.payment_due is not None
    for stamp in (
        "contacted_at",
        "info_collected_at",
        "surveyed_at",
        "assessed_at",
        "settled_at",
        "paid_at",
        "closed_at",
    ):
        assert getattr(done, stamp) is not None, stamp

    with container.uow() as uow:
        steps = services.replay_case(uow.session, cw.p("qz_claims_op"), c.id)
        audited = uow.session.scalars(
            select(AuditLog.action).where(AuditLog.entity_type == "claim", AuditLog.entity_id == str(c.id))
        ).all()
        kinds = [e.kind for e, _ in steps]
    assert kinds == [
        "reported",
        "contact_attempt",
        "collect_info",
        "survey",
        "assess",
        "prepay",
        "settle",
        "pay",
        "close",
    ]
    final = steps[-1][1]
    assert final.status == Status.CLOSED and final.paid_amount == Decimal("7600")
    assert final.prepaid_amount == Decimal("2000") and final.assessed_amount == Decimal("7600")
    assert final.stamps["contacted"] == done.contacted_at and final.stamps["paid"] == done.paid_at
    assert [st.status for _, st in steps][:3] == [Status.REPORTED, Status.CONTACTED, Status.INFO_COLLECTED]
    assert {"claim.report", "claim.contact", "claim.collect_info", "claim.pay", "claim.close"} <= set(audited)


def test_fast_track_skips_the_survey(container: Container, cw: World) -> None:
    c = report(container, cw)
    contact(container, cw, "qz_claims_op", c.id, "reached")
    act(container, cw, "qz_claims_op", c.id, "collect_info")
    c = act(container, cw, "qz_claims_op", c.id, "assess", amount=Decimal("3500"))
    assert c.status == Status.ASSESSED and c.surveyed_at is None


def test_authority_limit_refuses_large_assessments(container: Container, cw: World) -> None:
    c = report(
        container, cw, estimated_amount="80000", line="property", property_address="晋江市安海镇某厂房"
    )
    contact(container, cw, "qz_claims_op", c.id, "reached")
    act(container, cw, "qz_claims_op", c.id, "collect_info")
    act(container, cw, "qz_claims_op", c.id, "survey", method="on_site")
    with pytest.raises(Forbidden) as e:
        act(container, cw, "qz_claims_op", c.id, "assess", amount=Decimal("60000"))
    assert "权限" in e.value.zh and "authority" in e.value.en
    assert (
        act(container, cw, "qz_claims_op", c.id, "assess", amount=Decimal("9000")).status == Status.ASSESSED
    )


def test_denial_needs_the_notice_within_three_days_then_close_and_reopen(
    container: Container, cw: World, clock: Any
) -> None:
    c = report(container, cw, reporter_phone="13905950007")
    contact(container, cw, "qz_claims_op", c.id, "reached")
    act(container, cw, "qz_claims_op", c.id, "collect_info")
    with pytest.raises(ValidationFailed):
        act(container, cw, "qz_claims_op", c.id, "deny", reason="短")
    d = act(
        container,
        cw,
        "qz_claims_op",
        c.id,
        "deny",
        reason="出险时车辆已改装为营运车辆，属于保险条款责任免除情形。",
    )
    assert (
        d.status == Status.DENIED
        and d.denial_notice
        and "责任免除" in d.denial_notice
        and "12378" in d.denial_notice
    )
    assert (
        d.denial_notice_due is not None
        and d.denial_notice_due.astimezone().date() >= (T0 + timedelta(days=3)).date()
    )
    with pytest.raises(InvalidTransition):
        act(container, cw, "qz_claims_op", c.id, "close")
    clock.advance(timedelta(days=2))
    act(container, cw, "qz_claims_op", c.id, "notify_denial")
    closed = act(container, cw, "qz_claims_op", c.id, "close")
    assert closed.close_reason == "denied"
    with container.uow() as uow:
        ev = uow.session.scalars(
            select(ClaimEvent).where(ClaimEvent.case_id == c.id, ClaimEvent.kind == "notify_denial")
        ).one()
        assert ev.data == {"on_time": True}
    r = act(container, cw, "qz_claims_op", c.id, "reopen", reason="客户补充提供非营运证明")
    assert r.status == Status.INFO_COLLECTED and r.reopen_count == 1 and r.closed_at is None
    assert r.decision_due is not None and r.decision_due > d.denial_notice_due


def test_cancel_needs_a_reason_and_unreachable_needs_attempts(container: Container, cw: World) -> None:
    c = report(container, cw)
    with pytest.raises(ValidationFailed):
        act(container, cw, "qz_claims_op", c.id, "cancel")
    with pytest.raises(ValidationFailed):
        act(container, cw, "qz_claims_op", c.id, "cancel", reason_code="unreachable_closed")
    x = act(container, cw, "qz_claims_op", c.id, "cancel", reason_code="duplicate", reason="与上一报案重复")
    assert x.status == Status.CANCELLED
    r = act(container, cw, "qz_claims_op", c.id, "reopen", reason="并非重复报案")
    assert r.status == Status.REPORTED  # never reached: back into the contact queue


def test_stale_version_is_refused(container: Container, cw: World) -> None:
    c = report(container, cw)
    with container.uow() as uow, pytest.raises(Conflict):
        services.act(uow, cw.p("qz_claims_op"), c.id, Action.TAKE, ActionRequest(version=c.version + 5), T0)


def test_assigned_case_is_only_worked_by_its_holder_or_a_dispatcher(container: Container, cw: World) -> None:
    c = report(container, cw)
    act(container, cw, "qz_claims_op", c.id, "take")
    with pytest.raises(Forbidden):
        contact(container, cw, "qz_claims_op2", c.id, "reached")
    with pytest.raises(InvalidTransition):
        act(container, cw, "qz_claims_op2", c.id, "take")
    moved = act(container, cw, "fj_commander", c.id, "assign", user_id=cw.users["qz_claims_op2"].id)
    assert moved.assigned_user_id == cw.users["qz_claims_op2"].id
    assert contact(container, cw, "qz_claims_op2", c.id, "reached").outcome == "reached"


def test_contact_retries_sms_and_the_queue(container: Container, cw: World, clock: Any, sms: Any) -> None:
    c = report(container, cw, reporter_phone="13905951111")
    urgent = report(
        container, cw, reporter_phone="13905952222", people_at_risk=2, place_text="泉州市丰泽区东海街道"
    )
    a1 = contact(container, cw, "qz_claims_op", c.id, "no_answer")
    assert a1.next_retry_at == T0 + timedelta(minutes=10) and a1.sms_due
    clock.advance(timedelta(minutes=10))
    a2 = contact(container, cw, "qz_claims_op", c.id, "switched_off")
    assert a2.next_retry_at == clock.now() + timedelta(minutes=30)

    out = send_contact_sms(container, clock.now())
    assert out == {"sent": 2, "skipped": 0}
    texts = [m for m in sms.sent if m.phone == "13905951111"]
    assert len(texts) == 2 and c.report_no in texts[0].text
    assert {m.key for m in texts} == {f"claim-contact-sms:{a1.id}", f"claim-contact-sms:{a2.id}"}
    assert send_contact_sms(container, clock.now()) == {"sent": 0, "skipped": 0}  # exactly once

    with container.uow() as uow:
        q = queries.contact_queue(uow.session, cw.p("qz_claims_op"), clock.now())
        assert [i.case.id for i in q] == [urgent.id, c.id]  # people at risk first
    assert all(i.state.value == "overdue" for i in q)  # 5-minute contact SLA long gone
    clock.advance(timedelta(minutes=31))
    with container.uow() as uow:
        q = queries.contact_queue(uow.session, cw.p("qz_claims_op"), clock.now())
        counts = queries.queue_counts(uow.session, cw.p("qz_claims_op"), clock.now())
        assert next(i for i in q if i.case.id == c.id).retry_due
    assert counts["total"] == 2 and counts["retry_due"] == 1

    # reached: leaves the queue; a pending text for it is dropped, not sent
    a3 = contact(container, cw, "qz_claims_op", c.id, "no_answer")
    contact(container, cw, "qz_claims_op", c.id, "reached")
    assert send_contact_sms(container, clock.now()) == {"sent": 0, "skipped": 1}
    with container.uow() as uow:
        q = queries.contact_queue(uow.session, cw.p("qz_claims_op"), clock.now())
        assert uow.session.get(ContactAttempt, a3.id).sms_sent_at is None  # type: ignore[union-attr]
        assert [i.case.id for i in q] == [urgent.id]
    # closing with a reason is the other way out
    act(
        container,
        cw,
        "qz_claims_op",
        urgent.id,
        "cancel",
        reason_code="withdrawn",
        reason="报案人称已自行脱困并撤案",
    )
    with container.uow() as uow:
        assert queries.contact_queue(uow.session, cw.p("qz_claims_op"), clock.now()) == []


def test_rescue_request_lifecycle(container: Container, cw: World, clock: Any) -> None:
    c = report(container, cw, people_at_risk=3, rescue_needed=True)
    assert c.priority > 100
    with container.uow() as uow:
        r = services.request_rescue(
            uow,
            cw.p("qz_claims_op"),
            c.id,
            RescueCreate(kind="evacuation", vendor="晋江蓝天救援队", eta=T0 + timedelta(minutes=40)),
            T0,
        )
    for status in ("accepted", "en_route"):
        clock.advance(timedelta(minutes=5))
        with container.uow() as uow:
            services.update_rescue(
                uow, cw.p("qz_claims_op"), c.id, r.id, RescueUpdate(status=status), clock.now()
            )
    with container.uow() as uow, pytest.raises(InvalidTransition):
        services.update_rescue(
            uow, cw.p("qz_claims_op"), c.id, r.id, RescueUpdate(status="done"), clock.now()
        )
    clock.advance(timedelta(minutes=25))
    with container.uow() as uow:
        r2 = services.update_rescue(
            uow, cw.p("qz_claims_op"), c.id, r.id, RescueUpdate(status="arrived"), clock.now()
        )
    assert r2.arrived_at == T0 + timedelta(minutes=35)
    with container.uow() as uow:
        ev = uow.session.scalars(
            select(ClaimEvent).where(ClaimEvent.case_id == c.id, ClaimEvent.kind == "rescue_arrived")
        ).one()
        assert ev.data is not None and ev.data["minutes_to_arrive"] == 35
    with container.uow() as uow, pytest.raises(ValidationFailed):
        services.request_rescue(
            uow, cw.p("qz_claims_op"), c.id, RescueCreate(kind="helicopter", vendor="某公司"), T0
        )


def _doksuri(**over: Any) -> EventCreate:
    data: dict[str, Any] = {
        "code": "DOKSURI-2605",
        "name": "台风杜苏芮",
        "peril": "typhoon",
        "regions": ["3505", "3502"],
        "starts_at": (T0 - timedelta(days=1)).isoformat(),
        "contact_minutes": 30,
        "survey_hours": 48,
    }
    data.update(over)
    return EventCreate(**data)


def test_event_declaration_tags_existing_and_new_reports_and_switches_sla(
    container: Container, cw: World
) -> None:
    before = report(container, cw)  # waterlogging in 晋江, before the declaration
    collision = report(container, cw, cause="collision", reporter_phone="13905950011")
    with container.uow() as uow:
        with pytest.raises(Forbidden):
            events.declare(uow, cw.p("qz_claims_op"), _doksuri(), T0)
    with container.uow() as uow:
        e, tagged = events.declare(uow, cw.p("fj_commander"), _doksuri(), T0)
    assert tagged == 1
    with container.uow() as uow:
        b = uow.session.get(ClaimCase, before.id)
        assert b is not None and b.event_id == e.id and b.event_mode
        assert b.contact_due == b.reported_at + timedelta(minutes=30)  # event SLA, not 5 minutes
        assert uow.session.get(ClaimCase, collision.id).event_id is None  # type: ignore[union-attr]
    new = report(container, cw, reporter_phone="13905950012")
    assert new.event_id == e.id and new.event_mode and new.survey_due == new.reported_at + timedelta(hours=48)
    outside = report(container, cw, place_text="福建省福州市鼓楼区五一路", reporter_phone="13905950013")
    assert outside.event_id is None and not outside.event_mode

    from xiaobao.claims.schemas import BulkTag

    with container.uow() as uow:
        res = events.bulk_tag(
            uow, cw.p("fj_commander"), e.id, BulkTag(case_ids=[collision.id, outside.id]), T0
        )
    assert res["tagged"] == 2
    with container.uow() as uow:
        stats = events.event_stats(uow.session, cw.p("fj_commander"), e.id, T0)
        assert stats["total"] == 4 and stats["by_status"] == {"reported": 4}
        n_tag_events = uow.session.scalar(
            select(func.count()).select_from(ClaimEvent).where(ClaimEvent.kind == "event_tagged")
        )
        assert n_tag_events == 4
    with container.uow() as uow:
        events.close_event(uow, cw.p("fj_commander"), e.id, T0)
    late = report(container, cw, reporter_phone="13905950014")
    assert late.event_id is None


def test_event_rejects_bad_regions_and_duplicates(container: Container, cw: World) -> None:
    with container.uow() as uow, pytest.raises(ValidationFailed) as ex:
        events.declare(uow, cw.p("fj_commander"), _doksuri(regions=["fujian"], peril="meteor"), T0)
    assert {p.field for p in ex.value.problems} == {"regions", "peril"}
    with container.uow() as uow:
        events.declare(uow, cw.p("fj_commander"), _doksuri(), T0)
    with container.uow() as uow, pytest.raises(ValidationFailed):
        events.declare(uow, cw.p("fj_commander"), _doksuri(), T0)


def test_factory_staff_see_cases_of_their_regions_and_events(container: Container, cw: World) -> None:
    qz = report(container, cw)
    xm = report(container, cw, place_text="厦门市思明区鹭江道", reporter_phone="13905950021")
    s = cw.p
    with container.uow() as uow:
        ses = uow.session
        # Suzhou factory serves Xiamen (3502) in normal times; it sees Xiamen, not Quanzhou
        assert services.access_claim(ses, s("sz_claims_op"), xm.id).id == xm.id
        with pytest.raises(NotFound):
            services.access_claim(ses, s("sz_claims_op"), qz.id)
        # Foshan staff see neither until their factory is moved onto the event
        for cid in (qz.id, xm.id):
            with pytest.raises(NotFound):
                services.access_claim(ses, s("fs_claims_op"), cid)
        # other branches never
        with pytest.raises(NotFound):
            services.access_claim(ses, s("sh_claims_op"), qz.id)
        with pytest.raises(NotFound):
            services.access_claim(ses, s("xm_claims_op"), qz.id)
    with container.uow() as uow:
        e, _ = events.declare(uow, s("fj_commander"), _doksuri(), T0)
    with container.uow() as uow:
        events.assign_factory(uow, s("fj_commander"), e.id, "FS", T0)
    with container.uow() as uow:
        ses = uow.session
        assert services.access_claim(ses, s("fs_claims_op"), qz.id).id == qz.id
        total, rows = queries.list_cases(ses, s("fs_claims_op"), queries.CaseFilter())
        assert {r.id for r in rows} == {qz.id, xm.id} and total == 2
        total, rows = queries.list_cases(ses, s("sz_claims_op"), queries.CaseFilter())
        assert {r.id for r in rows} == {xm.id}
        total, rows = queries.list_cases(ses, s("sh_claims_op"), queries.CaseFilter())
        assert total == 0
    # a case assigned to someone outside the region is visible to them
    act(container, cw, "fj_commander", qz.id, "assign", user_id=cw.users["sh_claims_op"].id)
    with container.uow() as uow:
        assert services.access_claim(uow.session, s("sh_claims_op"), qz.id).id == qz.id


def test_daily_report_counts_progress_and_money(container: Container, cw: World, clock: Any) -> None:
    from xiaobao.claims import reports

    with container.uow() as uow:
        e, _ = events.declare(uow, cw.p("fj_commander"), _doksuri(), T0)
        eid = e.id
    a = report(container, cw, estimated_amount="4000")
    b = report(
        container,
        cw,
        reporter_phone="13905950031",
        line="property",
        vehicle_plate=None,
        property_address="晋江某店",
        estimated_amount="20000",
    )
    contact(container, cw, "qz_claims_op", a.id, "reached")
    act(container, cw, "qz_claims_op", a.id, "collect_info")
    act(container, cw, "qz_claims_op", a.id, "assess", amount=Decimal("3600"))
    act(container, cw, "qz_claims_op", a.id, "prepay", amount=Decimal("1000"))
    clock.advance(timedelta(days=1))
    act(container, cw, "qz_claims_op", a.id, "settle")
    act(container, cw, "qz_claims_op", a.id, "pay", amount=Decimal("2600"))
    act(container, cw, "qz_claims_op", a.id, "close")
    with container.uow() as uow:
        rows = reports.daily_rows(uow.session, cw.p("fj_commander"), eid, clock.now())
        data = reports.workbook("台风杜苏芮", rows)
    day1, day2 = rows[-2], rows[-1]
    assert (day1.reported, day1.reported_cum, day1.contacted_cum) == (2, 2, 1)
    assert day1.prepaid_amount_cum == Decimal("1000") and day1.paid_amount_cum == 0
    assert day1.estimated_cum == Decimal("23600")  # assessed amount where known, else the estimate
    assert day2.paid_amount_cum == Decimal("2600") and day2.paid_cases_cum == 1
    assert day2.paid_ratio == pytest.approx(3600 / 23600)
    assert day2.motor_cum == 1 and day2.motor_closed_rate == 1.0 and b.line == "property"
    from io import BytesIO

    from openpyxl import load_workbook

    ws = load_workbook(BytesIO(data)).active
    assert ws is not None and ws["A1"].value == "台风杜苏芮" and ws["C2"].value == "累计报案"
    assert ws.cell(row=ws.max_row, column=9).value == 2600


def test_dispatch_engine_assigns_waiting_work_through_the_services(container: Container, cw: World) -> None:
    from xiaobao.claims import dispatching, staff
    from xiaobao.claims.schemas import StaffUpsert

    with container.uow() as uow:
        staff.upsert_staff(
            uow,
            cw.p("fj_commander"),
            StaffUpsert(
                username="qz_surveyor",
                kind="surveyor",
                skills=["motor", "property"],
                authority_limit=Decimal("50000"),
                home_district="350582",
                shifts=[("07:00", "19:00")],
                capacity=10,
                online=True,
            ),
            T0,
        )
    qz = report(container, cw)  # 晋江, unassigned: first contact
    xm = report(container, cw, place_text="厦门市思明区鹭江道", reporter_phone="13905950041")
    big = report(
        container, cw, estimated_amount="8000", reporter_phone="13905950042"
    )  # not on the fast track
    contact(container, cw, "qz_claims_op", big.id, "reached")
    act(container, cw, "qz_claims_op", big.id, "collect_info")

    with pytest.raises(Forbidden):
        dispatching.run(container, cw.p("qz_claims_op"), T0)
    # from an event's command page only that event's waiting work is dispatched
    with container.uow() as uow:
        ev, tagged = events.declare(
            uow,
            cw.p("fj_commander"),
            EventCreate(
                code="QZ-FLOOD",
                name="泉州暴雨",
                peril="typhoon",
                regions=["3505"],
                starts_at=T0 - timedelta(hours=2),
                ends_at=T0 + timedelta(days=5),
            ),
            T0,
        )
        event_id = ev.id
    assert tagged == 2  # the two Quanzhou reports, not the Xiamen one
    only_event = dispatching.run(container, cw.p("fj_commander"), T0, event_id=event_id)
    assert only_event.items == 2 and {a["case_id"] for a in only_event.assigned} == {qz.id, big.id}
    res = dispatching.run(container, cw.p("fj_commander"), T0)
    got = {a["case_id"]: a["user_id"] for a in only_event.assigned + res.assigned}
    # the second run offers the held work too (items == 3) but keeps it with its online holders
    assert res.items == 3 and len(res.assigned) == 1 and not res.skipped and not only_event.skipped
    assert got == {
        qz.id: cw.users["qz_claims_op"].id,  # local operator of Quanzhou
        xm.id: cw.users["sz_claims_op"].id,  # the Suzhou factory serves Xiamen
        big.id: cw.users["qz_surveyor"].id,  # on-site survey: the local surveyor
    }
    with container.uow() as uow:
        ev = uow.session.scalars(
            select(ClaimEvent).where(ClaimEvent.case_id == big.id, ClaimEvent.kind == "assign")
        ).one()
        assert ev.text is not None and "dispatch" in ev.text
    # nothing left to dispatch: a second run assigns nothing
    assert dispatching.run(container, cw.p("fj_commander"), T0).assigned == []
    # the Quanzhou operator signs off: the first contact they held is released and goes to someone online
    with container.uow() as uow:
        staff.upsert_staff(
            uow,
            cw.p("fj_commander"),
            StaffUpsert(
                username="qz_claims_op2",
                kind="operator",
                skills=["motor", "property"],
                authority_limit=Decimal("10000"),
                allowed_regions=["3505"],
                shifts=[("07:00", "19:00")],
                capacity=10,
                online=True,
            ),
            T0,
        )
    with container.uow() as uow:
        staff.set_online(uow, cw.p("qz_claims_op"), False, T0)
    again = dispatching.run(container, cw.p("fj_commander"), T0)
    moved = {a["case_id"]: a["user_id"] for a in again.assigned}
    assert set(moved) == {qz.id}  # the others' holders are still online
    assert moved[qz.id] == cw.users["qz_claims_op2"].id
    with container.uow() as uow:
        c = uow.session.get(ClaimCase, qz.id)
        assert c is not None and c.assigned_user_id == moved[qz.id]
        ev = uow.session.scalars(
            select(ClaimEvent)
            .where(ClaimEvent.case_id == qz.id, ClaimEvent.kind == "assign")
            .order_by(ClaimEvent.id)
        ).all()[-1]
        assert ev.text is not None and "offline" in ev.text
