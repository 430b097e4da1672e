"""Risk radar through the application services (SQLite file database): import a generated Fujian
portfolio, create the Doksuri event from the advisories file, run the assessment (wind field, loss, ranking,
rows written) and plan every branch — what the risk team waits for when a typhoon approaches.

Usage: .venv/bin/python bench/radar_app.py [n_sites]   (default 5000)
Last line: ``radar_app: sites=<n> import_s=<t> event_s=<t> assess_s=<t> plan_s=<t> total_s=<t>``
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from xiaobao.auth import services as auth
from xiaobao.auth.tables import User
from xiaobao.bootstrap import bootstrap
from xiaobao.config import Settings
from xiaobao.core import migrate
from xiaobao.core.clock import FakeClock
from xiaobao.demo.load import load_orgs_and_users
from xiaobao.radar import services
from xiaobao.radar.demo import COLUMNS, generate_sites
from xiaobao.radar.demo_load import REFERENCE, _csv_bytes, advisories_path


def main(n: int) -> None:
    track = advisories_path()
    if track is None:
        sys.exit("shared/data/doksuri_2023_advisories.csv not found (set XIAOBAO_SHARED_DIR)")
    tmp = Path(tempfile.mkdtemp(prefix="radar-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    migrate.upgrade(url)
    settings = Settings(
        database_url=url, secret_key="bench-secret-0123456789", demo=True, data_dir=tmp / "var"
    )
    c = bootstrap(settings, clock=FakeClock(datetime(2026, 3, 2, 2, tzinfo=UTC)))
    now = c.clock.now()
    with c.uow() as uow:
        load_orgs_and_users(uow.session, now)
        uow.commit()
        who = auth.principal_for(uow.session.scalars(select(User).where(User.username == "fj_risk")).one())
    data = _csv_bytes(generate_sites(n, 7), COLUMNS)
    t0 = time.perf_counter()
    with c.uow() as uow:
        assert who.org_id is not None
        rep = services.import_sites(uow, who, "bench.csv", data, who.org_id, now)
    t1 = time.perf_counter()
    with c.uow() as uow:
        ev = services.create_event(
            uow, who, filename=track.name, data=track.read_bytes(), now=now, reference_time=REFERENCE
        )
        event_id = ev.id
    t2 = time.perf_counter()
    with c.uow() as uow:
        services.assess_event(uow, who, event_id, now)
    t3 = time.perf_counter()
    with c.uow() as uow:
        orgs = services.plan_orgs(uow.session, who, event_id)
        for org, _, _ in orgs:
            services.make_plan(uow, who, event_id, services.PlanInput(org_id=org.id, inspectors=6), now)
    t4 = time.perf_counter()
    print(f"imported {rep.record.created} sites, {len(orgs)} branch plans")
    print(
        f"radar_app: sites={n} import_s={t1 - t0:.2f} event_s={t2 - t1:.2f} assess_s={t3 - t2:.2f} "
        f"plan_s={t4 - t3:.2f} total_s={t4 - t0:.2f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
