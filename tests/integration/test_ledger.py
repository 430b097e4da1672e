"""The rectification ledger (整改台账) on SQLite and PostgreSQL: enter a regulator notice, split it into
branch tasks, track each to evidence and sign-off, export to .xlsx; a branch sees only its own rows."""

from __future__ import annotations

import io

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import World, login
from tests.integration.tasks_support import PDF, ctx, extend_world, reading, reload_task, today
from xiaobao.bootstrap import Container
from xiaobao.core.audit import AuditLog
from xiaobao.core.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from xiaobao.notifications.tables import Notification
from xiaobao.tasks import ledger, services
from xiaobao.tasks.domain import TaskAction
from xiaobao.tasks.schemas import LedgerCreate, TaskActionRequest
from xiaobao.tasks.tables import RectificationNotice, Task

FINDINGS = "检查发现部分机构理赔环节未书面告知拒赔理由，定损依据未向消费者说明。请逐项整改并报送整改材料。"


@pytest.fixture
def tw(container: Container, world: World) -> World:
    return extend_world(container, world)


def notice(
    container: Container,
    tw: World,
    branches: tuple[str, ...] = ("FJ", "QZ", "SH"),
    who: str = "hq_officer",
    **over: object,
) -> RectificationNotice:
    data: dict[str, object] = {
        "doc_ref": "金消保通〔2026〕3号",
        "authority": "国家金融监督管理总局消费者权益保护局",
        "finding_kind": "inspection",
        "issued_on": today(container, -3),
        "findings": FINDINGS,
        "required_by": today(container, 30),
        "branch_ids": [tw.orgs[b].id for b in branches],
    }
    data.update(over)
    with container.uow() as uow:
        return ledger.create_entry(uow, tw.p(who), LedgerCreate(**data), container.clock.now())  # type: ignore[arg-type]


def kids(
    container: Container, tw: World, entry: RectificationNotice, who: str = "hq_officer"
) -> dict[str, Task]:
    with reading(container) as s:
        e = s.get(RectificationNotice, entry.id)
        assert e is not None
        return {t.org.code: t for t in ledger.branch_tasks(s, tw.p(who), e)}


def complete(container: Container, tw: World, task_id: int, who: str, files=()) -> Task:  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        return services.act(
            uow,
            tw.p(who),
            task_id,
            TaskAction.COMPLETE,
            TaskActionRequest(answer="已修订拒赔告知模板，组织全辖理赔人员培训 3 场。"),
            ctx(container),
            uploads=files,
        )


def test_split_into_one_task_per_branch(container: Container, tw: World) -> None:
    entry = notice(container, tw)
    children = kids(container, tw, entry)
    assert set(children) == {"FJ", "QZ", "SH"}
    for t in children.values():
        assert (t.kind, t.status, t.owner_id, t.ledger_id) == ("rectification", "open", None, entry.id)
        assert t.due_at is not None and t.due_at.date() >= today(container, 29)
    with reading(container) as s:
        parent = ledger.parent_task(s, s.get(RectificationNotice, entry.id))  # type: ignore[arg-type]
        assert parent is not None and parent.owner_id == tw.users["hq_officer"].id
        assert {t.parent_id for t in children.values()} == {parent.id}
        told = set(
            s.scalars(
                select(Notification.user_id).where(
                    Notification.entity_id == children["SH"].id, Notification.entity_type == "task"
                )
            )
        )
    assert tw.users["sh_officer"].id in told
    with reading(container) as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "ledger.create")) is not None


def test_ledger_input_is_checked(container: Container, tw: World) -> None:
    with pytest.raises(ValidationFailed) as e:
        notice(container, tw, required_by=today(container, -1))
    assert {p.field for p in e.value.problems} == {"required_by"}
    with pytest.raises(ValidationFailed) as e:  # Shanghai is outside the Fujian officer's subtree
        notice(container, tw, branches=("QZ", "SH"), who="fj_officer")
    assert {p.field for p in e.value.problems} == {"branch_ids"}
    with pytest.raises(Forbidden):
        notice(container, tw, who="qz_handler")


