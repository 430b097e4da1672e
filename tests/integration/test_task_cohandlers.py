"""Co-handlers on an existing task, on SQLite and PostgreSQL: the owner, the requesting side and managers of
the owning org add or remove them (audited, a task event, the people concerned told); others may not; the
task page shows the co-handlers with the form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import World, login
from tests.integration.tasks_support import (
    ctx,
    extend_world,
    handling_complaint,
    inbox_of,
    reading,
    reload_task,
    today,
)
from xiaobao.bootstrap import Container
from xiaobao.core.audit import AuditLog
from xiaobao.core.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from xiaobao.tasks import services
from xiaobao.tasks.domain import TaskAction
from xiaobao.tasks.schemas import CohandlingCreate, TaskActionRequest
from xiaobao.tasks.tables import Task, TaskEvent


@pytest.fixture
def tw(container: Container, world: World) -> World:
    return extend_world(container, world)


@pytest.fixture
def task(container: Container, tw: World) -> Task:
    """A co-handling request from the Quanzhou handler to the Fujian claims department, owned by fj_claims."""
    c = handling_complaint(container, tw)
    with container.uow() as uow:
        return services.request_cohandling(
            uow,
            tw.p("qz_handler"),
            c.id,
            CohandlingCreate(
                org_id=tw.orgs["FJ-CLM"].id,
                owner_id=tw.users["fj_claims"].id,
                question="请理赔部核实该案定损过程及与修理厂报价差异的原因。",
                due_on=today(container, 3),
                blocking=True,
            ),
            container.clock.now(),
        )


def change(container: Container, tw: World, who: str, task_id: int, **kw: list[int]) -> Task:
    with container.uow() as uow:
        return services.change_cohandlers(uow, tw.p(who), task_id, container.clock.now(), **kw)


def task_notices(container: Container, user_id: int, task_id: int) -> list[str]:
    return [
        n.title for n in inbox_of(container, user_id) if n.entity_type == "task" and n.entity_id == task_id
    ]


def test_owner_adds_and_requester_removes(container: Container, tw: World, task: Task) -> None:
    helper = tw.users["fj_claims2"].id
    change(container, tw, "fj_claims", task.id, add=[helper])
    assert reload_task(container, task.id).cohandler_ids == {helper}
    assert any("任务协办" in t for t in task_notices(container, helper, task.id))
    # the co-handler now sees and works the task
    with reading(container) as s:
        assert services.access_task(s, tw.p("fj_claims2"), task.id).id == task.id
    change(container, tw, "qz_handler", task.id, remove=[helper])  # the requesting side
    assert reload_task(container, task.id).cohandler_ids == frozenset()
    assert any("协办调整" in t for t in task_notices(container, helper, task.id))
    change(container, tw, "fj_officer", task.id, add=[helper])  # an officer over the owning org
    with reading(container) as s:
        kinds = list(s.scalars(select(TaskEvent.kind).where(TaskEvent.task_id == task.id)))
        audits = list(
            s.scalars(
                select(AuditLog)
                .where(AuditLog.action == "task.cohandlers", AuditLog.entity_id == str(task.id))
                .order_by(AuditLog.id)
            )
        )
    assert kinds.count("cohandlers_changed") == 3 and len(audits) == 3
    assert audits[0].after == {"cohandlers": [helper]} and audits[1].after == {"cohandlers": []}


def test_who_may_change_and_what(container: Container, tw: World, task: Task) -> None:
    helper = tw.users["fj_claims2"].id
    change(container, tw, "fj_claims", task.id, add=[helper])
    with pytest.raises(Forbidden):  # a co-handler does not pick the other co-handlers
        change(container, tw, "fj_claims2", task.id, add=[tw.users["qz_collab"].id])
    with pytest.raises(NotFound):  # another branch: the task does not exist for them
        change(container, tw, "sh_officer", task.id, remove=[helper])
    with pytest.raises(ValidationFailed):  # outside the owner's scope and not in the owning department
        change(container, tw, "fj_claims", task.id, add=[tw.users["sh_claims"].id])
    with pytest.raises(ValidationFailed):  # the owner is not also a co-handler
        change(container, tw, "qz_handler", task.id, add=[tw.users["fj_claims"].id])
    with pytest.raises(ValidationFailed):  # nothing to do
        change(container, tw, "fj_claims", task.id)
    with pytest.raises(ValidationFailed):  # not a co-handler
        change(container, tw, "fj_claims", task.id, remove=[tw.users["qz_collab"].id])
    with container.uow() as uow:
        services.act(
            uow,
            tw.p("fj_claims"),
            task.id,
            TaskAction.COMPLETE,
            TaskActionRequest(answer="经复核，原定损遗漏了左前翼子板钣金费用，同意补充定损3,200元。"),
            ctx(container),
        )
    with pytest.raises(InvalidTransition):  # a finished task keeps its co-handlers
        change(container, tw, "fj_claims", task.id, remove=[helper])
    assert reload_task(container, task.id).cohandler_ids == {helper}


def test_cohandlers_on_the_task_page(container: Container, tw: World, task: Task, client: TestClient) -> None:
    helper = tw.users["fj_claims2"]
    login(client, "fj_claims")
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and 'id="cohandlers"' in page.text and "添加协办人" in page.text
    assert f'<option value="{helper.id}"' in page.text
    t = reload_task(container, task.id)
    bad = client.post(f"/tasks/{task.id}/cohandlers", data={"version": str(t.version)})
    assert bad.status_code == 422 and "请选择要添加或移除的协办人" in bad.text
    r = client.post(
        f"/tasks/{task.id}/cohandlers",
        data={"add": [str(helper.id)], "version": str(t.version)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("#cohandlers")
    page = client.get(r.headers["location"])
    assert "已调整协办人" in page.text and "调整协办人" in page.text and "移除" in page.text
    stale = client.post(
        f"/tasks/{task.id}/cohandlers", data={"remove": str(helper.id), "version": str(t.version)}
    )
    assert stale.status_code == 409  # the form was for an older version of the task
    login(client, "fj_claims2")
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "fj_claims2" in page.text and "添加协办人" not in page.text
    login(client, "qz_handler")
    t = reload_task(container, task.id)
    r = client.post(
        f"/tasks/{task.id}/cohandlers",
        data={"remove": str(helper.id), "version": str(t.version)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert reload_task(container, task.id).cohandler_ids == frozenset()
