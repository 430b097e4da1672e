"""The application factory: one FastAPI app serving the JSON API (/api/v1, OpenAPI at /api/docs)
and the HTML pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xiaobao.bootstrap import Container
from xiaobao.core.errors import FieldProblem, Unauthenticated, ValidationFailed, XiaobaoError
from xiaobao.web.validation import bilingual_problem

log = logging.getLogger("xiaobao.web")
STATIC = Path(__file__).parent / "static"


_COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
_API_HEADERS = (*_COMMON_HEADERS, (b"cache-control", b"no-store"))


class SecurityHeadersMiddleware:
    """Security headers on every HTTP response, set only where the app has not set them already; API
    answers carry personal data (unmasked after reveal=true), so /api/ also gets Cache-Control: no-store
    (no browser or proxy caching). A plain ASGI middleware: no per-request task or stream wrapping."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _API_HEADERS if scope["path"].startswith("/api/") else _COMMON_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On SQLite the app runs the background jobs itself, in one thread (XIAOBAO_INPROCESS_JOBS=0 turns
    that off); on PostgreSQL `xiaobao worker` processes run them."""
    from xiaobao.jobs.services import InProcessRunner, runs_in_process

    container: Container = app.state.container
    runner = InProcessRunner(container) if runs_in_process(container) else None
    if runner is not None:
        runner.start()
    try:
        yield
    finally:
        if runner is not None:
            runner.stop()


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="xiaobao 消保",
        version="0.1.0",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    app.state.container = container

    @app.exception_handler(XiaobaoError)
    async def _domain_error(request: Request, exc: XiaobaoError) -> Response:
        if isinstance(exc, Unauthenticated) and _wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if _wants_html(request):
            from xiaobao.web.templating import render

            return render(request, "error.html", {"error": exc}, status_code=exc.status_code)
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [bilingual_problem(e) for e in exc.errors()]
        return await _domain_error(request, ValidationFailed(problems))

    app.add_middleware(SecurityHeadersMiddleware)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    from xiaobao.admin import pages as admin_pages
    from xiaobao.claims import api as claims_api
    from xiaobao.complaints import api as complaints_api
    from xiaobao.complaints import import_routes, public_pages, report_routes
    from xiaobao.complaints import pages as complaints_pages
    from xiaobao.jobs import pages as jobs_pages
    from xiaobao.notifications import api as notifications_api
    from xiaobao.notifications import pages as notifications_pages
    from xiaobao.web import pages as web_pages

    app.include_router(web_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(admin_pages.api)
    app.include_router(complaints_api.router)
    # routes are matched in order, router by router: the intake APIs come early (no path overlaps with the
    # others; ~1 ms of CPU per claim report when this came after their 190 routes, bench/claims_intake.py)
    app.include_router(claims_api.router)
    app.include_router(complaints_api.public_router)
    app.include_router(report_routes.router)
    app.include_router(import_routes.router)
    app.include_router(public_pages.router)
    app.include_router(complaints_pages.router)
    app.include_router(notifications_api.router)
    app.include_router(notifications_pages.router)
    app.include_router(jobs_pages.router)
    app.include_router(jobs_pages.api)
    from xiaobao.tasks import api as tasks_api
    from xiaobao.tasks import pages as tasks_pages

    tasks_pages.register_complaint_panel()
    notifications_pages.register_complaint_panel()
    app.include_router(tasks_api.router)
    app.include_router(tasks_pages.router)
    from xiaobao.review import api as review_api
    from xiaobao.review import pages as review_pages

    app.include_router(review_api.router)
    app.include_router(review_pages.router)
    from xiaobao.radar import api as radar_api
    from xiaobao.radar import pages as radar_pages

    app.include_router(radar_api.router)
    app.include_router(radar_pages.router)
    from xiaobao.claims import pages as claims_pages
    from xiaobao.claims import public_pages as claims_public_pages

    app.include_router(claims_pages.router)
    app.include_router(claims_public_pages.router)
    from xiaobao.claims import live as claims_live

    app.include_router(claims_live.router)
    return app


__all__ = ["create_app", "FieldProblem"]
