"""Running jobs: claim a due schedule row with SELECT ... FOR UPDATE SKIP LOCKED, run the job while holding
the lock, record the outcome, commit.

* PostgreSQL, several `xiaobao worker` processes: the row lock makes one worker the job's owner; the
  others skip it (or, for a ``concurrent`` job, join in and split its items). A worker that dies loses its
  connection and with it the lock; its run was never recorded, so the row is still due and the next
  worker takes it.
* SQLite: no row locks, one writer. One runner per database file — the web app's background thread or a
  `xiaobao worker` — guaranteed by an OS file lock next to the database; the claim then needs no lock.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.core import audit
from xiaobao.core.db import UnitOfWork
from xiaobao.core.errors import Conflict, NotFound
from xiaobao.jobs.domain import JobDef, error_text, next_run
from xiaobao.jobs.sqltools import dialect, end_read_phase, insert_for
from xiaobao.jobs.tables import JobSchedule

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container

log = logging.getLogger("xiaobao.jobs")


def worker_id(prefix: str = "worker") -> str:
    return f"{prefix}:{socket.gethostname()}:{os.getpid()}"


def _insert_missing(container: Container, s: Session) -> bool:
    now = container.clock.now()
    overrides = container.settings.job_intervals
    have = set(s.scalars(select(JobSchedule.name)))
    if len(have) < len(container.jobs.names()):
        end_read_phase(s)
    rows = [
        {
            "name": j.name,
            "interval_seconds": container.jobs.interval(j, overrides),
            "next_run_at": now,
            "failures": 0,
        }
        for j in container.jobs.all()
        if j.name not in have
    ]
    if rows:
        s.execute(insert_for(s, JobSchedule).on_conflict_do_nothing(index_elements=["name"]), rows)
    return bool(rows)


def ensure_schedule(container: Container) -> None:
    """Insert a schedule row (due now) for every registered job that has none."""
    with container.uow() as uow:
        if _insert_missing(container, uow.session):
            uow.commit()


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # ok | failed | joined | busy
    summary: dict[str, Any] | None = None
    error: str | None = None


def _run_fn(
    container: Container, job: JobDef, now: datetime
) -> tuple[str, dict[str, Any] | None, str | None]:
    container.jobs.started(job.name)
    try:
        summary = job.fn(container, now)
        return "ok", summary, None
    except Exception as e:  # noqa: BLE001 - a failing job is recorded and retried, the runner goes on
        log.exception("job %s failed", job.name)
        return "failed", None, error_text(e)
    finally:
        container.jobs.finished(job.name)


def run_job(container: Container, job: JobDef, worker: str, *, force: bool = False) -> Outcome | None:
    """Run one job if it is due (or ``force``) and no other worker holds it. Returns None when it is not
    due; ``busy`` when another worker runs it (a ``concurrent`` job is then joined: ``joined``)."""
    now = container.clock.now()
    session = container.session_factory()
    try:
        stmt = select(JobSchedule).where(JobSchedule.name == job.name)
        if not force:
            stmt = stmt.where(JobSchedule.next_run_at <= now)
        row = session.scalar(stmt.with_for_update(skip_locked=True))
        if row is not None:
            failures, name = row.failures, row.name
            # PostgreSQL: keep the row locked while the job runs. SQLite: end the read transaction now
            # (the job's own transactions write; this one must not hold an older snapshot).
            end_read_phase(session)
        if row is None:
            session.rollback()
            held = session.scalar(select(JobSchedule.next_run_at).where(JobSchedule.name == job.name))
            session.rollback()
            if held is None or (not force and held > now):
                return None  # not due (or no schedule row yet)
            if not job.concurrent or force:
                return Outcome(job.name, "busy")
            status, summary, error = _run_fn(container, job, now)
            return Outcome(job.name, "joined" if status == "ok" else status, summary, error)
        status, summary, error = _run_fn(container, job, now)
        finished = container.clock.now()
        interval = container.jobs.interval(job, container.settings.job_intervals)
        session.execute(
            update(JobSchedule)
            .where(JobSchedule.name == name)
            .values(
                interval_seconds=interval,
                last_started_at=now,
                last_finished_at=finished,
                last_status=status,
                last_error=error,
                last_worker=worker,
                last_summary=summary,
                failures=0 if status == "ok" else failures + 1,
                next_run_at=next_run(finished, interval),
            )
        )
        session.commit()
        return Outcome(job.name, status, summary, error)
    finally:
        session.close()


def run_pending(container: Container, worker: str, stop: threading.Event | None = None) -> list[Outcome]:
    """One pass of the runner loop: every registered job that is due, in registration order."""
    ensure_schedule(container)
    out: list[Outcome] = []
    for job in container.jobs.all():
        if stop is not None and stop.is_set():
            break
        result = run_job(container, job, worker)
        if result is not None:
            out.append(result)
    return out


def run_now(container: Container, name: str, worker: str) -> Outcome:
    """Run one job immediately, due or not (CLI `xiaobao jobs run NAME`)."""
    job = container.jobs.get(name)
    if job is None:
        raise NotFound("后台任务", "job")
    ensure_schedule(container)
    result = run_job(container, job, worker, force=True)
    assert result is not None
    return result


def request_run(container: Container, uow: UnitOfWork, name: str, who: Principal | None = None) -> None:
    """The admin page's "run now": make the job due now, in the caller's unit of work (committed here); the
    runner picks it up on its next poll. A job running right now (row locked) is refused, not waited for."""
    if container.jobs.get(name) is None:
        raise NotFound("后台任务", "job")
    _insert_missing(container, uow.session)
    row = uow.session.scalar(
        select(JobSchedule).where(JobSchedule.name == name).with_for_update(skip_locked=True)
    )
    if row is None:
        raise Conflict("该任务正在运行，请稍后再试", "The job is running right now; try again shortly")
    row.next_run_at = container.clock.now()
    if who is not None:
        audit.record(
            uow.session,
            at=row.next_run_at,
            actor_id=who.user_id,
            actor_label=who.label,
            action="job.run_requested",
            entity_type="job",
            entity_id=name,
            ip=who.ip,
        )
    uow.commit()


@dataclass(frozen=True)
class JobView:
    job: JobDef
    row: JobSchedule | None
    running: bool


def overview(container: Container, session: Session) -> list[JobView]:
    """Every registered job with its schedule row and whether a worker is running it now."""
    running = set(container.jobs.running_here())
    free: set[str] | None = None
    if dialect(session) == "postgresql":
        # a running job's row is locked by its worker: probe without waiting, then let go at once
        free = set(
            session.scalars(
                select(JobSchedule.name).with_for_update(skip_locked=True, read=True, key_share=True)
            )
        )
        session.rollback()
    rows = {r.name: r for r in session.scalars(select(JobSchedule))}
    if free is not None:
        running |= set(rows) - free
    return [JobView(j, rows.get(j.name), j.name in running) for j in container.jobs.all()]


# ---------------------------------------------------------------- the runner loop


class RunnerLock:
    """On SQLite, one runner per database file: an exclusive, non-blocking OS lock on
    ``<database>.jobs.lock``, released by the OS when the process ends. Other databases need none."""

    def __init__(self, database_url: str) -> None:
        self.path: Path | None = None
        if database_url.startswith("sqlite"):
            db = database_url.split("///", 1)[1] if "///" in database_url else ""
            if db and db != ":memory:":
                self.path = Path(db + ".jobs.lock")
        self._fh: IO[str] | None = None

    def acquire(self) -> bool:
        if self.path is None or self._fh is not None:
            return True
        fh = open(self.path, "a")  # noqa: SIM115 - held open for the lifetime of the runner
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def loop(
    container: Container,
    worker: str,
    stop: threading.Event,
    poll_seconds: float,
    on_pass: Callable[[list[Outcome]], None] | None = None,
) -> None:
    """Run due jobs every ``poll_seconds`` until ``stop`` is set. Errors (database down) are logged and the
    loop goes on."""
    lock = RunnerLock(container.settings.database_url)
    warned = False
    try:
        while not stop.is_set():
            if lock.acquire():
                try:
                    outcomes = run_pending(container, worker, stop)
                    if on_pass is not None:
                        on_pass(outcomes)
                except Exception:  # noqa: BLE001
                    log.exception("job runner pass failed")
            elif not warned:
                log.info("another process runs the jobs of this SQLite database; standing by")
                warned = True
            stop.wait(poll_seconds)
    finally:
        lock.release()


class InProcessRunner:
    """The web app's job runner on SQLite: the same loop in one daemon thread."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(
            target=loop,
            name="xiaobao-jobs",
            daemon=True,
            args=(
                self.container,
                worker_id("app"),
                self.stop_event,
                self.container.settings.job_poll_seconds,
            ),
        )
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout)


def runs_in_process(container: Container) -> bool:
    """The app runs jobs itself only on SQLite (configurable off), and only with a database it connected
    itself (a test container's borrowed connection belongs to the test)."""
    return (
        container.settings.inprocess_jobs
        and container.engine is not None
        and container.engine.dialect.name == "sqlite"
    )