def test_evidence_and_sign_off(container: Container, tw: World) -> None:
    entry = notice(container, tw)
    fj = kids(container, tw, entry)["FJ"]
    with pytest.raises(ValidationFailed) as e:  # evidence of completion is required
        complete(container, tw, fj.id, "fj_officer")
    assert e.value.problems[0].field == "file"
    done = complete(container, tw, fj.id, "fj_officer", files=[("整改报告.pdf", PDF)])
    assert done.status == "done" and done.owner_id == tw.users["fj_officer"].id  # claimed by completing
    with container.uow() as uow, pytest.raises(Forbidden):  # not one's own work
        services.act(uow, tw.p("fj_officer"), fj.id, TaskAction.SIGN_OFF, TaskActionRequest(), ctx(container))
    with container.uow() as uow, pytest.raises(NotFound):  # another branch: does not exist for them
        services.act(uow, tw.p("sh_officer"), fj.id, TaskAction.SIGN_OFF, TaskActionRequest(), ctx(container))
    with container.uow() as uow:
        services.act(
            uow,
            tw.p("hq_officer"),
            fj.id,
            TaskAction.SIGN_OFF,
            TaskActionRequest(note="材料齐全"),
            ctx(container),
        )
    t = reload_task(container, fj.id)
    assert t.signed_off_by_id == tw.users["hq_officer"].id and t.signed_off_at == container.clock.now()
    with reading(container) as s:
        parent = ledger.parent_task(s, s.get(RectificationNotice, entry.id))  # type: ignore[arg-type]
        assert parent is not None
        assert services.progress_map(s, [parent])[parent.id] == pytest.approx(1 / 3)
        e = s.get(RectificationNotice, entry.id)
        assert e is not None
        summary = ledger.summary(ledger.branch_tasks(s, tw.p("hq_officer"), e), container.clock.now())
    assert (summary.total, summary.done, summary.signed_off, summary.overdue) == (3, 1, 1, 0)


def test_export_one_row_per_branch_task(container: Container, tw: World) -> None:
    entry = notice(container, tw)
    fj = kids(container, tw, entry)["FJ"]
    complete(container, tw, fj.id, "fj_officer", files=[("整改报告.pdf", PDF)])
    with container.uow() as uow:
        services.act(uow, tw.p("hq_officer"), fj.id, TaskAction.SIGN_OFF, TaskActionRequest(), ctx(container))
    with container.uow() as uow:
        data = ledger.export_xlsx(uow, tw.p("hq_officer"), entry.id, "zh", container.clock.now())
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    head, body = rows[0], rows[1:]
    assert head[:3] == ("文号", "发文机关", "类型") and "验收人" in head
    assert len(body) == 3
    by_branch = {r[head.index("整改机构")]: r for r in body}
    fj_row = by_branch["福建分公司"]
    assert fj_row[head.index("状态")] == "已完成" and fj_row[head.index("是否按期")] == "是"
    assert "整改报告.pdf" in fj_row[head.index("整改情况与证明材料")]
    assert fj_row[head.index("验收人")] == "hq_officer" and fj_row[head.index("验收时间")]
    assert fj_row[head.index("完成日期")] is not None
    assert by_branch["上海分公司"][head.index("状态")] == "待办"
    with reading(container) as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "ledger.export")) is not None


def test_a_branch_sees_only_its_rows(container: Container, tw: World) -> None:
    entry = notice(container, tw)
    assert set(kids(container, tw, entry, "sh_officer")) == {"SH"}
    sh_task = kids(container, tw, entry, "sh_officer")["SH"]
    with container.uow() as uow, pytest.raises(Forbidden):  # the branch works the task; only HQ cancels it
        services.act(
            uow,
            tw.p("sh_officer"),
            sh_task.id,
            TaskAction.CANCEL,
            TaskActionRequest(reason="不适用"),
            ctx(container),
        )
    assert set(kids(container, tw, entry, "fj_manager")) == {"FJ", "QZ"}
    with container.uow() as uow:
        data = ledger.export_xlsx(uow, tw.p("sh_officer"), None, "en", container.clock.now())
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws is not None
    body = list(ws.iter_rows(values_only=True))[1:]
    assert [r[5] for r in body] == ["Shanghai branch"]
    with reading(container) as s:
        with pytest.raises(NotFound):
            ledger.access_entry(s, tw.p("xm_handler"), entry.id)
        assert ledger.entries(s, tw.p("xm_handler")) == []


