"""Command page cost (issue 6): what one live stream costs the server for a Meranti-sized event.

Setup: a fresh PostgreSQL database with the demo org tree, a commander at HQ, 300 staff profiles over the seven
factories, an event over Fujian with 15,206 cases (the Meranti 2016 Quanzhou count) spread over its first five
days in every status, with timestamps consistent with the status, a third with a pre-payment or payment on the
timeline, 2% with a rescue request. Rows are bulk-inserted (this measures reading, not intake).

Measured, in process, through the same functions the stream calls:
* `command.fingerprint()` — what every open stream runs every 2 s (median of 200 calls);
* `command.snapshot()` + JSON encoding — what a stream runs only when the fingerprint changed (median of 10);
* the encoded snapshot size (the map carries at most command.MAP_LIMIT points).

Last line on stdout:
    claims_command: cases=<n> fingerprint_ms=<median> snapshot_ms=<median> snapshot_kb=<n>

Run: .venv/bin/python bench/claims_command.py [--cases 15206] [--keep-db]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import bench_database, log, seed_orgs, seed_user  # noqa: E402

DB_NAME = "xb_bench_claims_command"
ORDER = ["reported", "contacted", "info_collected", "surveyed", "assessed", "settled", "paid", "closed"]
STAMP = {
    "contacted": "contacted_at",
    "info_collected": "info_collected_at",
    "surveyed": "surveyed_at",
    "assessed": "assessed_at",
    "settled": "settled_at",
    "paid": "paid_at",
    "closed": "closed_at",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=15206)
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args()

    from sqlalchemy import insert, select

    from xiaobao.auth import services as auth
    from xiaobao.bootstrap import bootstrap
    from xiaobao.claims import command
    from xiaobao.claims.geo import _seats
    from xiaobao.claims.staff import SEED_FACTORIES
    from xiaobao.claims.tables import (
        CatEvent,
        ClaimCase,
        ClaimEvent,
        Factory,
        RescueRequest,
        StaffProfile,
    )
    from xiaobao.config import Settings
    from xiaobao.core import migrate

    rng = random.Random(2016)
    now = datetime(2016, 9, 20, 4, 0, tzinfo=UTC)
    start = now - timedelta(days=5)
    with bench_database(DB_NAME, keep=args.keep_db) as url:
        migrate.upgrade(url)
        container = bootstrap(Settings(database_url=url, secret_key="bench-secret-key-0123456789"))
        districts = [(c, lat, lon) for c, _, lat, lon in _seats() if c.startswith("35")]
        with container.uow() as uow:
            s = uow.session
            orgs = seed_orgs(s)
            commander = seed_user(s, orgs["HQ"], "bench_commander", ["commander"], now)
            factories = []
            for code, zh, en, city in SEED_FACTORIES:
                f = Factory(code=code, name_zh=zh, name_en=en, city=city, regions=["35"], active=True)
                s.add(f)
                factories.append(f)
            s.flush()
            staff_ids = []
            for i in range(300):
                u = seed_user(s, orgs["HQ"], f"bench_op{i:03d}", ["claims_operator"], now)
                staff_ids.append(u.id)
                s.add(
                    StaffProfile(
                        user_id=u.id,
                        factory_id=factories[i % len(factories)].id,
                        kind="operator",
                        skills=["motor", "property"],
                        authority_limit=Decimal("20000"),
                        allowed_regions=[],
                        shifts=[["08:00", "20:00"]],
                        capacity=30,
                        online=i % 5 != 0,
                        updated_at=now,
                    )
                )
            e = CatEvent(
                code="MERANTI",
                name="台风莫兰蒂",
                peril="typhoon",
                regions=["35"],
                starts_at=start,
                declared_at=start,
                contact_minutes=30,
                survey_hours=48,
                active=True,
            )
            s.add(e)
            s.flush()
            eid, org_id = e.id, orgs["FJ"].id
            uow.commit()
        log(f"seeding {args.cases} cases")
        rows: list[dict[str, Any]] = []
        for i in range(args.cases):
            reported = start + timedelta(hours=rng.betavariate(1.3, 4) * 120)
            status = ORDER[min(len(ORDER) - 1, int(rng.betavariate(1.2, 2.2) * len(ORDER)))]
            district, lat, lon = rng.choice(districts)
            r: dict[str, Any] = {
                "report_no": f"BA{i:010d}",
                "version": 1,
                "status": status,
                "channel": "hotline",
                "org_id": org_id,
                "reporter_name": "测试",
                "reporter_phone": "13900000000",
                "policy_check": "not_given",
                "loss_at": reported - timedelta(hours=1),
                "place_text": "福建",
                "district_code": district,
                "geocode": "text",
                "lat": lat,
                "lon": lon,
                "cause": "waterlogging",
                "line": "motor" if rng.random() < 0.7 else "property",
                "description": "",
                "people_at_risk": 0,
                "rescue_needed": False,
                "estimated_amount": Decimal(rng.randrange(1000, 60000)),
                "fast_track": False,
                "priority": 1,
                "event_id": eid,
                "prepaid_amount": Decimal("0"),
                "reopen_count": 0,
                "contact_attempts": 0,
                "reported_at": reported,
                "created_at": reported,
                "updated_at": reported,
                "event_mode": True,
                "contact_due": reported + timedelta(minutes=30),
                "survey_due": reported + timedelta(hours=48),
                "assigned_user_id": rng.choice(staff_ids) if status != "reported" else None,
            }
            t = reported
            for st in ORDER[1 : ORDER.index(status) + 1]:
                t = min(now, t + timedelta(hours=rng.expovariate(1 / 6)))
                r[STAMP[st]] = t
            r["updated_at"] = t
            rows.append(r)
        with container.uow() as uow:
            s = uow.session
            for i in range(0, len(rows), 2000):
                s.execute(insert(ClaimCase), rows[i : i + 2000])
            ids = list(
                s.scalars(select(ClaimCase.id).where(ClaimCase.event_id == eid).order_by(ClaimCase.id))
            )
            money, rescues = [], []
            for cid in ids:
                if rng.random() < 0.33:
                    kind = rng.choice(["prepay", "pay"])
                    amount = rng.randrange(500, 20000)
                    data = {"prepaid": str(amount)} if kind == "prepay" else {"paid_now": str(amount)}
                    money.append(
                        {
                            "case_id": cid,
                            "at": start + timedelta(hours=rng.uniform(12, 119)),
                            "actor_label": "bench",
                            "kind": kind,
                            "data": data,
                        }
                    )
                if rng.random() < 0.02:
                    rescues.append(
                        {
                            "case_id": cid,
                            "kind": "tow",
                            "vendor": "拖车",
                            "status": rng.choice(["requested", "en_route", "done"]),
                            "requested_at": now - timedelta(hours=3),
                            "updated_at": now - timedelta(hours=3),
                        }
                    )
            if money:
                s.execute(insert(ClaimEvent), money)
            if rescues:
                s.execute(insert(RescueRequest), rescues)
            uow.commit()
        who = auth.principal_for(commander)
        log("measuring")
        fp_ms = []
        for _ in range(200):
            t0 = time.perf_counter()
            with container.uow() as uow:
                command.fingerprint(uow.session, eid, now)
            fp_ms.append((time.perf_counter() - t0) * 1000)
        snap_ms, size = [], 0
        for _ in range(10):
            t0 = time.perf_counter()
            with container.uow() as uow:
                snap = command.snapshot(uow.session, who, eid, now, "zh")
            body = json.dumps(snap, ensure_ascii=False, separators=(",", ":"))
            snap_ms.append((time.perf_counter() - t0) * 1000)
            size = len(body.encode())
        log(
            f"reported={snap['counts']['reported']} open={snap['counts']['open']} "
            f"one_week={snap['one_week']['ratio']:.3f} motor_closed={snap['motor']['rate']:.3f} "
            f"points={len(snap['map']['cases']['features'])}"
        )
        if container.engine is not None:
            container.engine.dispose()
    print(
        f"claims_command: cases={args.cases} fingerprint_ms={statistics.median(fp_ms):.1f} "
        f"snapshot_ms={statistics.median(snap_ms):.0f} snapshot_kb={size / 1024:.0f}"
    )


if __name__ == "__main__":
    main()
