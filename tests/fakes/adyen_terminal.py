"""A fake Adyen payment terminal: Terminal API (nexo JSON) over real HTTP on 127.0.0.1.

It speaks the published message formats both ways: requests arrive protected with the shared
key (NexoBlob + SecurityTrailer) and are refused with HTTP 401 when the key or HMAC is wrong;
answers go back protected the same way; display notifications go to the POS as Adyen sends them
when "Decrypted" is chosen (a DisplayRequest whose OutputText carries `event=...`), with HTTP
Basic credentials.

A test drives it into each state with `script` (one entry per PaymentRequest):

    approved                 Success for the full amount (chip, PIN)
    declined:<code>:<text>   Failure/Refusal with `refusalReason=<code>:<text>` (Adyen's refusal reasons)
    partial:<cents>          Partial, AuthorizedAmount = cents (the card had less on it)
    signature                Success, receipt with RequiredSignatureFlag (PaperSignature)
    chip_fallback            CARD_INSERTED, then CARD_SWIPED: Success, EntryMode MagStripe
    customer_cancel          Failure/Cancel (the customer pressed Cancel)
    lost_reply               approves, then drops the connection without answering
    wait                     holds the payment until `release(state)` or an AbortRequest (-> Aborted)
    wait_approve             like wait, but approves even if aborted (the card beat the cancel)

`busy = True` answers Failure/Busy; `stop()` takes it off the network (connection refused).
It is given a canary card number and, like a real terminal, only ever sends it masked.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections import Counter, deque
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import httpx

from edge.adapters.payments import adyen_nexo as nexo
from edge.adapters.payments.adyen_nexo import NexoError, SharedKey

CANARY_PAN = "4000056655665556"  # a Luhn-valid test card number; must never reach NovaPOS whole


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Pending:
    def __init__(self, transaction_id: str, service_id: str) -> None:
        self.transaction_id = transaction_id
        self.service_id = service_id
        self.decided = threading.Event()
        self.state: str | None = None
        self.aborted = False


class FakeAdyenTerminal:
    def __init__(self, key: SharedKey, *, port: int, poiid: str = "V400m-324688179", pan: str = CANARY_PAN,
                 notify_url: str | None = None, notify_auth: tuple[str, str] | None = None) -> None:
        self.key = key
        self.port = port
        self.poiid = poiid
        self.pan = pan
        self.notify_url = notify_url
        self.notify_auth = notify_auth
        self.url = f"http://127.0.0.1:{port}/nexo"
        self.script: deque[str] = deque()
        self.default = "approved"
        self.busy = False
        self.reversal = "approved"  # or "declined"
        self.diagnosis: dict[str, Any] = {"GlobalStatus": "OK", "CommunicationOKFlag": True, "PEDOKFlag": True,
                                          "CardReaderOKFlag": True, "SecurityOKFlag": True, "PrinterStatus": "OK"}
        self.host_reachable = True
        self.payments_received: Counter[str] = Counter()  # PaymentRequests per SaleTransactionID
        self.reversals: list[dict[str, Any]] = []
        self.aborts: list[str] = []
        self.notifications_sent: list[str] = []
        self.bad_requests = 0
        self.transactions: dict[str, dict[str, Any]] = {}  # POI TransactionID -> what it charged
        self._journal: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {}
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeAdyenTerminal:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    message = nexo.unprotect(raw, fake.key)
                except NexoError:
                    fake.bad_requests += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                answer = fake._handle(message)
                if answer is _DROP:
                    self.close_connection = True
                    self.connection.close()
                    return
                body = nexo.protect(answer, fake.key) if answer else b""
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the POS went away (killed) while the customer was at the terminal

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-adyen").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for pending in list(self._pending.values()):
            pending.decided.set()

    # -- test controls ---------------------------------------------------------------------------
    def waiting(self) -> list[str]:
        """SaleTransactionIDs (our payment refs) of payments waiting on the customer."""
        with self._lock:
            return [p.transaction_id for p in self._pending.values() if not p.decided.is_set()]

    def release(self, state: str = "approved") -> None:
        with self._lock:
            for pending in self._pending.values():
                if not pending.decided.is_set():
                    pending.state = state
                    pending.decided.set()

    def charged_cents(self, ref: str) -> int:
        """What stays charged for the sale under our `ref`: authorised less reversed/refunded."""
        return sum(t["authorized_cents"] - t["reversed_cents"] for t in self.transactions.values() if t["ref"] == ref)

    # -- protocol --------------------------------------------------------------------------------
    def _handle(self, message: dict[str, Any]) -> Any:
        request = message["SaleToPOIRequest"]
        header = request["MessageHeader"]
        if header.get("POIID") != self.poiid:
            return self._answer(header, "PaymentResponse", {"Response": {"Result": "Failure",
                                                                         "ErrorCondition": "NotAllowed"}})
        if "PaymentRequest" in request:
            return self._payment(header, request["PaymentRequest"])
        if "TransactionStatusRequest" in request:
            return self._status(header, request["TransactionStatusRequest"])
        if "AbortRequest" in request:
            return self._abort(request["AbortRequest"])
        if "ReversalRequest" in request:
            return self._reversal(header, request["ReversalRequest"])
        if "DiagnosisRequest" in request:
            hosts = [{"AcquirerID": "AdyenAcquirer", "IsReachableFlag": self.host_reachable}]
            return self._answer(header, "DiagnosisResponse", {"Response": {"Result": "Success"},
                                                              "POIStatus": self.diagnosis, "HostStatus": hosts})
        return self._answer(header, "PaymentResponse", {"Response": {"Result": "Failure",
                                                                     "ErrorCondition": "MessageFormat"}})

    def _answer(self, header: dict[str, Any], name: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"SaleToPOIResponse": {"MessageHeader": {**header, "MessageType": "Response"}, name: body}}

    def _payment(self, header: dict[str, Any], payment: dict[str, Any]) -> Any:
        ref = payment["SaleData"]["SaleTransactionID"]["TransactionID"]
        amounts = payment["PaymentTransaction"]["AmountsReq"]
        currency, asked = amounts["Currency"], Decimal(str(amounts["RequestedAmount"]))
        key = (header["SaleID"], header["ServiceID"])
        if self.busy:
            return self._answer(header, "PaymentResponse", {"Response": {
                "Result": "Failure", "ErrorCondition": "Busy", "AdditionalResponse": "message=Terminal%20busy"}})
        with self._lock:
            self.payments_received[ref] += 1
            state = self.script.popleft() if self.script else self.default
            self._journal[key] = ("Payment", None)  # in progress
        self._notify(header, "TENDER_CREATED")
        if state in ("wait", "wait_approve"):
            pending = _Pending(ref, header["ServiceID"])
            with self._lock:
                self._pending[header["ServiceID"]] = pending
            pending.decided.wait(timeout=300)
            with self._lock:
                self._pending.pop(header["ServiceID"], None)
            if pending.aborted and state == "wait":
                state = "aborted"
            else:
                state = pending.state or "approved"
        if state == "chip_fallback":
            self._notify(header, "CARD_INSERTED")
            self._notify(header, "CARD_SWIPED")
        elif state not in ("busy", "aborted", "customer_cancel"):
            for event in ("CARD_INSERTED", "WAIT_FOR_PIN", "PIN_ENTERED"):
                self._notify(header, event)
        if state == "signature":
            self._notify(header, "ASK_SIGNATURE")
        body = self._payment_body(ref, state, asked, currency)
        with self._lock:
            self._journal[key] = ("Payment", body)
        if state == "lost_reply":
            return _DROP
        return self._answer(header, "PaymentResponse", body)

    def _payment_body(self, ref: str, state: str, asked: Decimal, currency: str) -> dict[str, Any]:
        sale_data = {"SaleTransactionID": {"TransactionID": ref, "TimeStamp": _stamp()}}
        if state == "aborted":
            return {"Response": {"Result": "Failure", "ErrorCondition": "Aborted"}, "SaleData": sale_data}
        if state == "customer_cancel":
            return {"Response": {"Result": "Failure", "ErrorCondition": "Cancel",
                                 "AdditionalResponse": "message=Cancelled%20by%20shopper"}, "SaleData": sale_data}
        if state.startswith("declined"):
            _, code, text = ([*state.split(":", 2), "2", "Refused"])[:3]
            return {"Response": {"Result": "Failure", "ErrorCondition": "Refusal",
                                 "AdditionalResponse": f"refusalReason={quote(code + ':' + text)}&"
                                                       f"cardSummary={self.pan[-4:]}&posEntryMode=ICC"},
                    "SaleData": sale_data, "PaymentResult": self._instrument(["ICC"])}
        authorized = asked
        result = "Success"
        if state.startswith("partial:"):
            authorized = nexo.to_decimal(int(state.split(":", 1)[1]), currency)
            result = "Partial"
        poi_id = f"{secrets.token_hex(6)}.{secrets.randbelow(10**16):016d}"
        stamp = _stamp()
        entry = ["MagStripe"] if state == "chip_fallback" else ["ICC"]
        payment_result = self._instrument(entry)
        payment_result |= {"AmountsResp": {"AuthorizedAmount": authorized, "Currency": currency},
                           "PaymentAcquirerData": {"AcquirerPOIID": self.poiid, "MerchantID": "NovaPOSTest",
                                                   "ApprovalCode": f"{secrets.randbelow(10**6):06d}",
                                                   "AcquirerTransactionID": {"TransactionID": poi_id.split(".")[1],
                                                                             "TimeStamp": stamp}},
                           "AuthenticationMethod": ["PaperSignature"] if state == "signature" else ["OfflinePIN"]}
        with self._lock:
            self.transactions[poi_id] = {"ref": ref, "authorized_cents": nexo.to_cents(authorized, currency),
                                         "reversed_cents": 0, "currency": currency}
        receipt = {"DocumentQualifier": "CashierReceipt", "IntegratedPrintFlag": False,
                   "RequiredSignatureFlag": state == "signature",
                   "OutputContent": {"OutputFormat": "Text", "OutputText": [
                       {"Text": "key=header1&name=Adyen%20Test&value="},
                       {"Text": f"key=pan&name=Card&value=%2A%2A%2A%2A%20{self.pan[-4:]}"}]}}
        return {"Response": {"Result": result, "AdditionalResponse": f"posEntryMode={entry[0]}&cardSummary="
                             f"{self.pan[-4:]}&cardBin={self.pan[:6]}"},
                "SaleData": sale_data, "POIData": {"POITransactionID": {"TransactionID": poi_id, "TimeStamp": stamp}},
                "PaymentResult": payment_result, "PaymentReceipt": [receipt]}

    def _instrument(self, entry: list[str]) -> dict[str, Any]:
        masked = f"{self.pan[:6]}******{self.pan[-4:]}"
        return {"PaymentInstrumentData": {"PaymentInstrumentType": "Card", "CardData": {
            "PaymentBrand": "visa", "MaskedPan": masked, "EntryMode": entry}}}

    def _status(self, header: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        reference = status["MessageReference"]
        with self._lock:
            found = self._journal.get((reference["SaleID"], reference["ServiceID"]))
        if found is None or found[0] != reference["MessageCategory"]:
            return self._answer(header, "TransactionStatusResponse", {"Response": {
                "Result": "Failure", "ErrorCondition": "NotFound"}})
        category, body = found
        if body is None:
            return self._answer(header, "TransactionStatusResponse", {"Response": {
                "Result": "Failure", "ErrorCondition": "InProgress"}})
        name = "PaymentResponse" if category == "Payment" else "ReversalResponse"
        original_header = {**header, "MessageCategory": category, "ServiceID": reference["ServiceID"],
                           "MessageType": "Response"}
        return self._answer(header, "TransactionStatusResponse", {
            "Response": {"Result": "Success"}, "MessageReference": reference,
            "RepeatedMessageResponse": {"MessageHeader": original_header,
                                        "RepeatedResponseMessageBody": {name: body}}})

    def _abort(self, abort: dict[str, Any]) -> None:
        service = abort["MessageReference"]["ServiceID"]
        with self._lock:
            self.aborts.append(service)
            pending = self._pending.get(service)
            if pending is not None and not pending.decided.is_set():
                pending.aborted = True
                pending.decided.set()
        return None

    def _reversal(self, header: dict[str, Any], reversal: dict[str, Any]) -> dict[str, Any]:
        original_id = reversal["OriginalPOITransaction"]["POITransactionID"]["TransactionID"]
        key = (header["SaleID"], header["ServiceID"])
        with self._lock:
            self.reversals.append(reversal)
            original = self.transactions.get(original_id)
            if original is None:
                body: dict[str, Any] = {"Response": {"Result": "Failure", "ErrorCondition": "NotFound"}}
            elif self.reversal == "declined":
                body = {"Response": {"Result": "Failure", "ErrorCondition": "Refusal",
                                     "AdditionalResponse": "refusalReason=" + quote("26:Revocation Of Auth")}}
            else:
                currency = original["currency"]
                amount = reversal.get("ReversedAmount")
                cents = nexo.to_cents(amount, currency) if amount is not None else \
                    original["authorized_cents"] - original["reversed_cents"]
                original["reversed_cents"] += cents
                body = {"Response": {"Result": "Success"}, "ReversedAmount": nexo.to_decimal(cents, currency),
                        "POIData": {"POITransactionID": {"TransactionID": f"{secrets.token_hex(6)}.{secrets.randbelow(10**16):016d}", "TimeStamp":
                                                         _stamp()}}}
            self._journal[key] = ("Reversal", body)
        return self._answer(header, "ReversalResponse", body)

    def _notify(self, header: dict[str, Any], event: str) -> None:
        if not self.notify_url:
            return
        text = f"TransactionID={header['ServiceID']}&TimeStamp={quote(_stamp())}&event={event}"
        message = {"SaleToPOIRequest": {
            "MessageHeader": {"ProtocolVersion": "3.0", "MessageClass": "Device", "MessageCategory": "Display",
                              "MessageType": "Request", "ServiceID": secrets.token_hex(5), "DeviceID": "1",
                              "SaleID": header["SaleID"], "POIID": self.poiid},
            "DisplayRequest": {"DisplayOutput": [{
                "Device": "CashierDisplay", "InfoQualify": "Status", "ResponseRequiredFlag": False,
                "MinimumDisplayTime": 0,
                "OutputContent": {"OutputFormat": "Text", "OutputText": [{"Text": text}]}}]}}}
        auth = None
        if self.notify_auth:
            auth = "Basic " + base64.b64encode(":".join(self.notify_auth).encode()).decode()
        try:
            httpx.post(self.notify_url, content=nexo.dumps(message), timeout=5,
                       headers={"Content-Type": "application/json", **({"Authorization": auth} if auth else {})})
            self.notifications_sent.append(event)
        except httpx.HTTPError:
            pass  # a POS that is down misses the prompt, as with a real terminal


_DROP = object()
