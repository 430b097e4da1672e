"""Shared helpers for the benchmark scripts in bench/ (plain scripts, not tests).

- a throw-away PostgreSQL database per run (created, migrated with Alembic, dropped at the end);
- the demo organisation tree and an integration user with an API token, seeded through the real auth
  services; realistic complaints from `xiaobao.demo.generator`;
- the real server (uvicorn running `xiaobao.web.asgi:app`) as a subprocess;
- percentiles and a per-process CPU account read from /proc (who used the two cores during a phase).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PG_HOST = os.environ.get("XIAOBAO_BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("XIAOBAO_BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("XIAOBAO_BENCH_PG_USER", "postgres")
ADMIN_CONNINFO = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres"
BENCH_SECRET = "bench-secret-key-0123456789abcdef"  # noqa: S105 - throw-away database, local server


def log(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def conninfo(db: str) -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={db}"


def db_url(db: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}"


# ---------------------------------------------------------------- database lifecycle


def create_database(name: str) -> str:
    """Create (re-create) the bench database and migrate it to head; returns its URL."""
    with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = db_url(name)
    from xiaobao.core import migrate

    migrate.upgrade(url)
    with psycopg.connect(conninfo(name), autocommit=True) as conn:
        for ix_name, ddl in missing_model_indexes(conn):
            log(f"index {ix_name} is declared by the model but not by a migration yet: created here")
            conn.execute(ddl)
    return url


def missing_model_indexes(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """Indexes the Complaint model declares that the migrated database lacks (a model change whose
    migration has not been regenerated yet), as (name, CREATE INDEX statement)."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    import xiaobao.core.models  # noqa: F401 - registers every table
    from xiaobao.complaints.tables import Complaint

    have = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'complaint'")}
    return [(str(ix.name), str(CreateIndex(ix).compile(dialect=postgresql.dialect())))
            for ix in Complaint.__table__.indexes if ix.name not in have]  # fmt: skip


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def bench_database(name: str, keep: bool = False) -> Iterator[str]:
    url = create_database(name)
    try:
        yield url
    finally:
        if keep:
            log(f"database {name} kept ({url})")
        else:
            drop_database(name)
            log(f"database {name} dropped")


# ---------------------------------------------------------------- organisation tree, users, payloads


def seed_orgs(session: Any) -> dict[str, Any]:
    """The demo organisation tree (`xiaobao.demo.generator.demo_orgs`: HQ, 5 branches, 13 city
    sub-branches, departments) added through `auth.services.add_org`; returns code -> Org."""
    from xiaobao.auth import services as auth
    from xiaobao.demo.generator import demo_orgs

    orgs: dict[str, Any] = {}
    for spec in demo_orgs():
        orgs[spec.code] = auth.add_org(
            session,
            code=spec.code,
            name_zh=spec.name_zh,
            name_en=spec.name_en,
            kind=spec.kind,
            parent=orgs[spec.parent_code] if spec.parent_code else None,
            region_code=spec.region_code,
        )
    return orgs


def seed_user(session: Any, org: Any, username: str, roles: list[str], now: datetime) -> Any:
    from xiaobao.auth import services as auth

    return auth.create_user(
        session,
        username=username,
        display_name=username,
        password="bench-password-123",
        org=org,
        roles=roles,
        now=now,
    )


def issue_token(session: Any, user: Any, now: datetime, name: str = "bench") -> str:
    from xiaobao.auth import services as auth

    return auth.issue_api_token(session, user, name, now)


def complaint_records(n: int, seed: int, now: datetime) -> list[dict[str, Any]]:
    """`n` realistic complaints from `xiaobao.demo.generator.generate_complaints` (the demo org tree, skewed
    taxonomy codes, valid ID numbers, Chinese descriptions built from templates, received over the last
    150 days, about 6% repeats)."""
    from xiaobao.demo.generator import generate_complaints

    return generate_complaints(n, seed, now)


def api_payload(record: dict[str, Any]) -> dict[str, Any]:
    """A generated record as the JSON body of POST /api/v1/complaints (ComplaintCreate)."""
    from xiaobao.complaints.schemas import ComplaintCreate

    body = {k: v for k, v in record.items() if k in ComplaintCreate.model_fields}
    if body.get("amount_claimed") is not None:
        body["amount_claimed"] = str(body["amount_claimed"])
    if body.get("received_at") is not None:
        body["received_at"] = body["received_at"].isoformat()
    return body


