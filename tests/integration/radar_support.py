"""Shared set-up for the radar integration tests: risk engineers and a commander in the test org tree, a
small Fujian portfolio around Doksuri's landfall, the Doksuri event and its assessment."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from tests.factories import World
from tests.shared_data import DOKSURI_ADVISORIES, shared_file
from xiaobao.auth import services as auth
from xiaobao.bootstrap import Container
from xiaobao.radar import services

REFERENCE = datetime(2023, 7, 26, 0, 0, tzinfo=UTC)

# username: (org, roles)
RADAR_USERS = {
    "hq_risk": ("HQ", ["risk_engineer"]),
    "fj_risk": ("FJ", ["risk_engineer"]),
    "qz_risk": ("QZ", ["risk_engineer"]),
    "xm_risk": ("XM", ["risk_engineer"]),
    "hq_commander": ("HQ", ["commander"]),
}

HEADER = ["name", "address", "lat", "lon", "industry", "construction", "occupancy", "sum_insured_building",
          "sum_insured_stock", "deductible", "policy_no", "branch", "contact", "account_manager"]  # fmt: skip


def add_radar_users(container: Container, world: World) -> None:
    with container.uow() as uow:
        for username, (org, roles) in RADAR_USERS.items():
            world.users[username] = auth.create_user(
                uow.session,
                username=username,
                display_name=username,
                password="correct horse battery",
                org=world.orgs[org],
                roles=roles,
                now=container.clock.now(),
            )
        uow.commit()


def csv_bytes(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def quanzhou_rows(n: int, *, start: int = 0, manager: str = "") -> list[list[Any]]:
    """``n`` light-steel warehouses along the coast near Jinjiang (Doksuri's landfall): typhoon-force wind."""
    return [
        [f"晋江测试仓储{k:03d}有限公司", "福建省泉州市晋江市", f"{24.70 + 0.002 * k:.4f}", f"{118.55 + 0.002 * k:.4f}",
         "物流仓储", "轻钢", "仓库", 8_000_000 + 10_000 * k, 2_000_000, 10_000, f"PQZ{k:05d}", "泉州中心支公司",
         f"林先生 1390595{k:04d}", manager]
        for k in range(start, start + n)
    ]  # fmt: skip


def xiamen_rows(n: int) -> list[list[Any]]:
    return [
        [f"厦门测试电子{k:03d}有限公司", "福建省厦门市集美区", f"{24.57 + 0.002 * k:.4f}", f"{118.10 + 0.002 * k:.4f}",
         "电子制造", "钢结构", "厂房", 30_000_000, 5_000_000, 20_000, f"PXM{k:05d}", "厦门中心支公司",
         f"陈女士 1380592{k:04d}", ""]
        for k in range(n)
    ]  # fmt: skip


def advisories_bytes() -> bytes:
    return shared_file(DOKSURI_ADVISORIES).read_bytes()


def import_portfolio(container: Container, world: World, rows: list[list[Any]], who: str = "fj_risk") -> Any:
    with container.uow() as uow:
        return services.import_sites(
            uow, world.p(who), "sites.csv", csv_bytes(rows), world.orgs["FJ"].id, container.clock.now()
        )


def make_event(container: Container, world: World, who: str = "fj_risk", *, assess: bool = True) -> int:
    with container.uow() as uow:
        ev = services.create_event(
            uow,
            world.p(who),
            filename="doksuri_2023_advisories.csv",
            data=advisories_bytes(),
            now=container.clock.now(),
            reference_time=REFERENCE,
        )
        event_id = ev.id
    if assess:
        with container.uow() as uow:
            services.assess_event(uow, world.p(who), event_id, container.clock.now())
    return event_id
