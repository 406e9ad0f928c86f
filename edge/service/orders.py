"""Order use cases: create (and, for cash, complete at once), complete a pending order, present.

`create_order` does all of its reads first and raises before writing anything, so a refused
sale changes nothing. A cash sale is created and completed in one transaction: its stock goes
straight to sale movements (a reservation that is made and consumed in the same commit would
be invisible to everyone). Card and crypto sales reserve their lines and stay PENDING; their
payment rows are committed before any terminal or provider is called (see `payments`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import msgspec
import structlog

from edge.domain.errors import Conflict, Forbidden, NotFound, OverrideRequired, ValidationFailed
from edge.domain.ids import iso, parse_iso, uuid7
from edge.domain.money import Rounding, format_cents
from edge.domain.offline import OfflineJudgement, OfflineLine, check_offline_time, judge_offline_order, undercharged
from edge.domain.orders import DiscountPolicy, Order, OrderStatus, order_number, require_transition
from edge.domain.orders import stock_units as units_of
from edge.domain.pricing import (
    MAX_LINE_QUANTITY,
    LineItem,
    OrderDiscount,
    PricedLine,
    PricedOrder,
    PricingRules,
    TaxCategory,
    price_order,
)
from edge.domain.returns import ReturnPolicy
from edge.domain.tenders import (
    CAPTURED_STATUSES,
    TenderPlan,
    TenderRequest,
    cashier_guidance,
    plan_tenders,
    refund_state_guidance,
)
from edge.domain.tenders import (
    tender_requests as domain_tender_requests,
)
from edge.service import loyalty
from edge.service.commands import Cart, NewSale, SaleLine, TenderIn
from edge.service.inventory import Movement, StockMove, append_movements, check_low_stock, location
from edge.service.lane_binding import acting_lane
from edge.service.ports import Actor, UnitOfWork
from edge.service.repository_ports import (
    CheckoutContext,
    OrderFilter,
    OrderLineRow,
    OrderRow,
    PaymentRow,
    ReservationItem,
    ReservationRow,
    SaleProduct,
    StockLevel,
    TillMovementRow,
)

log = structlog.get_logger()

SUPERVISOR_ROLES = frozenset({"supervisor", "store_manager", "tenant_admin"})
log = structlog.get_logger()

IN_FLIGHT = ("created", "timed_out", "awaiting")  # a payment or refund row whose outcome is not known yet
REFUND_UNPAID = ("failed", "retried", "settled_in_cash")  # refund rows closed without paying the customer


class SalesPolicy(msgspec.Struct, kw_only=True, frozen=True):
    """The rules sales follow. Built-in defaults; HQ's policy in force replaces them
    (`edge.service.policy.sales_policy`), and routes read it per request, never at import."""

    reservation_ttl_s: int = 900
    rounding: Rounding = Rounding.HALF_UP
    discounts: DiscountPolicy = DiscountPolicy()  # over 20 % of a line or the order: a supervisor
    returns: ReturnPolicy = ReturnPolicy(override_over_cents=20_000)
    # Offline replay: lane prices stand only for a sale the lane really made offline, recently.
    offline_max_age_s: int = 72 * 3600  # longer than any outage a store should sell through
    offline_clock_skew_s: int = 300  # lane clocks drift; a sale from further in the future is refused
    offline_price_variance_bps: int = 1_000  # a line sold over 10 % below today's price: a supervisor
    payout_supervisor_over_cents: int = 10_000  # a pay-out above this from the drawer: a supervisor


POLICY = SalesPolicy()


def is_supervisor(roles: tuple[str, ...]) -> bool:
    return bool(SUPERVISOR_ROLES.intersection(roles))


# -- building an order (reads only) -------------------------------------------------------------
def _reference(line: SaleLine) -> tuple[str, str]:
    for kind, value in (("product_id", line.product_id), ("sku", line.sku), ("barcode", line.barcode)):
        if value:
            return kind, value
    raise ValidationFailed("each line names a product", errors=[{"field": "lines", "message":
                                                                 "sku, barcode or product_id is required"}])


def build_lines(uow: UnitOfWork, lines_in: Sequence[SaleLine], *, order_discount_cents: int,
                honour_lane_prices: bool, policy: SalesPolicy = POLICY
                ) -> tuple[PricedOrder, list[OrderLineRow], dict[str, SaleProduct]]:
    """Resolve the lines and price them with the domain. Returns (priced, line rows, products by id)."""
    if not lines_in:
        raise ValidationFailed("an order needs at least one line", errors=[{"field": "lines", "message": "empty"}])
    refs = [_reference(ln) for ln in lines_in]
    catalog = uow.sale_products
    # One query per kind of reference, each product with the store's price override in force now.
    found = catalog.resolve(ids=[v for k, v in refs if k == "product_id"], skus=[v for k, v in refs if k == "sku"],
                            barcodes=[v for k, v in refs if k == "barcode"], store_id=uow.actor.store_id, at=uow.now)
    errors: list[dict[str, str]] = []
    products: dict[str, SaleProduct] = {}
    catalog_prices: dict[str, int] = {}
    items: list[LineItem] = []
    for i, (ref, ln) in enumerate(zip(refs, lines_in, strict=True)):
        product = found.get(ref)
        if product is None or not product.active:
            errors.append({"field": f"lines[{i}]", "message": f"no active product with {ref[0]} {ref[1]}"})
            continue
        quantity, weight = ln.quantity, ln.weight_grams
        if product.sold_by_weight:
            if weight is None or weight <= 0:
                errors.append({"field": f"lines[{i}].weight_grams", "message": "a weighed item needs its weight"})
                continue
            quantity = 1
        elif weight is not None:
            errors.append({"field": f"lines[{i}].weight_grams", "message": f"{product.sku} is not sold by weight"})
            continue
        if not 1 <= quantity <= MAX_LINE_QUANTITY:
            errors.append({"field": f"lines[{i}].quantity", "message": f"a whole number from 1 to {MAX_LINE_QUANTITY}"})
            continue
        override = product.override_cents
        catalog_price = override if override is not None else product.price_cents
        lane_price = ln.unit_price_cents
        price = lane_price if honour_lane_prices and lane_price is not None and lane_price >= 0 else catalog_price
        discount = ln.discount_cents
        if discount < 0:
            errors.append({"field": f"lines[{i}].discount_cents", "message": "a whole number >= 0"})
            continue
        products[product.id] = product
        catalog_prices[product.id] = catalog_price
        items.append(LineItem(line_id=uuid7(), product_id=product.id, sku=product.sku, name=product.name,
                              unit_price_cents=price, tax_category=product.tax_category, quantity=quantity,
                              weight_grams=weight, discount_cents=discount))
    if errors:
        raise ValidationFailed("some lines are not valid", code="lines-invalid", errors=errors)
    if order_discount_cents < 0:
        raise ValidationFailed("discount_cents must be >= 0", errors=[{"field": "discount_cents", "message": ">= 0"}])
    # A category the store has not configured is taxed at 0 %; the rates come with the products.
    categories = {p.tax_category: TaxCategory(p.tax_category, p.tax_rate_bp or 0, bool(p.tax_inclusive))
                  for p in products.values()}
    priced = price_order(items, PricingRules(categories, policy.rounding), OrderDiscount(cents=order_discount_cents))
    lines = [line_row(n, p, catalog_prices[p.product_id]) for n, p in enumerate(priced.lines, start=1)]
    return priced, lines, products


def tender_requests(tenders: Sequence[TenderIn]) -> list[TenderRequest]:
    """The tenders as the domain plans them, checked by the domain's one rule (a known method, a
    positive amount, each and all together within the cap)."""
    return domain_tender_requests([{"method": t.method, "amount_cents": t.amount_cents} for t in tenders])


def line_row(line_no: int, p: PricedLine, catalog_price_cents: int) -> OrderLineRow:
    return OrderLineRow(id=p.line_id, line_no=line_no, product_id=p.product_id, sku=p.sku, name=p.name,
                        quantity=p.quantity, weight_grams=p.weight_grams, unit_price_cents=p.unit_price_cents,
                        catalog_price_cents=catalog_price_cents, discount_cents=p.discount_cents,
                        tax_category=p.tax_category, tax_rate_bp=p.tax_rate_bps, tax_inclusive=p.tax_inclusive,
                        tax_cents=p.tax_cents, total_cents=p.total_cents)


def order_from_rows(order: OrderRow, lines: list[OrderLineRow]) -> Order:
    """The stored order as the domain aggregate, for rules that need its state (void, return).

    Only the line discount total is stored, so it comes back as a line discount; no rule that
    runs after the sale depends on how a discount was split."""
    priced_lines = tuple(PricedLine(
        line_id=ln.id, product_id=ln.product_id, sku=ln.sku, name=ln.name, quantity=ln.quantity,
        weight_grams=ln.weight_grams, unit_price_cents=ln.unit_price_cents, tax_category=ln.tax_category,
        tax_rate_bps=ln.tax_rate_bp, tax_inclusive=ln.tax_inclusive,
        extended_cents=ln.total_cents - (0 if ln.tax_inclusive else ln.tax_cents) + ln.discount_cents,
        line_discount_cents=ln.discount_cents, order_discount_cents=0,
        net_cents=ln.total_cents - ln.tax_cents, tax_cents=ln.tax_cents, total_cents=ln.total_cents,
    ) for ln in lines)
    priced = PricedOrder(lines=priced_lines, extended_cents=sum(ln.extended_cents for ln in priced_lines),
                         discount_cents=order.discount_cents, subtotal_cents=order.subtotal_cents,
                         tax_cents=order.tax_cents, total_cents=order.total_cents)
    return Order(id=order.id, number=order.number, store_id=order.store_id, lane_id=order.lane_id,
                 cashier_id=order.cashier_id or "", created_at=parse_iso(order.created_at),
                 business_day=date.fromisoformat(order.business_day), priced=priced, currency=order.currency,
                 status=OrderStatus(order.status), paid_cents=order.paid_cents,
                 refunded_cents=order.refunded_cents,
                 returned_quantities={ln.id: ln.returned_quantity for ln in lines if ln.returned_quantity})


def stock_units(line: OrderLineRow) -> int:
    return units_of(line.quantity, line.weight_grams)


def _needs(lines: list[OrderLineRow]) -> dict[str, int]:
    needs: dict[str, int] = {}
    for ln in lines:
        needs[ln.product_id] = needs.get(ln.product_id, 0) + stock_units(ln)
    return needs


# -- creating -----------------------------------------------------------------------------------
class Checkout(msgspec.Struct, frozen=True, kw_only=True):
    """A sale as it will be written, decided before anything is: the priced lines, the tender
    plan, the stock it needs and the status it starts in (see `plan_checkout`)."""

    store_id: str
    lane_id: str
    currency: str
    priced: PricedOrder
    lines: list[OrderLineRow]  # the order's line rows, priced
    products: dict[str, SaleProduct]  # by id
    needs: dict[str, int]  # stock units per product
    levels: dict[str, StockLevel]  # stock levels as read, per product
    tenders: TenderPlan | None  # None: an OPEN order, nothing tendered yet
    tender_methods: str
    credit_cents: int  # an exchange's refund, spent on this sale
    status: OrderStatus
    judgement: OfflineJudgement | None  # for an offline replay
    till_session_id: str | None

    @property
    def completes_now(self) -> bool:
        return self.status is OrderStatus.COMPLETED


def create_order(uow: UnitOfWork, sale: NewSale, *, override_by: str | None = None,
                 offline: bool = False, policy: SalesPolicy = POLICY, credit_cents: int = 0,
                 exchange_of: str | None = None, credit_method: str = "exchange_credit",
                 points_online: bool = True) -> dict[str, Any]:
    """Ring up a sale: read, plan (no writes, so a refused sale changes nothing), persist, emit.

    The lane comes from a lane-bound token (see `lane_binding`). `offline`: a lane replays a
    sale it queued while the store server was unreachable, at the prices it charged then; only
    a lane's own sign-in may, only for a plausible time, and a steep undercharge needs a
    supervisor (`_check_offline_claim`). An exchange (`returns`) passes the refund it credits to
    this sale (`credit_cents`) and the return it came from (`exchange_of`); a BOPIS pickup paid
    online passes its total as credit with `credit_method="prepaid"`. `points_online`: whether HQ
    could be asked for the customer's balance just now (if not, points are offline-capped)."""
    store_id = location(uow)
    lane_id = acting_lane(uow.actor, sale.lane_id)
    if offline:
        _check_offline_claim(uow, sale.offline_created_at, policy)
    context = uow.sale_products.checkout_context(store_id, lane_id)
    customer_id = sale.customer_id
    if customer_id is not None and not uow.customers.exists(customer_id):
        if not offline:
            raise ValidationFailed("no such customer at this store", code="customer-unknown",
                                   errors=[{"field": "customer_id", "message": "unknown customer"}])
        # A sale the lane already made is never refused for its customer (erased or evicted since).
        log.warning("order.offline_customer_dropped", lane_id=lane_id)
        customer_id = None
    if not context.lane_exists:
        raise ValidationFailed(f"lane {lane_id!r} does not exist in this store", code="lane-unknown",
                               errors=[{"field": "lane_id", "message": "unknown lane"}])
    priced, lines, products = build_lines(uow, sale.lines, order_discount_cents=sale.discount_cents,
                                          honour_lane_prices=offline, policy=policy)
    levels = uow.stock.levels(store_id, list(_needs(lines)))
    tenders, redemption = loyalty.price_tenders(uow, customer_id, sale.tenders, online=points_online,
                                                replay=offline)
    checkout = plan_checkout(uow.actor, store_id=store_id, lane_id=lane_id, context=context, priced=priced,
                             lines=lines, products=products, levels=levels, tenders=tenders,
                             credit_cents=credit_cents, offline=offline, override_by=override_by, policy=policy)
    order, stored_lines, payments, movements = _persist_order(
        uow, checkout, offline_created_at=sale.offline_created_at, exchange_of=exchange_of, override_by=override_by,
        policy=policy, credit_method=credit_method, customer_id=customer_id)
    if redemption is not None:
        [points_paid] = [p for p in payments if p.method == "points"]
        loyalty.record_redemption(uow, order.id, points_paid.id, redemption)
    return _emit_order(uow, order, stored_lines, payments, movements, override_by=override_by)


