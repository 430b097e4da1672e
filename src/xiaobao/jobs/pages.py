"""Admin views of the background jobs (HTML at /admin/jobs, JSON under /api/v1/jobs): each job's last
and next run, status, consecutive failures and last error, a "run now" button; and the e-mail / SMS
deliveries that failed, with a "send again" button."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.core.errors import NotFound
from xiaobao.jobs import services
from xiaobao.notifications import delivery
from xiaobao.notifications.domain import DELIVERY_LABELS, DeliveryStatus
from xiaobao.web.deps import ContainerDep, LangDep, UowDep, require
from xiaobao.web.templating import render

SUMMARY_LABELS: dict[str, tuple[str, str]] = {
    "items": ("处理事项", "items"),
    "notifications": ("新通知", "new notifications"),
    "stage_1": ("到期提醒", "reminded"),
    "stage_2": ("超期升级", "escalated"),
    "stage_3": ("严重超期", "severely overdue"),
    "already_done": ("已由其他进程处理", "done by another worker"),
    "duplicates_skipped": ("重复未发", "duplicates skipped"),
    "unrouted": ("找不到接收人", "no recipient found"),
    "batches": ("批次", "batches"),
    "sent": ("已发送", "sent"),
    "failed": ("失败待重试", "failed, will retry"),
    "dead": ("已放弃", "given up"),
}


def summary_items(summary: dict[str, Any] | None, lang: str) -> list[tuple[str, Any]]:
    """A run's counts in words, zeros left out (unknown keys as they are)."""
    pick = 0 if lang == "zh" else 1
    rank = {k: i for i, k in enumerate(SUMMARY_LABELS)}
    keys = sorted(
        (k for k, v in (summary or {}).items() if v not in (0, None, "")), key=lambda k: rank.get(k, 99)
    )
    return [(SUMMARY_LABELS[k][pick] if k in SUMMARY_LABELS else k, (summary or {})[k]) for k in keys]


def took(started: datetime | None, finished: datetime | None, lang: str) -> str:
    if started is None or finished is None:
        return ""
    s = (finished - started).total_seconds()
    if s < 1:
        return f"{round(s * 1000)} 毫秒" if lang == "zh" else f"{round(s * 1000)} ms"
    return f"{s:.1f} 秒" if lang == "zh" else f"{s:.1f} s"


router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["jobs"])
Admin = Annotated[Principal, require(Perm.ADMIN)]


class JobPublic(BaseModel):
    name: str
    title: str
    interval_seconds: int
    concurrent: bool
    running: bool
    next_run_at: datetime | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_status: str | None
    last_error: str | None
    last_summary: dict[str, Any] | None
    failures: int
    last_worker: str | None


def _public(v: services.JobView, lang: str) -> JobPublic:
    r = v.row
    return JobPublic(
        name=v.job.name,
        title=v.job.title(lang),
        interval_seconds=r.interval_seconds if r else v.job.interval_seconds,
        concurrent=v.job.concurrent,
        running=v.running,
        next_run_at=r.next_run_at if r else None,
        last_started_at=r.last_started_at if r else None,
        last_finished_at=r.last_finished_at if r else None,
        last_status=r.last_status if r else None,
        last_error=r.last_error if r else None,
        last_summary=r.last_summary if r else None,
        failures=r.failures if r else 0,
        last_worker=r.last_worker if r else None,
    )


@router.get("/admin/jobs")
def jobs_page(
    request: Request,
    uow: UowDep,
    container: ContainerDep,
    lang: LangDep,
    who: Admin,
    requested: str | None = None,
    retried: int | None = None,
    busy: str | None = None,
) -> Any:
    views = services.overview(container, uow.session)
    pick = 0 if lang == "zh" else 1
    return render(
        request,
        "jobs/admin.html",
        {
            "views": views,
            "now": container.clock.now(),
            "requested": requested,
            "retried": retried,
            "busy": busy,
            "inprocess": services.runs_in_process(container),
            "dialect": uow.session.get_bind().dialect.name,
            "counts": delivery.status_counts(uow.session),
            "problems": delivery.problem_deliveries(uow.session),
            "delivery_label": lambda s: DELIVERY_LABELS[DeliveryStatus(s)][pick],
            "poll": container.settings.job_poll_seconds,
            "summary_items": lambda summary: summary_items(summary, lang),
            "took": lambda a, b: took(a, b, lang),
        },
    )


@router.post("/admin/jobs/{name}/run")
def jobs_run(name: str, uow: UowDep, container: ContainerDep, who: Admin) -> Any:
    from xiaobao.core.errors import Conflict

    try:
        services.request_run(container, uow, name, who)
    except Conflict:
        return RedirectResponse(f"/admin/jobs?busy={name}", status_code=303)
    return RedirectResponse(f"/admin/jobs?requested={name}", status_code=303)


@router.post("/admin/deliveries/{delivery_id}/retry")
def delivery_retry(delivery_id: int, uow: UowDep, container: ContainerDep, who: Admin) -> Any:
    if delivery.retry_dead(uow.session, delivery_id, container.clock.now(), who) is None:
        raise NotFound("发送记录", "delivery")
    uow.commit()
    return RedirectResponse(f"/admin/jobs?retried={delivery_id}#deliveries", status_code=303)


@api.get("/jobs", response_model=list[JobPublic], summary="Background jobs and their last runs (admin)")
def jobs_json(uow: UowDep, container: ContainerDep, lang: LangDep, who: Admin) -> list[JobPublic]:
    return [_public(v, lang) for v in services.overview(container, uow.session)]


@api.post(
    "/jobs/{name}/run", status_code=202, summary="Make a job due now; a worker runs it on its next poll"
)
def jobs_run_json(name: str, uow: UowDep, container: ContainerDep, who: Admin) -> dict[str, str]:
    services.request_run(container, uow, name, who)
    return {"requested": name}


@api.get("/deliveries/problems", summary="E-mail / SMS deliveries that failed or were given up (admin)")
def deliveries_json(uow: UowDep, who: Admin) -> dict[str, Any]:
    return {
        "counts": delivery.status_counts(uow.session),
        "problems": [
            {
                "id": d.id,
                "channel": d.channel,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at.isoformat() if d.status == "failed" else None,
                "last_error": d.last_error,
                "user": u.username,
                "notification_id": n.id,
                "title": n.title,
            }
            for d, n, u in delivery.problem_deliveries(uow.session)
        ],
    }


@api.post("/deliveries/{delivery_id}/retry", summary="Send a failed or dead delivery again (admin)")
def delivery_retry_json(delivery_id: int, uow: UowDep, container: ContainerDep, who: Admin) -> dict[str, Any]:
    d = delivery.retry_dead(uow.session, delivery_id, container.clock.now(), who)
    if d is None:
        raise NotFound("发送记录", "delivery")
    uow.commit()
    return {"id": d.id, "status": d.status}
