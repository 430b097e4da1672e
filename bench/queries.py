"""Query benchmark (issue 2): the complaint list and the dashboard data on 1,000,000 complaints.

1. Load: a fresh PostgreSQL database migrated to head; the demo org tree, officers and handlers seeded
   through the auth services; 1,000,000 complaints bulk-loaded with COPY (two processes) from a pool of
   records made by `xiaobao.demo.generator` (descriptions from its templates, search terms from
   `domain.search_tokens`), spread over two years with statuses, handlers, deadlines, decisions and
   special groups consistent with each complaint's age. Secondary indexes are dropped for the load and
   rebuilt after it (as their migration defines them); then VACUUM ANALYZE.
2. Timing, through HTTP against the real server (uvicorn, `xiaobao.web.asgi:app`), one request at a time:
   - the list, GET /api/v1/complaints, as the Fujian branch officer (scope: the FJ subtree) with realistic
     filters: open statuses, due=overdue, a Chinese full-text q, a special group, page 1 and page 50;
   - the dashboard data, GET /api/v1/complaints-stats/dashboard, as the Fujian officer and as the head
     office officer (whole company), 90-day window.

Last line on stdout:
    queries: rows=<n> list_p95_ms=<n> dashboard_p95_ms=<n>
Target: list p95 <= 150 ms, dashboard p95 <= 300 ms.

Run: .venv/bin/python bench/queries.py [--rows 1000000] [--iterations 20] [--keep-db] [--reuse-db]
     [--explain]   (EXPLAIN ANALYZE of each list query's SQL, to stderr)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import (  # noqa: E402
    HttpConnection,
    complaint_records,
    conninfo,
    create_database,
    db_url,
    drop_database,
    issue_token,
    log,
    missing_model_indexes,
    percentile,
    seed_orgs,
    seed_user,
    start_server,
)

DB_NAME = "xb_bench_queries"
DAYS = 730
POOL = 20_000
CN = timedelta(hours=8)
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

COLUMNS = (
    "id", "tracking_no", "version", "status", "org_id", "handler_id", "created_by_id", "complainant_name",
    "id_number", "phone", "special_groups", "representatives", "policy_no", "claim_no", "business_line",
    "cause", "demand", "amount_claimed", "channel", "regulator_ref", "description", "search_doc",
    "received_at", "created_at", "updated_at", "extension_level", "extension2_requested", "paused_since",
    "regulatory_due", "contact_due", "clock_start", "accepted_at", "first_contact_at", "decided_at",
    "notified_at", "closed_at", "decision_outcome", "decision", "root_cause", "rectification",
    "merged_into_id", "review_requested_at", "review_outcome", "on_time",
)  # fmt: skip

DECISIONS = {
    "upheld": "经核实，投诉事项属实，公司已按合同约定重新核定并足额赔付，相关人员已接受内部培训。",
    "partial": "经核实，投诉部分属实，公司已就可确认部分作出赔付，其余部分不予支持，并已说明理由。",
    "rejected": "经核实，该事项属于保险条款约定的责任免除范围，公司维持原处理意见，并已向您解释条款依据。",
}
ROOT_CAUSES = [("销售环节未充分说明免责条款", "修订销售话术并组织销售人员培训"),
               ("定损标准执行不一致", "统一定损标准并开展定损人员复训"),
               ("理赔资料清单不清晰", "优化理赔资料一次性告知清单")]  # fmt: skip


# ---------------------------------------------------------------- seeding and pool


def seed(url: str, now: datetime) -> dict[str, Any]:
    """Orgs, officers (FJ branch, HQ) with API tokens, two handlers per branch and sub-branch."""
    from xiaobao.core.db import make_engine, make_session_factory

    engine = make_engine(url)
    out: dict[str, Any] = {"handlers": {}}
    with make_session_factory(engine)() as s:
        orgs = seed_orgs(s)
        fj = seed_user(s, orgs["FJ"], "fj_officer", ["officer"], now)
        hq = seed_user(s, orgs["HQ"], "hq_officer", ["officer"], now)
        crm = seed_user(s, orgs["HQ"], "crm_integration", ["officer"], now)
        out["tokens"] = {"fj_officer": issue_token(s, fj, now), "hq_officer": issue_token(s, hq, now)}
        for code, org in orgs.items():
            if org.kind in ("branch", "subbranch"):
                users = [seed_user(s, org, f"h_{code.lower()}_{k}", ["handler"], now) for k in (1, 2)]
                out["handlers"][org.id] = [u.id for u in users]
        s.commit()
        out["org_ids"] = {code: o.id for code, o in orgs.items()}
        out["creator_id"] = crm.id
    engine.dispose()
    return out


def build_pool(now: datetime, org_ids: dict[str, int]) -> list[tuple[Any, ...]]:
    """Static parts of POOL generated complaints, with their search terms computed once."""
    from xiaobao.complaints.domain import search_tokens

    out = []
    for r in complaint_records(POOL, 20240315, now):
        id_number = r["id_number"]
        birth_year = int(id_number[6:10]) if id_number else None
        out.append((
            org_ids[r["org_code"]], r["complainant_name"], id_number, r["phone"], tuple(r["special_groups"]),
            r["policy_no"], r.get("claim_no"), r["business_line"], r["cause"], r["demand"],
            r.get("amount_claimed"), r["channel"], r["description"], search_tokens(r["description"]),
            birth_year,
        ))  # fmt: skip
    return out


# ---------------------------------------------------------------- row generation


class Deadlines:
    """regulatory_due (15 / 30 days) and contact_due (1 working day) per local receipt day, from the
    app's own deadline functions."""

    def __init__(self) -> None:
        from xiaobao.core.calendar import WorkCalendar

        self.cal = WorkCalendar()
        self.cache: dict[date, tuple[datetime, datetime, datetime]] = {}

    def for_day(self, received: datetime) -> tuple[datetime, datetime, datetime]:
        from xiaobao.complaints import deadlines

        d = (received + CN).date()
        hit = self.cache.get(d)
        if hit is None:
            due0 = deadlines.regulatory_due(received, 0, [])
            due1 = deadlines.regulatory_due(received, 1, [])
            assert due0 is not None and due1 is not None
            hit = (due0, due1, deadlines.contact_due(received, self.cal, 1))
            self.cache[d] = hit
        return hit


