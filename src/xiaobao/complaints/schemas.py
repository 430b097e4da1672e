"""API models for complaints: input, update and public families."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    org_code: str | None = Field(default=None, description="Handling org; defaults to the caller's org")
    complainant_name: str = Field(min_length=1, max_length=64)
    id_number: str | None = Field(default=None, max_length=18)
    phone: str = Field(min_length=5, max_length=20)
    special_groups: list[str] = Field(default_factory=list)
    representatives: int = Field(
        default=1, ge=1, le=5, description="Group complaints: at most 5 representatives"
    )
    policy_no: str | None = Field(default=None, max_length=40)
    claim_no: str | None = Field(default=None, max_length=40)
    business_line: str
    cause: str
    demand: str
    amount_claimed: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    channel: str
    regulator_ref: str | None = Field(default=None, max_length=64)
    description: str = Field(min_length=5, max_length=10000)
    received_at: datetime | None = None


class ActionRequest(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    version: int = Field(description="The version you last saw; a stale version is refused (409)")
    handler_id: int | None = None
    reason: str | None = None
    outcome: Literal["upheld", "partial", "rejected", "reopened"] | None = None
    decision: str | None = None
    target_id: int | None = None
    notified: bool = True
    override_reason: str | None = Field(
        default=None,
        max_length=2000,
        description="Decide although blocking co-handling is still open (officers only; audited)",
    )


class ContactCreate(BaseModel):
    method: Literal["phone", "sms", "visit", "letter", "wechat"]
    outcome: Literal["reached", "no_answer", "busy", "wrong_number", "refused"]
    note: str | None = Field(default=None, max_length=2000)


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=5000)


class RootCauseUpdate(BaseModel):
    version: int
    root_cause: str = Field(min_length=2, max_length=5000)
    rectification: str = Field(min_length=2, max_length=5000)


class ComplaintPublic(BaseModel):
    id: int
    tracking_no: str
    version: int
    status: str
    status_label: str
    org_code: str
    org_name: str
    handler: str | None
    complainant_name: str
    id_number: str | None
    phone: str
    pii_masked: bool
    special_groups: list[str]
    policy_no: str | None
    claim_no: str | None
    business_line: str
    cause: str
    demand: str
    channel: str
    regulator_ref: str | None
    description: str
    received_at: datetime
    regulatory_due: datetime | None
    contact_due: datetime
    deadline_state: str
    extension_level: int
    extension2_requested: bool
    paused: bool
    decided_at: datetime | None
    decision_outcome: str | None
    decision: str | None
    closed_at: datetime | None
    on_time: bool | None


class ComplaintListItem(BaseModel):
    id: int
    tracking_no: str
    status: str
    status_label: str
    org_name: str
    complainant_name: str
    business_line: str
    cause: str
    channel: str
    received_at: datetime
    regulatory_due: datetime | None
    deadline_state: str
    special_groups: list[str]
    handler: str | None


class ComplaintPage(BaseModel):
    total: int
    total_capped: bool = False
    """True when more than `total` complaints match (counting stops at queries.COUNT_CAP): show "10,000+"."""
    page: int
    per_page: int
    items: list[ComplaintListItem]


class TrackRequest(BaseModel):
    tracking_no: str = Field(min_length=6, max_length=24)


class TrackVerify(BaseModel):
    tracking_no: str = Field(min_length=6, max_length=24)
    code: str = Field(min_length=6, max_length=6)
