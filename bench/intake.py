"""Intake benchmark (issue 2): how close does the complaint API come to the database's own insert ceiling?

1. API phase: the real server (uvicorn, `xiaobao.web.asgi:app`) on a fresh PostgreSQL database; 64
   concurrent keep-alive clients POST /api/v1/complaints for 20 s, each request with a Bearer API token and
   a unique Idempotency-Key, each body a different realistic complaint. Counts 201s, records latencies.
2. Raw phase (same run, after the server is stopped): 64 threads, one psycopg connection each, for 20 s
   insert the rows one intake writes — the complaint, its 'received' event, the audit row and the
   idempotency row — in one transaction per complaint (the database's ceiling for this write).

Last line on stdout:
    intake: api_per_s=<n> raw_per_s=<n> ratio=<api/raw> p99_ms=<n>
Target: ratio >= 0.3, p99 <= 100 ms.

Run: .venv/bin/python bench/intake.py [--workers N] [--clients 64] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import (  # noqa: E402
    HttpConnection,
    api_payload,
    bench_database,
    complaint_records,
    conninfo,
    cpu_by_group,
    cpu_delta,
    db_sessions,
    fmt_cpu,
    fmt_rate,
    issue_token,
    log,
    percentile,
    seed_orgs,
    seed_user,
    start_server,
)

DB_NAME = "xb_bench_intake"


# ---------------------------------------------------------------- seeding


def seed(url: str) -> tuple[str, dict[str, int], int]:
    """The demo org tree plus an integration user (officer at HQ, so every branch is in scope) with an API
    token. Returns (token, org code -> id, user id)."""
    from xiaobao.core.db import make_engine, make_session_factory

    engine = make_engine(url)
    now = datetime.now(UTC)
    with make_session_factory(engine)() as s:
        orgs = seed_orgs(s)
        user = seed_user(s, orgs["HQ"], "crm_integration", ["officer"], now)
        token = issue_token(s, user, now, "hotline CRM")
        s.commit()
        org_ids = {code: o.id for code, o in orgs.items()}
        user_id = user.id
    engine.dispose()
    return token, org_ids, user_id


# ---------------------------------------------------------------- API phase


class ApiResult:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.status: dict[int, int] = {}
        self.errors: list[str] = []
        self.transport_errors = 0
        self.sample_body: dict[str, Any] | None = None
        self.measured_from = 0.0
        self.measured_to = 0.0


async def _client_loop(
    conn: HttpConnection,
    bodies: list[bytes],
    start: int,
    stride: int,
    token: str,
    record_from: float,
    until: float,
    result: ApiResult,
) -> None:
    """One client: POST back to back until `until`; requests started before `record_from` are warm-up."""
    i = start
    n = len(bodies)
    while (t0 := time.perf_counter()) < until:
        body = bodies[i % n]
        i += stride
        headers = {
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json",
        }
        record = t0 >= record_from
        try:
            status, data = await conn.request("POST", "/api/v1/complaints", headers, body)
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            if record:
                result.transport_errors += 1
                if len(result.errors) < 20:
                    result.errors.append(f"{type(e).__name__}: {e}")
            continue
        dt = time.perf_counter() - t0
        if not record:
            continue
        result.status[status] = result.status.get(status, 0) + 1
        if status == 201:
            result.latencies.append(dt)
            if result.sample_body is None:
                result.sample_body = json.loads(data)
        elif len(result.errors) < 20:
            result.errors.append(f"{status}: {data[:300].decode(errors='replace')}")
    await conn.close()


async def _api_load(
    base_url: str, token: str, bodies: list[bytes], clients: int, warmup: float, seconds: float
) -> ApiResult:
    """Warm-up and measurement in one continuous run (no requests are abandoned in between): the rate is
    the 201s of requests started in the measured window over the time until the last of them answered."""
    result = ApiResult()
    host, port = base_url.removeprefix("http://").split(":")
    conns = [HttpConnection(host, int(port)) for _ in range(clients)]
    now = time.perf_counter()
    record_from = now + warmup
    until = record_from + seconds
    await asyncio.gather(
        *(
            _client_loop(conns[k], bodies, k, clients, token, record_from, until, result)
            for k in range(clients)
        )
    )
    result.measured_from = record_from
    result.measured_to = time.perf_counter()
    return result


# ---------------------------------------------------------------- raw phase

INSERT_COMPLAINT = """
INSERT INTO complaint (tracking_no, version, status, org_id, handler_id, created_by_id, complainant_name,
  id_number, phone, special_groups, representatives, policy_no, claim_no, business_line, cause, demand,
  amount_claimed, channel, regulator_ref, description, search_doc, received_at, created_at, updated_at,
  extension_level, extension2_requested, paused_since, regulatory_due, contact_due, clock_start)
