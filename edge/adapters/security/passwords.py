"""Argon2id password and PIN hashing (OWASP minimum: m=19456 KiB, t=2, p=1).

The PHC string stores its own parameters, so `needs_rehash` tells at login whether a stored hash
predates a parameter change; the caller rehashes with the password it just verified.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

# Verifying against this keeps the timing of "unknown user" the same as "wrong password".
_DUMMY_HASH = _hasher.hash("novapos-timing-equaliser")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
