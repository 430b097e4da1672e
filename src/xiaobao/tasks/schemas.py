"""API models for tasks and the rectification ledger: input, update and public families."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PriorityCode = Literal["urgent", "high", "normal", "low"]


class TaskCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=10000)
    org_id: int = Field(description="The owning org or department")
    owner_id: int | None = Field(default=None, description="None: the department picks someone")
    cohandler_ids: list[int] = Field(default_factory=list, max_length=20)
    due_on: date | None = Field(default=None, description="Due by the end of this day, Asia/Shanghai")
    priority: PriorityCode = "normal"
    parent_id: int | None = None
    checklist: list[str] = Field(default_factory=list, max_length=50)


class CohandlingCreate(BaseModel):
    """A complaint handler asks another department for an answer."""

    model_config = ConfigDict(str_strip_whitespace=True)

    org_id: int = Field(description="The department asked")
    owner_id: int | None = Field(default=None, description="Optionally a collaborator in that department")
    question: str = Field(min_length=2, max_length=5000)
    due_on: date
    blocking: bool = Field(default=True, description="The complaint cannot be decided before the answer")
    priority: PriorityCode = "high"


class TaskActionRequest(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    version: int | None = Field(
        default=None, description="The version you last saw; a stale one is refused (409)"
    )
    reason: str | None = Field(default=None, max_length=5000)
    answer: str | None = Field(default=None, max_length=10000)
    """The co-handling answer, the evidence description, or a completion note."""
    owner_id: int | None = None
    note: str | None = Field(default=None, max_length=5000)


class ChecklistCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=500)


class CommentCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=5000)


class LedgerCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    doc_ref: str = Field(min_length=2, max_length=100)
    authority: str = Field(min_length=2, max_length=100)
    finding_kind: Literal["notice", "inspection"] = "notice"
    issued_on: date
    findings: str = Field(min_length=5, max_length=20000)
    required_by: date
    branch_ids: list[int] = Field(min_length=1, max_length=100, description="One child task per branch")
    title: str | None = Field(default=None, max_length=200)
    priority: PriorityCode = "high"


class TaskPublic(BaseModel):
    id: int
    version: int
    kind: str
    title: str
    description: str
    status: str
    status_label: str
    priority: str
    org_id: int
    org_name: str
    owner: str | None
    owner_id: int | None
    requester: str | None
    cohandlers: list[str]
    parent_id: int | None
    ledger_id: int | None
    source_type: str | None
    source_id: int | None
    source_label: str | None
    blocking: bool
    due_at: datetime | None
    deadline_state: str | None
    progress: float
    answer: str | None
    completed_at: datetime | None
    signed_off_at: datetime | None
    signed_off_by: str | None
    checklist: list[dict[str, object]]
    allowed_actions: list[str]


class TaskListItem(BaseModel):
    id: int
    kind: str
    title: str
    status: str
    priority: str
    org_name: str
    owner: str | None
    due_at: datetime | None
    deadline_state: str | None
    progress: float


class TaskPage(BaseModel):
    total: int
    items: list[TaskListItem]