def plan_checkout(actor: Actor, *, store_id: str, lane_id: str, context: CheckoutContext, priced: PricedOrder,
                  lines: list[OrderLineRow], products: dict[str, SaleProduct], levels: dict[str, StockLevel],
                  tenders: Sequence[TenderIn], credit_cents: int, offline: bool, override_by: str | None,
                  policy: SalesPolicy) -> Checkout:
    """Decide the sale from what was read, with no I/O: the overrides it needs, its tenders, its
    stock, and for an offline replay the domain's verdict. Raises what refuses it."""
    approved = bool(override_by) or is_supervisor(actor.roles)
    if policy.discounts.needs_override(priced) and not approved:
        raise OverrideRequired(f"a discount of {priced.discount_cents} cents on {priced.extended_cents} needs a "
                               "supervisor override", code="discount-override-required")
    currency = context.currency
    if offline and not approved:
        _refuse_unapproved_undercharge(actor, lane_id, lines, currency, policy)
    credit = min(credit_cents, priced.total_cents)
    requests = tender_requests(tenders)
    plan = plan_tenders(priced.total_cents, requests, already_paid_cents=credit) if requests or credit else None
    needs = _needs(lines)
    available = {pid: level.on_hand - level.reserved for pid, level in levels.items()}
    short = {pid: qty for pid, qty in needs.items() if available[pid] < qty}
    if short and not offline:
        # The cashier reads the message aloud to a customer: the product's name, its SKU for the stock room.
        raise Conflict("not enough stock for " + ", ".join(f"{products[p].name} ({products[p].sku})"
                                                           for p in short),
                       code="insufficient-stock",
                       errors=[{"field": "lines", "message": f"{products[p].name} ({products[p].sku}): "
                                f"{available[p]} available, {q} wanted"} for p, q in short.items()])
    judgement = judge_offline_order(
        [OfflineLine(product_id=ln.product_id, quantity=ln.quantity, weight_grams=ln.weight_grams,
                     lane_unit_price_cents=ln.unit_price_cents) for ln in lines],
        catalog_prices={ln.product_id: ln.catalog_price_cents for ln in lines},
        available=available, already_recorded=False) if offline else None
    status = (OrderStatus.COMPLETED if plan is not None and plan.completes_immediately
              else OrderStatus.PENDING if plan is not None else OrderStatus.OPEN)
    return Checkout(store_id=store_id, lane_id=lane_id, currency=currency, priced=priced, lines=lines,
                    products=products, needs=needs, levels=levels, tenders=plan,
                    tender_methods=",".join(sorted({t.method.value for t in requests})), credit_cents=credit,
                    status=status, judgement=judgement, till_session_id=context.till_session_id)


