"""Database plumbing: declarative base, portable column types, engine and unit of work.

Nothing here runs at import time: engines are built by `bootstrap()` from settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

from xiaobao.core.errors import Conflict

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetime stored as UTC on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; use timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 20,
    echo: bool = False,
    sqlite_explicit_begin: bool = False,
) -> Engine:
    """SQLite keeps pysqlite's lazy transactions by default: a transaction starts at the first write,
    so a request that reads and then writes waits for the write lock instead of failing with
    SQLITE_BUSY_SNAPSHOT when another connection committed in between. `sqlite_explicit_begin` makes
    SQLAlchemy emit BEGIN itself (its pysqlite recipe), which savepoints need: the test suite runs each
    test in an outer transaction with savepoints and uses it; application code uses no savepoints."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            if sqlite_explicit_begin:
                dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        if sqlite_explicit_begin:

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn: Any) -> None:
                conn.exec_driver_sql("BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # JIT compilation costs tens of milliseconds per query and only pays off for queries running for
    # seconds; this app's queries (lists, dashboards on 1M complaints) take milliseconds (bench/queries.py)
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        connect_args={"options": "-c jit=off"},
    )


def make_session_factory(engine_or_conn: Any, **kw: Any) -> sessionmaker[Session]:
    return sessionmaker(bind=engine_or_conn, expire_on_commit=False, **kw)


class UnitOfWork:
    """One business transaction. Services call `commit()`; domain events collected during the
    transaction are handed to the message bus only after the commit succeeded."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._factory = session_factory
        self.session: Session
        self.events: list[Any] = []

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self.events = []
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def emit(self, event_: Any) -> None:
        self.events.append(event_)

    def collect_events(self) -> list[Any]:
        out, self.events = self.events, []
        return out


@contextmanager
def session_scope(factory: Callable[[], Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def utcnow() -> datetime:
    return datetime.now(UTC)


def flush_versioned(session: Session, what_zh: str, what_en: str) -> None:
    """Flush; when a version-counted row was changed meanwhile by someone else (optimistic locking), answer
    with a bilingual 409 naming what changed ("该投诉…" / "This complaint…")."""
    try:
        session.flush()
    except StaleDataError as e:
        raise Conflict(
            f"该{what_zh}已被他人同时修改，请刷新后重试",
            f"This {what_en} was changed at the same time by someone else; reload and retry",
        ) from e
