"""Offline PIN verifiers: what a lane keeps so that a cashier can sign in while the store server
is unreachable (ARCHITECTURE.md, "Offline sign-in at the lane").

After a successful online PIN sign-in, the lane receives a salted PBKDF2-HMAC-SHA256 hash of
that PIN, bound to the lane, the user, the store and an expiry, all of which are part of the
salt: the lane re-derives it with WebCrypto from the PIN typed offline and compares. The hash is
slow on purpose (an attacker holding the device must pay the iterations for each guess), and no
token or refresh credential is handed out: offline, the lane can only queue cash sales, which
the edge re-validates as offline sales when the lane signs in online again to send them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

ALGORITHM = "PBKDF2-SHA256"
KEY_BYTES = 32


class PinHolder(Protocol):
    """Whom the verifier signs in (an `edge.service.auth.GrantedUser`)."""

    @property
    def id(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def roles(self) -> Sequence[str]: ...


def verifier_salt(random_part: bytes, *, tenant_id: str, store_id: str, lane_id: str, user_id: str,
                  expires_at: str) -> bytes:
    """The binding travels inside the salt, so a verifier copied to another lane, another user
    or a later expiry simply never matches."""
    bound = "\x1f".join(["novapos-offline-pin-v1", tenant_id, store_id, lane_id, user_id, expires_at])
    return random_part + bound.encode()


def issue(pin: str, *, tenant_id: str, store_id: str, lane_id: str, user: PinHolder, iterations: int,
          ttl_s: int, now: datetime | None = None) -> dict[str, Any]:
    """A verifier for `pin` (CPU-bound: run it in a thread)."""
    expires_at = ((now or datetime.now(UTC)) + timedelta(seconds=ttl_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    random_part = secrets.token_bytes(16)
    salt = verifier_salt(random_part, tenant_id=tenant_id, store_id=store_id, lane_id=lane_id,
                         user_id=user.id, expires_at=expires_at)
    derived = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations, dklen=KEY_BYTES)
    return {
        "algorithm": ALGORITHM,
        "iterations": iterations,
        "salt": base64.b64encode(salt).decode(),
        "hash": base64.b64encode(derived).decode(),
        "lane_id": lane_id,
        "expires_at": expires_at,
        "user": {"id": user.id, "username": user.username, "roles": list(user.roles),
                 "tenant_id": tenant_id, "store_id": store_id},
    }