def _persist_order(uow: UnitOfWork, checkout: Checkout, *, offline_created_at: str | None, exchange_of: str | None,
                   override_by: str | None, policy: SalesPolicy, credit_method: str = "exchange_credit",
                   customer_id: str | None = None
                   ) -> tuple[OrderRow, list[OrderLineRow], list[PaymentRow], list[Movement]]:
    """Write the planned sale: the order and its lines, its payments and drawer cash, its stock
    (sale movements now, or a reservation until it is paid) and any offline review cases."""
    c, actor, plan = checkout, uow.actor, checkout.tenders
    order_id = uuid7()
    number = order_number(c.lane_id, uow.orders.next_number(c.store_id, c.lane_id))
    immediate = c.completes_now
    order = OrderRow(
        id=order_id, store_id=c.store_id, lane_id=c.lane_id, number=number, status=c.status.value,
        currency=c.currency, cashier_id=actor.user_id, cashier=actor.username,
        subtotal_cents=c.priced.subtotal_cents, discount_cents=c.priced.discount_cents, tax_cents=c.priced.tax_cents,
        total_cents=c.priced.total_cents,
        paid_cents=(plan.cash_kept_cents + c.credit_cents + sum(t.amount_cents for t in plan.points)) if plan else 0,
        change_due_cents=plan.change_due_cents if plan else 0, tender_methods=c.tender_methods,
        business_day=uow.business_day, created_at=uow.now, updated_at=uow.now,
        completed_at=uow.now if immediate else None, offline_created_at=offline_created_at,
        verdict=c.judgement.verdict.value if c.judgement is not None else None, exchange_of=exchange_of,
        override_by=override_by, customer_id=customer_id)
    stored_lines = [msgspec.structs.replace(ln, order_id=order_id) for ln in c.lines]
    uow.orders.insert(order, stored_lines)

    payments: list[PaymentRow] = []
    if plan is not None:
        if c.credit_cents:
            payments.append(_payment(uow, order_id, credit_method, c.credit_cents, status="approved",
                                     approved=c.credit_cents, currency=c.currency))
        if plan.cash_tendered_cents:
            payments.append(_payment(uow, order_id, "cash", plan.cash_kept_cents, status="approved",
                                     approved=plan.cash_kept_cents, tendered=plan.cash_tendered_cents,
                                     change=plan.change_due_cents, currency=c.currency))
        if plan.points:  # checked against the balance already (loyalty.price_tenders): taken now
            points_cents = sum(t.amount_cents for t in plan.points)
            payments.append(_payment(uow, order_id, "points", points_cents, status="approved",
                                     approved=points_cents, currency=c.currency))
        for tender in plan.electronic:
            payments.append(_payment(uow, order_id, tender.method.value, tender.amount_cents, status="created",
                                     currency=c.currency))
        uow.payments.insert_many(payments)
        if plan.cash_kept_cents:
            record_drawer(uow, c.lane_id, "cash_sale", plan.cash_kept_cents, ref=order_id,
                          session_id=c.till_session_id)

    movements: list[Movement] = []
    if immediate:
        movements = append_movements(uow, c.store_id, [
            StockMove(product_id=ln.product_id, sku=ln.sku, kind="sale", delta=-stock_units(ln),
                      ref=order_id) for ln in c.lines], c.levels, c.products)
    else:
        reserve(uow, c.store_id, "order", order_id, c.needs, c.products, c.levels, ttl_s=policy.reservation_ttl_s)
    if c.judgement is not None:
        _raise_offline_cases(uow, order, stored_lines, c.judgement, c.products)
    return order, stored_lines, payments, movements


