"""Reminders, escalation, deliveries, preferences, the inbox and 督办 — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.factories import World, complaint_payload, login
from xiaobao.auth.tables import User
from xiaobao.bootstrap import Container
from xiaobao.complaints import services as complaints
from xiaobao.complaints.domain import Action
from xiaobao.complaints.schemas import ActionRequest, ComplaintCreate
from xiaobao.complaints.tables import Complaint
from xiaobao.core.audit import AuditLog
from xiaobao.core.clock import FakeClock
from xiaobao.core.sms import LoggingSmsGateway
from xiaobao.notifications import delivery, reminders, services, supervision
from xiaobao.notifications.domain import Kind
from xiaobao.notifications.gateways import DeliveryError, Email, MemoryEmailSender
from xiaobao.notifications.tables import Notification, NotificationDelivery, ReminderState, SupervisionNotice
from xiaobao.notifications.tracks import COMPLAINT_CONTACT, COMPLAINT_REGULATORY, SUPERVISION

H = timedelta(hours=1)


# ---------------------------------------------------------------- helpers


def make_complaint(
    container: Container, world: World, handler: str | None = "qz_handler", **over: Any
) -> int:
    ctx = complaints.IntakeContext(
        now=container.clock.now(),
        calendar=container.calendar,
        contact_workdays=container.settings.contact_target_workdays,
    )
    with container.uow() as uow:
        c = complaints.create_complaint(
            uow.session, world.p("qz_officer"), ComplaintCreate(**complaint_payload(**over)), ctx
        )
        uow.commit()
        cid = c.id
    if handler is not None:
        with container.uow() as uow:
            complaints.act(
                uow,
                world.p("qz_officer"),
                cid,
                Action.ACCEPT,
                ActionRequest(version=1, handler_id=world.users[handler].id),
                container.clock.now(),
            )
    return cid


def complaint(container: Container, cid: int) -> Complaint:
    s = container.session_factory()
    try:
        c = s.get(Complaint, cid)
        assert c is not None
        return c
    finally:
        s.close()


def sweep(container: Container, track: reminders.ReminderTrack) -> dict[str, Any]:
    return reminders.sweep(container, track, container.clock.now())


def notes(container: Container, **where: Any) -> list[tuple[str, str, str]]:
    """(username, kind, title) of the notifications, oldest first."""
    with container.uow() as uow:
        stmt = select(User.username, Notification.kind, Notification.title).join(
            User, User.id == Notification.user_id
        )
        for k, v in where.items():
            stmt = stmt.where(getattr(Notification, k) == v)
        return [tuple(r) for r in uow.session.execute(stmt.order_by(Notification.id))]  # type: ignore[misc]


def count(container: Container, model: Any) -> int:
    with container.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def set_contacts(
    container: Container, world: World, *usernames: str, email: bool = True, phone: bool = True
) -> None:
    with container.uow() as uow:
        for i, name in enumerate(usernames):
            u = uow.session.get(User, world.users[name].id)
            assert u is not None
            u.email = f"{name}@example.com" if email else None
            u.phone = f"1390595{i:04d}" if phone else None
        uow.commit()


# ---------------------------------------------------------------- sweeps


def test_sweep_reminds_once_then_escalates_stage_by_stage(
    container: Container, world: World, clock: FakeClock
) -> None:
    cid = make_complaint(container, world)
    due = complaint(container, cid).regulatory_due
    assert due is not None
    no = complaint(container, cid).tracking_no

    clock.set(due - 30 * H)
    assert sweep(container, COMPLAINT_REGULATORY) == {}
    assert notes(container) == []

    clock.set(due - 10 * H)
    first = sweep(container, COMPLAINT_REGULATORY)
    assert first["notifications"] == 1 and first["stage_1"] == 1
    [(user, kind, title)] = notes(container)
    assert (user, kind) == ("qz_handler", "reminder")
    assert no in title and "即将到期" in title
    # a second sweep (or a replay by another worker) creates nothing
    assert sweep(container, COMPLAINT_REGULATORY) == {}
    clock.advance(5 * H)
    assert sweep(container, COMPLAINT_REGULATORY) == {}
    assert len(notes(container)) == 1

    clock.set(due + H)
    sweep(container, COMPLAINT_REGULATORY)
    stage2 = notes(container)[1:]
    # the department head (QZ has no branch manager: FJ's) and the owner
    assert sorted((u, k) for u, k, _ in stage2) == [("fj_manager", "escalation"), ("qz_handler", "overdue")]
    assert sweep(container, COMPLAINT_REGULATORY) == {}

    clock.set(due + 25 * H)
    sweep(container, COMPLAINT_REGULATORY)
    [(user, kind, title)] = notes(container)[3:]
    # the consumer-protection officer of the superior org (FJ's, not QZ's own officer)
    assert (user, kind) == ("fj_officer", "escalation_severe")
    assert "25" in title
    clock.advance(100 * H)
    assert sweep(container, COMPLAINT_REGULATORY) == {}
    assert len(notes(container)) == 4
    with container.uow() as uow:
        state = uow.session.get(ReminderState, ("complaint", cid, "complaint.regulatory"))
        assert state is not None and state.stage == 3 and state.due_at == due


def test_late_first_sweep_sends_all_escalations_but_no_stale_reminder(
    container: Container, world: World, clock: FakeClock
) -> None:
    cid = make_complaint(container, world)
    due = complaint(container, cid).regulatory_due
    assert due is not None
    clock.set(due + 50 * H)
    summary = sweep(container, COMPLAINT_REGULATORY)
    assert summary["stage_3"] == 1
    assert sorted((u, k) for u, k, _ in notes(container)) == [
        ("fj_manager", "escalation"),
        ("fj_officer", "escalation_severe"),
        ("qz_handler", "overdue"),
    ]


def test_unassigned_complaint_reminds_the_orgs_officers(
    container: Container, world: World, clock: FakeClock
) -> None:
    cid = make_complaint(container, world, handler=None)
    clock.set(complaint(container, cid).regulatory_due - 2 * H)  # type: ignore[operator]
    sweep(container, COMPLAINT_REGULATORY)
    [(user, kind, title)] = notes(container)
    assert (user, kind) == ("qz_officer", "reminder")
    assert "未分派" in dict(services_inbox(container, world, "qz_officer"))["body"]


def services_inbox(container: Container, world: World, username: str) -> dict[str, Any]:
    with container.uow() as uow:
        n = services.inbox(uow.session, world.users[username].id)[0]
        return {"title": n.title, "body": n.body, "link": n.link}


def test_only_open_items_are_swept(container: Container, world: World, clock: FakeClock) -> None:
    open_id = make_complaint(container, world)
    closed_id = make_complaint(container, world, phone="13905959999")
    with container.uow() as uow:
        complaints.act(
            uow,
            world.p("qz_handler"),
            closed_id,
            Action.WITHDRAW,
            ActionRequest(version=complaint(container, closed_id).version, reason="投诉人撤回"),
            clock.now(),
        )
    clock.set(complaint(container, open_id).regulatory_due + H)  # type: ignore[operator]
    sweep(container, COMPLAINT_REGULATORY)
    with container.uow() as uow:
        ids = set(uow.session.scalars(select(Notification.entity_id)))
    assert ids == {open_id}


def test_contact_track_stops_once_the_complainant_is_reached(
    container: Container, world: World, clock: FakeClock
) -> None:
    reached = make_complaint(container, world)
    silent = make_complaint(container, world, phone="13905958888")
    with container.uow() as uow:
        complaints.record_contact(uow, world.p("qz_handler"), reached, "phone", "reached", None, clock.now())
    contact_due = complaint(container, silent).contact_due
    clock.set(contact_due + H)
    sweep(container, COMPLAINT_CONTACT)
    with container.uow() as uow:
        rows = uow.session.execute(select(Notification.entity_id, Notification.title)).all()
    assert {r.entity_id for r in rows} == {silent}
    assert all("首次联系时限" in r.title for r in rows)
    # the regulatory track is a separate track with its own stages
    assert sweep(container, COMPLAINT_REGULATORY) == {}


def test_a_new_due_date_earns_new_reminders(container: Container, world: World, clock: FakeClock) -> None:
    cid = make_complaint(container, world)
    due = complaint(container, cid).regulatory_due
    assert due is not None
    clock.set(due - 10 * H)
    sweep(container, COMPLAINT_REGULATORY)
    with container.uow() as uow:
        complaints.act(
            uow,
            world.p("qz_handler"),
            cid,
            Action.EXTEND,
            ActionRequest(version=complaint(container, cid).version, reason="案情复杂，需调取理赔卷宗"),
            clock.now(),
        )
    new_due = complaint(container, cid).regulatory_due
    assert new_due is not None and new_due > due + timedelta(days=10)
    clock.set(due + H)  # the old due moment passes: nothing, the complaint is not overdue any more
    assert sweep(container, COMPLAINT_REGULATORY) == {}
    clock.set(new_due - 5 * H)
    sweep(container, COMPLAINT_REGULATORY)
    kinds = [k for _, k, _ in notes(container)]
    assert kinds == ["reminder", "reminder"]


def test_lead_time_is_configurable_per_track(container: Container, world: World, clock: FakeClock) -> None:
    cid = make_complaint(container, world)
    due = complaint(container, cid).regulatory_due
    assert due is not None
    clock.set(due - 60 * H)
    assert sweep(container, COMPLAINT_REGULATORY) == {}
    container.settings.reminder_lead_hours = {"complaint.regulatory": 72}
    assert sweep(container, COMPLAINT_REGULATORY)["notifications"] == 1


def test_batches_split_the_work_and_replays_create_nothing(
    container: Container, world: World, clock: FakeClock
) -> None:
    ids = [make_complaint(container, world, phone=f"1390595{i:04d}") for i in range(7)]
    container.settings.sweep_batch_size = 3
    clock.set(complaint(container, ids[0]).regulatory_due - H)  # type: ignore[operator]
    summary = sweep(container, COMPLAINT_REGULATORY)
    assert summary["batches"] == 3 and summary["items"] == 7 and summary["notifications"] == 7
    # a crashed worker's replay: the stage row is gone but the notifications exist -> dedupe keys hold
    with container.uow() as uow:
        uow.session.query(ReminderState).delete()
        uow.commit()
    replay = sweep(container, COMPLAINT_REGULATORY)
    assert replay["items"] == 7 and replay.get("notifications", 0) == 0 and replay["duplicates_skipped"] == 7
    assert count(container, Notification) == 7


# ---------------------------------------------------------------- deliveries


class FlakySender(MemoryEmailSender):
    def __init__(self, failures: int, permanent: bool = False) -> None:
        super().__init__()
        self.failures, self.permanent, self.calls = failures, permanent, 0

    def send(self, message: Email, *, at: datetime) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise DeliveryError("SMTP 451 try again later", permanent=self.permanent)
        return super().send(message, at=at)


def _escalate(container: Container, world: World, clock: FakeClock) -> int:
    cid = make_complaint(container, world)
    clock.set(complaint(container, cid).regulatory_due + H)  # type: ignore[operator]
    sweep(container, COMPLAINT_REGULATORY)
    return cid


def test_escalations_go_out_by_email_and_sms_once(
    container: Container, world: World, clock: FakeClock, sms: LoggingSmsGateway
) -> None:
    set_contacts(container, world, "fj_manager", "qz_handler")
    mail = MemoryEmailSender()
    container.email = mail
    _escalate(container, world, clock)
    with container.uow() as uow:
        rows = uow.session.execute(
            select(User.username, NotificationDelivery.channel, NotificationDelivery.status)
            .join(Notification, Notification.id == NotificationDelivery.notification_id)
            .join(User, User.id == Notification.user_id)
            .order_by(User.username, NotificationDelivery.channel)
        ).all()
    # defaults: escalation -> e-mail + SMS; the owner's overdue notice -> e-mail
    assert [tuple(r) for r in rows] == [
        ("fj_manager", "email", "pending"),
        ("fj_manager", "sms", "pending"),
        ("qz_handler", "email", "pending"),
    ]
    assert delivery.deliver_pending(container, clock.now()) == {"sent": 3}
    assert delivery.deliver_pending(container, clock.now()) == {}
    assert sorted(m.message.to for m in mail.sent) == ["fj_manager@example.com", "qz_handler@example.com"]
    body = next(m.message.body for m in mail.sent if m.message.to.startswith("fj"))
    assert "http://127.0.0.1:8000/complaints/" in body
    [text] = [m for m in sms.sent if m.key and m.key.startswith("xiaobao-delivery-")]
    assert text.text.startswith("【消保】【超期升级】")
    with container.uow() as uow:
        ds = list(uow.session.scalars(select(NotificationDelivery)))
        assert all(d.status == "sent" and d.sent_at == clock.now() and d.attempts == 1 for d in ds)
        assert {d.address for d in ds if d.channel == "sms"} == {"139****0000"}


def test_failed_delivery_backs_off_then_dies_visibly(
    container: Container, world: World, clock: FakeClock
) -> None:
    set_contacts(container, world, "fj_manager", "qz_handler", phone=False)
    container.settings.delivery_max_attempts = 3
    container.settings.delivery_backoff_seconds = 60
    container.email = FlakySender(failures=100)
    _escalate(container, world, clock)
    t0 = clock.now()
    out = delivery.deliver_pending(container, t0)
    # two e-mails fail (retry in 60 s); the SMS has no number: given up at once
    assert out == {"failed": 2, "dead": 1}
    with container.uow() as uow:
        sms_row = uow.session.scalar(
            select(NotificationDelivery).where(NotificationDelivery.channel == "sms")
        )
        assert sms_row is not None and sms_row.status == "dead" and "手机号" in (sms_row.last_error or "")
        mails = list(
            uow.session.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == "email"))
        )
        assert {m.next_attempt_at for m in mails} == {t0 + timedelta(seconds=60)}
    assert delivery.deliver_pending(container, t0 + timedelta(seconds=59)) == {}
    clock.set(t0 + timedelta(seconds=60))
    assert delivery.deliver_pending(container, clock.now()) == {"failed": 2}
    with container.uow() as uow:
        mails = list(
            uow.session.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == "email"))
        )
        assert {m.next_attempt_at for m in mails} == {t0 + timedelta(seconds=180)}  # doubled: 120 s
        assert {m.attempts for m in mails} == {2}
    clock.set(t0 + timedelta(seconds=180))
    assert delivery.deliver_pending(container, clock.now()) == {"dead": 2}
    clock.advance(timedelta(days=5))
    assert delivery.deliver_pending(container, clock.now()) == {}
    with container.uow() as uow:
        problems = delivery.problem_deliveries(uow.session)
        assert len(problems) == 3 and {d.status for d, _, _ in problems} == {"dead"}
        assert services.failed_deliveries(uow.session, world.users["fj_manager"].id) == 2
        assert delivery.status_counts(uow.session) == {"pending": 0, "sent": 0, "failed": 0, "dead": 3}
        # an admin sends one again; it goes out once the gateway works
        dead_mail = next(d for d, _, _ in problems if d.channel == "email")
        assert delivery.retry_dead(uow.session, dead_mail.id, clock.now()) is not None
        uow.commit()
    container.email = MemoryEmailSender()
    assert delivery.deliver_pending(container, clock.now()) == {"sent": 1}


def test_permanent_failure_is_not_retried(container: Container, world: World, clock: FakeClock) -> None:
    set_contacts(container, world, "fj_manager", "qz_handler")
    container.email = FlakySender(failures=1, permanent=True)
    container.settings.delivery_max_attempts = 5
    _escalate(container, world, clock)
    out = delivery.deliver_pending(container, clock.now())
    assert out == {"dead": 1, "sent": 2}


# ---------------------------------------------------------------- preferences, inbox, pages


def test_preferences_choose_the_channels(container: Container, world: World, client: TestClient) -> None:
    login(client, "fj_manager")
    r = client.get("/api/v1/notifications/preferences")
    assert r.status_code == 200 and r.json()["escalation"] == ["email", "sms"] and r.json()["reminder"] == []
    r = client.put("/api/v1/notifications/preferences", json={"escalation": ["email"], "reminder": ["sms"]})
    assert r.status_code == 200, r.text
    assert r.json()["escalation"] == ["email"] and r.json()["reminder"] == ["sms"]
    r = client.put("/api/v1/notifications/preferences", json={"nonsense": ["email"], "reminder": ["fax"]})
    assert r.status_code == 422
    assert {p["field"] for p in r.json()["problems"]} == {"kind", "channel"}
    # the page form saves the same table (unchecked boxes switch a channel off)
    r = client.post(
        "/inbox/preferences", data={"pref": ["escalation:sms", "overdue:email"]}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get("/inbox/preferences")
    assert page.status_code == 200 and 'value="escalation:sms" checked' in page.text
    assert 'value="escalation:email" checked' not in page.text
    assert "未登记电子邮箱" in page.text
    with container.uow() as uow:
        prefs = services.preferences(uow.session, world.users["fj_manager"].id)
        assert {c.value for c in prefs[Kind.ESCALATION]} == {"sms"}
        assert prefs[Kind.REMINDER] == frozenset()


def test_preferences_steer_new_deliveries(container: Container, world: World, clock: FakeClock) -> None:
    with container.uow() as uow:
        services.save_preferences(uow.session, world.users["fj_manager"].id, {"escalation": ["sms"]})
        services.save_preferences(uow.session, world.users["qz_handler"].id, {"overdue": []})
        uow.commit()
    _escalate(container, world, clock)
    with container.uow() as uow:
        channels = sorted(uow.session.scalars(select(NotificationDelivery.channel)))
    assert channels == ["sms"]


def test_inbox_api(container: Container, world: World, client: TestClient, clock: FakeClock) -> None:
    cid = _escalate(container, world, clock)
    login(client, "qz_handler")
    r = client.get("/api/v1/notifications")
    assert r.status_code == 200
    body = r.json()
    assert body["unread"] == 1 and len(body["items"]) == 1
    item = body["items"][0]
    assert item["kind"] == "overdue" and item["link"] == f"/complaints/{cid}" and item["read_at"] is None
    assert item["deliveries"][0]["channel"] == "email" and item["deliveries"][0]["status"] == "pending"
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 1}
    r = client.post(f"/api/v1/notifications/{item['id']}/read")
    assert r.status_code == 200 and r.json()["read_at"] is not None
    assert client.get("/api/v1/notifications?unread=true").json()["items"] == []
    # someone else's notification does not exist for me
    with container.uow() as uow:
        other = uow.session.scalar(
            select(Notification.id).where(Notification.user_id == world.users["fj_manager"].id)
        )
    assert client.post(f"/api/v1/notifications/{other}/read").status_code == 404
    login(client, "fj_manager")
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 1}
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 0}


def test_inbox_pages(container: Container, world: World, client: TestClient, clock: FakeClock) -> None:
    cid = _escalate(container, world, clock)
    login(client, "fj_manager")
    badge = client.get("/inbox/badge")
    assert badge.status_code == 200 and "收件箱" in badge.text and ">1</span>" in badge.text
    page = client.get("/inbox")
    assert page.status_code == 200
    assert "超期升级" in page.text and "标为已读" in page.text and "全部标为已读" in page.text
    # the top-bar link on every page loads the badge
    assert 'href="/inbox" class="inbox-link" hx-get="/inbox/badge"' in client.get("/inbox/preferences").text
    with container.uow() as uow:
        nid = uow.session.scalar(
            select(Notification.id).where(Notification.user_id == world.users["fj_manager"].id)
        )
    # htmx "mark read" returns the row, and tells the badge to refresh
    r = client.post(f"/inbox/{nid}/read", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.headers["HX-Trigger"] == "inbox-changed" and "已读" in r.text
    assert ">1</span>" not in client.get("/inbox/badge").text
    r = client.get(f"/inbox/{nid}/open", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/complaints/{cid}"
    assert client.get("/inbox?show=unread").text.count('class="inbox-item') == 0
    r = client.post("/inbox/read-all", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/inbox?done=read_all"
    # signed out: the badge is a plain link and stops htmx polling (286), never a login page
    client.cookies.clear()
    r = client.get("/inbox/badge")
    assert r.status_code == 286 and "登录" not in r.text
    assert client.get("/inbox", follow_redirects=False, headers={"accept": "text/html"}).status_code == 303


def test_inbox_shows_given_up_deliveries(
    container: Container, world: World, client: TestClient, clock: FakeClock
) -> None:
    _escalate(container, world, clock)  # the world's users have no e-mail address and no phone
    delivery.deliver_pending(container, clock.now())
    login(client, "fj_manager")
    page = client.get("/inbox")
    assert "未送达" in page.text and "发送失败，已放弃" in page.text


# ---------------------------------------------------------------- 督办


def _send(client: TestClient, cid: int, recipient: int, **over: Any) -> Any:
    return client.post(
        "/api/v1/supervision",
        json={
            "entity_type": "complaint",
            "entity_id": cid,
            "recipient_id": recipient,
            "text": "请于今日内联系投诉人并报告进展",
            **over,
        },
    )


def test_supervision_needs_a_reply(
    container: Container, world: World, client: TestClient, clock: FakeClock
) -> None:
    cid = make_complaint(container, world)
    handler = world.users["qz_handler"].id
    login(client, "qz_handler")
    assert _send(client, cid, world.users["qz_handler2"].id).status_code == 403  # handlers do not send 督办
    login(client, "fj_officer")
    bad = _send(client, cid, world.users["sh_handler"].id)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "recipient_id"
    blind = _send(client, cid, world.users["xm_handler"].id)  # in scope, but cannot see a QZ complaint
    assert blind.status_code == 422 and "无权查看" in blind.json()["message_zh"]
    past = _send(client, cid, handler, reply_due=(clock.now() - H).isoformat())
    assert past.status_code == 422 and past.json()["problems"][0]["field"] == "reply_due"
    assert _send(client, 999999, handler).status_code == 404
    login(client, "hq_officer")
    auditor = _send(client, cid, world.users["hq_auditor"].id)  # can see it, but audits: does not act
    assert auditor.status_code == 422 and "业务人员" in auditor.json()["message_zh"]
    login(client, "fj_officer")
    r = _send(client, cid, handler)
    assert r.status_code == 201, r.text
    notice = r.json()
    assert notice["status"] == "open" and notice["entity_label"].startswith("投诉 ")
    assert notice["reply_due"].startswith((clock.now() + timedelta(hours=48)).isoformat()[:16])
    [(user, kind, title)] = notes(container)
    assert (user, kind) == ("qz_handler", "supervision") and "fj_officer" in title

    # the recipient replies in the app (page form); the sender is told
    login(client, "qz_handler")
    page = client.get(f"/inbox/supervision/{notice['id']}")
    assert page.status_code == 200 and "回复督办" in page.text
    empty = client.post(f"/inbox/supervision/{notice['id']}/reply", data={"text": "  "})
    assert empty.status_code == 422 and "请填写回复内容" in empty.text
    r = client.post(
        f"/inbox/supervision/{notice['id']}/reply",
        data={"text": "已联系投诉人，约定明日上门定损"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # answering is reading: the 督办 notice leaves the unread count
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 0}
    again = client.post(f"/api/v1/supervision/{notice['id']}/reply", json={"text": "再次回复"})
    assert again.status_code == 409
    assert notes(container)[-1][:2] == ("fj_officer", "supervision_reply")
    login(client, "fj_officer")
    sent = client.get("/api/v1/supervision?box=sent").json()
    assert sent[0]["status"] == "replied" and sent[0]["reply_text"] == "已联系投诉人，约定明日上门定损"
    # strangers cannot read it
    login(client, "qz_handler2")
    assert client.get(f"/api/v1/supervision/{notice['id']}").status_code == 404
    with container.uow() as uow:
        actions = set(
            uow.session.scalars(select(AuditLog.action).where(AuditLog.action.like("supervision.%")))
        )
    assert actions == {"supervision.send", "supervision.reply"}


def test_unanswered_supervision_escalates(container: Container, world: World, clock: FakeClock) -> None:
    cid = make_complaint(container, world)
    with container.uow() as uow:
        answered = supervision.send(
            uow,
            world.p("fj_officer"),
            supervision.SupervisionRequest(
                "complaint", cid, world.users["qz_handler2"].id, "请核实", clock.now() + 2 * H
            ),
            clock.now(),
        )
    with container.uow() as uow:
        open_one = supervision.send(
            uow,
            world.p("fj_officer"),
            supervision.SupervisionRequest(
                "complaint", cid, world.users["qz_handler"].id, "请报告进展", clock.now() + 2 * H
            ),
            clock.now(),
        )
    with container.uow() as uow:
        supervision.reply(uow, world.p("qz_handler2"), answered.id, "已核实", clock.now())
    before = len(notes(container))
    clock.advance(3 * H)
    sweep(container, SUPERVISION)
    new = notes(container)[before:]
    assert sorted((u, k) for u, k, _ in new) == [
        ("fj_manager", "escalation"),  # the recipient's department head
        ("fj_officer", "overdue"),  # the sender, as watcher
        ("qz_handler", "overdue"),
    ]
    assert all("督办" in t for _, _, t in new)
    with container.uow() as uow:
        entity_ids = set(
            uow.session.scalars(
                select(Notification.entity_id).where(Notification.entity_type == "supervision")
            )
        )
    assert answered.id in entity_ids  # its own send/reply notices, but no escalation:
    assert sweep(container, SUPERVISION) == {}
    with container.uow() as uow:
        n = uow.session.get(SupervisionNotice, open_one.id)
        assert n is not None and n.status == "open"


def test_supervision_pages(container: Container, world: World, client: TestClient, clock: FakeClock) -> None:
    cid = make_complaint(container, world)
    tracking_no = complaint(container, cid).tracking_no
    login(client, "fj_officer")
    r = client.get(f"/supervision/start?tracking_no={tracking_no}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"entity_id={cid}")
    assert client.get("/supervision/start?tracking_no=TSNOPE").status_code == 404
    form = client.get(f"/supervision/new?entity_id={cid}")
    assert form.status_code == 200
    assert f'value="{world.users["qz_handler"].id}"' in form.text
    assert f'value="{world.users["sh_handler"].id}"' not in form.text
    bad = client.post(
        "/supervision/new",
        data={"entity_type": "complaint", "entity_id": cid, "recipient_id": "", "text": "", "reply_due": ""},
    )
    assert bad.status_code == 422 and "请选择接收人" in bad.text
    r = client.post(
        "/supervision/new",
        data={
            "entity_type": "complaint",
            "entity_id": cid,
            "recipient_id": world.users["qz_handler"].id,
            "text": "请在今日内回电投诉人",
            "reply_due": "2026-03-03T18:00",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    detail = client.get(r.headers["location"])
    assert "督办已发出" in detail.text and "2026-03-03 18:00" in detail.text and "撤销督办" in detail.text
    assert "我发出的督办" in client.get("/inbox/supervision").text
    login(client, "qz_handler")
    assert client.get(f"/supervision/new?entity_id={cid}").status_code == 403
    page = client.get("/inbox/supervision")
    assert "请在今日内回电投诉人" in page.text and "待回复" in page.text
    assert "您有 1 条督办待回复" in client.get("/inbox").text


def test_supervision_withdrawn_by_sender(container: Container, world: World, clock: FakeClock) -> None:
    cid = make_complaint(container, world)
    with container.uow() as uow:
        n = supervision.send(
            uow,
            world.p("fj_officer"),
            supervision.SupervisionRequest("complaint", cid, world.users["qz_handler"].id, "请核实"),
            clock.now(),
        )
    from xiaobao.core.errors import Conflict, Forbidden

    with container.uow() as uow, pytest.raises(Forbidden):
        supervision.cancel(uow, world.p("qz_handler"), n.id, clock.now())
    with container.uow() as uow:
        supervision.cancel(uow, world.p("fj_officer"), n.id, clock.now())
    with container.uow() as uow, pytest.raises(Conflict):
        supervision.reply(uow, world.p("qz_handler"), n.id, "已办", clock.now())
    clock.advance(timedelta(days=5))
    assert sweep(container, SUPERVISION) == {}


# ---------------------------------------------------------------- gateways (no database)


class _SmtpHandler:
    """Just enough of an SMTP server for smtplib: one message per connection; RCPT to an address with
    "reject" in it is refused with 550, "later" with 451."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    def serve(self, conn: Any) -> None:
        f = conn.makefile("rwb")

        def say(line: str) -> None:
            f.write(line.encode() + b"\r\n")
            f.flush()

        say("220 test ESMTP")
        sender, rcpts = "", []
        while line := f.readline():
            cmd = line.decode().strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                say("250 test")
            elif verb == "MAIL":
                sender = cmd
                say("250 OK")
            elif verb == "RCPT":
                if "reject" in cmd:
                    say("550 no such user")
                elif "later" in cmd:
                    say("451 try again later")
                else:
                    rcpts.append(cmd)
                    say("250 OK")
            elif verb == "DATA":
                say("354 go ahead")
                data = b""
                while (chunk := f.readline()) != b".\r\n":
                    data += chunk
                self.messages.append((sender, rcpts, data.decode()))
                say("250 queued")
            elif verb == "QUIT":
                say("221 bye")
                break
            else:
                say("250 OK")
        conn.close()


