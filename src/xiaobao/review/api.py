"""JSON API /api/v1/review: submit material (honours Idempotency-Key), read a submission with its findings,
assign the reviewer, decide findings, conclude, resubmit, release, withdraw; statistics; the rule library."""

from __future__ import annotations

import base64
import binascii
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.errors import FieldProblem, Forbidden, ValidationFailed
from xiaobao.review import library, services, stats
from xiaobao.web.deps import ContainerDep, CurrentUser, UowDep

router = APIRouter(prefix="/api/v1/review", tags=["review"])


class SubmissionCreate(BaseModel):
    title: str = Field(max_length=200)
    material_type: str
    product_line: str | None = None
    text: str | None = None
    file_name: str | None = Field(default=None, max_length=255)
    file_base64: str | None = None
    """A .docx, .pdf or .txt file, base64-encoded (instead of text)."""
    reviewer_id: int | None = None
    org_id: int | None = None
    note: str | None = None


class Resubmission(BaseModel):
    version: int | None = None
    text: str | None = None
    file_name: str | None = Field(default=None, max_length=255)
    file_base64: str | None = None
    note: str


class AssignRequest(BaseModel):
    version: int | None = None
    reviewer_id: int


class DecisionRequest(BaseModel):
    decision: str
    reason: str | None = None


class ConclusionRequest(BaseModel):
    version: int | None = None
    conclusion: str
    comment: str | None = None


class ReleaseRequest(BaseModel):
    version: int | None = None
    note: str | None = None
    changes_confirmed: bool = False


class WithdrawRequest(BaseModel):
    version: int | None = None
    reason: str


def _file(name: str | None, b64: str | None) -> tuple[str | None, bytes | None]:
    if not b64:
        return None, None
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            [FieldProblem("file_base64", "文件内容不是有效的 base64", "file_base64 is not valid base64")]
        ) from None
    if len(data) > 20 * 1024 * 1024:
        raise ValidationFailed([FieldProblem("file_base64", "文件超过 20 MB", "the file exceeds 20 MB")])
    return name or "material.txt", data


def _ctx(container: Any) -> services.Ctx:
    return services.Ctx(now=container.clock.now(), calendar=container.calendar)


def _body(uow: Any, sid: int, who: Principal) -> dict[str, Any]:
    sub, _ = services.access_submission(uow.session, who, sid)
    return services.to_public(uow.session, sub, who)


@router.get("/submissions", summary="Submissions the caller may see")
def list_submissions(
    uow: UowDep,
    who: CurrentUser,
    status: str | None = None,
    q: str | None = None,
    mine: bool = False,
) -> list[dict[str, Any]]:
    if not (who.can(Perm.REVIEW_VIEW) or who.can(Perm.REVIEW_SUBMIT)):
        raise Forbidden()
    return [
        {
            "id": s.id,
            "title": s.title,
            "material_type": s.material_type,
            "product_line": s.product_line,
            "org": s.org.code,
            "status": s.status,
            "current_n": s.current_n,
            "reviewer_id": s.reviewer_id,
            "due_at": s.due_at.isoformat() if s.due_at else None,
            "review_number": s.review_number,
        }
        for s in services.list_submissions(uow.session, who, status=status, q=q, mine=mine)
    ]