VALUES (%s, 1, 'received', %s, NULL, %s, %s, %s, %s, %s, 1, %s, %s, %s, %s, %s, %s, %s, %s, %s,
  %s, %s, %s, %s, 0, false, NULL, %s, %s, %s)
RETURNING id"""
INSERT_EVENT = """
INSERT INTO complaint_event (complaint_id, at, actor_id, actor_label, kind, text, data)
VALUES (%s, %s, %s, %s, 'received', NULL, %s)"""
INSERT_AUDIT = """
INSERT INTO audit_log (at, actor_id, actor_label, action, entity_type, entity_id, before, after, ip)
VALUES (%s, %s, %s, 'complaint.create', 'complaint', %s, NULL, %s, %s)"""
INSERT_IDEMPOTENCY = """
INSERT INTO idempotency_record (caller, key, request_hash, status_code, response, created_at)
VALUES (%s, %s, %s, 201, %s, %s)"""


def raw_rows(payloads: list[dict[str, Any]], org_ids: dict[str, int], now: datetime) -> list[tuple[Any, ...]]:
    """The column values the app derives for each payload (deadlines, special groups, search terms),
    computed before the phase so the raw phase measures the database, not Python."""
    from xiaobao.complaints import deadlines
    from xiaobao.complaints.domain import search_tokens
    from xiaobao.complaints.services import _special_groups
    from xiaobao.core.calendar import WorkCalendar

    cal = WorkCalendar()
    rows = []
    for p in payloads:
        received = datetime.fromisoformat(p["received_at"]) if p.get("received_at") else now
        rows.append(
            (
                org_ids[p["org_code"]],
                p["complainant_name"],
                p["id_number"],
                p["phone"],
                _special_groups(p["id_number"], p["special_groups"], received),
                p["policy_no"],
                p.get("claim_no"),
                p["business_line"],
                p["cause"],
                p["demand"],
                p.get("amount_claimed"),
                p["channel"],
                p.get("regulator_ref"),
                p["description"],
                search_tokens(p["description"]),
                received,
                deadlines.regulatory_due(received, 0, []),
                deadlines.contact_due(received, cal, 1),
            )
        )
    return rows


class RawResult:
    def __init__(self) -> None:
        self.count = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()


def _raw_worker(
    conn: psycopg.Connection[Any],
    rows: list[tuple[Any, ...]],
    start: int,
    stride: int,
    user_id: int,
    label: str,
    response: dict[str, Any],
    audit_after: dict[str, Any],
    until: float,
    result: RawResult,
) -> None:
    lat: list[float] = []
    errors: list[str] = []
    i = start
    n = len(rows)
    while time.perf_counter() < until:
        r = rows[i % n]
        i += stride
        now = datetime.now(UTC)
        tracking = "TS" + uuid.uuid4().hex[:10].upper()
        t0 = time.perf_counter()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    INSERT_COMPLAINT, (tracking, r[0], user_id, *r[1:15], now, now, now, r[15], r[16], now)
                )
                row = cur.fetchone()
                assert row is not None
                cid = row[0]
                cur.execute(INSERT_EVENT, (cid, now, user_id, label, Jsonb({"channel": r[11]})))
                cur.execute(
                    INSERT_AUDIT,
                    (
                        now,
                        user_id,
                        label,
                        str(cid),
                        Jsonb({**audit_after, "tracking_no": tracking}),
                        "127.0.0.1",
                    ),
                )
                cur.execute(
                    INSERT_IDEMPOTENCY,
                    (
                        f"user:{user_id}",
                        uuid.uuid4().hex,
                        uuid.uuid4().hex * 2,
                        Jsonb({**response, "id": cid, "tracking_no": tracking}),
                        now,
                    ),
                )
            conn.commit()
        except psycopg.Error as e:
            conn.rollback()
            errors.append(f"{type(e).__name__}: {e}")
            continue
        lat.append(time.perf_counter() - t0)
    with result.lock:
        result.count += len(lat)
        result.latencies.extend(lat)
        result.errors.extend(errors[:20])


def raw_phase(
    dsn: str,
    rows: list[tuple[Any, ...]],
    clients: int,
    seconds: float,
    user_id: int,
    response: dict[str, Any],
) -> tuple[RawResult, float]:
    label = "crm_integration (crm_integration)"
    audit_after = {
        "status": "received",
        "handler_id": None,
        "extension_level": 0,
        "extension2_requested": False,
        "paused_since": None,
        "regulatory_due": response.get("regulatory_due"),
        "decision_outcome": None,
        "decision": None,
        "merged_into_id": None,
        "review_outcome": None,
        "root_cause": None,
        "rectification": None,
        "org_id": rows[0][0],
        "first_contact_at": None,
        "notified_at": None,
        "closed_at": None,
        "version": 1,
    }
    result = RawResult()
    # open every connection first (not timed); fail clearly if the server refuses some
    conns = [psycopg.connect(dsn) for _ in range(clients)]
    try:
        start = time.perf_counter()
        until = start + seconds
        threads = [
            threading.Thread(
                target=_raw_worker,
                daemon=True,
                args=(conns[k], rows, k, clients, user_id, label, response, audit_after, until, result),
            )
            for k in range(clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return result, time.perf_counter() - start
    finally:
        for c in conns:
            c.close()


# ---------------------------------------------------------------- main


def summarise(name: str, latencies: list[float]) -> dict[str, float]:
    lat = sorted(x * 1000 for x in latencies)
    out = {p: percentile(lat, p) for p in (50, 95, 99)}
    out["max"] = lat[-1] if lat else float("nan")
    log(
        f"{name}: n={len(lat)} p50={out[50]:.1f} ms p95={out[95]:.1f} ms p99={out[99]:.1f} ms "
        f"max={out['max']:.1f} ms"
    )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("XIAOBAO_BENCH_WORKERS", "2")),
        help="uvicorn worker processes (default 2: one per core)",
    )
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument(
        "--warmup", type=float, default=3.0, help="seconds of unrecorded load before the API phase"
    )
    ap.add_argument("--keep-db", action="store_true", help="do not drop the bench database at the end")
    ap.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the server, e.g. XIAOBAO_DB_POOL_SIZE=30 (experiments)",
    )
    ap.add_argument("--skip-raw", action="store_true", help="API phase only (for profiling)")
    args = ap.parse_args()

    log(
        f"intake bench: {args.clients} clients x {args.seconds:.0f} s, {args.workers} uvicorn worker(s), "
        f"{os.cpu_count()} CPUs"
    )
    with bench_database(DB_NAME, keep=args.keep_db) as url:
        token, org_ids, user_id = seed(url)
        now = datetime.now(UTC)
        payloads = [api_payload(r) for r in complaint_records(20_000, 20240315, now)]
        bodies = [json.dumps(p, ensure_ascii=False).encode() for p in payloads]
        log(
            f"seeded {len(org_ids)} orgs, an integration user with an API token; {len(bodies)} payloads "
            "(xiaobao.demo.generator)"
        )

        server = start_server(url, args.workers, env=dict(kv.split("=", 1) for kv in args.server_env))
        try:
            log(f"server up at {server.base_url} (uvicorn, {args.workers} worker(s), access log off)")
            cpu_box: dict[str, dict[str, float]] = {}  # also connection counts

            async def run() -> ApiResult:
                task = asyncio.create_task(
                    _api_load(server.base_url, token, bodies, args.clients, args.warmup, args.seconds)
                )
                await asyncio.sleep(args.warmup)
                cpu_box["start"] = cpu_by_group(server.pid)
                cpu_box["sessions"] = {"start": db_sessions(DB_NAME)}
                res = await task
                cpu_box["end"] = cpu_by_group(server.pid)
                cpu_box["sessions"]["end"] = db_sessions(DB_NAME)
                return res

            api = asyncio.run(run())
            api_secs = api.measured_to - api.measured_from
        finally:
            server.stop()
        log(f"warm-up: {args.warmup:.0f} s of load before the measured window (not counted)")
        created = api.status.get(201, 0)
        api_rate = created / api_secs
        errors = sum(v for k, v in api.status.items() if k != 201) + api.transport_errors
        log(
            f"API phase: {created} complaints created in {api_secs:.1f} s = {api_rate:.1f}/s; "
            f"status counts {api.status}; errors {errors}"
        )
        for e in api.errors[:5]:
            log(f"  error: {e}")
        log(f"  CPU during API phase: {fmt_cpu(cpu_delta(cpu_box['start'], cpu_box['end']), api_secs)}")
        opened = cpu_box["sessions"]["end"] - cpu_box["sessions"]["start"]
        log(f"  database connections opened by the server during the phase: {opened:.0f}")
        if errors:
            log("  server log (tail):\n" + server.log_tail)
        api_p = summarise("  API latency", api.latencies)

        raw_rate = float("nan")
        if not args.skip_raw:
            rows = raw_rows(payloads[:5000], org_ids, now)
            sample = api.sample_body or {}
            cpu0 = cpu_by_group(None)
            raw, raw_secs = raw_phase(conninfo(DB_NAME), rows, args.clients, args.seconds, user_id, sample)
            cpu1 = cpu_by_group(None)
            raw_rate = raw.count / raw_secs
            log(
                f"raw phase: {raw.count} complaints inserted in {raw_secs:.1f} s = {raw_rate:.1f}/s "
                f"(4 INSERTs + COMMIT each, {args.clients} psycopg connections); errors {len(raw.errors)}"
            )
            for e in raw.errors[:5]:
                log(f"  error: {e}")
            log(f"  CPU during raw phase: {fmt_cpu(cpu_delta(cpu0, cpu1), raw_secs)}")
            summarise("  raw latency", raw.latencies)

    ratio = api_rate / raw_rate if raw_rate == raw_rate and raw_rate > 0 else float("nan")
    p99 = api_p[99]
    print(
        f"API: {api_rate:.1f}/s  p50={api_p[50]:.1f} ms  p95={api_p[95]:.1f} ms  p99={p99:.1f} ms  "
        f"errors={errors}  (workers={args.workers}, clients={args.clients}, {args.seconds:.0f} s)"
    )
    print(f"raw psycopg ceiling: {raw_rate:.1f}/s")
    met = ratio >= 0.3 and p99 <= 100
    print(f"target ratio >= 0.3 and p99 <= 100 ms: {'met' if met else 'NOT met'}")
    print(
        f"intake: api_per_s={fmt_rate(api_rate)} raw_per_s={fmt_rate(raw_rate)} ratio={ratio:.2f} "
        f"p99_ms={p99:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
