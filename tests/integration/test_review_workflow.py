"""The review workflow through the services on SQLite and PostgreSQL: submit → automatic check → decisions →
conclusion → resubmission with a diff → approval with a review number → release gating; the reviewer's
co-handling task; scope and permissions; .docx / .pdf material."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import World
from xiaobao.auth import services as auth
from xiaobao.bootstrap import Container
from xiaobao.core.audit import AuditLog
from xiaobao.core.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from xiaobao.review import services
from xiaobao.review.domain import Status
from xiaobao.review.tables import ReviewSubmission
from xiaobao.tasks.tables import Task

POSTER = (
    "安心宝年金保险，本产品保本保息，收益比银行定期高多了！全国销量第一，即将停售，赶紧抢购。"
    "本产品由示例人寿保险股份有限公司承保，具体保险责任以保险条款为准。"
)
REVISED = (
    "安心宝年金保险，分红水平不确定，保险不是存款。"
    "本产品由示例人寿保险股份有限公司承保，具体保险责任以保险条款为准。"
)
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def ctx(container: Container) -> services.Ctx:
    return services.Ctx(now=container.clock.now(), calendar=container.calendar)


def submit(container: Container, world: World, who: str = "qz_collab", **over) -> int:  # type: ignore[no-untyped-def]
    m = services.Material(
        title=over.pop("title", "安心宝年金保险朋友圈海报"),
        material_type=over.pop("material_type", "marketing"),
        product_line=over.pop("product_line", "annuity"),
        text=over.pop("text", POSTER),
        **over,
    )
    with container.uow() as uow:
        sub = services.submit(uow.session, world.p(who), m, ctx(container))
        uow.commit()
        return sub.id


def get(container: Container, sid: int) -> ReviewSubmission:
    with container.uow() as uow:
        sub = uow.session.get(ReviewSubmission, sid)
        assert sub is not None
        uow.session.expunge(sub)
        return sub


@dataclass(frozen=True)
class F:
    id: int
    rule_id: str


def finding_rows(container: Container, world: World, sid: int) -> list[F]:
    with container.uow() as uow:
        sub, _ = services.access_submission(uow.session, world.p("qz_reviewer"), sid)
        return [
            F(f.id, f.rule_id) for f in services.findings(uow.session, services.version_of(uow.session, sub))
        ]


def decide_all(
    container: Container, world: World, sid: int, decision: str = "accept", who: str = "qz_reviewer"
) -> None:
    for f in finding_rows(container, world, sid):
        with container.uow() as uow:
            services.decide(
                uow, world.p(who), sid, f.id, decision, "确属误报，上下文为风险提示", container.clock.now()
            )


def test_submit_checks_and_assigns_a_review_task(container: Container, world: World) -> None:
    sid = submit(container, world, reviewer_id=world.users["qz_reviewer"].id)
    sub = get(container, sid)
    assert sub.status == Status.IN_REVIEW and sub.reviewer_id == world.users["qz_reviewer"].id
    found = {f.rule_id for f in finding_rows(container, world, sid)}
    assert {"GR-001", "AT-002", "SS-001"} <= found
    with container.uow() as uow:
        s = uow.session
        v = services.version_of(s, sub)
        assert v.rules_version.startswith("0·")
        for f in services.findings(s, v):
            assert v.text[f.start : f.end] == f.text
        task = s.get(Task, sub.task_id)
        assert task is not None and task.source_type == "review" and task.source_id == sid
        assert task.owner_id == world.users["qz_reviewer"].id and task.status == "open"
        # 2026-03-02 is a Monday: five working days later is Monday 2026-03-09, due by the end of that day
        assert sub.due_at is not None and sub.due_at.isoformat().startswith("2026-03-09T15:59:59")
        # the task's page resolves the review through the source registry
        from xiaobao.tasks import sources

        info = sources.describe(s, "review", sid)
        assert info is not None and info.url == f"/review/{sid}"
        assert s.scalar(
            select(AuditLog).where(AuditLog.action == "review.submit", AuditLog.entity_id == str(sid))
        )


def test_full_cycle_fail_resubmit_diff_approve_number_release(container: Container, world: World) -> None:
    sid = submit(container, world, reviewer_id=world.users["qz_reviewer"].id)
    reviewer, submitter = world.p("qz_reviewer"), world.p("qz_collab")
    now = container.clock.now()
    fs = finding_rows(container, world, sid)

    # a conclusion before every finding has a decision is refused, naming the field
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.conclude(uow, reviewer, sid, "fail", "请修改", now)
    assert e.value.problems[0].field == "findings" and f"{len(fs)}" in e.value.problems[0].zh

    # a dismissal needs a reason
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.decide(uow, reviewer, sid, fs[0].id, "dismiss", "", now)
    assert e.value.problems[0].field == "reason"
    # only the assigned reviewer decides; the submitter may not
    with container.uow() as uow, pytest.raises(Forbidden):
        services.decide(uow, submitter, sid, fs[0].id, "accept", None, now)

    decide_all(container, world, sid, "accept")
    # accepted findings: "pass" is refused (there is something to change)
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.conclude(uow, reviewer, sid, "pass", "", now)
    assert e.value.problems[0].field == "conclusion"
    with container.uow() as uow:
        services.conclude(uow, reviewer, sid, "fail", "承诺保本、绝对化用语和停售炒作须删除", now)
    sub = get(container, sid)
    assert sub.status == Status.CHANGES_REQUESTED and sub.review_number is None and sub.task_id is None
    with container.uow() as uow:
        tasks = list(
            uow.session.scalars(select(Task).where(Task.source_type == "review", Task.source_id == sid))
        )
        assert [t.status for t in tasks] == ["done"]
    # not approved: cannot be released
    with container.uow() as uow, pytest.raises(InvalidTransition):
        services.release(uow, submitter, sid, None, True, now)

    # resubmission: version 2, checked again, diff against version 1, back to the reviewer with a new task
    container.clock.advance(timedelta(hours=20))  # type: ignore[attr-defined]
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.resubmit(
            uow, submitter, sid, services.Material("x", "marketing", text=REVISED), ctx(container)
        )
    assert e.value.problems[0].field == "note"
    with container.uow() as uow:
        v2 = services.resubmit(
            uow,
            submitter,
            sid,
            services.Material("x", "marketing", text=REVISED, note="删除保本、第一、停售表述"),
            ctx(container),
        )
        assert v2.n == 2 and v2.diff_stats and v2.diff_stats["deleted"] > 0 and v2.diff_stats["inserted"] > 0
    sub = get(container, sid)
    assert sub.status == Status.IN_REVIEW and sub.current_n == 2 and sub.task_id is not None
    with container.uow() as uow:
        view = services.version_view(uow.session, sub)
        assert view.previous_text == POSTER
        assert not {"GR-001", "AT-002", "SS-001"} & {f.rule_id for f in view.findings}
        decided_v1 = services.findings(uow.session, services.version_of(uow.session, sub, 1))
        assert all(f.decision == "accept" for f in decided_v1)  # version 1's record stays
        # findings repeated from version 1 carry its decision as a hint
        repeated = [
            f for f in view.findings if (f.rule_id, f.text) in {(g.rule_id, g.text) for g in decided_v1}
        ]
        assert all(view.extra["previous"][(f.rule_id, f.text)][0] == "accept" for f in repeated)

    decide_all(container, world, sid, "dismiss")
    with container.uow() as uow:
        services.conclude(uow, reviewer, sid, "pass", "", container.clock.now())
    sub = get(container, sid)
    assert sub.status == Status.APPROVED and sub.approved_n == 2
    assert sub.review_number is not None and re.fullmatch(r"消保审查〔2026〕第\d{6}号", sub.review_number)

    # only the submitting side releases
    with container.uow() as uow, pytest.raises(Forbidden):
        services.release(uow, reviewer, sid, None, False, container.clock.now())
    with container.uow() as uow:
        services.release(uow, submitter, sid, "2026-03 朋友圈投放", False, container.clock.now())
    sub = get(container, sid)
    assert sub.status == Status.RELEASED and sub.released_at is not None
    with container.uow() as uow:
        actions = set(
            uow.session.scalars(
                select(AuditLog.action).where(
                    AuditLog.entity_type == "review", AuditLog.entity_id == str(sid)
                )
            )
        )
    assert {
        "review.submit",
        "review.assign",
        "review.decide",
        "review.conclude",
        "review.resubmit",
        "review.release",
    } <= actions


def test_pass_with_changes_needs_confirmation_at_release(container: Container, world: World) -> None:
    sid = submit(container, world, reviewer_id=world.users["qz_reviewer"].id)
    decide_all(container, world, sid, "accept")
    now = container.clock.now()
    with container.uow() as uow:
        services.conclude(uow, world.p("qz_reviewer"), sid, "pass_with_changes", "按意见修改后可发布", now)
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.release(uow, world.p("qz_collab"), sid, None, False, now)
    assert e.value.problems[0].field == "changes_confirmed"
    with container.uow() as uow:
        services.release(uow, world.p("qz_collab"), sid, None, True, now)
    assert get(container, sid).status == Status.RELEASED


def test_review_numbers_are_unique_and_sequential(container: Container, world: World) -> None:
    numbers = []
    for i in range(3):
        sid = submit(container, world, title=f"海报 {i}", reviewer_id=world.users["qz_reviewer"].id)
        decide_all(container, world, sid, "dismiss")
        with container.uow() as uow:
            services.conclude(uow, world.p("qz_reviewer"), sid, "pass", "", container.clock.now())
        numbers.append(get(container, sid).review_number)
    seqs = [int(re.search(r"第(\d+)号", n or "").group(1)) for n in numbers]  # type: ignore[union-attr]
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]


def test_scope_and_permissions(container: Container, world: World) -> None:
    sid = submit(container, world)
    now = container.clock.now()
    # other branches do not see it; nor does a role without review rights
    for username in ("sh_officer", "xm_handler", "qz_handler"):
        with container.uow() as uow, pytest.raises(NotFound):
            services.access_submission(uow.session, world.p(username), sid)
        with container.uow() as uow:
            assert sid not in [s.id for s in services.list_submissions(uow.session, world.p(username))]
    # officers above see it; the submitter sees it
    for username in ("qz_officer", "fj_officer", "hq_officer", "fj_manager", "hq_auditor", "qz_collab"):
        with container.uow() as uow:
            services.access_submission(uow.session, world.p(username), sid)
            assert sid in [s.id for s in services.list_submissions(uow.session, world.p(username))]
    # roles that may not submit
    with container.uow() as uow, pytest.raises(Forbidden):
        services.submit(
            uow.session,
            world.p("qz_handler"),
            services.Material("海报", "marketing", text=POSTER),
            ctx(container),
        )
    # a reviewer out of scope cannot be assigned
    with container.uow() as uow:
        sh_org = world.orgs["SH"]
        sh_rev = auth.create_user(
            uow.session,
            username="sh_reviewer",
            display_name="sh_reviewer",
            password="x" * 12,
            org=sh_org,
            roles=["reviewer"],
            now=now,
        )
        uow.commit()
        sh_rev_id = sh_rev.id
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.assign(uow, world.p("qz_reviewer"), sid, sh_rev_id, ctx(container))
    assert e.value.problems[0].field == "reviewer_id"
    # a reviewer in scope takes it (self-assignment from the queue)
    with container.uow() as uow:
        mine, waiting = services.queue(uow.session, world.p("qz_reviewer"))
        assert sid in [s.id for s in waiting]
        services.assign(uow, world.p("qz_reviewer"), sid, world.users["qz_reviewer"].id, ctx(container))
    with container.uow() as uow:
        mine, waiting = services.queue(uow.session, world.p("qz_reviewer"))
        assert sid in [s.id for s in mine] and sid not in [s.id for s in waiting]
    # withdraw cancels the review task
    with container.uow() as uow:
        services.withdraw(uow, world.p("qz_collab"), sid, "产品方案调整", now)
    with container.uow() as uow:
        t = uow.session.scalar(select(Task).where(Task.source_type == "review", Task.source_id == sid))
        assert t is not None and t.status == "cancelled"


def test_bad_input_names_the_field(container: Container, world: World) -> None:
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.submit(
            uow.session,
            world.p("qz_collab"),
            services.Material("x", "poster", product_line="spaceship", text=POSTER),
            ctx(container),
        )
    assert {p.field for p in e.value.problems} == {"title", "material_type", "product_line"}
    with container.uow() as uow, pytest.raises(ValidationFailed) as e:
        services.submit(
            uow.session,
            world.p("qz_collab"),
            services.Material("海报", "marketing", file_name="poster.xls", file_data=b"PK\x03\x04junk"),
            ctx(container),
        )
    assert e.value.problems[0].field == "file" and "不支持" in e.value.problems[0].zh


def _docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _pdf(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    if CJK_FONT.exists():
        pdf.add_font("cjk", fname=str(CJK_FONT), collection_font_number=0)
        pdf.set_font("cjk", size=12)
    else:
        pdf.set_font("helvetica", size=12)
    for page in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, page)
    return bytes(pdf.output())


def test_docx_and_pdf_material(container: Container, world: World) -> None:
    paragraphs = [
        "安心宝年金保险",
        "本产品保本保息，收益比银行定期高多了。",
        "本产品由示例人寿保险股份有限公司承保。",
    ]
    sid = submit(container, world, text=None, file_name="poster.docx", file_data=_docx(paragraphs))
    with container.uow() as uow:
        sub, _ = services.access_submission(uow.session, world.p("qz_collab"), sid)
        v = services.version_of(uow.session, sub)
        assert v.text == "\n".join(paragraphs) and v.source_filename == "poster.docx"
        assert [p[0] for p in v.parts] == ["paragraph"] * 3
        fs = services.findings(uow.session, v)
        assert "GR-001" in {f.rule_id for f in fs}
        assert all(v.text[f.start : f.end] == f.text for f in fs)
    if CJK_FONT.exists():
        pages, expected = ["安心宝年金保险，本产品保本保息。", "全国销量第一！"], {"GR-001", "AT-002"}
    else:  # no CJK font on this machine: the PDF path with ASCII text
        pages, expected = ["Our service is NO.1", "insurance"], {"AT-002"}
    sid = submit(container, world, text=None, file_name="poster.pdf", file_data=_pdf(pages))
    with container.uow() as uow:
        sub, _ = services.access_submission(uow.session, world.p("qz_collab"), sid)
        v = services.version_of(uow.session, sub)
        assert [p[0] for p in v.parts] == ["page", "page"] and v.source_filename == "poster.pdf"
        fs = services.findings(uow.session, v)
        assert expected <= {f.rule_id for f in fs}
        assert all(v.text[f.start : f.end] == f.text for f in fs)


def test_demo_submissions_in_every_state(container: Container) -> None:
    from xiaobao.demo.load import load_orgs_and_users
    from xiaobao.review.demo import load_review_demo

    with container.uow() as uow:
        load_orgs_and_users(uow.session, container.clock.now())
        uow.commit()
    counts = load_review_demo(container)
    assert counts == {"in_review": 2, "released": 1, "submitted": 1, "approved": 1, "changes_requested": 1}
    with container.uow() as uow:
        subs = {s.title: s for s in uow.session.scalars(select(ReviewSubmission))}
        terms = subs["鑫享年年两全保险条款"]
        assert terms.current_n == 2 and terms.status == "in_review"
        released = subs["e生保百万医疗电话销售话术"]
        assert released.review_number and released.released_at is not None
        # the revised terms no longer miss the exclusions and cooling-off clauses
        v2 = services.findings(uow.session, services.version_of(uow.session, terms))
        assert not {"MD-003", "MD-004"} & {f.rule_id for f in v2}