@router.post("/submissions", status_code=201, summary="Submit material for review; honours Idempotency-Key")
def create(
    data: SubmissionCreate,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> JSONResponse:
    name, blob = _file(data.file_name, data.file_base64)
    m = services.Material(
        title=data.title,
        material_type=data.material_type,
        product_line=data.product_line,
        text=data.text,
        file_name=name,
        file_data=blob,
        reviewer_id=data.reviewer_id,
        org_id=data.org_id,
        note=data.note,
    )
    ctx = _ctx(container)
    if idempotency_key:
        status, body, replayed = services.submit_idempotent(
            uow,
            who,
            m,
            ctx,
            key=idempotency_key,
            render=lambda sub: services.to_public(uow.session, sub, who),
        )
        return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": str(replayed).lower()})
    sub = services.submit(uow.session, who, m, ctx)
    body = services.to_public(uow.session, sub, who)
    uow.commit()
    return JSONResponse(body, status_code=201)


@router.get("/submissions/{submission_id}", summary="A submission with its current version and findings")
def get(submission_id: int, uow: UowDep, who: CurrentUser, n: int | None = None) -> dict[str, Any]:
    sub, _ = services.access_submission(uow.session, who, submission_id)
    return services.to_public(uow.session, sub, who, n)


@router.post("/submissions/{submission_id}/assign", summary="Assign (or change) the reviewer")
def assign(
    submission_id: int, data: AssignRequest, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    services.assign(uow, who, submission_id, data.reviewer_id, _ctx(container), data.version)
    return _body(uow, submission_id, who)


@router.post(
    "/submissions/{submission_id}/findings/{finding_id}/decision", summary="Accept or dismiss one finding"
)
def decide(
    submission_id: int,
    finding_id: int,
    data: DecisionRequest,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
) -> dict[str, Any]:
    f = services.decide(
        uow, who, submission_id, finding_id, data.decision, data.reason, container.clock.now()
    )
    return {"id": f.id, "rule_id": f.rule_id, "decision": f.decision, "reason": f.reason}


@router.post("/submissions/{submission_id}/conclusion", summary="Conclude: pass, pass_with_changes or fail")
def conclude(
    submission_id: int, data: ConclusionRequest, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    services.conclude(
        uow, who, submission_id, data.conclusion, data.comment, container.clock.now(), data.version
    )
    return _body(uow, submission_id, who)


@router.post("/submissions/{submission_id}/versions", status_code=201, summary="Resubmit revised material")
def resubmit(
    submission_id: int, data: Resubmission, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    name, blob = _file(data.file_name, data.file_base64)
    m = services.Material("", "", text=data.text, file_name=name, file_data=blob, note=data.note)
    services.resubmit(uow, who, submission_id, m, _ctx(container), data.version)
    return _body(uow, submission_id, who)


@router.post("/submissions/{submission_id}/release", summary="Mark the approved version as released")
def release(
    submission_id: int, data: ReleaseRequest, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    services.release(
        uow, who, submission_id, data.note, data.changes_confirmed, container.clock.now(), data.version
    )
    return _body(uow, submission_id, who)


@router.post("/submissions/{submission_id}/withdraw", summary="Withdraw the material")
def withdraw(
    submission_id: int, data: WithdrawRequest, uow: UowDep, who: CurrentUser, container: ContainerDep
) -> dict[str, Any]:
    services.withdraw(uow, who, submission_id, data.reason, container.clock.now(), data.version)
    return _body(uow, submission_id, who)


def period_of(container: Any, start: date | None, end: date | None) -> stats.Period:
    today = container.clock.now().astimezone(CN_TZ).date()
    end = end or today
    start = start or (end - timedelta(days=89))
    if start > end:
        raise ValidationFailed([FieldProblem("start", "开始日期不能晚于结束日期", "start is after end")])
    return stats.Period(start, end)


@router.get(
    "/stats", summary="Findings by category, rule and department; time to review; most-dismissed rules"
)
def review_stats(
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    start: Annotated[date | None, Query()] = None,
    end: Annotated[date | None, Query()] = None,
    lang: str = "zh",
) -> dict[str, Any]:
    return stats.compute(uow.session, who, period_of(container, start, end), lang)


def _rule_json(r: library.LibraryRule) -> dict[str, Any]:
    return {
        "id": r.id,
        "category": r.rule.category,
        "severity": r.rule.severity,
        "origin": r.origin,
        "source": r.source,
        "enabled": r.enabled,
        "rule_version": r.rule_version,
        "body": r.body,
    }


@router.get("/rules", summary="The effective rule library (YAML overlaid by UI edits)")
def rules(uow: UowDep, who: CurrentUser) -> dict[str, Any]:
    if not (who.can(Perm.REVIEW_RULES) or who.can(Perm.REVIEW_VIEW)):
        raise Forbidden()
    return {
        "library_version": library.library_version(uow.session),
        "rules": [_rule_json(r) for r in library.effective(uow.session)],
    }


@router.get("/rules/{rule_id}", summary="One rule with its edit history")
def rule(rule_id: str, uow: UowDep, who: CurrentUser) -> dict[str, Any]:
    if not (who.can(Perm.REVIEW_RULES) or who.can(Perm.REVIEW_VIEW)):
        raise Forbidden()
    r = library.get_rule(uow.session, rule_id)
    return {
        **_rule_json(r),
        "history": [
            {
                "rule_version": e.rule_version,
                "action": e.action,
                "reason": e.reason,
                "author": e.author_label,
                "at": e.at.isoformat(),
                "body": e.body,
            }
            for e in library.history(uow.session, rule_id)
        ],
    }
