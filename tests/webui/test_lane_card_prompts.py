"""The lane in Chromium shows the card terminal's prompts as they happen, and cancels a card
payment that waits on the customer, against a store server talking to a fake Adyen terminal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.edge import card_terminal_support as support
from tests.support import wait_until
from tests.webui.helpers import browser_page, shot
from tests.webui.test_lane import ESPRESSO, scan, sign_in

card_store, terminal = support.card_store, support.terminal  # the fake terminal and its store server

pytestmark = pytest.mark.slow


@pytest.fixture
def lane(browser: Any, request: pytest.FixtureRequest, card_store: Any) -> Iterator[Any]:
    with browser_page(browser, card_store.url, request.node.name, timeout_ms=15_000) as page:
        yield page


def _start_card_payment(page: Any) -> None:
    sign_in(page)
    scan(page, ESPRESSO)
    page.get_by_role("button", name="Card", exact=True).click()
    page.get_by_role("button", name="Charge card").click()


def test_the_cashier_sees_each_terminal_prompt_as_it_happens(lane: Any, terminal: Any) -> None:
    terminal.script.append("wait")
    _start_card_payment(lane)
    prompt = lane.locator("#card-prompt")
    expect(prompt).to_contain_text("insert, tap or swipe the card")  # while the customer is still deciding
    wait_until(terminal.waiting, what="the terminal waits for the card")
    terminal.release("declined:12:Not enough balance")
    log = lane.locator("#card-prompt-log")
    expect(log).to_contain_text("Card inserted")
    expect(log).to_contain_text("entering the PIN")
    expect(prompt).to_contain_text("not enough funds")
    shot(lane, "lane-card-declined-prompts")
    expect(lane.locator("#tender-error")).to_contain_text("not enough funds")
    expect(lane.locator("#card-cancel")).to_be_hidden()


def test_signature_required_reaches_the_lane(lane: Any, terminal: Any) -> None:
    terminal.script.append("signature")
    _start_card_payment(lane)
    expect(lane.locator("#receipt-dialog")).to_be_visible()
    expect(lane.locator("#card-prompt-log")).to_contain_text("Signature required")
    expect(lane.locator("#card-prompt-log")).to_contain_text("sign the receipt")


def test_chip_fallback_reaches_the_lane(lane: Any, terminal: Any) -> None:
    terminal.script.append("chip_fallback")
    _start_card_payment(lane)
    expect(lane.locator("#receipt-dialog")).to_be_visible()
    expect(lane.locator("#card-prompt-log")).to_contain_text("chip could not be read")


def test_the_cashier_cancels_a_waiting_card_payment_and_nothing_is_charged(lane: Any, terminal: Any,
                                                                           card_store: Any) -> None:
    terminal.script.append("wait")
    _start_card_payment(lane)
    expect(lane.locator("#card-prompt")).to_contain_text("insert, tap or swipe the card")
    ref = wait_until(lambda: terminal.waiting() and terminal.waiting()[0], what="the terminal waits")
    shot(lane, "lane-card-waiting")
    lane.get_by_role("button", name="Cancel card payment").click()
    expect(lane.locator("#tender-error")).to_contain_text("cancelled: nothing was charged")
    assert terminal.charged_cents(ref) == 0
    assert terminal.payments_received[ref] == 1
    # Back leaves the order: nothing was paid, so it is cancelled and its stock released.
    lane.get_by_role("button", name="Back").click()
    expect(lane.locator("#tender-dialog")).to_be_hidden()
