"""Domain events emitted by complaint services and handled after commit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ComplaintReceived:
    complaint_id: int


@dataclass(frozen=True)
class ComplaintDecided:
    complaint_id: int
