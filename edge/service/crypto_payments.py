"""Crypto checkout use cases: a provider's word about a charge, a late payment, a cancel.

A webhook is a hint and the provider's API is the truth: the route verifies the delivery, asks
the provider for the charge it names, and then `apply_charge` records the answer in one unit of
work with the delivery's id, so a replayed delivery changes nothing.

A charge can be paid after the lane gave up on it (it expired, or the cashier cancelled the
sale and the invoice was withdrawn). That money is not lost silently: the payment row stays as
it was, and a `crypto_paid_late` review case says how much is owed back to the customer.
"""

from __future__ import annotations

from typing import Any

import structlog

from edge.domain.errors import NotFound
from edge.domain.money import format_cents
from edge.domain.tenders import CAPTURED_STATUSES
from edge.service import orders as order_cases
from edge.service.incoming_webhooks import VerifiedEvent, first_delivery
from edge.service.payment_ports import HostedCharge
from edge.service.payments import IN_FLIGHT, record_charge, record_outcome
from edge.service.ports import UnitOfWork

log = structlog.get_logger()

LATE_PAYMENT_CASE = "crypto_paid_late"


def apply_charge(uow: UnitOfWork, event: VerifiedEvent | None, charge: HostedCharge) -> dict[str, Any]:
    """Record what the provider says about the charge made under `charge.ref` (our payment id)."""
    if event is not None and not first_delivery(uow, event):
        return {"status": "duplicate"}
    payment = uow.payments.get(charge.ref)
    if payment is None or payment.method != "crypto" or payment.kind != "sale":
        return {"status": "ignored"}
    if payment.status in IN_FLIGHT:
        row = record_charge(uow, payment.id, charge)
        return {"status": "recorded", "payment_status": row.status if row else payment.status}
    owe_late_payment(uow, payment.id, charge)
    return {"status": "recorded", "payment_status": payment.status}


def owe_late_payment(uow: UnitOfWork, payment_id: str, charge: HostedCharge) -> dict[str, Any] | None:
    """Money that reached a charge the sale no longer counts on (expired, withdrawn, failed)
    is owed back: one review case per payment, however many deliveries report it."""
    payment = uow.payments.get(payment_id)
    if payment is None or payment.status in CAPTURED_STATUSES or charge.received_cents <= 0:
        return None
    if not uow.payments.record_provider_event("novapos", f"late-payment:{payment_id}", payment_id, uow.now):
        return None
    currency = order_cases.store_currency(uow)
    owed = format_cents(charge.received_cents, currency)
    case = uow.reviews.open_case(
        uow, LATE_PAYMENT_CASE, payment.order_id, None,
        f"a crypto payment of {owed} arrived after the sale stopped waiting for it ({payment.status}): "
        "refund it to the customer",
        {"payment_id": payment_id, "charge_id": charge.charge_id, "received_cents": charge.received_cents,
         "payment_status": payment.status, "provider_status": charge.provider_status})
    uow.audit("payment.paid_late", "payment", payment_id, {"status": payment.status},
              {"received_cents": charge.received_cents, "case_id": case.id})
    log.warning("payment.paid_late", payment_id=payment_id, order_id=payment.order_id,
                received_cents=charge.received_cents)
    return case


def crypto_sale(uow: UnitOfWork, payment_id: str) -> Any:
    """A crypto sale payment, or NotFound (a card or cash row cannot be withdrawn here)."""
    payment = uow.payments.get(payment_id)
    if payment is None or payment.method != "crypto" or payment.kind != "sale":
        raise NotFound("no such crypto payment", code="payment-not-found")
    return payment


def cancel_after_withdrawal(uow: UnitOfWork, payment_id: str, charge: HostedCharge | None,
                            reason: str) -> dict[str, Any]:
    """The provider has been told to withdraw the charge; record what it says now. If it was
    paid meanwhile, the payment is recorded (the sale may complete) and nothing is cancelled;
    otherwise the payment fails and an order with nothing else paid is cancelled."""
    payment = uow.payments.get(payment_id)
    if payment is None:
        raise NotFound("no such payment", code="payment-not-found")
    if charge is not None and charge.status == "confirmed":
        apply_charge(uow, None, charge)
        return order_cases.get_order(uow, payment.order_id)
    if payment.status in IN_FLIGHT:
        record_outcome(uow, payment_id, "failed", {"provider_ref": charge.charge_id} if charge else {})
        uow.audit("payment.withdrawn", "payment", payment_id, {"status": payment.status},
                  {"status": "failed", "reason": reason})
    order = order_cases.get_order(uow, payment.order_id)
    if order["paid_cents"] == 0 and order["status"] in ("OPEN", "PENDING"):
        return order_cases.cancel_order(uow, payment.order_id, reason)
    return order
