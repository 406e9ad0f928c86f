"""The PIN sign-in answer carries the offline verifier without its hash: the lane derives it from
the PIN it just sent, and that derivation gives exactly the verifier the edge used to compute."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.adapters.security import offline_pin
from edge.service.auth import GrantedUser

USER = GrantedUser(id="u-1", username="cashier", roles=["cashier"], tenant_id="acme", store_id="s-1")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ARGS = {"tenant_id": "acme", "store_id": "s-1", "lane_id": "1", "user": USER, "iterations": 100_000,
        "ttl_s": 3600, "now": NOW}


def test_the_sign_in_verifier_has_no_hash_and_no_pin_but_everything_to_derive_it():
    verifier = offline_pin.unhashed(**ARGS)
    assert "hash" not in verifier
    assert "1234" not in str(verifier)
    assert verifier["iterations"] == 100_000 and verifier["expires_at"] == "2026-11-30T13:00:00Z"


def test_deriving_on_the_lane_matches_only_the_pin_the_edge_accepted():
    verifier = offline_pin.unhashed(**ARGS)
    kept = verifier | {"hash": offline_pin.derive("1234", verifier)}
    assert offline_pin.derive("1234", kept) == kept["hash"]
    assert offline_pin.derive("1235", kept) != kept["hash"]


def test_a_complete_verifier_is_the_unhashed_one_plus_its_hash():
    verifier = offline_pin.issue("1234", **ARGS)
    assert offline_pin.derive("1234", verifier) == verifier["hash"]
    assert set(verifier) - {"hash"} == set(offline_pin.unhashed(**ARGS))


def test_the_pin_sign_in_answer_sends_the_unhashed_verifier(client):
    answer = client.post("/api/v1/auth/pin", json={"lane_id": "1", "pin": "1234"})
    assert answer.status_code == 200
    verifier = answer.json()["offline_pin"]
    assert "hash" not in verifier and verifier["lane_id"] == "1" and verifier["algorithm"] == "PBKDF2-SHA256"
