"""Exactly-once under failure, on PostgreSQL with real processes: two `xiaobao worker` processes sweep a few
thousand due reminders; one is SIGKILLed mid-sweep and restarted. Every reminder and escalation must exist
exactly once and every e-mail and SMS must reach the (file-drop) gateways exactly once.

Also the row-lock semantics of the job runner itself: a job held by another worker is skipped, or joined
when it is concurrent.

These tests use their own committed database (workers are separate processes and cannot see a test's
rolled-back transaction). PostgreSQL only; in CI a missing server fails them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from tests.conftest import CI, PG_ADMIN_URL, pg_available
from tests.conftest import test_settings as make_settings
from tests.factories import build_world
from xiaobao.bootstrap import Container, bootstrap
from xiaobao.complaints.tables import Complaint
from xiaobao.core import migrate
from xiaobao.jobs import services as jobs
from xiaobao.jobs.domain import JobDef, JobRegistry
from xiaobao.jobs.tables import JobSchedule
from xiaobao.notifications.tables import Notification, NotificationDelivery, ReminderState

pytestmark = pytest.mark.postgres

XIAOBAO = str(Path(sys.executable).parent / "xiaobao")
# due soon (reminder), overdue (escalation + overdue notice), overdue by more than a day (+ severe escalation)
N_SOON, N_OVERDUE, N_SEVERE = 1800, 700, 300


@pytest.fixture(scope="module")
def fresh_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not pg_available():
        if CI:
            pytest.fail("PostgreSQL is required in CI but is not reachable at " + PG_ADMIN_URL)
        pytest.skip("PostgreSQL not available")
    name = f"xb_kill_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _container(url: str, tmp: Path) -> Container:
    return bootstrap(make_settings(tmp, url).model_copy(update={"db_pool_size": 3, "db_max_overflow": 2}))


def seed(c: Container, now: datetime) -> dict[str, int]:
    """The test world plus N complaints handled by qz_handler, due soon / overdue / severely overdue."""
    with c.uow() as uow:
        w = build_world(uow.session, now)
        for i, u in enumerate(w.users.values()):
            u.email, u.phone = f"{u.username}@example.com", f"1380000{i:04d}"
        uow.commit()
        ids = {k: u.id for k, u in w.users.items()}
        org = w.orgs["QZ"].id
    dues = [now + timedelta(hours=10)] * N_SOON + [now - timedelta(hours=2)] * N_OVERDUE
    dues += [now - timedelta(hours=30)] * N_SEVERE
    rows = [
        {
            "tracking_no": f"TSK{i:08d}",
            "status": "handling",
            "org_id": org,
            "handler_id": ids["qz_handler"],
            "complainant_name": "林某",
            "phone": "13905950000",
            "business_line": "motor.commercial",
            "cause": "claims.amount",
            "demand": "compensation",
            "channel": "hotline",
            "description": "定损争议",
            "received_at": due - timedelta(days=15),
            "created_at": now,
            "updated_at": now,
            "regulatory_due": due,
            "contact_due": due - timedelta(days=14),
            "first_contact_at": due - timedelta(days=14, hours=2),
            "clock_start": due - timedelta(days=15),
        }
        for i, due in enumerate(dues)
    ]
    with c.uow() as uow:
        uow.session.execute(insert(Complaint), rows)
        uow.commit()
    with c.engine.connect() as conn:  # type: ignore[union-attr]
        conn.execute(text("ANALYZE"))  # fresh statistics, as autovacuum would give a live database
    return ids


class Workers:
    """`xiaobao worker` subprocesses, each logging to its own file."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.files: list[Any] = []

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"worker-{name}.log").open("ab")
        self.files.append(log)
        p = subprocess.Popen(
            [XIAOBAO, "worker", "--poll", "0.2"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.procs.append(p)
        return p

    def logs(self) -> str:
        return "\n".join(
            f.name + ":\n" + Path(f.name).read_text(errors="replace")[-3000:] for f in self.files
        )

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for f in self.files:
            f.close()


def _count(c: Container, stmt: Any) -> int:
    with c.uow() as uow:
        return int(uow.session.scalar(stmt) or 0)


def test_killed_worker_restarts_and_every_reminder_goes_out_exactly_once(
    fresh_pg: str, tmp_path: Path
) -> None:
    c = _container(fresh_pg, tmp_path)
    now = datetime.now(UTC)
    users = seed(c, now)
    expected_notifications = N_SOON + 2 * N_OVERDUE + 3 * N_SEVERE
    expected_email = 2 * N_OVERDUE + 3 * N_SEVERE  # head + owner; + superior officer
    expected_sms = N_OVERDUE + 2 * N_SEVERE  # head; + superior officer
    sms_dir, mail_dir = tmp_path / "sms", tmp_path / "mail"
    env = {
        **os.environ,
        "XIAOBAO_DATABASE_URL": fresh_pg,
        "XIAOBAO_SECRET_KEY": "worker-kill-secret-0123456789",
        "XIAOBAO_DEMO": "0",
        "XIAOBAO_SMS_GATEWAY": "file",
        "XIAOBAO_SMS_FILE_DIR": str(sms_dir),
        "XIAOBAO_EMAIL_BACKEND": "file",
        "XIAOBAO_EMAIL_FILE_DIR": str(mail_dir),
        "XIAOBAO_SWEEP_BATCH_SIZE": "100",
        "XIAOBAO_SWEEP_BATCH_DELAY_MS": "60",  # slow enough to be killed mid-sweep
        "XIAOBAO_JOB_INTERVALS": json.dumps(
            {"reminders.complaint.regulatory": 1, "notifications.deliver": 1}
        ),
        "XIAOBAO_DB_POOL_SIZE": "3",
    }
    workers = Workers(env, tmp_path)
    a, b = workers.start("a"), workers.start("b")
    try:
        n_stmt = select(func.count()).select_from(Notification)
        deadline = time.monotonic() + 60
        while _count(c, n_stmt) < 500:
            assert time.monotonic() < deadline, "the workers did not start sweeping:\n" + workers.logs()
            assert a.poll() is None and b.poll() is None, workers.logs()
            time.sleep(0.02)
        a.send_signal(signal.SIGKILL)  # mid-sweep: batches committed, one probably open and locked
        a.wait(10)
        at_kill = _count(c, n_stmt)
        assert at_kill < expected_notifications, "the sweep finished before the kill; slow it down"
        a2 = workers.start("a-restarted")

        stage_sql = (
            select(func.count())
            .select_from(ReminderState)
            .where(ReminderState.track == "complaint.regulatory")
        )
        pending_sql = (
            select(func.count())
            .select_from(NotificationDelivery)
            .where(NotificationDelivery.status != "sent")
        )
        all_sql = select(func.count()).select_from(NotificationDelivery)
        deadline = time.monotonic() + 90
        while not (
            _count(c, stage_sql) == N_SOON + N_OVERDUE + N_SEVERE
            and _count(c, all_sql) == expected_email + expected_sms
            and _count(c, pending_sql) == 0
        ):
            assert time.monotonic() < deadline, "not done in time:\n" + workers.logs()
            assert b.poll() is None and a2.poll() is None, workers.logs()
            time.sleep(0.1)
    finally:
        workers.stop()
    assert b.returncode == 0 and a2.returncode == 0, workers.logs()  # SIGTERM: a graceful exit

    with c.uow() as uow:
        s = uow.session
        rows = s.execute(select(Notification.user_id, Notification.entity_id, Notification.kind)).all()
        states = Counter(
            s.scalars(select(ReminderState.stage).where(ReminderState.track == "complaint.regulatory"))
        )
        deliveries = s.execute(select(NotificationDelivery.id, NotificationDelivery.channel)).all()
    # every due reminder and escalation exists, exactly once
    per_item = Counter((r.user_id, r.entity_id, r.kind) for r in rows)
    assert len(rows) == expected_notifications and max(per_item.values()) == 1
    by_kind = Counter(r.kind for r in rows)
    assert by_kind == {
        "reminder": N_SOON,
        "escalation": N_OVERDUE + N_SEVERE,
        "overdue": N_OVERDUE + N_SEVERE,
        "escalation_severe": N_SEVERE,
    }
    assert {r.user_id for r in rows if r.kind == "escalation"} == {users["fj_manager"]}
    assert {r.user_id for r in rows if r.kind == "escalation_severe"} == {users["fj_officer"]}
    assert states == {1: N_SOON, 2: N_OVERDUE, 3: N_SEVERE}
    # every e-mail and SMS reached its gateway exactly once (one file per idempotency key)
    want = {ch: {f"xiaobao-delivery-{i}.json" for i, c_ in deliveries if c_ == ch} for ch in ("email", "sms")}
    assert len(want["email"]) == expected_email and len(want["sms"]) == expected_sms
    assert {p.name for p in mail_dir.glob("xiaobao-delivery-*.json")} == want["email"]
    assert {p.name for p in sms_dir.glob("xiaobao-delivery-*.json")} == want["sms"]
    resent = sum(
        len(d.joinpath("_duplicates.log").read_text().split())
        for d in (mail_dir, sms_dir)
        if d.joinpath("_duplicates.log").exists()
    )
    assert resent <= 2 * 20  # at most the batch the killed worker held (its provider dropped the copies)
    assert c.engine is not None
    c.engine.dispose()


def test_a_job_held_by_another_worker_is_skipped_or_joined(fresh_pg: str, tmp_path: Path) -> None:
    c = _container(fresh_pg, tmp_path)
    calls: list[str] = []
    c.jobs = JobRegistry()
    c.jobs.register(JobDef("lock.exclusive", 60, lambda _c, _n: calls.append("x") or {}, "独占", "exclusive"))
    c.jobs.register(
        JobDef("lock.shared", 60, lambda _c, _n: calls.append("s") or {}, "并行", "shared", concurrent=True)
    )
    jobs.ensure_schedule(c)
    other = create_engine(fresh_pg.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with other.connect() as conn:
            held = conn.begin()
            # another worker owns both jobs right now
            conn.execute(select(JobSchedule).with_for_update())
            assert jobs.run_job(c, c.jobs.get("lock.exclusive"), "me").status == "busy"  # type: ignore[arg-type, union-attr]
            assert jobs.run_job(c, c.jobs.get("lock.shared"), "me").status == "joined"  # type: ignore[arg-type, union-attr]
            assert calls == ["s"]
            with c.uow() as uow:
                assert {v.job.name for v in jobs.overview(c, uow.session) if v.running} == {
                    "lock.exclusive",
                    "lock.shared",
                }
            held.rollback()  # that worker died: its locks are gone, the jobs are still due
        outcomes = {o.name: o.status for o in jobs.run_pending(c, "me")}
        assert outcomes == {"lock.exclusive": "ok", "lock.shared": "ok"}
        assert calls == ["s", "x", "s"]
        with c.uow() as uow:
            assert not any(v.running for v in jobs.overview(c, uow.session))
            names = set(uow.session.scalars(select(JobSchedule.name).where(JobSchedule.last_worker == "me")))
        assert names == {"lock.exclusive", "lock.shared"}
        assert jobs.run_pending(c, "me") == []  # not due again for a minute
    finally:
        other.dispose()
        assert c.engine is not None
        c.engine.dispose()