def _emit_order(uow: UnitOfWork, order: OrderRow, lines: list[OrderLineRow],
                payments: list[PaymentRow], movements: list[Movement], *, override_by: str | None
                ) -> dict[str, Any]:
    """Audit the new order and tell the outbox: `order.completed` for a sale paid in full now
    (it carries its lines, tenders and stock movements), `order.created` for one still to pay."""
    view = present(order, lines, payments)
    order_id, number, status, total = order.id, order.number, order.status, order.total_cents
    uow.audit("order.created", "order", order_id, None, {"number": number, "status": status, "total_cents": total,
                                                          "lane_id": order.lane_id, "override_by": override_by})
    if status == OrderStatus.COMPLETED:
        uow.emit("order.completed", completed_payload(view, movements))
        loyalty.on_completed(uow, view)
    else:
        uow.emit("order.created", {"order_id": order_id, "number": number, "status": status, "total_cents": total,
                                   "lines": [_event_line(ln) for ln in lines]})
    return view


def _check_offline_claim(uow: UnitOfWork, created_at: str | None, policy: SalesPolicy) -> None:
    if uow.actor.lane_id is None:
        raise Forbidden("only a lane's own sign-in replays the sales it made offline", code="offline-needs-lane-session",
                        errors=[{"field": "offline_created_at", "message": "sign in at the lane with a PIN"}])
    if created_at is None:
        raise ValidationFailed("offline_created_at is required for an offline sale", code="offline-time-invalid",
                               errors=[{"field": "offline_created_at", "message": "required"}])
    check_offline_time(created_at, now=parse_iso(uow.now), max_age_s=policy.offline_max_age_s,
                       clock_skew_s=policy.offline_clock_skew_s)


