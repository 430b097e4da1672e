"""Statistics: the dashboard and the regulator report, as JSON (/api/v1/complaints-stats/...), an .xlsx
download and HTML pages (/complaints/dashboard, /complaints/stats). Thin: the figures come from `reports`,
scope from the caller's org subtree; every route needs Perm.STATS_VIEW."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from xiaobao.auth.principal import Principal
from xiaobao.auth.roles import Perm
from xiaobao.complaints import reports
from xiaobao.complaints.domain import OPEN_STATUSES, Status
from xiaobao.core import audit
from xiaobao.core.calendar import CN_TZ
from xiaobao.web.deps import ContainerDep, LangDep, UowDep, require
from xiaobao.web.i18n import translate
from xiaobao.web.templating import render

router = APIRouter()
API = "/api/v1/complaints-stats"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

StatsUser = Annotated[Principal, require(Perm.STATS_VIEW)]
OrgQ = Annotated[
    str | None, Query(max_length=32, description="org code inside your scope (default: all of it)")
]
DaysQ = Annotated[int, Query(ge=1, le=366, description="window in Asia/Shanghai days, ending today")]
DateQ = Annotated[date | None, Query(description="local date (Asia/Shanghai), included")]


def _period(container: ContainerDep, start: date | None, end: date | None) -> tuple[date, date]:
    """Explicit dates, or the last full quarter (a missing end defaults to the start's quarter end)."""
    today = container.clock.now().astimezone(CN_TZ).date()
    if start is None and end is None:
        return reports.last_full_quarter(today)
    if start is None:
        assert end is not None
        start = reports.quarter_range(*reports.quarter_of(end))[0]
    if end is None:
        end = reports.quarter_range(*reports.quarter_of(start))[1]
    return start, end


def _report(
    uow: UowDep,
    container: ContainerDep,
    who: Principal,
    start: date | None,
    end: date | None,
    org: str | None,
    lang: str,
) -> reports.RegulatorReport:
    s, e = _period(container, start, end)
    return reports.regulator_report(
        uow.session, who, s, e, lang, org_code=org or None, now=container.clock.now()
    )


# ---------------------------------------------------------------- JSON


@router.get(f"{API}/dashboard", tags=["statistics"], summary="Dashboard figures for your scope")
def dashboard_json(
    uow: UowDep, container: ContainerDep, who: StatsUser, lang: LangDep, org: OrgQ = None, days: DaysQ = 90
) -> dict[str, Any]:
    d = reports.dashboard(
        uow.session,
        who,
        container.clock.now(),
        org_code=org or None,
        days=days,
        due_soon=timedelta(days=container.settings.due_soon_days),
        lang=lang,
    )
    return d.to_dict()


@router.get(
    f"{API}/regulator",
    tags=["statistics"],
    summary="Regulator statistics (line × cause × branch) for a period; default the last full quarter",
)
def regulator_json(
    uow: UowDep,
    container: ContainerDep,
    who: StatsUser,
    lang: LangDep,
    start: DateQ = None,
    end: DateQ = None,
    org: OrgQ = None,
) -> dict[str, Any]:
    return _report(uow, container, who, start, end, org, lang).to_dict()


@router.get(
    f"{API}/regulator.xlsx",
    tags=["statistics"],
    response_class=Response,
    summary="Regulator statistics as an .xlsx workbook (Chinese columns)",
)
def regulator_xlsx(
    uow: UowDep,
    container: ContainerDep,
    who: StatsUser,
    start: DateQ = None,
    end: DateQ = None,
    org: OrgQ = None,
) -> Response:
    report = _report(uow, container, who, start, end, org, "zh")
    body = reports.regulator_xlsx(report)
    audit.record(
        uow.session,
        at=container.clock.now(),
        actor_id=who.user_id,
        actor_label=who.label,
        action="stats.export",
        entity_type="report",
        entity_id=None,
        after={
            "report": "regulator",
            "start": report.start.isoformat(),
            "end": report.end.isoformat(),
            "org": org or None,
        },
        ip=who.ip,
    )
    uow.commit()
    name = f"complaint-stats_{org or 'all'}_{report.start:%Y%m%d}-{report.end:%Y%m%d}.xlsx"
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------- pages


def _list_link(org: str | None, params: list[tuple[str, str]]) -> str:
    """A link to the complaint list with the same org filter (the list's query parameter is `org`)."""
    return "/complaints?" + urlencode([*params, *([("org", org)] if org else [])])


CHART_TEXT = (
    "状态分布",
    "每日受理与办结",
    "受理",
    "办结",
    "按机构",
    "按投诉原因",
    "按险种",
    "件",
    "暂无数据",
    "数据加载失败",
    "特殊群体",
)


@router.get("/complaints/dashboard", include_in_schema=False)
def dashboard_page(
    request: Request,
    uow: UowDep,
    container: ContainerDep,
    who: StatsUser,
    lang: LangDep,
    org: OrgQ = None,
    days: DaysQ = 90,
) -> Any:
    k = reports.kpis(
        uow.session,
        who,
        container.clock.now(),
        org_code=org or None,
        days=days,
        due_soon=timedelta(days=container.settings.due_soon_days),
        lang=lang,
    )
    open_link = _list_link(org, [("status", st.value) for st in Status if st in OPEN_STATUSES])
    cards = [
        ("open", "在办投诉", k.open_total, open_link, ""),
        ("due_soon", "临期（监管时限）", k.due_soon, _list_link(org, [("due", "due_soon")]), "warn"),
        ("overdue", "超期（监管时限）", k.overdue, _list_link(org, [("due", "overdue")]), "bad"),
        (
            "contact_overdue",
            "联系超时",
            k.contact_overdue,
            _list_link(org, [("due", "contact_overdue")]),
            "warn",
        ),
    ]
    i18n = {t: translate(t, lang) for t in CHART_TEXT}
    return render(
        request,
        "reports/dashboard.html",
        {
            "k": k,
            "cards": cards,
            "org": org or "",
            "days": days,
            "orgs": reports.scope_choices(uow.session, who, lang),
            "api_url": f"{API}/dashboard?" + urlencode({"days": days, **({"org": org} if org else {})}),
            "i18n_json": json.dumps(i18n, ensure_ascii=False),
        },
    )


@router.get("/complaints/stats", include_in_schema=False)
def stats_page(
    request: Request,
    uow: UowDep,
    container: ContainerDep,
    who: StatsUser,
    lang: LangDep,
    start: DateQ = None,
    end: DateQ = None,
    org: OrgQ = None,
) -> Any:
    report = _report(uow, container, who, start, end, org, lang)
    today = container.clock.now().astimezone(CN_TZ).date()
    period = {
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        **({"org": org} if org else {}),
    }
    quarters = [
        (
            label,
            s,
            e,
            "?" + urlencode({"start": s.isoformat(), "end": e.isoformat(), **({"org": org} if org else {})}),
        )
        for label, s, e in reports.recent_quarters(today, 8)
    ]
    return render(
        request,
        "reports/stats.html",
        {
            "r": report,
            "org": org or "",
            "orgs": reports.scope_choices(uow.session, who, lang),
            "quarters": quarters,
            "xlsx_url": f"{API}/regulator.xlsx?" + urlencode(period),
            "no_policy": reports.NO_POLICY_ZH if lang == "zh" else reports.NO_POLICY_EN,
        },
    )
