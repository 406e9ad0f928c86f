"""The offline PIN verifier a lane receives at each online PIN sign-in: it matches only that PIN,
and only for the lane, user and expiry it was issued for."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from edge.adapters.security import offline_pin
from edge.service.auth import GrantedUser

USER = GrantedUser(id="u-1", username="cashier", roles=["cashier"], tenant_id="acme", store_id="s-1")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def issue(**overrides):
    args = {"tenant_id": "acme", "store_id": "s-1", "lane_id": "1", "user": USER, "iterations": 100_000,
            "ttl_s": 3600, "now": NOW, **overrides}
    return offline_pin.issue("1234", **args)


def derive(pin: str, verifier: dict) -> str:
    salt = base64.b64decode(verifier["salt"])
    return base64.b64encode(hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, verifier["iterations"], 32)).decode()


def test_the_verifier_matches_the_pin_and_nothing_else():
    verifier = issue()
    assert derive("1234", verifier) == verifier["hash"]
    assert derive("1235", verifier) != verifier["hash"]
    assert "1234" not in str(verifier)


def test_it_expires_after_its_ttl_and_carries_no_credential():
    verifier = issue()
    assert verifier["expires_at"] == "2026-11-30T13:00:00Z"
    assert verifier["lane_id"] == "1"
    assert not {"access_token", "refresh_token"} & set(verifier)


def test_lane_user_and_expiry_are_bound_inside_the_salt():
    verifier = issue()
    random_part = base64.b64decode(verifier["salt"])[:16]
    for other in ({"lane_id": "2"}, {"user_id": "u-2"}, {"expires_at": "2026-12-30T13:00:00Z"}):
        binding = {"tenant_id": "acme", "store_id": "s-1", "lane_id": "1", "user_id": "u-1",
                   "expires_at": verifier["expires_at"], **other}
        moved = offline_pin.verifier_salt(random_part, **binding)
        assert hashlib.pbkdf2_hmac("sha256", b"1234", moved, verifier["iterations"], 32) \
            != base64.b64decode(verifier["hash"])


def test_two_sign_ins_give_different_salts():
    assert issue()["salt"] != issue()["salt"]
