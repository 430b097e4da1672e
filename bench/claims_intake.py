"""Claim report intake benchmark (issue 6): how close does POST /api/v1/claims come to the database's own
insert ceiling for the same rows, during a declared catastrophe?

Setup: a fresh PostgreSQL database with the demo org tree, an IVR/integration user (claims operator at HQ)
with an API token, a policy table of 20,000 motor policies (so every report is looked up), and an active
typhoon event over Fujian (so every report is auto-tagged and handled under the event SLA).

1. API phase: the real server (uvicorn, `xiaobao.web.asgi:app`); 64 concurrent keep-alive clients POST
   /api/v1/claims for 20 s, each request with a Bearer token and a unique Idempotency-Key, each body a
   different report (place text in one of Fujian's districts, plate, cause, amount; half with a policy number).
   Counts 201s, records latencies.
2. Raw phase (after the server is stopped): 64 threads, one psycopg connection each, for 20 s insert the rows
   one intake writes — the case, its 'reported' and 'event_tagged' timeline rows, the audit row and the
   idempotency row — in one transaction per report, with every derived value computed beforehand.

Last line on stdout:
    claims_intake: api_per_s=<n> raw_per_s=<n> ratio=<api/raw> p99_ms=<n>
Target: ratio >= 0.3.

Run: .venv/bin/python bench/claims_intake.py [--workers N] [--clients 64] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import (  # noqa: E402
    HttpConnection,
    bench_database,
    conninfo,
    cpu_by_group,
    cpu_delta,
    fmt_cpu,
    fmt_rate,
    issue_token,
    log,
    seed_orgs,
    seed_user,
    start_server,
)
from intake import ApiResult, summarise  # noqa: E402

DB_NAME = "xb_bench_claims_intake"
PATH = "/api/v1/claims"
N_POLICIES = 20_000


# ---------------------------------------------------------------- seeding


def _plate(i: int) -> str:
    return f"闽{'ABCDEFGHJK'[i % 9]}{i % 100000:05d}"


def seed(url: str, now: datetime) -> tuple[str, dict[str, int], int, int]:
    """Orgs, the integration user and token, policies, the active event. Returns (token, org ids, user, event)."""
    from xiaobao.claims.tables import CatEvent, Policy
    from xiaobao.core.db import make_engine, make_session_factory

    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        orgs = seed_orgs(s)
        user = seed_user(s, orgs["HQ"], "ivr_integration", ["claims_operator"], now)
        token = issue_token(s, user, now, "claims IVR")
        start = datetime(now.year - 1, 1, 1, tzinfo=UTC)
        s.add_all(
            Policy(
                policy_no=f"PDAA{now.year}35{i:08d}",
                line="motor",
                holder_name="投保人",
                plate=_plate(i),
                valid_from=start,
                valid_to=start + timedelta(days=730),
                imported_at=now,
            )
            for i in range(N_POLICIES)
        )
        event = CatEvent(
            code="BENCH-TY",
            name="台风（压测）",
            peril="typhoon",
            regions=["35"],
            starts_at=now - timedelta(days=2),
            contact_minutes=30,
            survey_hours=48,
            active=True,
            declared_at=now,
        )
        s.add(event)
        s.commit()
        org_ids = {code: o.id for code, o in orgs.items()}
        user_id, event_id = user.id, event.id
    engine.dispose()
    return token, org_ids, user_id, event_id


CAUSES = ["waterlogging"] * 5 + ["typhoon"] * 2 + ["fallen_object", "rainstorm", "collision"]
STREETS = ["中山路", "八一七路", "丰泽街", "湖滨北路", "成功大道", "滨海路", "温泉路", "鼓浪屿路"]


def payloads(n: int, seed_: int, now: datetime) -> list[dict[str, Any]]:
    from xiaobao.claims.geo import _seats

    rng = random.Random(seed_)
    seats = _seats()
    out = []
    for _ in range(n):
        _, district, _, _ = rng.choice(seats)
        i = rng.randrange(N_POLICIES * 2)  # half the plates have a policy
        body: dict[str, Any] = {
            "reporter_name": rng.choice("陈林黄张李王吴刘蔡杨")
            + rng.choice(["志明", "秀英", "建华", "丽娟", "国强", "美玲"]),
            "reporter_phone": f"139{rng.randrange(10**8):08d}",
            "line": "motor",
            "cause": rng.choice(CAUSES),
            "loss_at": (now - timedelta(minutes=rng.randrange(1, 48 * 60))).isoformat(),
            "place_text": f"福建省{district}{rng.choice(STREETS)}{rng.randrange(1, 300)}号",
            "vehicle_plate": _plate(i),
            "description": "台风暴雨，车辆停放处积水，发动机进水无法启动，请求拖车。",
            "people_at_risk": 1 if rng.random() < 0.03 else 0,
            "rescue_needed": rng.random() < 0.2,
            "estimated_amount": str(rng.choice([1800, 3500, 4800, 7600, 12000, 26000])),
            "channel": "api",
        }
        if i < N_POLICIES and rng.random() < 0.5:
            body["policy_no"] = f"PDAA{now.year}35{i:08d}"
        out.append(body)
    return out


# ---------------------------------------------------------------- API phase


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
            status, data = await conn.request("POST", PATH, headers, body)
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

COLS = (
    "report_no, version, status, channel, org_id, created_by_id, reporter_name, reporter_phone, special_group, "
    "policy_no, policy_id, policy_check, loss_at, place_text, district_code, geocode, lat, lon, cause, line, "
    "vehicle_plate, property_address, description, people_at_risk, rescue_needed, estimated_amount, fast_track, "
    "priority, event_id, prepaid_amount, reopen_count, contact_attempts, reported_at, created_at, updated_at, "
    "event_mode, contact_due, survey_due"
)
INSERT_CASE = (
    f"INSERT INTO claim_case ({COLS}) VALUES ({', '.join(['%s'] * len(COLS.split(',')))}) RETURNING id"
)
INSERT_EVENT = """
INSERT INTO claim_event (case_id, at, actor_id, actor_label, kind, from_status, to_status, text, data)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"""
INSERT_AUDIT = """
INSERT INTO audit_log (at, actor_id, actor_label, action, entity_type, entity_id, before, after, ip)
VALUES (%s, %s, %s, 'claim.report', 'claim', %s, NULL, %s, %s)"""
INSERT_IDEMPOTENCY = """
INSERT INTO claim_idempotency (caller, key, request_hash, status_code, response, created_at)
VALUES (%s, %s, %s, 201, %s, %s)"""


def raw_rows(
    bodies: list[dict[str, Any]],
    org_ids: dict[str, int],
    policy_ids: dict[str, int],
    user_id: int,
    event_id: int,
) -> list[dict[str, Any]]:
    """What the app derives for each report (district, org, policy look-up, fast track, priority, deadlines under
    the event SLA), computed before the phase so the raw phase measures the database, not Python."""
    from decimal import Decimal

    from xiaobao.claims import deadlines
    from xiaobao.claims.domain import is_fast_track, priority
    from xiaobao.claims.geo import locate
    from xiaobao.claims.services import normalise_plate
    from xiaobao.demo.generator import demo_orgs

    by_region = {o.region_code[:4]: o.code for o in demo_orgs() if o.kind == "subbranch" and o.region_code}
    rows = []
    for b in bodies:
        d = locate(b["place_text"])
        code = d.code if d else None
        org = org_ids[by_region.get((code or "")[:4], "FJ")]
        plate = normalise_plate(b["vehicle_plate"])
        pid = policy_ids.get(b.get("policy_no") or "") or policy_ids.get(plate or "")
        amount = Decimal(b["estimated_amount"])
        fast = is_fast_track("motor", b["cause"], amount, b["people_at_risk"])
        rows.append(
            {
                "body": b,
                "org": org,
                "district": code,
                "plate": plate,
                "policy_id": pid,
                "policy_check": "found" if pid else "not_found",
                "amount": amount,
                "fast": fast,
                "priority": priority(
                    people_at_risk=b["people_at_risk"],
                    rescue_needed=b["rescue_needed"],
                    special_group=None,
                    in_event=True,
                    fast_track=fast,
                ),
                "sla": deadlines.event_sla(30, 48),
                "user": user_id,
                "event": event_id,
            }
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
    rows: list[dict[str, Any]],
    start: int,
    stride: int,
    sample: dict[str, Any],
    until: float,
    result: RawResult,
) -> None:
    lat: list[float] = []
    errors: list[str] = []
    label = "ivr_integration (ivr_integration)"
    i = start
    n = len(rows)
    while time.perf_counter() < until:
        r = rows[i % n]
        b = r["body"]
        i += stride
        now = datetime.now(UTC)
        no = "BA" + uuid.uuid4().hex[:12].upper()
        loss_at = datetime.fromisoformat(b["loss_at"])
        t0 = time.perf_counter()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    INSERT_CASE,
                    (
                        no,
                        1,
                        "reported",
                        "api",
                        r["org"],
                        r["user"],
                        b["reporter_name"],
                        b["reporter_phone"],
                        None,
                        b.get("policy_no"),
                        r["policy_id"],
                        r["policy_check"],
                        loss_at,
                        b["place_text"],
                        r["district"],
                        "text",
                        None,
                        None,
                        b["cause"],
                        "motor",
                        r["plate"],
                        None,
                        b["description"],
                        b["people_at_risk"],
                        b["rescue_needed"] or b["people_at_risk"] > 0,
                        r["amount"],
                        r["fast"],
                        r["priority"],
                        r["event"],
                        0,
                        0,
                        0,
                        now,
                        now,
                        now,
                        True,
                        now + timedelta(minutes=30),
                        now + timedelta(hours=48),
                    ),
                )
                row = cur.fetchone()
                assert row is not None
                cid = row[0]
                cur.executemany(
                    INSERT_EVENT,
                    [
                        (
                            cid,
                            now,
                            r["user"],
                            label,
                            "reported",
                            None,
                            "reported",
                            None,
                            Jsonb(
                                {
                                    "channel": "api",
                                    "policy_check": r["policy_check"],
                                    "district": r["district"],
                                }
                            ),
                        ),
                        (
                            cid,
                            now,
                            None,
                            "系统 (auto)",
                            "event_tagged",
                            None,
                            None,
                            "台风（压测）",
                            Jsonb({"event_id": r["event"], "auto": True}),
                        ),
                    ],
                )
                cur.execute(
                    INSERT_AUDIT,
                    (
                        now,
                        r["user"],
                        label,
                        str(cid),
                        Jsonb(
                            {
                                "report_no": no,
                                "status": "reported",
                                "channel": "api",
                                "org_id": r["org"],
                                "event_id": r["event"],
                                "policy_check": r["policy_check"],
                            }
                        ),
                        "127.0.0.1",
                    ),
                )
                cur.execute(
                    INSERT_IDEMPOTENCY,
                    (
                        f"user:{r['user']}",
                        uuid.uuid4().hex,
                        uuid.uuid4().hex * 2,
                        Jsonb({**sample, "id": cid, "report_no": no}),
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
    dsn: str, rows: list[dict[str, Any]], clients: int, seconds: float, sample: dict[str, Any]
) -> tuple[RawResult, float]:
    result = RawResult()
    conns = [psycopg.connect(dsn) for _ in range(clients)]
    try:
        start = time.perf_counter()
        until = start + seconds
        threads = [
            threading.Thread(
                target=_raw_worker, daemon=True, args=(conns[k], rows, k, clients, sample, until, result)
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("XIAOBAO_BENCH_WORKERS", "2")))
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args()
    log(
        f"claims intake bench: {args.clients} clients x {args.seconds:.0f} s, {args.workers} worker(s), {os.cpu_count()} CPUs"
    )
    now = datetime.now(UTC)
    with bench_database(DB_NAME, keep=args.keep_db) as url:
        token, org_ids, user_id, event_id = seed(url, now)
        reports = payloads(20_000, 20230728, now)
        bodies = [json.dumps(p, ensure_ascii=False).encode() for p in reports]
        log(
            f"seeded {len(org_ids)} orgs, {N_POLICIES} policies, an active typhoon event over Fujian; {len(bodies)} reports"
        )

        server = start_server(url, args.workers)
        try:
            cpu_box: dict[str, dict[str, float]] = {}

            async def run() -> ApiResult:
                task = asyncio.create_task(
                    _api_load(server.base_url, token, bodies, args.clients, args.warmup, args.seconds)
                )
                await asyncio.sleep(args.warmup)
                cpu_box["start"] = cpu_by_group(server.pid)
                res = await task
                cpu_box["end"] = cpu_by_group(server.pid)
                return res

            api = asyncio.run(run())
            api_secs = api.measured_to - api.measured_from
        finally:
            server.stop()
        created = api.status.get(201, 0)
        api_rate = created / api_secs
        errors = sum(v for k, v in api.status.items() if k != 201) + api.transport_errors
        log(
            f"API phase: {created} reports in {api_secs:.1f} s = {api_rate:.1f}/s; status {api.status}; errors {errors}"
        )
        for e in api.errors[:5]:
            log(f"  error: {e}")
        if errors:
            log("  server log (tail):\n" + server.log_tail)
        api_cpu = cpu_delta(cpu_box["start"], cpu_box["end"])
        log(f"  CPU during API phase: {fmt_cpu(api_cpu, api_secs)}")
        if created:
            # the load-independent figure: what one report costs the server, whatever else runs on the box
            log(
                f"  server CPU per report: {1000 * api_cpu['server'] / created:.1f} ms "
                f"(PostgreSQL {1000 * api_cpu['postgres'] / created:.1f} ms)"
            )
        sample = api.sample_body or {}
        if sample:
            log(
                f"  sample answer: district={sample.get('district_code')} event={sample.get('event_id')} "
                f"policy_check={sample.get('policy_check')} contact_due={sample['deadlines']['contact_due']}"
            )
        api_p = summarise("  API latency", api.latencies)

        with psycopg.connect(conninfo(DB_NAME)) as conn:
            policy_ids: dict[str, int] = {}
            for pid, pno, plate in conn.execute("SELECT id, policy_no, plate FROM claim_policy"):
                policy_ids[pno] = pid
                if plate:
                    policy_ids[plate] = pid
        rows = raw_rows(reports[:5000], org_ids, policy_ids, user_id, event_id)
        cpu0 = cpu_by_group(None)
        raw, raw_secs = raw_phase(conninfo(DB_NAME), rows, args.clients, args.seconds, sample)
        cpu1 = cpu_by_group(None)
        raw_rate = raw.count / raw_secs
        log(
            f"raw phase: {raw.count} reports in {raw_secs:.1f} s = {raw_rate:.1f}/s (4 statements + COMMIT); errors {len(raw.errors)}"
        )
        for e in raw.errors[:5]:
            log(f"  error: {e}")
        log(f"  CPU during raw phase: {fmt_cpu(cpu_delta(cpu0, cpu1), raw_secs)}")
        summarise("  raw latency", raw.latencies)

    ratio = api_rate / raw_rate if raw_rate > 0 else float("nan")
    p99 = api_p[99]
    print(
        f"API: {api_rate:.1f}/s p50={api_p[50]:.1f} ms p99={p99:.1f} ms errors={errors}; raw ceiling {raw_rate:.1f}/s"
    )
    print(f"target ratio >= 0.3: {'met' if ratio >= 0.3 else 'NOT met'}")
    print(
        f"claims_intake: api_per_s={fmt_rate(api_rate)} raw_per_s={fmt_rate(raw_rate)} ratio={ratio:.2f} p99_ms={p99:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