def test_smtp_sender_talks_smtp_and_maps_failures() -> None:
    import socket
    import threading

    from xiaobao.notifications.gateways import SmtpEmailSender

    handler = _SmtpHandler()
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def accept() -> None:
        for _ in range(3):
            conn, _ = srv.accept()
            handler.serve(conn)

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        sender = SmtpEmailSender("127.0.0.1", port, sender="xiaobao@insurer.example", tls="none", timeout=5)
        at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
        msg = Email(
            to="fj_manager@example.com",
            subject="【超期升级】投诉 TS1 已超期",
            body="请督促办理",
            key="xiaobao-delivery-7",
        )
        provider = sender.send(msg, at=at)
        assert provider == "<xiaobao-delivery-7@insurer.example>"
        [(mail_from, rcpts, data)] = handler.messages
        assert "xiaobao@insurer.example" in mail_from and "fj_manager@example.com" in rcpts[0]
        assert "X-Idempotency-Key: xiaobao-delivery-7" in data and "Message-ID: <xiaobao-delivery-7@" in data
        with pytest.raises(DeliveryError) as refused:
            sender.send(Email(to="reject@example.com", subject="s", body="b", key="k2"), at=at)
        assert refused.value.permanent
        with pytest.raises(DeliveryError) as later:
            sender.send(Email(to="later@example.com", subject="s", body="b", key="k3"), at=at)
        assert not later.value.permanent
    finally:
        srv.close()
        t.join(5)
    down = SmtpEmailSender("127.0.0.1", port, tls="none", timeout=1)  # nobody listens any more
    with pytest.raises(DeliveryError) as err:
        down.send(Email(to="a@example.com", subject="s", body="b", key="k4"), at=datetime.now(UTC))
    assert not err.value.permanent
    with pytest.raises(ValueError, match="starttls"):
        SmtpEmailSender("h", tls="tls13")


