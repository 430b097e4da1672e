"""The 督办 panel on the complaint page, on SQLite and PostgreSQL: it lists the notices sent about the
complaint (status, recipient, deadline, reply), and only officers (Perm.SUPERVISE) get the button that
opens the 督办 form for this complaint."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import World, login
from tests.integration.test_notifications import make_complaint
from xiaobao.bootstrap import Container
from xiaobao.core.calendar import CN_TZ
from xiaobao.core.clock import FakeClock
from xiaobao.notifications import supervision


def test_panel_lists_a_sent_notice_and_its_reply(
    container: Container, world: World, client: TestClient, clock: FakeClock
) -> None:
    cid = make_complaint(container, world)
    with container.uow() as uow:
        n = supervision.send(
            uow,
            world.p("fj_officer"),
            supervision.SupervisionRequest(
                "complaint", cid, world.users["qz_handler"].id, "请今日内回电投诉人"
            ),
            clock.now(),
        )
    login(client, "qz_handler")
    page = client.get(f"/complaints/{cid}")
    assert page.status_code == 200
    assert 'id="supervision"' in page.text
    assert "请今日内回电投诉人" in page.text and "待回复" in page.text
    assert n.reply_due.astimezone(CN_TZ).strftime("%Y-%m-%d %H:%M") in page.text
    with container.uow() as uow:
        supervision.reply(uow, world.p("qz_handler"), n.id, "已于下午回电，投诉人同意重新定损", clock.now())
    page = client.get(f"/complaints/{cid}")
    assert "已回复" in page.text and "已于下午回电，投诉人同意重新定损" in page.text


def test_send_button_only_for_officers(container: Container, world: World, client: TestClient) -> None:
    cid = make_complaint(container, world)
    link = f"/supervision/new?entity_type=complaint&amp;entity_id={cid}"
    login(client, "qz_handler")
    page = client.get(f"/complaints/{cid}")
    assert page.status_code == 200
    assert "发起督办" not in page.text and 'id="supervision"' not in page.text  # nothing to show
    login(client, "qz_officer")
    page = client.get(f"/complaints/{cid}")
    assert "发起督办" in page.text and link in page.text
    form = client.get(f"/supervision/new?entity_type=complaint&entity_id={cid}")
    assert form.status_code == 200 and f'value="{world.users["qz_handler"].id}"' in form.text
