"""Command line: `xiaobao serve | db upgrade | db check | demo | user | token | complaints ...`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

app = typer.Typer(help="xiaobao 消保: consumer protection and claims service platform", no_args_is_help=True)
db_app = typer.Typer(help="Database schema")
user_app = typer.Typer(help="Users and API tokens")
complaints_app = typer.Typer(help="Complaint import and export")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(complaints_app, name="complaints")
console = Console()


def _container():  # type: ignore[no-untyped-def]
    from xiaobao.bootstrap import bootstrap

    return bootstrap()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (same migrations on SQLite and PostgreSQL)."""
    from xiaobao.config import get_settings
    from xiaobao.core import migrate

    migrate.upgrade(get_settings().database_url, revision)
    console.print("[green]database upgraded[/green]")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from xiaobao.config import get_settings
    from xiaobao.core import migrate

    migrate.check(get_settings().database_url)
    console.print("[green]models match migrations[/green]")


@app.command()
def demo(n: Annotated[int, typer.Option(help="complaints to generate")] = 400, seed: int = 20240315) -> None:
    """Load the demo organisation, a user for every role and realistic complaints (empty database)."""
    from xiaobao.demo.load import DEMO_PASSWORD, load_demo

    container = _container()
    with Progress(console=console) as progress:
        task = progress.add_task("demo complaints", total=n)
        counts = load_demo(container, n=n, seed=seed, progress=lambda i: progress.update(task, completed=i))
    console.print(f"loaded: {json.dumps(counts, ensure_ascii=False)}")
    console.print(f"users: hq_officer, fj_officer, qz_handler1, ... password [bold]{DEMO_PASSWORD}[/bold]")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, reload: bool = False) -> None:
    """Run the web app (uvicorn)."""
    import uvicorn

    uvicorn.run("xiaobao.web.asgi:app", host=host, port=port, workers=workers, reload=reload,
                log_level="info", proxy_headers=False)


@user_app.command("create")
def user_create(username: str, org_code: str, roles: Annotated[str, typer.Option(help="comma-separated")],
                display_name: str = "", password: Annotated[str, typer.Option(prompt=True, hide_input=True)] = "") -> None:
    from sqlalchemy import select

    from xiaobao.auth import services as auth
    from xiaobao.auth.tables import Org

    c = _container()
    with c.uow() as uow:
        org = uow.session.scalar(select(Org).where(Org.code == org_code))
        if org is None:
            raise typer.BadParameter(f"unknown org {org_code}")
        auth.create_user(uow.session, username=username, display_name=display_name or username, password=password,
                         org=org, roles=[r.strip() for r in roles.split(",") if r.strip()], now=c.clock.now())
        uow.commit()
    console.print(f"created {username}")


@user_app.command("token")
def user_token(username: str, name: str = "integration") -> None:
    """Issue an API token (printed once) for an integration user."""
    from sqlalchemy import select

    from xiaobao.auth import services as auth
    from xiaobao.auth.tables import User

    c = _container()
    with c.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise typer.BadParameter(f"unknown user {username}")
        raw = auth.issue_api_token(uow.session, user, name, c.clock.now())
        uow.commit()
    console.print(raw)


def main() -> None:  # pragma: no cover
    os.environ.setdefault("XIAOBAO_DEMO", os.environ.get("XIAOBAO_DEMO", "0"))
    app()


__all__ = ["app", "Path"]
