"""A fake BTCPay Server speaking the published Greenfield API v1, on a real 127.0.0.1 port.

It follows `BTCPayServer/wwwroot/swagger/v1/swagger.template.invoices.json`,
`…pull-payments.json` and `…webhooks.json`: `Authorization: token <apikey>`; invoices
(`InvoiceData`: amounts as decimal strings, Unix-second timestamps, `status` New / Processing /
Expired / Invalid / Settled with `additionalStatus` None / PaidPartial / PaidOver / PaidLate /
Marked); `payment-methods` (`InvoicePaymentMethodDataModel`); `POST …/status` (mark Invalid or
Settled, 400 `ValidationProblemDetails` when the invoice cannot be marked so); `POST …/refund`
(a `PullPaymentData`); and webhooks signed `BTCPay-Sig: sha256=<hex HMAC-SHA256 of the body>`,
with `deliveryId`, `webhookId`, `originalDeliveryId`, `isRedelivery`, `type`, `timestamp`,
`storeId`, `invoiceId`, `metadata` and each type's own fields.

The test drives it: `pay`, `confirm`, `expire` move an invoice as a wallet and the chain would,
and return the webhook deliveries BTCPay would send; `deliver` signs and posts one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

BTC_RATE = Decimal("50000.00")  # invoice currency per BTC


def _id(n: int = 22) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


class FakeBtcpay:
    def __init__(self, *, store_id: str = "StoreFake1", api_key: str = "fake-api-key",
                 webhook_secret: str = "whsec-one", clock: Callable[[], float] = time.time,
                 with_paid_amount: bool = True):
        self.store_id = store_id
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.webhook_id = _id(10)
        self.clock = clock
        self.with_paid_amount = with_paid_amount  # older servers have no `paidAmount`
        self.invoices: dict[str, dict[str, Any]] = {}
        self.paid: dict[str, Decimal] = {}
        self.payments: dict[str, list[dict[str, Any]]] = {}
        self.pull_payments: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.unauthorized = 0
        self.down = False  # answer 503 to everything (BTCPay restarting)
        self.webhook_url: str | None = None
        self.sender: Callable[[bytes, dict[str, str]], int] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeBtcpay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what the chain and the customer do ------------------------------------------------------
    def invoice_of(self, order_id: str) -> dict[str, Any]:
        return next(i for i in self.invoices.values() if i["metadata"].get("orderId") == order_id)

    def pay(self, invoice_id: str, amount: str, *, confirmed: bool = True) -> list[dict[str, Any]]:
        """The customer's wallet sends `amount` (in the invoice currency); the deliveries BTCPay sends."""
        with self._lock:
            inv = self.invoices[invoice_id]
            value = Decimal(amount)
            after_expiration = inv["status"] in ("Expired", "Invalid")
            self.paid[invoice_id] += value
            payment = {"id": f"{_id(64).lower()}-0", "receivedDate": int(self.clock()),
                       "value": str((value / BTC_RATE).quantize(Decimal("0.00000001"))), "fee": "0.00000000",
                       "status": "Settled" if confirmed else "Processing", "destination": self._address(invoice_id)}
            self.payments[invoice_id].append(payment)
            events = [self._event("InvoiceReceivedPayment", inv, afterExpiration=after_expiration,
                                  paymentMethodId="BTC-CHAIN", payment=payment)]
            full = self.paid[invoice_id] >= Decimal(inv["amount"])
            over = self.paid[invoice_id] > Decimal(inv["amount"])
            if inv["status"] == "Invalid":
                inv["additionalStatus"] = "PaidLate"
            elif after_expiration:
                inv["additionalStatus"] = "PaidLate"
                if full and confirmed:
                    inv["status"] = "Settled"
                    events.append(self._event("InvoiceSettled", inv, manuallyMarked=False, overPaid=over))
            elif not full:
                inv["additionalStatus"] = "PaidPartial"
            elif confirmed:
                inv["status"], inv["additionalStatus"] = "Settled", "PaidOver" if over else "None"
                events += [self._event("InvoicePaymentSettled", inv, afterExpiration=False,
                                       paymentMethodId="BTC-CHAIN", payment=payment),
                           self._event("InvoiceSettled", inv, manuallyMarked=False, overPaid=over)]
            else:
                inv["status"], inv["additionalStatus"] = "Processing", "PaidOver" if over else "None"
                events.append(self._event("InvoiceProcessing", inv, overPaid=over))
            self._sync(inv)
            return events

    def confirm(self, invoice_id: str) -> list[dict[str, Any]]:
        """The payments waiting for confirmations confirm."""
        with self._lock:
            inv = self.invoices[invoice_id]
            for p in self.payments[invoice_id]:
                p["status"] = "Settled"
            if inv["status"] != "Processing":
                return []
            inv["status"] = "Settled"
            over = inv["additionalStatus"] == "PaidOver"
            return [self._event("InvoiceSettled", inv, manuallyMarked=False, overPaid=over)]

    def expire(self, invoice_id: str) -> list[dict[str, Any]]:
        """The invoice's timer runs out."""
        with self._lock:
            inv = self.invoices[invoice_id]
            if inv["status"] != "New":
                return []
            inv["status"] = "Expired"
            partially = self.paid[invoice_id] > 0
            inv["additionalStatus"] = "PaidPartial" if partially else "None"
            inv["availableStatusesForManualMarking"] = ["Settled", "Invalid"]
            return [self._event("InvoiceExpired", inv, partiallyPaid=partially)]

    # -- webhooks --------------------------------------------------------------------------------
    def _event(self, kind: str, inv: dict[str, Any], **fields: Any) -> dict[str, Any]:
        delivery = _id(22)
        return {"deliveryId": delivery, "webhookId": self.webhook_id, "originalDeliveryId": delivery,
                "isRedelivery": False, "type": kind, "timestamp": int(self.clock()), "storeId": self.store_id,
                "invoiceId": inv["id"], "metadata": inv["metadata"], **fields}

    def signed(self, event: dict[str, Any], secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(event).encode()
        mac = hmac.new((secret or self.webhook_secret).encode(), body, hashlib.sha256).hexdigest()
        return body, {"BTCPay-Sig": f"sha256={mac}", "Content-Type": "application/json",
                      "User-Agent": "BTCPayServer"}

    def redelivery(self, event: dict[str, Any]) -> dict[str, Any]:
        """What "Redeliver" in BTCPay's webhook page sends: a new delivery of the same event."""
        return {**event, "deliveryId": _id(22), "isRedelivery": True, "timestamp": int(self.clock())}

    def deliver(self, event: dict[str, Any], secret: str | None = None) -> int:
        body, headers = self.signed(event, secret)
        if self.sender is not None:
            return self.sender(body, headers)
        assert self.webhook_url, "no webhook registered"
        return httpx.post(self.webhook_url, content=body, headers=headers, timeout=10).status_code

    # -- the API ---------------------------------------------------------------------------------
    def _address(self, invoice_id: str) -> str:
        return "bcrt1q" + hashlib.sha256(invoice_id.encode()).hexdigest()[:38]

    def _sync(self, inv: dict[str, Any]) -> None:
        if self.with_paid_amount:
            inv["paidAmount"] = _money(self.paid[inv["id"]])
        inv["availableStatusesForManualMarking"] = (
            ["Settled", "Invalid"] if inv["status"] in ("New", "Expired") else
            ["Invalid"] if inv["status"] == "Settled" else ["Settled"] if inv["status"] == "Invalid" else [])

    def _view(self, inv: dict[str, Any]) -> dict[str, Any]:
        out = dict(inv)
        if not self.with_paid_amount:
            out.pop("paidAmount", None)
        return out

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        amount = body.get("amount")
        try:
            value = Decimal(str(amount))
        except Exception:
            return 400, [{"path": "amount", "message": "The amount should be a valid decimal"}]
        if value <= 0:
            return 400, [{"path": "amount", "message": "The amount should be 0 or more."}]
        now = int(self.clock())
        minutes = float((body.get("checkout") or {}).get("expirationMinutes") or 15)
        invoice_id = _id()
        inv = {"id": invoice_id, "storeId": self.store_id, "amount": _money(value), "paidAmount": "0.00",
               "currency": body.get("currency") or "USD", "type": "Standard",
               "checkoutLink": f"{self.url}/i/{invoice_id}", "createdTime": now,
               "expirationTime": now + int(minutes * 60), "monitoringExpiration": now + int(minutes * 60) + 86400,
               "status": "New", "additionalStatus": "None", "availableStatusesForManualMarking": [],
               "archived": False, "metadata": body.get("metadata") or {}, "checkout": body.get("checkout") or {},
               "receipt": {}}
        with self._lock:
            self.invoices[invoice_id] = inv
            self.paid[invoice_id] = Decimal(0)
            self.payments[invoice_id] = []
            self._sync(inv)
        return 200, self._view(inv)

    def _payment_methods(self, inv: dict[str, Any]) -> list[dict[str, Any]]:
        amount_btc = (Decimal(inv["amount"]) / BTC_RATE).quantize(Decimal("0.00000001"))
        paid_btc = (self.paid[inv["id"]] / BTC_RATE).quantize(Decimal("0.00000001"))
        address = self._address(inv["id"])
        return [{"paymentMethodId": "BTC-CHAIN", "currency": "BTC", "destination": address,
                 "paymentLink": f"bitcoin:{address}?amount={amount_btc}", "rate": str(BTC_RATE),
                 "paymentMethodPaid": str(paid_btc), "totalPaid": str(paid_btc), "due": str(amount_btc - paid_btc),
                 "amount": str(amount_btc), "paymentMethodFee": "0.00000000",
                 "payments": self.payments[inv["id"]], "activated": True, "additionalData": {}}]

    def _mark(self, inv: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        status = body.get("status")
        if status not in inv["availableStatusesForManualMarking"]:
            return 400, [{"path": "status", "message": f"Invoice cannot be marked as {status}"}]
        inv["status"], inv["additionalStatus"] = status, "Marked"
        self._sync(inv)
        return 200, self._view(inv)

    def _refund(self, inv: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any]:
        if inv["status"] not in ("Settled",) and self.paid[inv["id"]] <= 0:
            return 400, [{"path": "", "message": "The invoice is not paid"}]
        variant = body.get("refundVariant")
        if variant not in ("RateThen", "CurrentRate", "OverpaidAmount", "Fiat", "Custom"):
            return 400, [{"path": "refundVariant", "message": "refundVariant is required"}]
        if variant == "Custom":
            try:
                amount = Decimal(str(body.get("customAmount")))
            except Exception:
                return 400, [{"path": "customAmount", "message": "Amount must be greater than 0"}]
            if amount <= 0 or not body.get("customCurrency"):
                return 400, [{"path": "customAmount", "message": "Amount must be greater than 0"}]
            currency = body["customCurrency"]
        else:
            amount, currency = Decimal(inv["amount"]), inv["currency"]
        pull_id = _id(28)
        pull = {"id": pull_id, "name": body.get("name") or f"Refund {inv['id']}",
                "description": body.get("description") or "", "currency": currency, "amount": _money(amount),
                "BOLT11Expiration": "30", "autoApproveClaims": False, "archived": False,
                "viewLink": f"{self.url}/pull-payments/{pull_id}", "invoiceId": inv["id"]}
        self.pull_payments.append(pull)
        return 200, {k: v for k, v in pull.items() if k != "invoiceId"}

    def _list(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        found = list(self.invoices.values())
        if query.get("orderId"):
            found = [i for i in found if i["metadata"].get("orderId") in query["orderId"]]
        if query.get("status"):
            found = [i for i in found if i["status"] in query["status"]]
        if query.get("startDate"):
            found = [i for i in found if i["createdTime"] >= int(query["startDate"][0])]
        if query.get("endDate"):
            found = [i for i in found if i["createdTime"] <= int(query["endDate"][0])]
        found.sort(key=lambda i: i["createdTime"], reverse=True)
        skip = int((query.get("skip") or ["0"])[0])
        take = int((query.get("take") or ["50"])[0])
        return [self._view(i) for i in found[skip:skip + take]]

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "v1"]:
            return 404, None
        rest = parts[2:]
        if rest[:1] == ["stores"]:
            if len(rest) < 2 or rest[1] != self.store_id:
                return 403, {"code": "unauthenticated", "message": "The store does not exist or you lack rights"}
            rest = rest[2:]
        if rest == ["invoices"]:
            return self._create(body or {}) if method == "POST" else (200, self._list(query))
        if rest == ["pull-payments"] and method == "GET":
            return 200, [{k: v for k, v in p.items() if k != "invoiceId"} for p in self.pull_payments]
        if len(rest) >= 2 and rest[0] == "invoices":
            inv = self.invoices.get(rest[1])
            if inv is None:
                return 404, {"code": "invoice-not-found", "message": "The invoice was not found"}
            tail = rest[2:]
            with self._lock:
                if tail == [] and method == "GET":
                    return 200, self._view(inv)
                if tail == ["payment-methods"] and method == "GET":
                    return 200, self._payment_methods(inv)
                if tail == ["status"] and method == "POST":
                    return self._mark(inv, body or {})
                if tail == ["refund"] and method == "POST":
                    return self._refund(inv, body or {})
        return 404, None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                fake.requests.append((method, parts.path))
                if fake.down:
                    return self._send(503, None)
                if self.headers.get("Authorization") != f"token {fake.api_key}":
                    fake.unauthorized += 1
                    return self._send(401, {"code": "unauthenticated", "message": "Authentication is required"})
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    return self._send(400, {"code": "invalid-json", "message": "Invalid JSON"})
                status, payload = fake.route(method, parts.path, parse_qs(parts.query), body)
                self._send(status, payload)

            def _send(self, status: int, payload: Any) -> None:
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler
