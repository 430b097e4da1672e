"""Staff HTML pages for consumer-protection review (消保审查): the list, the reviewer's queue, the submission
form (text or .docx / .pdf / .txt upload), the submission page (the text with findings highlighted, a side
panel with basis and suggestion and the decision form, keyboard navigation, the diff against the previous
version, conclusion / resubmission / release forms), statistics (ECharts), and the rule library admin.

Routes stay thin: parse the form, call a service, redirect (303); a refused command re-renders the page with
the problem next to the form that caused it."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.core.errors import FieldProblem, Forbidden, ValidationFailed, XiaobaoError
from xiaobao.review import library, services, stats
from xiaobao.review.api import period_of
from xiaobao.review.domain import (
    ACTION_LABELS,
    CATEGORY_META,
    CONCLUSION_META,
    DECISION_META,
    MATERIAL_TYPE_META,
    PRODUCT_LINE_META,
    SEVERITY_META,
    STATUS_META,
    Action,
    Conclusion,
    Status,
    allowed_conclusions,
    diff_texts,
    segments,
)
from xiaobao.review.tables import ReviewSubmission
from xiaobao.web.deps import ContainerDep, CurrentUser, LangDep, UowDep
from xiaobao.web.forms import blank, is_htmx, problems_by_field
from xiaobao.web.templating import render, templates

router = APIRouter(include_in_schema=False)

templates.env.globals.update(
    REVIEW_STATUS_META=STATUS_META,
    REVIEW_CATEGORY_META=CATEGORY_META,
    REVIEW_SEVERITY_META=SEVERITY_META,
    REVIEW_MATERIAL_TYPE_META=MATERIAL_TYPE_META,
    REVIEW_PRODUCT_LINE_META=PRODUCT_LINE_META,
    REVIEW_CONCLUSION_META=CONCLUSION_META,
    REVIEW_DECISION_META=DECISION_META,
)
MAX_UPLOAD = 20 * 1024 * 1024


def _pick(label: Any, lang: str) -> str:
    return str(label[0] if lang == "zh" else label[1])


def _need_any(who: Principal) -> None:
    if not (who.can(Perm.REVIEW_VIEW) or who.can(Perm.REVIEW_SUBMIT)):
        raise Forbidden()


def _ctx(container: Any) -> services.Ctx:
    return services.Ctx(now=container.clock.now(), calendar=container.calendar)


async def _upload(file: UploadFile | None) -> tuple[str | None, bytes | None]:
    if file is None or not file.filename:
        return None, None
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ValidationFailed([FieldProblem("file", "文件超过 20 MB", "the file exceeds 20 MB")])
    return file.filename, data or None


def _errors(exc: XiaobaoError, lang: str) -> dict[str, list[str]]:
    out = problems_by_field(exc, lang)
    if not out:
        out["_"] = [exc.message(lang)]
    return out


# ---------------------------------------------------------------- list, queue


@router.get("/review")
def review_list(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    status: str | None = None,
    q: str | None = None,
    mine: bool = False,
) -> Response:
    _need_any(who)
    status = status if status in {s.value for s in Status} else None
    rows = services.list_submissions(uow.session, who, status=status, q=blank(q), mine=mine)
    return render(
        request,
        "review/list.html",
        {"rows": rows, "status": status, "q": q or "", "mine": mine, "statuses": list(Status)},
    )


@router.get("/review/queue")
def review_queue(request: Request, uow: UowDep, who: CurrentUser) -> Response:
    if not who.can(Perm.REVIEW_DECIDE):
        raise Forbidden("只有审查人有审查队列", "Only reviewers have a review queue")
    mine, waiting = services.queue(uow.session, who)
    return render(request, "review/queue.html", {"mine": mine, "waiting": waiting})


# ---------------------------------------------------------------- submit


def _new_form(
    request: Request,
    s: Session,
    who: Principal,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    status_code: int = 200,
) -> Response:
    from xiaobao.auth.tables import Org

    org = s.get(Org, who.org_id) if who.org_id is not None else None
    reviewers = services.reviewers_for(s, org) if org is not None else []
    return render(
        request,
        "review/new.html",
        {"values": values, "errors": errors, "reviewers": reviewers},
        status_code=status_code,
    )


@router.get("/review/new")
def review_new(request: Request, uow: UowDep, who: CurrentUser) -> Response:
    if not who.can(Perm.REVIEW_SUBMIT):
        raise Forbidden("您的角色不能提交审查", "Your role may not submit material for review")
    return _new_form(request, uow.session, who, {"material_type": "marketing"}, {})


@router.post("/review/new")
async def review_create(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    title: Annotated[str, Form()] = "",
    material_type: Annotated[str, Form()] = "",
    product_line: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    reviewer_id: Annotated[str, Form()] = "",
    file: UploadFile | None = None,
) -> Response:
    values = {
        "title": title,
        "material_type": material_type,
        "product_line": product_line,
        "text": text,
        "reviewer_id": reviewer_id,
    }
    try:
        name, data = await _upload(file)
        m = services.Material(
            title=title,
            material_type=material_type,
            product_line=blank(product_line),
            text=text if not data else None,
            file_name=name,
            file_data=data,
            reviewer_id=int(reviewer_id) if reviewer_id.strip().isdigit() else None,
        )
        sub = services.submit(uow.session, who, m, _ctx(container))
        uow.commit()
    except XiaobaoError as e:
        uow.rollback()
        return _new_form(request, uow.session, who, values, _errors(e, lang), e.status_code)
    return RedirectResponse(f"/review/{sub.id}", status_code=303)


# ---------------------------------------------------------------- the submission page


def _detail_ctx(
    s: Session, who: Principal, sub: ReviewSubmission, rels: frozenset[str], n: int | None, lang: str
) -> dict[str, Any]:
    view = services.version_view(s, sub, n)
    v = view.version
    spans = [(f.id, f.start, f.end) for f in view.findings]
    by_id = {f.id: f for f in view.findings}
    segs = segments(v.text, spans)
    first_seg: dict[int, int] = {}
    for i, seg in enumerate(segs):
        for fid in seg.finding_ids:
            first_seg.setdefault(fid, i)
    is_current = v.n == sub.current_n
    can = {a.value: is_current and services.allowed(a, sub, rels, who) for a in Action}
    diff = diff_texts(view.previous_text, v.text) if view.previous_text is not None else None
    return {
        "sub": sub,
        "view": view,
        "v": v,
        "segments": segs,
        "first_seg": first_seg,
        "by_id": by_id,
        "doc_level": [f for f in view.findings if f.end <= f.start],
        "versions": services.versions(s, sub),
        "is_current": is_current,
        "can": can,
        "diff": diff,
        "allowed_conclusions": allowed_conclusions([f.decision for f in view.findings]),
        "conclusions": list(Conclusion),
        "reviewers": services.reviewers_for(s, sub.org) if can["assign"] else [],
        "action_label": lambda a: _pick(ACTION_LABELS[Action(a)], lang),
        "pick": lambda label: _pick(label, lang),
    }


def _detail(
    request: Request,
    s: Session,
    who: Principal,
    sid: int,
    n: int | None,
    lang: str,
    errors: dict[str, dict[str, list[str]]] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    sub, rels = services.access_submission(s, who, sid)
    ctx = _detail_ctx(s, who, sub, rels, n, lang)
    ctx.update({"errors": errors or {}, "values": values or {}})
    return render(request, "review/detail.html", ctx, status_code=status_code)


@router.get("/review/{submission_id:int}")
def review_detail(
    request: Request, submission_id: int, uow: UowDep, who: CurrentUser, lang: LangDep, n: int | None = None
) -> Response:
    return _detail(request, uow.session, who, submission_id, n, lang)


@router.post("/review/{submission_id:int}/findings/{finding_id:int}")
def review_decide(
    request: Request,
    submission_id: int,
    finding_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    error: dict[str, list[str]] = {}
    try:
        services.decide(uow, who, submission_id, finding_id, decision, reason, container.clock.now())
    except XiaobaoError as e:
        uow.rollback()
        if not is_htmx(request):
            return _detail(
                request,
                uow.session,
                who,
                submission_id,
                None,
                lang,
                {f"finding-{finding_id}": _errors(e, lang)},
                status_code=e.status_code,
            )
        error = _errors(e, lang)
    if not is_htmx(request):
        return RedirectResponse(f"/review/{submission_id}#card-{finding_id}", status_code=303)
    sub, rels = services.access_submission(uow.session, who, submission_id)
    ctx = _detail_ctx(uow.session, who, sub, rels, None, lang)
    f = ctx["by_id"].get(finding_id)
    ctx.update(
        {"f": f, "card_errors": error, "oob": True, "values": {"reason": reason, "decision": decision}}
    )
    return render(request, "review/_decide_response.html", ctx, status_code=422 if error else 200)


async def _post_action(
    request: Request,
    submission_id: int,
    uow: Any,
    who: Principal,
    container: Any,
    lang: str,
    form_name: str,
    fn: Any,
    values: dict[str, Any],
) -> Response:
    try:
        await fn()
    except XiaobaoError as e:
        uow.rollback()
        return _detail(
            request,
            uow.session,
            who,
            submission_id,
            None,
            lang,
            {form_name: _errors(e, lang)},
            values,
            e.status_code,
        )
    return RedirectResponse(f"/review/{submission_id}", status_code=303)


@router.post("/review/{submission_id:int}/conclude")
async def review_conclude(
    request: Request,
    submission_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    conclusion: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    async def run() -> None:
        services.conclude(uow, who, submission_id, conclusion, comment, container.clock.now(), version)

    return await _post_action(
        request,
        submission_id,
        uow,
        who,
        container,
        lang,
        "conclude",
        run,
        {"conclusion": conclusion, "comment": comment},
    )


@router.post("/review/{submission_id:int}/assign")
async def review_assign(
    request: Request,
    submission_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    reviewer_id: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    async def run() -> None:
        rid = int(reviewer_id) if reviewer_id.strip().isdigit() else None
        services.assign(uow, who, submission_id, rid, _ctx(container), version)

    return await _post_action(request, submission_id, uow, who, container, lang, "assign", run, {})


@router.post("/review/{submission_id:int}/resubmit")
async def review_resubmit(
    request: Request,
    submission_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    text: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
    file: UploadFile | None = None,
) -> Response:
    async def run() -> None:
        name, data = await _upload(file)
        m = services.Material(
            "", "", text=text if not data else None, file_name=name, file_data=data, note=note
        )
        services.resubmit(uow, who, submission_id, m, _ctx(container), version)

    return await _post_action(
        request, submission_id, uow, who, container, lang, "resubmit", run, {"text": text, "note": note}
    )


@router.post("/review/{submission_id:int}/release")
async def review_release(
    request: Request,
    submission_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    note: Annotated[str, Form()] = "",
    changes_confirmed: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    async def run() -> None:
        services.release(
            uow,
            who,
            submission_id,
            note,
            changes_confirmed in ("1", "on", "true"),
            container.clock.now(),
            version,
        )

    return await _post_action(
        request, submission_id, uow, who, container, lang, "release", run, {"note": note}
    )


@router.post("/review/{submission_id:int}/withdraw")
async def review_withdraw(
    request: Request,
    submission_id: int,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    reason: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    async def run() -> None:
        services.withdraw(uow, who, submission_id, reason, container.clock.now(), version)

    return await _post_action(
        request, submission_id, uow, who, container, lang, "withdraw", run, {"reason": reason}
    )


# ---------------------------------------------------------------- statistics


@router.get("/review/stats")
def review_stats_page(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    start: Annotated[date | None, Query()] = None,
    end: Annotated[date | None, Query()] = None,
) -> Response:
    if not who.can(Perm.REVIEW_VIEW):
        raise Forbidden("您的角色不能查看审查统计", "Your role may not see review statistics")
    period = period_of(container, start, end)
    figures = stats.compute(uow.session, who, period, lang)
    return render(
        request,
        "review/stats.html",
        {
            "figures": figures,
            "period": period,
            "chart_json": json.dumps(figures, ensure_ascii=False).replace("</", "<\\/"),
        },
    )


# ---------------------------------------------------------------- rule library


def _need_rules(who: Principal) -> None:
    if not who.can(Perm.REVIEW_RULES):
        raise Forbidden("您的角色不能维护审查规则", "Your role may not maintain review rules")


@router.get("/review/rules")
def rules_list(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    category: str | None = None,
    q: str | None = None,
    state: str | None = None,
) -> Response:
    _need_rules(who)
    rules = library.effective(uow.session)
    if category:
        rules = [r for r in rules if r.rule.category == category]
    if state == "disabled":
        rules = [r for r in rules if not r.enabled]
    elif state == "edited":
        rules = [r for r in rules if r.rule_version]
    if q and q.strip():
        needle = q.strip().lower()
        rules = [r for r in rules if needle in json.dumps(r.body, ensure_ascii=False).lower()]
    return render(
        request,
        "review/rules.html",
        {
            "rules": rules,
            "category": category or "",
            "q": q or "",
            "state": state or "",
            "library_version": library.library_version(uow.session),
        },
    )


def _rule_form(
    request: Request,
    s: Session,
    rule_id: str | None,
    body_text: str,
    reason: str,
    errors: dict[str, list[str]],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "review/rule_edit.html",
        {"rule_id": rule_id, "body_text": body_text, "reason": reason, "errors": errors},
        status_code=status_code,
    )


NEW_RULE_TEMPLATE = """id: AT-901
category: absolute_term
severity: medium
applies_to: [marketing, script]
match: {terms: [史上最强]}
basis: 《中华人民共和国广告法》第九条第（三）项：不得使用“国家级”“最高级”“最佳”等用语
suggestion: 删除绝对化用语，改为可证实的客观描述
examples:
  positive: [史上最强的意外险。]
  negative: [我们努力提供更好的服务。]
"""


def _save_rule(
    request: Request,
    uow: Any,
    who: Principal,
    container: Any,
    lang: str,
    rule_id: str | None,
    body: str,
    reason: str,
) -> Response:
    """Add a rule (rule_id None) or edit one from the YAML form; on a problem the form comes back with it."""
    _need_rules(who)
    try:
        edit = library.save_edit(
            uow.session,
            who,
            action="add" if rule_id is None else "edit",
            rule_id=rule_id,
            body=library.parse_body(body),
            reason=reason,
            now=container.clock.now(),
        )
        uow.commit()
    except XiaobaoError as e:
        uow.rollback()
        return _rule_form(request, uow.session, rule_id, body, reason, _errors(e, lang), e.status_code)
    return RedirectResponse(f"/review/rules/{edit.rule_id}", status_code=303)


@router.get("/review/rules/new")
def rule_new(request: Request, uow: UowDep, who: CurrentUser) -> Response:
    _need_rules(who)
    return _rule_form(request, uow.session, None, NEW_RULE_TEMPLATE, "", {})


@router.post("/review/rules/new")
def rule_create(
    request: Request,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    body: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _save_rule(request, uow, who, container, lang, None, body, reason)


@router.get("/review/rules/{rule_id}")
def rule_detail(request: Request, rule_id: str, uow: UowDep, who: CurrentUser) -> Response:
    _need_rules(who)
    r = library.get_rule(uow.session, rule_id)
    return render(
        request,
        "review/rule_detail.html",
        {
            "r": r,
            "yaml": library.body_yaml(r.body),
            "history": list(reversed(library.history(uow.session, rule_id))),
            "body_yaml": library.body_yaml,
        },
    )


@router.get("/review/rules/{rule_id}/edit")
def rule_edit(request: Request, rule_id: str, uow: UowDep, who: CurrentUser) -> Response:
    _need_rules(who)
    r = library.get_rule(uow.session, rule_id)
    return _rule_form(request, uow.session, rule_id, library.body_yaml(r.body), "", {})


@router.post("/review/rules/{rule_id}/edit")
def rule_save(
    request: Request,
    rule_id: str,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    body: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _save_rule(request, uow, who, container, lang, rule_id, body, reason)


@router.post("/review/rules/{rule_id}/state")
def rule_state(
    request: Request,
    rule_id: str,
    uow: UowDep,
    who: CurrentUser,
    container: ContainerDep,
    lang: LangDep,
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    _need_rules(who)
    if action not in ("disable", "enable"):
        raise ValidationFailed([FieldProblem("action", "未知的操作", "unknown action")])
    try:
        library.save_edit(
            uow.session,
            who,
            action=action,
            rule_id=rule_id,
            body=None,
            reason=reason,
            now=container.clock.now(),
        )
        uow.commit()
    except XiaobaoError as e:
        uow.rollback()
        r = library.get_rule(uow.session, rule_id)
        return render(
            request,
            "review/rule_detail.html",
            {
                "r": r,
                "yaml": library.body_yaml(r.body),
                "history": list(reversed(library.history(uow.session, rule_id))),
                "body_yaml": library.body_yaml,
                "errors": _errors(e, lang),
            },
            status_code=e.status_code,
        )
    return RedirectResponse(f"/review/rules/{rule_id}", status_code=303)
