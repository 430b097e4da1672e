"""Command line: `xiaobao serve | worker | jobs | db | demo | user | token | complaints | review ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container
    from xiaobao.complaints.imports import ImportReport

app = typer.Typer(help="xiaobao 消保: consumer protection and claims service platform", no_args_is_help=True)
db_app = typer.Typer(help="Database schema")
user_app = typer.Typer(help="Users and API tokens")
complaints_app = typer.Typer(help="Complaint import and export")
jobs_app = typer.Typer(help="Background jobs (reminders, escalation, e-mail and SMS delivery)")
review_app = typer.Typer(help="Consumer-protection review 消保审查: check material against the rule library")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(complaints_app, name="complaints")
app.add_typer(jobs_app, name="jobs")
app.add_typer(review_app, name="review")
console = Console()


def _container() -> Container:
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
def demo(
    n: Annotated[int, typer.Option(help="complaints to generate")] = 400,
    seed: int = 20240315,
    if_empty: Annotated[bool, typer.Option(help="do nothing if the database has data")] = False,
) -> None:
    """Load the demo organisation, a user for every role and realistic complaints (empty database)."""
    from sqlalchemy import select

    from xiaobao.auth.tables import Org
    from xiaobao.demo.load import DEMO_PASSWORD, load_demo

    container = _container()
    with container.uow() as uow:
        has_data = uow.session.scalar(select(Org.id).limit(1)) is not None
    if has_data:
        if if_empty:
            console.print("database already has data; demo not loaded")
            return
        raise typer.BadParameter("the database already has data; demo data loads only into an empty database")
    with Progress(console=console) as progress:
        task = progress.add_task("demo complaints", total=n)
        counts = load_demo(container, n=n, seed=seed, progress=lambda i: progress.update(task, completed=i))
    console.print(f"loaded: {json.dumps(counts, ensure_ascii=False)}")
    console.print(f"users: hq_officer, fj_officer, qz_handler1, ... password [bold]{DEMO_PASSWORD}[/bold]")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    reload: bool = False,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="log one line per request (uvicorn)")
    ] = True,
) -> None:
    """Run the web app (uvicorn)."""
    import uvicorn

    uvicorn.run(
        "xiaobao.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level="info",
        proxy_headers=False,
        access_log=access_log,
    )


@app.command()
def worker(
    poll: Annotated[float | None, typer.Option(help="seconds between checks")] = None,
    once: Annotated[bool, typer.Option(help="run the due jobs once and exit")] = False,
) -> None:
    """Run background jobs until SIGTERM/SIGINT (finishes the job in hand, then exits). Start several on
    PostgreSQL: they share the work and never run a reminder twice. On SQLite only one runner (this or the
    web app's thread) works at a time."""
    import logging
    import signal
    import threading

    from xiaobao.jobs import services as jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    c = _container()
    me = jobs.worker_id()
    stop = threading.Event()
    if once:
        stop.set()
        for o in jobs.run_pending(c, me):
            console.print(f"{o.name}: {o.status} {json.dumps(o.summary or {}, ensure_ascii=False)}")
        return

    def _stop(signum: int, _frame: object) -> None:
        console.print(f"{me}: signal {signum}, stopping after the current job")
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    def _log(outcomes: list[jobs.Outcome]) -> None:
        for o in outcomes:
            if o.status != "busy":
                console.print(f"{me} {o.name}: {o.status} {json.dumps(o.summary or {}, ensure_ascii=False)}")

    console.print(f"{me}: running jobs {', '.join(c.jobs.names())}")
    jobs.loop(c, me, stop, poll if poll is not None else c.settings.job_poll_seconds, on_pass=_log)
    if c.engine is not None:
        c.engine.dispose()


@jobs_app.command("list")
def jobs_list() -> None:
    """Each job: last run, status, failures, next run."""
    from rich.table import Table

    from xiaobao.jobs import services as jobs

    c = _container()
    jobs.ensure_schedule(c)
    table = Table()
    for head in ("job", "every", "status", "failures", "last started", "next run", "worker", "last error"):
        table.add_column(head)
    with c.uow() as uow:
        for v in jobs.overview(c, uow.session):
            r = v.row
            status = "running" if v.running else (r.last_status if r and r.last_status else "never run")
            err = (r.last_error or "").strip().splitlines()[-1:] if r else []
            table.add_row(
                v.job.name,
                f"{r.interval_seconds if r else v.job.interval_seconds}s",
                status,
                str(r.failures if r else 0),
                r.last_started_at.isoformat(timespec="seconds") if r and r.last_started_at else "—",
                r.next_run_at.isoformat(timespec="seconds") if r else "—",
                (r.last_worker or "") if r else "",
                err[0][:80] if err else "",
            )
    console.print(table)


@jobs_app.command("run")
def jobs_run(name: str) -> None:
    """Run one job now, due or not (it waits for nothing: if a worker holds it, this says so and exits 1)."""
    from xiaobao.core.errors import NotFound
    from xiaobao.jobs import services as jobs

    c = _container()
    try:
        o = jobs.run_now(c, name, jobs.worker_id("cli"))
    except NotFound as e:
        raise typer.BadParameter(f"unknown job {name!r}; known: {', '.join(c.jobs.names())}") from e
    console.print(f"{o.name}: {o.status} {json.dumps(o.summary or {}, ensure_ascii=False)}")
    if o.error:
        console.print(f"[red]{o.error}[/red]")
    if o.status != "ok":
        raise typer.Exit(1)


@user_app.command("create")
def user_create(
    username: str,
    org_code: str,
    roles: Annotated[str, typer.Option(help="comma-separated")],
    display_name: str = "",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)] = "",
) -> None:
    from sqlalchemy import select

    from xiaobao.auth import services as auth
    from xiaobao.auth.tables import Org

    c = _container()
    with c.uow() as uow:
        org = uow.session.scalar(select(Org).where(Org.code == org_code))
        if org is None:
            raise typer.BadParameter(f"unknown org {org_code}")
        auth.create_user(
            uow.session,
            username=username,
            display_name=display_name or username,
            password=password,
            org=org,
            roles=[r.strip() for r in roles.split(",") if r.strip()],
            now=c.clock.now(),
        )
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