def test_file_drop_gateways_deliver_each_key_once(tmp_path: Any) -> None:
    from xiaobao.notifications.gateways import FileDropEmailSender, FileDropSmsGateway

    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    sms = FileDropSmsGateway(tmp_path / "sms")
    sms.send("13905950000", "【消保】你好", at=at, idempotency_key="xiaobao-delivery-1")
    sms.send(
        "13905950000", "【消保】你好", at=at, idempotency_key="xiaobao-delivery-1"
    )  # re-sent after a crash
    sms.send("13905950000", "无编号", at=at)
    assert sorted(p.name for p in (tmp_path / "sms").glob("*.json"))[1] == "xiaobao-delivery-1.json"
    assert len(list((tmp_path / "sms").glob("*.json"))) == 2
    assert (tmp_path / "sms" / "_duplicates.log").read_text().split() == ["xiaobao-delivery-1"]
    mail = FileDropEmailSender(tmp_path / "mail")
    assert mail.send(Email(to="a@example.com", subject="s", body="b", key="xiaobao-delivery-2"), at=at) == (
        "file:xiaobao-delivery-2"
    )
    mem = MemoryEmailSender()
    for _ in range(2):
        mem.send(Email(to="a@example.com", subject="s", body="b", key="k"), at=at)
    assert len(mem.sent) == 1


