"""Lane pairing, one cashier per lane, lane sessions that end on time, and the kiosk records, through
the real API on a real SQLite store."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from edge.bootstrap import create_app
from tests.edge.test_policy import hq_policy
from tests.support import FakeClock, demo_settings, login, wait_until

CASHIER_PIN, SUPERVISOR_PIN = "1234", "2468"


def issue_code(client: TestClient, manager: dict[str, str], lane: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/lanes/{lane}/pairing-codes", json={}, headers=manager)
    assert response.status_code == 201, response.text
    return response.json()


def pair(client: TestClient, code: str, label: str = "Tablet") -> Any:
    return client.post("/api/v1/lanes/pair", json={"code": code, "label": label})


def pin(client: TestClient, lane: str, secret: str = CASHIER_PIN, device_token: str | None = None) -> Any:
    body = {"lane_id": lane, "pin": secret, **({"device_token": device_token} if device_token else {})}
    return client.post("/api/v1/auth/pin", json=body)


def code_of(response: Any) -> str:
    return response.json()["type"].rsplit("/", 1)[-1]


def bearer(granted: Any) -> dict[str, str]:
    assert granted.status_code == 200, granted.text
    return {"Authorization": f"Bearer {granted.json()['access_token']}"}


def audit(client: TestClient, manager: dict[str, str], action: str) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/audit?action={action}", headers=manager).json()["items"]


@pytest.fixture
def strict_client(demo_dir) -> Any:
    """A store where every lane device must be paired (the production default)."""
    with TestClient(create_app(demo_settings(demo_dir, NOVAPOS_LANE_PAIRING_REQUIRED="true")),
                    raise_server_exceptions=False) as c:
        yield c


def test_a_paired_device_signs_cashiers_in_to_its_own_lane_only(strict_client) -> None:
    client = strict_client
    manager = login(client, "manager")
    assert client.get("/api/v1/lanes/device").json() == {"pairing_required": True, "paired": False, "lane_id": None}
    refused = pin(client, "1")
    assert refused.status_code == 403 and code_of(refused) == "device-not-paired"

    issued = issue_code(client, manager, "2")
    assert issued["pair_url"].endswith(f"?pair={issued['code']}") and issued["qr"].startswith("data:image/svg+xml;base64,")
    # A scanner reads the whole pairing link; the code is taken from it.
    paired = pair(client, issued["pair_url"], "Tablet by the door")
    assert paired.status_code == 201, paired.text
    token = paired.json()["device_token"]
    assert paired.json()["lane_id"] == "2"
    status = client.get("/api/v1/lanes/device", headers={"X-Device-Token": token}).json()
    assert status["paired"] is True and status["lane_id"] == "2"

    assert bearer(pin(client, "2", device_token=token))
    other = pin(client, "1", device_token=token)
    assert other.status_code == 403 and code_of(other) == "lane-mismatch"
    again = pair(client, issued["code"])
    assert again.status_code == 401 and code_of(again) == "pairing-code-invalid"
    # Nothing stored holds the code or the credential in clear.
    services = client.app.state.services
    dump = "\n".join(services.db._writer_engine.raw_connection().iterdump())
    assert issued["code"].replace("-", "") not in dump and token not in dump
    assert audit(client, manager, "lane.paired")[0]["after"]["lane_id"] == "2"


def test_an_unpaired_device_is_refused_at_once(strict_client) -> None:
    client = strict_client
    manager = login(client, "manager")
    token = pair(client, issue_code(client, manager, "3")["code"]).json()["device_token"]
    device = client.get("/api/v1/lanes/devices", headers=manager).json()["items"][0]
    assert device["lane_id"] == "3" and "token_hash" not in device
    assert client.post(f"/api/v1/lanes/devices/{device['id']}/unpair", headers=manager).status_code == 200
    refused = pin(client, "3", device_token=token)
    assert refused.status_code == 403 and code_of(refused) == "device-not-paired"
    assert client.get("/api/v1/lanes/device", headers={"X-Device-Token": token}).json()["paired"] is False


def test_an_expired_or_mistyped_pairing_code_pairs_nothing(client, as_user) -> None:
    manager = as_user("manager")
    clock = FakeClock()
    client.app.state.services.uow.clock = clock
    code = issue_code(client, manager, "1")["code"]
    assert code_of(pair(client, "ZZZZZ-ZZZZZ")) == "pairing-code-invalid"
    clock.advance(601)
    expired = pair(client, code.lower())
    assert expired.status_code == 401 and code_of(expired) == "pairing-code-invalid"
    assert client.get("/api/v1/lanes/devices", headers=manager).json()["items"] == []
    bad = client.post("/api/v1/lanes/pair", json={"code": "x" * 600})
    assert bad.status_code == 400
    assert client.post("/api/v1/lanes/99/pairing-codes", json={}, headers=manager).status_code == 404


def test_a_second_sign_in_takes_the_lane_over_and_is_audited(client, as_user) -> None:
    manager = as_user("manager")
    first = bearer(pin(client, "1"))
    assert client.get("/api/v1/auth/me", headers=first).status_code == 200
    second = pin(client, "1", SUPERVISOR_PIN)
    assert second.json()["lane_session"]["took_over_from"] == ["cashier"]
    refused = client.get("/api/v1/auth/me", headers=first)
    assert refused.status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(second)).status_code == 200
    trail = audit(client, manager, "lane.takeover")
    assert trail[0]["before"]["user"] == "cashier" and trail[0]["after"]["user"] == "manager"
    # Another lane is another session: nobody is taken over there.
    assert pin(client, "2").json()["lane_session"]["took_over_from"] == []


def test_a_signed_out_lane_is_not_taken_over(client, as_user) -> None:
    granted = pin(client, "1").json()
    assert client.post("/api/v1/auth/logout", json={"refresh_token": granted["refresh_token"]}).status_code == 204
    assert pin(client, "1", SUPERVISOR_PIN).json()["lane_session"]["took_over_from"] == []
    assert audit(client, as_user("manager"), "lane.takeover") == []


def test_refreshing_never_extends_a_lane_session_past_its_maximum(client, as_user) -> None:
    manager = as_user("manager")
    hq_policy(client, 5, lane_session_max_s=900, lane_idle_lock_s=30)
    wait_until(lambda: client.get("/api/v1/policy", headers=manager).json()["version"] == 5, what="policy 5")
    clock = FakeClock()
    client.app.state.services.uow.clock = clock
    granted = pin(client, "1").json()
    session = granted["lane_session"]
    assert session["idle_lock_s"] == 30 and session["session_max_s"] == 900
    refresh = granted["refresh_token"]
    for _ in range(4):  # the lane's activity: a refresh every few minutes
        clock.advance(200)
        renewed = client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
        assert renewed.status_code == 200, renewed.text
        assert renewed.json()["lane_session"]["ends_at"] == session["ends_at"]
        refresh = renewed.json()["refresh_token"]
    clock.advance(101)
    ended = client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert ended.status_code == 401 and code_of(ended) == "lane-session-ended"
    assert bearer(pin(client, "1"))  # signing in again opens a new session


def test_a_session_ends_at_the_next_shift_change(client, as_user) -> None:
    from datetime import UTC, datetime

    manager = as_user("manager")
    hq_policy(client, 6, lane_shift_changes=["14:00", "22:00"])
    wait_until(lambda: client.get("/api/v1/policy", headers=manager).json()["version"] == 6, what="policy 6")
    timezone = client.app.state.services.settings.store.timezone
    from zoneinfo import ZoneInfo

    start = datetime(2026, 6, 1, 13, 30, tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    client.app.state.services.uow.clock = FakeClock(start)
    ends_at = pin(client, "1").json()["lane_session"]["ends_at"]
    expected = datetime(2026, 6, 1, 14, 0, tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    assert datetime.fromisoformat(ends_at.replace("Z", "+00:00")) == expected


def test_a_locked_lane_unlocks_with_the_cashiers_or_a_supervisors_pin_only(client, as_user) -> None:
    manager = as_user("manager")
    cashier = bearer(pin(client, "1"))
    wrong = client.post("/api/v1/lanes/1/unlock", json={"pin": "9999"}, headers=cashier)
    assert wrong.status_code == 403 and code_of(wrong) == "unlock-pin-invalid"
    own = client.post("/api/v1/lanes/1/unlock", json={"pin": CASHIER_PIN}, headers=cashier)
    assert own.status_code == 200 and own.json()["as"] == "cashier"
    boss = client.post("/api/v1/lanes/1/unlock", json={"pin": SUPERVISOR_PIN}, headers=cashier)
    assert boss.status_code == 200 and boss.json()["unlocked_by"] == "manager"
    assert client.post("/api/v1/lanes/2/unlock", json={"pin": CASHIER_PIN}, headers=cashier).status_code == 403
    assert [e["after"]["as"] for e in audit(client, manager, "lane.unlocked")] == ["supervisor", "cashier"]


def test_a_removed_line_needs_a_reason_and_is_recorded(client, as_user) -> None:
    manager = as_user("manager")
    cashier = bearer(pin(client, "1"))
    product = client.get("/api/v1/products?limit=1", headers=manager).json()["items"][0]
    bare = client.post("/api/v1/lanes/1/line-removals", json={"product_id": product["id"], "quantity": 2},
                       headers=cashier)
    assert bare.status_code == 422 and code_of(bare) == "reason-required"
    assert audit(client, manager, "lane.line_removed") == []
    done = client.post("/api/v1/lanes/1/line-removals",
                       json={"product_id": product["id"], "quantity": 2, "reason": "Customer changed mind"},
                       headers=cashier)
    assert done.status_code == 201, done.text
    entry = audit(client, manager, "lane.line_removed")[0]
    assert entry["before"]["name"] == product["name"] and entry["before"]["reason"] == "Customer changed mind"


def test_selling_out_of_stock_needs_a_supervisors_pin(client, as_user) -> None:
    manager = as_user("manager")
    cashier = bearer(pin(client, "1"))
    product = client.get("/api/v1/products?limit=1", headers=manager).json()["items"][0]
    body = {"action": "sell_out_of_stock", "product_id": product["id"], "quantity": 1}
    refused = client.post("/api/v1/lanes/1/approvals", json={**body, "pin": CASHIER_PIN}, headers=cashier)
    assert refused.status_code == 403
    approved = client.post("/api/v1/lanes/1/approvals", json={**body, "pin": SUPERVISOR_PIN}, headers=cashier)
    assert approved.status_code == 201 and approved.json()["approved_by"] == "manager"
    assert audit(client, manager, "lane.approved")[0]["after"]["name"] == product["name"]


def test_an_out_of_stock_refusal_names_the_product(client, as_user) -> None:
    manager = as_user("manager")
    cashier = bearer(pin(client, "1"))
    product = client.get("/api/v1/products?limit=1", headers=manager).json()["items"][0]
    level = client.get(f"/api/v1/inventory?product_id={product['id']}", headers=manager).json()["items"][0]
    wanted = level["on_hand"] - level.get("reserved", 0) + 1
    refused = client.post("/api/v1/orders", json={"lane_id": "1", "lines": [{"product_id": product["id"],
                                                                              "quantity": wanted}]},
                          headers={**cashier, "Idempotency-Key": "out-of-stock-1"})
    assert refused.status_code == 409, refused.text
    assert product["name"] in refused.json()["detail"] and product["sku"] in refused.json()["detail"]
