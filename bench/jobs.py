"""Reminder-sweep benchmark (issue 3): 200,000 open tasks on PostgreSQL, 20% of them due for a reminder; one
sweep run by two worker processes at once.

1. A fresh database (created, migrated with Alembic, dropped at the end), the demo organisation tree and
   2,000 staff (collaborators in every department and sub-branch, with branch managers and officers so
   escalation could be routed), loaded with COPY.
2. 200,000 open tasks (co-handling, general and rectification, status open or in progress), bulk-loaded
   with COPY: 40,000 due within the next 20 hours (inside every task kind's reminder lead time: each earns
   exactly one "due soon" reminder for its owner), the rest due in 4 to 60 days (no reminder yet).
3. Two real `xiaobao worker --once` processes are started together against the database. Each runs the
   due jobs; the task reminder sweeps are concurrent jobs, so the second worker joins the first and the two
   split the rows with SELECT ... FOR NO KEY UPDATE SKIP LOCKED. sweep_s is the wall time from starting
   both workers until both have exited (process start-up included).
4. Reminders and duplicates are counted from the database: reminder notifications for tasks, and any
   (task, user, kind, stage) that has more than one notification.

Last line on stdout:
    jobs: tasks=<n> sweep_s=<n> reminders=<n> duplicates=<n>
Target: sweep_s <= 10, duplicates = 0, reminders = exactly the number due.

Run: .venv/bin/python bench/jobs.py [--tasks 200000] [--due-share 0.2] [--workers 2] [--batch N] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import BENCH_SECRET, ROOT, bench_database, conninfo, log, seed_orgs  # noqa: E402

DB_NAME = "xb_bench_jobs"
STAFF = 2000
KINDS = ("cohandling", "general", "rectification")
XIAOBAO = str(Path(sys.executable).with_name("xiaobao"))


# ---------------------------------------------------------------- seeding


def seed_staff(url: str, now: datetime) -> list[tuple[int, int]]:
    """The demo org tree (through the auth services) and STAFF users (COPY). Returns (user id, org id) of
    the collaborators who will own tasks."""
    from xiaobao.auth.services import hash_password
    from xiaobao.core.db import make_engine, make_session_factory

    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        orgs = seed_orgs(s)
        s.commit()
        org_rows = [(o.id, o.kind, o.code) for o in orgs.values()]
    engine.dispose()
    pw = hash_password("bench-password-123")
    rng = random.Random(3)
    places = [oid for oid, kind, _ in org_rows if kind in ("department", "subbranch")]
    heads = [oid for oid, kind, _ in org_rows if kind in ("branch", "subbranch", "hq")]
    users: list[tuple[str, int, str]] = []
    for i in range(STAFF):
        users.append((f"staff{i:05d}", rng.choice(places), "collaborator"))
    for oid in heads:
        users.append((f"manager{oid}", oid, "branch_manager"))
        users.append((f"officer{oid}", oid, "officer"))
    with psycopg.connect(conninfo(DB_NAME)) as conn:
        with conn.cursor() as cur:
            with cur.copy(
                "COPY app_user (username, display_name, password_hash, org_id, active, lang, created_at) "
                "FROM STDIN"
            ) as cp:
                for name, oid, _role in users:
                    cp.write_row((name, name, pw, oid, True, "zh", now))
            cur.execute("SELECT id, username FROM app_user")
            ids = dict((u, i) for i, u in cur.fetchall())
            with cur.copy("COPY user_role (user_id, role) FROM STDIN") as cp:
                for name, _oid, role in users:
                    cp.write_row((ids[name], role))
        conn.commit()
    return [(ids[name], oid) for name, oid, role in users if role == "collaborator"]


def load_tasks(n: int, due_share: float, owners: list[tuple[int, int]], now: datetime) -> int:
    """COPY `n` open tasks; returns how many are due for a reminder now."""
    rng = random.Random(7)
    due_now = int(round(n * due_share))
    cols = (
        "version",
        "kind",
        "title",
        "description",
        "status",
        "priority",
        "org_id",
        "owner_id",
        "requester_id",
        "requester_org_id",
        "created_by_id",
        "source_type",
        "source_id",
        "blocking",
        "due_at",
        "created_at",
        "updated_at",
    )
    order = list(range(n))
    rng.shuffle(order)  # reminder-due tasks spread through the table, not one block
    with psycopg.connect(conninfo(DB_NAME)) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY task ({', '.join(cols)}) FROM STDIN") as cp:
                for i in order:
                    owner, org = owners[i % len(owners)]
                    requester, rorg = owners[(i * 7 + 3) % len(owners)]
                    if i < due_now:  # inside every kind's lead time (24 h at least), not yet due
                        due = now + timedelta(hours=1) + timedelta(seconds=rng.randrange(19 * 3600))
                    else:  # beyond every kind's lead time (72 h at most)
                        due = now + timedelta(days=4) + timedelta(seconds=rng.randrange(56 * 86400))
                    kind = KINDS[i % 3]
                    cp.write_row(
                        (
                            1,
                            kind,
                            f"任务 {i:06d}：核实并答复",
                            "",
                            "open" if i % 4 else "in_progress",
                            "normal",
                            org,
                            owner,
                            requester,
                            rorg,
                            requester,
                            None,
                            None,
                            False,
                            due,
                            now - timedelta(days=3),
                            now - timedelta(days=3),
                        )
                    )
        conn.commit()
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
        conn.commit()
    return due_now


# ---------------------------------------------------------------- the sweep


def run_workers(url: str, workers: int, batch: int | None) -> tuple[float, list[str]]:
    env = dict(os.environ)
    if batch is not None:
        env["XIAOBAO_SWEEP_BATCH_SIZE"] = str(batch)
    env.update(
        {
            "XIAOBAO_DATABASE_URL": url,
            "XIAOBAO_SECRET_KEY": BENCH_SECRET,
            "XIAOBAO_DEMO": "0",
            "XIAOBAO_EMAIL_BACKEND": "memory",
            "XIAOBAO_SMS_GATEWAY": "logging",
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200",
        }
    )
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [XIAOBAO, "worker", "--once"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(workers)
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    elapsed = time.perf_counter() - t0
    for i, (p, out) in enumerate(zip(procs, outs, strict=True)):
        if p.returncode != 0:
            raise RuntimeError(f"worker {i} exited with {p.returncode}:\n{out[-3000:]}")
    return elapsed, outs


def count(url: str) -> tuple[int, int, int, int]:
    """(task reminders, duplicated notifications, tasks with a reminder stage, failed jobs)."""
    with psycopg.connect(conninfo(DB_NAME)) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM notification WHERE entity_type = 'task' AND kind = 'reminder'")
        reminders = int(cur.fetchone()[0])  # type: ignore[index]
        cur.execute("""
            SELECT coalesce(sum(n - 1), 0) FROM (
                SELECT count(*) AS n FROM notification WHERE entity_type = 'task'
                GROUP BY entity_id, user_id, kind, split_part(dedupe_key, ':', 4) HAVING count(*) > 1) d""")
        duplicates = int(cur.fetchone()[0])  # type: ignore[index]
        cur.execute("SELECT count(*) FROM reminder_state WHERE entity_type = 'task' AND stage = 1")
        staged = int(cur.fetchone()[0])  # type: ignore[index]
        cur.execute("SELECT count(*) FROM job_schedule WHERE last_status = 'failed'")
        failed = int(cur.fetchone()[0])  # type: ignore[index]
    return reminders, duplicates, staged, failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=200_000)
    ap.add_argument("--due-share", type=float, default=0.2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=None, help="XIAOBAO_SWEEP_BATCH_SIZE (default: the app's)")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()
    now = datetime.now(UTC)
    with bench_database(DB_NAME, keep=args.keep) as url:
        t = time.perf_counter()
        owners = seed_staff(url, now)
        due = load_tasks(args.tasks, args.due_share, owners, now)
        log(
            f"loaded {args.tasks} tasks ({due} due for a reminder), {len(owners)} owners in "
            f"{time.perf_counter() - t:.1f} s"
        )
        sweep_s, outs = run_workers(url, args.workers, args.batch)
        for i, out in enumerate(outs):
            for line in out.splitlines():
                if "reminders.task." in line:
                    log(f"worker {i}: {line.strip()}")
        reminders, duplicates, staged, failed = count(url)
        log(f"reminder stages recorded: {staged}; failed jobs: {failed}; expected reminders: {due}")
        if reminders != due or failed:
            log("MISMATCH: reminders differ from the number due, or a job failed")
    print(f"jobs: tasks={args.tasks} sweep_s={sweep_s:.2f} reminders={reminders} duplicates={duplicates}")


if __name__ == "__main__":
    main()
