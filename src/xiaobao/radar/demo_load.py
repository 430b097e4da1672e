"""Demo data for the risk radar, driven through the real services: a generated portfolio of Fujian
enterprises (``radar.demo``), the Doksuri (2023) event from ``shared/data/doksuri_2023_advisories.csv``,
its assessment, a visit plan per branch, visit records with hazards (→ co-handling tasks) and SYNTHETIC
claims after the event so the comparison page has figures. The event is flagged ``synthetic_claims`` and
every page of it says the data are generated.

If the advisories file is missing the radar part of the demo is skipped with a message (the rest of the
demo loads as usual)."""

from __future__ import annotations

import csv
import io
import os
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from xiaobao.auth import services as auth
from xiaobao.auth.tables import User
from xiaobao.bootstrap import Container
from xiaobao.radar import services
from xiaobao.radar.demo import COLUMNS, generate_sites
from xiaobao.radar.tables import RadarAssessment, RadarEvent, RadarSite
from xiaobao.tasks.tables import Task

ADVISORIES = "data/doksuri_2023_advisories.csv"
REFERENCE = datetime(2023, 7, 26, 0, 0, tzinfo=UTC)
"""08:00 Beijing time on 26 July 2023, about two days before landfall at Jinjiang."""


def advisories_path() -> Path | None:
    """``$XIAOBAO_SHARED_DIR/data/...``, else the ``shared/`` folder next to the repository (as the tests
    find it), else ``./shared`` or ``../shared`` from the working directory."""
    candidates = []
    if os.environ.get("XIAOBAO_SHARED_DIR"):
        candidates.append(Path(os.environ["XIAOBAO_SHARED_DIR"]) / ADVISORIES)
    candidates += [
        Path(__file__).resolve().parents[3].parent / "shared" / ADVISORIES,
        Path.cwd() / "shared" / ADVISORIES,
        Path.cwd().parent / "shared" / ADVISORIES,
    ]
    return next((p for p in candidates if p.is_file()), None)


def _csv_bytes(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns)
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def load_radar_demo(
    container: Container,
    *,
    n_sites: int = 3000,
    seed: int = 20230728,
    track: Path | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, int]:
    path = track or advisories_path()
    if path is None:
        say(
            f"risk radar demo skipped: {ADVISORIES} not found (set XIAOBAO_SHARED_DIR) / 未找到台风路径文件，跳过风险雷达演示"
        )
        return {}
    rng = random.Random(seed)
    now = container.clock.now()
    with container.uow() as uow:
        s = uow.session
        users = {
            u.username: u for u in s.scalars(select(User).where(User.username.in_(["fj_risk", "qz_risk"])))
        }
        if "fj_risk" not in users:
            say("risk radar demo skipped: no fj_risk user / 缺少风险工程师演示用户")
            return {}
        fj = auth.principal_for(users["fj_risk"])
        qz = auth.principal_for(users["qz_risk"]) if "qz_risk" in users else fj
        assert fj.org_id is not None
        rep = services.import_sites(
            uow,
            fj,
            "fujian_portfolio_demo.csv",
            _csv_bytes(generate_sites(n_sites, seed), COLUMNS),
            fj.org_id,
            now,
        )
        ev = services.create_event(
            uow,
            fj,
            filename=path.name,
            data=path.read_bytes(),
            now=now,
            name="杜苏芮 Doksuri 2023",
            reference_time=REFERENCE,
        )
        ev.notes = "演示事件：路径取自公开公报位置；企业、走访与赔案为程序生成的模拟数据。"
        ev.synthetic_claims = True
        uow.commit()
        services.assess_event(uow, fj, ev.id, now)
        n_plans = 0
        for org, n_at_risk, _ in services.plan_orgs(s, fj, ev.id):
            inspectors = max(2, min(12, n_at_risk // 60))
            services.make_plan(
                uow,
                fj,
                ev.id,
                services.PlanInput(org_id=org.id, inspectors=inspectors, visits_per_day=6),
                now,
            )
            n_plans += 1
        visits = 0
        for p in services.plans(s, fj, ev.id):
            who = qz if p.org.code.endswith("QZ") else fj
            for item in services.plan_items(s, p):
                if item.status != "planned" or item.slot_start is None or rng.random() > 0.6:
                    continue
                hazards = []
                for kind in rng.sample(list(services.HAZARD_KINDS)[:6], k=rng.choice([0, 1, 1, 2])):
                    hazards.append(services.Hazard(kind, rng.choice(["high", "medium", "medium", "low"]), ""))
                measures = rng.sample(list(services.MEASURES), k=rng.randint(2, 4))
                services.record_visit(
                    uow,
                    who,
                    ev.id,
                    services.VisitInput(item.site_id, item.slot_start + timedelta(minutes=30), hazards, measures,
                                        "演示走访记录（模拟数据）"),
                    now,
                    container.settings,
                )  # fmt: skip
                visits += 1
        tasks = s.scalar(select(func.count()).select_from(Task).where(Task.source_type == "radar_visit")) or 0
        claims = _synthetic_claims(uow, fj, ev, rng, now)
    return {
        "radar.sites": rep.record.created + rep.record.updated,
        "radar.site_rows_rejected": rep.record.rejected,
        "radar.plans": n_plans,
        "radar.visits": visits,
        "radar.tasks": tasks,
        "radar.claims": claims,
    }


def _synthetic_claims(uow: Any, who: Any, ev: RadarEvent, rng: random.Random, now: datetime) -> int:
    """SYNTHETIC claims: a site with modelled loss claims with probability 0.9, for its modelled loss
    times a log-normal factor (median 0.85 unvisited, 0.6 visited); a gale-only site now and then claims a
    small amount. Generated only so the comparison page has figures."""
    s = uow.session
    visited = services._visited_sites(s, who, ev.id)
    rows = []
    q = (
        select(RadarAssessment, RadarSite.policy_no, RadarSite.name)
        .join(RadarSite, RadarSite.id == RadarAssessment.site_id)
        .where(RadarAssessment.event_id == ev.id)
        .order_by(RadarAssessment.site_id)
    )
    for a, policy, name in s.execute(q):
        amount = 0.0
        if a.expected_loss > 0 and rng.random() < 0.9:
            median = 0.6 if a.site_id in visited else 0.85
            amount = a.expected_loss * median * rng.lognormvariate(0.0, 0.3)
        elif a.gale_arrival is not None and rng.random() < 0.04:
            amount = rng.uniform(3_000, 40_000)
        if amount <= 0:
            continue
        open_claim = rng.random() < 0.3
        paid = 0.0 if open_claim else round(amount, 2)
        reserved = round(amount, 2) if open_claim else 0.0
        rows.append({"claim_no": f"DEMO-CLM-2023-{a.site_id:06d}", "policy_no": policy, "name": name,
                     "paid": f"{paid:.2f}", "reserved": f"{reserved:.2f}"})  # fmt: skip
    data = _csv_bytes(rows, ["claim_no", "policy_no", "name", "paid", "reserved"])
    rep = services.import_claims(uow, who, ev.id, "doksuri_claims_SYNTHETIC_demo.csv", data, now)
    return rep.record.created
