"""A kill -9 of the store server while the customer is at the terminal: on restart the payment
settles to what the terminal says, with no second charge."""

from __future__ import annotations

from tests.edge import card_terminal_support as support
from tests.support import wait_until

card_store, terminal = support.card_store, support.terminal  # the fake terminal and its store server


def _card(order):
    return next(t for t in order["tenders"] if t["method"] == "card")


def _kill_while_waiting(card_store, terminal, sku):
    terminal.script.append("wait")
    thread, _ = card_store.card_sale_in_background(sku)
    ref = wait_until(lambda: terminal.waiting() and terminal.waiting()[0], what="the terminal waits for the card")
    card_store.server.kill9()
    thread.join(30)
    return ref


def _order_of(card_store, ref):
    return next(o for o in (card_store.order(s["id"]) for s in card_store.orders_on_lane())
                if any(t["id"] == ref for t in o["tenders"]))


def test_a_card_approved_while_the_server_was_dead_completes_the_sale_on_restart(card_store, terminal):
    ref = _kill_while_waiting(card_store, terminal, card_store.product(20)["sku"])
    terminal.release("approved")  # the customer finished at the terminal meanwhile
    card_store.restart_edge()
    order = wait_until(lambda: (o := _order_of(card_store, ref))["status"] == "COMPLETED" and o,
                       what="the order completes from the terminal's answer")
    card = _card(order)
    assert card["status"] == "approved" and card["card_last4"]
    assert terminal.payments_received[ref] == 1
    assert terminal.charged_cents(ref) == order["total_cents"]


def test_a_card_declined_while_the_server_was_dead_leaves_the_order_pending_uncharged(card_store, terminal):
    ref = _kill_while_waiting(card_store, terminal, card_store.product(21)["sku"])
    terminal.release("declined:12:Not enough balance")
    card_store.restart_edge()
    order = wait_until(lambda: (o := _order_of(card_store, ref)) and _card(o)["status"] == "declined" and o,
                       what="the payment settles as declined")
    assert order["status"] == "PENDING" and "not enough funds" in _card(order)["guidance"]
    assert terminal.payments_received[ref] == 1 and terminal.charged_cents(ref) == 0


def test_a_payment_still_at_the_terminal_after_restart_stays_in_flight_until_it_ends(card_store, terminal):
    ref = _kill_while_waiting(card_store, terminal, card_store.product(22)["sku"])
    card_store.restart_edge()  # the customer is still entering the PIN
    order = _order_of(card_store, ref)
    assert _card(order)["status"] in ("created", "timed_out") and order["status"] == "PENDING"
    terminal.release("approved")
    order = wait_until(lambda: (o := _order_of(card_store, ref))["status"] == "COMPLETED" and o,
                       timeout=20, what="the sweeper's status inquiry settles it")
    assert terminal.payments_received[ref] == 1
