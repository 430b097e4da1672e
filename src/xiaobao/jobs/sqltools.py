"""Small SQL helpers the job runner and the sweeps share across PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_for(session: Session, table: Any) -> Any:
    """INSERT with the dialect's ON CONFLICT support (PostgreSQL and SQLite share the syntax)."""
    name = dialect(session)
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"ON CONFLICT insert not supported on {name}")


def end_read_phase(session: Session) -> None:
    """Between a job's reads and its writes. PostgreSQL: nothing — the transaction keeps the row locks it
    claimed. SQLite: commit the read transaction. A SQLite transaction that has read and then writes fails
    at once ("database is locked", SQLITE_BUSY_SNAPSHOT) if another connection (a web request) committed
    in between; starting the writes in a fresh transaction whose first statement is a write makes it wait
    for the write lock instead. SQLite has no row locks to lose, and only one runner per database file."""
    if dialect(session) == "sqlite":
        session.commit()