def _refuse_unapproved_undercharge(actor: Actor, lane_id: str, lines: list[OrderLineRow], currency: str,
                                   policy: SalesPolicy) -> None:
    """A lane price far below today's is how a fake "offline" sale steals: it is never recorded
    without a supervisor. The lane keeps the sale queued until one approves it with their PIN."""
    offline_lines = [OfflineLine(product_id=ln.product_id, quantity=ln.quantity, weight_grams=ln.weight_grams,
                                 lane_unit_price_cents=ln.unit_price_cents) for ln in lines]
    low = undercharged(offline_lines, catalog_prices={ln.product_id: ln.catalog_price_cents for ln in lines},
                       threshold_bps=policy.offline_price_variance_bps)
    if low:
        sku = {ln.product_id: ln.sku for ln in lines}
        # Loss prevention wants to see the attempts, not only the approved ones.
        log.warning("security.offline_undercharge_refused", user=actor.username, lane_id=lane_id,
                    request_id=actor.request_id, skus=[sku[v.product_id] for v in low],
                    shortfall_cents=-sum(v.variance_cents for v in low))
        raise OverrideRequired(
            f"sold offline more than {policy.offline_price_variance_bps / 100:g} % below today's price; "
            "a supervisor must approve this sale", code="offline-price-override-required",
            errors=[{"field": "lines", "message": f"{sku[v.product_id]}: charged "
                     f"{format_cents(v.lane_unit_price_cents, currency)}, today "
                     f"{format_cents(v.catalog_unit_price_cents or 0, currency)}"} for v in low])


def store_currency(uow: UnitOfWork) -> str:
    return uow.sale_products.currency()


def _payment(uow: UnitOfWork, order_id: str, method: str, amount: int, *, status: str, approved: int = 0,
             tendered: int = 0, change: int = 0, kind: str = "sale", original: str | None = None,
             return_id: str | None = None, provider_ref: str | None = None,
             currency: str | None = None) -> PaymentRow:
    currency = currency or store_currency(uow)
    return PaymentRow(id=uuid7(), order_id=order_id, kind=kind, method=method, status=status, amount_cents=amount,
                      approved_cents=approved, tendered_cents=tendered, change_cents=change,
                      original_payment_id=original, return_id=return_id, provider_ref=provider_ref,
                      guidance=cashier_guidance(status, method, amount_cents=amount, approved_cents=approved,
                                                currency=currency, kind=kind),
                      created_at=uow.now, updated_at=uow.now)


def new_payment(uow: UnitOfWork, order_id: str, method: str, amount: int, **kw: Any) -> PaymentRow:
    return _payment(uow, order_id, method, amount, **kw)


LOOK_UP = "look-up"  # record_drawer: the caller has not read the lane's open session yet


def record_drawer(uow: UnitOfWork, lane_id: str, kind: str, amount_cents: int, ref: str | None, *,
                  session_id: str | None = LOOK_UP) -> None:
    """Cash into (+) or out of (-) the lane's open drawer session, if one is open (a caller that
    already read the open session in this transaction passes its id, or None for no session)."""
    tills = uow.tills
    if session_id == LOOK_UP:
        session = tills.open_session(uow.actor.store_id, lane_id)
        session_id = session.id if session is not None else None
    if session_id is not None:
        tills.add_movement(TillMovementRow(id=uuid7(), session_id=session_id, kind=kind, amount_cents=amount_cents,
                                           reason=None, ref=ref, actor=uow.actor.username, at=uow.now))