def _run_import(c: Container, file: Path, data: bytes, as_user: str) -> tuple[ImportReport, list[object]]:
    """Run one import as `as_user` in its own unit of work; returns the report and the committed events."""
    from sqlalchemy import select

    from xiaobao.auth import services as auth
    from xiaobao.auth.tables import User
    from xiaobao.complaints import imports
    from xiaobao.complaints.services import IntakeContext
    from xiaobao.core.errors import XiaobaoError

    with c.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == as_user))
        if user is None or not user.active:
            raise typer.BadParameter(f"unknown or inactive user {as_user!r}", param_hint="--as")
        who = auth.principal_for(user, ip="cli")
        ctx = IntakeContext(
            now=c.clock.now(), calendar=c.calendar, contact_workdays=c.settings.contact_target_workdays
        )
        try:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("导入 / importing", total=None)
                result = imports.import_regulator_complaints(
                    uow,
                    who,
                    file.name,
                    data,
                    ctx,
                    progress=lambda i, n: progress.update(task, completed=i, total=n),
                )
        except XiaobaoError as e:
            console.print(f"[red]{e.zh}[/red]\n{e.en}")
            for p in e.problems:
                console.print(f"  - {p.zh} / {p.en}")
            raise typer.Exit(1) from e
        events = uow.collect_events()
    return result, events


@complaints_app.command("import-regulator")
def import_regulator(
    file: Annotated[Path, typer.Argument(help="the regulator's .xlsx or .csv file")],
    as_user: Annotated[str, typer.Option("--as", help="the importing user (needs complaint.import)")],
    report: Annotated[Path | None, typer.Option(help="also write the results workbook (.xlsx) here")] = None,
    lang: Annotated[str, typer.Option(help="language of the messages: zh or en")] = "zh",
) -> None:
    """Import regulator-forwarded complaints (监管转办). Bad rows are reported and skipped; the exit code is
    non-zero only when the file itself cannot be read."""
    from rich.table import Table

    from xiaobao.complaints import imports

    zh = lang != "en"
    try:
        data = file.read_bytes()
    except OSError as e:
        console.print(f"[red]无法读取文件 / cannot read the file[/red] {file}: {e.strerror or e}")
        raise typer.Exit(1) from e
    c = _container()
    try:
        result, events = _run_import(c, file, data, as_user)
    finally:
        if c.engine is not None:
            c.engine.dispose()
    c.publish(events)

    counts = Table(title=f"{'导入结果' if zh else 'Import report'}: {result.filename}")
    count_heads = (
        ("数据行", "rows"),
        ("已导入", "imported"),
        ("重复，已跳过", "duplicates"),
        ("未导入", "failed"),
    )
    for head in count_heads:
        counts.add_column(head[0] if zh else head[1], justify="right")
    counts.add_row(
        str(result.rows),
        f"[green]{result.imported}[/green]",
        f"[yellow]{result.duplicates}[/yellow]",
        f"[red]{result.failed}[/red]",
    )
    console.print(counts)
    rows = Table(show_lines=False)
    row_heads = (
        ("行号", "row"),
        ("结果", "outcome"),
        ("转办编号", "regulator ref"),
        ("投诉编号", "tracking no"),
        ("说明", "note"),
    )
    for head in row_heads:
        rows.add_column(head[0] if zh else head[1], overflow="fold")
    colour = {"imported": "green", "duplicate": "yellow", "failed": "red"}
    for o in result.ordered():
        label = imports.STATUS_LABELS[o.status][0 if zh else 1]
        rows.add_row(
            str(o.row),
            f"[{colour[o.status]}]{label}[/]",
            o.regulator_ref or "—",
            o.tracking_no or "—",
            o.note("zh" if zh else "en"),
        )
    console.print(rows)
    if report is not None:
        report.write_bytes(imports.report_workbook(result, "zh" if zh else "en"))
        console.print(f"{'结果已写入' if zh else 'report written to'} {report}")


