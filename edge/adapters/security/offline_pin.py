"""Offline PIN verifiers: what a lane keeps so that a cashier can sign in while the store server
is unreachable (ARCHITECTURE.md, "Offline sign-in at the lane").

After a successful online PIN sign-in, the lane holds a salted PBKDF2-HMAC-SHA256 hash of that
PIN, bound to the lane, the user, the store and an expiry, all of which are part of the salt: the
edge issues the salt (with the binding) and the iteration count, the lane derives the hash with
WebCrypto from the PIN the edge just accepted, and offline re-derives it from the PIN typed and
compares. The hash is slow on purpose (an attacker holding the device must pay the iterations for
each guess), and no token or refresh credential is handed out: offline, the lane can only queue
cash sales, which the edge re-validates as offline sales when the lane signs in online again.
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
    """A complete verifier for `pin`, hash included (CPU-bound: hundreds of ms at 600,000
    iterations). The sign-in answer sends `unhashed` instead; this serves tools and tests."""
    verifier = unhashed(tenant_id=tenant_id, store_id=store_id, lane_id=lane_id, user=user,
                        iterations=iterations, ttl_s=ttl_s, now=now)
    return verifier | {"hash": derive(pin, verifier)}


def unhashed(*, tenant_id: str, store_id: str, lane_id: str, user: PinHolder, iterations: int, ttl_s: int,
             now: datetime | None = None) -> dict[str, Any]:
    """The verifier without its hash: what the PIN sign-in answers. The lane derives the hash
    itself, with WebCrypto, from the PIN the edge has just accepted (`webui/lane/offline_auth.js`).
    The result is the same verifier; deriving it on the edge cost every sign-in 200-300 ms of the
    store server's CPU (on a 2-core box, shared with the lanes and any import), for a hash only
    the lane uses and that whoever controls the lane could compute anyway."""
    expires_at = ((now or datetime.now(UTC)) + timedelta(seconds=ttl_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    random_part = secrets.token_bytes(16)
    salt = verifier_salt(random_part, tenant_id=tenant_id, store_id=store_id, lane_id=lane_id,
                         user_id=user.id, expires_at=expires_at)
    return {
        "algorithm": ALGORITHM,
        "iterations": iterations,
        "salt": base64.b64encode(salt).decode(),
        "lane_id": lane_id,
        "expires_at": expires_at,
        "user": {"id": user.id, "username": user.username, "roles": list(user.roles),
                 "tenant_id": tenant_id, "store_id": store_id},
    }


def derive(pin: str, verifier: dict[str, Any]) -> str:
    """The verifier's hash for `pin`, as the lane computes it."""
    salt = base64.b64decode(verifier["salt"])
    return base64.b64encode(hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, verifier["iterations"],
                                                dklen=KEY_BYTES)).decode()