def reserve(uow: UnitOfWork, loc: str, kind: str, ref: str, needs: dict[str, int], products: dict[str, SaleProduct],
            levels: dict[str, StockLevel], *, ttl_s: int, customer: str | None = None) -> HoldView:
    reservation_id = uuid7()
    expires = iso(parse_iso(uow.now) + timedelta(seconds=ttl_s))
    hold = ReservationRow(id=reservation_id, location_id=loc, kind=kind, ref=ref, customer=customer, status="active",
                          expires_at=expires, created_at=uow.now)
    items = [ReservationItem(product_id=pid, sku=products[pid].sku, quantity=qty) for pid, qty in needs.items()]
    uow.reservations.create(hold, items)
    uow.stock.bump_reserved(loc, list(needs.items()), uow.now)
    check_low_stock(uow, loc, {pid: (levels[pid], 0, qty) for pid, qty in needs.items()}, products)
    return hold_view(hold, items)


class HoldView(msgspec.Struct, frozen=True, kw_only=True):
    """A reservation with what it holds, as shown, audited and sent in events; a pickup's answer
    adds the stock movements it made."""

    id: str
    location_id: str
    kind: str
    ref: str | None
    customer: str | None
    status: str
    expires_at: str
    created_at: str
    closed_at: str | None
    items: list[ReservationItem]
    movements: list[Movement] | msgspec.UnsetType = msgspec.UNSET


def hold_view(hold: ReservationRow, items: list[ReservationItem]) -> HoldView:
    return HoldView(**msgspec.structs.asdict(hold), items=list(items))


def release_reservations(uow: UnitOfWork, ref: str, status: str) -> list[ReservationRow]:
    """Close the active reservations of `ref` (committed / released / expired), exactly once."""
    return [r for r in uow.reservations.active_for(ref) if release_reservations_by_id(uow, r, status) is not None]


def release_reservations_by_id(uow: UnitOfWork, r: ReservationRow, status: str) -> list[ReservationItem] | None:
    """Close one reservation and give its stock back; what it held, or None if it was closed already."""
    repo, stock = uow.reservations, uow.stock
    if not repo.close(r.id, status, uow.now):
        return None
    items = repo.items(r.id)
    levels = stock.levels(r.location_id, [i.product_id for i in items])
    stock.bump_reserved(r.location_id, [(i.product_id, -i.quantity) for i in items], uow.now)
    check_low_stock(uow, r.location_id, {i.product_id: (levels[i.product_id], 0, -i.quantity) for i in items})
    return items


def _raise_offline_cases(uow: UnitOfWork, order: OrderRow, lines: list[OrderLineRow],
                         judgement: OfflineJudgement, products: dict[str, SaleProduct]) -> None:
    reviews = uow.reviews
    for ln in lines:
        if ln.unit_price_cents != ln.catalog_price_cents:
            reviews.open_case(uow, "price_variance", order.id, ln.product_id,
                              f"{ln.sku} sold offline at {format_cents(ln.unit_price_cents, order.currency)}, "
                              f"today {format_cents(ln.catalog_price_cents, order.currency)}",
                              {"line_id": ln.id, "sku": ln.sku, "charged_cents": ln.unit_price_cents,
                               "catalog_cents": ln.catalog_price_cents, "number": order.number})
    for conflict in judgement.stock_conflicts:
        sku = products[conflict.product_id].sku
        reviews.open_case(uow, "stock_conflict", order.id, conflict.product_id,
                          f"{sku}: sold {conflict.quantity} offline with {conflict.available_before} available",
                          {"sku": sku, "sold": conflict.quantity, "available_before": conflict.available_before,
                           "number": order.number})


# -- completing a pending order -----------------------------------------------------------------
def complete_if_paid(uow: UnitOfWork, order_id: str) -> dict[str, Any]:
    """Move a PENDING order on once its payments cover it: commit reservations into sale
    movements exactly once (the status guard makes a second call a no-op)."""
    orders = uow.orders
    order = orders.get(order_id)
    if order is None:
        raise NotFound("no such order", code="order-not-found")
    payments = uow.payments.of_order(order_id)
    sale = [p for p in payments if p.kind == "sale"]
    paid = sum(p.approved_cents for p in sale if p.status in CAPTURED_STATUSES)
    lines = orders.lines(order_id)
    if order.status != OrderStatus.PENDING or paid < order.total_cents:
        if order.paid_cents != paid:
            orders.update(order_id, {"paid_cents": paid, "updated_at": uow.now})
            order.paid_cents = paid
        return present(order, lines, payments)
    require_transition(order.status, OrderStatus.COMPLETED, action="complete", number=order.number)
    if not orders.update(order_id, {"status": OrderStatus.COMPLETED.value, "paid_cents": paid, "completed_at": uow.now,
                                    "updated_at": uow.now}, expect_status=OrderStatus.PENDING.value):
        raise Conflict("the order changed while it was being completed", code="order-changed")
    release_reservations(uow, order_id, "committed")
    movements = append_movements(uow, order.store_id, [
        StockMove(product_id=ln.product_id, sku=ln.sku, kind="sale", delta=-stock_units(ln), ref=order_id)
        for ln in lines])
    order.status, order.paid_cents, order.completed_at = OrderStatus.COMPLETED.value, paid, uow.now
    view = present(order, lines, payments)
    uow.audit("order.completed", "order", order_id, {"status": "PENDING"}, {"status": "COMPLETED"})
    uow.emit("order.completed", completed_payload(view, movements))
    loyalty.on_completed(uow, view)
    return view


