"""After a sale commits: the lane prints its receipt, cash opens the drawer, card goes through
the lane's terminal, and a printer failure never blocks or loses a sale."""

from __future__ import annotations

from edge.service.receipts import money
from tests.edge.hardware.conftest import order, outbox, wait_for


def plain(products):
    return [p for p in products if not p["sold_by_weight"]]


def receipt_for(sim, lane: int, number: str):
    return next((text for text in sim.lane(lane).printer.texts if number in text), None)


def test_a_cash_sale_prints_its_receipt_with_the_total_and_opens_the_drawer(client, cashier, sim, products):
    kicks = sim.lane(2).printer.drawer_kicks
    p = plain(products)[0]
    r = order(client, cashier, [{"sku": p["sku"], "quantity": 2}], [{"method": "cash", "amount_cents": 100_000}],
              lane_id="2")
    assert r.status_code == 201, r.text
    sale = r.json()
    text = wait_for(lambda: receipt_for(sim, 2, sale["number"]), what="the receipt on lane 2's printer")
    assert money(sale["total_cents"]) in text and "TOTAL" in text and "COPY" not in text
    assert wait_for(lambda: sim.lane(2).printer.drawer_kicks == kicks + 1, what="the drawer kick")
    assert wait_for(lambda: money(sale["total_cents"]) in " ".join(sim.lane(2).display.lines), what="display")
    assert not receipt_for(sim, 1, sale["number"]) and not receipt_for(sim, 3, sale["number"])


def test_paper_out_never_blocks_a_sale_and_the_receipt_reprints_once_paper_is_back(client, cashier, sim, products):
    sim.lane(1).printer.set_paper("out")
    r = order(client, cashier, [{"sku": plain(products)[1]["sku"]}], [{"method": "cash", "amount_cents": 100_000}])
    assert r.status_code == 201 and r.json()["status"] == "COMPLETED"
    sale = r.json()
    alert = wait_for(lambda: next((a for a in outbox(client, "device.alert") if a["order_id"] == sale["id"]), None),
                     what="the device.alert event")
    assert alert["kind"] == "printer_failed" and alert["lane_id"] == "1" and alert["reason"] == "paper_out"
    assert alert["reprint"] is True
    jobs = client.get("/api/v1/devices/jobs?lane_id=1&status=failed", headers=cashier).json()["items"]
    job = next(j for j in jobs if j["ref"] == sale["id"])
    assert job["id"] == alert["job_id"] and job["reason"] == "paper_out"
    assert not receipt_for(sim, 1, sale["number"])
    sim.lane(1).printer.set_paper("ok")
    again = client.post(f"/api/v1/devices/jobs/{job['id']}/reprint", headers=cashier)
    assert again.status_code == 201 and again.json()["status"] == "printed", again.text
    text = wait_for(lambda: receipt_for(sim, 1, sale["number"]), what="the reprinted receipt")
    assert money(sale["total_cents"]) in text and "COPY" not in text  # the first paper is the original


def test_reprinting_a_receipt_that_did_print_gives_a_copy(client, cashier, sim, products):
    r = order(client, cashier, [{"sku": plain(products)[2]["sku"]}], [{"method": "cash", "amount_cents": 100_000}],
              lane_id="3")
    sale = r.json()
    wait_for(lambda: receipt_for(sim, 3, sale["number"]), what="the receipt")
    job = next(j for j in client.get("/api/v1/devices/jobs?lane_id=3", headers=cashier).json()["items"]
               if j["ref"] == sale["id"] and j["status"] == "printed")
    assert client.post(f"/api/v1/devices/jobs/{job['id']}/reprint", headers=cashier).status_code == 201
    copies = wait_for(lambda: [t for t in sim.lane(3).printer.texts if sale["number"] in t and "COPY" in t],
                      what="a COPY")
    assert len(copies) == 1


def test_a_card_tender_is_charged_once_on_the_lane_terminal_and_opens_no_drawer(client, cashier, sim, products):
    kicks = sim.lane(1).printer.drawer_kicks
    p = plain(products)[3]
    quote = order(client, cashier, [{"sku": p["sku"]}], [{"method": "cash", "amount_cents": 100_000}]).json()
    wait_for(lambda: sim.lane(1).printer.drawer_kicks == kicks + 1, what="the cash sale's drawer kick")
    r = order(client, cashier, [{"sku": p["sku"]}], [{"method": "card", "amount_cents": quote["total_cents"]}])
    assert r.status_code == 201, r.text
    sale = r.json()
    card = sale["tenders"][0]
    assert sale["status"] == "COMPLETED" and card["status"] == "approved"
    assert card["card_last4"] == "4242" and card["card_brand"] == "VISA" and card["auth_code"]
    terminal = sim.lane(1).terminal
    assert terminal.sale_frames[card["id"]] == 1 and terminal.charged_total(card["id"]) == sale["total_cents"]
    wait_for(lambda: receipt_for(sim, 1, sale["number"]), what="the card sale's receipt")
    assert sim.lane(1).printer.drawer_kicks == kicks + 1


def test_a_lost_terminal_reply_is_settled_without_charging_twice(client, cashier, sim, products):
    p = plain(products)[4]
    quote = order(client, cashier, [{"sku": p["sku"]}], [{"method": "cash", "amount_cents": 100_000}], "2").json()
    sim.lane(2).terminal.inject("drop_reply")  # approves and charges, then the reply is lost
    r = order(client, cashier, [{"sku": p["sku"]}], [{"method": "card", "amount_cents": quote["total_cents"]}], "2")
    assert r.status_code == 201, r.text
    card = r.json()["tenders"][0]
    terminal = sim.lane(2).terminal
    assert terminal.sale_frames[card["id"]] == 1
    # The hub recovered with LAST and reversed the orphaned approval: nothing stays charged,
    # the order waits for another tender.
    assert card["status"] == "reversed" and r.json()["status"] == "PENDING"
    assert terminal.charged_total(card["id"]) == 0


def test_the_terminal_prompts_reach_the_lane(client, cashier, sim, products):
    from tests.edge.hardware.test_lane_events import connect, next_of_type

    p = plain(products)[5]
    quote = order(client, cashier, [{"sku": p["sku"]}], [{"method": "cash", "amount_cents": 100_000}], "3").json()
    with connect(client, "3", cashier) as ws:
        ws.receive_json(timeout=5)
        order(client, cashier, [{"sku": p["sku"]}], [{"method": "card", "amount_cents": quote["total_cents"]}], "3")
        prompt = next_of_type(ws, "terminal_prompt", limit=50)
        assert prompt["data"]["device_id"] == "terminal-3" and prompt["data"]["text"]
