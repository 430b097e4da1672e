"""The live catastrophe command page: the page itself, its Server-Sent Events stream, and the commander's
moves (staff between factories / regions / online, run dispatch).

The stream (`GET /claims/events/{id}/live`, text/event-stream): the access check runs before anything is
streamed (signed-in user or API token; Perm.CAT_COMMAND or Perm.CLAIM_VIEW; the event must exist for them:
404 otherwise). Then a `snapshot` event (JSON of `command.snapshot`) on connect and again whenever
`command.fingerprint` changes — one small query every POLL_SECONDS, each in its own short session, so no
database connection or transaction is held across sleeps and nothing is held at all between checks (the
streams of one event in a process share that query and the encoded snapshot: `_Shared`); comment
heartbeats every HEARTBEAT_SECONDS; pushes at most every max(MIN_PUSH_SECONDS, 4 x the last snapshot's
cost), so a large event that changes all the time costs a bounded share of a core (bench/claims_command.py).
The stream ends when the client goes away, when the session is no longer valid (checked on every snapshot), or
after MAX_STREAM_SECONDS (EventSource reconnects by itself after `retry` ms, which also spreads long-lived
connections over workers). No broker: each stream polls the
database, which works the same on SQLite and PostgreSQL and with several worker processes."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from xiaobao.auth import services as auth
from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.auth.tables import User
from xiaobao.claims import command, dispatching, events, staff
from xiaobao.claims.schemas import StaffUpsert
from xiaobao.claims.tables import StaffProfile
from xiaobao.core.errors import FieldProblem, NotFound, Unauthenticated, ValidationFailed
from xiaobao.web.deps import SESSION_COOKIE, ContainerDep, CurrentUser, LangDep, UowDep, client_ip
from xiaobao.web.forms import form_problems
from xiaobao.web.templating import render

router = APIRouter(tags=["claims command"], include_in_schema=False)

POLL_SECONDS = 2.0
MIN_PUSH_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
MAX_STREAM_SECONDS = 600.0
RETRY_MS = 3000


def _can_view(who: Principal) -> bool:
    return who.can(Perm.CAT_COMMAND) or who.can(Perm.CLAIM_VIEW)


def _principal(container: Any, credentials: tuple[str, str], ip: str) -> Principal:
    """Resolve the caller in a short session of its own (the stream must not hold the request's session)."""
    kind, value = credentials
    now = container.clock.now()
    with container.uow() as uow:
        if kind == "bearer":
            who, touched = auth.principal_for_api_token(uow.session, value, now, ip)
            if touched:
                uow.commit()
            return who
        user, _ = auth.resolve_session(uow.session, value, now)
        return auth.principal_for(user, ip)


def _credentials(request: Request) -> tuple[str, str]:
    authz = request.headers.get("authorization", "")
    if authz.lower().startswith("bearer "):
        return ("bearer", authz[7:].strip())
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated()
    return ("session", token)


def _authorise(container: Any, credentials: tuple[str, str], ip: str, event_id: int) -> Principal:
    who = _principal(container, credentials, ip)
    if not _can_view(who):
        raise NotFound("大灾事件", "catastrophe event")
    with container.uow() as uow:
        events.get_event(uow.session, who, event_id)  # 404 when the event does not exist for them
    return who


class _Shared:
    """Per-process sharing between the streams of one event: the fingerprint is queried at most once per poll
    interval per event, and an encoded snapshot is reused by every stream with the same fingerprint and the
    same view (viewers whose scope is the whole company see the same cases; anyone else is keyed by user)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fingerprints: dict[int, tuple[float, tuple[Any, ...]]] = {}
        self.snapshots: dict[tuple[Any, ...], str] = {}

    def fingerprint(self, container: Any, event_id: int) -> tuple[Any, ...]:
        key = event_id
        with self.lock:
            hit = self.fingerprints.get(key)
        if hit is not None and time.monotonic() - hit[0] < POLL_SECONDS * 0.9:
            return hit[1]
        with container.uow() as uow:
            fp = command.fingerprint(uow.session, event_id, container.clock.now())
        with self.lock:
            self.fingerprints[key] = (time.monotonic(), fp)
        return fp

    def snapshot(self, container: Any, who: Principal, event_id: int, lang: str, fp: tuple[Any, ...]) -> str:
        view = "all" if who.scope_path == "/" and who.can(Perm.CLAIM_VIEW) else f"user:{who.user_id}"
        key = (event_id, view, lang, fp)
        with self.lock:
            body = self.snapshots.get(key)
        if body is None:
            with container.uow() as uow:
                snap = command.snapshot(uow.session, who, event_id, container.clock.now(), lang)
            body = json.dumps(snap, ensure_ascii=False, separators=(",", ":"))
            with self.lock:
                if len(self.snapshots) >= 64:
                    self.snapshots.clear()
                self.snapshots[key] = body
        return body


def _shared_for(request: Request) -> _Shared:
    """One per app (so per container), created on first use."""
    state = request.app.state
    with _CREATE:
        if not hasattr(state, "claims_live"):
            state.claims_live = _Shared()
    shared: _Shared = state.claims_live
    return shared


_CREATE = threading.Lock()


def sse(event: str, data: str, event_id: int | None = None) -> str:
    """One SSE message; `data` must be a single line (compact JSON is)."""
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return f"{head}data: {data}\n\n"


async def stream(
    request: Request,
    container: Any,
    credentials: tuple[str, str],
    event_id: int,
    lang: str,
) -> AsyncIterator[str]:
    poll, heartbeat, max_seconds = POLL_SECONDS, HEARTBEAT_SECONDS, MAX_STREAM_SECONDS
    ip = client_ip(request)
    shared = _shared_for(request)
    yield f"retry: {RETRY_MS}\n\n"
    started = last_sent = time.monotonic()
    last: tuple[Any, ...] | None = None
    last_pushed, gap = 0.0, 0.0
    n = 0
    while True:
        if await request.is_disconnected():
            return
        fp = await run_in_threadpool(shared.fingerprint, container, event_id)
        now = time.monotonic()
        if fp != last and now - last_pushed >= gap:
            try:
                who = await run_in_threadpool(_principal, container, credentials, ip)
                if not _can_view(who):
                    raise NotFound("大灾事件", "catastrophe event")
                body = await run_in_threadpool(shared.snapshot, container, who, event_id, lang, fp)
            except (Unauthenticated, NotFound):
                yield sse("closed", json.dumps({"reason": "access"}))
                return
            n += 1
            yield sse("snapshot", body, n)
            cost = time.monotonic() - now
            # a big event that changes all the time: push at most every 4x what a snapshot costs (coalescing)
            gap = max(MIN_PUSH_SECONDS, 4 * cost)
            last, last_sent = fp, now
            last_pushed = time.monotonic()
        elif now - last_sent >= heartbeat:
            yield ": ping\n\n"
            last_sent = now
        if now - started >= max_seconds:
            return
        await asyncio.sleep(poll)


@router.get("/claims/events/{event_id:int}/live")
async def live(request: Request, event_id: int, container: ContainerDep, lang: LangDep) -> Response:
    """Server-Sent Events for the command page (see the module docstring)."""
    credentials = _credentials(request)
    await run_in_threadpool(_authorise, container, credentials, client_ip(request), event_id)
    return StreamingResponse(
        stream(request, container, credentials, event_id, lang),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/claims/events/{event_id:int}/command")
def command_page(
    request: Request, event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep, lang: LangDep
) -> Response:
    if not _can_view(who):
        raise NotFound("大灾事件", "catastrophe event")
    snap = command.snapshot(uow.session, who, event_id, container.clock.now(), lang)
    tiles = {
        "url": container.settings.radar_tile_url,
        "attribution": container.settings.radar_tile_attribution,
    }
    return render(
        request,
        "claims/command.html",
        {
            "e": snap["event"],
            # embedded in a <script> element: no "</script>" can close it early
            "snapshot_json": json.dumps(snap, ensure_ascii=False, separators=(",", ":")).replace(
                "<", "\\u003c"
            ),
            "tiles_json": json.dumps(tiles),
            "can_command": who.can(Perm.CAT_COMMAND),
            "can_dispatch": who.can(Perm.CLAIM_DISPATCH),
        },
    )


def _wants_json(request: Request) -> bool:
    return "text/html" not in request.headers.get("accept", "")


def _regions(raw: str) -> list[str]:
    return [r for r in raw.replace("，", ",").replace(" ", ",").split(",") if r]


@router.post("/claims/events/{event_id:int}/command/staff")
async def move_staff(
    request: Request, event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> Response:
    """A commander moves one staff member: factory, allowed regions, online. Goes through
    `staff.upsert_staff` (Perm.CAT_COMMAND, validated, audited); the page updates from the next push."""
    form = await request.form()
    f = {k: v for k, v in form.items() if isinstance(v, str)}
    s = uow.session
    events.get_event(s, who, event_id)
    username = f.get("username", "").strip()
    row = s.execute(
        select(StaffProfile, User)
        .join(User, User.id == StaffProfile.user_id)
        .where(User.username == username)
    ).first()
    if row is None:
        raise ValidationFailed(
            [
                FieldProblem(
                    "username", f"「{username}」没有理赔人员档案", f"{username!r} has no staff profile"
                )
            ]
        )
    p, _user = row
    factory_code = f.get("factory_code", "").strip() or None
    same_factory = (p.factory.code if p.factory else None) == factory_code
    team = None
    if same_factory and p.team_id:
        from xiaobao.claims.tables import Team

        t = s.get(Team, p.team_id)
        team = t.name if t else None
    try:
        data = StaffUpsert(
            username=username,
            kind=p.kind,
            factory_code=factory_code,
            team=team,
            skills=list(p.skills or []),
            authority_limit=p.authority_limit,
            allowed_regions=_regions(f.get("allowed_regions", "")),
            home_district=p.home_district,
            shifts=[(a, b) for a, b in (p.shifts or [])],
            capacity=int(f["capacity"]) if f.get("capacity", "").strip().isdigit() else p.capacity,
            online=f.get("online") in ("1", "on", "true"),
        )
    except ValidationError as e:
        raise form_problems(e, f) from None
    staff.upsert_staff(uow, who, data, container.clock.now())
    if _wants_json(request):
        return JSONResponse({"ok": True, "username": username})
    return RedirectResponse(f"/claims/events/{event_id}/command?done=staff", status_code=303)


@router.post("/claims/events/{event_id:int}/command/dispatch")
async def run_dispatch(
    request: Request, event_id: int, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> Response:
    """Run the dispatch engine (Perm.CLAIM_DISPATCH) from the command page."""
    events.get_event(uow.session, who, event_id)
    uow.rollback()
    res = await run_in_threadpool(dispatching.run, container, who, container.clock.now(), event_id)
    if _wants_json(request):
        return JSONResponse(
            {
                "items": res.items,
                "staff": res.staff,
                "assigned": len(res.assigned),
                "skipped": len(res.skipped),
            }
        )
    return RedirectResponse(
        f"/claims/events/{event_id}/command?dispatched={len(res.assigned)}", status_code=303
    )
