"""Devices over the edge API: the list, technician test actions, print jobs, the lane scale."""

from __future__ import annotations

from collections import Counter

KINDS = {"printer", "drawer", "scanner", "scale", "terminal", "display"}


def test_demo_store_has_one_device_of_every_kind_on_each_lane(client, cashier):
    r = client.get("/api/v1/devices", headers=cashier)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert all({"id", "kind", "name", "status", "lane_id"} <= set(d) for d in items)
    per_lane = {lane: Counter(d["kind"] for d in items if d["lane_id"] == lane) for lane in ("1", "2", "3")}
    assert all(kinds == Counter(KINDS) for kinds in per_lane.values()), per_lane
    assert {d["status"] for d in items} == {"ok"}
    lane2 = client.get("/api/v1/devices?lane_id=2", headers=cashier).json()["items"]
    assert {d["kind"] for d in lane2} == KINDS and {d["lane_id"] for d in lane2} == {"2"}


def test_each_test_action_works_on_its_device_and_is_audited(client, tech, manager, sim):
    drawer_kicks = sim.lane(1).printer.drawer_kicks
    for device_id, action in (("printer-1", "test_print"), ("drawer-1", "drawer_kick"), ("scale-1", "scale_read"),
                              ("terminal-1", "terminal_diagnostics")):
        r = client.post(f"/api/v1/devices/{device_id}/actions/{action}", headers=tech)
        assert r.status_code == 200, r.text
        assert r.json()["ok"] is True, r.json()
    assert any("NovaPOS test print" in text for text in sim.lane(1).printer.texts)
    assert sim.lane(1).printer.drawer_kicks == drawer_kicks + 1
    audit = client.get("/api/v1/audit?entity=device&action=device.tested", headers=manager).json()["items"]
    assert {(a["entity_id"], a["after"]["action"]) for a in audit} >= {
        ("printer-1", "test_print"), ("drawer-1", "drawer_kick"), ("scale-1", "scale_read"),
        ("terminal-1", "terminal_diagnostics")}
    assert all(a["actor"] == "tech" for a in audit)


def test_test_actions_are_for_technicians_and_managers_and_say_what_is_wrong(client, cashier, manager, tech):
    assert client.post("/api/v1/devices/printer-1/actions/test_print", headers=cashier).status_code == 403
    assert client.post("/api/v1/devices/drawer-2/actions/drawer_kick", headers=manager).status_code == 200
    wrong = client.post("/api/v1/devices/scale-1/actions/test_print", headers=tech)
    assert wrong.status_code == 422 and wrong.json()["type"].endswith("unsupported-action")
    assert "scale_read" in wrong.json()["detail"]
    missing = client.post("/api/v1/devices/printer-9/actions/test_print", headers=tech)
    assert missing.status_code == 404 and missing.json()["type"].endswith("device-not-found")


def test_a_printer_with_no_paper_fails_its_test_print_with_the_reason(client, tech, sim):
    sim.lane(3).printer.set_paper("out")
    r = client.post("/api/v1/devices/printer-3/actions/test_print", headers=tech)
    assert r.status_code == 200 and r.json()["ok"] is False and "paper_out" in r.json()["detail"]
    printer = next(d for d in client.get("/api/v1/devices", headers=tech).json()["items"] if d["id"] == "printer-3")
    assert printer["status"] == "paper_out"
    failed = client.get("/api/v1/devices/jobs?status=failed&lane_id=3", headers=tech).json()["items"]
    assert failed and failed[0]["reason"] == "paper_out" and failed[0]["ref"] == "test-print"


def test_a_stable_weight_answers_grams_and_fills_a_weighed_item(client, cashier, sim, products):
    sim.lane(1).scale.place(1234)  # Toledo on lane 1
    r = client.get("/api/v1/lanes/1/weight", headers=cashier)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "stable" and r.json()["weight_grams"] == 1234
    weighed = next(p for p in products if p["sold_by_weight"])
    sale = client.post("/api/v1/orders", headers={**cashier, "Idempotency-Key": "weighed-1"}, json={
        "lane_id": "1", "lines": [{"sku": weighed["sku"], "weight_grams": r.json()["weight_grams"]}],
        "tenders": [{"method": "cash", "amount_cents": 100_000}]})
    assert sale.status_code == 201 and sale.json()["lines"][0]["weight_grams"] == 1234
    sim.lane(2).scale.place(500)  # Adam on lane 2
    assert client.get("/api/v1/lanes/2/weight", headers=cashier).json()["weight_grams"] == 500


def test_a_scale_in_motion_or_overloaded_answers_409_with_the_scale_status(client, cashier, sim):
    sim.lane(1).scale.place(800, motion=True)
    r = client.get("/api/v1/lanes/1/weight", headers=cashier)
    assert r.status_code == 409 and r.json()["scale_status"] == "motion"
    assert r.headers["content-type"].startswith("application/problem+json") and "steady" in r.json()["detail"]
    sim.lane(1).scale.over_capacity = True
    r = client.get("/api/v1/lanes/1/weight", headers=cashier)
    assert r.status_code == 409 and r.json()["scale_status"] == "over_capacity"
