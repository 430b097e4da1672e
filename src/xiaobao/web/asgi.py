"""ASGI entry point for uvicorn: `xiaobao.web.asgi:app`."""

from __future__ import annotations

import gc

from xiaobao.bootstrap import bootstrap
from xiaobao.web.app import create_app

app = create_app(bootstrap())
# Everything built so far (modules, the app and its routes, ORM mappers, the taxonomy) lives as long as
# the process: move it out of the cyclic collector's generations, so collections under load only walk
# objects made by requests (bench/intake.py).
gc.freeze()
