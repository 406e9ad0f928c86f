"""PCI scope: the card number never enters the store server. The fake terminal holds a canary
card number; after sales, declines, a void and a refund, it is in no SQLite file, no log line,
no event and no API answer, and neither is its masked form (first six digits) or the shared key."""

from __future__ import annotations

from pathlib import Path

from tests.edge import card_terminal_support as support
from tests.edge.card_terminal_support import KEY, NOTIFY_PASSWORD
from tests.fakes.adyen_terminal import CANARY_PAN
from tests.support import wait_until

card_store, terminal = support.card_store, support.terminal  # the fake terminal and its store server


def _card(order):
    return next(t for t in order["tenders"] if t["method"] == "card")


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "credentials" not in p.parts}


def test_no_card_number_or_terminal_secret_reaches_the_store_server(card_store, terminal):
    sku = card_store.product(30)["sku"]
    sold = card_store.card_sale(sku, 2)
    terminal.script.append("declined:12:Not enough balance")
    card_store.card_sale(sku)
    terminal.script.append("chip_fallback")
    voided = card_store.card_sale(sku)
    card_store.call("POST", f"/api/v1/orders/{voided['id']}/void", "manager", {"reason": "test"})
    card_store.call("POST", f"/api/v1/orders/{sold['id']}/returns", "manager",
                    {"lines": [{"line_id": sold["lines"][0]["id"], "quantity": 1}], "reason": "unwanted"})
    wait_until(lambda: all(r["status"] == "refunded" for r in card_store.order(sold["id"])["refunds"]),
               what="the refund settles")
    assert _card(sold)["card_last4"] == CANARY_PAN[-4:]  # the last four digits are what is kept
    card_store.call("GET", "/api/v1/audit?limit=500", "manager")
    card_store.call("GET", f"/api/v1/orders/{sold['id']}/receipt?format=text")
    card_store.server.stop()  # flush: the WAL is checkpointed, the log closed

    masked = f"{CANARY_PAN[:6]}******{CANARY_PAN[-4:]}"
    forbidden = {"card number": CANARY_PAN.encode(), "masked card number": masked.encode(),
                 "card BIN": f"cardBin={CANARY_PAN[:6]}".encode(), "terminal passphrase": KEY.passphrase.encode(),
                 "notification password": NOTIFY_PASSWORD.encode()}
    files = _files(card_store.root)
    assert any(p.name == "store.db" for p in files) and any(p.suffix == ".log" for p in files)
    # The scan sees what is stored: the last four digits and the sale's guidance are in the database.
    assert any(CANARY_PAN[-4:].encode() in data for p, data in files.items() if p.name.startswith("store.db"))
    found = [(str(path), what) for path, data in files.items() for what, needle in forbidden.items()
             if needle in data]
    answers = "\n".join(card_store.answers)
    found += [("API answer", what) for what, needle in forbidden.items() if needle.decode() in answers]
    assert found == []
    card_store.restart_edge()
