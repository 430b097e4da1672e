"""Alembic environment: the URL comes from XIAOBAO_DATABASE_URL (or -x url=...)."""

from __future__ import annotations

from alembic import context

from xiaobao.core.db import make_engine
from xiaobao.core.models import metadata

config = context.config

# Objects created by hand-written migrations that autogenerate cannot model (expression indexes).
MANAGED_BY_HAND = {"ix_complaint_search_fts"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (type_ == "index" and name in MANAGED_BY_HAND)


def _url() -> str:
    x = context.get_x_argument(as_dictionary=True)
    if "url" in x:
        return x["url"]
    if config.get_main_option("sqlalchemy.url"):
        return str(config.get_main_option("sqlalchemy.url"))
    import os

    return os.environ.get("XIAOBAO_DATABASE_URL", "sqlite:///./xiaobao.db")


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