def tracking_no(received: datetime, row_id: int) -> str:
    code = []
    n = row_id
    for _ in range(6):
        n, k = divmod(n, 32)
        code.append(TRACKING_ALPHABET[k])
    return "TS" + (received + CN).strftime("%y%m%d") + "".join(reversed(code))


def make_rows(
    first_id: int,
    count: int,
    seed_: int,
    now: datetime,
    pool: list[tuple[Any, ...]],
    handlers: dict[int, list[int]],
    creator_id: int,
) -> Iterator[tuple[Any, ...]]:
    """Complaints `first_id` .. `first_id + count - 1`, received over the last DAYS days. The state of each
    follows from its age: recent ones mostly open, older ones mostly closed, a few stuck open (overdue),
    withdrawn, merged into an earlier complaint or under 核查 review."""
    rng = random.Random(seed_)
    rnd = rng.random
    dl = Deadlines()
    span = DAYS * 86400.0
    h = timedelta(hours=1)
    for row_id in range(first_id, first_id + count):
        (org_id, name, id_number, phone, declared, policy_no, claim_no, line, cause, demand, amount, channel,
         description, search_doc, birth_year) = pool[int(rnd() * len(pool))]  # fmt: skip
        # receipt: uniform over the period, office hours (08:00-20:00 China time) mostly
        day_start = now - timedelta(seconds=rnd() * span)
        local = day_start + CN
        received = (local.replace(hour=8, minute=0, second=0, microsecond=0) - CN) + timedelta(
            seconds=rnd() * 12 * 3600
        )
        if received > now:
            received = now - timedelta(minutes=rnd() * 600)
        age = (now - received).total_seconds() / 86400
        due0, due1, contact_due = dl.for_day(received)
        ext = 1 if rnd() < 0.12 else 0
        due = due1 if ext else due0
        groups = set(declared)
        if birth_year is not None:
            years = received.year - birth_year
            if years >= 60:
                groups.add("elderly")
            elif years < 18:
                groups.add("minor")
        special = "," + ",".join(sorted(groups)) + "," if groups else ""

        u = rnd()
        if age < 15:
            status = "open" if u < 1 - age / 15 * 0.85 else "done"
        elif u < 0.002:
            status = "open"  # stuck past its deadline: overdue
        elif u < 0.03:
            status = "withdrawn"
        elif u < 0.04:
            status = "merged"
        elif u < 0.05:
            status = "review"
        elif u < 0.08 and age < 60:
            status = "decided"
        else:
            status = "closed"
        if status == "done":
            status = "decided" if rnd() < 0.4 else "closed"
        if status == "open":
            v = rnd()
            status = (
                "received" if (v < 0.3 and age < 2) or v < 0.08 else ("accepted" if v < 0.4 else "handling")
            )

        handler_id = accepted_at = first_contact = decided_at = notified_at = closed_at = None
        outcome = decision = root_cause = rectification = merged_into = review_at = review_outcome = None
        on_time = None
        version = 1
        updated = received + timedelta(minutes=2)
        limit = now
        if status != "received":
            handler_id = rng.choice(handlers[org_id])
            accepted_at = min(received + h * (0.2 + rnd() * 6), limit)
            updated = accepted_at
            version = 2
            if status != "accepted":
                first_contact = min(accepted_at + h * (1 + rnd() * 30), limit)
                updated = first_contact
                version = 3
        if status in ("decided", "closed", "review"):
            late = rnd() < 0.04
            days = (15 + ext * 15) * (1 + rnd() * 0.4) if late else 1 + rnd() * (9 + ext * 10)
            decided_at = min(received + timedelta(days=days), limit)
            on_time = decided_at <= due
            notified_at = min(decided_at + h * rnd() * 20, limit)
            outcome = rng.choice(("upheld", "partial", "rejected"))
            decision = DECISIONS[outcome]
            updated = notified_at
            version = 5
            if status == "closed":
                closed_at = min(notified_at + timedelta(days=0.2 + rnd() * 3), limit)
                updated = closed_at
                version = 6
                if rnd() < 0.25:
                    root_cause, rectification = rng.choice(ROOT_CAUSES)
            elif status == "review":
                review_at = min(notified_at + timedelta(days=1 + rnd() * 20), limit)
                updated = review_at
                version = 6
        elif status == "withdrawn":
            closed_at = min(received + timedelta(days=1 + rnd() * 6), limit)
            updated = closed_at
            version = 4
        elif status == "merged":
            merged_into = max(1, row_id - 1 - int(rnd() * 5000)) if row_id > 1 else None
            if merged_into is None:
                status = "withdrawn"
            closed_at = min(received + timedelta(days=rnd() * 2), limit)
            updated = closed_at
            version = 2
        regulator_ref = f"12378-{received.year}-{row_id:08d}" if channel == "regulator" else None
        yield (
            row_id, tracking_no(received, row_id), version, status, org_id, handler_id, creator_id, name,
            id_number, phone, special, 1, policy_no, claim_no, line, cause, demand, amount, channel,
            regulator_ref, description, search_doc, received, received + timedelta(minutes=1), updated, ext,
            False, None, due, contact_due, received, accepted_at, first_contact, decided_at, notified_at,
            closed_at, outcome, decision, root_cause, rectification, merged_into, review_at, review_outcome,
            on_time,
        )  # fmt: skip


