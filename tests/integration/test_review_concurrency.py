"""Review numbers under concurrency: on PostgreSQL, with real committed transactions from several threads, every
number is issued exactly once and the sequence has no gaps (the counter row is updated under its row lock;
the first use of a year is an INSERT that a concurrent first use retries)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import T0
from xiaobao.bootstrap import Container, bootstrap
from xiaobao.config import Settings
from xiaobao.core import migrate
from xiaobao.core.clock import FakeClock
from xiaobao.core.sms import LoggingSmsGateway
from xiaobao.review.services import next_review_number


@pytest.fixture
def committed(pg_url: str, tmp_path: Path) -> Iterator[Container]:
    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    name = f"xb_review_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        migrate.upgrade(url)
        settings = Settings(
            database_url=url, secret_key="test-secret-key-0123456789", data_dir=tmp_path, db_pool_size=10
        )
        container = bootstrap(settings, clock=FakeClock(T0), sms=LoggingSmsGateway())
        yield container
        assert container.engine is not None
        container.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_review_numbers_are_unique_and_gapless_under_concurrency(committed: Container) -> None:
    def take(_: int) -> list[str]:
        out = []
        for _ in range(5):
            with committed.uow() as uow:
                out.append(next_review_number(uow.session, T0))
                uow.commit()
        return out

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = [n for batch in pool.map(take, range(8)) for n in batch]
    seqs = sorted(int(re.fullmatch(r"消保审查〔2026〕第(\d{6})号", n).group(1)) for n in numbers)  # type: ignore[union-attr]
    assert seqs == list(range(1, 41))