# -- quoting and cancelling ---------------------------------------------------------------------
def quote_order(uow: UnitOfWork, cart: Cart, *, policy: SalesPolicy = POLICY) -> dict[str, Any]:
    """Price a cart exactly as checkout would (the same `build_lines`), and write nothing: no
    order, no number, no reservation. The lane shows this total before it takes payment."""
    priced, lines, _ = build_lines(uow, cart.lines, order_discount_cents=cart.discount_cents,
                                   honour_lane_prices=False, policy=policy)
    return {"currency": store_currency(uow), "extended_cents": priced.extended_cents,
            "subtotal_cents": priced.subtotal_cents, "discount_cents": priced.discount_cents,
            "tax_cents": priced.tax_cents, "total_cents": priced.total_cents,
            "discount_needs_override": policy.discounts.needs_override(priced),
            "lines": [{"line_no": ln.line_no, "product_id": ln.product_id, "sku": ln.sku, "name": ln.name,
                       "quantity": ln.quantity, "weight_grams": ln.weight_grams,
                       "unit_price_cents": ln.unit_price_cents, "extended_cents": p.extended_cents,
                       "discount_cents": ln.discount_cents, "subtotal_cents": p.net_cents,
                       "tax_cents": ln.tax_cents, "total_cents": ln.total_cents}
                      for ln, p in zip(lines, priced.lines, strict=True)]}


def cancel_order(uow: UnitOfWork, order_id: str, reason: str) -> dict[str, Any]:
    """An order left at the lane before any money was taken: its stock is released at once."""
    orders = uow.orders
    order = orders.get(order_id)
    if order is None:
        raise NotFound("no such order", code="order-not-found")
    require_transition(order.status, OrderStatus.CANCELLED, action="cancel", number=order.number)
    sale = [p for p in uow.payments.of_order(order_id) if p.kind == "sale"]
    if any(p.status in IN_FLIGHT for p in sale):
        raise Conflict("a payment for this order is still in progress; wait for its outcome before cancelling",
                       code="payment-in-progress")
    aggregate = order_from_rows(order, orders.lines(order_id))
    aggregate.paid_cents = sum(p.approved_cents for p in sale if p.status in CAPTURED_STATUSES)
    aggregate.cancel(reason=reason, at=parse_iso(uow.now))
    if not orders.update(order_id, {"status": OrderStatus.CANCELLED.value, "voided_at": uow.now,
                                    "void_reason": reason, "updated_at": uow.now}, expect_status=order.status):
        raise Conflict("the order changed while it was being cancelled", code="order-changed")
    released = release_reservations(uow, order_id, "released")
    uow.audit("order.cancelled", "order", order_id, {"status": order.status},
              {"status": OrderStatus.CANCELLED.value, "reason": reason})
    uow.emit("order.cancelled", {"order_id": order_id, "number": order.number, "total_cents": order.total_cents,
                                 "previous_status": order.status, "reason": reason})
    log.info("order.cancelled", order_id=order_id, number=order.number, released=len(released))
    return get_order(uow, order_id)


def refunds_owed(uow: UnitOfWork, lane_id: str | None = None) -> list[dict[str, Any]]:
    """Orders whose refund the processor refused, so the lane and the admin can say so until a
    person settles it (retry, or cash with a manager)."""
    owed = []
    for order_id in uow.payments.failed_refund_orders():
        order = get_order(uow, order_id)
        if lane_id and order["lane_id"] != lane_id:
            continue
        owed.append({"order_id": order_id, "number": order["number"], "lane_id": order["lane_id"],
                     "status": order["status"], "currency": order["currency"],
                     "refund_owed_cents": order["refund_owed_cents"], "refund_guidance": order["refund_guidance"]})
    return owed


# -- presenting ---------------------------------------------------------------------------------
def _event_line(ln: OrderLineRow) -> dict[str, Any]:
    return {"line_id": ln.id, "product_id": ln.product_id, "sku": ln.sku, "name": ln.name,
            "quantity": ln.quantity, "weight_grams": ln.weight_grams, "unit_price_cents": ln.unit_price_cents,
            "discount_cents": ln.discount_cents, "tax_cents": ln.tax_cents, "total_cents": ln.total_cents,
            "price_variance_cents": ln.unit_price_cents - ln.catalog_price_cents}


