"""BTCPay Server (Greenfield API v1) as the hosted-charge provider for crypto payments.

Our payment row's id is the invoice's `metadata.orderId`, so every question is asked by our
reference (`GET /api/v1/stores/{storeId}/invoices?orderId=<ref>`): a lost answer, a restart or a
missed webhook is settled by asking, and a second invoice is never created for the same row.

What an invoice says, and what it becomes here (`HostedCharge.status`):

    New, Processing                       pending     the customer has not paid, or the payment
                                                      waits for confirmations
    Settled (None, PaidOver, Marked)      confirmed   for the amount paid: less or more than asked
    Settled / Expired + PaidLate          confirmed   is settled by `tenders.settle_hosted_charge`
    Expired + PaidPartial                 confirmed   (underpaid: what arrived counts)
    Expired + None                        expired
    Invalid (+ Marked)                    failed      payments that never confirmed, or withdrawn

Amounts are decimal strings in the invoice's (fiat) currency; the paid amount is the invoice's
`paidAmount` or, on servers older than that field, the payment methods' `paymentMethodPaid`
times their `rate`. A refund is a pull payment (`POST …/refund`, variant `Custom` in the fiat
currency) that the customer claims through its `viewLink`.

Errors: `BtcpayUnreachable` (a `ConnectionError`: no answer, 5xx, 429, or a question BTCPay
refused to answer, since that leaves the outcome unknown) and `BtcpayRefused` (a 4xx, with
BTCPay's own message). The API key travels only in the Authorization header.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx
import structlog

from edge.service.payment_ports import HostedCharge

log = structlog.get_logger()

ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "CLP", "ISK", "VND", "XAF", "XOF", "HUF"})


class BtcpayUnreachable(ConnectionError):
    """BTCPay did not answer, or answered 5xx/429: the outcome is unknown, ask again later."""


class BtcpayRefused(Exception):
    """BTCPay refused the request (4xx); `detail` is its message, safe to show."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"BTCPay refused the request ({status}): {detail}")
        self.status = status
        self.detail = detail


def minor_digits(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def to_decimal_string(amount_cents: int, currency: str) -> str:
    digits = minor_digits(currency)
    return str(Decimal(amount_cents).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))


