"""Daily settlement reconciliation: what the store recorded against what the provider settled.

For one provider and one business day, the store's captures (sale rows in `CAPTURED_STATUSES`,
for crypto what actually arrived) and refunds (refund rows `refunded`) are matched with the
provider's items by our payment reference. Every mismatch is a difference and a review case:

    missing_at_provider   we counted money the provider does not hold
    missing_here          the provider holds money for a reference we did not count
    amount_differs        both hold it, for different amounts

A day may be reconciled again (the provider's figures can change late); the report is
replaced, and a difference already raised as a case is not raised twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
import structlog

from edge.domain.business_day import business_day_bounds
from edge.domain.errors import ValidationFailed
from edge.domain.ids import iso, uuid7
from edge.domain.money import format_cents
from edge.domain.tenders import CAPTURED_STATUSES
from edge.service.incoming_webhooks import ProviderUnavailable
from edge.service.ports import Actor, UnitOfWork
from edge.service.repository_ports import PaymentRow, SettlementReportRow
from edge.service.settlement_ports import SettlementFigures, SettlementSource

log = structlog.get_logger()

DIFFERENCE_CASE = "settlement_difference"


class Difference(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # missing_at_provider | missing_here | amount_differs
    item: str  # capture | refund
    ref: str
    ours_cents: int
    provider_cents: int


def _ours(rows: list[PaymentRow]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for p in rows:
        if p.kind == "sale" and p.status in CAPTURED_STATUSES:
            # A hosted charge holds what arrived (an overpayment too); a card what was approved.
            found[("capture", p.id)] = p.tendered_cents if p.method == "crypto" and p.tendered_cents else \
                p.approved_cents
        elif p.kind == "refund" and p.status == "refunded" and p.provider_ref != "void":
            # (a same-day void reverses the sale instead: neither side holds it any more)
            found[("refund", p.id)] = p.amount_cents
    return found


def compare(rows: list[PaymentRow], figures: SettlementFigures, start: datetime,
            end: datetime) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int], list[Difference]]:
    """Pure: the store's and the provider's items for the window, and how they differ."""
    ours = _ours(rows)
    known = {p.id for p in rows}
    theirs: dict[tuple[str, str], int] = {}
    lo, hi = iso(start), iso(end)
    for item in figures.items:
        dated_here = item.at is not None and lo <= item.at < hi
        if dated_here or (item.at is None and item.ref in known):
            key = (item.kind, item.ref)
            theirs[key] = theirs.get(key, 0) + item.amount_cents
    differences = []
    for key in sorted(ours.keys() | theirs.keys()):
        mine, provider = ours.get(key, 0), theirs.get(key, 0)
        if mine == provider:
            continue
        kind = "missing_at_provider" if key not in theirs else "missing_here" if key not in ours else "amount_differs"
        differences.append(Difference(kind=kind, item=key[0], ref=key[1], ours_cents=mine, provider_cents=provider))
    return ours, theirs, differences


def record_report(uow: UnitOfWork, source: SettlementSource, day: date, figures: SettlementFigures,
                  currency: str, start: datetime, end: datetime) -> SettlementReportRow:
    """Compare the day's rows [start, end) with the provider's figures; save the report and open
    a case per new difference, in this unit of work."""
    rows = uow.settlement.payments_between(source.method, iso(start), iso(end))
    ours, theirs, differences = compare(rows, figures, start, end)
    listed = []
    for d in differences:
        case_id = None
        dedupe = f"settlement:{d.kind}:{d.item}:{d.ref}:{d.ours_cents}:{d.provider_cents}"
        if uow.payments.record_provider_event(source.provider, dedupe[:200], d.ref, uow.now):
            payment = uow.payments.get(d.ref)
            case = uow.reviews.open_case(
                uow, DIFFERENCE_CASE, payment.order_id if payment else None, None,
                f"{source.provider} settlement {day.isoformat()}: {d.item} {d.ref} "
                f"{d.kind.replace('_', ' ')} (ours {format_cents(d.ours_cents, currency)}, "
                f"provider {format_cents(d.provider_cents, currency)})",
                {"provider": source.provider, "business_day": day.isoformat(), **msgspec.structs.asdict(d)})
            case_id = case.id
        listed.append(msgspec.structs.asdict(d) | {"case_id": case_id})
    report = SettlementReportRow(
        id=uuid7(), provider=source.provider, method=source.method, business_day=day.isoformat(),
        currency=currency, status="differences" if differences else "matched",
        captured_cents=sum(v for (k, _), v in ours.items() if k == "capture"),
        refunded_cents=sum(v for (k, _), v in ours.items() if k == "refund"),
        provider_captured_cents=sum(v for (k, _), v in theirs.items() if k == "capture"),
        provider_refunded_cents=sum(v for (k, _), v in theirs.items() if k == "refund"),
        differences=listed, created_at=uow.now)
    uow.settlement.save_report(report)
    uow.audit("settlement.reconciled", "settlement_report", report.id, None,
              {"provider": report.provider, "business_day": report.business_day, "status": report.status,
               "captured_cents": report.captured_cents, "refunded_cents": report.refunded_cents,
               "provider_captured_cents": report.provider_captured_cents,
               "provider_refunded_cents": report.provider_refunded_cents, "differences": len(differences)})
    log.info("settlement.reconciled", provider=source.provider, business_day=day.isoformat(),
             status=report.status, differences=len(differences))
    return report


async def reconcile_day(runner: Any, actor: Actor, source: SettlementSource, day: date, *, timezone: str,
                        day_start_hour: int, currency: str) -> SettlementReportRow:
    """Ask the provider (outside any transaction), then record the report in one unit of work."""
    start, end = business_day_bounds(day, timezone, day_start_hour)
    try:
        figures = await source.settlement(start, end)
    except ConnectionError as err:
        raise ProviderUnavailable(f"{source.provider} could not be asked for its settlement: {err}") from None
    return await runner.run(actor, lambda u: record_report(u, source, day, figures, currency, start, end))


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("business_day must be a date such as 2026-11-30",
                               errors=[{"field": "business_day", "message": "YYYY-MM-DD"}]) from None
