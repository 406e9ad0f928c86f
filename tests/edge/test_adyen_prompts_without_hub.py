"""An Adyen terminal's prompts reach the lane's event socket with no hardware hub in the store
server's process: `hardware.mode = "off"`, and a hub served by another process (`"remote"`). A
store server process, a fake Adyen terminal posting its display notifications to it, and the
lane's WebSocket as the browser opens it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.edge.card_terminal_support import CardStore
from tests.edge.hardware import test_remote_hub as remote_hub


@pytest.fixture(scope="module")
def store(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CardStore]:
    card = CardStore(tmp_path_factory.mktemp("hubless-card-store"), demo_template)
    card.server.env["NOVAPOS_HARDWARE_MODE"] = "off"
    card.start()
    try:
        yield card
    finally:
        card.stop()

hardware_service = remote_hub.hardware_service  # a hub with simulators behind its HTTP service, in this process


def lane_socket(store: CardStore, lane: str, query: str = "") -> ClientConnection:
    token = store.headers("cashier")["Authorization"].removeprefix("Bearer ")
    url = store.url.replace("http://", "ws://") + f"/api/v1/lanes/{lane}/events{query}"
    return connect(url, subprotocols=[f"bearer.{token}"], open_timeout=10)  # type: ignore[list-item]


def prompts_until(ws: ClientConnection, last_kind: str, ref: str | None = None) -> list[dict[str, Any]]:
    """The prompts received up to `last_kind` (of the payment `ref`, if given)."""
    found = []
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] == "terminal_prompt":
            found.append(message)
            if message["data"]["kind"] == last_kind and ref in (None, message["data"]["ref"]):
                return found


def test_terminal_prompts_reach_the_lane_with_the_hardware_hub_off(store):
    store.fake.script.append("signature")
    with lane_socket(store, "1") as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello" and hello["mode"] == "off" and hello["epoch"]
        order = store.card_sale(store.product(2)["sku"])
        payment = next(t for t in order["tenders"] if t["method"] == "card")
        prompts = prompts_until(ws, "approved")
    assert "CARD_INSERTED" in store.fake.notifications_sent  # the terminal's own display notifications
    kinds = [p["data"]["kind"] for p in prompts]
    # The terminal's notifications (card read, PIN, signature) between the adapter's own start and end.
    assert kinds[0] == "present_card" and kinds[-1] == "approved"
    assert {"card_read", "pin_entry", "signature_required"} <= set(kinds)
    assert all(p["lane_id"] == "1" and p["data"]["ref"] == payment["id"] for p in prompts)
    seqs = [p["seq"] for p in prompts]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    # A lane that dropped off during the payment gets the prompts it missed when it comes back.
    with lane_socket(store, "1", f"?since={seqs[1]}&epoch={hello['epoch']}") as ws:
        assert json.loads(ws.recv(timeout=10))["since"] == seqs[1]
        missed = prompts_until(ws, "approved")
    assert [p["seq"] for p in missed] == seqs[2:]


def test_a_lane_sees_only_its_own_terminals_prompts(store):
    with lane_socket(store, "2") as other, lane_socket(store, "1") as mine:
        json.loads(other.recv(timeout=10))
        json.loads(mine.recv(timeout=10))
        lane1 = store.card_sale(store.product(3)["sku"])
        lane2 = store.card_sale(store.product(3)["sku"], lane="2")
        ref1 = next(t for t in lane1["tenders"] if t["method"] == "card")["id"]
        ref2 = next(t for t in lane2["tenders"] if t["method"] == "card")["id"]
        on_lane1 = prompts_until(mine, "approved", ref1)  # after lane 1's earlier prompts, replayed
        on_lane2 = prompts_until(other, "approved", ref2)
    assert ref2 not in {p["data"]["ref"] for p in on_lane1}
    assert {"card_read", "pin_entry"} <= {p["data"]["kind"] for p in on_lane1 if p["data"]["ref"] == ref1}
    assert {p["data"]["ref"] for p in on_lane2} == {ref2}
    assert {"card_read", "pin_entry"} <= {p["data"]["kind"] for p in on_lane2}


@pytest.fixture
def remote_store(demo_template: Path, tmp_path: Path,
                 hardware_service: tuple[str, Any]) -> Iterator[tuple[CardStore, Any]]:
    url, simulators = hardware_service
    card = CardStore(tmp_path, demo_template)
    card.server.env.update({"NOVAPOS_HARDWARE_MODE": "remote", "NOVAPOS_HARDWARE_URL": url,
                            "NOVAPOS_HARDWARE_TOKEN": "hw-token"})
    card.start()
    try:
        yield card, simulators
    finally:
        card.stop()


def test_with_the_hub_in_another_process_prompts_ride_alongside_its_numbered_events(remote_store):
    store, sim = remote_store
    with lane_socket(store, "1") as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["mode"] == "remote"
        order = store.card_sale(store.product(2)["sku"])
        payment = next(t for t in order["tenders"] if t["method"] == "card")
        prompts = prompts_until(ws, "approved", payment["id"])
        sim.lane(1).scan("5901234123457")  # the remote hub's own events still come, numbered
        while (message := json.loads(ws.recv(timeout=10)))["type"] != "scan":
            pass
    assert {"present_card", "card_read", "pin_entry"} <= {p["data"]["kind"] for p in prompts}
    # Unnumbered: the lane resumes the hub's numbering after a reconnect, which these must not disturb.
    assert all("seq" not in p for p in prompts)
    assert isinstance(message["seq"], int) and message["data"]["barcode"] == "5901234123457"
