"""The job runner: schedule rows, outcomes, failures, "run now", the admin page and API, the single
in-process runner on SQLite (app lifespan) and the CLI. Multi-process locking on PostgreSQL is in
test_worker_kill.py."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import test_settings as make_settings
from tests.factories import World, login
from xiaobao.bootstrap import Container, bootstrap
from xiaobao.core import migrate
from xiaobao.core.clock import FakeClock
from xiaobao.core.errors import NotFound
from xiaobao.jobs import services as jobs
from xiaobao.jobs.domain import JobDef, JobRegistry
from xiaobao.jobs.tables import JobSchedule

S = timedelta(seconds=1)


class Counter:
    def __init__(self, fail: int = 0) -> None:
        self.calls: list[datetime] = []
        self.fail = fail

    def __call__(self, container: Container, now: datetime) -> dict[str, Any]:
        self.calls.append(now)
        if len(self.calls) <= self.fail:
            raise ValueError(f"boom #{len(self.calls)}")
        return {"calls": len(self.calls)}


def only(container: Container, *defs: JobDef) -> None:
    container.jobs = JobRegistry()
    for d in defs:
        container.jobs.register(d)


def row(container: Container, name: str) -> JobSchedule:
    s = container.session_factory()
    try:
        r = s.get(JobSchedule, name)
        assert r is not None
        return r
    finally:
        s.close()


def test_due_jobs_run_once_and_are_recorded(container: Container, clock: FakeClock) -> None:
    fn = Counter()
    only(container, JobDef("t.count", 60, fn, "计数", "count"))
    [out] = jobs.run_pending(container, "w1")
    assert (out.name, out.status, out.summary) == ("t.count", "ok", {"calls": 1})
    r = row(container, "t.count")
    assert (
        r.last_status == "ok" and r.failures == 0 and r.last_worker == "w1" and r.last_summary == {"calls": 1}
    )
    assert r.last_started_at == clock.now() and r.next_run_at == clock.now() + 60 * S
    assert jobs.run_pending(container, "w1") == []
    clock.advance(59 * S)
    assert jobs.run_pending(container, "w2") == []
    clock.advance(S)
    assert [o.status for o in jobs.run_pending(container, "w2")] == ["ok"]
    assert len(fn.calls) == 2 and row(container, "t.count").last_worker == "w2"


def test_a_failing_job_is_recorded_retried_and_recovers(container: Container, clock: FakeClock) -> None:
    fn = Counter(fail=2)
    other = Counter()
    only(container, JobDef("t.flaky", 30, fn, "易错", "flaky"), JobDef("t.other", 30, other, "其他", "other"))
    outcomes = jobs.run_pending(container, "w1")
    assert [(o.name, o.status) for o in outcomes] == [("t.flaky", "failed"), ("t.other", "ok")]
    r = row(container, "t.flaky")
    assert r.last_status == "failed" and r.failures == 1 and "ValueError: boom #1" in (r.last_error or "")
    assert r.next_run_at == clock.now() + 30 * S  # retried at the next interval
    clock.advance(30 * S)
    jobs.run_pending(container, "w1")
    assert row(container, "t.flaky").failures == 2
    clock.advance(30 * S)
    jobs.run_pending(container, "w1")
    r = row(container, "t.flaky")
    assert r.last_status == "ok" and r.failures == 0 and r.last_error is None


def test_run_now_interval_override_and_unknown_jobs(container: Container, clock: FakeClock) -> None:
    fn = Counter()
    only(container, JobDef("t.count", 3600, fn, "计数", "count"))
    container.settings.job_intervals = {"t.count": 5}
    jobs.run_pending(container, "w1")
    assert row(container, "t.count").next_run_at == clock.now() + 5 * S
    assert row(container, "t.count").interval_seconds == 5
    # the admin's "run now" makes it due; the CLI's run_now runs it regardless
    with container.uow() as uow:
        jobs.request_run(container, uow, "t.count")
    assert row(container, "t.count").next_run_at == clock.now()
    assert jobs.run_now(container, "t.count", "cli").status == "ok"
    assert jobs.run_now(container, "t.count", "cli").status == "ok"
    assert len(fn.calls) == 3
    with pytest.raises(NotFound):
        jobs.run_now(container, "t.nope", "cli")
    with container.uow() as uow, pytest.raises(NotFound):
        jobs.request_run(container, uow, "t.nope")
    with pytest.raises(ValueError, match="already registered"):
        container.jobs.register(JobDef("t.count", 1, fn, "", ""))
    with pytest.raises(ValueError, match="interval"):
        JobDef("t.zero", 0, fn, "", "")


def test_built_in_jobs_are_registered(container: Container) -> None:
    names = container.jobs.names()
    for name in (
        "reminders.complaint.regulatory",
        "reminders.complaint.contact",
        "reminders.supervision",
        "notifications.deliver",
    ):
        assert name in names
        assert container.jobs.get(name).concurrent  # type: ignore[union-attr]


def test_admin_page_and_api(container: Container, world: World, client: TestClient, clock: FakeClock) -> None:
    only(
        container,
        JobDef("t.flaky", 30, Counter(fail=1), "易错任务", "Flaky job"),
        JobDef("t.fine", 30, Counter(), "正常任务", "Fine job"),
    )
    login(client, "hq_officer")
    assert client.get("/admin/jobs").status_code == 403
    assert client.get("/api/v1/jobs").status_code == 403
    login(client, "admin")
    page = client.get("/admin/jobs")
    assert page.status_code == 200 and "易错任务" in page.text and "尚未运行" in page.text
    jobs.run_pending(container, "w1")
    page = client.get("/admin/jobs")
    assert "失败" in page.text and "ValueError: boom #1" in page.text and "calls <b>1</b>" in page.text
    api = {j["name"]: j for j in client.get("/api/v1/jobs").json()}
    assert api["t.flaky"]["last_status"] == "failed" and api["t.flaky"]["failures"] == 1
    assert api["t.fine"]["last_summary"] == {"calls": 1} and api["t.fine"]["running"] is False
    r = client.post("/admin/jobs/t.flaky/run", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/jobs?requested=t.flaky"
    assert row(container, "t.flaky").next_run_at == clock.now()
    with container.uow() as uow:
        from xiaobao.core.audit import AuditLog

        logged = uow.session.scalar(select(AuditLog).where(AuditLog.action == "job.run_requested"))
        assert logged is not None and logged.entity_id == "t.flaky" and logged.actor_label.startswith("admin")
    assert "已安排立即运行" in client.get(r.headers["location"]).text
    assert client.post("/api/v1/jobs/t.fine/run").status_code == 202
    assert client.post("/api/v1/jobs/t.nope/run").status_code == 404
    assert client.get("/api/v1/deliveries/problems").json()["counts"]["dead"] == 0
    assert client.post("/api/v1/deliveries/999/retry").status_code == 404


def test_in_process_runner_is_sqlite_only() -> None:
    class Eng:
        def __init__(self, name: str) -> None:
            self.dialect = type("D", (), {"name": name})()

    c = bootstrap(make_settings(Path("/tmp")), session_factory=lambda: None)  # type: ignore[arg-type,return-value]
    assert not jobs.runs_in_process(c)  # a borrowed (test) connection: never
    c.engine = Eng("sqlite")  # type: ignore[assignment]
    assert jobs.runs_in_process(c)
    c.settings.inprocess_jobs = False
    assert not jobs.runs_in_process(c)
    c.settings.inprocess_jobs = True
    c.engine = Eng("postgresql")  # type: ignore[assignment]
    assert not jobs.runs_in_process(c)


def test_one_runner_per_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    a, b = jobs.RunnerLock(url), jobs.RunnerLock(url)
    assert a.acquire() and a.acquire()  # re-entrant for its holder
    assert not b.acquire()
    a.release()
    assert b.acquire()
    b.release()
    assert jobs.RunnerLock("sqlite://").acquire() and jobs.RunnerLock("postgresql://x/y").acquire()


def _file_db(tmp_path: Path, **over: Any) -> Container:
    url = f"sqlite:///{tmp_path}/app.db"
    migrate.upgrade(url)
    settings = make_settings(tmp_path, url).model_copy(update={"job_poll_seconds": 0.05, **over})
    return bootstrap(settings)


def test_the_app_runs_jobs_in_a_thread_on_sqlite(tmp_path: Path) -> None:
    from xiaobao.web.app import create_app

    c = _file_db(tmp_path)
    fn = Counter()
    only(c, JobDef("t.count", 3600, fn, "计数", "count"))
    try:
        with TestClient(create_app(c)) as client:
            deadline = time.monotonic() + 10
            while not fn.calls and time.monotonic() < deadline:
                time.sleep(0.02)
            assert client.get("/healthz").status_code == 200
        assert len(fn.calls) == 1
        assert row(c, "t.count").last_status == "ok" and row(c, "t.count").last_worker.startswith("app:")  # type: ignore[union-attr]
        # switched off: the app leaves jobs to `xiaobao worker`
        c.settings.inprocess_jobs = False
        c.jobs.get("t.count")  # same registry
        with TestClient(create_app(c)):
            time.sleep(0.2)
        assert len(fn.calls) == 1
    finally:
        assert c.engine is not None
        c.engine.dispose()


def test_cli_worker_and_jobs_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from xiaobao.cli import app
    from xiaobao.config import get_settings

    url = f"sqlite:///{tmp_path}/cli.db"
    migrate.upgrade(url)
    monkeypatch.setenv("XIAOBAO_DATABASE_URL", url)
    monkeypatch.setenv("XIAOBAO_SECRET_KEY", "cli-test-secret-0123456789")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        r = runner.invoke(app, ["jobs", "run", "notifications.deliver"])
        assert r.exit_code == 0, r.output
        assert "notifications.deliver: ok" in r.output
        r = runner.invoke(app, ["jobs", "run", "no.such.job"])
        assert r.exit_code != 0 and "unknown job" in r.output
        r = runner.invoke(app, ["worker", "--once"])
        assert r.exit_code == 0, r.output
        assert "reminders.complaint.regulatory: ok" in r.output
        r = runner.invoke(app, ["jobs", "list"], env={"COLUMNS": "200"})
        assert r.exit_code == 0 and "notifications.deliver" in r.output and "ok" in r.output
        c = bootstrap()
        with c.uow() as uow:
            names = set(uow.session.scalars(select(JobSchedule.name).where(JobSchedule.last_status == "ok")))
        assert {"notifications.deliver", "reminders.complaint.regulatory"} <= names
        assert c.engine is not None
        c.engine.dispose()
    finally:
        get_settings.cache_clear()