def completed_payload(view: dict[str, Any], movements: list[Movement]) -> dict[str, Any]:
    return {"order_id": view["id"], "number": view["number"], "lane_id": view["lane_id"],
            "cashier": view["cashier"], "currency": view["currency"], "subtotal_cents": view["subtotal_cents"],
            "discount_cents": view["discount_cents"], "tax_cents": view["tax_cents"],
            "total_cents": view["total_cents"], "change_due_cents": view["change_due_cents"],
            "offline_created_at": view.get("offline_created_at"), "customer_id": view["customer_id"],
            "lines": [{k: v for k, v in ln.items() if k != "id"} | {"line_id": ln["id"]} for ln in view["lines"]],
            "tenders": [{"payment_id": t["id"], "method": t["method"], "amount_cents": t["approved_cents"],
                         "status": t["status"]} for t in view["tenders"] if t["status"] in CAPTURED_STATUSES],
            "movements": movements}


def present_payment(p: PaymentRow) -> dict[str, Any]:
    out = {"id": p.id, "method": p.method, "status": p.status, "amount_cents": p.amount_cents,
           "approved_cents": p.approved_cents, "guidance": p.guidance}
    if p.method == "cash":
        out["tendered_cents"] = p.tendered_cents
        out["change_cents"] = p.change_cents
    elif p.method == "crypto" and p.tendered_cents:  # what the customer actually sent
        out["received_cents"] = p.tendered_cents
        out["difference_cents"] = p.tendered_cents - p.amount_cents
    for key in ("card_brand", "card_last4", "auth_code", "entry_mode", "checkout_url", "original_payment_id"):
        if value := getattr(p, key):
            out[key] = value
    return out


def present(order: OrderRow, lines: list[OrderLineRow], payments: list[PaymentRow]) -> dict[str, Any]:
    view = {
        "id": order.id, "number": order.number, "status": order.status, "lane_id": order.lane_id,
        "cashier": order.cashier, "currency": order.currency,
        "lines": [{"id": ln.id, "line_no": ln.line_no, "product_id": ln.product_id, "sku": ln.sku,
                   "name": ln.name, "quantity": ln.quantity, "weight_grams": ln.weight_grams,
                   "unit_price_cents": ln.unit_price_cents, "discount_cents": ln.discount_cents,
                   "tax_category": ln.tax_category, "tax_rate_bp": ln.tax_rate_bp,
                   "tax_inclusive": bool(ln.tax_inclusive),
                   "tax_cents": ln.tax_cents, "total_cents": ln.total_cents,
                   "returned_quantity": ln.returned_quantity} for ln in lines],
        "subtotal_cents": order.subtotal_cents, "discount_cents": order.discount_cents,
        "tax_cents": order.tax_cents, "total_cents": order.total_cents, "paid_cents": order.paid_cents,
        "due_cents": max(order.total_cents - order.paid_cents, 0),
        "tenders": [present_payment(p) for p in payments if p.kind == "sale"],
        "refunds": [present_payment(p) for p in payments if p.kind == "refund"],
        "change_due_cents": order.change_due_cents,
        "business_day": order.business_day, "created_at": order.created_at,
        "completed_at": order.completed_at, "customer_id": order.customer_id,
    } | refund_summary(order, payments)
    for key in ("voided_at", "void_reason", "offline_created_at", "verdict", "exchange_of"):
        if getattr(order, key):
            view[key] = getattr(order, key)
    if order.status == OrderStatus.CANCELLED:  # the void columns hold when and why it was left
        view["cancelled_at"], view["cancel_reason"] = view.pop("voided_at", None), view.pop("void_reason", None)
    return view


def refund_summary(order: OrderRow, payments: list[PaymentRow]) -> dict[str, Any]:
    """What the customer was actually paid back, from the refund rows' confirmed outcomes.

    The order's stored `refunded_cents` is what the void or returns granted; a refund still with
    the processor or refused by it is not money the customer has, so it is shown as pending or
    owed, never as refunded."""
    refunds = [p for p in payments if p.kind == "refund"]
    pending = sum(p.amount_cents for p in refunds if p.status in IN_FLIGHT)
    owed = sum(p.amount_cents for p in refunds if p.status == "failed")
    granted = order.refunded_cents
    state = "failed" if owed else "pending" if pending else "refunded" if granted else "none"
    summary: dict[str, Any] = {"refunded_cents": max(granted - pending - owed, 0), "refund_state": state,
                               "refund_owed_cents": owed, "refund_pending_cents": pending}
    if owed or pending:
        summary["refund_guidance"] = refund_state_guidance(owed, pending, order.currency)
    return summary


def get_order(uow: UnitOfWork, order_id: str) -> dict[str, Any]:
    orders = uow.orders
    order = orders.get(order_id)
    if order is None:
        raise NotFound("no such order", code="order-not-found")
    return present(order, orders.lines(order_id), uow.payments.of_order(order_id))


def search_orders(uow: UnitOfWork, filters: OrderFilter, after: str | None, limit: int
                  ) -> tuple[list[dict[str, Any]], str | None]:
    orders = uow.orders
    rows = orders.search(filters, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r.id for r in rows]
    lines, pays = orders.lines_of(ids), uow.payments.of_orders(ids)
    return [present(r, lines[r.id], pays[r.id]) for r in rows], (rows[-1].id if more and rows else None)
