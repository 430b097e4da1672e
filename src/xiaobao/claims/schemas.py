"""API models for claims: report intake, actions, contact attempts, rescue, events, staff."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class ReportCreate(BaseModel):
    """A claim report (报案). Personal data: reporter name and phone."""

    model_config = ConfigDict(str_strip_whitespace=True)

    reporter_name: str = Field(min_length=1, max_length=64)
    reporter_phone: str = Field(min_length=5, max_length=20)
    policy_no: str | None = Field(default=None, max_length=40)
    line: str = Field(description="motor | property | agriculture")
    cause: str
    loss_at: datetime
    place_text: str = Field(min_length=2, max_length=200, description="Where the loss happened (address)")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    vehicle_plate: str | None = Field(default=None, max_length=16)
    property_address: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=5000)
    people_at_risk: int = Field(default=0, ge=0, le=1000, description="People trapped or needing rescue")
    rescue_needed: bool = False
    special_group: str | None = None
    estimated_amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    org_code: str | None = Field(
        default=None, description="Handling org; defaults to the one of the district"
    )
    channel: str = "api"


class ActionRequest(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    version: int = Field(description="The version you last saw; a stale version is refused (409)")
    user_id: int | None = None
    reason: str | None = Field(default=None, max_length=2000)
    method: str | None = None
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    reason_code: str | None = None


class ContactCreate(BaseModel):
    channel: str = "phone"
    outcome: str
    note: str | None = Field(default=None, max_length=2000)


class RescueCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    kind: str
    vendor: str = Field(min_length=2, max_length=100)
    eta: datetime | None = None
    note: str | None = Field(default=None, max_length=2000)


class RescueUpdate(BaseModel):
    status: str
    eta: datetime | None = None
    note: str | None = Field(default=None, max_length=2000)


class EventCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: str = Field(min_length=2, max_length=32)
    name: str = Field(min_length=2, max_length=100)
    peril: str
    regions: list[str] = Field(min_length=1, description="Division-code prefixes: '35', '3505', '350582'")
    starts_at: datetime
    ends_at: datetime | None = None
    contact_minutes: int = Field(default=30, ge=1, le=24 * 60)
    survey_hours: int = Field(default=48, ge=1, le=24 * 14)
    note: str | None = Field(default=None, max_length=2000)


class BulkTag(BaseModel):
    case_ids: list[int] = Field(default_factory=list, max_length=5000)
    matching: bool = Field(
        default=False, description="Tag every open untagged case in the event's regions/window"
    )


class FactoryCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: str = Field(min_length=2, max_length=16)
    name_zh: str = Field(min_length=2, max_length=60)
    name_en: str = Field(min_length=2, max_length=60)
    city: str = Field(min_length=2, max_length=30)
    regions: list[str] = Field(default_factory=list)
    org_code: str | None = None


class StaffUpsert(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    username: str
    kind: str = "operator"
    factory_code: str | None = None
    team: str | None = None
    skills: list[str] = Field(default_factory=list)
    authority_limit: Decimal = Field(default=Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    allowed_regions: list[str] = Field(default_factory=list)
    home_district: str | None = None
    shifts: list[tuple[str, str]] = Field(default_factory=list)
    capacity: int = Field(default=20, ge=0, le=1000)
    online: bool = False