def to_cents(amount: Any, currency: str) -> int:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return 0
    if not value.is_finite():
        return 0
    return int(value.scaleb(minor_digits(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _iso(unix_s: Any) -> str | None:
    if not isinstance(unix_s, int | float) or unix_s <= 0:
        return None
    return datetime.fromtimestamp(unix_s, UTC).isoformat().replace("+00:00", "Z")


class BtcpayClient:
    """The Greenfield endpoints NovaPOS uses, store-scoped, over httpx."""

    def __init__(self, base_url: str, store_id: str, api_key: Callable[[], bytes], *,
                 transport: httpx.AsyncBaseTransport | None = None, timeout_s: float = 10.0):
        self.store_id = store_id
        self._api_key = api_key
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), transport=transport, timeout=timeout_s,
                                       headers={"Accept": "application/json"})

    @property
    def _store(self) -> str:
        return f"/api/v1/stores/{self.store_id}"

    async def _call(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        headers = {"Authorization": "token " + self._api_key().decode("ascii", "replace")}
        try:
            response = await self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError as err:
            raise BtcpayUnreachable(f"BTCPay did not answer: {type(err).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise BtcpayUnreachable(f"BTCPay answered {response.status_code}")
        if response.status_code >= 400:
            raise BtcpayRefused(response.status_code, _message(response))
        return response.json() if response.content else None

    async def create_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", f"{self._store}/invoices", json=body)

    async def invoice(self, invoice_id: str) -> dict[str, Any]:
        return await self._call("GET", f"{self._store}/invoices/{invoice_id}")

    async def invoices(self, *, order_id: str | None = None, start_s: int | None = None, end_s: int | None = None,
                       status: list[str] | None = None, skip: int = 0, take: int = 100) -> list[dict[str, Any]]:
        params: list[tuple[str, Any]] = [("skip", skip), ("take", take)]
        if order_id:
            params.append(("orderId", order_id))
        if start_s is not None:
            params.append(("startDate", start_s))
        if end_s is not None:
            params.append(("endDate", end_s))
        params += [("status", s) for s in status or []]
        return await self._call("GET", f"{self._store}/invoices", params=params) or []

    async def payment_methods(self, invoice_id: str) -> list[dict[str, Any]]:
        return await self._call("GET", f"{self._store}/invoices/{invoice_id}/payment-methods") or []

    async def mark_status(self, invoice_id: str, status: str) -> dict[str, Any]:
        return await self._call("POST", f"{self._store}/invoices/{invoice_id}/status", json={"status": status})

    async def refund(self, invoice_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", f"{self._store}/invoices/{invoice_id}/refund", json=body)

    async def pull_payments(self, *, include_archived: bool = True) -> list[dict[str, Any]]:
        return await self._call("GET", f"{self._store}/pull-payments",
                                params={"includeArchived": str(include_archived).lower()}) or []

    async def aclose(self) -> None:
        await self._http.aclose()


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "refused"
    if isinstance(body, dict):
        return str(body.get("message") or body.get("detail") or body.get("code") or "refused")[:200]
    if isinstance(body, list) and body and isinstance(body[0], dict):  # ValidationProblemDetails
        return "; ".join(f"{e.get('path')}: {e.get('message')}" for e in body[:3])[:200]
    return "refused"


def refund_name(refund_ref: str) -> str:
    return f"NovaPOS refund {refund_ref}"


class BtcpayProvider:
    """`HostedChargeProvider` on a BTCPay store."""

    name = "btcpay"

    def __init__(self, client: BtcpayClient, *, invoice_minutes: int = 15, item_desc: str = "NovaPOS sale"):
        self.client = client
        self.invoice_minutes = invoice_minutes
        self.item_desc = item_desc

    async def _by_ref(self, ref: str) -> dict[str, Any] | None:
        found = await self.client.invoices(order_id=ref, take=10)
        mine = [i for i in found if (i.get("metadata") or {}).get("orderId") == ref]
        # Newest first: after a cancel-and-retry BTCPay may hold more than one for the same ref.
        return max(mine, key=lambda i: i.get("createdTime") or 0) if mine else None

    async def charge_of(self, invoice: dict[str, Any], ref: str) -> HostedCharge:
        currency = str(invoice.get("currency") or "")
        asked = to_cents(invoice.get("amount"), currency)
        status, extra = str(invoice.get("status")), str(invoice.get("additionalStatus") or "None")
        paid = await self._paid_cents(invoice, currency) if status != "New" else 0
        if status == "Settled":
            outcome = "confirmed"
            if extra == "Marked" and paid == 0:
                paid = asked  # the merchant marked it settled by hand: believed for the invoice amount
        elif status == "Expired" and extra in ("PaidPartial", "PaidLate") and paid > 0:
            outcome = "confirmed"
        elif status == "Expired":
            outcome = "expired"
        elif status == "Invalid":
            outcome = "failed"
        else:
            outcome = "pending"
        link = None
        if status == "New":
            link = await self._payment_link(str(invoice["id"]))
        return HostedCharge(charge_id=str(invoice["id"]), ref=ref, status=outcome,
                            amount_cents=paid if outcome == "confirmed" else asked,
                            checkout_url=invoice.get("checkoutLink"), expires_at=_iso(invoice.get("expirationTime")),
                            payment_link=link, provider_status=status if extra == "None" else f"{status} ({extra})",
                            received_cents=paid)

    async def _paid_cents(self, invoice: dict[str, Any], currency: str) -> int:
        if invoice.get("paidAmount") is not None:
            return to_cents(invoice["paidAmount"], currency)
        paid = Decimal(0)
        for method in await self.client.payment_methods(str(invoice["id"])):
            try:
                paid += Decimal(str(method.get("paymentMethodPaid") or 0)) * Decimal(str(method.get("rate") or 0))
            except InvalidOperation:
                continue
        return to_cents(paid, currency)

    async def _payment_link(self, invoice_id: str) -> str | None:
        try:
            methods = await self.client.payment_methods(invoice_id)
        except (BtcpayRefused, BtcpayUnreachable):
            return None  # the checkout link still works: it lists every method
        links = [m.get("paymentLink") for m in methods if m.get("paymentLink") and m.get("activated", True)]
        return links[0] if links else None

    async def create_charge(self, ref: str, amount_cents: int, currency: str) -> HostedCharge:
        try:
            existing = await self._by_ref(ref)
            if existing is None:  # the same reference never makes a second invoice
                existing = await self.client.create_invoice({
                    "amount": to_decimal_string(amount_cents, currency), "currency": currency,
                    "metadata": {"orderId": ref, "itemDesc": self.item_desc},
                    "checkout": {"expirationMinutes": self.invoice_minutes, "redirectAutomatically": False},
                })
                log.info("btcpay.invoice_created", ref=ref, invoice_id=existing.get("id"), amount_cents=amount_cents)
        except BtcpayRefused as err:
            # Refused outright (a bad key, a store without a wallet): nothing can be paid, say so now.
            log.error("btcpay.invoice_refused", ref=ref, status=err.status, detail=err.detail)
            return HostedCharge(charge_id="", ref=ref, status="failed", amount_cents=amount_cents,
                                provider_status=f"refused ({err.status})")
        return await self.charge_of(existing, ref)

    async def query(self, ref: str) -> HostedCharge | None:
        try:
            invoice = await self._by_ref(ref)
            return None if invoice is None else await self.charge_of(invoice, ref)
        except BtcpayRefused as err:  # a revoked key cannot say whether it was paid: unknown, not "no"
            raise BtcpayUnreachable(f"BTCPay refused the question ({err.status}): {err.detail}") from None

    async def refund(self, ref: str, amount_cents: int, *, refund_ref: str | None = None) -> HostedCharge:
        invoice = await self._by_ref(ref)
        if invoice is None:
            return HostedCharge(charge_id="", ref=ref, status="failed", amount_cents=amount_cents)
        name = refund_name(refund_ref or ref)
        if refund_ref:
            for pull in await self.client.pull_payments():
                if pull.get("name") == name:  # made before an answer was lost: never refund twice
                    return HostedCharge(charge_id=str(pull["id"]), ref=ref, status="refunded",
                                        amount_cents=amount_cents, checkout_url=pull.get("viewLink"))
        currency = str(invoice.get("currency") or "")
        try:
            pull = await self.client.refund(str(invoice["id"]), {
                "name": name, "description": f"Refund of NovaPOS payment {ref}", "refundVariant": "Custom",
                "customAmount": to_decimal_string(amount_cents, currency), "customCurrency": currency})
        except BtcpayRefused as err:
            log.warning("btcpay.refund_refused", ref=ref, status=err.status, detail=err.detail)
            return HostedCharge(charge_id=str(invoice["id"]), ref=ref, status="failed", amount_cents=amount_cents)
        log.info("btcpay.refund_created", ref=ref, pull_payment_id=pull.get("id"), amount_cents=amount_cents)
        return HostedCharge(charge_id=str(pull["id"]), ref=ref, status="refunded", amount_cents=amount_cents,
                            checkout_url=pull.get("viewLink"))

    async def cancel(self, ref: str) -> HostedCharge | None:
        try:
            invoice = await self._by_ref(ref)
        except BtcpayRefused as err:
            raise BtcpayUnreachable(f"BTCPay refused the question ({err.status}): {err.detail}") from None
        if invoice is None:
            return None
        if invoice.get("status") in ("New", "Expired") and "Invalid" in (
                invoice.get("availableStatusesForManualMarking") or ["Invalid"]):
            try:
                invoice = await self.client.mark_status(str(invoice["id"]), "Invalid")
                log.info("btcpay.invoice_invalidated", ref=ref, invoice_id=invoice.get("id"))
            except BtcpayRefused:
                invoice = await self.client.invoice(str(invoice["id"]))  # it changed meanwhile: say what it is
        return await self.charge_of(invoice, ref)

    async def close(self) -> None:
        await self.client.aclose()
