"""TOTP (RFC 6238) through pyotp. A code is accepted once: the step it matched is returned so
the caller can store it and refuse that step (and earlier ones) next time."""

from __future__ import annotations

import time

import pyotp

STEP_S = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def matching_step(secret: str, code: str, *, at: float | None = None, window: int = 1) -> int | None:
    """The time step a code belongs to (allowing ±window steps of clock drift), or None."""
    if not code.isdigit() or len(code) != 6:
        return None
    now = time.time() if at is None else at
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_S)
    for step in range(current - window, current + window + 1):
        if pyotp.utils.strings_equal(totp.at(step * STEP_S), code):
            return step
    return None
