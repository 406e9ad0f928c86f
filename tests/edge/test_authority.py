"""Who may act, and where: revocation on the next request, the shared lockout for guessed
supervisor PINs, lanes taken from lane-bound tokens, and supervised pay-outs."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support import DEMO_PASSWORD

SUPERVISOR_PIN = "2468"


def _key() -> str:
    return uuid.uuid4().hex


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _password_login(client, username: str) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def _pin_login(client, lane_id: str, pin: str = "1234") -> dict[str, Any]:
    response = client.post("/api/v1/auth/pin", json={"lane_id": lane_id, "pin": pin})
    assert response.status_code == 200, response.text
    return response.json()


def _post(client, path: str, body: dict[str, Any], headers: dict[str, str]):
    return client.post(path, json=body, headers={**headers, "Idempotency-Key": _key()})


def _a_product(client, headers: dict[str, str]) -> dict[str, Any]:
    items = client.get("/api/v1/products?limit=50", headers=headers).json()["items"]
    return next(p for p in items if not p["sold_by_weight"] and p["price_cents"] > 200)


def _cash_sale(client, headers: dict[str, str], sku: str, **extra: Any):
    return _post(client, "/api/v1/orders", {"lines": [{"sku": sku, "quantity": 1}],
                                            "tenders": [{"method": "cash", "amount_cents": 1_000_000}], **extra},
                 headers)


def _open_till(client, headers: dict[str, str], lane_id: str, float_cents: int = 100_000) -> dict[str, Any]:
    response = _post(client, "/api/v1/tills", {"lane_id": lane_id, "float_cents": float_cents}, headers)
    assert response.status_code == 201, response.text
    return response.json()


def _drawer(client, headers: dict[str, str], session_id: str) -> dict[str, Any]:
    return client.get(f"/api/v1/tills/{session_id}/x-report", headers=headers).json()


def _problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/" + code), response.json()


# -- revocation ---------------------------------------------------------------------------------
def test_after_logout_the_old_access_token_is_refused_at_once(client):
    tokens = _password_login(client, "manager")
    assert client.get("/api/v1/auth/me", headers=_bearer(tokens)).status_code == 200  # cached as valid
    assert client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    refused = client.get("/api/v1/auth/me", headers=_bearer(tokens))
    assert refused.status_code == 401
    assert "sign in again" in refused.json()["detail"]
    other = _password_login(client, "manager")  # another session of the same person is untouched
    assert client.get("/api/v1/auth/me", headers=_bearer(other)).status_code == 200


def test_disabling_a_cashier_stops_their_open_lane_on_its_next_request(client):
    lane = _pin_login(client, "1")
    manager = _bearer(_password_login(client, "manager"))
    sku = _a_product(client, manager)["sku"]
    assert _cash_sale(client, _bearer(lane), sku).status_code == 201
    cashier_id = lane["user"]["id"]
    assert client.patch(f"/api/v1/users/{cashier_id}", json={"disabled": True}, headers=manager).status_code == 200

    before = len(client.get("/api/v1/orders?limit=200", headers=manager).json()["items"])
    refused = _cash_sale(client, _bearer(lane), sku)
    assert refused.status_code == 401
    assert len(client.get("/api/v1/orders?limit=200", headers=manager).json()["items"]) == before
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": lane["refresh_token"]}).status_code == 401
    assert client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"}).status_code == 401


def test_a_new_password_signs_out_the_accounts_open_sessions(client):
    cashier = _password_login(client, "cashier")
    manager = _bearer(_password_login(client, "manager"))
    response = client.patch(f"/api/v1/users/{cashier['user']['id']}", json={"password": "a-new-long-password"},
                            headers=manager)
    assert response.status_code == 200, response.text
    assert client.get("/api/v1/auth/me", headers=_bearer(cashier)).status_code == 401


def test_a_reused_refresh_token_also_kills_the_sessions_access_token(client):
    first = _password_login(client, "manager")
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    assert client.get("/api/v1/auth/me", headers=_bearer(second)).status_code == 200
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401
    assert client.get("/api/v1/auth/me", headers=_bearer(second)).status_code == 401


def test_a_revoked_supervisors_token_no_longer_approves_an_override(client):
    supervisor = _password_login(client, "manager")
    cashier = _bearer(_password_login(client, "cashier"))
    cheap = min((p for p in client.get("/api/v1/products?limit=200", headers=cashier).json()["items"]
                 if not p["sold_by_weight"]), key=lambda p: p["price_cents"])
    client.post("/api/v1/auth/logout", json={"refresh_token": supervisor["refresh_token"]})
    refused = _post(client, "/api/v1/orders", {"lane_id": "1", "lines": [{"sku": cheap["sku"], "quantity": 1}],
                                               "discount_cents": 50, "override_token": supervisor["access_token"],
                                               "tenders": [{"method": "cash", "amount_cents": 10**6}]}, cashier)
    _problem(refused, 403, "override-invalid")


def test_revocation_written_by_another_process_is_picked_up_by_the_next_request_after_the_interval(client):
    """The CLI (`novapos-edge user disable`) writes to the store's file from its own process."""
    from edge.adapters.db import Database
    from edge.adapters.uow import UnitOfWorkFactory
    from edge.service import users
    from edge.service.ports import Actor

    services = client.app.state.services
    lane = _pin_login(client, "2")
    assert client.get("/api/v1/auth/me", headers=_bearer(lane)).status_code == 200
    other = Database(services.db.path)  # a second process's view of the same file
    try:
        UnitOfWorkFactory(other).run_sync(Actor.system("demo", "demo-001", "cli"), lambda u: users.change_user(
            u, username="cashier", disabled=True))
    finally:
        other._writer_engine.dispose()
        other._reader_engine.dispose()
    services.security.revocations._next_reload = 0.0  # the refresh interval has passed
    assert client.get("/api/v1/auth/me", headers=_bearer(lane)).status_code == 401


