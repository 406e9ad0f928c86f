"""`PaymentTerminal` for an Adyen payment terminal on the store's LAN (Terminal API, local mode).

The store server sends nexo messages, protected with the terminal's shared key, over HTTPS to
`https://<terminal>:8443/nexo` and waits for the answer. Card data never comes this way: the
terminal reads the card, talks to Adyen, and answers with the outcome, the brand and a masked
PAN, of which only the last four digits are kept.

How terminal answers become port outcomes (`edge.service.payment_ports`):

    Success (AuthorizedAmount = asked)        approved   (signature_required, fallback flags)
    Success/Partial with less authorised      partial
    Failure, refusalReason or Aborted/Cancel  declined   reason -> guidance (edge.service.card_outcomes)
    Failure Busy / DeviceOut / NotAllowed...  not_found  the terminal never started it: nothing charged
    connection refused (nothing was sent)     not_found  terminal_offline
    no answer in time, or a broken answer     timeout    the processor asks `last(ref)`: a
                                                         TransactionStatusRequest about the same
                                                         message, never a second PaymentRequest
    TransactionStatus: InProgress             timeout    ask again later
    TransactionStatus: NotFound               not_found  the terminal never saw the message

A sale the lane cancelled (`abort`) that the terminal approved anyway (the customer's card was
already authorised when the abort arrived) is reversed at once, so no charge is left behind.

Prompts: Adyen terminals post *display notifications* (a DisplayRequest whose text carries
`event=CARD_INSERTED`, `WAIT_FOR_PIN`, `ASK_SIGNATURE`...) to the store server while a payment
runs; `on_display` turns them into `terminal_prompt` events for the lane of the payment.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import msgspec
import structlog

from edge.adapters.payments import adyen_nexo as nexo
from edge.adapters.payments.adyen_nexo import NexoError, NexoResult, PoiTransaction, SharedKey, TerminalRejected
from edge.service.card_outcomes import adyen_reason, card_guidance
from edge.service.payment_ports import TerminalOutcome

log = structlog.get_logger()

Lookup = Callable[[str], Awaitable[str | None]]
PromptSink = Callable[[str | None, str, str, str], None]  # (lane, ref, kind, text)

# Display notification events (Adyen "display notification types") -> (prompt kind, text for the cashier).
DISPLAY_EVENTS = {
    "TENDER_CREATED": ("present_card", "Ask the customer to insert, tap or swipe the card"),
    "CARD_INSERTED": ("card_read", "Card inserted: reading the chip"),
    "CARD_SWIPED": ("card_read", "Card swiped"),
    "WAIT_FOR_APP_SELECTION": ("app_selection", "The customer chooses the card application on the terminal"),
    "APPLICATION_SELECTED": ("card_read", "Card application selected"),
    "WAIT_FOR_PIN": ("pin_entry", "The customer is entering the PIN"),
    "PIN_ENTERED": ("pin_entry", "PIN entered: authorising"),
    "ASK_SIGNATURE": ("signature_required", "Signature required: ask the customer to sign"),
    "CHECK_SIGNATURE": ("signature_required", "Check the customer's signature against the card"),
    "SIGNATURE_CHECKED": ("signature_required", "Signature checked"),
    "ASK_DCC": ("currency_choice", "The customer chooses the currency on the terminal"),
    "PRINT_RECEIPT": ("printing", "The terminal is printing the receipt"),
    "CARD_REMOVED": ("card_removed", "Card removed"),
}
FALLBACK_PROMPT = ("chip_fallback", "The chip could not be read: ask the customer to swipe or tap the card")


class AdyenTerminal:
    def __init__(self, *, url: str, poiid: str, sale_id: str, key: SharedKey, original_of: Lookup,
                 lane_of: Lookup, prompts: PromptSink | None = None, ca_file: str | None = None,
                 connect_timeout_s: float = 3.0, payment_timeout_s: float = 150.0,
                 status_timeout_s: float = 10.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self.poiid = poiid
        self.sale_id = sale_id
        self.key = key
        self.original_of = original_of
        self.lane_of = lane_of
        self.prompts = prompts
        self.payment_timeout_s = payment_timeout_s
        self.status_timeout_s = status_timeout_s
        verify: ssl.SSLContext | bool = True
        if url.startswith("https://") and ca_file:
            # Adyen terminals present a certificate chained to Adyen's terminal root, not a public CA.
            verify = ssl.create_default_context(cafile=ca_file)
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(status_timeout_s, connect=connect_timeout_s),
                                         verify=verify, transport=transport)
        self.device_id = f"adyen-{poiid}"
        self.status = "ok"  # what the last exchange showed: ok | busy | offline
        self._aborted: set[str] = set()
        self._active: dict[str, tuple[str, str | None]] = {}  # POIID -> (ref, lane) of the payment it runs
        self._seen_events: dict[str, list[str]] = {}  # ref -> display events so far

    async def close(self) -> None:
        await self._client.aclose()

    # -- the port --------------------------------------------------------------------------------
    async def sale(self, ref: str, amount_cents: int, currency: str) -> TerminalOutcome:
        lane = await self.lane_of(ref)
        self._active[self.poiid] = (ref, lane)
        self._seen_events[ref] = []
        self._prompt(lane, ref, *DISPLAY_EVENTS["TENDER_CREATED"])
        request = nexo.payment_request(ref, amount_cents, currency, sale_id=self.sale_id, poiid=self.poiid)
        try:
            answer = await self._send(request, timeout_s=self.payment_timeout_s)
        except httpx.ConnectError:
            # Refused or unroutable: the request never left this box, so nothing can have been charged.
            self.status = "offline"
            outcome = TerminalOutcome(status="not_found", ref=ref, reason="terminal_offline",
                                      message="the payment terminal cannot be reached")
            self._finish(lane, ref, outcome)
            return outcome
        except TerminalRejected as err:
            log.warning("adyen.message_refused", ref=ref, error=str(err))
            outcome = TerminalOutcome(status="not_found", ref=ref, reason="terminal_refused", message=str(err))
            self._finish(lane, ref, outcome)
            return outcome
        except (httpx.TimeoutException, httpx.TransportError, NexoError) as err:
            log.warning("adyen.no_answer", ref=ref, error=type(err).__name__)
            raise TimeoutError("no answer from the payment terminal") from err
        try:
            result = nexo.read_result(nexo.response_body(answer, "PaymentResponse"), currency)
        except NexoError as err:
            raise TimeoutError("the terminal's answer could not be read") from err
        outcome = self._payment_outcome(ref, amount_cents, result)
        if ref in self._aborted and outcome.status in ("approved", "partial") and result.poi_transaction:
            outcome = await self._reverse_cancelled(ref, result.poi_transaction, outcome, currency)
        self._finish(lane, ref, outcome)
        return outcome

    async def void(self, ref: str) -> TerminalOutcome:
        """Reverse the sale made under `ref` (its POI transaction, from the payment row)."""
        original = PoiTransaction.from_ref(await self.original_of(ref))
        if original is None:
            return TerminalOutcome(status="not_found", ref=ref, message="the terminal's reference of the sale is unknown")
        # A void sent again (a retry after a refusal, or after a lost answer) first asks whether an
        # earlier one went through: a sale is reversed once.
        earlier = await self._status(ref, "Reversal")
        if earlier.status == "reversed":
            return earlier
        return await self._reversal(ref, original, None, "EUR", reversed_status="reversed")

    async def refund(self, ref: str, original_ref: str, amount_cents: int, currency: str) -> TerminalOutcome:
        """Adyen's referenced refund: a ReversalRequest naming the original POI transaction, with
        the amount. It goes through any terminal of the merchant account, so the sale's lane and
        day do not matter."""
        original = PoiTransaction.from_ref(await self.original_of(original_ref))
        if original is None:
            return TerminalOutcome(status="declined", ref=ref, reason="not_permitted",
                                   message="the original card sale has no terminal reference")
        return await self._reversal(ref, original, amount_cents, currency, reversed_status="approved")

    async def last(self, ref: str) -> TerminalOutcome:
        """What became of the messages sent under `ref`: a reversal first (a void or a refund), then
        the payment."""
        reversal = await self._status(ref, "Reversal")
        if reversal.status != "not_found":
            return reversal
        return await self._status(ref, "Payment")

    # -- beyond the port: cancel and diagnosis ------------------------------------------------------
    async def abort(self, ref: str) -> bool:
        """Ask the terminal to stop the payment under `ref`. Its PaymentRequest then answers
        Failure/Aborted; an approval that beat the abort is reversed by `sale`."""
        self._aborted.add(ref)
        try:
            await self._send(nexo.abort_request(ref, sale_id=self.sale_id, poiid=self.poiid),
                             timeout_s=self.status_timeout_s, expect_answer=False)
        except (httpx.TransportError, NexoError) as err:
            log.warning("adyen.abort_failed", ref=ref, error=type(err).__name__)
            return False
        return True

    async def diagnose(self) -> dict[str, Any]:
        """The terminal's own diagnosis (DiagnosisRequest with a host check)."""
        try:
            answer = await self._send(nexo.diagnosis_request(sale_id=self.sale_id, poiid=self.poiid),
                                      timeout_s=self.status_timeout_s)
            body = nexo.response_body(answer, "DiagnosisResponse")
        except httpx.ConnectError:
            self.status = "offline"
            return {"ok": False, "poiid": self.poiid, "detail": "the terminal cannot be reached: check its power "
                    "and network cable, and that its address is right"}
        except TerminalRejected as err:
            return {"ok": False, "poiid": self.poiid, "detail": f"the terminal refused the message ({err}): check "
                    "the shared key's identifier, version and passphrase, and the POIID"}
        except (httpx.TransportError, NexoError) as err:
            return {"ok": False, "poiid": self.poiid, "detail": f"the terminal did not answer properly ({err})"}
        response = body.get("Response") or {}
        status = body.get("POIStatus") or {}
        hosts = [{"acquirer_id": str(h.get("AcquirerID", "")), "reachable": bool(h.get("IsReachableFlag"))}
                 for h in body.get("HostStatus") or [] if isinstance(h, dict)]
        checks = {"communication_ok": status.get("CommunicationOKFlag"), "pin_pad_ok": status.get("PEDOKFlag"),
                  "card_reader_ok": status.get("CardReaderOKFlag"), "security_ok": status.get("SecurityOKFlag"),
                  "printer": status.get("PrinterStatus")}
        ok = (response.get("Result") == "Success" and status.get("GlobalStatus") == "OK"
              and all(v is not False for k, v in checks.items() if k != "printer")
              and all(h["reachable"] for h in hosts))
        problems = [name for name, value in checks.items() if value is False]
        problems += [f"acquirer {h['acquirer_id']} unreachable" for h in hosts if not h["reachable"]]
        return {"ok": ok, "poiid": self.poiid, "global_status": status.get("GlobalStatus"), **checks,
                "hosts": hosts, "detail": "terminal ready" if ok else "; ".join(problems) or
                f"the terminal reports {status.get('GlobalStatus') or response.get('ErrorCondition')}"}

    def on_display(self, message: dict[str, Any]) -> str | None:
        """A display notification from the terminal -> a prompt on the lane of its payment."""
        root = message.get("SaleToPOIRequest") or {}
        poiid = str((root.get("MessageHeader") or {}).get("POIID") or "")
        active = self._active.get(poiid)
        if active is None:
            return None
        ref, lane = active
        for output in (root.get("DisplayRequest") or {}).get("DisplayOutput") or []:
            for line in ((output or {}).get("OutputContent") or {}).get("OutputText") or []:
                fields = dict(parse_qsl(str((line or {}).get("Text") or "")))
                event = fields.get("event")
                if not event:
                    continue
                seen = self._seen_events.setdefault(ref, [])
                seen.append(event)
                if event == "CARD_SWIPED" and "CARD_INSERTED" in seen[:-1]:
                    self._prompt(lane, ref, *FALLBACK_PROMPT)
                    return FALLBACK_PROMPT[0]
                if event in DISPLAY_EVENTS:
                    self._prompt(lane, ref, *DISPLAY_EVENTS[event])
                    return DISPLAY_EVENTS[event][0]
        return None

    # -- internals -------------------------------------------------------------------------------
    async def _send(self, message: dict[str, Any], *, timeout_s: float, expect_answer: bool = True
                    ) -> dict[str, Any]:
        response = await self._client.post(self.url, content=nexo.protect(message, self.key),
                                           headers={"Content-Type": "application/json"},
                                           timeout=httpx.Timeout(timeout_s, connect=self._client.timeout.connect))
        self.status = "ok"
        if 400 <= response.status_code < 500:
            raise TerminalRejected(f"the terminal answered HTTP {response.status_code}")
        if response.status_code >= 500:  # it may have started: the answer is in doubt
            raise NexoError(f"the terminal answered HTTP {response.status_code}")
        if not expect_answer:
            return {}
        return nexo.unprotect(response.content, self.key)

    def _payment_outcome(self, ref: str, asked_cents: int, result: NexoResult) -> TerminalOutcome:
        card = {"card_brand": (result.brand or "").upper() or None, "card_last4": result.last4,
                "auth_code": result.approval_code,
                "processor_ref": result.poi_transaction.as_ref() if result.poi_transaction else None}
        fallback = "MagStripe" in result.entry_modes and "CARD_INSERTED" in self._seen_events.get(ref, [])
        entry = _entry_mode(result.entry_modes, fallback)
        if result.result in ("Success", "Partial"):
            authorized = asked_cents if result.authorized_cents is None else result.authorized_cents
            if 0 < authorized < asked_cents:
                return TerminalOutcome(status="partial", ref=ref, approved_cents=authorized, entry_mode=entry, **card)
            return TerminalOutcome(status="approved", ref=ref, approved_cents=asked_cents, entry_mode=entry,
                                   signature_required=result.signature_required, fallback=fallback, **card)
        reason = adyen_reason(result.refusal_reason, result.error_condition)
        if ref in self._aborted and result.error_condition in ("Aborted", "Cancel", None):
            reason = "cancelled"
        never_started = reason in ("terminal_busy", "terminal_offline", "terminal_refused")
        if reason == "terminal_busy":
            self.status = "busy"
        return TerminalOutcome(status="not_found" if never_started else "declined", ref=ref, reason=reason,
                               message=result.refusal_reason or result.error_condition, entry_mode=entry)

    async def _reverse_cancelled(self, ref: str, original: PoiTransaction, approved: TerminalOutcome,
                                 currency: str) -> TerminalOutcome:
        reversed_ = await self._reversal(ref, original, None, currency, reversed_status="reversed")
        if reversed_.status == "reversed":
            log.info("adyen.cancelled_sale_reversed", ref=ref)
            return TerminalOutcome(status="declined", ref=ref, reason="cancelled",
                                   message="approved as the cancel arrived, and reversed at once")
        # The reversal did not go through: the truth is that the card was charged.
        log.warning("adyen.cancelled_sale_not_reversed", ref=ref, status=reversed_.status)
        return approved

    async def _reversal(self, ref: str, original: PoiTransaction, amount_cents: int | None, currency: str, *,
                        reversed_status: str) -> TerminalOutcome:
        request = nexo.reversal_request(ref, original, sale_id=self.sale_id, poiid=self.poiid,
                                        amount_cents=amount_cents, currency=currency)
        try:
            answer = await self._send(request, timeout_s=self.payment_timeout_s)
            result = nexo.read_result(nexo.response_body(answer, "ReversalResponse"), currency)
        except (httpx.TransportError, NexoError) as err:
            # Any doubt stays in flight: recovery asks `last(ref)` later, never reverses blindly twice.
            log.warning("adyen.reversal_no_answer", ref=ref, error=type(err).__name__)
            return TerminalOutcome(status="timeout", ref=ref)
        if result.result == "Success":
            return TerminalOutcome(status=reversed_status, ref=ref, approved_cents=amount_cents or 0,
                                   processor_ref=result.poi_transaction.as_ref() if result.poi_transaction else None)
        # No `reason` here: a refused reversal is money owed back, and its guidance is the refund's.
        return TerminalOutcome(status="declined", ref=ref, message=result.refusal_reason or result.error_condition)

    async def _status(self, ref: str, operation: str) -> TerminalOutcome:
        request = nexo.transaction_status_request(ref, operation, sale_id=self.sale_id, poiid=self.poiid)
        try:
            answer = await self._send(request, timeout_s=self.status_timeout_s)
            body = nexo.response_body(answer, "TransactionStatusResponse")
        except (httpx.TransportError, NexoError) as err:
            log.warning("adyen.status_no_answer", ref=ref, error=type(err).__name__)
            return TerminalOutcome(status="timeout", ref=ref)
        response = body.get("Response") or {}
        if response.get("Result") != "Success":
            if response.get("ErrorCondition") == "NotFound":
                return TerminalOutcome(status="not_found", ref=ref)
            return TerminalOutcome(status="timeout", ref=ref)  # InProgress, Busy...: ask again later
        repeated = nexo.repeated_response(body)
        if repeated is None:
            return TerminalOutcome(status="timeout", ref=ref)
        name, original = repeated
        result = nexo.read_result(original, "EUR")
        if name == "ReversalResponse":
            if result.result == "Success":
                return TerminalOutcome(status="reversed", ref=ref)
            return TerminalOutcome(status="declined", ref=ref, message=result.refusal_reason or result.error_condition)
        # A status answer carries what was authorised, not what was asked: `Partial` tells them apart.
        authorized = result.authorized_cents or 0
        outcome = self._payment_outcome(ref, authorized, result)
        if result.result == "Partial":
            outcome = msgspec.structs.replace(outcome, status="partial", signature_required=False, fallback=False)
        return outcome

    def _prompt(self, lane: str | None, ref: str, kind: str, text: str) -> None:
        if self.prompts is not None:
            try:
                self.prompts(lane, ref, kind, text)
            except Exception:  # a prompt that cannot be shown never stops a payment
                log.exception("adyen.prompt_failed", ref=ref)

    def _finish(self, lane: str | None, ref: str, outcome: TerminalOutcome) -> None:
        if self._active.get(self.poiid, (None,))[0] == ref:
            self._active.pop(self.poiid, None)
        self._aborted.discard(ref)
        self._seen_events.pop(ref, None)
        text = card_guidance(outcome.status, reason=outcome.reason, signature_required=outcome.signature_required,
                             fallback=outcome.fallback) or {
            "approved": "Card approved",
            "partial": "Card approved for part of the amount: collect the rest with another payment method",
            "declined": "Card declined"}.get(outcome.status, "Card payment did not go through")
        kind = {"approved": "approved", "partial": "partial", "declined": "declined"}.get(outcome.status, "failed")
        if outcome.status == "approved" and outcome.signature_required:
            self._prompt(lane, ref, "signature_required", text)
        self._prompt(lane, ref, kind, text)


def _entry_mode(modes: tuple[str, ...], fallback: bool) -> str | None:
    if fallback:
        return "swipe_fallback"
    for nexo_mode, ours in (("ICC", "chip"), ("Contactless", "tap"), ("Tapped", "tap"), ("RFID", "tap"),
                            ("Mobile", "tap"), ("MagStripe", "swipe"), ("Keyed", "keyed")):
        if nexo_mode in modes:
            return ours
    return None
