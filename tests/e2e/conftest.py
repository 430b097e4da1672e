"""Browser tests: the real app served by uvicorn in a background thread of the test process
(so the test can read the logging SMS gateway), driven by Playwright in the system Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from xiaobao.bootstrap import Container, bootstrap
from xiaobao.config import Settings
from xiaobao.core import migrate
from xiaobao.core.sms import LoggingSmsGateway
from xiaobao.web.app import create_app

CHROMIUM = os.environ.get("XIAOBAO_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class LiveServer:
    url: str
    container: Container
    sms: LoggingSmsGateway


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI but {CHROMIUM} is missing")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield b
        b.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A migrated SQLite file database with the demo organisation and users (no complaints)."""
    tmp = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{tmp / 'e2e.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, secret_key="e2e-secret-key-0123456789", data_dir=tmp / "var")
    sms = LoggingSmsGateway()
    container = bootstrap(settings, sms=sms)
    from xiaobao.demo.load import load_orgs_and_users

    with container.uow() as uow:
        load_orgs_and_users(uow.session, container.clock.now())
        uow.commit()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", container, sms)
    server.should_exit = True
    thread.join(timeout=10)
    if container.engine is not None:
        container.engine.dispose()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