# -- wrong supervisor PINs count on the cashier's own account -----------------------------------
def _big_discount(client, headers: dict[str, str], sku: str, pin: str):
    return _post(client, "/api/v1/orders", {"lines": [{"sku": sku, "quantity": 1}], "discount_cents": 50,
                                            "override_pin": pin,
                                            "tenders": [{"method": "cash", "amount_cents": 10**6}]}, headers)


def test_guessing_a_supervisor_pin_locks_the_cashier_out_and_sends_the_lane_to_sign_in(client):
    lane = _pin_login(client, "1")
    headers = _bearer(lane)
    cheap = min((p for p in client.get("/api/v1/products?limit=200", headers=headers).json()["items"]
                 if not p["sold_by_weight"]), key=lambda p: p["price_cents"])
    client.post("/api/v1/auth/login", json={"username": "cashier", "password": "wrong-password"})  # one login failure
    for _ in range(3):
        _problem(_big_discount(client, headers, cheap["sku"], "0000"), 403, "override-invalid")
    # The fifth failure on the account (one login, four PINs) locks it and signs the lane out.
    _problem(_big_discount(client, headers, cheap["sku"], "0000"), 403, "override-invalid")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    pin_again = client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"})
    assert pin_again.status_code == 429 and int(pin_again.headers["retry-after"]) >= 1
    password_again = client.post("/api/v1/auth/login", json={"username": "cashier", "password": DEMO_PASSWORD})
    assert password_again.status_code == 429
    manager = _bearer(_password_login(client, "manager"))
    lockouts = client.get("/api/v1/audit?action=auth.lockout", headers=manager).json()["items"]
    assert lockouts[0]["entity_id"] == "cashier" and lockouts[0]["after"]["cause"] == "override_pin_failed"


def test_a_wrong_supervisor_pin_then_the_right_one_does_not_lock_anyone(client):
    headers = _bearer(_pin_login(client, "1"))
    cheap = min((p for p in client.get("/api/v1/products?limit=200", headers=headers).json()["items"]
                 if not p["sold_by_weight"]), key=lambda p: p["price_cents"])
    for _ in range(3):
        _big_discount(client, headers, cheap["sku"], "0000")
    assert _big_discount(client, headers, cheap["sku"], SUPERVISOR_PIN).status_code == 201
    for _ in range(3):  # the approved override reset the count
        _big_discount(client, headers, cheap["sku"], "0000")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200