@complaints_app.command("export-stats")
def export_stats(
    start: Annotated[str, typer.Option(help="first day, YYYY-MM-DD (Asia/Shanghai)")],
    end: Annotated[str, typer.Option(help="last day, YYYY-MM-DD (Asia/Shanghai), included")],
    org: Annotated[str, typer.Option(help="org code whose subtree is reported, e.g. FJ (HQ for everything)")],
    out: Annotated[Path, typer.Option(help="the .xlsx file to write")],
) -> None:
    """Write the regulator statistics (line × cause × branch) for a period as an .xlsx workbook.

    Runs as the system with the explicit org scope given; the export is recorded in the audit log."""
    from dataclasses import replace
    from datetime import date

    from sqlalchemy import select

    from xiaobao.auth.principal import SYSTEM
    from xiaobao.auth.tables import Org
    from xiaobao.complaints import reports
    from xiaobao.core import audit
    from xiaobao.core.errors import XiaobaoError

    try:
        d0, d1 = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as e:
        raise typer.BadParameter(f"dates must be YYYY-MM-DD: {e}") from e
    c = _container()
    with c.uow() as uow:
        node = uow.session.scalar(select(Org).where(Org.code == org))
        if node is None:
            raise typer.BadParameter(f"unknown org {org}")
        who = replace(SYSTEM, scope_path=node.path, org_id=node.id, display_name="系统（命令行导出）")
        now = c.clock.now()
        try:
            report = reports.regulator_report(uow.session, who, d0, d1, "zh", org_code=org, now=now)
        except XiaobaoError as e:
            raise typer.BadParameter(e.zh + " / " + e.en) from e
        out.write_bytes(reports.regulator_xlsx(report))
        audit.record(
            uow.session,
            at=now,
            actor_id=None,
            actor_label=who.label,
            action="stats.export",
            entity_type="report",
            entity_id=None,
            after={"report": "regulator", "start": start, "end": end, "org": org, "via": "cli"},
        )
        uow.commit()
    console.print(
        f"wrote {out}: {report.totals.received} received, {report.totals.decided} decided, "
        f"{len(report.rows)} detail rows"
    )


tasks_app = typer.Typer(help="Tasks and the rectification ledger (整改台账)")
app.add_typer(tasks_app, name="tasks")


@tasks_app.command("ledger-export")
def ledger_export(
    out: Annotated[Path, typer.Option(help="the .xlsx file to write")],
    as_user: Annotated[str, typer.Option("--as", help="export what this user may see")],
    entry: Annotated[int | None, typer.Option(help="one ledger entry (default: all the user sees)")] = None,
    lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
) -> None:
    """Write the rectification ledger as an .xlsx workbook (one row per branch task); audited."""
    from sqlalchemy import select

    from xiaobao.auth import services as auth
    from xiaobao.auth.tables import User
    from xiaobao.core.errors import XiaobaoError
    from xiaobao.tasks import ledger

    c = _container()
    with c.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == as_user))
        if user is None or not user.active:
            raise typer.BadParameter(f"unknown or inactive user {as_user!r}", param_hint="--as")
        try:
            data = ledger.export_xlsx(uow, auth.principal_for(user, ip="cli"), entry, lang, c.clock.now())
        except XiaobaoError as e:
            raise typer.BadParameter(e.zh + " / " + e.en) from e
    out.write_bytes(data)
    console.print(f"wrote {out}")


