"""The lane WebSocket: numbered hub events for one lane, replayed after a reconnect."""

from __future__ import annotations

import pytest
from litestar.exceptions import WebSocketDisconnect


def token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def connect(client, lane_id: str, headers: dict[str, str], query: str = ""):
    return client.websocket_connect(f"/api/v1/lanes/{lane_id}/events{query}",
                                    subprotocols=[f"bearer.{token(headers)}"])


def next_of_type(ws, event_type: str, limit: int = 20) -> dict:
    for _ in range(limit):
        message = ws.receive_json(timeout=5)
        if message["type"] == event_type:
            return message
    raise AssertionError(f"no {event_type} event")


def test_a_scan_on_lane_2_reaches_lane_2_numbered_and_replays_after_a_reconnect(client, cashier, sim):
    with connect(client, "2", cashier) as ws:
        hello = ws.receive_json(timeout=5)
        assert hello["type"] == "hello" and hello["lane_id"] == "2" and hello["epoch"]
        sim.lane(2).scan("4006381333931")
        scan = next_of_type(ws, "scan")
        assert scan["lane_id"] == "2" and scan["data"]["barcode"] == "4006381333931"
        assert scan["data"]["device_id"] == "scanner-2" and isinstance(scan["seq"], int) and scan["seq"] >= 1
    # The lane was away while another scan happened; it comes back with the last seq it saw.
    sim.lane(2).scan("9780201379624")
    with connect(client, "2", cashier, f"?since={scan['seq']}&epoch={hello['epoch']}") as ws:
        assert ws.receive_json(timeout=5)["since"] == scan["seq"]
        missed = next_of_type(ws, "scan")
        assert missed["data"]["barcode"] == "9780201379624" and missed["seq"] > scan["seq"]
    # A lane holding numbers from an earlier hub (another epoch) is replayed from the start.
    with connect(client, "2", cashier, "?since=999&epoch=stale") as ws:
        assert ws.receive_json(timeout=5)["since"] == 0
        assert next_of_type(ws, "scan")["seq"] == scan["seq"]


def test_a_scan_on_one_lane_is_not_sent_to_another(client, cashier, sim):
    with connect(client, "1", cashier) as ws:
        ws.receive_json(timeout=5)
        sim.lane(3).scan("111")
        sim.lane(1).scan("222")
        assert next_of_type(ws, "scan")["data"]["barcode"] == "222"


def test_a_cashier_signed_in_on_lane_1_cannot_listen_to_lane_2(client):
    pin = client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {pin}"}
    with connect(client, "1", headers) as ws:
        assert ws.receive_json(timeout=5)["type"] == "hello"
    with pytest.raises(WebSocketDisconnect), connect(client, "2", headers) as ws:
        ws.receive_json(timeout=5)
    assert client.get("/api/v1/lanes/2/weight", headers=headers).status_code == 403


def test_the_lane_socket_needs_a_store_staff_token(client, tech):
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/api/v1/lanes/1/events") as ws:
        ws.receive_json(timeout=5)
    with pytest.raises(WebSocketDisconnect), connect(client, "1", tech) as ws:
        ws.receive_json(timeout=5)


def test_an_unknown_lane_is_closed_with_4404(client, cashier):
    with pytest.raises(WebSocketDisconnect) as closed, connect(client, "9", cashier) as ws:
        ws.receive_json(timeout=5)
    assert closed.value.code == 4404


def test_an_unplugged_scanner_is_reported_to_its_lane_and_in_the_device_list(client, cashier, sim):
    with connect(client, "2", cashier) as ws:
        ws.receive_json(timeout=5)
        sim.lane(2).unplug_scanner()
        removed = next_of_type(ws, "device_removed", limit=50)
        assert removed["data"]["device_id"] == "scanner-2"
    scanner = next(d for d in client.get("/api/v1/devices", headers=cashier).json()["items"] if d["id"] == "scanner-2")
    assert scanner["status"] == "unplugged"