# -- lanes come from lane-bound tokens ------------------------------------------------------------
def test_a_lane_one_sign_in_cannot_sell_on_lane_two_and_its_cash_stays_out_of_lane_twos_drawer(client):
    manager = _bearer(_password_login(client, "manager"))
    lane2_till = _open_till(client, manager, "2")
    lane1 = _bearer(_pin_login(client, "1"))
    sku = _a_product(client, manager)["sku"]

    refused = _cash_sale(client, lane1, sku, lane_id="2")
    _problem(refused, 403, "lane-mismatch")
    assert _drawer(client, manager, lane2_till["session_id"])["expected_cents"] == 100_000

    sold = _cash_sale(client, lane1, sku)  # no lane in the body: the token's lane
    assert sold.status_code == 201, sold.text
    assert sold.json()["lane_id"] == "1" and sold.json()["number"].startswith("1-")
    assert _cash_sale(client, lane1, sku, lane_id="1").status_code == 201  # agreeing is fine


def test_a_back_office_sign_in_may_ring_a_sale_on_a_named_lane(client):
    manager = _bearer(_password_login(client, "manager"))
    sku = _a_product(client, manager)["sku"]
    sold = _cash_sale(client, manager, sku, lane_id="3")
    assert sold.status_code == 201 and sold.json()["lane_id"] == "3"


def test_till_operations_at_a_lane_take_the_lane_from_a_lane_bound_token(client):
    manager = _bearer(_password_login(client, "manager"))
    lane2_till = _open_till(client, manager, "2")
    lane1 = _bearer(_pin_login(client, "1"))
    _problem(_post(client, "/api/v1/tills", {"lane_id": "2", "float_cents": 100}, lane1), 403, "lane-mismatch")
    moved = _post(client, f"/api/v1/tills/{lane2_till['session_id']}/cash",
                  {"kind": "pay_in", "amount_cents": 500, "reason": "change for lane 2"}, lane1)
    _problem(moved, 403, "lane-mismatch")
    assert _drawer(client, manager, lane2_till["session_id"])["expected_cents"] == 100_000
    own = _open_till(client, lane1, "1", 5_000)
    assert own["lane_id"] == "1"


# -- pay-outs over the policy amount need a supervisor --------------------------------------------
def test_a_cashier_cannot_take_a_large_pay_out_without_a_supervisor(client):
    manager = _bearer(_password_login(client, "manager"))
    till = _open_till(client, manager, "1", 100_000)
    lane = _bearer(_pin_login(client, "1"))
    path = f"/api/v1/tills/{till['session_id']}/cash"

    refused = _post(client, path, {"kind": "pay_out", "amount_cents": 50_000, "reason": "supplier"}, lane)
    _problem(refused, 403, "payout-override-required")
    assert _drawer(client, manager, till["session_id"])["expected_cents"] == 100_000

    small = _post(client, path, {"kind": "pay_out", "amount_cents": 2_000, "reason": "window cleaner"}, lane)
    assert small.status_code == 201, small.text

    approved = _post(client, path, {"kind": "pay_out", "amount_cents": 50_000, "reason": "supplier",
                                    "override_pin": SUPERVISOR_PIN}, lane)
    assert approved.status_code == 201, approved.text
    assert approved.json()["override_by"] == "manager"
    assert _drawer(client, manager, till["session_id"])["expected_cents"] == 100_000 - 2_000 - 50_000
    trail = client.get("/api/v1/audit?action=till.pay_out", headers=manager).json()["items"]
    assert {(a["actor"], a["after"]["override_by"]) for a in trail} == {("cashier", None), ("cashier", "manager")}


def test_a_supervisor_takes_a_large_pay_out_on_their_own_authority(client):
    manager = _bearer(_password_login(client, "manager"))
    till = _open_till(client, manager, "1", 100_000)
    moved = _post(client, f"/api/v1/tills/{till['session_id']}/cash",
                  {"kind": "pay_out", "amount_cents": 50_000, "reason": "bank deposit"}, manager)
    assert moved.status_code == 201, moved.text