radar_app = typer.Typer(help="Risk radar 风险雷达: typhoon wind, expected loss and pre-disaster visit plan")
app.add_typer(radar_app, name="radar")


@radar_app.command("run")
def radar_run(
    track: Annotated[Path, typer.Option(help="track file", exists=True, dir_okay=False)],
    sites: Annotated[Path, typer.Option(help="sites .csv/.xlsx", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option(help="ranked list to write (.xlsx or .csv)")],
    fmt: Annotated[
        str, typer.Option("--format", help="auto | ibtracs | cma | forecast | advisories")
    ] = "auto",
    sid: Annotated[str | None, typer.Option(help="storm id or name in a multi-storm file")] = None,
    model: Annotated[str, typer.Option(help="H08 or H80")] = "H08",
    inspectors: Annotated[int, typer.Option(help="inspectors per branch")] = 2,
    visits_per_day: Annotated[int, typer.Option(help="visits per inspector and day")] = 4,
    margin_hours: Annotated[float, typer.Option(help="finish visits this long before the gale")] = 2.0,
    now: Annotated[
        str | None, typer.Option(help="reference time, ISO with offset (default: the track's first time)")
    ] = None,
) -> None:
    """Rank sites by expected loss and plan visits before the gale arrives (no database needed)."""
    from datetime import datetime, timedelta

    from xiaobao.radar import run as radar
    from xiaobao.radar.plan import PlanSettings
    from xiaobao.radar.sites import SitesFileError, read_sites
    from xiaobao.radar.tracks import TrackFormatError

    if fmt not in ("auto", "ibtracs", "cma", "forecast", "advisories"):
        raise typer.BadParameter(f"unknown format {fmt!r}", param_hint="--format")
    if model not in ("H08", "H80"):
        raise typer.BadParameter("H08 or H80", param_hint="--model")
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise typer.BadParameter("must end in .xlsx or .csv", param_hint="--out")
    reference = None
    if now is not None:
        try:
            reference = datetime.fromisoformat(now)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--now") from e
        if reference.tzinfo is None:
            raise typer.BadParameter("give a UTC offset, e.g. 2023-07-27T08:00+08:00", param_hint="--now")
    try:
        hourly = radar.load_track(track, fmt, sid)  # type: ignore[arg-type]
        imported = read_sites(sites)
    except (TrackFormatError, SitesFileError, ValueError) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    for err in imported.errors[:20]:
        console.print(f"[yellow]{err}[/yellow]")
    if len(imported.errors) > 20:
        console.print(f"[yellow]... {len(imported.errors) - 20} more row errors[/yellow]")
    settings = PlanSettings(
        inspectors=inspectors, visits_per_day=visits_per_day, safety_margin=timedelta(hours=margin_hours)
    )
    with Progress(console=console) as progress:
        bar = progress.add_task("wind field 风场", total=max(1, len(imported.sites)))
        result = radar.run(
            hourly,
            imported.sites,
            model=model,  # type: ignore[arg-type]
            reference=reference,
            settings=settings,
            progress=lambda done: progress.update(bar, completed=done),
        )
    rows = radar.table_rows(result)
    radar.write_table(out, rows)
    planned = sum(1 for a in result.assignments if a.status == "planned")
    unreachable = sum(1 for a in result.assignments if a.status == "unreachable")
    total = float(result.loss.expected_loss.sum())
    console.print(
        f"wrote {out}: {len(imported.sites)} sites ({len(imported.errors)} row errors), "
        f"expected loss {total:,.0f} yuan, {planned} visits planned, {unreachable} unreachable"
    )


@review_app.command("check")
def review_check(
    path: Annotated[Path, typer.Argument(help="the material: .txt, .docx or .pdf with a text layer")],
    material_type: Annotated[
        str, typer.Option("--type", help="marketing | terms | script | notice")
    ] = "marketing",
    product_line: Annotated[
        str | None, typer.Option("--product-line", help="e.g. life, health, accident, annuity, property")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or text")] = "json",
) -> None:
    """Check one document; exit 0 with or without findings, non-zero only when it cannot be read."""
    from xiaobao.review.engine import check
    from xiaobao.review.extract import ExtractionError, extract_file
    from xiaobao.review.rules import MATERIAL_TYPES

    if material_type not in MATERIAL_TYPES:
        raise typer.BadParameter(f"must be one of {', '.join(MATERIAL_TYPES)}", param_hint="--type")
    if fmt not in ("json", "text"):
        raise typer.BadParameter("must be json or text", param_hint="--format")
    try:
        extracted = extract_file(path)
    except ExtractionError as e:
        typer.echo(f"{e.zh}\n{e.en}", err=True)
        raise typer.Exit(2) from e
    findings = check(extracted.text, material_type, product_line)
    if fmt == "json":
        typer.echo(json.dumps({"findings": [f.to_dict() for f in findings]}, ensure_ascii=False, indent=2))
        return
    for f in findings:
        where = f"{f.start}-{f.end}" if f.end > f.start else "(whole document)"
        typer.echo(
            f"[{f.severity}] {f.rule_id} {f.category} {where} {f.text}\n  依据: {f.basis}\n  建议: {f.suggestion}"
        )
    typer.echo(f"{len(findings)} findings")


claims_app = typer.Typer(
    help="Claims factory 线上理赔工厂 and catastrophe command 大灾指挥 (surge simulation, imports)"
)
app.add_typer(claims_app, name="claims")


@claims_app.command("import-policies")
def claims_import_policies(
    file: Annotated[Path, typer.Argument(help="policy extract (.csv UTF-8/GB18030 or .xlsx)")],
    as_user: Annotated[str, typer.Option("--as", help="the importing user (needs cat.command)")],
) -> None:
    """Load policies for claim intake look-up (by number or plate). Bad rows are reported and skipped."""
    from sqlalchemy import select

    from xiaobao.auth import services as auth
    from xiaobao.auth.tables import User
    from xiaobao.claims.policies import PolicyFileError, import_policies
    from xiaobao.core.errors import XiaobaoError

    try:
        data = file.read_bytes()
    except OSError as e:
        console.print(f"[red]无法读取文件 / cannot read the file[/red] {file}: {e.strerror or e}")
        raise typer.Exit(1) from e
    c = _container()
    try:
        with c.uow() as uow:
            user = uow.session.scalar(select(User).where(User.username == as_user))
            if user is None or not user.active:
                raise typer.BadParameter(f"unknown or inactive user {as_user!r}", param_hint="--as")
            try:
                rep = import_policies(
                    uow.session, auth.principal_for(user, ip="cli"), file.name, data, c.clock.now()
                )
            except PolicyFileError as e:
                console.print(f"[red]{e}[/red]")
                raise typer.Exit(1) from e
            except XiaobaoError as e:
                console.print(f"[red]{e.zh} / {e.en}[/red]")
                raise typer.Exit(1) from e
            uow.commit()
    finally:
        if c.engine is not None:
            c.engine.dispose()
    console.print(
        f"新增 created {rep.created} · 更新 updated {rep.updated} · 错误行 rows with errors {len(rep.errors)}"
    )
    for err in rep.errors:
        for p in err.problems:
            console.print(f"  第 {err.row} 行 row {err.row}: {p.field}: {p.zh} / {p.en}")


@claims_app.command("simulate")
def claims_simulate(
    scenario: Annotated[
        Path, typer.Option(help="scenario .json (see claims/data/scenarios/)", dir_okay=False)
    ],
    seed: Annotated[int | None, typer.Option(help="random seed (default: the scenario's)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or table")] = "json",
) -> None:
    """Surge simulation through the real dispatch engine: local staff only vs with factory staff (no database)."""
    from xiaobao.claims.simulation import load_scenario, simulate, table_lines
    from xiaobao.core.errors import ValidationFailed

    if fmt not in ("json", "table"):
        raise typer.BadParameter("must be json or table", param_hint="--format")
    if not scenario.is_file():
        raise typer.BadParameter(f"{scenario} does not exist", param_hint="--scenario")
    try:
        sc = load_scenario(scenario)
    except ValidationFailed as e:
        typer.echo(f"{e.zh}\n{e.en}", err=True)
        raise typer.Exit(2) from None
    result = simulate(sc, seed=seed)
    if fmt == "json":
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(table_lines(result)))


def main() -> None:
    """Entry point: configuration errors are reported in one readable line, not a traceback."""
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as e:
        for err in e.errors():
            console.print(f"[red]configuration error:[/red] {err['msg'].removeprefix('Value error, ')}")
        raise SystemExit(2) from None


__all__ = ["app", "main"]