def test_ledger_pages(container: Container, tw: World, client: TestClient) -> None:
    login(client, "hq_officer")
    r = client.post(
        "/ledger/new",
        data={
            "doc_ref": "闽金发〔2026〕12号",
            "authority": "福建金融监管局",
            "finding_kind": "notice",
            "issued_on": today(container, -1).isoformat(),
            "required_by": today(container, 20).isoformat(),
            "findings": FINDINGS,
            "branch_ids": [str(tw.orgs["QZ"].id), str(tw.orgs["XM"].id)],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "闽金发〔2026〕12号" in page.text and "厦门中心支公司" in page.text
    bad = client.post(
        "/ledger/new",
        data={
            "doc_ref": "x",
            "authority": "福建金融监管局",
            "issued_on": "",
            "findings": "",
            "required_by": "",
        },
    )
    assert bad.status_code == 422 and "此项必填" in bad.text
    x = client.get("/ledger/export.xlsx")
    assert x.status_code == 200 and x.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    assert "闽金发" in "".join(
        str(c)
        for row in openpyxl.load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True)
        for c in row
    )
    api = client.get("/api/v1/ledger")
    assert api.status_code == 200 and api.json()[0]["branches"] == 2
    login(client, "sh_officer")
    assert client.get(r.headers["location"].split("?")[0], headers={"accept": "text/html"}).status_code == 404


def test_parent_completes_once_the_branches_are_done(container: Container, tw: World) -> None:
    entry = notice(container, tw, branches=("QZ",))
    qz = kids(container, tw, entry)["QZ"]
    with reading(container) as s:
        parent = ledger.parent_task(s, s.get(RectificationNotice, entry.id))  # type: ignore[arg-type]
        assert parent is not None
    with container.uow() as uow, pytest.raises(InvalidTransition):
        services.act(
            uow, tw.p("hq_officer"), parent.id, TaskAction.COMPLETE, TaskActionRequest(), ctx(container)
        )
    complete(container, tw, qz.id, "qz_officer", files=[("泉州整改报告.pdf", PDF)])
    with container.uow() as uow:  # no evidence of its own: the evidence is on the branch tasks
        done = services.act(
            uow, tw.p("hq_officer"), parent.id, TaskAction.COMPLETE, TaskActionRequest(), ctx(container)
        )
    assert done.status == "done"


def _act(container: Container, tw: World, who: str, task_id: int, action: TaskAction, **req: str) -> Task:
    with container.uow() as uow:
        return services.act(uow, tw.p(who), task_id, action, TaskActionRequest(**req), ctx(container))  # type: ignore[arg-type]


def _parent(container: Container, entry: RectificationNotice) -> Task:
    with reading(container) as s:
        parent = ledger.parent_task(s, s.get(RectificationNotice, entry.id))  # type: ignore[arg-type]
        assert parent is not None
        return parent


def _events(container: Container, task_id: int) -> list[str]:
    from xiaobao.tasks.tables import TaskEvent

    with reading(container) as s:
        return list(
            s.scalars(select(TaskEvent.kind).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id))
        )


def test_parent_completes_by_itself_when_every_branch_is_signed_off(
    container: Container, tw: World, client: TestClient
) -> None:
    entry = notice(container, tw, branches=("FJ", "QZ"))
    branch = kids(container, tw, entry)
    complete(container, tw, branch["FJ"].id, "fj_officer", files=[("福建整改报告.pdf", PDF)])
    complete(container, tw, branch["QZ"].id, "qz_officer", files=[("泉州整改报告.pdf", PDF)])
    _act(container, tw, "hq_officer", branch["FJ"].id, TaskAction.SIGN_OFF)
    assert _parent(container, entry).status == "open"  # one branch still to be signed off
    login(client, "hq_officer")
    page = client.get(f"/ledger/{entry.id}")
    assert "整改已全部完成" not in page.text and "全部分支任务验收后，总任务自动办结" in page.text
    _act(container, tw, "hq_officer", branch["QZ"].id, TaskAction.SIGN_OFF, note="材料齐全")
    parent = _parent(container, entry)
    assert parent.status == "done" and parent.completed_at == container.clock.now()
    assert _events(container, parent.id)[-1] == "children_done"
    with reading(container) as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "task.auto_complete")) is not None
    page = client.get(f"/ledger/{entry.id}")
    assert "整改已全部完成" in page.text
    assert "已全部完成" in client.get("/ledger").text
    assert "全部分支任务已完成" in client.get(f"/tasks/{parent.id}").text


def test_parent_reopens_when_a_branch_is_returned(container: Container, tw: World) -> None:
    entry = notice(container, tw, branches=("QZ",))
    qz = kids(container, tw, entry)["QZ"]
    parent = _parent(container, entry)
    complete(container, tw, qz.id, "qz_officer", files=[("泉州整改报告.pdf", PDF)])
    _act(container, tw, "hq_officer", parent.id, TaskAction.COMPLETE)  # completed before the sign-off
    assert _parent(container, entry).status == "done"
    _act(container, tw, "hq_officer", qz.id, TaskAction.RETURN, reason="培训记录缺少签到表，请补充")
    parent = _parent(container, entry)
    assert (parent.status, parent.completed_at) == ("in_progress", None)
    assert _events(container, parent.id)[-1] == "children_reopened"
    with reading(container) as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "task.auto_reopen")) is not None


def test_cancelled_branches_do_not_hold_the_parent_open(container: Container, tw: World) -> None:
    entry = notice(container, tw, branches=("FJ", "QZ"))
    branch = kids(container, tw, entry)
    complete(container, tw, branch["FJ"].id, "fj_officer", files=[("福建整改报告.pdf", PDF)])
    _act(container, tw, "hq_officer", branch["FJ"].id, TaskAction.SIGN_OFF)
    _act(container, tw, "hq_officer", branch["QZ"].id, TaskAction.CANCEL, reason="泉州无此业务，不适用")
    assert _parent(container, entry).status == "done"
    _act(container, tw, "hq_officer", branch["QZ"].id, TaskAction.REOPEN)
    assert _parent(container, entry).status == "in_progress"