def test_gateway_configuration(tmp_path: Any) -> None:
    from tests.conftest import test_settings as make_settings
    from xiaobao.bootstrap import make_email_sender, make_sms_gateway
    from xiaobao.notifications.gateways import FileDropEmailSender, FileDropSmsGateway, SmtpEmailSender

    base = make_settings(tmp_path)
    assert isinstance(make_email_sender(base), MemoryEmailSender)
    assert isinstance(
        make_email_sender(base.model_copy(update={"smtp_host": "mail.example"})), SmtpEmailSender
    )
    assert isinstance(
        make_email_sender(base.model_copy(update={"email_backend": "file", "email_file_dir": tmp_path})),
        FileDropEmailSender,
    )
    assert isinstance(
        make_sms_gateway(base.model_copy(update={"sms_gateway": "file", "sms_file_dir": tmp_path})),
        FileDropSmsGateway,
    )
    for bad in ({"email_backend": "smtp"}, {"email_backend": "file"}, {"email_backend": "pigeon"}):
        with pytest.raises(ValueError, match="XIAOBAO_EMAIL_BACKEND"):
            make_email_sender(base.model_copy(update=bad))
    with pytest.raises(ValueError, match="XIAOBAO_SMS_FILE_DIR"):
        make_sms_gateway(base.model_copy(update={"sms_gateway": "file"}))
