"""`SettlementSource` for Adyen card payments: the merchant account's *Settlement details report*.

Adyen publishes the report as CSV, downloaded from the Customer Area with a report user's
credentials (`https://ca-live.adyen.com/reports/download/MerchantAccount/<account>/<file>`, the
API key in `X-API-Key`). Each line is a booking; the columns used here are Adyen's own:

    Merchant Account                 only the configured account's lines count
    Psp Reference                    the payment's PSP reference (on a refund line: the payment's)
    Merchant Reference               what the POS gave as SaleTransactionID: our payment id
    Modification Reference           a refund's own PSP reference
    Modification Merchant Reference  a referenced refund's SaleTransactionID: our refund's id
    Creation Date, TimeZone          when Adyen booked the line
    Type                             Settled (a capture) or Refunded; other types are not ours to match
    Gross Currency, Gross Debit (GC), Gross Credit (GC)

How a line finds its payment: by the merchant reference first (the terminal adapter sends the
payment id as SaleTransactionID, which Adyen reports as Merchant Reference); failing that, by the
PSP reference, which is the part after the dot of the POI TransactionID the adapter stores as the
payment's `provider_ref` (`<tender>.<psp> <TimeStamp>`): a sale's *Psp Reference*, a refund's
*Modification Reference* (its reversal's POI TransactionID). A line found that way counts for the
day of its payment (`at` None), however late Adyen settled it; a line matching no payment of
this store is dated by its creation date, so a refund made in the Customer Area that the store
never recorded shows up on the day Adyen booked it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import structlog

from edge.adapters.payments.adyen_nexo import MINOR_DIGITS
from edge.domain.ids import iso
from edge.service.settlement_ports import SettlementFigures, SettlementItem

log = structlog.get_logger()

MAX_REPORT_BYTES = 64 * 1024 * 1024  # a busy merchant account's batch, with room to spare
REQUIRED_COLUMNS = ("Merchant Account", "Psp Reference", "Merchant Reference", "Creation Date", "TimeZone",
                    "Type", "Gross Currency", "Gross Debit (GC)", "Gross Credit (GC)")
KINDS = {"Settled": "capture", "Refunded": "refund"}
# Adyen writes the account's time zone as an abbreviation; the ones it uses for fixed offsets.
ABBREVIATIONS = {"UTC": 0, "GMT": 0, "CET": 1, "CEST": 2, "EET": 2, "EEST": 3, "WET": 0, "WEST": 1, "BST": 1,
                 "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
                 "AEST": 10, "AEDT": 11, "SGT": 8, "HKT": 8, "JST": 9}

# (merchant references, psp references) -> (those merchant references that are our payment ids,
# psp reference -> our payment id)
Resolver = Callable[[set[str], set[str]], Awaitable[tuple[set[str], dict[str, str]]]]


class ReportUnreadable(ConnectionError):
    """The report could not be fetched or is not a Settlement details report."""


@dataclass(frozen=True, slots=True)
class ReportLine:
    kind: str  # capture | refund
    psp: str
    merchant_ref: str
    modification: str
    modification_merchant_ref: str
    cents: int
    at: str | None


def booked_at(value: str, zone: str) -> str | None:
    """Adyen's `Creation Date` ("2026-11-30 14:03:11") in its `TimeZone`, as UTC ISO 8601."""
    try:
        local = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    zone = zone.strip()
    if zone.upper() in ABBREVIATIONS:
        return iso((local - timedelta(hours=ABBREVIATIONS[zone.upper()])).replace(tzinfo=UTC))
    try:
        return iso(local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def to_cents(value: str, currency: str) -> int:
    text = (value or "").strip()
    if not text:
        return 0
    try:
        return int((Decimal(text) * 10 ** MINOR_DIGITS.get(currency.upper(), 2)).to_integral_value())
    except InvalidOperation:
        raise ReportUnreadable(f"the report has an amount that is not a number: {text[:20]!r}") from None


def parse_report(text: str, merchant_account: str) -> list[ReportLine]:
    """Pure: the captures and refunds of `merchant_account` in a Settlement details report."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ReportUnreadable(f"not a Settlement details report: no column {', '.join(missing)}")
    lines = []
    for row in reader:
        kind = KINDS.get((row.get("Type") or "").strip())
        if kind is None or (row.get("Merchant Account") or "").strip() != merchant_account:
            continue
        currency = (row.get("Gross Currency") or "").strip()
        # A capture credits the merchant, a refund debits it; either is counted as a positive amount.
        cents = to_cents(row.get("Gross Credit (GC)") or "", currency) - \
            to_cents(row.get("Gross Debit (GC)") or "", currency)
        lines.append(ReportLine(
            kind=kind, psp=(row.get("Psp Reference") or "").strip(),
            merchant_ref=(row.get("Merchant Reference") or "").strip(),
            modification=(row.get("Modification Reference") or "").strip(),
            modification_merchant_ref=(row.get("Modification Merchant Reference") or "").strip(),
            cents=abs(cents), at=booked_at(row.get("Creation Date") or "", row.get("TimeZone") or "")))
    return lines


def payment_resolver(db: Any) -> Resolver:
    """Which references name this store's payments (by id, or by the PSP reference in provider_ref)."""

    async def resolve(merchant_refs: set[str], psps: set[str]) -> tuple[set[str], dict[str, str]]:
        def query(c: Any) -> tuple[set[str], dict[str, str]]:
            known = {ref for ref in sorted(merchant_refs) if c.exec_driver_sql(
                "SELECT 1 FROM payments WHERE id = ?", (ref,)).first() is not None}
            by_psp: dict[str, str] = {}
            for psp in sorted(psps):
                row = c.exec_driver_sql("SELECT id FROM payments WHERE method = 'card' AND provider_ref LIKE ?",
                                        (f"%.{psp} %",)).first()
                if row is not None:
                    by_psp[psp] = str(row[0])
            return known, by_psp

        return await db.read(query)

    return resolve


class AdyenSettlement:
    provider = "adyen"
    method = "card"

    def __init__(self, *, report_url: str, api_key: str, merchant_account: str, resolve: Resolver,
                 settles_after_days: int = 2, timeout_s: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settles_after_days = settles_after_days  # how late the daily run asks about a day
        self.report_url = report_url
        self.merchant_account = merchant_account
        self.resolve = resolve
        self._api_key = api_key
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def close(self) -> None:
        await self._client.aclose()

    def urls(self, start: datetime, end: datetime) -> list[str]:
        """The report files for [start, end): `{date}` (YYYY_MM_DD) is each UTC date it touches."""
        if "{date}" not in self.report_url:
            return [self.report_url]
        days: list[date] = []
        day = start.astimezone(UTC).date()
        while datetime.combine(day, datetime.min.time(), UTC) < end:
            days.append(day)
            day += timedelta(days=1)
        return [self.report_url.replace("{date}", d.strftime("%Y_%m_%d")) for d in days]

    async def _download(self, url: str) -> str:
        try:
            async with self._client.stream("GET", url, headers={"X-API-Key": self._api_key}) as response:
                if response.status_code == 404:
                    raise ReportUnreadable("Adyen has not published the report yet (HTTP 404)")
                if response.status_code in (401, 403):
                    raise ReportUnreadable(f"Adyen refused the report user's API key (HTTP {response.status_code})")
                if response.status_code != 200:
                    raise ReportUnreadable(f"Adyen answered HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_REPORT_BYTES:
                        raise ReportUnreadable("the report is larger than a settlement report can be")
        except httpx.HTTPError as err:
            raise ReportUnreadable(f"the report could not be downloaded ({type(err).__name__})") from None
        return body.decode("utf-8-sig", errors="replace")

    async def settlement(self, start: datetime, end: datetime) -> SettlementFigures:
        lines: dict[tuple[str, str, str], ReportLine] = {}
        for url in self.urls(start, end):
            for line in parse_report(await self._download(url), self.merchant_account):
                # The same booking in two overlapping files counts once.
                lines[(line.kind, line.psp, line.modification)] = line
        refs = {r for line in lines.values() for r in (line.merchant_ref, line.modification_merchant_ref) if r}
        # A refund's own PSP reference is in the refund row's provider_ref, as a sale's is in its.
        psps = {line.psp if line.kind == "capture" else line.modification for line in lines.values()} - {""}
        known, by_psp = await self.resolve(refs, psps)
        items = [self._item(line, known, by_psp) for line in lines.values()]
        log.info("settlement.adyen_report", lines=len(items), matched=sum(1 for i in items if i.at is None))
        return SettlementFigures(provider=self.provider, items=items)

    @staticmethod
    def _item(line: ReportLine, known: set[str], by_psp: dict[str, str]) -> SettlementItem:
        if line.kind == "capture":
            ref = line.merchant_ref if line.merchant_ref in known else by_psp.get(line.psp)
            provider_ref = line.psp
        else:
            ref = line.modification_merchant_ref if line.modification_merchant_ref in known else \
                by_psp.get(line.modification)
            provider_ref = line.modification or line.psp
        if ref is not None:
            return SettlementItem(ref=ref, kind=line.kind, amount_cents=line.cents, provider_ref=provider_ref)
        # Not a payment of ours: named by Adyen's reference, counted on the day Adyen booked it.
        name = line.modification_merchant_ref or line.merchant_ref if line.kind == "refund" else line.merchant_ref
        return SettlementItem(ref=(name or f"adyen:{provider_ref}")[:120], kind=line.kind, amount_cents=line.cents,
                              provider_ref=provider_ref, at=line.at)