# ---------------------------------------------------------------- bulk load

_WORK: dict[str, Any] = {}  # handed to the forked loader processes


def _load_part(part: tuple[int, int, int]) -> int:
    first_id, count, seed_ = part
    w = _WORK
    done = 0
    cols = ", ".join(COLUMNS)
    with psycopg.connect(conninfo(DB_NAME)) as conn:
        conn.execute("SET session_replication_role = replica")  # skip FK triggers: rows are consistent
        conn.execute("SET synchronous_commit = off")
        with conn.cursor() as cur, cur.copy(f"COPY complaint ({cols}) FROM STDIN") as copy:
            for row in make_rows(first_id, count, seed_, w["now"], w["pool"], w["handlers"], w["creator_id"]):
                copy.write_row(row)
                done += 1
                if done % 100_000 == 0:
                    log(f"  loader {seed_}: {done:,} rows")
    return done


def secondary_indexes(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the complaint table's indexes that back no constraint."""
    rows = conn.execute(
        """SELECT indexname, indexdef FROM pg_indexes
           WHERE schemaname = 'public' AND tablename = 'complaint'
             AND indexname NOT IN (SELECT conname FROM pg_constraint
                                   WHERE conrelid = 'complaint'::regclass)"""
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def bulk_load(rows: int, seeded: dict[str, Any], now: datetime, processes: int = 2) -> float:
    t0 = time.perf_counter()
    pool = build_pool(now, seeded["org_ids"])
    log(f"pool of {len(pool):,} generated complaints in {time.perf_counter() - t0:.1f} s")
    with psycopg.connect(conninfo(DB_NAME), autocommit=True) as conn:
        missing = missing_model_indexes(conn)
        indexes = secondary_indexes(conn)
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
    log(f"dropped {len(indexes)} secondary indexes for the load")
    if missing:
        log(
            f"the model declares {len(missing)} index(es) its migration lacks, built here too: "
            + ", ".join(name for name, _ in missing)
        )
        indexes += missing
    _WORK.update(now=now, pool=pool, handlers=seeded["handlers"], creator_id=seeded["creator_id"])
    per = rows // processes
    parts = [(1 + k * per, per if k < processes - 1 else rows - per * (processes - 1), k + 1)
             for k in range(processes)]  # fmt: skip
    t1 = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as p:
        loaded = sum(p.map(_load_part, parts))
    log(f"COPY: {loaded:,} rows in {time.perf_counter() - t1:.1f} s")
    t2 = time.perf_counter()
    # rebuild the indexes on two connections at once (the full-text GIN index is the big one)
    gin = [ix for ix in indexes if "gin" in ix[1].lower()]
    btree = [ix for ix in indexes if ix not in gin]

    def build(group: list[tuple[str, str]]) -> None:
        with psycopg.connect(conninfo(DB_NAME), autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '512MB'")
            for _name, ddl in group:
                conn.execute(ddl)

    procs = [ctx.Process(target=build, args=(g,)) for g in (gin, btree) if g]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join()
        if pr.exitcode:
            raise RuntimeError("index rebuild failed")
    log(f"rebuilt {len(indexes)} indexes in {time.perf_counter() - t2:.1f} s")
    t3 = time.perf_counter()
    with psycopg.connect(conninfo(DB_NAME), autocommit=True) as conn:
        conn.execute("SELECT setval('complaint_id_seq', %s)", (rows,))
        conn.execute("VACUUM (ANALYZE) complaint")
    log(f"VACUUM ANALYZE in {time.perf_counter() - t3:.1f} s")
    return time.perf_counter() - t0


# ---------------------------------------------------------------- timing

OPEN = [("status", "received"), ("status", "accepted"), ("status", "handling")]
LIST_QUERIES: list[tuple[str, list[tuple[str, str]]]] = [
    ("open (FJ scope)", OPEN),
    ("open, org=FJ-QZ", [*OPEN, ("org", "FJ-QZ")]),
    ("due=overdue", [("due", "overdue")]),
    ("q=定损 (full text)", [("q", "定损")]),
    ("q=理赔员 + open", [("q", "理赔员"), *OPEN]),
    ("special_group=elderly", [("special_group", "elderly")]),
    ("all, page 1", []),
    ("all, page 50", [("page", "50")]),
    ("cause=claims, page 50", [("cause", "claims"), ("page", "50")]),
]
DASHBOARDS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("FJ officer, 90 days", "fj_officer", []),
    ("HQ officer (whole company), 90 days", "hq_officer", []),
]


async def _time(host: str, port: int, path: str, token: str, n: int) -> tuple[list[float], dict[str, Any]]:
    conn = HttpConnection(host, port)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    lat: list[float] = []
    body: dict[str, Any] = {}
    try:
        for k in range(n + 2):  # two warm-up requests per query, not timed
            t0 = time.perf_counter()
            status, data = await conn.request("GET", path, headers)
            dt = time.perf_counter() - t0
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {data[:300]!r}")
            if k >= 2:
                lat.append(dt * 1000)
            body = json.loads(data)
    finally:
        await conn.close()
    return lat, body


def time_http(base_url: str, tokens: dict[str, str], iterations: int) -> tuple[list[float], list[float]]:
    host, port_s = base_url.removeprefix("http://").split(":")
    port = int(port_s)
    all_list: list[float] = []
    all_dash: list[float] = []
    log(f"{'list query (as fj_officer)':40s} {'total':>9s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}")
    for name, params in LIST_QUERIES:
        path = "/api/v1/complaints?" + urlencode(params)
        lat, body = asyncio.run(_time(host, port, path, tokens["fj_officer"], iterations))
        all_list += lat
        s = sorted(lat)
        log(f"{name:40s} {body.get('total', '?')!s:>9s} {percentile(s, 50):8.1f} {percentile(s, 95):8.1f} "
            f"{s[-1]:8.1f}")  # fmt: skip
    for name, user, params in DASHBOARDS:
        path = "/api/v1/complaints-stats/dashboard" + ("?" + urlencode(params) if params else "")
        lat, body = asyncio.run(_time(host, port, path, tokens[user], iterations))
        all_dash += lat
        s = sorted(lat)
        kpi = body.get("kpi", {})
        log(f"dashboard {name:30s} {kpi.get('received', '?')!s:>9s} {percentile(s, 50):8.1f} "
            f"{percentile(s, 95):8.1f} {s[-1]:8.1f}   (kpi: {json.dumps(kpi)})")  # fmt: skip
    return all_list, all_dash


def explain(url: str, now: datetime) -> None:
    """EXPLAIN ANALYZE the SQL that `queries.list_complaints` runs for each list query (count and page)."""
    from sqlalchemy import func, select

    from xiaobao.auth import services as auth
    from xiaobao.auth.tables import User
    from xiaobao.complaints import queries
    from xiaobao.complaints.tables import Complaint
    from xiaobao.core.db import make_engine, make_session_factory

    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        who = auth.principal_for(s.scalars(select(User).where(User.username == "fj_officer")).one())
        for name, params in LIST_QUERIES:
            multi: dict[str, Any] = {}
            for k, v in params:
                multi.setdefault(k, []).append(v)
            f = queries.ComplaintFilter(
                status=multi.get("status"), org_code=(multi.get("org") or [None])[0],
                cause=(multi.get("cause") or [None])[0], due=(multi.get("due") or [None])[0],
                special_group=(multi.get("special_group") or [None])[0], q=(multi.get("q") or [None])[0],
                page=int((multi.get("page") or ["1"])[0]),
            )  # fmt: skip
            base = queries.filtered(s, who, f, now, timedelta(days=3))
            count = select(func.count()).select_from(base.with_only_columns(Complaint.id).subquery())
            page = base.order_by(Complaint.received_at.desc(), Complaint.id.desc()).offset(
                (f.page - 1) * 20).limit(20)  # fmt: skip
            for label, stmt in (("count", count), ("page", page)):
                compiled = stmt.compile(
                    dialect=s.get_bind().dialect, compile_kwargs={"render_postcompile": True}
                )
                plan = (
                    s.connection()
                    .exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params)
                    .scalars()
                    .all()
                )
                log(f"\n== {name} [{label}]\n" + "\n".join(plan))
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--iterations", type=int, default=20, help="timed requests per query (after 2 warm-up)")
    ap.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    ap.add_argument("--reuse-db", action="store_true", help="reuse a kept, loaded database (skip the load)")
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the list queries to stderr")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers (requests are sequential)")
    args = ap.parse_args()

    now = datetime.now(UTC)
    url = db_url(DB_NAME)
    load_secs = 0.0
    try:
        if args.reuse_db:
            from xiaobao.core import migrate

            migrate.upgrade(url)
            with psycopg.connect(conninfo(DB_NAME)) as conn:
                row = conn.execute("SELECT max(received_at) FROM complaint").fetchone()
                tokens = {}
                assert row is not None and row[0] is not None, "nothing loaded: run without --reuse-db"
            now = row[0] + timedelta(minutes=1)
            from xiaobao.core.db import make_engine, make_session_factory

            engine = make_engine(url)
            with make_session_factory(engine)() as s:
                from sqlalchemy import select

                from xiaobao.auth.tables import User

                for username in ("fj_officer", "hq_officer"):
                    user = s.scalars(select(User).where(User.username == username)).one()
                    tokens[username] = issue_token(s, user, datetime.now(UTC), "bench rerun")
                s.commit()
            engine.dispose()
            with psycopg.connect(conninfo(DB_NAME), autocommit=True) as conn:
                conn.execute("SET maintenance_work_mem = '512MB'")
                for name, ddl in missing_model_indexes(conn):
                    log(f"building {name} (declared by the model, missing from the migration)")
                    conn.execute(ddl)
                    conn.execute("VACUUM (ANALYZE) complaint")
            log(f"reusing {DB_NAME}")
        else:
            create_database(DB_NAME)
            seeded = seed(url, now)
            tokens = seeded["tokens"]
            log(f"seeded {len(seeded['org_ids'])} orgs, {2 * len(seeded['handlers'])} handlers, 2 officers")
            load_secs = bulk_load(args.rows, seeded, now)
            log(f"load total: {load_secs:.1f} s")
        with psycopg.connect(conninfo(DB_NAME)) as conn:
            r = conn.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('complaint')) "
                             "FROM complaint").fetchone()  # fmt: skip
            assert r is not None
            rows, size = int(r[0]), r[1]
        log(f"complaint table: {rows:,} rows, {size} with indexes")
        if args.explain:
            explain(url, now)

        server = start_server(url, args.workers)
        try:
            log(
                f"server up at {server.base_url} ({args.workers} worker); "
                f"{args.iterations} timed requests per query"
            )
            list_lat, dash_lat = time_http(server.base_url, tokens, args.iterations)
        finally:
            server.stop()
    finally:
        if not args.keep_db:
            drop_database(DB_NAME)
            log(f"database {DB_NAME} dropped")

    ls, ds = sorted(list_lat), sorted(dash_lat)
    lp95, dp95 = percentile(ls, 95), percentile(ds, 95)
    print(f"load: {rows:,} complaints in {load_secs:.0f} s" if load_secs else f"load: reused ({rows:,} rows)")
    print(f"list: {len(ls)} requests, p50={percentile(ls, 50):.1f} ms p95={lp95:.1f} ms (target <= 150)")
    print(f"dashboard: {len(ds)} requests, p50={percentile(ds, 50):.1f} ms p95={dp95:.1f} ms (target <= 300)")
    print(f"queries: rows={rows} list_p95_ms={lp95:.0f} dashboard_p95_ms={dp95:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
