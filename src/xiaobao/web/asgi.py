"""ASGI entry point for uvicorn: `xiaobao.web.asgi:app`."""

from __future__ import annotations

from xiaobao.bootstrap import bootstrap
from xiaobao.web.app import create_app

app = create_app(bootstrap())
