"""Test tiers share these fixtures.

- `db` is parametrised over SQLite and PostgreSQL. Each backend gets a fresh database migrated
  with Alembic once per session; every test runs inside a transaction that is rolled back
  (services' commits become savepoints).
- With CI set, PostgreSQL is required: a missing server fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import sessionmaker

from xiaobao.bootstrap import Container, bootstrap
from xiaobao.config import Settings
from xiaobao.core import migrate
from xiaobao.core.clock import FakeClock
from xiaobao.core.db import make_engine
from xiaobao.core.sms import LoggingSmsGateway

CI = bool(os.environ.get("CI"))
PG_ADMIN_URL = os.environ.get("XIAOBAO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# 2026-03-02 10:00 Asia/Shanghai, a Monday
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def pg_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL)
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Argon2 at production cost takes ~0.1 s a hash and every `world` hashes 13 passwords; tests use
    the cheapest valid parameters (hashes stay real argon2id, verified by the same code)."""
    from argon2 import PasswordHasher

    from xiaobao.auth import services as auth_services

    saved = auth_services._hasher
    auth_services._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    auth_services._hasher = saved


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not pg_available():
        if CI:
            pytest.fail("PostgreSQL is required in CI but is not reachable at " + PG_ADMIN_URL)
        pytest.skip("PostgreSQL not available")
    name = f"xb_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


_engines: dict[str, Engine] = {}


def migrated_engine(url: str) -> Engine:
    if url not in _engines:
        migrate.upgrade(url)
        _engines[url] = make_engine(url, sqlite_explicit_begin=True)
    return _engines[url]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest) -> Engine:
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    return migrated_engine(url)


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def sms() -> LoggingSmsGateway:
    return LoggingSmsGateway()


def test_settings(tmp_path: Path, url: str = "sqlite://") -> Settings:
    return Settings(
        database_url=url, secret_key="test-secret-key-0123456789", demo=False, data_dir=tmp_path / "var"
    )


@pytest.fixture
def container(connection: Connection, clock: FakeClock, sms: LoggingSmsGateway, tmp_path: Path) -> Container:
    factory = sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
    return bootstrap(test_settings(tmp_path), session_factory=factory, clock=clock, sms=sms)


@pytest.fixture
def world(container: Container):  # type: ignore[no-untyped-def]
    """A small org tree with a user for every role in several orgs."""
    from tests.factories import build_world

    with container.uow() as uow:
        w = build_world(uow.session, container.clock.now())
        uow.commit()
    return w


@pytest.fixture
def app(container: Container):  # type: ignore[no-untyped-def]
    from xiaobao.web.app import create_app

    return create_app(container)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c