# ---------------------------------------------------------------- statistics


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def fmt_rate(x: float) -> str:
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def db_sessions(db: str) -> int:
    """Sessions (connections) opened to `db` so far (pg_stat_database.sessions, PostgreSQL 14+)."""
    with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as conn:
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (db,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


# ---------------------------------------------------------------- CPU account from /proc

_CLK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(comm, ppid, cpu seconds) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / _CLK


def cpu_by_group(server_pid: int | None) -> dict[str, float]:
    """CPU seconds used so far by: the server (its process tree), PostgreSQL, this bench process, and the
    whole machine (all cores, from /proc/stat)."""
    procs: dict[int, tuple[str, int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _proc_stat(int(entry))
            if st:
                procs[int(entry)] = st
    server_tree: set[int] = set()
    if server_pid is not None:
        server_tree.add(server_pid)
        grew = True
        while grew:
            grew = False
            for pid, (_c, ppid, _s) in procs.items():
                if ppid in server_tree and pid not in server_tree:
                    server_tree.add(pid)
                    grew = True
    out = {
        "server": sum(procs[p][2] for p in server_tree if p in procs),
        "postgres": sum(s for c, _pp, s in procs.values() if c.startswith("postgres")),
        "bench": procs.get(os.getpid(), ("", 0, 0.0))[2],
    }
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(x) for i, x in enumerate(first) if i not in (3, 4))  # all but idle and iowait
    out["machine"] = busy / _CLK
    return out


def cpu_delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: b[k] - a[k] for k in b}


def fmt_cpu(d: dict[str, float], seconds: float) -> str:
    """CPU use per group as cores busy on average during the phase."""
    return " ".join(f"{k}={v / seconds:.2f}" for k, v in d.items()) + " (cores)"


# ---------------------------------------------------------------- a lean HTTP/1.1 client


class HttpConnection:
    """One keep-alive HTTP/1.1 connection over asyncio streams. The load generator shares the two cores
    with the server and PostgreSQL, so it should cost as little CPU per request as possible (httpx spends
    several times more per request than this)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.close()
            raise
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, close = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            data = b"".join(p[:-2] for p in parts)
        else:
            data = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


# ---------------------------------------------------------------- the real server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base_url: str
    workdir: tempfile.TemporaryDirectory[str]
    log_path: Path
    log_tail: str = ""
    """The last lines the server wrote, kept by stop()."""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM to the server's process group (uvicorn and its workers), SIGKILL after 15 s."""
        pgid = self.proc.pid  # started with start_new_session: its own process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.proc.wait()
        with contextlib.suppress(OSError):
            self.log_tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])
        self.workdir.cleanup()


def start_server(
    url: str, workers: int, *, env: dict[str, str] | None = None, access_log: bool = False
) -> Server:
    """Run uvicorn on `xiaobao.web.asgi:app` (what `xiaobao serve` runs) against the bench database; wait
    for /healthz. Access logging is off by default (each request would otherwise write a log line)."""
    port = free_port()
    workdir = tempfile.TemporaryDirectory(prefix="xb_bench_")
    full_env = dict(os.environ)
    full_env.update(
        {
            "XIAOBAO_DATABASE_URL": url,
            "XIAOBAO_SECRET_KEY": BENCH_SECRET,
            "XIAOBAO_DEMO": "0",
            "XIAOBAO_DATA_DIR": workdir.name,
            "PYTHONUNBUFFERED": "1",
        }
    )
    full_env.update(env or {})
    cmd = [
        PYTHON,
        "-m",
        "uvicorn",
        "xiaobao.web.asgi:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    if not access_log:
        cmd.append("--no-access-log")
    log_path = Path(workdir.name) / "server.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=workdir.name, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(proc, f"http://127.0.0.1:{port}", workdir, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log_path.read_text(errors="replace")
            server.stop()
            raise RuntimeError(f"server exited with {proc.returncode}:\n{text[-3000:]}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200:
                # every worker must be up: hit healthz a few more times over fresh connections
                time.sleep(0.5 * workers)
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("server did not answer /healthz within 60 s")
