"""Domain events emitted by complaint services and handled after commit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ComplaintReceived:
    complaint_id: int
    phone: str | None = None
    """Set by intake (with tracking_no) so the acknowledgement needs no second database session."""
    tracking_no: str | None = None


@dataclass(frozen=True)
class ComplaintDecided:
    complaint_id: int
