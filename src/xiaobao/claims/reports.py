"""Catastrophe daily report (大灾每日报送): per local day of an event, the figures the NFRA 2023 catastrophe notices
ask insurers to report daily — reports received (new, cumulative), contact and survey progress, cases paid, paid
and pre-paid amounts against the estimated loss (the ">= 30% within one week" yardstick) and the share of motor
claims closed (">= 90% by month end") — as rows and as an .xlsx workbook.

Only the cases the caller may see (`services.scoped`) are counted; amounts are yuan."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xiaobao.auth.principal import Principal
from xiaobao.claims.events import get_event
from xiaobao.claims.services import scoped
from xiaobao.claims.tables import ClaimCase, ClaimEvent
from xiaobao.core.calendar import CN_TZ

MAX_DAYS = 62


@dataclass
class DayRow:
    day: date
    reported: int
    reported_cum: int
    contacted_cum: int
    surveyed_cum: int
    paid_cases_cum: int
    paid_amount_cum: Decimal
    prepaid_amount_cum: Decimal
    estimated_cum: Decimal
    motor_cum: int
    motor_closed_cum: int

    @property
    def contact_rate(self) -> float:
        return self.contacted_cum / self.reported_cum if self.reported_cum else 0.0

    @property
    def survey_rate(self) -> float:
        return self.surveyed_cum / self.reported_cum if self.reported_cum else 0.0

    @property
    def paid_ratio(self) -> float:
        """(paid + pre-paid) / estimated loss of the cases reported so far."""
        if not self.estimated_cum:
            return 0.0
        return float((self.paid_amount_cum + self.prepaid_amount_cum) / self.estimated_cum)

    @property
    def motor_closed_rate(self) -> float:
        return self.motor_closed_cum / self.motor_cum if self.motor_cum else 0.0


def _day(dt: datetime | None) -> date | None:
    return dt.astimezone(CN_TZ).date() if dt else None


def daily_rows(session: Session, who: Principal, event_id: int, now: datetime) -> list[DayRow]:
    e = get_event(session, who, event_id)
    cases = session.execute(
        scoped(
            session,
            select(
                ClaimCase.id,
                ClaimCase.reported_at,
                ClaimCase.contacted_at,
                ClaimCase.surveyed_at,
                ClaimCase.assessed_at,
                ClaimCase.closed_at,
                ClaimCase.status,
                ClaimCase.line,
                ClaimCase.estimated_amount,
                ClaimCase.assessed_amount,
            ).where(ClaimCase.event_id == e.id),
            who,
        )
    ).all()
    ids = [c.id for c in cases]
    money: list[tuple[date, str, Decimal]] = []
    for chunk in range(0, len(ids), 1000):
        for at, kind, data in session.execute(
            select(ClaimEvent.at, ClaimEvent.kind, ClaimEvent.data).where(
                ClaimEvent.case_id.in_(ids[chunk : chunk + 1000]), ClaimEvent.kind.in_(("prepay", "pay"))
            )
        ):
            d = data or {}
            amount = d.get("prepaid") if kind == "prepay" else d.get("paid_now")
            if amount is not None:
                money.append((at.astimezone(CN_TZ).date(), kind, Decimal(str(amount))))
    first = _day(e.starts_at) or now.astimezone(CN_TZ).date()
    if cases:
        first = min(first, min(c.reported_at for c in cases).astimezone(CN_TZ).date())
    last_day = now.astimezone(CN_TZ).date()
    if e.ends_at is not None:
        last_day = min(last_day, (e.ends_at + timedelta(days=31)).astimezone(CN_TZ).date())
    days = [first + timedelta(days=i) for i in range(min(MAX_DAYS, (last_day - first).days + 1))]
    rows = []
    for d in days:

        def upto(dt: datetime | None, d: date = d) -> bool:
            return dt is not None and dt.astimezone(CN_TZ).date() <= d

        rep = [c for c in cases if upto(c.reported_at)]
        motor = [c for c in rep if c.line == "motor"]
        paid_now = [(k, a) for day_, k, a in money if day_ <= d]
        rows.append(
            DayRow(
                day=d,
                reported=sum(1 for c in cases if _day(c.reported_at) == d),
                reported_cum=len(rep),
                contacted_cum=sum(1 for c in rep if upto(c.contacted_at)),
                surveyed_cum=sum(1 for c in rep if upto(c.surveyed_at) or upto(c.assessed_at)),
                paid_cases_cum=sum(1 for k, _ in paid_now if k == "pay"),
                paid_amount_cum=sum((a for k, a in paid_now if k == "pay"), Decimal("0")),
                prepaid_amount_cum=sum((a for k, a in paid_now if k == "prepay"), Decimal("0")),
                estimated_cum=sum(
                    (c.assessed_amount or c.estimated_amount or Decimal("0") for c in rep), Decimal("0")
                ),
                motor_cum=len(motor),
                motor_closed_cum=sum(1 for c in motor if upto(c.closed_at) and c.status == "closed"),
            )
        )
    return rows


HEADERS = [
    ("日期", "Date"),
    ("当日报案", "Reports (day)"),
    ("累计报案", "Reports (cumulative)"),
    ("累计已联系", "Contacted"),
    ("联系率", "Contact rate"),
    ("累计已查勘", "Surveyed"),
    ("查勘率", "Survey rate"),
    ("累计赔付件数", "Paid cases"),
    ("累计赔款（元）", "Paid (yuan)"),
    ("累计预赔付（元）", "Pre-paid (yuan)"),
    ("估损（元）", "Estimated loss (yuan)"),
    ("赔付及预赔付占比", "Paid + pre-paid share"),
    ("车险结案率", "Motor closed rate"),
]


def as_table(rows: list[DayRow]) -> list[list[Any]]:
    return [
        [
            r.day.isoformat(),
            r.reported,
            r.reported_cum,
            r.contacted_cum,
            round(r.contact_rate, 4),
            r.surveyed_cum,
            round(r.survey_rate, 4),
            r.paid_cases_cum,
            float(r.paid_amount_cum),
            float(r.prepaid_amount_cum),
            float(r.estimated_cum),
            round(r.paid_ratio, 4),
            round(r.motor_closed_rate, 4),
        ]
        for r in rows
    ]


def workbook(event_name: str, rows: list[DayRow], lang: str = "zh") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "每日报送" if lang == "zh" else "Daily report"
    ws.append([event_name])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([h[0] if lang == "zh" else h[1] for h in HEADERS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in as_table(rows):
        ws.append(row)
    for col in ("E", "G", "L", "M"):
        for cell in ws[col][2:]:
            cell.number_format = "0.0%"
    for col in ("I", "J", "K"):
        for cell in ws[col][2:]:
            cell.number_format = "#,##0.00"
    ws.column_dimensions["A"].width = 12
    for col in "BCDEFGHIJKLM":
        ws.column_dimensions[col].width = 14
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = ["DayRow", "daily_rows", "workbook", "as_table"]
